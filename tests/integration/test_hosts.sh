# sshxctl hosts: pinning, listing, revoking, verifying; every refused input
# leaves the database exactly as it was (compared with sqlite3 .dump).
# shellcheck shell=sh
. "$SSHX_TESTDIR/lib.sh"

setup_tmpdir
isolate_home
DB=$T/db/sshx.db
export SSHX_DB="$DB"

gen_keys ed25519 ecdsa256 rsa3072 rsa1024 dsa
mkdir -p "$T/other"
ssh-keygen -q -t ed25519 -N '' -f "$T/other/ed25519" || bail "generate a second ed25519 key" "ssh-keygen failed"

b64_of() { cut -d' ' -f2 "$1"; }
type_of() { cut -d' ' -f1 "$1"; }
ED=$(b64_of "$T/pub/ed25519.pub")
EC=$(b64_of "$T/pub/ecdsa256.pub")
RSA=$(b64_of "$T/pub/rsa3072.pub")
RSA1K=$(b64_of "$T/pub/rsa1024.pub")
DSA=$(b64_of "$T/pub/dsa.pub")
ED2=$(b64_of "$T/other/ed25519.pub")
FP_ED=$(fp_of "$T/pub/ed25519.pub")
FP_EC=$(fp_of "$T/pub/ecdsa256.pub")
FP_ED2=$(fp_of "$T/other/ed25519.pub")

# Runs sshxctl, keeping stdout in $T/out and stderr in $T/err; sets RC.
ctl() {
	"$SSHXCTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
dump_db() { sqlite3 "$DB" .dump; }

# expect_refused DESC WANT_RC 'error text' sshxctl-args...: refused with that
# text on stderr and the database unchanged.
expect_refused() {
	_d=$1 _want=$2 _text=$3
	shift 3
	dump_db >"$T/before.sql"
	ctl "$@"
	dump_db >"$T/after.sql"
	if [ "$RC" -ne "$_want" ]; then
		fail "$_d: exit $_want" "expected exit $_want from: sshxctl $*" "got $RC, stderr:" "$(cat "$T/err")"
	elif ! grep -qF -- "$_text" "$T/err"; then
		fail "$_d: says why" "expected stderr to contain: $_text" "got:" "$(cat "$T/err")"
	elif ! cmp -s "$T/before.sql" "$T/after.sql"; then
		fail "$_d: database unchanged" "expected the same sqlite3 .dump, got a difference:" \
			"$(diff "$T/before.sql" "$T/after.sql" | head -20)"
	else
		ok "$_d: refused (exit $_want, \"$_text\"), database unchanged"
	fi
}

# ---------------------------------------------------------------- a first pin

ctl hosts add web1.example.com ssh-ed25519 "$ED"
is "hosts add pins a key (exit 0)" 0 "$RC"
is "hosts add prints host, type and fingerprint" "web1.example.com ssh-ed25519 $FP_ED" "$(cat "$T/out")"
is "the database is created with mode 0600" 600 "$(stat -c %a "$DB")"
is "its directory with mode 0700" 700 "$(stat -c %a "$T/db")"
is "the schema version (the newest migration) is recorded in PRAGMA user_version" \
	"$(ls "$SSHX_TESTDIR"/../../schema/[0-9][0-9][0-9][0-9]-*.sql | wc -l)" "$(sqlite3 "$DB" 'PRAGMA user_version')"
is "the database is in WAL mode" wal "$(sqlite3 "$DB" 'PRAGMA journal_mode')"
is "the add left one audit row" "sshxctl|hosts.add|web1.example.com|$FP_ED|ok" \
	"$(sqlite3 "$DB" "SELECT actor, action, host, fingerprint, result FROM audit")"
is "the audit row names this process's uid" "$(id -u)" "$(sqlite3 "$DB" 'SELECT uid FROM audit')"

dump_db >"$T/before.sql"
ctl hosts add WEB1.Example.COM:22 ssh-ed25519 "$ED"
dump_db >"$T/after.sql"
if [ "$RC" -eq 0 ] && grep -q "nothing changed" "$T/err" && cmp -s "$T/before.sql" "$T/after.sql"; then
	ok "adding the same key again (upper case, :22) changes nothing and says so"
else
	fail "adding the same key again changes nothing" "expected exit 0, 'nothing changed', same dump" \
		"got $RC: $(cat "$T/err")" "$(diff "$T/before.sql" "$T/after.sql")"
fi

ctl hosts add "[web1.example.com]:2222" --key-file "$T/pub/ecdsa256.pub"
is "hosts add --key-file pins a key from a .pub file on another port" \
	"[web1.example.com]:2222 ecdsa-sha2-nistp256 $FP_EC" "$(cat "$T/out")"

# ---------------------------------------------------------------- refused host names

expect_refused "a host name with a space" 2 "host name contains a space" \
	hosts add "web 1" ssh-ed25519 "$ED"
expect_refused "a host name with a newline (would inject a known_hosts line)" 2 "host name contains a newline" \
	hosts add "web1
@cert-authority *" ssh-ed25519 "$ED"
expect_refused "a host name with a control character" 2 "host name contains a control character" \
	hosts add "$(printf 'web\0011')" ssh-ed25519 "$ED"
expect_refused "a host name with '#'" 2 "host name contains '#'" \
	hosts add "web#1" ssh-ed25519 "$ED"
expect_refused "a host name starting with '@'" 2 "host name starts with '@'" \
	hosts add "@revoked" ssh-ed25519 "$ED"
expect_refused "a host name with '|' outside a hashed entry" 2 "host name contains '|' outside a hashed |1| entry" \
	hosts add "web|1" ssh-ed25519 "$ED"
LONG=$(printf '%0256d' 0 | tr 0 a)
expect_refused "a host name over 255 bytes" 2 "host name is longer than 255 bytes" \
	hosts add "$LONG" ssh-ed25519 "$ED"
expect_refused "an empty host name" 2 "host name is empty" \
	hosts add "" ssh-ed25519 "$ED"
expect_refused "a wildcard as a host name" 2 "host name contains a wildcard" \
	hosts add "*.example.com" ssh-ed25519 "$ED"
expect_refused "a comma list as a host name" 2 "host name contains ','" \
	hosts add "a,b" ssh-ed25519 "$ED"
expect_refused "port 0" 2 "port 0 is outside 1..65535" \
	hosts add "web1:0" ssh-ed25519 "$ED"
expect_refused "port 65536" 2 "port 65536 is outside 1..65535" \
	hosts add "[web1]:65536" ssh-ed25519 "$ED"
expect_refused "a port that is not a number" 2 "is not a number" \
	hosts add "web1:ssh" ssh-ed25519 "$ED"

# ---------------------------------------------------------------- refused keys

expect_refused "an unknown key type" 2 "unknown key type" \
	hosts add web2 ssh-foo "$ED"
expect_refused "a certificate type" 2 "unknown key type" \
	hosts add web2 ssh-ed25519-cert-v01@openssh.com "$ED"
expect_refused "bad base64" 2 "key is not valid base64" \
	hosts add web2 ssh-ed25519 "AAAA!!!!"
expect_refused "a blob whose type disagrees with the stated type" 2 "key type mismatch" \
	hosts add web2 ssh-rsa "$ED"
expect_refused "RSA under 2048 bits" 2 "under the 2048-bit minimum" \
	hosts add web2 ssh-rsa "$RSA1K"
expect_refused "DSA" 2 "DSA (ssh-dss) keys are refused" \
	hosts add web2 ssh-dss "$DSA"
ctl hosts add --allow-weak old.example.com ssh-rsa "$RSA1K"
is "--allow-weak pins a 1024-bit RSA key" 0 "$RC"
ctl hosts add --allow-weak old.example.com --key-file "$T/pub/dsa.pub"
is "--allow-weak pins a DSA key" 0 "$RC"
ctl hosts verify old.example.com ssh-dss "$DSA"
is "the pinned DSA key verifies" 0 "$RC"

expect_refused "a different key of a type already pinned" 2 "already has a pinned ssh-ed25519 key $FP_ED" \
	hosts add web1.example.com ssh-ed25519 "$ED2"

# ---------------------------------------------------------------- import: all or nothing

cat >"$T/mixed.txt" <<EOF
# a comment
good1.example.com ssh-ed25519 $ED
good2.example.com,10.0.0.2 ecdsa-sha2-nistp256 $EC
bad host.example.com ssh-ed25519 $ED
good3.example.com ssh-rsa $ED
good4.example.com ssh-rsa $RSA1K
[good5.example.com]:70000 ssh-ed25519 $ED
EOF
expect_refused "an import with bad lines imports nothing" 2 "4 invalid lines; nothing imported" \
	hosts import "$T/mixed.txt"
for want in "line 4: " "line 5: key type mismatch" "line 6: RSA key of 1024 bits" "line 7: port 70000 is outside"; do
	if grep -qF -- "$want" "$T/err"; then
		ok "the refused import names \"$want\""
	else
		fail "the refused import names \"$want\"" "expected in stderr: $want" "got:" "$(cat "$T/err")"
	fi
done

ctl hosts import --skip-invalid "$T/mixed.txt"
is "--skip-invalid imports the valid lines (exit 0)" 0 "$RC"
if grep -q "line 4: .*(skipped)" "$T/err" && [ "$(grep -c "(skipped)" "$T/err")" -eq 4 ]; then
	ok "--skip-invalid lists each skipped line"
else
	fail "--skip-invalid lists each skipped line" "expected 4 (skipped) lines" "got:" "$(cat "$T/err")"
fi
is "--skip-invalid pinned good1, good2 and 10.0.0.2" "10.0.0.2 good1.example.com good2.example.com" \
	"$(sqlite3 "$DB" "SELECT name FROM hosts WHERE name LIKE 'good%' OR name = '10.0.0.2' ORDER BY name" | tr '\n' ' ' | sed 's/ $//')"

dump_db >"$T/before.sql"
ctl hosts import --skip-invalid "$T/mixed.txt"
dump_db >"$T/after.sql"
if [ "$RC" -eq 0 ] && grep -q "nothing changed" "$T/out" && cmp -s "$T/before.sql" "$T/after.sql"; then
	ok "re-importing the same data changes nothing and says so"
else
	fail "re-importing the same data changes nothing" "expected exit 0, 'nothing changed', same dump" \
		"got $RC: $(cat "$T/out" "$T/err")"
fi

# A line over 64 KiB, refused by line number.
{
	echo "long1.example.com ssh-ed25519 $ED"
	printf 'long2.example.com ssh-ed25519 %s # ' "$ED"
	head -c 70000 /dev/zero | tr '\0' x
	echo
} >"$T/long.txt"
expect_refused "a line over 64 KiB" 2 "line 2: line is longer than 65536 bytes" \
	hosts import "$T/long.txt"

# A NUL byte inside a line.
printf 'nul.example.com ssh-ed25519 %s\000x\n' "$ED" >"$T/nul.txt"
expect_refused "a line with a NUL byte" 2 "line 1: " hosts import "$T/nul.txt"

# Keyscan format: banners ignored, markers refused.
{
	echo "# 10.1.1.1:22 SSH-2.0-OpenSSH_9.2p1 Debian-2"
	echo "scan1.example.com ssh-ed25519 $ED"
} >"$T/scan.txt"
ctl hosts import --format keyscan "$T/scan.txt"
is "keyscan import ignores the banner and pins the key" 0 "$RC"
echo "@revoked scan2.example.com ssh-ed25519 $ED" >"$T/scanmark.txt"
expect_refused "a marker in keyscan input" 2 "markers are not allowed in ssh-keyscan output" \
	hosts import --format keyscan "$T/scanmark.txt"
: >"$T/empty.txt"
expect_refused "empty input" 2 "no host keys in" hosts import "$T/empty.txt"
expect_refused "an unknown --format" 2 "is not keyscan or known_hosts" \
	hosts import --format csv "$T/scan.txt"

# --expect-fingerprint: the way out of trust-on-first-use.
echo "tofu.example.com ssh-ed25519 $ED2" >"$T/tofu.txt"
expect_refused "--expect-fingerprint refuses a key that does not match" 2 "is not one of the expected fingerprints" \
	hosts import --expect-fingerprint "$FP_ED" "$T/tofu.txt"
expect_refused "--expect-fingerprint refuses when an expected key is missing" 2 "expected fingerprint $FP_EC is not in" \
	hosts import --expect-fingerprint "$FP_ED2" --expect-fingerprint "$FP_EC" "$T/tofu.txt"
expect_refused "--expect-fingerprint is not bypassed by --skip-invalid" 2 "is not one of the expected fingerprints" \
	hosts import --skip-invalid --expect-fingerprint "$FP_ED" "$T/tofu.txt"
ctl hosts import --expect-fingerprint "$FP_ED2" "$T/tofu.txt"
is "--expect-fingerprint with the right fingerprint imports" 0 "$RC"

# Standard input, hashed entries and markers.
HASHED=$(printf 'hashed.example.com ssh-ed25519 %s\n' "$ED" >"$T/h.txt" && ssh-keygen -H -f "$T/h.txt" >/dev/null 2>&1 && grep -v '^#' "$T/h.txt")
{
	echo "$HASHED"
	echo "@cert-authority *.corp.example.com ssh-ed25519 $ED2"
	echo "@revoked * ssh-rsa $RSA"
	echo "@revoked web1.example.com ssh-ed25519 $ED"
} | ctl hosts import -
is "importing known_hosts text from standard input" 0 "$RC"
is "the hashed entry is kept hashed" 1 "$(sqlite3 "$DB" "SELECT count(*) FROM hosts WHERE hashed = 1 AND name LIKE '|1|%'")"
is "the @cert-authority and @revoked pattern entries are stored" "cert-authority|*.corp.example.com
revoked|*" "$(sqlite3 "$DB" 'SELECT marker, pattern FROM patterns ORDER BY marker')"

# ---------------------------------------------------------------- verify

ctl hosts verify web1.example.com:2222 ecdsa-sha2-nistp256 "$EC"
is "verify: a pinned key exits 0" 0 "$RC"
ctl hosts verify nowhere.example.com ssh-ed25519 "$ED"
is "verify: an unknown host exits 1" 1 "$RC"
ctl hosts verify "[web1.example.com]:2222" ssh-ed25519 "$ED2"
is "verify: a known host with a key that is not pinned exits 2" 2 "$RC"
ctl hosts verify web1.example.com ssh-ed25519 "$ED"
is "verify: a key revoked by an imported @revoked line exits 3" 3 "$RC"
ctl hosts verify good1.example.com ssh-rsa "$RSA"
is "verify: a key revoked by an @revoked * pattern exits 3" 3 "$RC"
ctl hosts verify hashed.example.com ssh-ed25519 "$ED"
is "verify: a host pinned as a hashed entry is found" 0 "$RC"
ctl hosts verify "bad host" ssh-ed25519 "$ED"
is "verify: bad input exits 64, not a verdict" 64 "$RC"
ctl hosts verify tofu.example.com ssh-ed25519 "$ED2" --db
is "verify: a global option without its value exits 64, not a verdict" 64 "$RC"
ctl --db "$T/db/missing.db" hosts verify tofu.example.com ssh-ed25519 "$ED2"
is "verify: a missing database exits 64, not 'unknown host'" 64 "$RC"
ctl hosts verify tofu.example.com ssh-ed25519 "$ED2"
if [ "$(sqlite3 "$DB" "SELECT k.last_verified IS NOT NULL FROM host_keys k JOIN hosts h ON h.id = k.host_id WHERE h.name = 'tofu.example.com'")" = 1 ]; then
	ok "verify records the last-verified time"
else
	fail "verify records the last-verified time" "expected last_verified set" "got NULL"
fi

# ---------------------------------------------------------------- revoke, remove, list

ctl hosts revoke good1.example.com --key "$FP_ED"
is "revoke marks a pinned key revoked" 0 "$RC"
ctl hosts verify good1.example.com ssh-ed25519 "$ED"
is "the revoked key now verifies as revoked" 3 "$RC"
ctl hosts revoke good1.example.com --key "$FP_ED"
is "revoking again changes nothing (exit 0)" 0 "$RC"
expect_refused "revoking a key the host does not have" 1 "has no key" \
	hosts revoke good1.example.com --key "$FP_EC"
expect_refused "pinning a revoked key again" 2 "is revoked for this host" \
	hosts add good1.example.com ssh-ed25519 "$ED"

ctl --json hosts list
if "$PYTHON_PARAMIKO" - "$T/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
keys = {(k["host"], k["port"], k["type"]): k for k in d["keys"]}
k = keys[("web1.example.com", 2222, "ecdsa-sha2-nistp256")]
assert k["state"] == "pinned" and k["fingerprint"].startswith("SHA256:"), k
assert keys[("good1.example.com", 22, "ssh-ed25519")]["state"] == "revoked"
assert any(p["marker"] == "cert-authority" for p in d["patterns"])
EOF
then
	ok "hosts list --json describes keys, states and pattern entries"
else
	fail "hosts list --json" "expected parseable JSON with the pinned keys" "got:" "$(cat "$T/out")"
fi
ctl hosts list "web1.*"
if [ "$RC" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 2 ] && ! grep -q good1 "$T/out"; then
	ok "hosts list PATTERN lists only matching hosts, on any port"
else
	fail "hosts list PATTERN" "expected the 2 web1 keys" "got:" "$(cat "$T/out")"
fi

ctl hosts remove good2.example.com
is "remove forgets a host" 0 "$RC"
ctl hosts verify good2.example.com ecdsa-sha2-nistp256 "$EC"
is "a removed host is unknown" 1 "$RC"
expect_refused "removing an unknown host" 1 "is not in the host database" hosts remove good2.example.com
ctl hosts remove --cert-authority "*.corp.example.com"
is "remove --cert-authority forgets the CA entry" 0 "$RC"

# ---------------------------------------------------------------- export details

mkdir -p "$T/exp"
chmod 700 "$T/exp"
ctl hosts add rsaonly.example.com ssh-rsa "$RSA"
ctl known-hosts export --out "$T/exp/all"
if [ "$RC" -eq 0 ] && grep -q "rsaonly.example.com has only an ssh-rsa key pinned" "$T/err"; then
	ok "export warns about a host with only an RSA key pinned"
else
	fail "export warns about a host with only an RSA key pinned" "expected exit 0 and the warning" \
		"got $RC: $(cat "$T/err")"
fi
ctl known-hosts export --out "$T/exp/web" --host "web1.*"
is "--host PATTERN exports only the matching hosts" "[web1.example.com]:2222 ecdsa-sha2-nistp256 $EC" \
	"$(cat "$T/exp/web")"
ctl known-hosts export --out "$T/exp/web2" --host "[web1.*]:2222" --host "good1.example.com"
is "--host is repeatable and takes [PATTERN]:PORT" 1 "$(grep -c '^\[web1.example.com\]:2222 ' "$T/exp/web2")"
ctl known-hosts export --out "$T/exp/hashed" --host hashed.example.com
if [ "$RC" -eq 0 ] && grep -q '^|1|' "$T/exp/hashed" && [ "$(wc -l <"$T/exp/hashed")" -eq 1 ]; then
	ok "--host with a literal name finds a host stored hashed"
else
	fail "--host with a literal name finds a host stored hashed" "expected one |1| line" \
		"got $RC: $(cat "$T/exp/hashed" "$T/err")"
fi
ctl known-hosts export --out "$T/exp/none" --host "nothing.example.com"
if [ "$RC" -eq 1 ] && [ ! -e "$T/exp/none" ] && grep -q "nothing written" "$T/err"; then
	ok "an export that matches nothing writes nothing and exits 1"
else
	fail "an export that matches nothing writes nothing" "expected exit 1, no file" "got $RC: $(cat "$T/err")"
fi
is "exported host names (other than hashed ones) are lowercase" "" \
	"$(cut -d' ' -f1 "$T/exp/all" | grep -v '^|1|' | grep '[A-Z]')"
is "the export names no host twice for one key type" "" \
	"$(cut -d' ' -f1,2 "$T/exp/all" | sort | uniq -d)"
ctl --json known-hosts export --out "$T/exp/all" --format openssh
if "$PYTHON_PARAMIKO" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]=="openssh" and d["keys"]>0, d' "$T/out"; then
	ok "known-hosts export --json reports what it wrote"
else
	fail "known-hosts export --json" "expected JSON with format and keys" "got: $(cat "$T/out")"
fi
is "the audit trail records exports" 2 \
	"$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'known-hosts.export' AND detail LIKE '%/exp/all %'")"

# ---------------------------------------------------------------- host key rotation

ssh-keygen -q -t ed25519 -N '' -f "$T/other/third" || bail "generate a third ed25519 key" "ssh-keygen failed"
ED3=$(b64_of "$T/other/third.pub")
ctl hosts add rot.example.com ssh-ed25519 "$ED"
ctl hosts rotate rot.example.com ssh-ed25519 "$ED2" --grace 1h
if [ "$RC" -eq 0 ] && grep -q "pinned $FP_ED2 beside $FP_ED, which is revoked at " "$T/out"; then
	ok "hosts rotate pins the new key beside the old one and says when the old one goes"
else
	fail "hosts rotate pins the new key" "expected exit 0 and the schedule" "got $RC: $(cat "$T/out" "$T/err")"
fi
ctl hosts verify rot.example.com ssh-ed25519 "$ED"
is "during the grace the old key still verifies" 0 "$RC"
ctl hosts verify rot.example.com ssh-ed25519 "$ED2"
is "during the grace the new key verifies" 0 "$RC"
ctl hosts rotate rot.example.com ssh-ed25519 "$ED2" --grace 1h
if [ "$RC" -eq 0 ] && grep -q "nothing changed" "$T/out"; then
	ok "repeating the rotation changes nothing"
else
	fail "repeating the rotation changes nothing" "expected exit 0, nothing changed" "got $RC: $(cat "$T/out" "$T/err")"
fi
expect_refused "a second rotation while one is under way" 2 "a rotation is under way" \
	hosts rotate rot.example.com ssh-ed25519 "$ED3"
expect_refused "rotating a type the host has no pinned key of" 1 "has no pinned ecdsa-sha2-nistp256 key to rotate" \
	hosts rotate rot.example.com ecdsa-sha2-nistp256 "$EC"
expect_refused "rotating an unknown host" 1 "is not in the host database" \
	hosts rotate nowhere.example.com ssh-ed25519 "$ED3"
expect_refused "a grace that is not a duration" 2 "is not a duration" \
	hosts rotate rot.example.com ssh-ed25519 "$ED3" --grace soon
ctl known-hosts export --out "$T/exp/rot-openssh" --format openssh --host rot.example.com
is "during the grace the openssh export has both keys" \
	"rot.example.com ssh-ed25519 $ED
rot.example.com ssh-ed25519 $ED2" "$(grep '^rot.example.com ' "$T/exp/rot-openssh")"
ctl known-hosts export --out "$T/exp/rot-paramiko" --host rot.example.com
is "during the grace the paramiko export keeps the key in service (the older one)" \
	"rot.example.com ssh-ed25519 $ED" "$(cat "$T/exp/rot-paramiko")"
has_note=$(grep -c "Paramiko uses only the first" "$T/err")
is "and says which key it left out" 1 "$has_note"

# The grace running out (its end moved into the past) revokes the old key without any command.
sqlite3 "$DB" "UPDATE host_keys SET retire_at = retire_at - 7200 WHERE name = 'rot.example.com' AND retire_at IS NOT NULL"
ctl hosts verify rot.example.com ssh-ed25519 "$ED"
is "after the grace the old key verifies as revoked" 3 "$RC"
ctl known-hosts export --out "$T/exp/rot-paramiko" --host rot.example.com
is "after the grace the paramiko export has the new key" "rot.example.com ssh-ed25519 $ED2" "$(cat "$T/exp/rot-paramiko")"
ctl hosts rotate rot.example.com --finalize
is "--finalize after the grace revokes the old key for good" 0 "$RC"
is "the old key is now stored revoked" "revoked|" \
	"$(sqlite3 "$DB" "SELECT state, retire_at FROM host_keys WHERE name = 'rot.example.com' AND fingerprint = '$FP_ED'")"
ctl hosts rotate rot.example.com --finalize
if [ "$RC" -eq 0 ] && grep -q "nothing changed" "$T/out"; then ok "--finalize again changes nothing"; else fail "--finalize again" "expected nothing changed" "got $RC: $(cat "$T/out")"; fi

ctl hosts rotate rot.example.com ssh-ed25519 "$ED3" --grace 0
ctl hosts verify rot.example.com ssh-ed25519 "$ED2"
is "--grace 0 revokes the old key at once" 3 "$RC"
is "rotations are in the audit trail" 3 "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'hosts.rotate' AND host = 'rot.example.com'")"

# ---------------------------------------------------------------- the database file itself

cp "$DB" "$T/db.copy"
chmod 644 "$DB"
expect_refused_nodb() {
	_d=$1 _want=$2 _text=$3
	shift 3
	ctl "$@"
	if [ "$RC" -eq "$_want" ] && grep -qF -- "$_text" "$T/err"; then
		ok "$_d"
	else
		fail "$_d" "expected exit $_want and '$_text'" "got $RC: $(cat "$T/err")"
	fi
}
expect_refused_nodb "a database readable by others is refused" 2 "perms fix" hosts list
chmod 600 "$DB"
ln -s "$DB" "$T/db/link.db"
expect_refused_nodb "a symlink at the database path is refused" 2 "symlink" --db "$T/db/link.db" hosts list
head -c 4096 /dev/urandom >"$T/db/junk.db"
chmod 600 "$T/db/junk.db"
cp "$T/db/junk.db" "$T/junk.copy"
expect_refused_nodb "a file that is not a database is refused" 2 "not an sshx database" --db "$T/db/junk.db" hosts list
if cmp -s "$T/db/junk.db" "$T/junk.copy"; then ok "the refused file is unchanged"; else fail "the refused file is unchanged" "expected identical bytes"; fi
cp "$DB" "$T/db/new.db"
sqlite3 "$T/db/new.db" 'PRAGMA user_version = 99'
expect_refused_nodb "a database from a newer sshx is refused" 2 "schema version 99" --db "$T/db/new.db" hosts list
expect_refused_nodb "a missing database is reported for reading commands" 1 "no host database at" \
	--db "$T/db/missing.db" hosts list
if [ ! -e "$T/db/missing.db" ]; then ok "reading commands do not create a database"; else fail "reading commands do not create a database" "expected no file"; fi
ctl --db "$T/db/fresh.db" hosts import "$T/mixed.txt"
if [ "$RC" -eq 2 ] && [ ! -e "$T/db/fresh.db" ] && [ ! -e "$T/db/fresh.db-wal" ]; then
	ok "a failed import into a new database leaves no database behind"
else
	fail "a failed import into a new database leaves no database behind" "expected exit 2 and no file" \
		"got $RC; files: $(ls "$T/db")"
fi

# ---------------------------------------------------------------- concurrent writers

i=0
while [ "$i" -lt 8 ]; do
	(
		j=0
		while [ "$j" -lt 10 ]; do
			"$SSHXCTL" hosts add "c$i-$j.example.com" ssh-ed25519 "$ED" >/dev/null 2>"$T/conc-$i.err" ||
				echo "writer $i-$j failed: $(cat "$T/conc-$i.err")" >>"$T/conc.err"
			j=$((j + 1))
		done
	) &
	i=$((i + 1))
done
wait
is "8 concurrent writers x 10 adds: all 80 rows present" 80 \
	"$(sqlite3 "$DB" "SELECT count(*) FROM hosts WHERE name LIKE 'c%.example.com'")"
is "no concurrent writer failed" "" "$(cat "$T/conc.err" 2>/dev/null)"
is "the database passes integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"

done_testing

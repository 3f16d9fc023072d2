#!/bin/sh
# sshxctl known-hosts export end to end: a real sshd's keys (ssh-keyscan) pinned with
# `sshxctl hosts import`, exported, and trusted by Paramiko (RejectPolicy) and OpenSSH's ssh
# (StrictHostKeyChecking=yes), both logging in through agentd; wrong, unknown and revoked
# pins refused; the file's dialect, modes, determinism and atomic replacement under
# concurrent exports and imports; `sshxctl hosts verify` against the real keys.
# shellcheck shell=sh

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
isolate_home
gen_keys ed25519
start_agent
ssh-add "$T/keys/ed25519" >"$T/add.out" 2>&1 || bail "ssh-add the login key" "ssh-add failed: $(cat "$T/add.out")"
start_sshd
authorize_keys "$T/keys/ed25519.pub"
known_hosts_for_sshd
diag "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT; agentd on $SOCK"

HP="[127.0.0.1]:$SSHD_PORT"
HK=$T/sshd
TYPES_IN_ORDER="ssh-ed25519 ecdsa-sha2-nistp256 ssh-rsa"
# One directory per group of exports, mode 0755 (not group-writable whatever the umask).
install -d -m 755 "$T/db" "$T/in" "$T/kh" "$T/ex" "$T/race" "$T/race-log" "$T/snap"

# "TYPE BASE64" of a public key file.
key_of() { cut -d' ' -f1,2 "$1"; }
# Generates a fresh key pair $T/in/NAME (+ .pub): fresh_key NAME ssh-keygen-options...
fresh_key() {
	_n=$1
	shift
	ssh-keygen -q "$@" -N '' -f "$T/in/$_n" >"$T/keygen.out" 2>&1 ||
		bail "generate key $_n" "ssh-keygen $* failed: $(cat "$T/keygen.out")"
}

# Runs sshxctl, stdout to $T/out and stderr to $T/err; sets RC.
ctl() {
	"$SSHXCTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# Runs sshxctl and passes when it exits WANT: expect_ctl DESC WANT ARGS...  Returns 1 otherwise.
expect_ctl() {
	_d=$1 _w=$2
	shift 2
	ctl "$@"
	if [ "$RC" -eq "$_w" ]; then
		ok "$_d"
		return 0
	fi
	fail_nolog "$_d" "expected exit $_w from: sshxctl $*" "got exit $RC; stdout:" "$(cat "$T/out")" \
		"stderr:" "$(cat "$T/err")"
	return 1
}

# Passes when two strings are equal, without the daemons' logs: same DESC EXPECTED GOT.
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail_nolog "$1" "expected:" "$2" "got:" "$3"
	fi
}

# Passes when PROBLEMS is empty: none DESC "what was expected" PROBLEMS (one a line, first 40 shown).
none() {
	if [ -z "$3" ]; then
		ok "$1"
	else
		fail_nolog "$1" "expected $2, got:" "$(printf '%s\n' "$3" | sed '/^$/d' | head -40)"
	fi
}

# Passes when $T/out (or FILE) holds the fixed string TEXT: out_has DESC TEXT [FILE].
out_has() {
	_f=${3:-$T/out}
	if grep -qF -- "$2" "$_f"; then
		ok "$1"
	else
		fail_nolog "$1" "expected the text: $2" "got:" "$(cat "$_f")"
	fi
}

# Passes when the text in $T/out (or FILE) matches the extended regex: out_matches DESC ERE [FILE].
out_matches() {
	_f=${3:-$T/out}
	if grep -qE -- "$2" "$_f"; then
		ok "$1"
	else
		fail_nolog "$1" "expected a line matching: $2" "got:" "$(cat "$_f")"
	fi
}

# Prints what makes FILE unfit as a Paramiko known_hosts file (nothing when it is fine).
kh_problems() {
	if [ ! -s "$1" ]; then
		echo "the file is empty or missing"
		return
	fi
	[ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" = 0a ] || echo "the file does not end with a newline"
	grep -n '^@' "$1" | sed 's/^/a marker line: /'
	grep -nvE '^[^[:space:]]+ [^[:space:]]+ [^[:space:]]+$' "$1" |
		sed 's/^/not exactly 3 fields separated by single spaces: /'
}

# Passes when FILE is a clean Paramiko-dialect known_hosts file: dialect_ok DESC FILE.
dialect_ok() {
	_p=$(kh_problems "$2")
	if [ -z "$_p" ]; then
		ok "$1"
	else
		fail_nolog "$1" "expected every line 'NAME TYPE KEY' (one space, newline-terminated), no '@' line; got:" \
			"$_p"
	fi
}

# The server's three keys as the exported file must hold them, in order: expected_lines NAME.
expected_lines() {
	for _t in ed25519 ecdsa rsa; do
		printf '%s %s\n' "$1" "$(key_of "$HK/host_$_t.pub")"
	done
}

# Passes when PATH has mode MODE: mode_is DESC MODE PATH.
mode_is() {
	same "$1" "$2" "$(stat -c %a "$3" 2>&1)"
}

# Passes when directory DIR holds exactly the names given (sorted, space-separated):
# dir_holds DESC DIR "NAME..."
dir_holds() {
	# shellcheck disable=SC2012
	_got=$(ls -A "$2" | tr '\n' ' ')
	same "$1" "$3 " "$_got"
}

# ssh to the private sshd through agentd, trusting only FILE: ssh_kh FILE [ssh options...]; sets
# SSH_RC, output in $T/ssh.out, stderr (with -v) in $T/ssh.err.
ssh_kh() {
	_f=$1
	shift
	ssh -F /dev/null -v -o BatchMode=yes -o IdentitiesOnly=no -o IdentityAgent="$SOCK" \
		-o UserKnownHostsFile="$_f" -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
		-o UpdateHostKeys=no -o CheckHostIP=no -o ConnectTimeout=10 -o ControlMaster=no \
		-o ControlPath=none -p "$SSHD_PORT" "$@" "$LOGIN_USER@127.0.0.1" echo hello \
		</dev/null >"$T/ssh.out" 2>"$T/ssh.err"
	SSH_RC=$?
}

# ssh logs in, trusting only FILE, and the server showed HOSTKEY.pub:
# ssh_logs_in DESC FILE HOSTKEY.pub [ssh options...]
ssh_logs_in() {
	_d=$1 _f=$2 _hk=$3
	shift 3
	ssh_kh "$_f" "$@"
	_want="Server host key: $(cut -d' ' -f1 "$_hk") $(fp_of "$_hk")"
	if [ "$SSH_RC" -eq 0 ] && [ "$(cat "$T/ssh.out")" = hello ] && grep -qF "$_want" "$T/ssh.err"; then
		ok "$_d"
	else
		fail "$_d" "expected exit 0, 'hello' and '$_want' in ssh -v output" \
			"got exit $SSH_RC, output '$(cat "$T/ssh.out")', ssh said:" \
			"$(grep -v '^debug[23]' "$T/ssh.err" | grep -E -v '^debug1: (Reading|channel|client_input|Requesting|Sending)')"
	fi
}

# ssh refuses to log in, trusting only FILE, saying something matching ERE:
# ssh_refused DESC FILE ERE [ssh options...]
ssh_refused() {
	_d=$1 _f=$2 _re=$3
	shift 3
	ssh_kh "$_f" "$@"
	if [ "$SSH_RC" -eq 255 ] && [ ! -s "$T/ssh.out" ] && grep -qE "$_re" "$T/ssh.err"; then
		ok "$_d"
	else
		fail "$_d" "expected exit 255, no output and /$_re/ on stderr" \
			"got exit $SSH_RC, output '$(cat "$T/ssh.out")', ssh said:" "$(grep -v '^debug' "$T/ssh.err")"
	fi
}

# ---------------------------------------------------------------- 1, 2: import, export, log in

DB=$T/db/sshx.db
PLAIN=$T/kh/plain
HASHED=$T/kh/hashed

expect_ctl "hosts import --format keyscan of ssh-keyscan's output exits 0" 0 \
	--db "$DB" hosts import --format keyscan "$T/known_hosts"
out_matches "hosts import reports 3 keys pinned for 1 new host" \
	"^imported from $T/known_hosts: 3 keys pinned \(1 new hosts?\), 0 revoked, 0 pattern entr(y|ies); 0 already present$"

expect_ctl "known-hosts export (paramiko dialect) exits 0" 0 --db "$DB" known-hosts export --out "$PLAIN"
out_matches "export says what it wrote on stderr" "^wrote 3 keys for 1 hosts? to $PLAIN$" "$T/err"
same "export prints nothing on stdout" "" "$(cat "$T/out")"
same "the export holds exactly the server's 3 keys, [127.0.0.1]:PORT, ed25519 ecdsa rsa" \
	"$(expected_lines "$HP")" "$(cat "$PLAIN")"
dialect_ok "paramiko export: every line has exactly 3 space-separated fields, none starts with '@'" "$PLAIN"
same "paramiko export: the host is written [127.0.0.1]:PORT" "$HP" "$(cut -d' ' -f1 "$PLAIN" | sort -u)"
same "paramiko export: key types in the order ed25519, ecdsa, rsa" "$TYPES_IN_ORDER" \
	"$(cut -d' ' -f2 "$PLAIN" | tr '\n' ' ' | sed 's/ $//')"
mode_is "paramiko export: the file has mode 0600" 600 "$PLAIN"

expect_ctl "known-hosts export --hash exits 0" 0 --db "$DB" known-hosts export --hash --out "$HASHED"
dialect_ok "hashed export: every line has exactly 3 space-separated fields, none starts with '@'" "$HASHED"
same "hashed export: the same types and keys as the plain export, in the same order" \
	"$(cut -d' ' -f2,3 "$PLAIN")" "$(cut -d' ' -f2,3 "$HASHED")"
same "hashed export: every name starts with |1|" 3 "$(grep -c '^|1|' "$HASHED")"
mode_is "hashed export: the file has mode 0600" 600 "$HASHED"
run_py hostkeys.py hashed "hashed export" "$HASHED" "$HP"

# Determinism: the same database exports the same bytes, plain and hashed.
ctl --db "$DB" known-hosts export --out "$T/kh/plain2"
cp "$PLAIN" "$T/kh.before"
ctl --db "$DB" known-hosts export --out "$PLAIN"
if cmp -s "$PLAIN" "$T/kh/plain2" && cmp -s "$PLAIN" "$T/kh.before"; then
	ok "exporting twice gives identical bytes"
else
	fail_nolog "exporting twice gives identical bytes" "expected three identical files, got:" \
		"$(cat "$T/kh.before")" "---" "$(cat "$PLAIN")" "---" "$(cat "$T/kh/plain2")"
fi
ctl --db "$DB" known-hosts export --hash --out "$T/kh/hashed2"
cp "$HASHED" "$T/kh.before"
ctl --db "$DB" known-hosts export --hash --out "$HASHED"
if cmp -s "$HASHED" "$T/kh/hashed2" && cmp -s "$HASHED" "$T/kh.before"; then
	ok "exporting twice with --hash gives identical bytes (salts deterministic per database)"
else
	fail_nolog "exporting twice with --hash gives identical bytes (salts deterministic per database)" \
		"expected three identical files, got:" \
		"$(cat "$T/kh.before")" "---" "$(cat "$HASHED")" "---" "$(cat "$T/kh/hashed2")"
fi
rm -f "$T/kh.before"

# Modes.
expect_ctl "known-hosts export --mode 0644 exits 0" 0 --db "$DB" known-hosts export --mode 0644 --out "$T/kh/m644"
mode_is "--mode 0644: the file has mode 0644" 644 "$T/kh/m644"
ctl --db "$DB" known-hosts export --out "$T/kh/m644"
mode_is "a default export over a 0644 file leaves it 0600" 600 "$T/kh/m644"
expect_ctl "known-hosts export --mode 0640 exits 0" 0 --db "$DB" known-hosts export --mode 0640 --out "$T/kh/m640"
mode_is "--mode 0640: the file has mode 0640" 640 "$T/kh/m640"
expect_ctl "known-hosts export --mode 0666 is refused (exit 2)" 2 \
	--db "$DB" known-hosts export --mode 0666 --out "$T/kh/m666"
same "--mode 0666: nothing written" no "$([ -e "$T/kh/m666" ] && echo yes || echo no)"
expect_ctl "known-hosts export --host matching nothing exits 1" 1 \
	--db "$DB" known-hosts export --host nomatch.example.com --out "$T/kh/none"
same "--host matching nothing: nothing written" no "$([ -e "$T/kh/none" ] && echo yes || echo no)"
dir_holds "no temp file left next to the exports" "$T/kh" "hashed hashed2 m640 m644 plain plain2"

# ssh-keygen -F finds the host in both exports and prints its lines.
for f in plain hashed; do
	ssh-keygen -F "$HP" -f "$T/kh/$f" >"$T/kf.out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$(grep -v '^#' "$T/kf.out")" = "$(cat "$T/kh/$f")" ] &&
		grep -qF "# Host $HP found: line 1" "$T/kf.out"; then
		ok "$f export: ssh-keygen -F '$HP' finds the host and prints its 3 lines"
	else
		fail_nolog "$f export: ssh-keygen -F '$HP' finds the host and prints its 3 lines" \
			"expected exit 0, '# Host $HP found: line 1' and the file's lines:" "$(cat "$T/kh/$f")" \
			"got exit $rc:" "$(cat "$T/kf.out")"
	fi
done

# Paramiko (RejectPolicy, agent) and ssh (StrictHostKeyChecking=yes) trust the exports.
for f in plain hashed; do
	# shellcheck disable=SC2086
	run_py hostkeys.py login "$f export" "$SSHD_PORT" "$LOGIN_USER" "$T/kh/$f" $TYPES_IN_ORDER
	ssh_logs_in "$f export: ssh logs in (ed25519 host key)" "$T/kh/$f" "$HK/host_ed25519.pub" \
		-o HostKeyAlgorithms=ssh-ed25519
	ssh_logs_in "$f export: ssh logs in (ecdsa host key)" "$T/kh/$f" "$HK/host_ecdsa.pub" \
		-o HostKeyAlgorithms=ecdsa-sha2-nistp256
	ssh_logs_in "$f export: ssh logs in (rsa host key)" "$T/kh/$f" "$HK/host_rsa.pub" \
		-o HostKeyAlgorithms=rsa-sha2-512
	ssh_logs_in "$f export: ssh logs in with its default algorithms" "$T/kh/$f" "$HK/host_ed25519.pub"
done

# ---------------------------------------------------------------- 3: wrong pins, unknown host

fresh_key wrong_ed25519 -t ed25519
fresh_key wrong_ecdsa -t ecdsa -b 256
fresh_key wrong_rsa -t rsa -b 3072

# Only a wrong ed25519 key pinned: Paramiko and ssh both negotiate ed25519 and see the real one.
printf '%s %s\n' "$HP" "$(key_of "$T/in/wrong_ed25519.pub")" >"$T/in/wrong1"
expect_ctl "a wrong ed25519 pin is imported" 0 --db "$T/db/wrong1.db" hosts import --format known_hosts "$T/in/wrong1"
expect_ctl "the wrong pin is exported" 0 --db "$T/db/wrong1.db" known-hosts export --out "$T/kh/wrong1"
run_py hostkeys.py refused "wrong ed25519 pin" "$SSHD_PORT" "$LOGIN_USER" "$T/kh/wrong1" bad \
	"$HK/host_ed25519.pub" "$T/in/wrong_ed25519.pub"
ssh_refused "wrong ed25519 pin: ssh refuses the host" "$T/kh/wrong1" \
	'REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed'

# All three types pinned, all wrong.
{
	printf '%s %s\n' "$HP" "$(key_of "$T/in/wrong_rsa.pub")"
	printf '%s %s\n' "$HP" "$(key_of "$T/in/wrong_ecdsa.pub")"
	printf '%s %s\n' "$HP" "$(key_of "$T/in/wrong_ed25519.pub")"
} >"$T/in/wrong3"
expect_ctl "three wrong pins are imported" 0 --db "$T/db/wrong3.db" hosts import --format known_hosts "$T/in/wrong3"
expect_ctl "the three wrong pins are exported" 0 --db "$T/db/wrong3.db" known-hosts export --out "$T/kh/wrong3"
run_py hostkeys.py refused "three wrong pins" "$SSHD_PORT" "$LOGIN_USER" "$T/kh/wrong3" bad \
	"$HK/host_ed25519.pub" "$T/in/wrong_ed25519.pub"
ssh_refused "three wrong pins: ssh refuses the host" "$T/kh/wrong3" \
	'REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed'

# A database that knows the server's key only under another name.
printf 'other.example.com %s\n' "$(key_of "$HK/host_ed25519.pub")" >"$T/in/other"
expect_ctl "a pin of another host is imported" 0 --db "$T/db/other.db" hosts import --format known_hosts "$T/in/other"
expect_ctl "the pin of another host is exported" 0 --db "$T/db/other.db" known-hosts export --out "$T/kh/other"
run_py hostkeys.py refused "unknown host" "$SSHD_PORT" "$LOGIN_USER" "$T/kh/other" unknown
ssh_refused "unknown host: ssh refuses the host" "$T/kh/other" 'Host key verification failed'

# The same address pinned on port 22 only: written without brackets, and for Paramiko the
# server on another port stays unknown.  (OpenSSH 9.2's ssh does accept a port-less entry for
# any port, so ssh is not asked here.)
printf '127.0.0.1 %s\n' "$(key_of "$HK/host_ed25519.pub")" >"$T/in/port22"
expect_ctl "a pin of 127.0.0.1 (port 22) is imported" 0 --db "$T/db/port22.db" hosts import --format known_hosts "$T/in/port22"
expect_ctl "the pin of 127.0.0.1 (port 22) is exported" 0 --db "$T/db/port22.db" known-hosts export --out "$T/kh/port22"
same "a host on port 22 is written without brackets or port" \
	"127.0.0.1 $(key_of "$HK/host_ed25519.pub")" "$(cat "$T/kh/port22")"
run_py hostkeys.py refused "pinned on port 22 only" "$SSHD_PORT" "$LOGIN_USER" "$T/kh/port22" unknown

# ---------------------------------------------------------------- 4: a revoked key

DBR=$T/db/revoked.db
FP_ED=$(ssh-keygen -lf "$HK/host_ed25519.pub" | cut -d' ' -f2)
ctl --db "$DBR" hosts import --format keyscan - <"$T/known_hosts"
same "hosts import --format keyscan - reads stdin (exit 0)" 0 "$RC"
expect_ctl "hosts revoke $HP --key <the ed25519 fingerprint> exits 0" 0 --db "$DBR" hosts revoke "$HP" --key "$FP_ED"
expect_ctl "known-hosts export --format openssh exits 0" 0 \
	--db "$DBR" known-hosts export --format openssh --out "$T/kh/rev-openssh"
REV_LINE="@revoked $HP $(key_of "$HK/host_ed25519.pub")"
if grep -qxF "$REV_LINE" "$T/kh/rev-openssh"; then
	ok "openssh export has the line '@revoked $HP ssh-ed25519 ...'"
else
	fail_nolog "openssh export has the line '@revoked $HP ssh-ed25519 ...'" "expected the line:" "$REV_LINE" \
		"got the file:" "$(cat "$T/kh/rev-openssh")"
fi
same "openssh export: the ed25519 key appears only in the @revoked line" 1 \
	"$(grep -cF "$(cut -d' ' -f2 "$HK/host_ed25519.pub")" "$T/kh/rev-openssh")"
ssh_refused "revoked ed25519 key: ssh -o HostKeyAlgorithms=ssh-ed25519 refuses (REVOKED)" "$T/kh/rev-openssh" \
	'REVOKED' -o HostKeyAlgorithms=ssh-ed25519
ssh_logs_in "revoked ed25519 key: ssh still logs in with the pinned ecdsa key" "$T/kh/rev-openssh" \
	"$HK/host_ecdsa.pub" -o HostKeyAlgorithms=ecdsa-sha2-nistp256
run_py hostkeys.py probe "openssh export with @revoked" "$T/kh/rev-openssh"

expect_ctl "known-hosts export (paramiko) of the database with a revoked key exits 0" 0 \
	--db "$DBR" known-hosts export --out "$T/kh/rev-paramiko"
same "paramiko export leaves the revoked key out entirely" \
	"$(printf '%s %s\n%s %s' "$HP" "$(key_of "$HK/host_ecdsa.pub")" "$HP" "$(key_of "$HK/host_rsa.pub")")" \
	"$(cat "$T/kh/rev-paramiko")"
dialect_ok "paramiko export of a database with a revoked key has no '@' line" "$T/kh/rev-paramiko"

# ---------------------------------------------------------------- 5: @cert-authority

DBC=$T/db/ca.db
fresh_key ca -t ed25519
CA_LINE="@cert-authority *.example.com $(key_of "$T/in/ca.pub")"
{
	printf '%s\n' "$CA_LINE"
	cat "$T/known_hosts"
	printf 'web.example.com %s\n' "$(key_of "$T/pub/ed25519.pub")"
} >"$T/in/ca"
expect_ctl "a known_hosts file with @cert-authority and normal lines is imported" 0 \
	--db "$DBC" hosts import --format known_hosts "$T/in/ca"
out_matches "the import counts 4 keys, 2 new hosts, 1 pattern entry" \
	"^imported from $T/in/ca: 4 keys pinned \(2 new hosts?\), 0 revoked, 1 pattern entr(y|ies); 0 already present$"
expect_ctl "paramiko export of a database with a @cert-authority entry exits 0" 0 \
	--db "$DBC" known-hosts export --out "$T/kh/ca-paramiko"
dialect_ok "paramiko export leaves the @cert-authority line out" "$T/kh/ca-paramiko"
out_matches "paramiko export notes the left-out @cert-authority entry on stderr" \
	'^sshxctl: known-hosts export: .*cert-authority' "$T/err"
# shellcheck disable=SC2086
run_py hostkeys.py load "paramiko export with a CA in the database" "$T/kh/ca-paramiko" 4 "$HP" $TYPES_IN_ORDER
expect_ctl "openssh export of a database with a @cert-authority entry exits 0" 0 \
	--db "$DBC" known-hosts export --format openssh --out "$T/kh/ca-openssh"
if grep -qxF "$CA_LINE" "$T/kh/ca-openssh"; then
	ok "openssh export has the @cert-authority line"
else
	fail_nolog "openssh export has the @cert-authority line" "expected the line:" "$CA_LINE" \
		"got the file:" "$(cat "$T/kh/ca-openssh")"
fi
ssh_logs_in "openssh export with @cert-authority: ssh logs in" "$T/kh/ca-openssh" "$HK/host_ed25519.pub"
run_py hostkeys.py probe "openssh export with @cert-authority" "$T/kh/ca-openssh"

# ---------------------------------------------------------------- 6: refused targets

printf 'keep me\n' >"$T/ex/target"
ln -s "$T/ex/target" "$T/ex/link"
expect_ctl "export to a symlink is refused (exit 2)" 2 --db "$DB" known-hosts export --out "$T/ex/link"
out_matches "the refusal is reported as 'sshxctl: ...'" '^sshxctl: ' "$T/err"
same "the symlink is left as it was" "$T/ex/target" "$(readlink "$T/ex/link")"
same "the symlink's target is unchanged" "keep me" "$(cat "$T/ex/target")"
ln -s "$T/ex/nowhere" "$T/ex/dangling"
expect_ctl "export to a dangling symlink is refused (exit 2)" 2 --db "$DB" known-hosts export --out "$T/ex/dangling"
same "the dangling symlink's target is not created" no "$([ -e "$T/ex/nowhere" ] && echo yes || echo no)"
dir_holds "no temp file left after refused exports" "$T/ex" "dangling link target"

for m in 775 777; do
	install -d -m "$m" "$T/ex/d$m"
	expect_ctl "export into a directory with mode $m (no sticky bit) is refused (exit 2)" 2 \
		--db "$DB" known-hosts export --out "$T/ex/d$m/known_hosts"
	same "directory with mode $m: nothing written, no temp file" "" "$(ls -A "$T/ex/d$m")"
done

# ---------------------------------------------------------------- 7: concurrent exports and imports

DB7=$T/db/race.db
F7=$T/race/known_hosts
G7=$T/in/growing
ROUNDS=50
fresh_key fixed -t ed25519
FIXED=$(key_of "$T/in/fixed.pub")
ctl --db "$DB7" hosts import --format keyscan "$T/known_hosts"
[ "$RC" -eq 0 ] || bail "first import for the concurrency rounds" "expected exit 0, got $RC: $(cat "$T/err")"
ctl --db "$DB7" known-hosts export --out "$F7"
[ "$RC" -eq 0 ] || bail "first export for the concurrency rounds" "expected exit 0, got $RC: $(cat "$T/err")"
: >"$G7"
prev=$(wc -l <"$F7")
rc_problems=
rc_rounds=0
count_problems=
t0=$(now_ms)
i=1
while [ "$i" -le "$ROUNDS" ]; do
	printf 'host%d.example.com %s\n' "$i" "$FIXED" >>"$G7"
	L=$T/race-log/$i
	# A reader copies the file while the three commands run: it must only ever see whole files.
	rm -f "$T/race-log/stop"
	(
		j=0
		while [ ! -e "$T/race-log/stop" ] && [ "$j" -lt 20 ]; do
			# One open of the path, as a client reads it (cp re-checks the path after
			# copying and complains when a newer file was renamed in meanwhile).
			cat "$F7" >"$T/snap/$i.$j" 2>"$T/snap/$i.$j.missing" && rm -f "$T/snap/$i.$j.missing"
			j=$((j + 1))
		done
	) &
	pr=$!
	"$SSHXCTL" --db "$DB7" known-hosts export --out "$F7" >"$L.a" 2>&1 &
	pa=$!
	"$SSHXCTL" --db "$DB7" known-hosts export --out "$F7" >"$L.b" 2>&1 &
	pb=$!
	"$SSHXCTL" --db "$DB7" hosts import --format known_hosts "$G7" >"$L.i" 2>&1 &
	pi=$!
	wait "$pa"
	ra=$?
	wait "$pb"
	rb=$?
	wait "$pi"
	ri=$?
	: >"$T/race-log/stop"
	wait "$pr"
	if [ "$ra" -ne 0 ] || [ "$rb" -ne 0 ] || [ "$ri" -ne 0 ]; then
		rc_rounds=$((rc_rounds + 1))
		rc_problems="$rc_problems
round $i: export exits $ra, $rb, import exits $ri:
$(cat "$L.a" "$L.b" "$L.i")"
	fi
	cp "$F7" "$T/snap/$i.end"
	n=$(wc -l <"$F7")
	if [ "$n" -lt "$prev" ]; then
		count_problems="$count_problems
round $i: $n lines after $prev"
	fi
	prev=$n
	i=$((i + 1))
done
t1=$(now_ms)
nsnap=0
for s in "$T/snap"/*; do
	case $s in *.missing) ;; *) nsnap=$((nsnap + 1)) ;; esac
done
diag "$ROUNDS rounds of 2 exports + 1 import in $((t1 - t0)) ms; $nsnap copies of the file taken meanwhile"
[ "$rc_rounds" -eq 0 ] || rc_problems="in $rc_rounds of $ROUNDS rounds a command failed:$rc_problems"
none "concurrent exports and imports: all $((ROUNDS * 3)) commands exit 0" \
	"exit 0 from both exports and the import in every round" "$rc_problems"
none "concurrent exports and imports: the file's line count never shrinks between rounds" \
	"at least as many lines as after the round before" "$count_problems"
none "concurrent exports and imports: the file never vanished while a reader copied it" \
	"every read of the file to succeed" \
	"$(cd "$T/snap" && for m in *.missing; do [ -e "$m" ] && printf '%s: %s\n' "$m" "$(cat "$m")"; done)"
bad=
for s in "$T/snap"/*.end; do
	p=$(kh_problems "$s")
	[ -z "$p" ] || bad="$bad
${s##*/}: $p"
done
none "concurrent exports and imports: the file after each round is complete (newline-terminated, 3 fields a line)" \
	"no problem in any round's file" "$bad"
run_py hostkeys.py complete "concurrent exports" "$T/snap" "$HP"
dir_holds "concurrent exports and imports: no temp file left next to the file" "$T/race" "known_hosts"

# After the storm, nothing concurrent: every host is there.
expect_ctl "a final export after the rounds exits 0" 0 --db "$DB7" known-hosts export --out "$F7"
run_py hostkeys.py load "final export after $ROUNDS rounds" "$F7" $((ROUNDS + 3)) "host$ROUNDS.example.com" ssh-ed25519
ssh-keygen -l -f "$F7" >"$T/kl.out" 2>&1
rc=$?
n=$(grep -c ' SHA256:' "$T/kl.out")
if [ "$rc" -eq 0 ] && [ "$n" -eq $((ROUNDS + 3)) ]; then
	ok "ssh-keygen -l -f reads the final export ($n keys)"
else
	fail_nolog "ssh-keygen -l -f reads the final export ($((ROUNDS + 3)) keys)" \
		"expected exit 0 and $((ROUNDS + 3)) fingerprints, got exit $rc and $n:" "$(head -5 "$T/kl.out")"
fi
ssh-keygen -F "host$ROUNDS.example.com" -f "$F7" >"$T/kf.out" 2>&1
same "ssh-keygen -F host$ROUNDS.example.com finds the last imported host" \
	"host$ROUNDS.example.com $FIXED" "$(grep -v '^#' "$T/kf.out")"

# ---------------------------------------------------------------- 8: hosts verify

for t in ed25519 ecdsa rsa; do
	# shellcheck disable=SC2046
	expect_ctl "hosts verify $HP with the server's $t key exits 0 (pinned)" 0 \
		--db "$DB" hosts verify "$HP" $(key_of "$HK/host_$t.pub") &&
		out_has "hosts verify says pinned: $(cut -d' ' -f1 "$HK/host_$t.pub")" \
			": pinned: $(cut -d' ' -f1 "$HK/host_$t.pub") $(fp_of "$HK/host_$t.pub")"
done
# shellcheck disable=SC2046
expect_ctl "hosts verify 127.0.0.1:PORT (no brackets) with the ed25519 key exits 0" 0 \
	--db "$DB" hosts verify "127.0.0.1:$SSHD_PORT" $(key_of "$HK/host_ed25519.pub")
# shellcheck disable=SC2046
expect_ctl "hosts verify with a different ed25519 key exits 2 (host known, key not pinned)" 2 \
	--db "$DB" hosts verify "$HP" $(key_of "$T/in/wrong_ed25519.pub")
# shellcheck disable=SC2046
expect_ctl "hosts verify with a different ecdsa key exits 2" 2 \
	--db "$DB" hosts verify "$HP" $(key_of "$T/in/wrong_ecdsa.pub")
# shellcheck disable=SC2046
expect_ctl "hosts verify of an unknown host exits 1" 1 \
	--db "$DB" hosts verify "127.0.0.2:$SSHD_PORT" $(key_of "$HK/host_ed25519.pub")
# shellcheck disable=SC2046
expect_ctl "hosts verify of the same address on port 22 exits 1 (the port is part of the host)" 1 \
	--db "$DB" hosts verify 127.0.0.1 $(key_of "$HK/host_ed25519.pub")
# shellcheck disable=SC2046
expect_ctl "hosts verify of the revoked ed25519 key exits 3" 3 \
	--db "$DBR" hosts verify "$HP" $(key_of "$HK/host_ed25519.pub")
# shellcheck disable=SC2046
expect_ctl "hosts verify of a still-pinned key next to the revoked one exits 0" 0 \
	--db "$DBR" hosts verify "$HP" $(key_of "$HK/host_rsa.pub")
# Hashed names in the database (imported from the hashed export) are matched too.
expect_ctl "the hashed export imports into a new database" 0 \
	--db "$T/db/hashed.db" hosts import --format known_hosts "$HASHED"
for t in ed25519 rsa; do
	# shellcheck disable=SC2046
	expect_ctl "hosts verify matches a hashed entry ($t) and exits 0" 0 \
		--db "$T/db/hashed.db" hosts verify "$HP" $(key_of "$HK/host_$t.pub")
done

done_testing

#!/bin/sh
# The README's recipes, run as the README writes them: each fenced block that follows a
# "<!-- recipe: NAME -->" line is taken from README.md and run against a real sshd on loopback,
# agentd serving a keyring made with sshxctl, and Paramiko from Debian's /usr/bin/python3.  The
# values a recipe writes in capitals (HOST, PORT, USER, KNOWN_HOSTS, TARGET, ...) come from the
# environment, set here to the test's own sshd, files and directories.
# shellcheck shell=sh

# shellcheck source=tests/integration/lib.sh
. "${SSHX_TESTDIR:?}/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

README=$SSHX_TESTDIR/../../README.md
[ -r "$README" ] || {
	echo "Bail out! README.md not found at $README"
	exit 1
}

setup_tmpdir
isolate_home
# The recipes call agentd and sshxctl by name, as after an install.
PATH=$(dirname "$SSHXCTL"):$(dirname "$AGENTD"):$PATH
export PATH

# Prints the fenced block that follows the line "<!-- recipe: NAME -->" in README.md.
recipe() {
	awk -v name="$1" '
		$0 == "<!-- recipe: " name " -->" { found = 1; next }
		found && !inblock && /^```/ { inblock = 1; next }
		inblock && /^```/ { exit }
		inblock { print }
	' "$README"
}

# Writes recipe NAME to $T/recipes/NAME and checks that README.md has it: take_recipe NAME.
take_recipe() {
	mkdir -p "$T/recipes"
	recipe "$1" >"$T/recipes/$1"
	if [ -s "$T/recipes/$1" ]; then
		ok "README.md has the '$1' recipe ($(wc -l <"$T/recipes/$1" | tr -d ' ') lines)"
	else
		bail "README.md has the '$1' recipe" "expected a fenced block after '<!-- recipe: $1 -->', got none"
	fi
}

# Runs shell recipe NAME in directory DIR with sh -e, output in $T/run.out, status in RC:
# run_recipe NAME DIR [NAME=VALUE...].
run_recipe() {
	_n=$1 _d=$2
	shift 2
	(cd "$_d" && env "$@" timeout -k 5 120 sh -e "$T/recipes/$_n") </dev/null >"$T/run.out" 2>&1
	RC=$?
}

# Passes when the last run_recipe exited 0: recipe_ok DESC.
recipe_ok() {
	if [ "$RC" -eq 0 ]; then
		ok "$1"
	else
		fail "$1" "expected exit 0, got $RC; output:" "$(cat "$T/run.out")"
	fi
}

# Runs the Paramiko recipe with Debian's Python; output in $T/py.out, status in RC:
# run_paramiko SOCKET KNOWN_HOSTS.
run_paramiko() {
	env SSH_AUTH_SOCK="$1" KNOWN_HOSTS="$2" HOST=127.0.0.1 PORT="$SSHD_PORT" USER="$LOGIN_USER" \
		timeout -k 5 60 "$PYTHON_PARAMIKO" "$T/recipes/paramiko" </dev/null >"$T/py.out" 2>&1
	RC=$?
}

# Passes when the Paramiko recipe logged in as $LOGIN_USER with the key in PUB, the fingerprint
# being the last one sshd accepted: paramiko_logs_in DESC SOCKET KNOWN_HOSTS PUB.
paramiko_logs_in() {
	_before=$(sshd_log | grep -c 'Accepted publickey')
	run_paramiko "$2" "$3"
	_fp=$(fp_of "$4")
	_acc=$(sshd_log | grep 'Accepted publickey' | sed -n "$((_before + 1)),\$p" | awk '{ print $NF }' | tail -n 1)
	if [ "$RC" -eq 0 ] && [ "$(cat "$T/py.out")" = "$LOGIN_USER" ] && [ "$_acc" = "$_fp" ]; then
		ok "$1"
	else
		fail "$1" "expected exit 0, '$LOGIN_USER' printed and sshd accepting $_fp" \
			"got exit $RC, sshd accepted '$_acc', output:" "$(cat "$T/py.out")"
	fi
}

# The agent's fingerprints in list order, on one line.
agent_order() {
	ssh-add -l 2>/dev/null | awk '{ print $2 }' | tr '\n' ' '
}

# Prints "NAME FP BITS STATE" lines of the keyring $KR.
kr_entries() {
	"$SSHXCTL" --keyring "$KR" --passphrase-file "$W2/passphrase" key list --json >"$T/list.json" 2>&1 &&
		"$PYTHON_PARAMIKO" "$SSHX_TESTDIR/keyring_util.py" list "$T/list.json"
}

# Writes the public line of keyring key NAME to FILE: kr_pub NAME FILE.
kr_pub() {
	"$SSHXCTL" --keyring "$KR" --passphrase-file "$W2/passphrase" key export-public "$1" >"$2" 2>"$T/pub.err" ||
		bail "export-public $1" "$(cat "$T/pub.err")"
}

for r in quickstart paramiko deploy-step rotate retire rollback; do
	take_recipe "$r"
done

# The Paramiko recipe is the short one the README promises: no key file, no AutoAddPolicy.
n=$(wc -l <"$T/recipes/paramiko" | tr -d ' ')
check "the Paramiko recipe is at most 10 lines (it has $n)" [ "$n" -le 10 ]
if grep -q 'RejectPolicy()' "$T/recipes/paramiko" && grep -q 'allow_agent=True, look_for_keys=False' "$T/recipes/paramiko" &&
	! grep -Eq 'AutoAddPolicy|WarningPolicy|key_filename|pkey' "$T/recipes/paramiko"; then
	ok "the Paramiko recipe uses RejectPolicy and the agent, never a key file or AutoAddPolicy"
else
	fail_nolog "the Paramiko recipe uses RejectPolicy and the agent, never a key file or AutoAddPolicy" \
		"got:" "$(cat "$T/recipes/paramiko")"
fi

start_sshd
diag "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT"

# ---------------------------------------------------------------- quick start, then Paramiko

W=$T/qs
mkdir -p "$W"
pass_file "$W/passphrase" 'readme quick start passphrase'
# The quick start leaves agentd running; its pid is kept so that it is stopped at exit.
# shellcheck disable=SC2016
printf '\nprintf %%s "$SSH_AGENT_PID" >"%s"\n' "$T/qs.pid" >>"$T/recipes/quickstart"
run_recipe quickstart "$W" HOST=127.0.0.1 PORT="$SSHD_PORT"
[ -s "$T/qs.pid" ] && _pids="$_pids $(cat "$T/qs.pid")"
recipe_ok "the quick start runs to the end"
check "the quick start's deploy.pub is a public key" ssh-keygen -lf "$W/deploy.pub"
is "the quick start's known_hosts pins the sshd's 3 host keys" 3 \
	"$(grep -c "^\[127.0.0.1\]:$SSHD_PORT " "$W/known_hosts" 2>/dev/null)"
is "the quick start's known_hosts has mode 0600" 600 "$(stat -c %a "$W/known_hosts" 2>&1)"
QS_SOCK=$XDG_RUNTIME_DIR/sshx/agent.sock
is "the quick start's agentd serves the deploy key" "$(fp_of "$W/deploy.pub") " \
	"$(SSH_AUTH_SOCK=$QS_SOCK agent_order)"

authorize_keys "$W/deploy.pub"
paramiko_logs_in "the Paramiko recipe logs in with the quick start's agent and known_hosts" \
	"$QS_SOCK" "$W/known_hosts" "$W/deploy.pub"
[ -s "$T/qs.pid" ] && stop_pid "$(cat "$T/qs.pid")"

# ---------------------------------------------------------------- deploy step, then Paramiko

# A keyring made with sshxctl, served by agentd; the host keys pinned with hosts add.
W2=$T/adm
mkdir -p "$W2" "$T/kr" "$T/db" "$T/app"
chmod 700 "$T/kr" "$T/db" "$T/app"
pass_file "$W2/passphrase" 'readme admin passphrase'
KR=$T/kr/keyring
DB=$T/db/sshx.db
"$SSHXCTL" --keyring "$KR" --passphrase-file "$W2/passphrase" keyring init >"$T/init.out" 2>&1 ||
	bail "keyring init" "$(cat "$T/init.out")"
"$SSHXCTL" --keyring "$KR" --passphrase-file "$W2/passphrase" key generate --name deploy >"$T/old.pub" 2>"$T/gen.err" ||
	bail "key generate deploy" "$(cat "$T/gen.err")"
for t in ed25519 ecdsa rsa; do
	check "hosts add pins the sshd's $t host key" \
		"$SSHXCTL" --db "$DB" hosts add "127.0.0.1:$SSHD_PORT" --key-file "$T/sshd/host_$t.pub"
done
start_agent_with --keyring "$KR" --passphrase-file "$W2/passphrase" --no-secret-service --no-audit
authorize_keys "$T/old.pub"

# An interpreter that sees a Paramiko without advisories (3.4.0), as a fixed virtualenv would;
# Debian's own 2.12 has CVE-2023-48795 and must fail the step.
mkdir -p "$T/site/paramiko-3.4.0.dist-info"
printf 'Metadata-Version: 2.1\nName: paramiko\nVersion: 3.4.0\n' >"$T/site/paramiko-3.4.0.dist-info/METADATA"
printf '#!/bin/sh\nPYTHONPATH=%s exec %s "$@"\n' "$T/site" "$PYTHON_PARAMIKO" >"$T/app-python"
chmod 755 "$T/app-python"

KH=$T/app/known_hosts
deploy() {
	run_recipe deploy-step "$W2" KNOWN_HOSTS="$KH" SSHX_DB="$DB" SSHX_KEYRING="$KR" APP_PYTHON="$1"
}

deploy "$T/app-python"
recipe_ok "the deploy step passes: export, permissions and a Paramiko without advisories"
is "the deploy step's export pins the sshd's 3 host keys" 3 \
	"$(grep -c "^\[127.0.0.1\]:$SSHD_PORT " "$KH" 2>/dev/null)"
paramiko_logs_in "the Paramiko recipe logs in through agentd with the deploy step's known_hosts" \
	"$SOCK" "$KH" "$T/old.pub"

chmod 644 "$KR"
deploy "$T/app-python"
if [ "$RC" -eq 1 ] && grep -qF "$KR: mode 0644" "$T/run.out" && ! grep -q 'no known advisory' "$T/run.out"; then
	ok "the deploy step fails (exit 1) at perms check when the keyring is 0644"
else
	fail "the deploy step fails (exit 1) at perms check when the keyring is 0644" \
		"expected exit 1, '$KR: mode 0644' and no audit run; got exit $RC:" "$(cat "$T/run.out")"
fi
chmod 600 "$KR"
chmod 640 "$DB"
deploy "$T/app-python"
if [ "$RC" -ne 0 ] && grep -qF "$DB" "$T/run.out"; then
	ok "the deploy step fails (exit $RC) when the database is 0640, naming it"
else
	fail "the deploy step fails when the database is 0640, naming it" \
		"expected a non-zero exit and '$DB' in the output; got exit $RC:" "$(cat "$T/run.out")"
fi
chmod 600 "$DB"

# No database (nothing pinned yet): known-hosts export exits 1 and the step stops there.
run_recipe deploy-step "$W2" KNOWN_HOSTS="$T/app/none" SSHX_DB="$T/db/missing.db" SSHX_KEYRING="$KR" \
	APP_PYTHON="$T/app-python"
if [ "$RC" -eq 1 ] && [ ! -e "$T/app/none" ]; then
	ok "the deploy step fails (exit 1) when there is no host database, writing no known_hosts"
else
	fail "the deploy step fails (exit 1) when there is no host database, writing no known_hosts" \
		"expected exit 1 and no $T/app/none; got exit $RC:" "$(cat "$T/run.out")"
fi

deploy "$PYTHON_PARAMIKO"
if [ "$RC" -eq 1 ] && grep -q 'CVE-2023-48795' "$T/run.out"; then
	ok "the deploy step fails (exit 1) with Debian's Paramiko 2.12 (CVE-2023-48795)"
else
	fail "the deploy step fails (exit 1) with Debian's Paramiko 2.12 (CVE-2023-48795)" \
		"expected exit 1 naming CVE-2023-48795; got exit $RC:" "$(cat "$T/run.out")"
fi

# RejectPolicy does the work: with a known_hosts that does not hold the host, no login.
printf 'other.example.com %s\n' "$(pub_blob "$T/sshd/host_ed25519.pub")" >"$T/app/other_hosts"
run_paramiko "$SOCK" "$T/app/other_hosts"
if [ "$RC" -ne 0 ] && grep -q 'not found in known_hosts' "$T/py.out" && ! grep -qx "$LOGIN_USER" "$T/py.out"; then
	ok "the Paramiko recipe refuses a host missing from the known_hosts file"
else
	fail "the Paramiko recipe refuses a host missing from the known_hosts file" \
		"expected a non-zero exit and 'not found in known_hosts'; got exit $RC:" "$(cat "$T/py.out")"
fi

# A wrong pinned key: the sshd shows its real ed25519 key, Paramiko raises BadHostKeyException.
ssh-keygen -q -t ed25519 -N '' -f "$T/app/wrong" >/dev/null 2>&1 || bail "generate a wrong host key" "ssh-keygen failed"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(pub_blob "$T/app/wrong.pub")" >"$T/app/wrong_hosts"
run_paramiko "$SOCK" "$T/app/wrong_hosts"
if [ "$RC" -ne 0 ] && grep -q 'BadHostKeyException' "$T/py.out" && ! grep -qx "$LOGIN_USER" "$T/py.out"; then
	ok "the Paramiko recipe refuses a host that shows another key than the pinned one"
else
	fail "the Paramiko recipe refuses a host that shows another key than the pinned one" \
		"expected a non-zero exit and BadHostKeyException; got exit $RC:" "$(cat "$T/py.out")"
fi

# ---------------------------------------------------------------- rotation, retire, rollback

# TARGET is the file the test's sshd reads for $LOGIN_USER, so the recipe's scp pushes to it as a
# local copy; what sshd then accepts is checked through real logins.
FP0=$(fp_of "$T/old.pub")
AK=$T/authorized_keys.$LOGIN_USER
# The admin's copy of what servers get: the current key and another line that must stay.
printf 'ssh-ed25519 %s unrelated@elsewhere\n' "$(pub_blob "$T/sshd/host_ed25519.pub" | cut -d' ' -f2)" >"$W2/authorized_keys"
cat "$T/old.pub" >>"$W2/authorized_keys"
chmod 600 "$W2/authorized_keys"

run_recipe rotate "$W2" SSHX_KEYRING="$KR" TARGET="$AK"
recipe_ok "the rotate recipe runs (rotate, then scp of authorized_keys)"
kr_pub deploy "$T/new.pub"
FP1=$(fp_of "$T/new.pub")
check "after the rotation \"deploy\" is a new key ($FP1, was $FP0)" [ "$FP1" != "$FP0" ]
is "the pushed file keeps the unrelated line first" "$(sed -n 1p "$W2/authorized_keys")" "$(sed -n 1p "$AK")"
is "the pushed file then holds the new key" "$(cat "$T/new.pub")" "$(sed -n 2p "$AK")"
case $(sed -n 3p "$AK") in
"expiry-time=\""[0-9]*"Z\" $(cat "$T/old.pub")") ok "the pushed file ends with the old key carrying expiry-time" ;;
*) fail "the pushed file ends with the old key carrying expiry-time" "got:" "$(cat "$AK")" ;;
esac
is "the pushed file is the admin's file" "$(cat "$W2/authorized_keys")" "$(cat "$AK")"
is "during the grace agentd lists the new key, then the old one" "$FP1 $FP0 " "$(agent_order)"
paramiko_logs_in "the Paramiko recipe logs in with the new key after the push" "$SOCK" "$KH" "$T/new.pub"

cp "$AK" "$T/ak.before-retire"
run_recipe retire "$W2" SSHX_KEYRING="$KR"
recipe_ok "the retire recipe runs"
is "retire leaves authorized_keys alone (the old line ends at its expiry-time)" \
	"$(cat "$T/ak.before-retire")" "$(cat "$W2/authorized_keys")"
is "after retire agentd serves only the new key" "$FP1 " "$(agent_order)"
is "the old key stays in key list as retired" "retired" \
	"$(kr_entries | awk -v f="$FP0" '$2 == f { print $4 }')"
paramiko_logs_in "the Paramiko recipe still logs in with the new key" "$SOCK" "$KH" "$T/new.pub"

# Rollback: rotate again, then undo it during the grace.
run_recipe rotate "$W2" SSHX_KEYRING="$KR" TARGET="$AK"
recipe_ok "the rotate recipe runs a second time"
kr_pub deploy "$T/new2.pub"
FP2=$(fp_of "$T/new2.pub")
is "the second rotation serves its new key, then the one it replaced" "$FP2 $FP1 " "$(agent_order)"
run_recipe rollback "$W2" SSHX_KEYRING="$KR" TARGET="$AK"
recipe_ok "the rollback recipe runs (rotate --rollback, then scp)"
kr_pub deploy "$T/back.pub"
is "after the rollback \"deploy\" is the key from before the rotation" "$FP1" "$(fp_of "$T/back.pub")"
is "after the rollback agentd serves only that key" "$FP1 " "$(agent_order)"
is "the pushed file keeps the earlier lines and ends with that key, without the rolled-back one" \
	"$(sed -n '1p;3p' "$T/ak.before-retire")
$(cat "$T/new.pub")" "$(cat "$AK")"
is "the rolled-back key is kept as retired" "retired" \
	"$(kr_entries | awk -v f="$FP2" '$2 == f { print $4 }')"
paramiko_logs_in "the Paramiko recipe logs in with the key the rollback restored" "$SOCK" "$KH" "$T/new.pub"

done_testing

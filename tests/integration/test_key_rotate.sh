#!/bin/sh
# Key rotation end to end: sshxctl key rotate / retire / rotate --rollback on a keyring that
# agentd serves, logins to a real sshd with OpenSSH and Paramiko during and after the grace,
# the authorized_keys file with expiry-time, the end of a grace without any command, kill -9
# of sshxctl and of agentd between and during steps, audit rows, and refusals that change
# nothing.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home

UTIL=$SSHX_TESTDIR/keyring_util.py
KR=$T/kr/keyring
DB=$XDG_DATA_HOME/sshx/sshx.db
pass_file "$T/pass" 'rotation test passphrase'

util() {
	"$PYTHON_PARAMIKO" "$UTIL" "$@"
}

# Runs sshxctl on the test keyring, recording $RC, $T/out and $T/err: kctl ARGS...
kctl() {
	setsid -w timeout -k 2 60 "$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" "$@" \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# Checks that the last kctl exited with $1: expect_rc RC DESC.
expect_rc() {
	if [ "$RC" -eq "$1" ]; then
		ok "$2"
	else
		fail "$2" "expected exit $1, got $RC; stdout:" "$(cat "$T/out")" "stderr:" "$(cat "$T/err")"
	fi
}

# Prints "NAME FP BITS STATE" lines of the keyring, sorted by name.
entries() {
	kctl key list --json
	[ "$RC" -eq 0 ] || return 1
	util list "$T/out"
}

# The fingerprint of keyring key NAME.
fp_key() {
	entries | awk -v n="$1" '$1 == n { print $2 }'
}

# The state of keyring key NAME.
state_of() {
	entries | awk -v n="$1" '$1 == n { print $4 }'
}

# Writes keyring key NAME's public line to FILE: pub_to NAME FILE.
pub_to() {
	kctl key export-public "$1"
	[ "$RC" -eq 0 ] || bail "export-public $1" "$(cat "$T/err")"
	cp "$T/out" "$2"
}

# The agent's fingerprints in list order, one a line.
agent_order() {
	ssh-add -l 2>/dev/null | awk '{ print $2 }'
}

# Passes when the agent lists (has_fp) or does not list (lacks_fp) fingerprint FP.
has_fp() {
	agent_order | grep -qx "$1"
}
lacks_fp() {
	! has_fp "$1"
}

# The name of the key that "deploy" replaced and that is still in its grace.
retiring_name() {
	entries | awk '$1 ~ /^deploy@/ && $4 == "retiring" { print $1 }'
}

sum_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# Logs in with ssh through the agent and prints the fingerprint sshd accepted (empty on failure).
login_fp() {
	_before=$(sshd_log | grep -c 'Accepted publickey')
	ssh_agent_login "$LOGIN_USER@127.0.0.1" echo hello >"$T/ssh.out" 2>"$T/ssh.err" || return 0
	[ "$(cat "$T/ssh.out")" = hello ] || return 0
	sshd_log | grep 'Accepted publickey' | sed -n "$((_before + 1)),\$p" | awk '{ print $NF }' | tail -n 1
}

# ---------------------------------------------------------------- set-up

mkdir -p "$T/kr"
chmod 700 "$T/kr"
kctl keyring init
expect_rc 0 "keyring init"
kctl key generate --name deploy --comment deploy@ci
expect_rc 0 "key generate deploy"
kctl key generate --name other
expect_rc 0 "key generate other (a key that is never rotated)"
FP0=$(fp_key deploy)
FP_OTHER=$(fp_key other)
pub_to deploy "$T/old.pub"

start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service
start_sshd
known_hosts_for_sshd
authorize_keys "$T/old.pub"
is "before the rotation ssh logs in with deploy's key" "$FP0" "$(login_fp)"

# ---------------------------------------------------------------- rotate

kctl key rotate deploy --grace 1h --authorized-keys "$T/ak"
expect_rc 0 "key rotate deploy --grace 1h exits 0"
cp "$T/out" "$T/rotate.out"
cp "$T/err" "$T/rotate.err"
FP1=$(fp_key deploy)
OLDNAME=$(retiring_name)
check "after the rotation \"deploy\" is a new key ($FP1, was $FP0)" [ -n "$FP1" -a "$FP1" != "$FP0" ]
case $OLDNAME in
deploy@[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) ok "the old key is kept as deploy@DATE, retiring" ;;
*) fail "the old key is kept as deploy@DATE, retiring" "got key list:" "$(entries)" ;;
esac
is "$OLDNAME is the old key" "$FP0" "$(fp_key "$OLDNAME")"
is "the new key is active" "active" "$(state_of deploy)"
pub_to deploy "$T/new.pub"
is "rotate prints the new key as an authorized_keys line" "$(cat "$T/new.pub")" "$(cat "$T/rotate.out")"
check "rotate says until when the old key is served" grep -q "is served after it until" "$T/rotate.err"

# The authorized_keys file: the new key, then the old one with expiry-time at the end of the grace.
is "--authorized-keys writes two lines" "2" "$(wc -l <"$T/ak" | tr -d ' ')"
is "the first line is the new key" "$(cat "$T/new.pub")" "$(sed -n 1p "$T/ak")"
_exp=$(entries >/dev/null; kctl key show "$OLDNAME" --json; util field "$T/out" retire_at)
_want=$(printf '%s' "$_exp" | tr -d ':T-')
is "the second line is the old key with expiry-time at the end of the grace ($_exp)" "expiry-time=\"$_want\" $(cat "$T/old.pub")" "$(sed -n 2p "$T/ak")"
is "the authorized_keys file has mode 0600" "600" "$(stat -c %a "$T/ak")"

is "during the grace agentd lists the new key before the old one (and the retiring key last)" "$FP_OTHER $FP1 $FP0 " "$(agent_order | tr '\n' ' ')"
pub_to other "$T/other.pub"
run_py paramiko_agent.py keys --agentd "$T/other.pub" "$T/new.pub" "$T/old.pub"

# sshd takes both lines: the new key logs in; with only the old key's line the old one still does.
cp "$T/ak" "$T/authorized_keys.$LOGIN_USER"
is "with the written authorized_keys, ssh logs in with the new key" "$FP1" "$(login_fp)"
sed -n 2p "$T/ak" >"$T/authorized_keys.$LOGIN_USER"
is "during the grace the old key still logs in (expiry-time in the future)" "$FP0" "$(login_fp)"
run_py paramiko_agent.py login deploy-old "$SSHD_PORT" "$T/known_hosts" "$LOGIN_USER"
sed -n 1p "$T/ak" >"$T/authorized_keys.$LOGIN_USER"
run_py paramiko_agent.py login deploy-new "$SSHD_PORT" "$T/known_hosts" "$LOGIN_USER"

# Running the same rotation again changes nothing and prints the same key.
_sum=$(sum_of "$KR")
kctl key rotate deploy --grace 1h
expect_rc 0 "a second key rotate deploy during the grace exits 0"
is "... and prints the same new key" "$(cat "$T/new.pub")" "$(cat "$T/out")"
is "... and leaves the keyring file as it was" "$_sum" "$(sum_of "$KR")"
check "... and says the rotation is under way" grep -q "already being rotated" "$T/err"

# ---------------------------------------------------------------- rollback

kctl key rotate --rollback deploy --authorized-keys "$T/ak"
expect_rc 0 "key rotate --rollback deploy exits 0"
is "after the rollback \"deploy\" is the old key again" "$FP0" "$(fp_key deploy)"
is "... and it is active" "active" "$(state_of deploy)"
is "... and no key is retiring" "" "$(retiring_name)"
_rb=$(entries | awk -v f="$FP1" '$2 == f { print $1 " " $4 }')
case $_rb in
"deploy@"*" retired") ok "the rolled-back new key is kept, retired ($_rb)" ;;
*) fail "the rolled-back new key is kept, retired" "got: '$_rb'" ;;
esac
check "agentd serves the old key and no longer the new one" lacks_fp "$FP1"
check "... and serves the old key again" has_fp "$FP0"
is "--authorized-keys after a rollback holds the old key only" "$(cat "$T/old.pub")" "$(cat "$T/ak")"
_sum=$(sum_of "$KR")
kctl key rotate --rollback deploy
expect_rc 0 "a second rollback exits 0"
is "... and changes nothing" "$_sum" "$(sum_of "$KR")"
authorize_keys "$T/old.pub"
is "after the rollback ssh logs in with the old key" "$FP0" "$(login_fp)"

# ---------------------------------------------------------------- retire

kctl key rotate deploy --grace 2h
expect_rc 0 "rotate deploy again"
FP2=$(fp_key deploy)
OLDNAME=$(retiring_name)
pub_to deploy "$T/new2.pub"
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service
is "after kill -9 of agentd during the grace, the restarted agent lists the new key, then the old" "$FP2 $FP0 " "$(agent_order | awk -v f="$FP2" '$0 == f { on = 1 } on' | head -n 2 | tr '\n' ' ')"

kctl key retire deploy
expect_rc 0 "key retire deploy exits 0"
is "the replaced key is retired" "retired" "$(state_of "$OLDNAME")"
check "the retired key is gone from ssh-add -l" lacks_fp "$FP0"
pub_to other "$T/other.pub"
run_py paramiko_agent.py keys --agentd "$T/other.pub" "$T/new2.pub"
authorize_keys "$T/old.pub"
is "the retired key no longer logs in" "" "$(login_fp)"
authorize_keys "$T/new2.pub"
is "the new key logs in" "$FP2" "$(login_fp)"
kctl key show "$OLDNAME" --json
expect_rc 0 "key show of the retired key still works (history)"
is "... and shows its public key" "$FP0" "$(util field "$T/out" fingerprint)"
_sum=$(sum_of "$KR")
kctl key retire deploy
expect_rc 0 "a second key retire deploy exits 0"
is "... and changes nothing" "$_sum" "$(sum_of "$KR")"
kctl key retire "$OLDNAME"
expect_rc 0 "key retire of the already retired key by name exits 0"
kctl key rotate --rollback deploy
expect_rc 0 "rollback after retire: nothing in a grace, exits 0"
is "... and deploy stays the new key" "$FP2" "$(fp_key deploy)"
# Saving keeps the replaced file as keyring.bak: a retirement rewrites that one too, so that the
# private key it wiped is not left behind there.
setsid -w timeout -k 2 60 "$SSHXCTL" --keyring "$KR.bak" --passphrase-file "$T/pass" key list --json \
	</dev/null >"$T/bak.json" 2>"$T/bak.err"
is "the keyring's backup shows the retired key as retired too (no private key left there)" \
	"$OLDNAME $FP0 256 retired" "$(util list "$T/bak.json" | grep "^$OLDNAME ")"

# Never the last active key of a name.
_sum=$(sum_of "$KR")
kctl key retire other
expect_rc 1 "key retire of a key that was never rotated is refused (exit 1)"
check "... saying it would leave no key of that name" grep -q "would leave no" "$T/err"
is "... and leaves the keyring as it was" "$_sum" "$(sum_of "$KR")"
kctl key retire "$FP_OTHER"
expect_rc 1 "key retire by the fingerprint of an active key without a rotation is refused too"

# ---------------------------------------------------------------- the grace ends by itself

kctl key rotate deploy --grace 3s
expect_rc 0 "rotate with --grace 3s"
FP3=$(fp_key deploy)
OLDNAME=$(retiring_name)
check "during the 3 s grace the old key is served" has_fp "$FP2"
if wait_until 150 lacks_fp "$FP2" >/dev/null; then
	ok "at the end of the grace agentd stops serving the old key with no command run"
else
	fail "at the end of the grace agentd stops serving the old key with no command run" \
		"still listed after 15 s: $(agent_order)"
fi
check "... and still serves the new key" has_fp "$FP3"
is "key list shows the old key as expired" "expired" "$(state_of "$OLDNAME")"
kctl key rotate --rollback deploy
expect_rc 1 "rollback after the grace ended is refused (exit 1)"
check "... saying the grace ended" grep -q "grace of" "$T/err"
kctl key retire deploy
expect_rc 0 "key retire after the grace ended exits 0"
is "... and retires the expired key for good" "retired" "$(state_of "$OLDNAME")"

# ---------------------------------------------------------------- kill -9 during a step

# A rotation or retirement killed at any moment leaves the keyring readable with exactly one
# active "deploy"; running the command again completes it.
consistent() {
	_e=$(entries) || return 1
	[ "$(printf '%s\n' "$_e" | awk '$1 == "deploy" && $4 == "active"' | wc -l)" -eq 1 ] || return 1
	[ "$(printf '%s\n' "$_e" | awk '$1 ~ /^deploy@/ && $4 == "retiring"' | wc -l)" -le 1 ]
}
bad=0
i=0
while [ "$i" -lt 8 ]; do
	i=$((i + 1))
	for step in rotate retire; do
		if [ "$step" = rotate ]; then
			set -- key rotate deploy --grace 1h
		else
			set -- key retire deploy
		fi
		setsid "$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" "$@" </dev/null \
			>/dev/null 2>&1 &
		_p=$!
		sleep "0.$(( (i * 7 + ${#step}) % 10 ))$(( i % 10 ))"
		kill -9 "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
		if ! consistent; then
			bad=$((bad + 1))
			diag "after kill -9 of '$*' (round $i): $(entries 2>&1)"
		fi
		kctl "$@"
		if [ "$RC" -ne 0 ] || ! consistent; then
			bad=$((bad + 1))
			diag "rerun of '$*' (round $i): exit $RC: $(cat "$T/err")"
		fi
	done
done
is "16 rotate/retire commands killed with SIGKILL at different moments: the keyring stays consistent and a rerun completes each" "0" "$bad"
is "after the last retire no key is retiring" "" "$(retiring_name)"
FPN=$(fp_key deploy)
is "agentd serves the last rotated key" "1" "$(agent_order | grep -c "$FPN")"
pub_to deploy "$T/last.pub"
authorize_keys "$T/last.pub"
is "... and it logs in" "$FPN" "$(login_fp)"

# ---------------------------------------------------------------- refusals

_sum=$(sum_of "$KR")
kctl key rotate nosuchkey
expect_rc 1 "rotate of a missing key exits 1"
kctl key rotate deploy --grace soon
expect_rc 2 "rotate --grace soon is a usage error"
kctl key rotate --rollback deploy --type rsa
expect_rc 2 "rollback with --type is a usage error"
kctl key rotate deploy --bits 4096
expect_rc 2 "--bits for an ed25519 key without --type rsa is a usage error"
mkdir -p "$T/open"
chmod 777 "$T/open"
kctl key rotate deploy --authorized-keys "$T/open/ak"
check "--authorized-keys in a world-writable directory is refused (exit $RC)" [ "$RC" -ne 0 ]
check "... naming the option" grep -q "authorized-keys" "$T/err"
kctl key generate --name a234567890123456789012345678901234567890123456789012
expect_rc 0 "a key with a 52-character name"
_sum=$(sum_of "$KR")
kctl key rotate a234567890123456789012345678901234567890123456789012
expect_rc 2 "... cannot be rotated (no room for @DATE), exit 2"
is "every refused rotation left the keyring as it was" "$_sum" "$(sum_of "$KR")"

# ---------------------------------------------------------------- audit

"$SSHXCTL" --db "$DB" log --json >"$T/log.json" 2>"$T/log.err"
for a in key.generate key.rotate key.rollback key.retire; do
	check "sshxctl log has $a rows" grep -q "\"action\":\"$a\"" "$T/log.json"
done
check "the first rotate row names the new key's fingerprint" grep -q "\"fingerprint\":\"$FP1\"" "$T/log.json"

done_testing

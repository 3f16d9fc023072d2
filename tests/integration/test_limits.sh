#!/bin/sh
# Resource limits, each handled or refused with a clear log line and never a crash: 10,000
# identities (and one more refused), 1,000 connections at once, a frame of exactly 256 KiB and
# one byte more, and a keyring of SSHX_LIMITS_KEYRING_KEYS (5,000) keys served by agentd and
# listed by sshxctl. A list reply holds at most 2,048 keys, as many as OpenSSH's clients accept
# (ssh-add -l fails outright on a longer one); the others still sign when asked by key.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"
: "${KEYRING_FILL:?KEYRING_FILL must name the keyring-fill helper}"

setup_tmpdir
isolate_home

# Checks that the agent's log has a line matching ERE: logged DESC ERE.
logged() {
	if grep -Eq "$2" "$T/agent.log"; then
		ok "$1"
	else
		fail "$1" "expected a line matching /$2/ in the agent's log, got (last lines):" \
			"$(tail -n 5 "$T/agent.log")"
	fi
}

start_agent
run_py limits.py identities "$SOCK" "$AGENT_PID"
logged "... the refused add is logged with the limit" 'add refused: the agent already holds 10000 identities'
logged "... the cut listing is logged, with the reason" \
	'identity list truncated to 2048 of 10000 keys: OpenSSH clients refuse a list of more than 2048'
is "... once, though the list was asked for twice" 1 \
	"$(grep -c 'identity list truncated to 2048 of 10000' "$T/agent.log")"
logged "... a list cut by size is logged, with the reason" \
	'identity list truncated to [0-9]+ of 200 keys: the reply would exceed 262144 bytes'
run_py limits.py conns "$SOCK" "$AGENT_PID"
run_py limits.py frames "$SOCK" "$AGENT_PID"
logged "... the oversized frame is logged" 'frame of 262145 bytes is over the 262144-byte limit'
check "agentd survived all of it" pid_alive "$AGENT_PID"
stop_agent

# A keyring of many keys.
NKR=${SSHX_LIMITS_KEYRING_KEYS:-5000}
mkdir -m 700 "$T/kr"
pass_file "$T/pass" 'limits passphrase'
t0=$(now_ms)
"$KEYRING_FILL" "$T/kr/keyring" "$T/pass" "$NKR" 2>"$T/fill.err" ||
	bail "keyring-fill $NKR" "$(cat "$T/fill.err")"
diag "keyring of $NKR keys written in $(($(now_ms) - t0)) ms: $(stat -c %s "$T/kr/keyring") bytes"
t0=$(now_ms)
"$SSHXCTL" --keyring "$T/kr/keyring" --passphrase-file "$T/pass" key list >"$T/list" 2>"$T/list.err"
is "sshxctl key list reads the $NKR-key keyring (exit status, $(($(now_ms) - t0)) ms)" 0 "$?"
is "... and lists $NKR keys" "$NKR" "$(wc -l <"$T/list" | tr -d ' ')"
: >"$T/agent.log"
t0=$(now_ms)
# Loading thousands of keys takes seconds; allow for a loaded CI machine.
AGENT_START_WAIT=120
start_agent_with --keyring "$T/kr/keyring" --passphrase-file "$T/pass" --no-secret-service
diag "agentd answered $(($(now_ms) - t0)) ms after its start with the $NKR-key keyring"
# ssh-add -l accepts at most 2,048 keys; the agent lists that many when it holds more.
[ "$NKR" -gt 2048 ] && nlist=2048 || nlist=$NKR
n=$(ssh-add -l 2>"$T/add.err" | wc -l)
is "agentd serves the $NKR-key keyring: ssh-add -l lists $nlist keys" "$nlist" "$n"
if [ "$NKR" -gt 2048 ]; then
	logged "... and logs why the list is cut" \
		"identity list truncated to 2048 of $NKR keys: OpenSSH clients refuse"
fi
"$SSHXCTL" --keyring "$T/kr/keyring" --passphrase-file "$T/pass" key export-public fill-1 >"$T/first.pub"
printf 'limits\n' >"$T/msg"
check "the first key signs through the agent (ssh-keygen -Y sign)" \
	ssh-keygen -Y sign -q -n file -f "$T/first.pub" "$T/msg"
"$SSHXCTL" --keyring "$T/kr/keyring" --passphrase-file "$T/pass" key export-public "fill-$NKR" >"$T/last.pub"
if [ "$NKR" -gt 2048 ]; then
	run_py limits.py signpub "$SOCK" "$AGENT_PID" "$T/last.pub"
else
	check "the last key signs through the agent (ssh-keygen -Y sign)" \
		ssh-keygen -Y sign -q -n file -f "$T/last.pub" "$T/msg"
fi
check "agentd is still running" pid_alive "$AGENT_PID"

done_testing

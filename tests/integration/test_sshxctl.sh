#!/bin/sh
# sshxctl's skeleton: usage from the dispatch table, --version, exit codes,
# and "agent status" against agentd, a locked agentd, no agent and ssh-agent.
. "$SSHX_TESTDIR/lib.sh"

: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"
setup_tmpdir
gen_keys ed25519

out=$("$SSHXCTL" --version)
case $out in
"sshxctl (sshx) "[0-9]*) ok "--version prints the package version" ;;
*) fail "--version prints the package version" "got: $out" ;;
esac
if "$SSHXCTL" --help | grep -q "agent status"; then
	ok "--help lists the commands from the dispatch table"
else
	fail "--help lists the commands from the dispatch table" "got: $("$SSHXCTL" --help)"
fi
"$SSHXCTL" frobnicate >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "^sshxctl: frobnicate: unknown command" "$T/err"; then
	ok "an unknown command exits 2 with 'sshxctl: <what>: <why>'"
else
	fail "an unknown command exits 2 with 'sshxctl: <what>: <why>'" "got exit $rc: $(cat "$T/err")"
fi
"$SSHXCTL" agent frobnicate >/dev/null 2>"$T/err"
is "an unknown subcommand exits 2" 2 "$?"
"$SSHXCTL" agent status extra >/dev/null 2>"$T/err"
is "an unexpected argument exits 2" 2 "$?"
if "$SSHXCTL" agent status --help | grep -q "usage: sshxctl agent status"; then
	ok "--help after a command explains it"
else
	fail "--help after a command explains it" "got: $("$SSHXCTL" agent status --help)"
fi

# A keyring that does not exist: "not found", and nothing created in its place.
"$SSHXCTL" --keyring "$T/none/keyring" key list >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "no keyring at $T/none/keyring" "$T/err" && [ ! -e "$T/none" ]; then
	ok "key list on a missing keyring exits 1, says so, and creates nothing"
else
	fail "key list on a missing keyring exits 1, says so, and creates nothing" "got exit $rc: $(cat "$T/err")"
fi

# No agent at all.
env -u SSH_AUTH_SOCK "$SSHXCTL" agent status >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "SSH_AUTH_SOCK is not set" "$T/err"; then
	ok "agent status without SSH_AUTH_SOCK or -a is a usage error"
else
	fail "agent status without SSH_AUTH_SOCK or -a is a usage error" "got exit $rc: $(cat "$T/err")"
fi
"$SSHXCTL" -a "$T/none.sock" agent status >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "no agent answers at $T/none.sock" "$T/err"; then
	ok "agent status exits 1 and says so when no agent answers"
else
	fail "agent status exits 1 and says so when no agent answers" "got exit $rc: $(cat "$T/err")"
fi

start_agent
ssh-add "$T/keys/ed25519" >/dev/null 2>&1
out=$("$SSHXCTL" agent status)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q "^identities: 1$" &&
	printf '%s\n' "$out" | grep -q "^locked: no$" &&
	printf '%s\n' "$out" | grep -q "^agent: running at $SOCK (agentd "; then
	ok "agent status reports a running agentd, its key count and that it is unlocked"
else
	fail "agent status reports a running agentd, its key count and that it is unlocked" \
		"got exit $rc: $out"
fi
out=$("$SSHXCTL" agent status -a "$SOCK" --json)
json_ok=$(printf '%s' "$out" | "$PYTHON_PARAMIKO" -c '
import json, sys
d = json.load(sys.stdin)
print(d["running"] is True and d["sshx"] is True and d["identities"] == 1 and d["locked"] is False
      and d["socket"] == sys.argv[1] and isinstance(d["version"], str))' "$SOCK")
is "agent status --json (option after the command) gives the documented shape" True "$json_ok"
printf 'pw\n' >"$T/pass"
cat >"$T/askpass" <<EOS
#!/bin/sh
cat "$T/pass"
EOS
chmod 755 "$T/askpass"
SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -x </dev/null >/dev/null 2>&1
out=$("$SSHXCTL" agent status)
if printf '%s\n' "$out" | grep -q "^locked: yes$" && printf '%s\n' "$out" | grep -q "^identities: 0$"; then
	ok "agent status shows a locked agent as locked, listing no keys (they are sealed)"
else
	fail "agent status shows a locked agent as locked, listing no keys (they are sealed)" "got: $out"
fi
SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -X </dev/null >/dev/null 2>&1

# agent lock / unlock / reload, passphrases from 0600 files.
printf 'lock words\n' >"$T/lockpw"
printf 'not them\n' >"$T/wrongpw"
chmod 600 "$T/lockpw" "$T/wrongpw"
check "agent lock locks with a passphrase file" "$SSHXCTL" agent lock --passphrase-file "$T/lockpw"
if "$SSHXCTL" agent status | grep -q "^locked: yes$" && ! ssh-add -l >/dev/null 2>&1; then
	ok "after agent lock the agent is locked and lists nothing"
else
	fail "after agent lock the agent is locked and lists nothing" "got: $("$SSHXCTL" agent status)"
fi
"$SSHXCTL" agent unlock --passphrase-file "$T/wrongpw" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "stays locked" "$T/err"; then
	ok "agent unlock with a wrong passphrase exits 1 and says the agent stays locked"
else
	fail "agent unlock with a wrong passphrase exits 1 and says the agent stays locked" "got exit $rc: $(cat "$T/err")"
fi
check "agent unlock with the right passphrase unlocks" "$SSHXCTL" agent unlock --passphrase-file "$T/lockpw"
is "after agent unlock the key is listed again" 1 "$(ssh-add -l 2>/dev/null | grep -c ED25519)"
chmod 644 "$T/lockpw"
"$SSHXCTL" agent lock --passphrase-file "$T/lockpw" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "chmod 600" "$T/err" && ! grep -q "lock words" "$T/err"; then
	ok "a group/world-readable passphrase file is refused with how to fix it, and not echoed"
else
	fail "a group/world-readable passphrase file is refused with how to fix it, and not echoed" "got exit $rc: $(cat "$T/err")"
fi
"$SSHXCTL" agent reload >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ] && grep -q "did not reload" "$T/err"; then
	ok "agent reload without a keyring exits 1 and says why"
else
	fail "agent reload without a keyring exits 1 and says why" "got exit $rc: $(cat "$T/err")"
fi
stop_agent

# OpenSSH's agent does not know status@sshx: sshxctl still answers what it can.
rm -f "$T/o.sock"
"$SSH_AGENT_BIN" -D -a "$T/o.sock" >/dev/null 2>&1 &
opid=$!
_pids="$_pids $opid"
_w=0
while [ ! -S "$T/o.sock" ] && [ "$_w" -lt 50 ]; do sleep 0.1; _w=$((_w + 1)); done
out=$("$SSHXCTL" -a "$T/o.sock" agent status)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q "not agentd" &&
	printf '%s\n' "$out" | grep -q "^locked: unknown$"; then
	ok "agent status against OpenSSH's ssh-agent says it is not agentd"
else
	fail "agent status against OpenSSH's ssh-agent says it is not agentd" "got exit $rc: $out"
fi
stop_pid "$opid"

done_testing

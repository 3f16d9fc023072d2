#!/bin/sh
# The keyring passphrase in a real Secret Service: gnome-keyring on a private D-Bus session
# (dbus-run-session), used by sshxctl keyring remember/forget/status, sshxctl key commands and
# agentd's start; and agentd's start with no bus at all and on a bus without a Secret Service.
#
# The session part runs as a script inside dbus-run-session; it prints "ok - ..." lines that
# this script numbers.  HOME, XDG_* and XDG_RUNTIME_DIR point into the temp dir, so gnome-keyring
# creates its login keyring there and the user's own is never touched.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home

for _tool in dbus-run-session dbus-daemon gnome-keyring-daemon gdbus setsid; do
	command -v "$_tool" >/dev/null 2>&1 ||
		bail "$_tool is installed" "expected $_tool on PATH (packages dbus, gnome-keyring, libglib2.0-bin)"
done

KR=$T/kr/keyring
PASSPHRASE='secret-service keyring passphrase'
pass_file "$T/pass" "$PASSPHRASE"
pass_file "$T/wrong" 'not the keyring passphrase'
pass_file "$T/pass2" 'a second keyring passphrase'
# gnome-keyring's login password (what PAM would hand it at login).
printf '%s' 'login password' >"$T/login-password"

"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" keyring init --kdf-memory 8 --kdf-time 1 \
	</dev/null >"$T/init.out" 2>&1 || bail "keyring init" "sshxctl failed: $(cat "$T/init.out")"
mkdir -p "$T/gen"
for spec in s-ed25519:ed25519 s-p256:ecdsa-p256; do
	"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" key generate --name "${spec%%:*}" \
		--type "${spec#*:}" </dev/null >"$T/gen/${spec%%:*}.pub" 2>"$T/gen.err" ||
		bail "key generate ${spec#*:}" "sshxctl failed: $(cat "$T/gen.err")"
	fp_of "$T/gen/${spec%%:*}.pub"
done | sort >"$T/expected.fps"
printf 's-ed25519\ns-p256\n' >"$T/expected.names"

# ---------------------------------------------------------------- inside a private session bus

cat >"$T/inner.sh" <<'EOF'
#!/bin/sh
# Runs inside dbus-run-session: every point is printed as "ok - DESC" / "not ok - DESC".
. "$SSHX_TESTDIR/lib.sh"
T=$SX_T
SOCK=$T/agent.sock
KR=$SX_KR
UTIL=$SSHX_TESTDIR/keyring_util.py

ok() {
	printf 'ok - %s\n' "$1"
}
fail_nolog() {
	printf 'not ok - %s\n' "$1"
	shift
	diag "$@"
}
bail() {
	fail "$@"
	exit 1
}
_inner_cleanup() {
	_rc=$?
	trap - EXIT
	for _p in $_pids; do
		stop_pid "$_p"
	done
	exit "$_rc"
}
trap _inner_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Runs sshxctl on the keyring with no terminal and no passphrase file unless given, recording
# $RC, $T/out and $T/err: run_ctl ARGS...
run_ctl() {
	setsid -w timeout -k 2 30 "$SSHXCTL" --keyring "$KR" "$@" </dev/null >"$T/out" 2>"$T/err"
	RC=$?
}
remembered() {
	run_ctl keyring status --json
	"$PYTHON_PARAMIKO" "$UTIL" field "$T/out" remembered 2>&1
}
agent_has() {
	agent_fps | grep -qx "$1"
}

[ -n "$DBUS_SESSION_BUS_ADDRESS" ] || bail "dbus-run-session sets DBUS_SESSION_BUS_ADDRESS" "it is empty"
gnome-keyring-daemon --foreground --unlock --components=secrets <"$T/login-password" \
	>>"$T/gnome-keyring.log" 2>&1 &
GKR_PID=$!
_pids="$_pids $GKR_PID"
gdbus wait --session --timeout 10 org.freedesktop.secrets >"$T/wait.out" 2>&1 ||
	bail "gnome-keyring owns org.freedesktop.secrets" "gdbus wait: $(cat "$T/wait.out")" \
		"$(cat "$T/gnome-keyring.log")"

is "keyring status --json: not remembered before keyring remember" false "$(remembered)"
run_ctl --passphrase-file "$T/wrong" keyring remember
if [ "$RC" -eq 2 ] && grep -qi passphrase "$T/err" && [ "$(remembered)" = false ]; then
	ok "keyring remember with a passphrase that does not open the keyring: exit 2, nothing stored"
else
	fail "keyring remember with a passphrase that does not open the keyring: exit 2, nothing stored" \
		"got exit $RC: $(cat "$T/err"); remembered: $(remembered)"
fi
run_ctl --passphrase-file "$T/pass" keyring remember
is "keyring remember --passphrase-file exits 0" 0 "$RC"
is "keyring status --json: remembered true" true "$(remembered)"

: >"$T/agent.log"
start_agent_with --keyring "$KR"
is "agentd without --passphrase-file starts unlocked: ssh-add -l lists the keys" \
	"$(cat "$T/expected.fps")" "$(agent_fps)"
if grep -q "unlocked with the passphrase from the Secret Service" "$T/agent.log"; then
	ok "agentd's log says the Secret Service unlocked the keyring"
else
	fail "agentd's log says the Secret Service unlocked the keyring" "expected it in the log"
fi

run_ctl key list --json
is "key list without --passphrase-file gets the passphrase from the Secret Service" \
	"0 $(cat "$T/expected.names")" "$RC $("$PYTHON_PARAMIKO" "$UTIL" names "$T/out" 2>&1)"
run_ctl key generate --name s-new
cp "$T/out" "$T/gen/s-new.pub"
fpn=$(fp_of "$T/gen/s-new.pub" 2>/dev/null)
if [ "$RC" -eq 0 ] && wait_until 20 agent_has "$fpn" >/dev/null; then
	ok "key generate without --passphrase-file works and the agent serves the new key"
else
	fail "key generate without --passphrase-file works and the agent serves the new key" \
		"got exit $RC: $(cat "$T/err"); list: $(agent_fps)"
fi
run_ctl key remove s-new
is "key remove without --passphrase-file works" 0 "$RC"
stop_agent

# The Secret Service comes before the passphrase file.
: >"$T/agent.log"
start_agent_with --keyring "$KR" --passphrase-file "$T/wrong"
if [ "$(agent_fps)" = "$(cat "$T/expected.fps")" ] &&
	grep -q "unlocked with the passphrase from the Secret Service" "$T/agent.log"; then
	ok "agentd asks the Secret Service before reading --passphrase-file"
else
	fail "agentd asks the Secret Service before reading --passphrase-file" "list: $(agent_fps)"
fi
stop_agent

: >"$T/agent.log"
start_agent_with --keyring "$KR" --no-secret-service
if [ "$(ssh-add -l 2>&1)" = "The agent has no identities." ] &&
	! grep -q "Secret Service" "$T/agent.log"; then
	ok "--no-secret-service: agentd starts locked without asking the Secret Service"
else
	fail "--no-secret-service: agentd starts locked without asking the Secret Service" \
		"list: $(ssh-add -l 2>&1)"
fi
stop_agent

# keyring passwd keeps the remembered passphrase in step, so agentd still starts unlocked.
run_ctl --passphrase-file "$T/pass" keyring passwd --new-passphrase-file "$T/pass2"
is "keyring passwd with a remembered passphrase exits 0" 0 "$RC"
: >"$T/agent.log"
start_agent_with --keyring "$KR"
is "after keyring passwd agentd still starts unlocked from the Secret Service" \
	"$(cat "$T/expected.fps")" "$(agent_fps)"
stop_agent
run_ctl --passphrase-file "$T/pass2" keyring passwd --new-passphrase-file "$T/pass"
run_ctl key list
is "after changing it back, key list without --passphrase-file still works" 0 "$RC"

run_ctl keyring forget
is "keyring forget exits 0" 0 "$RC"
is "keyring status --json: remembered false after forget" false "$(remembered)"
: >"$T/agent.log"
start_agent_with --keyring "$KR"
is "after forget agentd starts locked: ssh-add -l lists nothing" \
	"The agent has no identities." "$(ssh-add -l 2>&1)"
if grep -q "the Secret Service holds no passphrase" "$T/agent.log" &&
	grep -q "keyring $KR is locked" "$T/agent.log"; then
	ok "agentd's log says the Secret Service holds no passphrase and the keyring is locked"
else
	fail "agentd's log says the Secret Service holds no passphrase and the keyring is locked" \
		"expected both lines in the log"
fi
askpass_run "$T/pass" ssh-add -X >/dev/null 2>&1
is "ssh-add -X with the keyring passphrase then lists the keys" "$(cat "$T/expected.fps")" \
	"$(agent_fps)"
stop_agent

run_ctl keyring forget
if [ "$RC" -eq 1 ] && grep -q "holds no passphrase" "$T/err"; then
	ok "keyring forget with nothing stored exits 1 and says so"
else
	fail "keyring forget with nothing stored exits 1 and says so" "got exit $RC: $(cat "$T/err")"
fi
t0=$(now_ms)
run_ctl key list
ms=$(($(now_ms) - t0))
if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && grep -q -- "--passphrase-file" "$T/err" &&
	[ "$ms" -lt 10000 ]; then
	ok "with nothing remembered and no terminal, key list fails mentioning --passphrase-file"
else
	fail "with nothing remembered and no terminal, key list fails mentioning --passphrase-file" \
		"got exit $RC after $ms ms: $(cat "$T/err")"
fi
exit 0
EOF

SX_T=$T
SX_KR=$KR
export SX_T SX_KR AGENTD SSHXCTL SSHX_TESTDIR PYTHON_PARAMIKO
timeout -k 5 100 dbus-run-session -- sh "$T/inner.sh" >"$T/inner.out" 2>&1
rc=$?
relay_points "$T/inner.out"
if [ "$rc" -ne 0 ]; then
	fail "the session part ran to completion" "expected exit 0 from dbus-run-session, got $rc (124 = timed out)" \
		"gnome-keyring's log:" "$(cat "$T/gnome-keyring.log" 2>/dev/null)"
fi
unset DBUS_SESSION_BUS_ADDRESS
SSH_AUTH_SOCK=$SOCK
export SSH_AUTH_SOCK

# ---------------------------------------------------------------- no D-Bus session at all

: >"$T/agent.log"
t0=$(now_ms)
start_agent_with --keyring "$KR"
ms=$(($(now_ms) - t0))
if [ "$ms" -lt 5000 ] && [ "$(ssh-add -l 2>&1)" = "The agent has no identities." ]; then
	ok "without a D-Bus session agentd starts locked at once ($ms ms)"
else
	fail "without a D-Bus session agentd starts locked at once" "took $ms ms; list: $(ssh-add -l 2>&1)"
fi
if grep -q "Secret Service unavailable (no D-Bus session" "$T/agent.log"; then
	ok "its log says the Secret Service is unavailable: no D-Bus session"
else
	fail "its log says the Secret Service is unavailable: no D-Bus session" "expected it in the log"
fi
sleep 1
ssh-add -l >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 1 ] && pid_alive "$AGENT_PID"; then
	ok "a second later the agent still runs and answers ssh-add -l"
else
	fail "a second later the agent still runs and answers ssh-add -l" "ssh-add -l exited $rc"
fi
stop_agent

# ---------------------------------------------------------------- a bus without a Secret Service

cat >"$T/bare-bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$T</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$T/bare-bus.conf" --nofork --print-address >"$T/bus.addr" 2>"$T/bus.log" &
BUS_PID=$!
_pids="$_pids $BUS_PID"
_i=0
while [ "$_i" -lt 100 ] && [ -z "$(head -n 1 "$T/bus.addr")" ]; do
	pid_alive "$BUS_PID" || break
	sleep 0.1
	_i=$((_i + 1))
done
DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$T/bus.addr")
[ -n "$DBUS_SESSION_BUS_ADDRESS" ] || bail "a bare dbus-daemon starts" "no address; log: $(cat "$T/bus.log")"
export DBUS_SESSION_BUS_ADDRESS

: >"$T/agent.log"
t0=$(now_ms)
start_agent_with --keyring "$KR"
ms=$(($(now_ms) - t0))
if [ "$ms" -lt 5000 ] && [ "$(ssh-add -l 2>&1)" = "The agent has no identities." ]; then
	ok "on a bus without a Secret Service agentd starts locked promptly ($ms ms)"
else
	fail "on a bus without a Secret Service agentd starts locked promptly" "took $ms ms; list: $(ssh-add -l 2>&1)"
fi
if grep -q "Secret Service unavailable (no Secret Service" "$T/agent.log"; then
	ok "its log says there is no Secret Service"
else
	fail "its log says there is no Secret Service" "expected it in the log"
fi
sleep 1
ssh-add -l >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 1 ] && pid_alive "$AGENT_PID"; then
	ok "a second later that agent still runs and answers ssh-add -l"
else
	fail "a second later that agent still runs and answers ssh-add -l" "ssh-add -l exited $rc"
fi
askpass_run "$T/pass" ssh-add -X >/dev/null 2>&1
is "ssh-add -X still unlocks it" "$(cat "$T/expected.fps")" "$(agent_fps)"
stop_agent
stop_pid "$BUS_PID"
unset DBUS_SESSION_BUS_ADDRESS

done_testing

#!/bin/sh
# The systemd user units and the environment.d snippet: systemd-analyze finds nothing wrong in
# them, agentd started the way agentd.service starts it serves real ssh-add and ssh-keygen on the
# socket agentd.socket opens, and the snippet points SSH_AUTH_SOCK at that socket.
. "$SSHX_TESTDIR/lib.sh"

SRC=$SSHX_TESTDIR/../..
SOCKET_UNIT=$SRC/contrib/systemd/agentd.socket
SERVICE_IN=$SRC/contrib/systemd/agentd.service.in
ENV_SNIPPET=$SRC/contrib/environment.d/50-sshx.conf

setup_tmpdir
isolate_home
gen_keys ed25519

# The service as make installs it, but naming the agentd under test: make substitutes the
# installed bindir for @bindir@ the same way.
mkdir -p "$T/units"
cp "$SOCKET_UNIT" "$T/units/agentd.socket"
sed -e "s|@bindir@|$(dirname "$AGENTD")|g" "$SERVICE_IN" >"$T/units/agentd.service"

# Prints the value of KEY= in a unit file (the last one wins, as in systemd): unit_value FILE KEY.
unit_value() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# Replaces the specifiers the units use by this test's values: expand STRING.
expand() {
	printf '%s\n' "$1" | sed -e "s|%t|$XDG_RUNTIME_DIR|g" -e "s|%h|$HOME|g"
}

# ---- (a) systemd-analyze verify, offline, as the user's manager would load the units
if ! command -v systemd-analyze >/dev/null 2>&1; then
	fail_nolog "systemd-analyze verify passes the units" "expected systemd-analyze on PATH (Debian's systemd package)"
else
	(cd "$T/units" && systemd-analyze verify --user --man=no \
		"$T/units/agentd.socket" "$T/units/agentd.service") >"$T/verify.out" 2>&1
	rc=$?
	# Any line about our units is a warning or an error; other units' noise is not ours.
	if [ "$rc" -eq 0 ] && ! grep -q 'agentd\.\(socket\|service\)' "$T/verify.out"; then
		ok "systemd-analyze verify finds nothing wrong in agentd.socket and agentd.service"
	else
		fail_nolog "systemd-analyze verify finds nothing wrong in agentd.socket and agentd.service" \
			"expected exit 0 and no line about the units, got exit $rc:" "$(cat "$T/verify.out")"
	fi
	# A misspelt key must show up, or the check above proves nothing.
	sed 's/^LockPersonality=/LockPersonalty=/' "$T/units/agentd.service" >"$T/units/broken.service"
	(cd "$T/units" && systemd-analyze verify --user --man=no "$T/units/broken.service") \
		>"$T/verify-broken.out" 2>&1
	if grep -q "broken.service.*LockPersonalty" "$T/verify-broken.out"; then
		ok "systemd-analyze verify reports a misspelt key (the check can fail)"
	else
		fail_nolog "systemd-analyze verify reports a misspelt key (the check can fail)" \
			"expected a line naming LockPersonalty, got:" "$(cat "$T/verify-broken.out")"
	fi
fi

# ---- the units' settings that the rest of the test relies on
listen=$(unit_value "$T/units/agentd.socket" ListenStream)
is "agentd.socket listens on %t/sshx/agent.sock" "%t/sshx/agent.sock" "$listen"
is "agentd.socket makes the socket directory 0700" "0700" "$(unit_value "$T/units/agentd.socket" DirectoryMode)"
is "agentd.socket makes the socket 0600" "0600" "$(unit_value "$T/units/agentd.socket" SocketMode)"
# A user manager cannot raise RLIMIT_MEMLOCK's hard limit: a LimitMEMLOCK above it would stop
# the service from starting. agentd uses the limit it gets and warns when it cannot lock.
is "agentd.service leaves RLIMIT_MEMLOCK to the user manager (no LimitMEMLOCK)" "" \
	"$(unit_value "$T/units/agentd.service" LimitMEMLOCK)"
is "agentd.service disables core dumps (LimitCORE=0)" "0" "$(unit_value "$T/units/agentd.service" LimitCORE)"

# ---- (b) socket activation exactly as agentd.service runs agentd
exec_start=$(expand "$(unit_value "$T/units/agentd.service" ExecStart)")
sock=$(expand "$listen")
case $exec_start in
"$AGENTD "*) ok "ExecStart runs the agentd of the bindir: $exec_start" ;;
*) fail_nolog "ExecStart runs the agentd of the bindir" "expected '$AGENTD ...', got '$exec_start'" ;;
esac
if ! command -v systemd-socket-activate >/dev/null 2>&1; then
	bail "socket activation" "expected systemd-socket-activate on PATH (Debian's systemd package)"
fi
# What DirectoryMode=0700 and SocketMode=0600 ask of the manager.
install -d -m 700 "$(dirname "$sock")"
# The user manager hands its environment to the service; systemd-socket-activate passes only
# what -E names.
# shellcheck disable=SC2086
(umask 077 && exec systemd-socket-activate -l "$sock" -E HOME -E XDG_RUNTIME_DIR \
	-E XDG_CONFIG_HOME -E XDG_DATA_HOME $exec_start) >"$T/agent.log" 2>&1 &
act_pid=$!
_pids="$_pids $act_pid"
wait_until 100 test -S "$sock" >/dev/null ||
	bail "systemd-socket-activate listens" "expected $sock to appear within 10 s"
comm=$(cat "/proc/$act_pid/comm")
case $comm in
systemd-socket*) ok "nothing runs agentd before the first connection" ;;
*) fail "nothing runs agentd before the first connection" "expected systemd-socket-activate, got '$comm'" ;;
esac

SSH_AUTH_SOCK=$sock
export SSH_AUTH_SOCK
out=$(ssh-add -l 2>&1)
rc=$?
is "the first connection starts agentd, which answers ssh-add -l: no identities (exit 1)" \
	"1 The agent has no identities." "$rc $out"
is "the activated process is agentd" "agentd" "$(cat "/proc/$act_pid/comm" 2>/dev/null)"
check "ssh-add loads an ed25519 key through the activated socket" ssh-add "$T/keys/ed25519"
out=$(ssh-add -l 2>&1)
case $out in
*"$(fp_of "$T/keys/ed25519.pub")"*"sshx-ed25519@test"*) ok "ssh-add -l lists the key" ;;
*) fail "ssh-add -l lists the key" "expected $(fp_of "$T/keys/ed25519.pub"), got:" "$out" ;;
esac
printf 'signed through the activated agent\n' >"$T/data"
check "ssh-keygen -Y sign signs with the agent's key (no private key file at hand)" \
	ssh-keygen -Y sign -n file -f "$T/pub/ed25519.pub" "$T/data"
# shellcheck disable=SC2016
check "the signature verifies" \
	sh -c 'ssh-keygen -Y check-novalidate -n file -s "$1.sig" <"$1"' sh "$T/data"
if grep -q "listening on the socket passed by systemd" "$T/agent.log"; then
	ok "agentd's log says it serves the socket passed by systemd"
else
	fail "agentd's log says it serves the socket passed by systemd" "expected the line in the log"
fi
stop_pid "$act_pid"
# agentd unlinks only the sockets it made itself; this one belongs to the manager.
if [ -S "$sock" ]; then
	ok "agentd leaves the activated socket to its owner when it exits"
else
	fail "agentd leaves the activated socket to its owner when it exits" "expected $sock to remain"
fi

# ---- (c) the environment.d snippet points at the socket agentd.socket listens on
env_line=$(grep '^SSH_AUTH_SOCK=' "$ENV_SNIPPET")
is "50-sshx.conf sets SSH_AUTH_SOCK once" 1 "$(grep -c '^SSH_AUTH_SOCK=' "$ENV_SNIPPET")"
# environment.d expands ${XDG_RUNTIME_DIR}; %t in a user unit is the same directory.
# shellcheck disable=SC2016
env_path=$(printf '%s\n' "${env_line#SSH_AUTH_SOCK=}" | sed 's|^\${XDG_RUNTIME_DIR}|%t|')
is "50-sshx.conf's SSH_AUTH_SOCK is the path agentd.socket listens on" "$listen" "$env_path"

done_testing

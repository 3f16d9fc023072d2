#!/bin/sh
# agentd's own command line and policies: sockets, daemonising, -k, socket
# activation, signals, SHA-1/DSA/small-RSA refusals, configuration, limits.
. "$SSHX_TESTDIR/lib.sh"

setup_tmpdir
# agentd's defaults (keyring, audit database) must land in the test's home, not the real one.
isolate_home
gen_keys ed25519 rsa3072 rsa1024 dsa

# Waits until $1 answers ssh-add -l (0 or 1), up to 10 s.
wait_socket() {
	_w=0
	while [ "$_w" -lt 100 ]; do
		SSH_AUTH_SOCK=$1 ssh-add -l >/dev/null 2>&1
		case $? in 0 | 1) return 0 ;; esac
		sleep 0.1
		_w=$((_w + 1))
	done
	return 1
}

# Waits until pid $1 has exited, up to 10 s.
wait_exit() {
	_w=0
	while pid_alive "$1" && [ "$_w" -lt 100 ]; do
		sleep 0.1
		_w=$((_w + 1))
	done
	! pid_alive "$1"
}

mode_of() {
	stat -c %a "$1"
}

# ---- version and usage
out=$("$AGENTD" --version 2>&1)
case $out in
"agentd (sshx) "[0-9]*) ok "--version prints the package version" ;;
*) fail "--version prints the package version" "expected 'agentd (sshx) N.N.N', got: $out" ;;
esac
"$AGENTD" --no-such-option >/dev/null 2>"$T/err"
rc=$?
is "an unknown option exits 2" 2 "$rc"
out=$("$AGENTD" --help 2>&1)
case $out in
*"--db PATH"*"--no-audit"*) ok "--help names --db and --no-audit" ;;
*) fail "--help names --db and --no-audit" "expected both options in:" "$out" ;;
esac

# ---- default socket under XDG_RUNTIME_DIR, modes, printed environment, SIGTERM cleanup
mkdir -m 700 "$T/rt"
XDG_RUNTIME_DIR=$T/rt "$AGENTD" -D >"$T/fg.out" 2>"$T/agent.log" &
pid=$!
_pids="$_pids $pid"
if wait_socket "$T/rt/sshx/agent.sock"; then
	ok "agentd -D listens on \$XDG_RUNTIME_DIR/sshx/agent.sock"
else
	fail "agentd -D listens on \$XDG_RUNTIME_DIR/sshx/agent.sock" "expected the socket to answer"
fi
is "the socket directory is 0700" 700 "$(mode_of "$T/rt/sshx")"
is "the socket is 0600" 600 "$(mode_of "$T/rt/sshx/agent.sock")"
if grep -q "^SSH_AUTH_SOCK=$T/rt/sshx/agent.sock; export SSH_AUTH_SOCK;" "$T/fg.out"; then
	ok "agentd -D prints the SSH_AUTH_SOCK line to export"
else
	fail "agentd -D prints the SSH_AUTH_SOCK line to export" "got: $(cat "$T/fg.out")"
fi
if grep -q "Max core file size *0 *0" "/proc/$pid/limits"; then
	ok "core dumps are disabled (RLIMIT_CORE 0)"
else
	fail "core dumps are disabled (RLIMIT_CORE 0)" "got: $(grep core "/proc/$pid/limits")"
fi
kill -TERM "$pid"
if wait_exit "$pid" && [ ! -e "$T/rt/sshx/agent.sock" ]; then
	ok "SIGTERM ends agentd and removes its socket"
else
	fail "SIGTERM ends agentd and removes its socket" "expected no process and no socket"
fi
stop_pid "$pid"

# ---- a directory with loose permissions is tightened; one owned by another user is refused
chmod 755 "$T/rt/sshx"
XDG_RUNTIME_DIR=$T/rt "$AGENTD" -D >/dev/null 2>>"$T/agent.log" &
pid=$!
_pids="$_pids $pid"
wait_socket "$T/rt/sshx/agent.sock"
is "a 0755 socket directory is set back to 0700" 700 "$(mode_of "$T/rt/sshx")"
kill -INT "$pid"
if wait_exit "$pid" && [ ! -e "$T/rt/sshx/agent.sock" ]; then
	ok "SIGINT ends agentd and removes its socket"
else
	fail "SIGINT ends agentd and removes its socket" "expected no process and no socket"
fi
stop_pid "$pid"
ensure_user "$OTHER_USER" -M
mkdir -m 700 "$T/rt2" "$T/rt2/sshx"
chown "$OTHER_USER" "$T/rt2/sshx"
XDG_RUNTIME_DIR=$T/rt2 timeout 10 "$AGENTD" -D >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "owned by uid" "$T/err"; then
	ok "a socket directory owned by another user is refused"
else
	fail "a socket directory owned by another user is refused" "got exit $rc: $(cat "$T/err")"
fi
mkdir -m 700 "$T/rt4"
ln -s "$T/rt" "$T/rt4/sshx"
XDG_RUNTIME_DIR=$T/rt4 timeout 10 "$AGENTD" -D >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "not a directory" "$T/err"; then
	ok "a symlink in place of the socket directory is refused"
else
	fail "a symlink in place of the socket directory is refused" "got exit $rc: $(cat "$T/err")"
fi

# ---- stale, live and foreign things at the socket path
"$PYTHON_PARAMIKO" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.close()' "$T/stale.sock"
"$AGENTD" -D -a "$T/stale.sock" >/dev/null 2>"$T/agent.log" &
pid=$!
_pids="$_pids $pid"
if wait_socket "$T/stale.sock" && grep -q "removing stale socket" "$T/agent.log"; then
	ok "a stale socket is detected and replaced"
else
	fail "a stale socket is detected and replaced" "expected the agent to answer and log it"
fi
timeout 10 "$AGENTD" -D -a "$T/stale.sock" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "already listening" "$T/err" && wait_socket "$T/stale.sock"; then
	ok "a second agent on a live socket refuses and leaves the first one serving"
else
	fail "a second agent on a live socket refuses and leaves the first one serving" \
		"got exit $rc: $(cat "$T/err")"
fi
stop_pid "$pid"
echo data >"$T/regular"
timeout 10 "$AGENTD" -D -a "$T/regular" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "not a socket" "$T/err" && [ "$(cat "$T/regular")" = data ]; then
	ok "a regular file at the socket path is refused and left alone"
else
	fail "a regular file at the socket path is refused and left alone" "got exit $rc: $(cat "$T/err")"
fi

# ---- daemonising with -s / -c, and -k
out=$(SHELL=/bin/sh "$AGENTD" -s -a "$T/d.sock" 2>"$T/err")
rc=$?
eval "$out" >/dev/null
dpid=$SSH_AGENT_PID
_pids="$_pids $dpid"
if [ "$rc" -eq 0 ] && [ "$SSH_AUTH_SOCK" = "$T/d.sock" ] && [ -n "$dpid" ] && pid_alive "$dpid" &&
	wait_socket "$T/d.sock"; then
	ok "eval \"\$(agentd -s)\" sets SSH_AUTH_SOCK and SSH_AGENT_PID of a running agent"
else
	fail "eval \"\$(agentd -s)\" sets SSH_AUTH_SOCK and SSH_AGENT_PID of a running agent" \
		"got exit $rc, output: $out $(cat "$T/err")"
fi
out=$(SSH_AGENT_PID=$dpid "$AGENTD" -k 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && wait_exit "$dpid" && [ ! -e "$T/d.sock" ] &&
	printf '%s\n' "$out" | grep -q "^unset SSH_AUTH_SOCK;"; then
	ok "agentd -k kills the agent named by SSH_AGENT_PID, which removes its socket"
else
	fail "agentd -k kills the agent named by SSH_AGENT_PID, which removes its socket" \
		"got exit $rc, output: $out"
fi
stop_pid "$dpid"
SSH_AGENT_PID= "$AGENTD" -k >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -ne 0 ] && grep -q "SSH_AGENT_PID is not set" "$T/err"; then
	ok "agentd -k without SSH_AGENT_PID says so and fails"
else
	fail "agentd -k without SSH_AGENT_PID says so and fails" "got exit $rc: $(cat "$T/err")"
fi
out=$("$AGENTD" -c -a "$T/c.sock" 2>/dev/null)
cpid=$(printf '%s\n' "$out" | sed -n 's/^setenv SSH_AGENT_PID \([0-9]*\);$/\1/p')
_pids="$_pids $cpid"
if printf '%s\n' "$out" | grep -q "^setenv SSH_AUTH_SOCK $T/c.sock;$" && [ -n "$cpid" ]; then
	ok "agentd -c prints C-shell setenv commands"
else
	fail "agentd -c prints C-shell setenv commands" "got: $out"
fi
stop_pid "$cpid"
SSH_AUTH_SOCK=$SOCK
export SSH_AUTH_SOCK

# ---- systemd socket activation
systemd-socket-activate -l "$T/act.sock" "$AGENTD" -D >/dev/null 2>"$T/agent.log" &
apid=$!
_pids="$_pids $apid"
_w=0
while [ ! -S "$T/act.sock" ] && [ "$_w" -lt 50 ]; do sleep 0.1; _w=$((_w + 1)); done
if SSH_AUTH_SOCK=$T/act.sock ssh-add "$T/keys/ed25519" >/dev/null 2>&1 &&
	SSH_AUTH_SOCK=$T/act.sock ssh-add -l 2>&1 | grep -q "sshx-ed25519@test"; then
	ok "agentd serves a socket passed by systemd (LISTEN_FDS)"
else
	fail "agentd serves a socket passed by systemd (LISTEN_FDS)" "$(cat "$T/agent.log")"
fi
stop_pid "$apid"

# ---- policy: weak keys and SHA-1 signatures refused, each with a reason in the log
: >"$T/agent.log"
start_agent
check_fails "a DSA key cannot be added" ssh-add "$T/keys/dsa"
if grep -q "DSA keys are weak" "$T/agent.log"; then
	ok "the DSA refusal is logged with its reason"
else
	fail "the DSA refusal is logged with its reason" "expected 'DSA keys are weak' in the log"
fi
check_fails "an RSA key under 2048 bits cannot be added" ssh-add "$T/keys/rsa1024"
if grep -q "has 1024 bits, under the minimum of 2048" "$T/agent.log"; then
	ok "the small-RSA refusal is logged with its reason"
else
	fail "the small-RSA refusal is logged with its reason" "expected the bit count in the log"
fi
check "an RSA 3072 key is added" ssh-add "$T/keys/rsa3072"
run_py policy.py "$SOCK" "$T/keys/rsa3072.pub" refuse
if grep -q 'refusing SHA-1 "ssh-rsa" signature' "$T/agent.log"; then
	ok "the SHA-1 refusal is logged with its reason"
else
	fail "the SHA-1 refusal is logged with its reason" "expected 'refusing SHA-1' in the log"
fi
stop_agent

: >"$T/agent.log"
rm -f "$SOCK"
"$AGENTD" -D --allow-sha1 -a "$SOCK" >/dev/null 2>>"$T/agent.log" &
AGENT_PID=$!
_pids="$_pids $AGENT_PID"
wait_socket "$SOCK"
ssh-add "$T/keys/rsa3072" >/dev/null 2>&1
run_py policy.py "$SOCK" "$T/keys/rsa3072.pub" allow
stop_agent

printf '# old servers\nallow-sha1 = yes\nmin-rsa-bits = 1024\n' >"$T/agentd.conf"
rm -f "$SOCK"
"$AGENTD" -D --config "$T/agentd.conf" -a "$SOCK" >/dev/null 2>>"$T/agent.log" &
AGENT_PID=$!
_pids="$_pids $AGENT_PID"
wait_socket "$SOCK"
check "with min-rsa-bits = 1024 in the config, a 1024-bit RSA key is accepted" ssh-add "$T/keys/rsa1024"
run_py policy.py "$SOCK" "$T/keys/rsa1024.pub" allow
stop_agent

printf 'allow-sha1 = perhaps\n' >"$T/bad.conf"
timeout 10 "$AGENTD" -D --config "$T/bad.conf" -a "$T/bad.sock" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "bad.conf:1: bad value for allow-sha1" "$T/err" && [ ! -e "$T/bad.sock" ]; then
	ok "a bad configuration value is refused with file:line and exit 2"
else
	fail "a bad configuration value is refused with file:line and exit 2" "got exit $rc: $(cat "$T/err")"
fi
timeout 10 "$AGENTD" -D --config "$T/missing.conf" -a "$T/bad.sock" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "missing.conf" "$T/err"; then
	ok "a missing --config file is an error"
else
	fail "a missing --config file is an error" "got exit $rc: $(cat "$T/err")"
fi

# ---- -t sets a default lifetime
: >"$T/agent.log"
rm -f "$SOCK"
"$AGENTD" -D -t 1 -a "$SOCK" >/dev/null 2>>"$T/agent.log" &
AGENT_PID=$!
_pids="$_pids $AGENT_PID"
wait_socket "$SOCK"
ssh-add "$T/keys/ed25519" >/dev/null 2>&1
n0=$(ssh-add -l 2>/dev/null | grep -c ED25519)
_w=0
while ssh-add -l >/dev/null 2>&1 && [ "$_w" -lt 50 ]; do sleep 0.1; _w=$((_w + 1)); done
n1=$(ssh-add -l 2>/dev/null | grep -c ED25519)
if [ "$n0" = 1 ] && [ "$n1" = 0 ]; then
	ok "agentd -t 1 gives added keys a one-second lifetime"
else
	fail "agentd -t 1 gives added keys a one-second lifetime" "listed $n0 then $n1"
fi
stop_agent

# ---- secure memory that cannot be locked is said, not hidden
if grep -q "could not be locked" "$T/agent.log"; then
	fail "with the default RLIMIT_MEMLOCK no warning about unlocked secure memory" \
		"$(grep "could not be locked" "$T/agent.log")"
else
	ok "with the default RLIMIT_MEMLOCK no warning about unlocked secure memory"
fi
# A 64 KiB hard limit, and (as root) without CAP_IPC_LOCK, which would ignore the limit.
: >"$T/agent.log"
rm -f "$SOCK"
prlimit --memlock=65536:65536 setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock \
	"$AGENTD" -D -a "$SOCK" --no-secret-service >/dev/null 2>>"$T/agent.log" &
_wait_agent_started $!
if grep -q "secure memory (1048576 bytes) could not be locked in RAM: keys may be swapped to disk; raise RLIMIT_MEMLOCK" "$T/agent.log"; then
	ok "under a 64 KiB RLIMIT_MEMLOCK agentd warns that secure memory is not locked"
else
	fail "under a 64 KiB RLIMIT_MEMLOCK agentd warns that secure memory is not locked" \
		"$(cat "$T/agent.log")"
fi
ssh-add "$T/keys/ed25519" >/dev/null 2>&1
is "... and still serves keys" 1 "$(ssh-add -l 2>/dev/null | grep -c ED25519)"
stop_agent

# ---- failed unlocks slow that client only
start_agent
ssh-add "$T/keys/ed25519" >/dev/null 2>&1
run_py unlock_delay.py "$SOCK"
stop_agent

done_testing

# Shared helpers for sshx's integration tests; sourced by every test_*.sh.
#
# POSIX sh (the automake harness runs the tests with dash).  A test script does:
#
#     . "$SSHX_TESTDIR/lib.sh"
#     setup_tmpdir; gen_keys; start_agent
#     check "ssh-add lists nothing" ssh-add -l ...
#     done_testing
#
# Every process started through these helpers is killed, and the temp dir removed, on exit.

: "${AGENTD:?AGENTD must name the agent binary under test}"
: "${SSHX_TESTDIR:?SSHX_TESTDIR must name tests/integration in the source tree}"
PYTHON_PARAMIKO=${PYTHON_PARAMIKO:-/usr/bin/python3}
SSHD=${SSHD:-/usr/sbin/sshd}
LC_ALL=C
# Keep __pycache__ out of the source tree (read-only under make distcheck).
PYTHONDONTWRITEBYTECODE=1
export LC_ALL PYTHON_PARAMIKO PYTHONDONTWRITEBYTECODE

# The key types every capability is exercised with (agentd refuses DSA and RSA < 2048 bits).
KEY_TYPES="ed25519 ecdsa256 ecdsa384 ecdsa521 rsa3072"
# The unprivileged account sshd logs in to, and the account used for "another uid".
LOGIN_USER=sshxlogin
# shellcheck disable=SC2034
OTHER_USER=sshxtest

T=
SOCK=
AGENT_PID=
SSHD_PID=
SSHD_PORT=
_pids=
_tap_n=0

# ---------------------------------------------------------------- TAP output

# Prints each argument as '# ' diagnostic lines.
diag() {
	for _d in "$@"; do
		printf '%s\n' "$_d" | sed 's/^/# /'
	done
}

# Records a passing point.
ok() {
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s\n' "$_tap_n" "$1"
}

# Records a failing point without dumping logs: fail_nolog DESC [DIAG...].
fail_nolog() {
	_tap_n=$((_tap_n + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$1"
	shift
	diag "$@"
}

# Records a failing point: fail DESC "expected X, got Y" [MORE...]; then shows the daemons' logs.
fail() {
	fail_nolog "$@"
	dump_logs
}

# Shows the tail of the agent's and sshd's logs as diagnostics.
dump_logs() {
	for _l in "$T/agent.log" "$T/sshd.log"; do
		if [ -n "$T" ] && [ -s "$_l" ]; then
			diag "--- last lines of ${_l##*/}:"
			tail -n 25 "$_l" | tr -d '\r' | sed 's/^/#   /'
		fi
	done
}

# Runs CMD and passes when it exits 0: check DESC CMD [ARGS...].
check() {
	_desc=$1
	shift
	"$@" >"$T/check.out" 2>&1
	_rc=$?
	if [ "$_rc" -eq 0 ]; then
		ok "$_desc"
	else
		fail "$_desc" "expected exit 0 from: $*" "got exit $_rc, output:" "$(cat "$T/check.out")"
	fi
}

# Runs CMD and passes when it exits non-zero: check_fails DESC CMD [ARGS...].
check_fails() {
	_desc=$1
	shift
	"$@" >"$T/check.out" 2>&1
	_rc=$?
	if [ "$_rc" -ne 0 ]; then
		ok "$_desc"
	else
		fail "$_desc" "expected a non-zero exit from: $*" "got exit 0, output:" "$(cat "$T/check.out")"
	fi
}

# Passes when two strings are equal: is DESC EXPECTED GOT.
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected:" "$2" "got:" "$3"
	fi
}

# Prints the plan; a script that ran no point at all fails.
done_testing() {
	if [ "$_tap_n" -eq 0 ]; then
		fail_nolog "the script ran at least one test point" "expected some points, got none"
	fi
	printf '1..%d\n' "$_tap_n"
}

# Gives up on the whole script after a setup step failed: bail DESC DIAG...
bail() {
	fail "$@"
	printf '1..%d\n' "$_tap_n"
	printf 'Bail out! %s\n' "$1"
	exit 1
}

# True when the binary under test is sshx's agentd (not OpenSSH's ssh-agent).
agentd_under_test() {
	[ "$(basename "$AGENTD")" = agentd ]
}

# ---------------------------------------------------------------- processes and cleanup

# True when PID is a running (not zombie) process.
pid_alive() {
	_st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	_st=${_st##*) }
	case $_st in
	Z* | X*) return 1 ;;
	esac
	return 0
}

# Stops a child process: SIGTERM, up to 5 s of grace, then SIGKILL; reaps it.
stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	_i=0
	while pid_alive "$1" && [ "$_i" -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	pid_alive "$1" && kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	_np=
	for _p in $_pids; do
		[ "$_p" = "$1" ] || _np="$_np $_p"
	done
	_pids=$_np
	return 0
}

_cleanup() {
	_rc=$?
	trap - EXIT
	for _p in $_pids; do
		stop_pid "$_p"
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		rm -rf "$T"
	fi
	exit "$_rc"
}

# Creates the test's private temp dir $T (short: socket paths must stay < 108 bytes).
setup_tmpdir() {
	T=$(mktemp -d /tmp/sx.XXXXXX) || {
		echo "Bail out! mktemp failed"
		exit 1
	}
	trap _cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	SOCK=$T/agent.sock
}

# Asks the kernel for a free TCP port on 127.0.0.1.
free_port() {
	"$PYTHON_PARAMIKO" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Milliseconds since the epoch.
now_ms() {
	_ns=$(date +%s%N)
	echo $((_ns / 1000000))
}

# ---------------------------------------------------------------- the agent

# Starts the agent under test on $SOCK and waits until it answers: start_agent [NAME=VALUE...]
# (extra environment for the agent process, e.g. SSH_ASKPASS for confirmations).  The agent
# gets private XDG directories, so no configuration, keyring or database of the user leaks in.
# shellcheck disable=SC2120
start_agent() {
	rm -f "$SOCK"
	mkdir -p "$T/xdg/config" "$T/xdg/data"
	install -d -m 700 "$T/xdg/run"
	env XDG_CONFIG_HOME="$T/xdg/config" XDG_DATA_HOME="$T/xdg/data" XDG_RUNTIME_DIR="$T/xdg/run" \
		"$@" "$AGENTD" -D -a "$SOCK" >>"$T/agent.log" 2>&1 &
	_wait_agent_started $!
}

# Starts agentd on $SOCK with extra options, in the caller's environment (isolate it first with
# isolate_home), and waits until it answers (a locked agent answers too):
# start_agent_with [AGENTD-OPTIONS...], e.g. start_agent_with --keyring "$KR" --no-secret-service.
start_agent_with() {
	rm -f "$SOCK"
	"$AGENTD" -D -a "$SOCK" "$@" >>"$T/agent.log" 2>&1 &
	_wait_agent_started $!
}

# Records the agent started as PID, exports SSH_AUTH_SOCK=$SOCK and waits until it answers,
# for up to AGENT_START_WAIT seconds (10).
_wait_agent_started() {
	AGENT_PID=$1
	_pids="$_pids $AGENT_PID"
	SSH_AUTH_SOCK=$SOCK
	export SSH_AUTH_SOCK
	_i=0
	while [ "$_i" -lt "$((${AGENT_START_WAIT:-10} * 10))" ]; do
		if [ -S "$SOCK" ]; then
			ssh-add -l >/dev/null 2>&1
			case $? in
			0 | 1) return 0 ;;
			esac
		fi
		if ! pid_alive "$AGENT_PID"; then
			bail "agent starts" "expected $AGENTD -D -a $SOCK to keep running, it exited"
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	bail "agent starts" "expected $SOCK to answer ssh-add -l within ${AGENT_START_WAIT:-10} s, it did not"
}

# Stops the agent started by start_agent.
stop_agent() {
	stop_pid "$AGENT_PID"
	AGENT_PID=
}

# Lists the agent's fingerprints (ssh-add -l) without the exit status noise.
agent_fingerprints() {
	ssh-add -l 2>&1
}

# ---------------------------------------------------------------- keys

# Creates one passphrase-less key per type in $T/keys/NAME (+ .pub), and a copy of each public
# key alone in $T/pub/NAME.pub, whose private half is deliberately absent (signing through
# that path can only work via the agent).  gen_keys [NAME...] (default: $KEY_TYPES).
gen_keys() {
	mkdir -p "$T/keys" "$T/pub"
	# shellcheck disable=SC2086
	[ $# -gt 0 ] || set -- $KEY_TYPES
	for _k in "$@"; do
		case $_k in
		ed25519) set_args="-t ed25519" ;;
		ecdsa256) set_args="-t ecdsa -b 256" ;;
		ecdsa384) set_args="-t ecdsa -b 384" ;;
		ecdsa521) set_args="-t ecdsa -b 521" ;;
		rsa3072) set_args="-t rsa -b 3072" ;;
		rsa1024) set_args="-t rsa -b 1024" ;;
		dsa) set_args="-t dsa" ;;
		*) bail "generate keys" "unknown key name $_k" ;;
		esac
		# shellcheck disable=SC2086
		ssh-keygen -q $set_args -N '' -C "sshx-$_k@test" -f "$T/keys/$_k" >"$T/keygen.out" 2>&1 ||
			bail "generate a $_k key" "ssh-keygen failed: $(cat "$T/keygen.out")"
		cp "$T/keys/$_k.pub" "$T/pub/$_k.pub"
	done
}

# Prints "TYPE BASE64" of a public key file (no comment).
pub_blob() {
	cut -d' ' -f1,2 "$1"
}

# ---------------------------------------------------------------- users

# Creates a local account if missing (tolerates a parallel test creating it at the same
# moment): ensure_user NAME [useradd options].
ensure_user() {
	_u=$1
	shift
	[ "$(id -u)" -eq 0 ] || bail "create user $_u" "expected to run as root (useradd, runuser, sshd), got uid $(id -u)"
	_i=0
	while ! id -u "$_u" >/dev/null 2>&1; do
		useradd "$@" "$_u" >/dev/null 2>&1 && break
		_i=$((_i + 1))
		[ "$_i" -lt 50 ] || bail "create user $_u" "useradd $* $_u kept failing"
		sleep 0.1
	done
}

# Makes sure $LOGIN_USER exists and is not locked (sshd with UsePAM no refuses '!' accounts).
ensure_login_user() {
	ensure_user "$LOGIN_USER" -m
	_i=0
	while [ "$(getent shadow "$LOGIN_USER" | cut -d: -f2)" != '*' ]; do
		usermod -p '*' "$LOGIN_USER" >/dev/null 2>&1 && break
		_i=$((_i + 1))
		[ "$_i" -lt 50 ] || bail "unlock user $LOGIN_USER" "usermod -p '*' kept failing"
		sleep 0.1
	done
}

# ---------------------------------------------------------------- sshd

# Writes the sshd configuration for port $1.
_write_sshd_config() {
	cat >"$T/sshd/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $1
HostKey $T/sshd/host_ed25519
HostKey $T/sshd/host_ecdsa
HostKey $T/sshd/host_rsa
PidFile $T/sshd/sshd.pid
AuthorizedKeysFile $T/authorized_keys.%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin no
LogLevel VERBOSE
EOF
	# Extra lines a test sets before start_sshd (e.g. "MaxAuthTries 3").
	if [ -n "${SSHD_EXTRA_CONFIG:-}" ]; then
		printf '%s\n' "$SSHD_EXTRA_CONFIG" >>"$T/sshd/sshd_config"
	fi
}

# Starts a private sshd on 127.0.0.1:$SSHD_PORT (a port free at run time), with its own host
# keys of every type; authorized keys of user U are read from $T/authorized_keys.U.
start_sshd() {
	ensure_login_user
	install -d -m 755 /run/sshd
	# sshd reads authorized_keys as the login user: let it traverse the temp dir.
	chmod 711 "$T"
	mkdir -p "$T/sshd"
	for _t in ed25519 ecdsa rsa; do
		_b=
		[ "$_t" = rsa ] && _b="-b 3072"
		# shellcheck disable=SC2086
		ssh-keygen -q -t "$_t" $_b -N '' -f "$T/sshd/host_$_t" >"$T/keygen.out" 2>&1 ||
			bail "generate sshd host keys" "ssh-keygen -t $_t failed: $(cat "$T/keygen.out")"
	done
	: >"$T/authorized_keys.$LOGIN_USER"
	chmod 644 "$T/authorized_keys.$LOGIN_USER"
	_try=0
	while [ "$_try" -lt 3 ]; do
		_try=$((_try + 1))
		SSHD_PORT=$(free_port)
		_write_sshd_config "$SSHD_PORT"
		: >"$T/sshd.log"
		"$SSHD" -D -e -f "$T/sshd/sshd_config" 2>>"$T/sshd.log" &
		SSHD_PID=$!
		_pids="$_pids $SSHD_PID"
		_i=0
		while [ "$_i" -lt 100 ]; do
			grep -q 'Server listening' "$T/sshd.log" && return 0
			pid_alive "$SSHD_PID" || break
			sleep 0.1
			_i=$((_i + 1))
		done
		stop_pid "$SSHD_PID"
		# Another process may have taken the port between free_port and bind: try again.
		grep -q 'Address already in use' "$T/sshd.log" || break
	done
	bail "sshd starts" "expected 'Server listening' in sshd's log, got:" "$(cat "$T/sshd.log")"
}

# Prints sshd's log (OpenSSH ends lines written to stderr with CR LF).
sshd_log() {
	tr -d '\r' <"$T/sshd.log"
}

# Authorizes exactly the given public key files for $LOGIN_USER.
authorize_keys() {
	cat "$@" >"$T/authorized_keys.$LOGIN_USER"
}

# Writes $T/known_hosts with the private sshd's host keys (ssh-keyscan), one per type.
known_hosts_for_sshd() {
	ssh-keyscan -T 5 -p "$SSHD_PORT" 127.0.0.1 >"$T/known_hosts" 2>"$T/keyscan.err"
	_n=$(grep -c "^\[127.0.0.1\]:$SSHD_PORT " "$T/known_hosts")
	if [ "$_n" -ne 3 ]; then
		bail "ssh-keyscan finds the sshd's 3 host keys" "expected 3 lines, got $_n:" \
			"$(cat "$T/known_hosts" "$T/keyscan.err")"
	fi
}

# Runs ssh to the private sshd through the agent on $SOCK only: ssh_agent_login [OPTS...] CMD.
ssh_agent_login() {
	ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=no -o IdentityAgent="$SOCK" \
		-o UserKnownHostsFile="$T/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o ControlMaster=no \
		-o ControlPath=none -p "$SSHD_PORT" "$@" </dev/null
}

# ---------------------------------------------------------------- Python

# Runs a Python test script with Paramiko's interpreter and turns its output into TAP points:
# "ok - DESC" / "not ok - DESC" become numbered points, other lines diagnostics.
# run_py [--as USER] SCRIPT [ARGS...]; the script must exit 0 once it has run all its points.
run_py() {
	_as=
	if [ "$1" = --as ]; then
		_as=$2
		shift 2
	fi
	_script=$1
	shift
	if [ -n "$_as" ]; then
		# Run from a copy the other user can read (the source tree may be private).
		mkdir -p "$T/py"
		cp "$SSHX_TESTDIR"/*.py "$T/py/"
		chmod 755 "$T/py"
		chmod 644 "$T/py"/*.py
		timeout -k 5 150 runuser -u "$_as" -- "$PYTHON_PARAMIKO" -u "$T/py/$_script" "$@" \
			>"$T/py.out" 2>&1
	else
		timeout -k 5 150 "$PYTHON_PARAMIKO" -u "$SSHX_TESTDIR/$_script" "$@" >"$T/py.out" 2>&1
	fi
	_rc=$?
	_before=$_tap_n
	_bad=0
	while IFS= read -r _line || [ -n "$_line" ]; do
		case $_line in
		"ok - "*) ok "${_line#ok - }" ;;
		"not ok - "*)
			fail_nolog "${_line#not ok - }"
			_bad=1
			;;
		"#"*) printf '%s\n' "$_line" ;;
		*) printf '# %s\n' "$_line" ;;
		esac
	done <"$T/py.out"
	if [ "$_rc" -ne 0 ]; then
		fail_nolog "$_script${1:+ $1} ran to completion" "expected exit status 0, got $_rc (124 = timed out)"
		_bad=1
	elif [ "$_tap_n" -eq "$_before" ]; then
		fail_nolog "$_script${1:+ $1} reported test points" "expected at least one point, got none"
		_bad=1
	fi
	[ "$_bad" -eq 0 ] || dump_logs
}

# ---------------------------------------------------------------- keyrings

# Points HOME, the XDG base directories and XDG_RUNTIME_DIR into $T and drops the caller's
# D-Bus session and sshx settings, so that no real keyring, Secret Service or configuration is
# read or written.  Call after setup_tmpdir.
isolate_home() {
	HOME=$T/home
	XDG_DATA_HOME=$T/home/.local/share
	XDG_CONFIG_HOME=$T/home/.config
	XDG_CACHE_HOME=$T/home/.cache
	XDG_RUNTIME_DIR=$T/run
	export HOME XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME XDG_RUNTIME_DIR
	unset DBUS_SESSION_BUS_ADDRESS SSHX_KEYRING SSHX_DB GNOME_KEYRING_CONTROL SECRET_SERVICE_BUS_NAME
	mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
	install -d -m 700 "$XDG_RUNTIME_DIR"
}

# Writes a passphrase file (no trailing newline, mode 0600): pass_file PATH PASSPHRASE.
pass_file() {
	(umask 077 && printf '%s' "$2" >"$1")
	chmod 600 "$1"
}

# Runs CMD with SSH_ASKPASS answering the contents of FILE and no terminal, as ssh-add -x / -X
# need it: askpass_run FILE CMD [ARGS...].
askpass_run() {
	_apf=$1
	shift
	if [ ! -x "$T/askpass-file" ]; then
		# shellcheck disable=SC2016
		printf '#!/bin/sh\nexec cat "$SSHX_ASKPASS_FILE"\n' >"$T/askpass-file"
		chmod 700 "$T/askpass-file"
	fi
	env SSH_ASKPASS="$T/askpass-file" SSHX_ASKPASS_FILE="$_apf" SSH_ASKPASS_REQUIRE=force \
		DISPLAY=:0 "$@" </dev/null
}

# Prints the SHA256 fingerprint of a public key file, as ssh-keygen -lf prints it.
fp_of() {
	ssh-keygen -lf "$1" | cut -d' ' -f2
}

# Prints the agent's fingerprints (ssh-add -l), sorted, one a line; nothing when it has none.
agent_fps() {
	ssh-add -l 2>/dev/null | grep '^[0-9]' | cut -d' ' -f2 | sort
}

# Polls CMD every 0.1 s until it exits 0, for at most TENTHS tenths of a second; prints how many
# milliseconds that took on success: wait_until TENTHS CMD [ARGS...].
wait_until() {
	_wn=$1
	shift
	_wt0=$(now_ms)
	_wi=0
	while :; do
		if "$@" >/dev/null 2>&1; then
			echo $(($(now_ms) - _wt0))
			return 0
		fi
		[ "$_wi" -lt "$_wn" ] || return 1
		sleep 0.1
		_wi=$((_wi + 1))
	done
}

# Turns "ok - DESC" / "not ok - DESC" lines from FILE into numbered TAP points (other lines
# become diagnostics), as run_py does for a script's output: relay_points FILE.  Returns 1 when
# a point failed or none was relayed.
relay_points() {
	_rb=$_tap_n
	_rbad=0
	while IFS= read -r _line || [ -n "$_line" ]; do
		case $_line in
		"ok - "*) ok "${_line#ok - }" ;;
		"not ok - "*)
			fail_nolog "${_line#not ok - }"
			_rbad=1
			;;
		"#"*) printf '%s\n' "$_line" ;;
		*) printf '# %s\n' "$_line" ;;
		esac
	done <"$1"
	[ "$_tap_n" -gt "$_rb" ] && [ "$_rbad" -eq 0 ]
}

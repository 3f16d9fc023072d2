#!/bin/sh
# The keyring passphrase in a real Secret Service: gnome-keyring on private D-Bus session buses,
# driven through lib/secret.c by $SECRET_DRIVER (tests/integration/secret-driver.c).
#
# HOME, XDG_RUNTIME_DIR and the XDG data and config directories all point into the test's temp
# dir, and every bus is a private dbus-daemon, so the user's own keyring is never touched.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SECRET_DRIVER:?SECRET_DRIVER must name the secret-driver binary}"

setup_tmpdir

HOME=$T/home
XDG_RUNTIME_DIR=$T/run
XDG_DATA_HOME=$T/home/.local/share
XDG_CONFIG_HOME=$T/home/.config
XDG_CACHE_HOME=$T/home/.cache
export HOME XDG_RUNTIME_DIR XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME
unset DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL SECRET_SERVICE_BUS_NAME
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
install -d -m 700 "$XDG_RUNTIME_DIR"

for _tool in dbus-daemon gnome-keyring-daemon gdbus secret-tool timeout; do
	command -v "$_tool" >/dev/null 2>&1 ||
		bail "$_tool is installed" "expected $_tool on PATH (packages dbus, gnome-keyring, libglib2.0-bin, libsecret-tools)"
done

# The login keyring's password (what PAM would hand gnome-keyring at login).
KEYRING_PASSWORD='login password'
printf '%s' "$KEYRING_PASSWORD" >"$T/login-password"
# Two sshx keyrings, each with its own passphrase in the Secret Service.
K1=$T/keyrings/work.sxk
K2=$T/keyrings/home.sxk
PASS1='correct horse  battery staple '
PASS2='pässwörd: ünïcode, no newline'
PASS3='a replacement passphrase'

BUS_PID=
KEYRING_PID=

# ---------------------------------------------------------------- helpers

# Starts a private dbus-daemon and exports its address: start_bus NAME DBUS-DAEMON-ARGS...
# Its log (which names every service the bus activates) is $T/NAME.log.
start_bus() {
	_bus=$1
	shift
	: >"$T/$_bus.addr"
	dbus-daemon "$@" --nofork --print-address >"$T/$_bus.addr" 2>"$T/$_bus.log" &
	BUS_PID=$!
	_pids="$_pids $BUS_PID"
	_i=0
	while [ "$_i" -lt 100 ]; do
		DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$T/$_bus.addr")
		if [ -n "$DBUS_SESSION_BUS_ADDRESS" ]; then
			export DBUS_SESSION_BUS_ADDRESS
			return 0
		fi
		pid_alive "$BUS_PID" || break
		sleep 0.1
		_i=$((_i + 1))
	done
	bail "dbus-daemon $* starts" "expected an address on its standard output, got none; log:" \
		"$(cat "$T/$_bus.log")"
}

# Stops the bus started last.
stop_bus() {
	stop_pid "$BUS_PID"
	BUS_PID=
	unset DBUS_SESSION_BUS_ADDRESS
}

# Starts gnome-keyring's Secret Service on the current bus and waits for its bus name:
# start_keyring [--unlock] (--unlock: unlock, or create, the login keyring with the password).
start_keyring() {
	gnome-keyring-daemon --foreground --components=secrets "$@" \
		<"$T/login-password" >>"$T/keyring.log" 2>&1 &
	KEYRING_PID=$!
	_pids="$_pids $KEYRING_PID"
	if ! gdbus wait --session --timeout 10 org.freedesktop.secrets >"$T/wait.out" 2>&1; then
		bail "gnome-keyring-daemon $* owns org.freedesktop.secrets" \
			"expected the name within 10 s, got: $(cat "$T/wait.out")" "$(cat "$T/keyring.log")"
	fi
}

# Stops gnome-keyring (continuing it first, should a test have stopped it).
stop_keyring() {
	[ -n "$KEYRING_PID" ] && kill -CONT "$KEYRING_PID" 2>/dev/null
	stop_pid "$KEYRING_PID"
	KEYRING_PID=
	# Wait until the bus has seen it go, or the next daemon could not take the name.
	_i=0
	while [ "$_i" -lt 50 ] && secret_service_on_bus; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# True when some process owns org.freedesktop.secrets (the bus answers; nothing is activated).
secret_service_on_bus() {
	gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null |
		grep -q true
}

# Calls a method of the Secret Service with gdbus: secret_service_call METHOD ARGS...
secret_service_call() {
	_m=$1
	shift
	gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
		--method "org.freedesktop.Secret.Service.$_m" "$@"
}

# Runs the driver with standard input from $T/in (if given) and records $RC, $MS (wall time in
# milliseconds), $T/out and $T/err: drive [--in FILE] CMD PATH [TIMEOUT_MS].  A driver that
# is still running after 20 s is killed (RC 124): a hang is a failure, not a stuck test.
drive() {
	_in=/dev/null
	if [ "$1" = --in ]; then
		_in=$2
		shift 2
	fi
	_t0=$(now_ms)
	timeout -k 2 20 "$SECRET_DRIVER" "$@" <"$_in" >"$T/out" 2>"$T/err"
	RC=$?
	MS=$(($(now_ms) - _t0))
	diag "secret-driver $* -> exit $RC in $MS ms: $(cat "$T/err")"
}

# Passes when the last drive exited with CODE: expect_rc DESC CODE.
expect_rc() {
	if [ "$RC" -eq "$2" ]; then
		ok "$1"
	else
		fail "$1" "expected exit $2, got $RC; stderr:" "$(cat "$T/err")"
	fi
}

# Passes when the last drive exited with CODE and its stderr matches PATTERN (grep -E, case
# insensitive) within MAX ms: expect_fast DESC CODE PATTERN MAX.
expect_fast() {
	if [ "$RC" -ne "$2" ]; then
		fail "$1" "expected exit $2, got $RC; stderr:" "$(cat "$T/err")"
	elif ! grep -Eqi "$3" "$T/err"; then
		fail "$1" "expected stderr to match /$3/, got:" "$(cat "$T/err")"
	elif [ "$MS" -ge "$4" ]; then
		fail "$1" "expected an answer within $4 ms, it took $MS ms"
	else
		ok "$1"
	fi
}

# Passes when the last lookup printed exactly the bytes of FILE: expect_out DESC FILE.
expect_out() {
	if [ "$RC" -ne 0 ]; then
		fail "$1" "expected exit 0, got $RC; stderr:" "$(cat "$T/err")"
	elif cmp -s "$2" "$T/out"; then
		ok "$1"
	else
		fail "$1" "expected the bytes:" "$(od -c "$2")" "got:" "$(od -c "$T/out")"
	fi
}

# Passes when the bus log shows no service activation at all: expect_no_activation DESC LOG.
expect_no_activation() {
	if grep -q 'Activating' "$2"; then
		fail "$1" "expected the bus to start nothing, its log says:" "$(grep 'Activating' "$2")"
	else
		ok "$1"
	fi
}

printf '%s' "$PASS1" >"$T/pass1"
printf '%s' "$PASS2" >"$T/pass2"
printf '%s' "$PASS3" >"$T/pass3"

# ---------------------------------------------------------------- no D-Bus session at all

drive lookup "$K1"
expect_fast "without DBUS_SESSION_BUS_ADDRESS, lookup says there is no D-Bus session" 4 'D-Bus' 2000
drive --in "$T/pass1" store "$K1"
expect_fast "without DBUS_SESSION_BUS_ADDRESS, store says there is no D-Bus session" 4 'D-Bus' 2000
drive clear "$K1"
expect_fast "without DBUS_SESSION_BUS_ADDRESS, clear says there is no D-Bus session" 4 'D-Bus' 2000

DBUS_SESSION_BUS_ADDRESS=unix:path=$T/no-such-bus
export DBUS_SESSION_BUS_ADDRESS
drive lookup "$K1"
expect_fast "a session address with no bus behind it means no Secret Service" 4 'cannot connect' 2000
DBUS_SESSION_BUS_ADDRESS=autolaunch:
drive lookup "$K1"
expect_fast "an autolaunch: session address is refused, not launched" 4 'autolaunch' 2000

# A "bus" that takes the connection and never says a word: the D-Bus handshake itself hangs.
"$PYTHON_PARAMIKO" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
time.sleep(600)' "$T/mute-bus" >"$T/mute.log" 2>&1 &
MUTE_PID=$!
_pids="$_pids $MUTE_PID"
_i=0
while [ ! -S "$T/mute-bus" ] && [ "$_i" -lt 100 ]; do
	sleep 0.1
	_i=$((_i + 1))
done
[ -S "$T/mute-bus" ] || bail "a mute bus socket listens" "expected $T/mute-bus, got: $(cat "$T/mute.log")"
DBUS_SESSION_BUS_ADDRESS=unix:path=$T/mute-bus
drive lookup "$K1" 1000
expect_fast "a session bus that never answers: lookup times out (exit 5) after 1 s" 5 'did not answer' 3000
stop_pid "$MUTE_PID"
unset DBUS_SESSION_BUS_ADDRESS

# ---------------------------------------------------------------- a bus with nothing to activate

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
start_bus bare --config-file="$T/bare-bus.conf"
drive lookup "$K1"
expect_fast "on a bus without a Secret Service, lookup says so at once" 4 'no Secret Service' 2000
drive --in "$T/pass1" store "$K1"
expect_fast "on a bus without a Secret Service, store says so at once" 4 'no Secret Service' 2000
drive clear "$K1"
expect_fast "on a bus without a Secret Service, clear says so at once" 4 'no Secret Service' 2000
stop_bus

# ---------------------------------------------------------------- a desktop-like session bus

# The standard session configuration: gnome-keyring's org.freedesktop.secrets.service is
# installed, so the bus *could* activate it.  sshx must not make it.
start_bus session --session
drive lookup "$K1"
expect_fast "before gnome-keyring runs, lookup says there is no Secret Service" 4 'no Secret Service' 2000
expect_no_activation "the lookup did not make the bus start gnome-keyring" "$T/session.log"
if secret_service_on_bus; then
	fail "nobody owns org.freedesktop.secrets after the lookup" "expected no owner, gnome-keyring is running"
else
	ok "nobody owns org.freedesktop.secrets after the lookup"
fi

start_keyring --unlock

drive lookup "$K1"
expect_rc "lookup before any store finds nothing (exit 1)" 1
drive clear "$K1"
expect_rc "clear before any store finds nothing (exit 1)" 1

drive --in "$T/pass1" store "$K1"
expect_rc "store puts the passphrase in the default collection" 0
drive lookup "$K1"
expect_out "lookup returns the same bytes: spaces kept, no newline added" "$T/pass1"
diag "lookup of a stored passphrase took $MS ms"

secret-tool search --all keyring "$K1" >"$T/search.out" 2>&1
is "the item is labelled with the keyring path" "label = sshx keyring passphrase ($K1)" \
	"$(grep '^label = ' "$T/search.out")"
is "the item carries the org.sshx.Keyring schema" "schema = org.sshx.Keyring" \
	"$(grep '^schema = ' "$T/search.out")"

drive --in "$T/pass2" store "$K2"
expect_rc "a second keyring's passphrase is stored beside the first" 0
drive lookup "$K2"
expect_out "the second keyring gets its own (UTF-8) passphrase back" "$T/pass2"
drive lookup "$K1"
expect_out "the first keyring still gets its own passphrase" "$T/pass1"

drive --in "$T/pass3" store "$K1"
expect_rc "storing again for the same keyring succeeds" 0
drive lookup "$K1"
expect_out "the new passphrase replaced the old one" "$T/pass3"
is "one item per keyring after a replacement" 1 \
	"$(secret-tool search --all keyring "$K1" 2>&1 | grep -c '^label = ')"

drive clear "$K1"
expect_rc "clear removes the stored passphrase" 0
drive lookup "$K1"
expect_rc "lookup after clear finds nothing (exit 1)" 1
drive clear "$K1"
expect_rc "clear again finds nothing (exit 1)" 1
drive lookup "$K2"
expect_out "clearing one keyring leaves the other's passphrase" "$T/pass2"

# An item another program stored with the same attribute, but not under sshx's schema.
printf '%s' 'not ours' | secret-tool store --label='foreign item' keyring "$K1" >"$T/st.out" 2>&1 ||
	bail "secret-tool stores a foreign item" "secret-tool failed: $(cat "$T/st.out")"
drive lookup "$K1"
expect_rc "an item of another schema with the same keyring attribute is not returned" 1
drive clear "$K1"
expect_rc "nor removed by clear" 1
is "the foreign item is still there" 'not ours' "$(secret-tool lookup keyring "$K1" 2>&1)"

drive lookup keyrings/relative.sxk
expect_rc "a relative keyring path is refused (exit 3)" 3

# ---------------------------------------------------------------- a locked collection

secret_service_call Lock "['/org/freedesktop/secrets/collection/login']" >"$T/lock.out" 2>&1 ||
	bail "lock the login collection over D-Bus" "gdbus failed: $(cat "$T/lock.out")"
drive lookup "$K2" 5000
expect_fast "with the login collection locked, lookup says locked, without waiting or prompting" \
	4 'locked' 2000
drive --in "$T/pass1" store "$K1" 5000
expect_fast "with the login collection locked, store says locked" 4 'locked' 2000
drive clear "$K2" 5000
expect_fast "with the login collection locked, clear says locked" 4 'locked' 2000
expect_no_activation "no prompter was started for the locked collection" "$T/session.log"

# What a login without PAM looks like: gnome-keyring started without the password, the
# login keyring on disk loaded but locked.
stop_keyring
start_keyring
drive lookup "$K2" 5000
expect_fast "gnome-keyring started without --unlock: lookup says locked" 4 'locked' 2000
drive --in "$T/pass1" store "$K1" 5000
expect_fast "gnome-keyring started without --unlock: store says locked" 4 'locked' 2000
drive clear "$K2" 5000
expect_fast "gnome-keyring started without --unlock: clear says locked" 4 'locked' 2000
expect_no_activation "still no prompter started" "$T/session.log"

# A first login without PAM: no login keyring on disk, so gnome-keyring has no default
# collection, and making one would need a prompt.
stop_keyring
HOME=$T/home2
XDG_DATA_HOME=$T/home2/.local/share
mkdir -p "$XDG_DATA_HOME"
start_keyring
drive --in "$T/pass1" store "$K1" 5000
expect_fast "with no default collection, store says so instead of creating one (a prompt)" \
	4 'no default collection' 2000
drive lookup "$K1" 5000
expect_rc "with no default collection, lookup finds nothing (exit 1)" 1
expect_no_activation "no prompter started for the missing collection" "$T/session.log"
HOME=$T/home
XDG_DATA_HOME=$T/home/.local/share

# ---------------------------------------------------------------- a Secret Service that never answers

# A stopped gnome-keyring keeps its bus name, and the bus queues every call to it: nothing
# will ever reply, so only sshx's own deadline ends the call.
stop_keyring
start_keyring --unlock
drive lookup "$K2"
expect_out "after a restart with --unlock, the stored passphrase is back" "$T/pass2"
kill -STOP "$KEYRING_PID"
drive lookup "$K2" 1000
expect_fast "lookup against a keyring that never answers times out (exit 5) after 1 s" \
	5 'did not answer' 3000
if [ "$MS" -lt 1000 ]; then
	fail "the timed-out lookup waited its full second" "expected at least 1000 ms, got $MS ms"
else
	ok "the timed-out lookup waited its full second"
fi
drive --in "$T/pass1" store "$K1" 1000
expect_fast "store against a keyring that never answers times out" 5 'did not answer' 3000
drive clear "$K2" 1000
expect_fast "clear against a keyring that never answers times out" 5 'did not answer' 3000
kill -CONT "$KEYRING_PID"
drive lookup "$K2"
expect_out "once the keyring runs again, lookup works" "$T/pass2"

stop_keyring
stop_bus

# libsecret is loaded only when needed: a library that cannot be loaded, or
# that lacks a function, is a clear "no Secret Service", never a crash.
mkdir -p "$T/fakelib/short" "$T/fakelib/empty"
: >"$T/fakelib/short/libsecret-1.so.0"
printf 'int sshx_nothing_here;\n' >"$T/fakelib/empty.c"
if cc -shared -fPIC -o "$T/fakelib/empty/libsecret-1.so.0" "$T/fakelib/empty.c" 2>"$T/cc.err"; then
	for fake in short empty; do
		case $fake in
		short) want='cannot be loaded' ;;
		*) want='cannot be used' ;;
		esac
		DBUS_SESSION_BUS_ADDRESS=unix:path=$T/nobus LD_LIBRARY_PATH=$T/fakelib/$fake \
			drive lookup "$K1"
		if [ "$RC" -eq 4 ] && grep -q "libsecret-1.so.0 $want" "$T/err"; then
			ok "a $fake libsecret-1.so.0 makes lookup fail as 'no Secret Service' (exit 4, $want)"
		else
			fail "a $fake libsecret-1.so.0 makes lookup fail cleanly" \
				"expected exit 4 and 'libsecret-1.so.0 $want'" "got $RC: $(cat "$T/err")"
		fi
	done
else
	fail "build a library without libsecret's functions" "cc failed: $(cat "$T/cc.err")"
fi
done_testing

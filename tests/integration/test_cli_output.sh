#!/bin/sh
# What sshxctl prints around its data: --version of both programs, --help of
# every group, --quiet (no informational messages, the same stdout and exit
# codes, errors kept), --verbose (paths and timings), and colour only on a
# terminal without NO_COLOR (run under a pseudo-terminal from script(1)).
. "$SSHX_TESTDIR/lib.sh"

: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"
setup_tmpdir
isolate_home
gen_keys ed25519 ecdsa256

DB=$T/sshx.db
KR=$T/keyring
printf 'output test passphrase' >"$T/pass"
chmod 600 "$T/pass"

# Runs sshxctl on the test's keyring and database.
ctl() {
	"$SSHXCTL" --keyring "$KR" --db "$DB" --passphrase-file "$T/pass" "$@"
}

# Runs sshxctl under a pseudo-terminal with the environment given first:
# on_tty NAME=VALUE... -- ARGS... (stdout and stderr both land in the output).
on_tty() {
	_env=
	while [ "$1" != -- ]; do
		_env="$_env $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	env $_env script -qec "$SSHXCTL $*" /dev/null </dev/null
}

# Passes when FILE holds an ANSI escape sequence (ESC [): has_color FILE.
has_color() {
	grep -q "$(printf '\033')\[" "$1"
}

# ---------------------------------------------------------------- --version and --help
v_ctl=$("$SSHXCTL" --version)
rc_ctl=$?
v_agentd=$("$AGENTD" --version)
rc_agentd=$?
case $v_ctl in
"sshxctl (sshx) "[0-9]*) ok "sshxctl --version prints 'sshxctl (sshx) VERSION'" ;;
*) fail_nolog "sshxctl --version prints 'sshxctl (sshx) VERSION'" "got: $v_ctl" ;;
esac
is "sshxctl --version exits 0" 0 "$rc_ctl"
is "agentd --version exits 0" 0 "$rc_agentd"
is "agentd --version has the same form and version as sshxctl's" "agentd ${v_ctl#sshxctl }" "$v_agentd"
if [ -z "$("$SSHXCTL" --version 2>&1 >/dev/null)" ]; then
	ok "sshxctl --version prints on stdout only"
else
	fail_nolog "sshxctl --version prints on stdout only" "stderr: $("$SSHXCTL" --version 2>&1 >/dev/null)"
fi
"$SSHXCTL" --help >"$T/help" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && grep -q -- "--quiet|--verbose" "$T/help" &&
    grep -q "NO_COLOR" "$T/help"; then
	ok "sshxctl --help (stdout, exit 0) names --quiet, --verbose and NO_COLOR"
else
	fail_nolog "sshxctl --help (stdout, exit 0) names --quiet, --verbose and NO_COLOR" "got exit $rc:" \
	    "$(cat "$T/help" "$T/err")"
fi
for grp in $("$SSHXCTL" __complete | awk -F '\t' '$1 == "group" { print $2 }'); do
	if grep -q "^  $grp" "$T/help"; then
		ok "sshxctl --help lists the group $grp"
	else
		fail_nolog "sshxctl --help lists the group $grp" "got: $(cat "$T/help")"
	fi
	"$SSHXCTL" "$grp" --help >"$T/ghelp" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q "^usage: sshxctl $grp" "$T/ghelp" && [ ! -s "$T/err" ]; then
		ok "sshxctl $grp --help prints its usage on stdout, exit 0"
	else
		fail_nolog "sshxctl $grp --help prints its usage on stdout, exit 0" "got exit $rc:" \
		    "$(cat "$T/ghelp" "$T/err")"
	fi
done

# ---------------------------------------------------------------- --quiet
ctl hosts add a.example.com --key-file "$T/pub/ed25519.pub" >"$T/out1" 2>"$T/err1"
rc1=$?
ctl --quiet hosts add b.example.com --key-file "$T/pub/ed25519.pub" >"$T/out2" 2>"$T/err2"
rc2=$?
if [ "$rc1" -eq 0 ] && grep -q "^pinned 1 key for a.example.com" "$T/err1"; then
	ok "without --quiet hosts add says what it pinned on stderr"
else
	fail_nolog "without --quiet hosts add says what it pinned on stderr" "got exit $rc1: $(cat "$T/err1")"
fi
if [ "$rc2" -eq 0 ] && [ ! -s "$T/err2" ]; then
	ok "--quiet before the command: nothing on stderr, exit 0"
else
	fail_nolog "--quiet before the command: nothing on stderr, exit 0" "got exit $rc2: $(cat "$T/err2")"
fi
is "--quiet leaves stdout as it was" "$(sed 's/^a\.example/b.example/' "$T/out1")" "$(cat "$T/out2")"
ctl hosts add c.example.com --key-file "$T/pub/ed25519.pub" --quiet >/dev/null 2>"$T/err"
if [ ! -s "$T/err" ]; then
	ok "--quiet after the command is taken too"
else
	fail_nolog "--quiet after the command is taken too" "got: $(cat "$T/err")"
fi
ctl known-hosts export --out "$T/kh1" >/dev/null 2>"$T/err1"
ctl --quiet known-hosts export --out "$T/kh2" >/dev/null 2>"$T/err2"
if grep -q "^wrote 3 keys for 3 hosts" "$T/err1" && [ ! -s "$T/err2" ] && cmp -s "$T/kh1" "$T/kh2"; then
	ok "known-hosts export --quiet writes the same file without 'wrote N keys'"
else
	fail_nolog "known-hosts export --quiet writes the same file without 'wrote N keys'" \
	    "without: $(cat "$T/err1")" "with: $(cat "$T/err2")"
fi
ctl --quiet hosts add "bad host" --key-file "$T/pub/ed25519.pub" >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "^sshxctl: hosts add: " "$T/err"; then
	ok "--quiet never hides an error, nor changes its exit code (2)"
else
	fail_nolog "--quiet never hides an error, nor changes its exit code (2)" "got exit $rc: $(cat "$T/err")"
fi
# shellcheck disable=SC2046
ctl --quiet hosts verify nowhere.example.com $(pub_blob "$T/pub/ed25519.pub") >/dev/null 2>&1
is "--quiet keeps a verdict's exit code (1, unknown host)" 1 "$?"
ctl keyring init --kdf-memory 8 --kdf-time 1 >/dev/null 2>&1
ctl --quiet key generate --name quiet >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && grep -q "^ssh-ed25519 " "$T/out"; then
	ok "key generate --quiet prints the public key and nothing on stderr"
else
	fail_nolog "key generate --quiet prints the public key and nothing on stderr" "got exit $rc:" \
	    "$(cat "$T/out" "$T/err")"
fi
ctl key remove quiet >/dev/null 2>"$T/err1"
ctl key generate --name quiet2 >/dev/null 2>"$T/err2"
ctl --quiet key remove quiet2 >/dev/null 2>"$T/err3"
if grep -q "^removed \"quiet\"" "$T/err1" && grep -q "^added \"quiet2\"" "$T/err2" && [ ! -s "$T/err3" ]; then
	ok "key remove and key generate say what they did, and --quiet silences it"
else
	fail_nolog "key remove and key generate say what they did, and --quiet silences it" \
	    "got: $(cat "$T/err1" "$T/err2" "$T/err3")"
fi

# ---------------------------------------------------------------- --verbose
ctl key list >"$T/out1" 2>"$T/err1"
ctl key list --verbose >"$T/out2" 2>"$T/err2"
if grep -q "^sshxctl: key list: keyring $KR\$" "$T/err2" &&
    grep -q "^sshxctl: key list: exit 0 after [0-9]* ms\$" "$T/err2" && [ ! -s "$T/err1" ]; then
	ok "--verbose names the keyring used and the time taken"
else
	fail_nolog "--verbose names the keyring used and the time taken" "got: $(cat "$T/err2")"
fi
is "--verbose leaves stdout as it was" "$(cat "$T/out1")" "$(cat "$T/out2")"
ctl --verbose hosts list >/dev/null 2>"$T/err"
if grep -q "^sshxctl: hosts list: database $DB\$" "$T/err"; then
	ok "--verbose names the database used"
else
	fail_nolog "--verbose names the database used" "got: $(cat "$T/err")"
fi
ctl --quiet --verbose hosts list >/dev/null 2>"$T/err"
if [ ! -s "$T/err" ]; then
	ok "--quiet wins over --verbose"
else
	fail_nolog "--quiet wins over --verbose" "got: $(cat "$T/err")"
fi

# ---------------------------------------------------------------- colour
if ! command -v script >/dev/null 2>&1; then
	bail "script(1) is installed" "util-linux's script gives the pseudo-terminal; install util-linux"
fi
mkdir "$T/p"
chmod 755 "$T/p"
on_tty TERM=xterm -- perms check "$T/p" >"$T/tty"
if has_color "$T/tty" && grep -q "problem" "$T/tty"; then
	ok "perms check on a terminal colours its result"
else
	fail_nolog "perms check on a terminal colours its result" "got: $(od -c "$T/tty" | head)"
fi
on_tty TERM=xterm NO_COLOR=1 -- perms check "$T/p" >"$T/tty"
if ! has_color "$T/tty" && grep -q "1 problem in 1 path" "$T/tty"; then
	ok "NO_COLOR=1 on a terminal: no colour"
else
	fail_nolog "NO_COLOR=1 on a terminal: no colour" "got: $(od -c "$T/tty" | head)"
fi
on_tty TERM=xterm NO_COLOR= -- perms check "$T/p" >"$T/tty"
if has_color "$T/tty"; then
	ok "an empty NO_COLOR does not disable colour (no-color.org)"
else
	fail_nolog "an empty NO_COLOR does not disable colour (no-color.org)" "got: $(od -c "$T/tty" | head)"
fi
on_tty TERM=dumb -- perms check "$T/p" >"$T/tty"
if ! has_color "$T/tty"; then
	ok "TERM=dumb: no colour"
else
	fail_nolog "TERM=dumb: no colour" "got: $(od -c "$T/tty" | head)"
fi
TERM=xterm "$SSHXCTL" perms check "$T/p" >"$T/piped" 2>&1
if ! has_color "$T/piped" && grep -q "^1 problem in 1 path$" "$T/piped"; then
	ok "piped: no colour, the text as before"
else
	fail_nolog "piped: no colour, the text as before" "got: $(od -c "$T/piped" | head)"
fi
on_tty TERM=xterm -- perms check --json "$T/p" >"$T/tty"
if ! has_color "$T/tty"; then
	ok "--json on a terminal: no colour in the JSON"
else
	fail_nolog "--json on a terminal: no colour in the JSON" "got: $(od -c "$T/tty" | head)"
fi
on_tty TERM=xterm -- audit paramiko --python "$PYTHON_PARAMIKO" >"$T/tty"
if has_color "$T/tty" && grep -q "advisor" "$T/tty"; then
	ok "audit paramiko on a terminal colours its verdict"
else
	fail_nolog "audit paramiko on a terminal colours its verdict" "got: $(od -c "$T/tty" | head)"
fi
on_tty TERM=xterm NO_COLOR=1 -- audit paramiko --python "$PYTHON_PARAMIKO" >"$T/tty"
if ! has_color "$T/tty"; then
	ok "audit paramiko with NO_COLOR: no colour"
else
	fail_nolog "audit paramiko with NO_COLOR: no colour" "got: $(od -c "$T/tty" | head)"
fi
start_agent
on_tty TERM=xterm SSH_AUTH_SOCK="$SOCK" -- agent status >"$T/tty"
if has_color "$T/tty" && grep -q "running" "$T/tty"; then
	ok "agent status on a terminal colours running and locked"
else
	fail "agent status on a terminal colours running and locked" "got: $(od -c "$T/tty" | head)"
fi
on_tty TERM=xterm NO_COLOR=1 SSH_AUTH_SOCK="$SOCK" -- agent status >"$T/tty"
if ! has_color "$T/tty" && grep -q "^locked: no" "$T/tty"; then
	ok "agent status with NO_COLOR: no colour"
else
	fail "agent status with NO_COLOR: no colour" "got: $(od -c "$T/tty" | head)"
fi
"$SSHXCTL" agent status >"$T/piped" 2>&1
if ! has_color "$T/piped" && grep -q "^locked: no$" "$T/piped"; then
	ok "agent status piped: no colour"
else
	fail "agent status piped: no colour" "got: $(od -c "$T/piped" | head)"
fi

done_testing

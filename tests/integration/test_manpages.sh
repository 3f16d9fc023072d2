#!/bin/sh
# The manual pages: every option agentd --help names and every command and option sshxctl --help
# names is documented in its page, and each page renders without a warning.
. "$SSHX_TESTDIR/lib.sh"

: "${SSHXCTL:?SSHXCTL must name the sshxctl binary under test}"
DOC=$SSHX_TESTDIR/../../doc

setup_tmpdir

# Prints a page's source with roff's escapes for hyphens, fonts and quotes taken out, so that
# "\-\-db" reads as "--db": plain PAGE.
plain() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(lq//g' -e 's/\\(rq//g' -e 's/"//g' "$1"
}

# Prints each option a help text names, one a line: "-a", "--db"; a bundle such as "-cDdks"
# becomes one line per letter.  Hyphens inside words ("C-shell") are not options.
# help_options FILE.
help_options() {
	grep -o -E -- '(^|[][ |(,])--?[A-Za-z][A-Za-z0-9-]*' "$1" | sed 's/^[^-]*//' | while read -r _o; do
		case $_o in
		--*) printf '%s\n' "$_o" ;;
		*) printf '%s\n' "${_o#-}" | sed 's/./-&\n/g' | grep . ;;
		esac
	done | sort -u
}

# Passes when every line of LIST occurs in PAGE as a whole word: documents DESC PAGE LIST.
documents() {
	_missing=
	while read -r _w; do
		[ -n "$_w" ] || continue
		plain "$2" | grep -q -- "\(^\|[^A-Za-z0-9-]\)$_w\($\|[^A-Za-z0-9-]\)" || _missing="$_missing $_w"
	done <"$3"
	if [ -z "$_missing" ]; then
		ok "$1"
	else
		fail_nolog "$1" "expected in ${2##*/}:$_missing"
	fi
}

for page in agentd.8 sshxctl.1 agentd.conf.5; do
	if [ -s "$DOC/$page" ]; then
		ok "doc/$page exists"
	else
		bail "doc/$page exists" "expected $DOC/$page"
	fi
done

# ---- agentd(8): every option of agentd --help
"$AGENTD" --help >"$T/agentd.help" 2>&1
help_options "$T/agentd.help" | grep -v -x -e '--help' >"$T/agentd.opts"
# --help itself is documented with -h, which getopt also accepts.
printf '%s\n' -h --help >>"$T/agentd.opts"
if [ "$(wc -l <"$T/agentd.opts")" -ge 15 ]; then
	ok "agentd --help names its options ($(tr '\n' ' ' <"$T/agentd.opts"))"
else
	fail_nolog "agentd --help names its options" "expected 15 or more, got:" "$(cat "$T/agentd.opts")"
fi
documents "agentd.8 documents every option of agentd --help" "$DOC/agentd.8" "$T/agentd.opts"

# ---- sshxctl(1): every command and every option of sshxctl --help
"$SSHXCTL" --help >"$T/sshxctl.help" 2>&1
# Command lines are indented by two blanks, their descriptions by six.
sed -n 's/^  \([a-z][a-z-]*\)\( [a-z][a-z-]*\)\{0,1\}\( .*\)\{0,1\}$/\1\2/p' "$T/sshxctl.help" |
	sort -u >"$T/sshxctl.cmds"
if [ "$(wc -l <"$T/sshxctl.cmds")" -ge 30 ]; then
	ok "sshxctl --help lists its commands ($(wc -l <"$T/sshxctl.cmds"))"
else
	fail_nolog "sshxctl --help lists its commands" "expected 30 or more, got:" "$(cat "$T/sshxctl.cmds")"
fi
_missing=
while read -r cmd; do
	# A command is documented by a tag line that starts with it.
	plain "$DOC/sshxctl.1" | grep -q -x "\.B[IR]* $cmd\( .*\)\{0,1\}" || _missing="$_missing [$cmd]"
done <"$T/sshxctl.cmds"
if [ -z "$_missing" ]; then
	ok "sshxctl.1 has an entry for every command of sshxctl --help"
else
	fail_nolog "sshxctl.1 has an entry for every command of sshxctl --help" "expected entries for:$_missing"
fi
help_options "$T/sshxctl.help" >"$T/sshxctl.opts"
printf '%s\n' -h --version >>"$T/sshxctl.opts"
documents "sshxctl.1 documents every option of sshxctl --help" "$DOC/sshxctl.1" "$T/sshxctl.opts"

# ---- agentd.conf(5): every setting agentd accepts
printf '%s\n' allow-sha1 min-rsa-bits lifetime askpass-timeout forwarding keys path >"$T/conf.keys"
documents "agentd.conf.5 documents every setting" "$DOC/agentd.conf.5" "$T/conf.keys"
# Each documented setting really is one: agentd accepts a file that sets them all.
mkdir -p "$T/cfg"
cat >"$T/cfg/agentd.conf" <<CONF
allow-sha1 = no
min-rsa-bits = 2048
lifetime = 0
askpass-timeout = 60
forwarding = deny
[key deploy]
forwarding = confirm
[socket deploy]
keys = deploy
path = $T/deploy.sock
CONF
"$AGENTD" -D -a "$T/agent.sock" --config "$T/cfg/agentd.conf" --no-audit --keyring "$T/none" \
	>"$T/agent.log" 2>&1 &
apid=$!
_pids="$_pids $apid"
if wait_until 100 test -S "$T/deploy.sock" >/dev/null; then
	ok "agentd accepts every setting agentd.conf.5 shows"
else
	fail "agentd accepts every setting agentd.conf.5 shows" "expected $T/deploy.sock to appear"
fi
stop_pid "$apid"

# ---- rendering without warnings
renderer=
if command -v groff >/dev/null 2>&1; then
	renderer=groff
elif command -v mandoc >/dev/null 2>&1; then
	renderer=mandoc
fi
for page in agentd.8 sshxctl.1 agentd.conf.5; do
	case $renderer in
	groff) groff -man -ww -z "$DOC/$page" >"$T/render.out" 2>&1 ;;
	mandoc) mandoc -T lint -W warning "$DOC/$page" >"$T/render.out" 2>&1 ;;
	*)
		ok "doc/$page renders without warnings # SKIP neither groff nor mandoc is installed"
		continue
		;;
	esac
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$T/render.out" ]; then
		ok "doc/$page renders without warnings ($renderer)"
	else
		fail_nolog "doc/$page renders without warnings ($renderer)" \
			"expected exit 0 and no output, got exit $rc:" "$(cat "$T/render.out")"
	fi
done

done_testing

#!/bin/sh
# The bash completion of sshxctl, checked against the dispatch table itself
# (sshxctl __complete): every group, every command and every option of every
# command completes, values complete to their choices or to file names, every
# command in the table dispatches (GROUP CMD --help exits 0), and every option
# in a command's usage is one its parser accepts.
#
# The script is POSIX sh; only the completion function runs in bash, which it
# is written for.
. "$SSHX_TESTDIR/lib.sh"

: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"
COMPLETION=$SSHX_TESTDIR/../../contrib/bash-completion/sshxctl
setup_tmpdir

if ! command -v bash >/dev/null 2>&1; then
	bail "bash is installed" "the completion is for bash; install it"
fi
if [ ! -r "$COMPLETION" ]; then
	bail "the completion script is in the source tree" "expected $COMPLETION"
fi

# Runs the completion function on the words given and prints its answers,
# one a line: comp WORD... (the last word is the one being completed).
cat >"$T/drive.bash" <<'EOF'
. "$1" || exit 3
shift
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
_sshxctl
if [ ${#COMPREPLY[@]} -gt 0 ]; then
	printf '%s\n' "${COMPREPLY[@]}"
fi
EOF
comp() {
	(cd "$T/files" && bash "$T/drive.bash" "$COMPLETION" "$SSHXCTL" "$@" </dev/null)
}

# Passes when the completion of WORDS is exactly the set of lines in EXPECTED:
# comp_is DESC EXPECTED WORD...
comp_is() {
	_desc=$1
	_want=$(printf '%s\n' "$2" | sed '/^$/d' | sort -u)
	shift 2
	_got=$(comp "$@" | sort)
	if [ "$_got" = "$_want" ]; then
		ok "$_desc"
	else
		fail_nolog "$_desc" "completing: sshxctl $*" "expected:" "$_want" "got:" "$_got"
	fi
}

# Fields of the table, one record kind at a time: fields KIND [GROUP [CMD]].
fields() {
	awk -F '\t' -v k="$1" -v g="${2-}" -v c="${3-}" \
	    '$1 == k && (g == "" || $2 == g) && (c == "" || $3 == c)' "$T/table"
}

mkdir -p "$T/files" "$T/probe" "$T/home"
: >"$T/files/pick-me.txt"
mkdir "$T/files/pick-dir"
printf 'probe passphrase' >"$T/pass"
chmod 600 "$T/pass"

if "$SSHXCTL" __complete >"$T/table" 2>"$T/err" && [ -s "$T/table" ]; then
	ok "sshxctl __complete prints the dispatch table"
else
	bail "sshxctl __complete prints the dispatch table" "got: $(cat "$T/err")"
fi
if ! "$SSHXCTL" --help | grep -q __complete; then
	ok "__complete is not advertised in --help"
else
	fail_nolog "__complete is not advertised in --help" "it is listed"
fi

GROUPS_=$(fields group | cut -f2)
GLOBALS=$(fields global | cut -f2)

# ---------------------------------------------------------------- top level
comp_is "an empty word completes to every group" "$GROUPS_" ""
comp_is "an option word before the command completes to the global options and --version" \
    "$GLOBALS
$(fields first | cut -f2)" -
for opt in --db --keyring --passphrase-file -a --json --quiet --verbose --help; do
	if printf '%s\n' "$GLOBALS" | grep -qx -- "$opt"; then
		ok "the global option $opt is in the table"
	else
		fail_nolog "the global option $opt is in the table" "got: $GLOBALS"
	fi
done
comp_is "a path-taking global option completes file names" "pick-me.txt
pick-dir" --db pick
comp_is "a global option before the group does not stop group completion" \
    "$GROUPS_" --json --db x ""

# ---------------------------------------------------------------- groups and commands
for grp in $GROUPS_; do
	comp_is "the group \"$grp\" completes from its first letters" \
	    "$(printf '%s\n' "$GROUPS_" | grep "^$(printf %s "$grp" | cut -c1-2)")" \
	    "$(printf %s "$grp" | cut -c1-2)"
	cmds=$(fields command "$grp" | cut -f3)
	if [ "$cmds" = - ]; then
		words=$grp
	else
		comp_is "sshxctl $grp completes to its commands" "$cmds" "$grp" ""
		words=""
	fi
	for cmd in $cmds; do
		if [ "$cmd" = - ]; then
			set -- "$grp"
			name=$grp
		else
			set -- "$grp" "$cmd"
			name="$grp $cmd"
		fi

		# The command dispatches and explains itself on stdout.
		"$SSHXCTL" "$@" --help >"$T/help" 2>"$T/err"
		rc=$?
		if [ "$rc" -eq 0 ] && grep -q "^usage: sshxctl $name" "$T/help"; then
			ok "sshxctl $name --help dispatches, exit 0, usage on stdout"
		else
			fail_nolog "sshxctl $name --help dispatches, exit 0, usage on stdout" \
			    "got exit $rc, stdout: $(cat "$T/help")" "stderr: $(cat "$T/err")"
		fi

		opts=$(fields option "$grp" "$cmd" | cut -f4)
		# "--" completes the long options: all but -a.
		longopts=$(printf '%s\n%s\n' "$GLOBALS" "$opts" | grep -- '^--')
		comp_is "sshxctl $name completes every option of its table entry and the globals" \
		    "$longopts" "$@" --
		[ -n "$opts" ] || continue
		fields option "$grp" "$cmd" | cut -f4,5 >"$T/opts"
		while IFS='	' read -r opt value; do
			if grep -q -- "$opt" "$T/help"; then
				ok "sshxctl $name --help shows $opt"
			else
				fail_nolog "sshxctl $name --help shows $opt" "got: $(cat "$T/help")"
			fi
			case $value in
			"") comp_is "sshxctl $name $opt: the next word completes options again" \
			    "$longopts" "$@" "$opt" -- ;;
			*"|"*) comp_is "sshxctl $name $opt completes to $value" \
			    "$(printf '%s\n' "$value" | tr '|' '\n')" "$@" "$opt" "" ;;
			PATH | FILE | SOCKET | DIR) comp_is "sshxctl $name $opt completes file names" \
			    "$(if [ "$value" = DIR ]; then echo pick-dir; else printf 'pick-me.txt\npick-dir\n'; fi)" \
			    "$@" "$opt" pick ;;
			*) comp_is "sshxctl $name $opt ($value) offers nothing to guess" "" "$@" "$opt" "" ;;
			esac

			# The option is one the command's own parser knows. The run is
			# sandboxed: no agent, a fresh keyring and database path.
			if [ -n "$value" ]; then
				set -- "$@" "$opt" x
			else
				set -- "$@" "$opt"
			fi
			(cd "$T/probe" && env -u SSH_AUTH_SOCK -u DBUS_SESSION_BUS_ADDRESS \
			    HOME="$T/home" XDG_DATA_HOME="$T/home" XDG_RUNTIME_DIR="$T/home" \
			    timeout 30 "$SSHXCTL" -a "$T/none.sock" --db "$T/probe/db" \
			    --keyring "$T/probe/keyring" --passphrase-file "$T/pass" "$@" \
			    </dev/null >/dev/null 2>"$T/err")
			if grep -qi "unrecognized option\|unknown option\|invalid option\|option requires" \
			    "$T/err"; then
				fail_nolog "sshxctl $name accepts $opt" "got: $(cat "$T/err")"
			else
				ok "sshxctl $name accepts $opt"
			fi
			if [ "$cmd" = - ]; then
				set -- "$grp"
			else
				set -- "$grp" "$cmd"
			fi
		done <"$T/opts"
	done
done

# The check above would notice an option the parser refuses.
(cd "$T/probe" && "$SSHXCTL" --keyring "$T/probe/keyring" key generate \
    --no-such-option </dev/null >/dev/null 2>"$T/err")
if grep -qi "unrecognized option\|unknown option\|invalid option" "$T/err"; then
	ok "an option the parser does not know is reported as such (the check can fail)"
else
	fail_nolog "an option the parser does not know is reported as such (the check can fail)" \
	    "got: $(cat "$T/err")"
fi

# ---------------------------------------------------------------- parsers against the table
# The other direction: every long option in a command's getopt table (read
# from the sources) is in that command's usage, so --help and the completion
# name all of them. --help is a global option and needs no entry.
SRC=$SSHX_TESTDIR/../../sshxctl
cat >"$T/parsers.awk" <<'EOF'
# Maps each *_main function to GROUP and COMMAND through the dispatch tables
# and prints "GROUP<tab>COMMAND<tab>--option" for its getopt_long options;
# a function no table names prints "?" as its group.
# groups: { "agent", agent_commands, ... } in sshxctl.c
match($0, /\{ "[^"]+", [a-z_]+_commands,/) {
	s = substr($0, RSTART, RLENGTH)
	split(s, f, "\"")
	arr = s; sub(/.*", /, "", arr); sub(/,$/, "", arr)
	group[arr] = f[2]
}
/^const struct command [a-z_]+_commands\[\] = \{/ {
	table = $4; sub(/\[\].*/, "", table)
	next
}
/^};/ { table = "" }
table != "" && match($0, /^\t\{ "[^"]*", [a-z_]+,/) {
	s = substr($0, RSTART, RLENGTH)
	split(s, f, "\"")
	fn = s; sub(/.*", /, "", fn); sub(/,$/, "", fn)
	cmdof[fn] = table SUBSEP (f[2] == "" ? "-" : f[2])
}
/^[a-z_]+\(int argc, char \*\*argv/ { cur = $0; sub(/\(.*/, "", cur) }
match($0, /\{ "[a-z0-9-]+", (no|required|optional)_argument/) {
	s = substr($0, RSTART, RLENGTH)
	split(s, f, "\"")
	opts[cur] = opts[cur] " --" f[2]
}
END {
	for (fn in opts) {
		if (!(fn in cmdof)) {
			n = split(opts[fn], o, " ")
			for (i = 1; i <= n; i++)
				print "?\t" fn "\t" o[i]
			continue
		}
		split(cmdof[fn], p, SUBSEP)
		n = split(opts[fn], o, " ")
		for (i = 1; i <= n; i++)
			print group[p[1]] "\t" p[2] "\t" o[i]
	}
}
EOF
if awk -f "$T/parsers.awk" "$SRC/sshxctl.c" "$SRC"/cmd-*.c >"$T/parsers" && [ -s "$T/parsers" ]; then
	ok "the getopt tables of the commands are read from the sources"
else
	fail_nolog "the getopt tables of the commands are read from the sources" "from $SRC"
fi
fields option | cut -f2-4 | sort -u >"$T/table-options"
grep -v '	--help$' "$T/parsers" | sort -u >"$T/parser-options"
extra=$(comm -23 "$T/parser-options" "$T/table-options")
if [ -z "$extra" ]; then
	ok "every option a command's parser accepts is in its usage ($(wc -l <"$T/parser-options" | tr -d ' ') options)"
else
	fail_nolog "every option a command's parser accepts is in its usage" "not in the usage:" "$extra"
fi

# ---------------------------------------------------------------- operands
comp_is "hosts import completes its FILE operand" "pick-me.txt
pick-dir" hosts import pick
comp_is "perms check completes its PATH operand" "pick-me.txt
pick-dir" perms check pick
comp_is "key import completes its FILE operand" "pick-me.txt
pick-dir" key import pick
comp_is "an operand that is not a file completes to nothing" "" key show ""
comp_is "--opt=VALUE, split by bash at '=', completes the value" "0600
0640
0644" known-hosts export --mode = 06
comp_is "--opt= with nothing after '=' completes every value" "keyscan
known_hosts" hosts import --format = ""
comp_is "a global --db=PATH completes file names" "pick-me.txt
pick-dir" --db = pick
comp_is "a value given as --opt=VALUE is skipped when finding the command" \
    "$(fields command key | cut -f3)" --keyring = x key ""
comp_is "an option's value is skipped when finding the command" "$(fields command key | cut -f3)" \
    --keyring x key ""

done_testing

#!/bin/sh
# sshxctl perms check|fix on a tree like a real ~/.ssh holding sshx's files: every mode beyond
# what OpenSSH users expect is reported and narrowed, stricter modes are kept, symlinks are
# never followed, foreign owners are reported but left alone, and a user who cannot read their
# own file can still fix it.
. "$SSHX_TESTDIR/lib.sh"

: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"
setup_tmpdir
gen_keys ed25519

if [ "$(id -u)" -eq 0 ]; then
	AS_ROOT=1
else
	AS_ROOT=0
fi

# The tree: "PATH MODE-BEFORE MODE-AFTER-FIX KIND", PATH relative to the tree's top ("." is the
# top), modes as stat -c %a prints them; KIND "-" when the mode is already fine.  The symlink
# linked_hosts (pointing at an outside 0666 file) comes on top of these.
TABLE='. 755 700 directory
id_ed25519 644 600 file
id_ed25519.pub 664 644 public-key
known_hosts 666 600 file
sshx.db 640 600 file
sshx.db-wal 644 600 file
keyring 604 600 file
authorized_keys 620 600 file
deploy_key 700 600 file
setuid_key 4600 600 file
sshx 775 700 directory
sshx/agent.sock 666 600 file
config 600 600 -
id_old 400 400 -
archive 500 500 -
archive/old_key 600 600 -'

# Prints a mode as sshxctl does (0644, 4600).
mode4() {
	printf '%04o' "0$1"
}

# Prints the mode a kind may have at most.
allowed_for() {
	case $1 in
	directory) echo 0700 ;;
	public-key) echo 0644 ;;
	*) echo 0600 ;;
	esac
}

# Prints the path sshxctl shows for a table entry under tree TOP: shown TOP REL.
shown() {
	if [ "$2" = . ]; then
		printf '%s\n' "$1"
	else
		printf '%s/%s\n' "$1" "$2"
	fi
}

# Builds the tree under TOP (which must not exist): make_tree TOP.
make_tree() {
	_top=$1
	mkdir -p "$_top/sshx" "$_top/archive"
	cp "$T/keys/ed25519" "$_top/id_ed25519"
	cp "$T/keys/ed25519.pub" "$_top/id_ed25519.pub"
	printf '[127.0.0.1]:2222 %s\n' "$(pub_blob "$T/keys/ed25519.pub")" >"$_top/known_hosts"
	printf 'SQLite format 3\000 not really\n' >"$_top/sshx.db"
	printf 'wal frames\n' >"$_top/sshx.db-wal"
	printf 'SSHXKR keyring bytes\n' >"$_top/keyring"
	cat "$T/keys/ed25519.pub" >"$_top/authorized_keys"
	cp "$T/keys/ed25519" "$_top/deploy_key"
	cp "$T/keys/ed25519" "$_top/setuid_key"
	printf 'Host *\n  IdentityAgent ~/.ssh/agent.sock\n' >"$_top/config"
	cp "$T/keys/ed25519" "$_top/id_old"
	cp "$T/keys/ed25519" "$_top/archive/old_key"
	"$PYTHON_PARAMIKO" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$_top/sshx/agent.sock" || bail "make a socket in the tree" "python could not bind $_top/sshx/agent.sock"
	ln -s "$T/outside_hosts" "$_top/linked_hosts"
	# Deepest first, so that the 0500 directory is filled before it closes.
	printf '%s\n' "$TABLE" | sort -r | while read -r _p _m _a _k; do
		chmod "$_m" "$_top/$_p"
	done
}

# Prints the expected check lines for the tree under TOP, sorted.
expected_check_lines() {
	printf '%s\n' "$TABLE" | while read -r _p _m _a _k; do
		[ "$_k" = - ] && continue
		printf '%s: mode %s, should be %s or stricter\n' "$(shown "$1" "$_p")" "$(mode4 "$_m")" \
			"$(allowed_for "$_k")"
	done | sort
}

# Prints the expected fix lines for the tree under TOP, sorted.
expected_fix_lines() {
	printf '%s\n' "$TABLE" | while read -r _p _m _a _k; do
		[ "$_k" = - ] && continue
		printf '%s: mode %s -> %s\n' "$(shown "$1" "$_p")" "$(mode4 "$_m")" "$(mode4 "$_a")"
	done | sort
}

# Prints "MODE UID PATH" for everything under the given paths (symlinks not followed), sorted.
snapshot() {
	find "$@" -exec stat -c '%a %u %n' {} + | sort
}

# The number of problems in the table, and of paths in a tree (the table plus the symlink).
N_PROBLEMS=$(printf '%s\n' "$TABLE" | grep -vc ' -$')
N_PATHS=$(($(printf '%s\n' "$TABLE" | wc -l) + 1))

# Runs sshxctl, keeping stdout in $T/out, stderr in $T/err and the exit status in $RC.
run() {
	"$SSHXCTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

# Passes when the last run exited EXPECTED: rc_is DESC EXPECTED.
rc_is() {
	if [ "$RC" -eq "$2" ]; then
		ok "$1"
	else
		fail "$1" "expected exit $2, got $RC; stdout:" "$(cat "$T/out")" "stderr:" "$(cat "$T/err")"
	fi
}

# Passes when FILE holds LINE exactly: has_line DESC FILE LINE.
has_line() {
	if grep -Fxq -- "$3" "$2"; then
		ok "$1"
	else
		fail "$1" "expected the line:" "$3" "got:" "$(cat "$2")"
	fi
}

printf 'outside\n' >"$T/outside_hosts"
chmod 666 "$T/outside_hosts"
D=$T/home/.ssh
mkdir -p "$T/home"
make_tree "$D"
snapshot "$D" "$T/outside_hosts" >"$T/before"
CONTENT_FILES="id_ed25519 id_ed25519.pub known_hosts sshx.db sshx.db-wal keyring authorized_keys
deploy_key setuid_key config id_old archive/old_key"
mkdir -p "$T/orig/archive"
for f in $CONTENT_FILES; do
	cp "$D/$f" "$T/orig/$f"
done

# ---------------------------------------------------------------- check

run perms check "$D"
rc_is "check exits 1 when the tree has problems" 1
sed '$d' "$T/out" | sort >"$T/got"
expected_check_lines "$D" >"$T/want"
is "check lists exactly the problems, one 'PATH: mode M, should be A or stricter' line each" \
	"$(cat "$T/want")" "$(cat "$T/got")"
is "check ends with 'N problems in M paths'" "$N_PROBLEMS problems in $N_PATHS paths" "$(tail -n 1 "$T/out")"
if grep -Eq "/(config|id_old|archive|archive/old_key|linked_hosts):" "$T/out"; then
	fail "check does not list the clean, the stricter (0400, 0500) or the symlinked entries" \
		"expected none of config, id_old, archive, archive/old_key, linked_hosts; got:" "$(cat "$T/out")"
else
	ok "check does not list the clean, the stricter (0400, 0500) or the symlinked entries"
fi
has_line "a symlink inside a directory is a note on stderr" "$T/err" \
	"sshxctl: perms: $D/linked_hosts: symlink, not followed; check its target"

run perms check --json "$D"
rc_is "check --json exits 1 too" 1
printf '%s\n' "$TABLE" | while read -r _p _m _a _k; do
	[ "$_k" = - ] || printf '%s|%s|%s|%s\n' "$(shown "$D" "$_p")" "$_k" "$(mode4 "$_m")" "$(allowed_for "$_k")"
done >"$T/json_want"
json_result=$("$PYTHON_PARAMIKO" -c '
import json, sys
d = json.load(open(sys.argv[1]))
want = {tuple(l.rstrip("\n").split("|")) for l in open(sys.argv[2])}
got = {(p["path"], p["kind"], p["mode"], p["expected"]) for p in d["problems"]}
bad = []
if d["paths"] != int(sys.argv[3]):
    bad.append("paths: expected %s, got %r" % (sys.argv[3], d["paths"]))
if d["fixed"] != 0:
    bad.append("fixed: expected 0, got %r" % d["fixed"])
if got != want:
    bad.append("missing: %r; unexpected: %r" % (sorted(want - got), sorted(got - want)))
for p in d["problems"]:
    if p["problem"] != "mode" or p["fixed"] is not False or p["owner_uid"] != int(sys.argv[4]):
        bad.append("expected problem mode, fixed false, owner_uid %s in %r" % (sys.argv[4], p))
print("; ".join(bad) or "good")' "$T/out" "$T/json_want" "$N_PATHS" "$(id -u)" 2>&1)
is "check --json gives paths, every problem with kind, mode, expected, owner_uid, problem, fixed" \
	good "$json_result"

snapshot "$D" "$T/outside_hosts" >"$T/after"
is "check changes no mode" "$(cat "$T/before")" "$(cat "$T/after")"

# ---------------------------------------------------------------- fix

run perms fix "$D"
rc_is "fix exits 0 when it fixed everything" 0
sed '$d' "$T/out" | sort >"$T/got"
expected_fix_lines "$D" >"$T/want"
is "fix prints 'PATH: mode OLD -> NEW' for each change" "$(cat "$T/want")" "$(cat "$T/got")"
is "fix ends with 'fixed N of M problems'" "fixed $N_PROBLEMS of $N_PROBLEMS problems" "$(tail -n 1 "$T/out")"
printf '%s\n' "$TABLE" | {
	while read -r _p _m _a _k; do
		_now=$(stat -c %a "$(shown "$D" "$_p")")
		[ "$_now" = "$_a" ] || printf '%s: expected mode %s, got %s\n' "$_p" "$_a" "$_now"
	done
} >"$T/modes"
if [ -s "$T/modes" ]; then
	fail "every mode is narrowed to the allowed bits; 0400, 0500 and 0600 stay as they were" \
		"$(cat "$T/modes")"
else
	ok "every mode is narrowed to the allowed bits; 0400, 0500 and 0600 stay as they were"
fi
bad=
for f in $CONTENT_FILES; do
	cmp -s "$T/orig/$f" "$D/$f" || bad="$bad $f"
done
is "fix leaves every file's contents as they were (files that differ)" "" "$bad"
is "fix does not follow a symlink inside the tree: its 0666 target keeps its mode" \
	666 "$(stat -c %a "$T/outside_hosts")"
[ -S "$D/sshx/agent.sock" ] && [ -L "$D/linked_hosts" ] &&
	[ "$(readlink "$D/linked_hosts")" = "$T/outside_hosts" ]
is "fix keeps the socket a socket and the symlink the same symlink" 0 "$?"

run perms check "$D"
rc_is "check after fix exits 0" 0
is "check after fix says 'no problems in M paths'" "no problems in $N_PATHS paths" "$(cat "$T/out")"

run perms fix "$D"
rc_is "fix on a clean tree exits 0" 0
is "fix on a clean tree changes nothing and says so" "no problems in $N_PATHS paths" "$(cat "$T/out")"

# ---------------------------------------------------------------- fix --json

make_tree "$T/j"
run perms fix "$T/j" --json
rc_is "fix --json exits 0 when it fixed everything" 0
json_result=$("$PYTHON_PARAMIKO" -c '
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
bad = []
if d["fixed"] != n or len(d["problems"]) != n:
    bad.append("expected %d problems, all fixed; got %d problems, fixed %r" % (n, len(d["problems"]), d["fixed"]))
bad += ["not fixed: %r" % p for p in d["problems"] if p["fixed"] is not True]
print("; ".join(bad) or "good")' "$T/out" "$N_PROBLEMS" 2>&1)
is "fix --json marks every problem fixed and counts them" good "$json_result"

# ---------------------------------------------------------------- symlinks on the command line

printf 'target\n' >"$T/target"
chmod 644 "$T/target"
ln -s "$T/target" "$T/cmdlink"
run perms check "$T/cmdlink"
rc_is "check of a symlink given on the command line exits 1" 1
has_line "check says the symlink is not followed" "$T/out" "$T/cmdlink: is a symlink; not followed"
run perms fix "$T/cmdlink"
rc_is "fix of a symlink given on the command line exits 1 (it cannot fix it)" 1
is "fix does not touch the target of a symlink given on the command line" 644 "$(stat -c %a "$T/target")"
run perms check --json "$T/cmdlink"
json_result=$("$PYTHON_PARAMIKO" -c '
import json, sys
p = json.load(open(sys.argv[1]))["problems"]
print("good" if len(p) == 1 and p[0]["kind"] == "symlink" and p[0]["problem"] == "symlink"
      and p[0]["fixed"] is False else "got %r" % p)' "$T/out" 2>&1)
is "check --json reports the symlink with kind and problem 'symlink'" good "$json_result"

# ---------------------------------------------------------------- missing paths, usage

mkdir -m 700 "$T/m"
printf 'k\n' >"$T/m/key"
chmod 644 "$T/m/key"
run perms check "$T/none" "$T/m"
rc_is "a missing path makes check exit 2 (before 1)" 2
has_line "a missing path is named on stderr" "$T/err" "sshxctl: perms: $T/none does not exist"
has_line "the other paths are still checked" "$T/out" "$T/m/key: mode 0644, should be 0600 or stricter"
run perms fix "$T/m" "$T/none"
rc_is "a missing path makes fix exit 2 too" 2
is "fix still fixes the paths that exist" 600 "$(stat -c %a "$T/m/key")"
run perms check
rc_is "check without a PATH is a usage error" 2
run perms fix
rc_is "fix without a PATH is a usage error" 2
run perms check --frobnicate "$T/m"
rc_is "an unknown option is a usage error" 2
run perms check --help
if [ "$RC" -eq 0 ] && grep -q "^usage: sshxctl perms check .*PATH" "$T/out"; then
	ok "perms check --help explains the command"
else
	fail "perms check --help explains the command" "expected exit 0 and 'usage: sshxctl perms check ... PATH', got exit $RC:" "$(cat "$T/out" "$T/err")"
fi
run perms fix "$T/m" --help
if [ "$RC" -eq 0 ] && grep -q "^usage: sshxctl perms fix .*PATH" "$T/out"; then
	ok "--help after a PATH explains the command too"
else
	fail "--help after a PATH explains the command too" "expected exit 0 and 'usage: sshxctl perms fix ... PATH', got exit $RC:" "$(cat "$T/out" "$T/err")"
fi
run perms check "$T/m/key"
rc_is "a single clean file passes" 0
is "and is counted as one path" "no problems in 1 path" "$(cat "$T/out")"

# ---------------------------------------------------------------- limits

deep=$T/deep
path=$deep
i=1
while [ "$i" -le 16 ]; do
	path=$path/$i
	i=$((i + 1))
done
mkdir -p "$path"
chmod -R 700 "$deep"
run perms check "$deep"
rc_is "16 levels below the path given are checked" 0
mkdir -m 700 "$path/17"
run perms check "$deep"
rc_is "a 17th level is a runtime error (exit 3)" 3
if grep -q "more than 16 levels" "$T/err"; then
	ok "the depth limit is named on stderr"
else
	fail "the depth limit is named on stderr" "expected 'more than 16 levels', got:" "$(cat "$T/err")"
fi

mkdir -m 700 "$T/many"
(cd "$T/many" && seq 1 100001 | xargs touch) || bail "create 100001 files" "touch failed"
run perms check "$T/many"
rc_is "more than 100000 entries is a runtime error (exit 3)" 3
if grep -q "more than 100000 entries" "$T/err"; then
	ok "the entry limit is named on stderr"
else
	fail "the entry limit is named on stderr" "expected 'more than 100000 entries', got:" "$(cat "$T/err")"
fi
rm -rf "$T/many"

# ---------------------------------------------------------------- other owners, other users

if [ "$AS_ROOT" -eq 0 ]; then
	for d in "check reports a file owned by another uid" "fix leaves another uid's file alone" \
		"a user fixes a file they own but cannot read"; do
		ok "$d # SKIP needs root (chown, setpriv); ran as uid $(id -u)"
	done
	done_testing
	exit 0
fi

NOBODY=$(getent passwd 65534 | cut -d: -f1)
[ -n "$NOBODY" ] && NOBODY=" ($NOBODY)"
ROOT_NAME=$(getent passwd 0 | cut -d: -f1)
[ -n "$ROOT_NAME" ] && ROOT_NAME=" ($ROOT_NAME)"
mkdir -m 700 "$T/f"
printf 'theirs\n' >"$T/f/known_hosts"
chmod 644 "$T/f/known_hosts"
chown 65534:65534 "$T/f/known_hosts"
run perms check "$T/f"
rc_is "check exits 1 for a file owned by another uid" 1
has_line "check reports a file owned by another uid" "$T/out" \
	"$T/f/known_hosts: owned by uid 65534$NOBODY, should be uid 0$ROOT_NAME"
run perms fix "$T/f"
rc_is "fix exits 1 when another uid's file remains" 1
has_line "fix says it cannot fix another uid's file" "$T/out" \
	"$T/f/known_hosts: cannot fix: owned by uid 65534$NOBODY; chown it"
is "fix leaves another uid's file alone (mode and owner)" "644 65534" "$(stat -c '%a %u' "$T/f/known_hosts")"
is "fix counts what remains" "fixed 0 of 2 problems" "$(tail -n 1 "$T/out")"

# A user's own tree, fixed by that user: a 0066 file they cannot read is narrowed through
# O_PATH, a 0000 file has nothing beyond 0600 and stays.
chmod 711 "$T"
install -d -m 755 "$T/bin"
cp "$SSHXCTL" "$T/bin/sshxctl"
chmod 755 "$T/bin/sshxctl"
N=$T/np
mkdir -m 755 "$N"
printf 'secret\n' >"$N/unreadable"
printf 'zero\n' >"$N/zero"
printf 'key\n' >"$N/id_rsa"
chmod 066 "$N/unreadable"
chmod 000 "$N/zero"
chmod 640 "$N/id_rsa"
chown -R 65534:65534 "$N"
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$T/bin/sshxctl" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
as_nobody perms check "$N"
rc_is "as a user: check of their own tree exits 1" 1
has_line "as a user: check reports the file they cannot read" "$T/out" \
	"$N/unreadable: mode 0066, should be 0600 or stricter"
as_nobody perms fix "$N"
rc_is "as a user: fix exits 0" 0
has_line "as a user: fix narrows a file they own but cannot read" "$T/out" "$N/unreadable: mode 0066 -> 0000"
is "as a user: the unreadable file is now 0000, the 0000 one untouched, the key 0600, the dir 0700" \
	"0 0 600 700" "$(stat -c %a "$N/unreadable" "$N/zero" "$N/id_rsa" "$N" | tr '\n' ' ' | sed 's/ $//')"
as_nobody perms check "$N"
rc_is "as a user: check after fix exits 0" 0

done_testing

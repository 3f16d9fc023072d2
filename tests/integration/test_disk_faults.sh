#!/bin/sh
# A full disk and a read-only one: keyring writes, database writes and known_hosts exports on a
# tiny tmpfs filled to the last block, then remounted read-only, fail with a clear error naming
# the cause, exit non-zero, and leave every file as it was (same bytes, no temporary file left,
# the database passes PRAGMA integrity_check with the same rows).
#
# Needs root (mount); the tmpfs is private to the test and unmounted at exit.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home
[ "$(id -u)" -eq 0 ] || bail "runs as root" "mounting a tmpfs needs root, got uid $(id -u)"

M=$T/fs
mkdir -m 700 "$M"
mount -t tmpfs -o size=512k,mode=700 sshx-test "$M" || bail "mount a 512 KiB tmpfs" "mount failed"
# Unmount before lib.sh removes $T (the trap runs this first, then _cleanup).
trap 'umount -l "$M" 2>/dev/null; _cleanup' EXIT

pass_file "$T/pass" 'disk fault passphrase'
KR=$M/keyring
DB=$M/sshx.db
KH=$M/known_hosts

ctl() {
	setsid -w timeout -k 2 60 "$SSHXCTL" --keyring "$KR" --db "$DB" --passphrase-file "$T/pass" "$@" \
		</dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# Host lines for an import: N hosts with one ed25519 key each (one key, many names).
ssh-keygen -q -t ed25519 -N '' -f "$T/hk" -C ''
hosts_file() {
	_i=0
	: >"$2"
	while [ "$_i" -lt "$1" ]; do
		printf 'h%s-%d.example.com %s\n' "$3" "$_i" "$(cut -d' ' -f1,2 "$T/hk.pub")" >>"$2"
		_i=$((_i + 1))
	done
}

# State of every file on the tmpfs: names, sizes and contents.
snapshot() {
	# SQLite's -wal and -shm files come and go with connections; the rows are checked apart.
	(cd "$M" && find . -type f ! -name '*-wal' ! -name '*-shm' | LC_ALL=C sort | while read -r f; do
		printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -d' ' -f1)"
	done)
}

db_rows() {
	"$PYTHON_PARAMIKO" - "$DB" <<'EOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("PRAGMA integrity_check").fetchone()[0], c.execute("SELECT count(*) FROM hosts").fetchone()[0])
EOF
}

# ---------------------------------------------------------------- set-up on the tmpfs

ctl keyring init
[ "$RC" -eq 0 ] || bail "keyring init on the tmpfs" "$(cat "$T/err")"
ctl key generate --name first
[ "$RC" -eq 0 ] || bail "key generate on the tmpfs" "$(cat "$T/err")"
hosts_file 20 "$T/hosts1" a
ctl hosts import "$T/hosts1"
[ "$RC" -eq 0 ] || bail "hosts import on the tmpfs" "$(cat "$T/err")"
ctl known-hosts export --out "$KH"
[ "$RC" -eq 0 ] || bail "known-hosts export on the tmpfs" "$(cat "$T/err")"
is "the database holds 20 hosts before the faults" "ok 20" "$(db_rows)"

# The attempts made on each kind of fault: DESC, then the command (its result goes to $T/err).
hosts_file 2000 "$T/hosts2" b
attempts() {
	_what=$1
	_before=$(snapshot)
	ctl key generate --name second
	check "$_what: key generate fails (exit $RC)" [ "$RC" -ne 0 ]
	check "$_what: ... and says why ($(head -n 1 "$T/err"))" grep -Eqi "$2" "$T/err"
	ctl key rotate first --grace 1h
	check "$_what: key rotate fails (exit $RC)" [ "$RC" -ne 0 ]
	check "$_what: ... and says why ($(head -n 1 "$T/err"))" grep -Eqi "$2" "$T/err"
	ctl hosts import "$T/hosts2"
	check "$_what: hosts import of 2000 hosts fails (exit $RC)" [ "$RC" -ne 0 ]
	check "$_what: ... and says why ($(head -n 1 "$T/err"))" grep -Eqi "$2" "$T/err"
	ctl hosts add new.example.com ssh-ed25519 "$(cut -d' ' -f2 "$T/hk.pub")"
	check "$_what: hosts add fails (exit $RC)" [ "$RC" -ne 0 ]
	ctl known-hosts export --out "$KH" --hash
	check "$_what: known-hosts export fails (exit $RC)" [ "$RC" -ne 0 ]
	check "$_what: ... and says why ($(head -n 1 "$T/err"))" grep -Eqi "$2" "$T/err"
	ctl known-hosts export --out "$M/new_known_hosts"
	check "$_what: known-hosts export to a new file fails (exit $RC)" [ "$RC" -ne 0 ]
	is "$_what: every file is as it was, and no temporary file is left" "$_before" "$(snapshot)"
	is "$_what: the database passes integrity_check and still holds 20 hosts" "ok 20" "$(db_rows)"
	ctl key list --json
	is "$_what: the keyring still opens (exit of key list)" 0 "$RC"
}

# ---------------------------------------------------------------- full

dd if=/dev/zero of="$M/filler" bs=4k >/dev/null 2>&1
df -k "$M" | tail -n 1 | while read -r _ _ _ avail _; do diag "free on the tmpfs after filling: ${avail} KiB"; done
attempts "disk full" 'no space|full'
rm -f "$M/filler"

# ---------------------------------------------------------------- read-only

mount -o remount,ro "$M" || bail "remount the tmpfs read-only" "mount -o remount,ro failed"
attempts "read-only" 'read-only'
mount -o remount,rw "$M"

# Once there is room again, the same commands work.
ctl key generate --name second
is "after the faults key generate works again" 0 "$RC"
ctl hosts add new.example.com ssh-ed25519 "$(cut -d' ' -f2 "$T/hk.pub")"
is "after the faults hosts add works again ($(head -n 1 "$T/err"))" 0 "$RC"
is "... and the database holds 21 hosts" "ok 21" "$(db_rows)"
ctl known-hosts export --out "$KH"
is "after the faults known-hosts export works again" 0 "$RC"

done_testing

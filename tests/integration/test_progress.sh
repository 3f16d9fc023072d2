#!/bin/sh
# Progress of long operations: importing and exporting 100,000 hosts and re-encrypting the
# keyring show progress on stderr when it is a terminal (a pseudo-terminal made by script(1))
# and print nothing extra when it is a file or a pipe; stdout, the files written and the exit
# codes are the same either way.
#
# script(1) joins the command's stdout and stderr on the terminal, so every command run under
# it sends its stdout to a file: what the typescript holds is stderr alone.
# shellcheck shell=sh

# shellcheck source=tests/integration/lib.sh
. "${SSHX_TESTDIR:?}/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

if ! command -v script >/dev/null 2>&1; then
	echo "1..0 # SKIP script(1) from util-linux is not installed (needed for a pseudo-terminal)"
	exit 0
fi

setup_tmpdir
isolate_home

NHOSTS=100000
ESC=$(printf '\033')
CR=$(printf '\r')

# Runs a shell command line under a pseudo-terminal, the terminal's output in $T/$1.ts, the
# exit code in PTY_RC: on_pty NAME COMMAND-LINE.
on_pty() {
	script -qec "$2" /dev/null </dev/null >"$T/$1.ts" 2>&1
	PTY_RC=$?
}

# Turns a typescript's carriage returns into line ends, so that each redraw is a line.
redraws() {
	tr '\r' '\n' <"$1"
}

# Passes when a file holds no terminal control at all (no CR, no ESC): plain DESC FILE.
plain() {
	if grep -q "[$CR$ESC]" "$2"; then
		fail_nolog "$1" "expected no carriage return or escape sequence, got:" "$(cat -v "$2")"
	else
		ok "$1"
	fi
}

# Passes when a file holds an extended regular expression: has DESC FILE ERE.
has() {
	if grep -Eq "$3" "$2"; then
		ok "$1"
	else
		fail_nolog "$1" "expected a line matching /$3/, got:" "$(cat -v "$2" | tail -c 2000)"
	fi
}

# Passes when two files are byte for byte the same: same_file DESC A B.
same_file() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail_nolog "$1" "expected identical files, got:" "$(diff "$2" "$3" | head -n 10)"
	fi
}

# ---------------------------------------------------------------- input

# A handful of real host keys, spread over 100,000 names in keyscan's "HOST TYPE BASE64" form.
mkdir -p "$T/keys"
for _k in 1 2 3; do
	ssh-keygen -q -t ed25519 -N '' -f "$T/keys/h$_k" >/dev/null 2>&1 || bail "generate host key $_k" "ssh-keygen failed"
done
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$T/keys/h4" >/dev/null 2>&1 || bail "generate host key 4" "ssh-keygen failed"
cat "$T"/keys/h*.pub | cut -d' ' -f1,2 >"$T/keys/all"
awk -v n="$NHOSTS" 'NR == FNR { k[m++] = $0; next }
	END { for (i = 0; i < n; i++) printf "host%d.example %s\n", i, k[i % m] }' "$T/keys/all" /dev/null >"$T/in.txt"
is "the input has $NHOSTS lines" "$NHOSTS" "$(wc -l <"$T/in.txt" | tr -d ' ')"

# ---------------------------------------------------------------- (a) import on a terminal

t0=$(now_ms)
on_pty import "'$SSHXCTL' --db '$T/pty.db' hosts import --format keyscan '$T/in.txt' >'$T/import.pty.out'"
t1=$(now_ms)
is "hosts import on a terminal exits 0" 0 "$PTY_RC"
redraws "$T/import.ts" >"$T/import.lines"
has "hosts import on a terminal shows a running count" "$T/import.lines" \
	"^hosts import: [1-9][0-9]{0,4}$ESC\\[K\$"
has "hosts import on a terminal shows the final count" "$T/import.lines" \
	"^hosts import: $NHOSTS$ESC\\[K\$"
if tail -c 4 "$T/import.ts" | od -An -c | tr -d ' \n' | grep -q '^\\r033\[K$'; then
	ok "hosts import on a terminal leaves the progress line erased"
else
	fail_nolog "hosts import on a terminal leaves the progress line erased" \
		"expected the typescript to end with CR ESC [K, got:" "$(tail -c 40 "$T/import.ts" | od -An -c)"
fi
if grep -v "^hosts import: [0-9]*$ESC\\[K\$" "$T/import.lines" | grep -q "[^$ESC[K]"; then
	fail_nolog "hosts import writes only progress to the terminal's stderr" "got:" \
		"$(grep -v "^hosts import: [0-9]*$ESC\\[K\$" "$T/import.lines" | cat -v | head -n 5)"
else
	ok "hosts import writes only progress to the terminal's stderr"
fi
"$SSHXCTL" --db "$T/pty.db" hosts list >"$T/list.out" 2>"$T/list.err"
is "the database holds $NHOSTS hosts after the import on a terminal" "$NHOSTS" \
	"$(cut -d' ' -f1 "$T/list.out" | sort -u | wc -l | tr -d ' ')"
plain "hosts import's stdout holds no terminal control" "$T/import.pty.out"

# ---------------------------------------------------------------- (b) import to a file

t2=$(now_ms)
"$SSHXCTL" --db "$T/file.db" hosts import --format keyscan "$T/in.txt" >"$T/import.file.out" 2>"$T/import.file.err"
rc=$?
t3=$(now_ms)
is "hosts import with stderr in a file exits 0" 0 "$rc"
is "hosts import with stderr in a file writes nothing to it" "" "$(cat "$T/import.file.err")"
same_file "hosts import's stdout is the same with and without a terminal" "$T/import.pty.out" "$T/import.file.out"
diag "hosts import of $NHOSTS hosts: $((t1 - t0)) ms on a terminal, $((t3 - t2)) ms to a file"

# A refused input ends the same way on a terminal: same exit code, same stdout, the error
# message on a line of its own after the erased progress line.
head -n 2000 "$T/in.txt" >"$T/bad.txt"
echo "host-bad.example ssh-ed25519 not-base64" >>"$T/bad.txt"
on_pty bad "'$SSHXCTL' --db '$T/bad.db' hosts import --format keyscan '$T/bad.txt' >'$T/bad.pty.out'"
"$SSHXCTL" --db "$T/bad2.db" hosts import --format keyscan "$T/bad.txt" >"$T/bad.file.out" 2>"$T/bad.file.err"
rc=$?
is "a refused import exits 2 without a terminal" 2 "$rc"
is "a refused import exits the same on a terminal" "$rc" "$PTY_RC"
same_file "a refused import's stdout is the same with and without a terminal" "$T/bad.pty.out" "$T/bad.file.out"
plain "a refused import's stderr in a file holds no terminal control" "$T/bad.file.err"
redraws "$T/bad.ts" >"$T/bad.lines"
has "a refused import's error starts its own line on a terminal" "$T/bad.lines" \
	"^$ESC\\[Ksshxctl: hosts import: .*line 2001"

# ---------------------------------------------------------------- (c) export

t4=$(now_ms)
on_pty export "'$SSHXCTL' --db '$T/pty.db' known-hosts export --out '$T/kh.pty' >'$T/export.pty.out'"
t5=$(now_ms)
is "known-hosts export on a terminal exits 0" 0 "$PTY_RC"
redraws "$T/export.ts" >"$T/export.lines"
has "known-hosts export on a terminal starts with the total" "$T/export.lines" \
	"^known-hosts export: 0/$NHOSTS \\(0%\\)$ESC\\[K\$"
has "known-hosts export on a terminal shows the final count" "$T/export.lines" \
	"^known-hosts export: $NHOSTS/$NHOSTS \\(100%\\)$ESC\\[K\$"
has "known-hosts export's summary follows the erased line" "$T/export.lines" \
	"^${ESC}\\[Kwrote $NHOSTS keys for $NHOSTS hosts to $T/kh.pty\$"

t6=$(now_ms)
{ "$SSHXCTL" --db "$T/pty.db" known-hosts export --out "$T/kh.pipe" >"$T/export.pipe.out"; echo $? >"$T/export.rc"; } 2>&1 |
	cat >"$T/export.pipe.err"
t7=$(now_ms)
is "known-hosts export with stderr in a pipe exits 0" 0 "$(cat "$T/export.rc")"
is "known-hosts export with stderr in a pipe prints only its summary" \
	"wrote $NHOSTS keys for $NHOSTS hosts to $T/kh.pipe" "$(cat "$T/export.pipe.err")"
same_file "the exported file is the same with and without a terminal" "$T/kh.pty" "$T/kh.pipe"
same_file "known-hosts export's stdout is the same with and without a terminal" \
	"$T/export.pty.out" "$T/export.pipe.out"
is "the exported file has a line per host" "$NHOSTS" "$(wc -l <"$T/kh.pipe" | tr -d ' ')"
diag "known-hosts export of $NHOSTS hosts: $((t5 - t4)) ms on a terminal, $((t7 - t6)) ms to a pipe"

# ---------------------------------------------------------------- (d) keyring re-encryption

pass_file "$T/p1" 'the first passphrase'
pass_file "$T/p2" 'the second passphrase'
pass_file "$T/p3" 'the third passphrase'
KR=$T/kr/keyring
on_pty init "'$SSHXCTL' --keyring '$KR' --passphrase-file '$T/p1' keyring init --kdf-memory 8 --kdf-time 1 >'$T/init.out'"
is "keyring init on a terminal exits 0" 0 "$PTY_RC"
has "keyring init on a terminal notes the derivation with its cost" "$T/init.ts" \
	"^deriving the keyring key \\(argon2id, 8 MiB, t=1\\)\\.\\.\\. done in [0-9]+\\.[0-9] s"

on_pty passwd "'$SSHXCTL' --keyring '$KR' --passphrase-file '$T/p1' keyring passwd --new-passphrase-file '$T/p2' >'$T/passwd.pty.out'"
is "keyring passwd on a terminal exits 0" 0 "$PTY_RC"
has "keyring passwd on a terminal notes the new key's derivation" "$T/passwd.ts" \
	"^deriving the keyring key \\(argon2id, 64 MiB, t=3\\)\\.\\.\\. done in [0-9]+\\.[0-9] s"
is "keyring passwd on a terminal prints nothing else on stderr" 1 \
	"$(tr -d '\r' <"$T/passwd.ts" | grep -c .)"

"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/p2" keyring passwd --new-passphrase-file "$T/p3" \
	>"$T/passwd.file.out" 2>"$T/passwd.file.err"
rc=$?
is "keyring passwd with stderr in a file exits 0" 0 "$rc"
is "keyring passwd with stderr in a file writes nothing to it" "" "$(cat "$T/passwd.file.err")"
same_file "keyring passwd's stdout is the same with and without a terminal" \
	"$T/passwd.pty.out" "$T/passwd.file.out"
check "the keyring opens with the last passphrase" \
	"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/p3" key list

done_testing

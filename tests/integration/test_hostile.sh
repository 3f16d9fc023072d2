#!/bin/sh
# Hostile and demanding clients: another uid, malformed frames, 200 connections at once,
# clients stalled in mid-frame, large requests.  The agent must refuse, survive and keep serving.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
gen_keys
start_agent
for k in $KEY_TYPES; do
	ssh-add "$T/keys/$k" >"$T/add.out" 2>&1 || bail "ssh-add $k" "ssh-add failed: $(cat "$T/add.out")"
done
set --
for k in $KEY_TYPES; do
	set -- "$@" "$T/pub/$k.pub"
done
expected_L=$(cat "$T/keys/ed25519.pub" "$T/keys/ecdsa256.pub" "$T/keys/ecdsa384.pub" \
	"$T/keys/ecdsa521.pub" "$T/keys/rsa3072.pub")

# --- (a) another uid.  Open the way through the file system for this test only, so that the
# kernel lets uid sshxtest connect: refusing it is then the agent's job (SO_PEERCRED).
ensure_user "$OTHER_USER" -M
chmod 711 "$T"
chmod 666 "$SOCK"
is "root is answered before another uid tries" "$expected_L" "$(ssh-add -L 2>&1)"
# Meanwhile root keeps listing, one line per answer: ok or what came instead.
(
	while [ ! -e "$T/root-loop.stop" ]; do
		got=$(ssh-add -L 2>&1)
		if [ "$got" = "$expected_L" ]; then echo ok; else echo "bad: $got"; fi
		sleep 0.05
	done
) >"$T/root-loop" 2>&1 &
loop_pid=$!
_pids="$_pids $loop_pid"
run_py --as "$OTHER_USER" hostile.py peer-refused "$SOCK"
touch "$T/root-loop.stop"
wait "$loop_pid"
n_ok=$(grep -c '^ok$' "$T/root-loop")
n_bad=$(grep -vc '^ok$' "$T/root-loop")
if [ "$n_ok" -gt 0 ] && [ "$n_bad" -eq 0 ]; then
	ok "root is answered normally while another uid is refused ($n_ok listings)"
else
	fail "root is answered normally while another uid is refused" \
		"expected every ssh-add -L of root to list the 5 keys, got $n_ok right and $n_bad wrong:" \
		"$(grep -v '^ok$' "$T/root-loop" | head -n 5)"
fi
is "root is still answered normally after another uid was refused" "$expected_L" "$(ssh-add -L 2>&1)"
chmod 600 "$SOCK"
chmod 700 "$T"

# --- (b) 1,000 malformed frames while a well-behaved client lists and signs.
run_py hostile.py garbage "$SOCK" "$@"
if pid_alive "$AGENT_PID"; then
	ok "the agent process is still alive after the malformed frames"
else
	bail "the agent process is still alive after the malformed frames" "expected pid $AGENT_PID running, it is gone"
fi
is "after the malformed frames ssh-add -L lists exactly the keys added" "$expected_L" "$(ssh-add -L 2>&1)"

# --- (c) 200 connections at once.
run_py hostile.py concurrent "$SOCK" "$@"

# --- (d) clients stalled in mid-frame.
run_py hostile.py stall "$SOCK" "$@"

# --- (e) large but valid requests: 200 KiB of data to sign, and a frame of exactly 256 KiB.
run_py hostile.py large "$SOCK" "$@"

if pid_alive "$AGENT_PID"; then
	ok "the agent process is still alive at the end"
else
	fail "the agent process is still alive at the end" "expected pid $AGENT_PID running, it is gone"
fi

done_testing

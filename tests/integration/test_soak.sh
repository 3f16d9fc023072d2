#!/bin/sh
# Soak: SSHX_SOAK_CLIENTS (64) clients list, sign, add and remove at random against one agentd
# for SSHX_SOAK_SECONDS (30 in make check; make soak runs 300), while another process imports
# and exports hosts in a loop: no failed or wrong reply (every signature verified), resident
# memory growth under 1 MiB after the warm-up, no descriptor leak, and every import and export
# of the concurrent loop succeeds.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home

SECONDS_=${SSHX_SOAK_SECONDS:-30}
CLIENTS=${SSHX_SOAK_CLIENTS:-64}
mkdir -m 700 "$T/db"
for spec in ed25519: ecdsa:256 rsa:3072; do
	t=${spec%%:*}
	b=${spec#*:}
	ssh-keygen -q -t "$t" ${b:+-b "$b"} -N '' -C "shared $t" -f "$T/shared_$t" ||
		bail "ssh-keygen $t" "failed"
done
start_agent
for t in ed25519 ecdsa rsa; do
	ssh-add "$T/shared_$t" >/dev/null 2>&1 || bail "ssh-add shared_$t" "failed"
done

# The concurrent host store work: imports of 500 hosts and exports, until $T/stop appears.
ssh-keygen -q -t ed25519 -N '' -f "$T/hk" -C ''
HK=$(cut -d' ' -f1,2 "$T/hk.pub")
(
	i=0
	runs=0
	bad=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		awk -v r="$i" -v k="$HK" 'BEGIN { for (j = 0; j < 500; j++) printf "s%d-%d.example.com %s\n", r, j, k }' \
			>"$T/batch"
		if ! "$SSHXCTL" --db "$T/db/sshx.db" hosts import "$T/batch" </dev/null >/dev/null \
			2>"$T/step.err"; then
			bad=$((bad + 1))
			sed "s/^/import $i: /" "$T/step.err" >>"$T/loop.err"
		fi
		if ! "$SSHXCTL" --db "$T/db/sshx.db" known-hosts export --out "$T/db/known_hosts" \
			</dev/null >/dev/null 2>"$T/step.err"; then
			bad=$((bad + 1))
			sed "s/^/export $i: /" "$T/step.err" >>"$T/loop.err"
		fi
		runs=$((runs + 2))
	done
	echo "$runs $bad" >"$T/loop.result"
) &
LOOP_PID=$!
_pids="$_pids $LOOP_PID"

timeout -k 5 $((SECONDS_ + 120)) "$PYTHON_PARAMIKO" -u "$SSHX_TESTDIR/soak.py" "$SOCK" "$AGENT_PID" \
	"$SECONDS_" "$CLIENTS" "$T/shared_ed25519.pub" "$T/shared_ecdsa.pub" "$T/shared_rsa.pub" \
	>"$T/soak.out" 2>&1
rc=$?
touch "$T/stop"
wait "$LOOP_PID"
relay_points "$T/soak.out"
is "soak.py ran to completion (exit status)" 0 "$rc"
read -r runs bad <"$T/loop.result"
diag "host store loop: $runs imports and exports alongside the clients"
check "the concurrent host imports and exports ran ($runs)" [ "$runs" -gt 0 ]
is "... and every one of them succeeded" "0" "$bad"
[ "$bad" -eq 0 ] || diag "$(head -n 10 "$T/loop.err")"
check "agentd is still running" pid_alive "$AGENT_PID"

done_testing

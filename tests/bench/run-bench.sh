#!/bin/bash
# Sign throughput and latency of agentd against OpenSSH's ssh-agent holding
# the same keys, measured in one run on one machine; for one connection, also
# against libgcrypt's own in-process signing rate (gcry_pk_sign, taken in the
# same rounds) and sshx's in-process rate; and what agentd's audit trail costs (a database in the temp dir against --no-audit). Figures only:
# the exit status is non-zero when something failed to run, never for a
# missed target.
#
# Each figure is split into rounds that alternate between the two agents
# (sshx first, then OpenSSH first, ...), and the median round is reported:
# on a small, shared machine the CPU time available drifts, and alternating
# keeps that drift from favouring whichever agent happened to run in the
# quiet second.
#
# Environment:
#   AGENTD          the agentd binary (required)
#   AGENTBENCH      the agentbench binary (required)
#   SSH_AGENT_BIN   OpenSSH's ssh-agent (default: ssh-agent on PATH)
#   BENCH_SECONDS   measured seconds per figure, over all its rounds (default 3)
#   BENCH_ROUNDS    rounds per figure (default 3)
#   BENCH_WARMUP    warm-up seconds before each round (default 0.5)
#   BENCH_TYPES     key types to run (default: all five)
#   BENCH_CONNS     connection counts to run (default: "1 8")
#   BENCH_AUDIT_TYPES  key types of the audit comparison (default: ssh-ed25519;
#                   empty skips it)
#   BENCH_VERBOSE   when set, every round's result line goes to stderr

# make runs this with $(SHELL), which may not be bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -u
export LC_ALL=C

: "${AGENTD:?AGENTD must name the agentd binary}"
: "${AGENTBENCH:?AGENTBENCH must name the agentbench binary}"
SSH_AGENT_BIN=${SSH_AGENT_BIN:-$(command -v ssh-agent)}
BENCH_SECONDS=${BENCH_SECONDS:-3}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_WARMUP=${BENCH_WARMUP:-0.5}
BENCH_TYPES=${BENCH_TYPES:-ssh-ed25519 ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 ssh-rsa}
BENCH_CONNS=${BENCH_CONNS:-1 8}
BENCH_AUDIT_TYPES=${BENCH_AUDIT_TYPES-ssh-ed25519}
BENCH_VERBOSE=${BENCH_VERBOSE:-}

dir=
sshx_pid=
openssh_pid=
noaudit_pid=

die() {
	echo "run-bench.sh: $*" >&2
	exit 1
}

# Notes a failure without stopping: the other figures are still worth having.
# A file, not a variable, because figures are taken in command substitutions.
note_failure() {
	echo "run-bench.sh: $*" >&2
	: >"$dir/failed"
}

# Stops the agents this script started and removes the temp dir; shows the
# agents' logs when the run failed. Runs from the EXIT trap.
# shellcheck disable=SC2317
cleanup() {
	local status=$? pid log
	for pid in $sshx_pid $openssh_pid $noaudit_pid; do
		kill "$pid" 2>/dev/null
	done
	for pid in $sshx_pid $openssh_pid $noaudit_pid; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "$dir" ] && [ -d "$dir" ]; then
		if [ "$status" -ne 0 ] || [ -e "$dir/failed" ]; then
			for log in "$dir"/*.log; do
				[ -s "$log" ] || continue
				echo "--- $(basename "$log") (last 20 lines)" >&2
				tail -n 20 "$log" >&2
			done
		fi
		rm -rf "$dir"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints the value of KEY in an agentbench result line, or "-": field LINE KEY.
field() {
	local w
	for w in $1; do
		case $w in
		"$2"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	echo "-"
}

# Prints the median of KEY over the result lines on stdin, or "-" when none has it.
median() {
	local line
	while IFS= read -r line; do
		[ -n "$line" ] && field "$line" "$1"
	done | grep -v '^-$' | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) print "-"
			else if (NR % 2) print v[(NR + 1) / 2]
			else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# Prints a/b with two decimals, or "-" when either is missing or b is zero.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b
	}'
}

# Prints the ssh-keygen arguments for a key type.
keygen_args() {
	case $1 in
	ssh-ed25519) echo "-t ed25519" ;;
	ecdsa-sha2-nistp256) echo "-t ecdsa -b 256" ;;
	ecdsa-sha2-nistp384) echo "-t ecdsa -b 384" ;;
	ecdsa-sha2-nistp521) echo "-t ecdsa -b 521" ;;
	ssh-rsa) echo "-t rsa -b 3072" ;;
	*) return 1 ;;
	esac
}

# Waits up to five seconds for a daemon's socket: wait_socket PATH PID.
wait_socket() {
	local _
	for _ in $(seq 50); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# Runs agentbench and prints its result line (nothing when it printed none);
# a non-zero exit is noted as a failure: bench LABEL ARGS...
bench() {
	local label=$1 out rc
	shift
	out=$("$AGENTBENCH" "$@" 2>"$dir/bench.err")
	rc=$?
	if [ "$rc" -ne 0 ] || [ -z "$out" ]; then
		sed 's/^/    /' "$dir/bench.err" >&2
		note_failure "$label: agentbench $* exited with status $rc"
	fi
	[ -n "$BENCH_VERBOSE" ] && echo "  $label: $out" >&2
	echo "$out"
}

# ------------------------------------------------------------------ set-up

for bin in "$AGENTD" "$AGENTBENCH" "$SSH_AGENT_BIN"; do
	[ -x "$bin" ] || die "not an executable: '$bin'"
done
case $BENCH_ROUNDS in
'' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a positive integer" ;;
esac
round_secs=$(awk -v s="$BENCH_SECONDS" -v r="$BENCH_ROUNDS" 'BEGIN { printf "%.3f\n", s / r }')

# The ssh-add and ssh-keygen of the same OpenSSH as the agent, when it has them.
ossh_dir=$(dirname "$SSH_AGENT_BIN")
SSH_ADD=$ossh_dir/ssh-add
SSH_KEYGEN=$ossh_dir/ssh-keygen
[ -x "$SSH_ADD" ] || SSH_ADD=$(command -v ssh-add) || die "ssh-add not found"
[ -x "$SSH_KEYGEN" ] || SSH_KEYGEN=$(command -v ssh-keygen) || die "ssh-keygen not found"

# Short, so that the socket paths stay well under sun_path's 108 bytes.
dir=$(mktemp -d /tmp/sxb.XXXXXX) || die "cannot create a temp dir"
chmod 700 "$dir"

keys=
for type in $BENCH_TYPES; do
	args=$(keygen_args "$type") || die "unknown key type '$type'"
	# shellcheck disable=SC2086 # args is a word list on purpose
	"$SSH_KEYGEN" -q $args -N '' -C "bench-$type" -f "$dir/id_$type" </dev/null \
	    >"$dir/keygen.log" 2>&1 || die "ssh-keygen $args failed: $(cat "$dir/keygen.log")"
	keys="$keys $dir/id_$type"
done
ntypes=$(echo "$BENCH_TYPES" | wc -w)

# agentd reads no personal configuration, keyring or database; no agent
# inherits socket activation. The agentd compared with OpenSSH runs as
# installed, with its audit trail in a database (here in the temp dir); a
# second one runs with --no-audit for the cost of that trail.
mkdir -p "$dir/config" "$dir/data"
env -u LISTEN_PID -u LISTEN_FDS -u SSHX_DB XDG_CONFIG_HOME="$dir/config" \
    XDG_DATA_HOME="$dir/data" \
    "$AGENTD" -D -a "$dir/sshx.sock" --db "$dir/audit.db" </dev/null >"$dir/agentd.log" 2>&1 &
sshx_pid=$!
noaudit=
if [ -n "$BENCH_AUDIT_TYPES" ]; then
	env -u LISTEN_PID -u LISTEN_FDS -u SSHX_DB XDG_CONFIG_HOME="$dir/config" \
	    XDG_DATA_HOME="$dir/data" \
	    "$AGENTD" -D -a "$dir/noaudit.sock" --no-audit </dev/null \
	    >"$dir/agentd-noaudit.log" 2>&1 &
	noaudit_pid=$!
	noaudit=noaudit
fi
env -u LISTEN_PID -u LISTEN_FDS \
    "$SSH_AGENT_BIN" -D -a "$dir/openssh.sock" </dev/null >"$dir/ssh-agent.log" 2>&1 &
openssh_pid=$!
wait_socket "$dir/sshx.sock" "$sshx_pid" || die "agentd did not start: $AGENTD"
wait_socket "$dir/openssh.sock" "$openssh_pid" || die "ssh-agent did not start: $SSH_AGENT_BIN"
if [ -n "$noaudit" ]; then
	wait_socket "$dir/noaudit.sock" "$noaudit_pid" || die "agentd --no-audit did not start: $AGENTD"
fi

for name in sshx openssh $noaudit; do
	sock=$dir/$name.sock
	# shellcheck disable=SC2086 # keys is a word list of paths without spaces
	SSH_AUTH_SOCK=$sock "$SSH_ADD" -q $keys </dev/null >"$dir/ssh-add.log" 2>&1 ||
	    die "ssh-add to $name failed: $(cat "$dir/ssh-add.log")"
	n=$(SSH_AUTH_SOCK=$sock "$SSH_ADD" -l </dev/null | wc -l)
	[ "$n" -eq "$ntypes" ] || die "$name lists $n keys after adding $ntypes"
done

# ------------------------------------------------------------------ runs

ossh_version=
[ -x "$ossh_dir/ssh" ] && ossh_version=" ($("$ossh_dir/ssh" -V 2>&1))"
echo "sshx agent benchmark: $(nproc) CPUs; each figure is the median of $BENCH_ROUNDS" \
    "rounds of ${round_secs}s after ${BENCH_WARMUP}s warm-up, alternating agents"
echo "  agentd:    $AGENTD (audit trail in a database)"
echo "  ssh-agent: $SSH_AGENT_BIN$ossh_version"
echo "  rates in signatures per second, latencies in microseconds (p50/p99);"
echo "  ratio = sshx/openssh; for 1 connection, in the same rounds, libgcrypt/s ="
echo "  gcry_pk_sign in one thread of this process tree (/libgcrypt = sshx/that),"
echo "  and inproc/s = sshx's own key code in process (/inproc = sshx/that)"
echo
fmt="%-20s %5s %9s %9s %6s %19s %19s %11s %10s %9s %7s\n"
# shellcheck disable=SC2059 # fmt is this script's own format
printf "$fmt" "type" "conns" "sshx/s" "openssh/s" "ratio" "sshx p50/p99" "openssh p50/p99" \
    "libgcrypt/s" "/libgcrypt" "inproc/s" "/inproc"

ed8_ratio=-
ed1_gcrypt=-
ed1_inproc=-
for type in $BENCH_TYPES; do
	inproc=$(bench "$type inproc" inproc -t "$type" -d "$BENCH_SECONDS" -w "$BENCH_WARMUP")
	inproc_rate=$(field "$inproc" rate)
	for conns in $BENCH_CONNS; do
		sshx_lines=
		openssh_lines=
		gcrypt_lines=
		for round in $(seq "$BENCH_ROUNDS"); do
			if [ $((round % 2)) -eq 1 ]; then order="sshx openssh"; else order="openssh sshx"; fi
			# libgcrypt's own rate is the yardstick for one connection.
			if [ "$conns" -eq 1 ]; then order="$order gcrypt"; fi
			for name in $order; do
				if [ "$name" = gcrypt ]; then
					line=$(bench "$type libgcrypt round $round" gcrypt \
					    -t "$type" -d "$round_secs" -w "$BENCH_WARMUP")
					gcrypt_lines="$gcrypt_lines$line"$'\n'
					continue
				fi
				line=$(bench "$type $name conns=$conns round $round" sock \
				    -a "$dir/$name.sock" -t "$type" -c "$conns" \
				    -d "$round_secs" -w "$BENCH_WARMUP")
				if [ "$name" = sshx ]; then
					sshx_lines="$sshx_lines$line"$'\n'
				else
					openssh_lines="$openssh_lines$line"$'\n'
				fi
			done
		done
		s_rate=$(median rate <<<"$sshx_lines")
		o_rate=$(median rate <<<"$openssh_lines")
		s_lat="$(median p50_us <<<"$sshx_lines")/$(median p99_us <<<"$sshx_lines")"
		o_lat="$(median p50_us <<<"$openssh_lines")/$(median p99_us <<<"$openssh_lines")"
		vs_openssh=$(ratio "$s_rate" "$o_rate")
		ip_rate=-
		vs_inproc=-
		g_rate=-
		vs_gcrypt=-
		if [ "$conns" -eq 1 ]; then
			ip_rate=$inproc_rate
			vs_inproc=$(ratio "$s_rate" "$inproc_rate")
			g_rate=$(median rate <<<"$gcrypt_lines")
			vs_gcrypt=$(ratio "$s_rate" "$g_rate")
		fi
		# shellcheck disable=SC2059
		printf "$fmt" "$type" "$conns" "$s_rate" "$o_rate" "$vs_openssh" \
		    "$s_lat" "$o_lat" "$g_rate" "$vs_gcrypt" "$ip_rate" "$vs_inproc"
		if [ "$type" = ssh-ed25519 ] && [ "$conns" -eq 8 ]; then
			ed8_ratio=$vs_openssh
		fi
		if [ "$type" = ssh-ed25519 ] && [ "$conns" -eq 1 ]; then
			ed1_gcrypt=$vs_gcrypt
			ed1_inproc=$vs_inproc
		fi
	done
done

echo
echo "ed25519 8 conns: sshx/openssh = $ed8_ratio (target >= 1.5)"
echo "ed25519 1 conn: sshx/libgcrypt = $ed1_gcrypt (target >= 0.9);" \
    "sshx/inproc = $ed1_inproc (the socket's share)"

# ------------------------------------------------------------------ audit cost

if [ -n "$BENCH_AUDIT_TYPES" ]; then
	rows_before=$(sqlite3 "$dir/audit.db" "SELECT count(*) FROM audit WHERE action = 'agent.sign'" 2>/dev/null || echo -)
	echo
	echo "audit cost: agentd with its audit trail in a database (audit) against agentd"
	echo "--no-audit, same keys, rounds alternating; ratio = audit/no-audit"
	afmt="%-20s %5s %9s %11s %6s %19s %19s\n"
	# shellcheck disable=SC2059
	printf "$afmt" "type" "conns" "audit/s" "no-audit/s" "ratio" "audit p50/p99" "no-audit p50/p99"
	for type in $BENCH_AUDIT_TYPES; do
		for conns in $BENCH_CONNS; do
			a_lines=
			n_lines=
			for round in $(seq "$BENCH_ROUNDS"); do
				if [ $((round % 2)) -eq 1 ]; then order="sshx noaudit"; else order="noaudit sshx"; fi
				for name in $order; do
					line=$(bench "$type $name conns=$conns round $round" sock \
					    -a "$dir/$name.sock" -t "$type" -c "$conns" \
					    -d "$round_secs" -w "$BENCH_WARMUP")
					if [ "$name" = sshx ]; then
						a_lines="$a_lines$line"$'\n'
					else
						n_lines="$n_lines$line"$'\n'
					fi
				done
			done
			a_rate=$(median rate <<<"$a_lines")
			n_rate=$(median rate <<<"$n_lines")
			# shellcheck disable=SC2059
			printf "$afmt" "$type" "$conns" "$a_rate" "$n_rate" "$(ratio "$a_rate" "$n_rate")" \
			    "$(median p50_us <<<"$a_lines")/$(median p99_us <<<"$a_lines")" \
			    "$(median p50_us <<<"$n_lines")/$(median p99_us <<<"$n_lines")"
		done
	done
	# The rows are written behind the signatures: give the writer a moment, then count.
	sleep 1
	rows_after=$(sqlite3 "$dir/audit.db" "SELECT count(*) FROM audit WHERE action = 'agent.sign'" 2>/dev/null || echo -)
	dropped=$(grep -c "records dropped" "$dir/agentd.log")
	echo "audit rows of signatures in the database: $rows_before before this comparison, $rows_after after;" \
	    "queue overflows logged: $dropped"
fi

if [ -e "$dir/failed" ]; then
	echo "run-bench.sh: some figures could not be measured (see above)" >&2
	exit 1
fi
exit 0

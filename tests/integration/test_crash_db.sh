#!/bin/sh
# Crash consistency of the host database and of exports: 500 sshxctl runs (hosts add, a hosts
# import of 200 hosts, known-hosts export, in turn) killed with SIGKILL after a random delay up
# to their typical run time. After every kill: PRAGMA integrity_check is ok, no change that
# sshxctl acknowledged (exit 0 before the kill) is missing, an import is all or nothing, and the
# export target is the old file or the whole new one, never a mix or a truncation.
# (Kills during keyring saves and agentd's persist: test_keyring_crash.sh.)

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home

ROUNDS=${SSHX_CRASH_ROUNDS:-500}
DB=$T/db/sshx.db
OUT=$T/out/known_hosts
mkdir -m 700 "$T/db" "$T/out"
ssh-keygen -q -t ed25519 -N '' -f "$T/hk" -C ''
HK=$(cut -d' ' -f1,2 "$T/hk.pub")

ctl() {
	timeout -k 2 30 "$SSHXCTL" --db "$DB" "$@" </dev/null
}

# A random number of milliseconds from 0 to $1, formatted as seconds for sleep.
random_delay() {
	_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	_d=$((_r % ($1 + 1)))
	printf '%d.%03d' $((_d / 1000)) $((_d % 1000))
}

# Milliseconds one command takes: elapsed CMD [ARGS...] (its output is dropped).
elapsed() {
	_e0=$(now_ms)
	"$@" >/dev/null 2>&1
	echo $(($(now_ms) - _e0))
}

# Writes 200 host lines named bR-0 .. bR-199 for round R: batch R FILE.
batch() {
	awk -v r="$1" -v k="$HK" 'BEGIN { for (i = 0; i < 200; i++) printf "b%s-%d.example.com %s\n", r, i, k }' >"$2"
}

# "integrity-result" then every host name, one a line (read-only, another process).
db_state() {
	"$PYTHON_PARAMIKO" - "$DB" <<'EOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
print(c.execute("PRAGMA integrity_check").fetchone()[0])
for (n,) in c.execute("SELECT name FROM hosts ORDER BY name"):
    print(n)
EOF
}

# ---------------------------------------------------------------- set-up and typical run times

ctl hosts add base.example.com $HK >/dev/null 2>"$T/err" || bail "hosts add" "$(cat "$T/err")"
ctl known-hosts export --out "$OUT" >/dev/null 2>"$T/err" || bail "export" "$(cat "$T/err")"
t_add=$(elapsed ctl hosts add probe1.example.com $HK)
batch probe "$T/batch"
t_imp=$(elapsed ctl hosts import "$T/batch")
t_exp=$(elapsed ctl known-hosts export --out "$OUT")
diag "typical run times: hosts add $t_add ms, import of 200 hosts $t_imp ms, export $t_exp ms"

# ---------------------------------------------------------------- the rounds

acked=$T/acked		# names that must be there (acknowledged adds and imports)
: >"$acked"
echo base.example.com >>"$acked"
echo probe1.example.com >>"$acked"
awk '{ print $1 }' "$T/batch" >>"$acked"
N_KILLED=0
N_ACKED=0
N_OLD=0
N_NEW=0
PROBLEMS=
round=1
while [ "$round" -le "$ROUNDS" ]; do
	case $((round % 3)) in
	0)
		what="hosts add h$round"
		d=$(random_delay "$t_add")
		"$SSHXCTL" --db "$DB" hosts add "h$round.example.com" $HK </dev/null >/dev/null 2>&1 &
		;;
	1)
		what="hosts import b$round (200 hosts)"
		batch "$round" "$T/batch"
		d=$(random_delay "$t_imp")
		"$SSHXCTL" --db "$DB" hosts import "$T/batch" </dev/null >/dev/null 2>&1 &
		;;
	2)
		what="known-hosts export"
		cp "$OUT" "$T/old"
		d=$(random_delay "$t_exp")
		"$SSHXCTL" --db "$DB" known-hosts export --out "$OUT" </dev/null >/dev/null 2>&1 &
		;;
	esac
	pid=$!
	sleep "$d"
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		N_ACKED=$((N_ACKED + 1))
	else
		N_KILLED=$((N_KILLED + 1))
	fi
	db_state >"$T/state" 2>"$T/state.err"
	if [ "$(head -n 1 "$T/state")" != ok ]; then
		PROBLEMS="$PROBLEMS
round $round ($what): integrity_check: $(head -n 3 "$T/state") $(cat "$T/state.err")"
	fi
	case $((round % 3)) in
	0)
		[ "$rc" -eq 0 ] && echo "h$round.example.com" >>"$acked"
		;;
	1)
		n=$(grep -c "^b$round-" "$T/state")
		if [ "$n" -ne 0 ] && [ "$n" -ne 200 ]; then
			PROBLEMS="$PROBLEMS
round $round ($what): $n of the 200 hosts are there (an import is all or nothing)"
		fi
		if [ "$rc" -eq 0 ]; then
			awk '{ print $1 }' "$T/batch" >>"$acked"
		elif [ "$n" -eq 200 ]; then
			# Committed just before the kill: from now on it must stay.
			awk '{ print $1 }' "$T/batch" >>"$acked"
		fi
		;;
	2)
		ctl known-hosts export --out "$T/new" >/dev/null 2>&1
		if cmp -s "$OUT" "$T/old"; then
			N_OLD=$((N_OLD + 1))
		elif cmp -s "$OUT" "$T/new"; then
			N_NEW=$((N_NEW + 1))
		else
			PROBLEMS="$PROBLEMS
round $round ($what): the target is neither the old file ($(wc -l <"$T/old") lines) nor the new one ($(wc -l <"$T/new") lines): $(wc -l <"$OUT") lines"
		fi
		;;
	esac
	LC_ALL=C sort -u "$acked" >"$T/acked.sorted"
	tail -n +2 "$T/state" | LC_ALL=C sort >"$T/names.sorted"
	missing=$(LC_ALL=C comm -23 "$T/acked.sorted" "$T/names.sorted" | head -n 3)
	if [ -n "$missing" ]; then
		PROBLEMS="$PROBLEMS
round $round ($what): acknowledged hosts missing: $missing"
	fi
	round=$((round + 1))
done

diag "$N_KILLED runs killed, $N_ACKED finished before the kill; exports left the old file $N_OLD times, the new one $N_NEW times"
is "$ROUNDS runs killed with SIGKILL at random moments: integrity ok, nothing acknowledged lost, imports all or nothing, exports old or new" \
	"" "$PROBLEMS"
check "the kills landed mid-run (not every run finished first)" [ "$N_KILLED" -gt $((ROUNDS / 10)) ]
check "the database still takes writes" ctl hosts add after.example.com $HK
n_tmp=$(ls -A "$T/out" | grep -c '^\.known_hosts\.' || true)
diag "temporary files left in the export directory by the kills: $n_tmp"
ctl known-hosts export --out "$OUT" >/dev/null 2>&1
is "the next export sweeps the temporary files the killed ones left" "known_hosts" "$(ls -A "$T/out" | tr '\n' ' ' | sed 's/ $//')"

done_testing

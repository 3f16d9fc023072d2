#!/bin/sh
# Crash safety of keyring writes: 200 sshxctl key generate / key remove runs (alternating)
# killed with SIGKILL after a random delay up to their typical run time, and every 10 rounds an
# agentd killed in the middle of a key persist.  After every kill the keyring must load, hold
# either the old or the new set of keys, and keyring.bak (when there is one) must load with the
# same passphrase.  Temp files left behind by a kill are counted and must not break loading.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home

ROUNDS=${SSHX_CRASH_ROUNDS:-200}
KDIR=$T/kr
KR=$KDIR/keyring
pass_file "$T/pass" 'crash test keyring passphrase'
mkdir -p "$T/files" "$T/bak"
chmod 700 "$T/bak"

ctl() {
	timeout -k 2 30 "$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" "$@" </dev/null
}

# Prints the names in the keyring at $1, sorted; fails when it does not load.
names_of() {
	timeout -k 2 30 "$SSHXCTL" --keyring "$1" --passphrase-file "$T/pass" key list </dev/null \
		>"$T/list.out" 2>"$T/list.err" || return 1
	cut -d' ' -f1 "$T/list.out" | sort
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

# Entries of the keyring directory other than the keyring, its backup and its lock file.
strays() {
	# shellcheck disable=SC2010
	ls -A "$KDIR" | grep -vx -e keyring -e keyring.bak -e keyring.lock
}

# Compares the keyring's names with the set before ($T/set) and the one the killed command
# would have made ($T/next): records a problem unless the keyring loads with one of them, then
# makes what it holds the new $T/set.  Also loads keyring.bak when there is one.
after_kill() {
	if ! names_of "$KR" >"$T/now"; then
		LOAD_FAIL="$LOAD_FAIL
round $1 ($2): key list failed: $(cat "$T/list.err")"
		return
	fi
	if cmp -s "$T/now" "$T/set"; then
		N_OLD=$((N_OLD + 1))
	elif cmp -s "$T/now" "$T/next"; then
		N_NEW=$((N_NEW + 1))
	else
		SET_FAIL="$SET_FAIL
round $1 ($2): keys $(tr '\n' ' ' <"$T/now"), expected $(tr '\n' ' ' <"$T/set") or $(tr '\n' ' ' <"$T/next")"
	fi
	cp "$T/now" "$T/set"
	if [ -e "$KR.bak" ]; then
		N_BAK=$((N_BAK + 1))
		cp "$KR.bak" "$T/bak/keyring" 2>/dev/null && chmod 600 "$T/bak/keyring"
		if ! names_of "$T/bak/keyring" >/dev/null; then
			BAK_FAIL="$BAK_FAIL
round $1 ($2): keyring.bak does not load: $(cat "$T/list.err")"
		fi
	fi
}

start_persist_agent() {
	start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service
}

# ---------------------------------------------------------------- setup and typical run times

t_start=$(now_ms)
ctl keyring init --kdf-memory 8 --kdf-time 1 >"$T/init.out" 2>&1 ||
	bail "keyring init" "sshxctl failed: $(cat "$T/init.out")"
start_persist_agent
for n in base1 base2 base3; do
	ctl key generate --name "$n" >/dev/null 2>"$T/gen.err" || bail "key generate $n" "$(cat "$T/gen.err")"
done
t_gen=0
t_rm=0
for n in m1 m2 m3; do
	ms=$(elapsed ctl key generate --name "$n")
	[ "$ms" -gt "$t_gen" ] && t_gen=$ms
done
for n in m1 m2 m3; do
	ms=$(elapsed ctl key remove "$n")
	[ "$ms" -gt "$t_rm" ] && t_rm=$ms
done
names_of "$KR" >"$T/set" || bail "the keyring loads after setup" "$(cat "$T/list.err")"
is "setup: the keyring holds base1..3" "base1 base2 base3" "$(tr '\n' ' ' <"$T/set" | sed 's/ $//')"

# Key files to ssh-add and persist, one per persist round.
NPERSIST=$((ROUNDS / 10))
i=1
while [ "$i" -le "$NPERSIST" ]; do
	ssh-keygen -q -t ed25519 -N '' -f "$T/files/p$i" >/dev/null 2>&1 || bail "ssh-keygen" "failed"
	i=$((i + 1))
done
ssh-keygen -q -t ed25519 -N '' -f "$T/files/probe" >/dev/null 2>&1
ssh-add "$T/files/probe" >/dev/null 2>&1
t_persist=$(elapsed "$SSHXCTL" key persist "$(fp_of "$T/files/probe.pub")" --name probe)
names_of "$KR" >"$T/set"
grep -qx probe "$T/set" || bail "key persist works before the kills" "$(cat "$T/set")"
diag "typical run times: key generate $t_gen ms, key remove $t_rm ms, key persist $t_persist ms"

# ---------------------------------------------------------------- the rounds

N_OLD=0
N_NEW=0
N_BAK=0
LOAD_FAIL=
SET_FAIL=
BAK_FAIL=
P_LOAD_FAIL=
P_SET_FAIL=
P_OLD=0
P_NEW=0
round=1
pround=0
while [ "$round" -le "$ROUNDS" ]; do
	if [ $((round % 2)) -eq 1 ] || [ ! -s "$T/set" ]; then
		what="generate g$round"
		{ cat "$T/set"; echo "g$round"; } | sort >"$T/next"
		d=$(random_delay "$t_gen")
		"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" key generate --name "g$round" \
			</dev/null >/dev/null 2>&1 &
	else
		victim=$(head -n 1 "$T/set")
		what="remove $victim"
		grep -vx "$victim" "$T/set" >"$T/next"
		d=$(random_delay "$t_rm")
		"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" key remove "$victim" \
			</dev/null >/dev/null 2>&1 &
	fi
	cpid=$!
	sleep "$d"
	kill -KILL "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	after_kill "$round" "$what, SIGKILL after $d s"

	if [ $((round % 10)) -eq 0 ] && [ "$pround" -lt "$NPERSIST" ]; then
		# agentd killed in the middle of a key persist.
		pround=$((pround + 1))
		ssh-add "$T/files/p$pround" >/dev/null 2>&1
		fp=$(fp_of "$T/files/p$pround.pub")
		{ cat "$T/set"; echo "p$pround"; } | sort >"$T/next"
		d=$(random_delay "$t_persist")
		"$SSHXCTL" key persist "$fp" --name "p$pround" </dev/null >/dev/null 2>&1 &
		cpid=$!
		sleep "$d"
		kill -KILL "$AGENT_PID" 2>/dev/null
		stop_agent
		wait "$cpid" 2>/dev/null
		o=$N_OLD
		n=$N_NEW
		f_load=$LOAD_FAIL
		f_set=$SET_FAIL
		after_kill "$round" "agentd SIGKILLed $d s into key persist p$pround"
		P_OLD=$((P_OLD + N_OLD - o))
		P_NEW=$((P_NEW + N_NEW - n))
		[ "$f_load" = "$LOAD_FAIL" ] || P_LOAD_FAIL=yes
		[ "$f_set" = "$SET_FAIL" ] || P_SET_FAIL=yes
		start_persist_agent
	fi
	round=$((round + 1))
done

if [ -z "$LOAD_FAIL" ]; then
	ok "after each of the $ROUNDS sshxctl kills and $pround agentd kills the keyring loads"
else
	fail_nolog "after each of the $ROUNDS sshxctl kills and $pround agentd kills the keyring loads" "${LOAD_FAIL#?}"
fi
if [ -z "$SET_FAIL" ]; then
	ok "after each kill the keyring holds the old or the new set of keys ($N_OLD old, $N_NEW new)"
else
	fail_nolog "after each kill the keyring holds the old or the new set of keys" "${SET_FAIL#?}"
fi
if [ -z "$P_LOAD_FAIL" ] && [ -z "$P_SET_FAIL" ] && [ "$pround" -eq "$NPERSIST" ]; then
	ok "agentd killed during key persist: the keyring loads with the old or new set ($P_OLD old, $P_NEW new)"
else
	fail_nolog "agentd killed during key persist: the keyring loads with the old or new set" \
		"$pround persist rounds of $NPERSIST; see the failures above"
fi
bak_why=${BAK_FAIL#?}
[ -n "$bak_why" ] || bak_why="there never was a keyring.bak"
if [ -z "$BAK_FAIL" ] && [ "$N_BAK" -gt 0 ]; then
	ok "keyring.bak loads with the same passphrase each time it exists ($N_BAK checks)"
else
	fail_nolog "keyring.bak loads with the same passphrase each time it exists ($N_BAK checks)" \
		"$bak_why"
fi

nstray=$(strays | wc -l)
diag "stray files left in the keyring directory by the kills: $nstray" "$(strays | head -n 20)"
# Two planted files make the sweep's check hold whatever the kills left: a stale temporary
# file a writer could have made, which must go, and a look-alike name it never makes, which
# must stay.
printf 'stale\n' >"$KDIR/.keyring.Pl4nt_"
printf 'not ours\n' >"$KDIR/.keyring.planted"
strays >"$T/strays.before"
ctl key generate --name final >/dev/null 2>"$T/gen.err"
rc=$?
strays >"$T/strays.after"
names_of "$KR" >"$T/now"
# The write sweeps the temporary files ".keyring.XXXXXX" killed writers left; nothing else
# may appear or vanish.
grep -vx '\.keyring\.[A-Za-z0-9_-]\{6\}' "$T/strays.before" >"$T/strays.kept"
if [ "$rc" -eq 0 ] && grep -qx final "$T/now" && cmp -s "$T/strays.kept" "$T/strays.after"; then
	ok "with $nstray stray files present a key generate works, sweeps the stale temporary files and adds none"
else
	fail "with $nstray stray files present a key generate works, sweeps the stale temporary files and adds none" \
		"exit $rc: $(cat "$T/gen.err")" "strays before: $(tr '\n' ' ' <"$T/strays.before")" \
		"strays after: $(tr '\n' ' ' <"$T/strays.after")"
fi
fps=$(while read -r n; do ctl key show "$n" | sed -n 's/^fingerprint: //p'; done <"$T/now" | sort)
agent_serves_final() {
	[ "$(agent_fps)" = "$fps" ]
}
if wait_until 20 agent_serves_final >/dev/null; then
	ok "the running agentd serves exactly the keys of the final keyring"
else
	fail "the running agentd serves exactly the keys of the final keyring" "keyring: $fps" \
		"agent: $(agent_fps)"
fi
stop_agent
diag "total time $(($(now_ms) - t_start)) ms"

done_testing

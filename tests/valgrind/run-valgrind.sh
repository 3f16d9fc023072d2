#!/bin/sh
# valgrind memcheck over the unit tests, then agentd under memcheck through a scenario of real
# clients (ssh-add add/list/remove/lock/unlock, ssh-keygen -Y sign, many connections): any
# invalid access, use of uninitialised memory, or definitely/indirectly lost block fails it.
# Usage: run-valgrind.sh BUILDDIR UNIT_TEST... ; prints TAP, exits 1 on any finding.
set -u
B=$1
shift
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
	--show-leak-kinds=definite,indirect --track-origins=yes --num-callers=30"
T=$(mktemp -d /tmp/sshx-vg.XXXXXX)
n=0
bad=0
agent=
cleanup() {
	[ -n "$agent" ] && kill "$agent" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

point() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		bad=$((bad + 1))
		echo "not ok $n - $2"
		sed 's/^/# /' "$3" | grep -v '^# ok ' | head -n 60
	fi
}

# Unit tests in one process each (CK_FORK=no: memcheck sees every test), with room for its pace.
for t in "$@"; do
	CK_FORK=no CK_TIMEOUT_MULTIPLIER=40 $VG "$B/$t" >"$T/unit.log" 2>&1
	rc=$?
	grep -q '^not ok' "$T/unit.log" && rc=1
	point "$rc" "memcheck: $(basename "$t") ($(grep -c '^ok' "$T/unit.log") points)" "$T/unit.log"
done

# agentd under memcheck: a real workload, then SIGTERM; leaks are reported at exit.
mkdir -m 700 "$T/run"
ssh-keygen -q -t ed25519 -N '' -f "$T/ed" -C vg-ed
ssh-keygen -q -t ecdsa -b 256 -N '' -f "$T/ec" -C vg-ec
ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/rsa" -C vg-rsa
printf 'data to sign\n' >"$T/msg"
printf 'lock passphrase' >"$T/lockpass"
printf '#!/bin/sh\ncat %s\n' "$T/lockpass" >"$T/askpass"
chmod 700 "$T/askpass"
SOCK=$T/run/agent.sock
env XDG_CONFIG_HOME="$T/cfg" XDG_DATA_HOME="$T/data" XDG_RUNTIME_DIR="$T/run" \
	$VG --log-file="$T/agentd.vg" "$B/agentd/agentd" -D -a "$SOCK" >"$T/agentd.log" 2>&1 &
agent=$!
i=0
while [ ! -S "$SOCK" ] && [ "$i" -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
export SSH_AUTH_SOCK="$SOCK"
ok=1
round=0
while [ "$round" -lt 20 ]; do
	round=$((round + 1))
	ssh-add "$T/ed" "$T/ec" "$T/rsa" >/dev/null 2>&1 || ok=0
	[ "$(ssh-add -l 2>/dev/null | wc -l)" -eq 3 ] || ok=0
	for k in ed ec rsa; do
		rm -f "$T/msg.sig"
		ssh-keygen -Y sign -q -n file -f "$T/$k.pub" "$T/msg" >/dev/null 2>&1 || ok=0
	done
	ssh-add -d "$T/ec.pub" >/dev/null 2>&1 || ok=0
	env SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -x </dev/null >/dev/null 2>&1 || ok=0
	env SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 ssh-add -X </dev/null >/dev/null 2>&1 || ok=0
	ssh-add -D >/dev/null 2>&1 || ok=0
done
kill -TERM "$agent"
wait "$agent"
rc=$?
agent=
point "$((1 - ok))" "agentd under memcheck answered 20 rounds of add/list/sign/remove/lock/unlock" "$T/agentd.log"
[ "$rc" -eq 0 ] && [ ! -s "$T/agentd.vg" ]
point "$?" "memcheck: agentd has no invalid access and no lost block after the rounds (exit $rc)" "$T/agentd.vg"
echo "1..$n"
[ "$bad" -eq 0 ]

#!/bin/sh
# The encrypted keyring end to end: sshxctl keyring/key commands, agentd serving the keyring
# (passphrase file, locked start, ssh-add -X/-x, live reload, key persist), logins to a real
# sshd and Paramiko through it, key import, and refusal of every kind of bad input without
# touching the file.
#
# HOME and the XDG directories point into the test's temp dir and there is no D-Bus session,
# so no real keyring or Secret Service is involved.

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home

UTIL=$SSHX_TESTDIR/keyring_util.py
KDIR=$T/kr
KR=$KDIR/keyring
PASSPHRASE='keyring passphrase: Tr0ub4dor&3 ünïcode'
LOCKPASS='a different lock passphrase'
pass_file "$T/pass" "$PASSPHRASE"
pass_file "$T/wrong" 'not the keyring passphrase'
pass_file "$T/lockpass" "$LOCKPASS"
mkdir -p "$T/gen" "$T/imp"
# Every type sshxctl generates: NAME:--type:bits.
GEN_SPECS="k-ed25519:ed25519:256 k-p256:ecdsa-p256:256 k-p384:ecdsa-p384:384 k-p521:ecdsa-p521:521
k-rsa:rsa:3072"
# What a refusal says for a file that was changed (a flipped byte), and for a cut-off one.
TAMPER_RE='corrupt|tamper|modif'
DAMAGE_RE='corrupt|tamper|modif|truncat|damag|short|empty|too small'

util() {
	"$PYTHON_PARAMIKO" "$UTIL" "$@"
}

# Runs sshxctl with no terminal, recording $RC, $T/out and $T/err: run_ctl ARGS...
run_ctl() {
	setsid -w timeout -k 2 60 "$SSHXCTL" "$@" </dev/null >"$T/out" 2>"$T/err"
	RC=$?
}

# run_ctl on the test keyring with the right passphrase file.
kctl() {
	run_ctl --keyring "$KR" --passphrase-file "$T/pass" "$@"
}

# Prints "NAME FP BITS STATE" lines of the keyring, sorted by name (fails when key list does).
keyring_entries() {
	kctl key list --json
	[ "$RC" -eq 0 ] || return 1
	util list "$T/out"
}

sum_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# The keyring directory's entries, without lock files (sshxctl's advisory locks stay by design).
dir_entries() {
	# shellcheck disable=SC2010
	ls -A "$1" | grep -v '\.lock$'
}

agent_status_locked() {
	"$SSHXCTL" agent status 2>&1 | sed -n 's/^locked: //p'
}

agent_has() {
	agent_fps | grep -qx "$1"
}

agent_lacks() {
	! agent_fps | grep -qx "$1"
}

# ---------------------------------------------------------------- where the keyring is

run_ctl --keyring "$T/a/kr1" keyring status --json
is "--keyring before the command names the keyring" "$T/a/kr1" "$(util field "$T/out" path 2>&1)"
run_ctl keyring status --json --keyring "$T/a/kr2"
is "--keyring after the command names the keyring" "$T/a/kr2" "$(util field "$T/out" path 2>&1)"
SSHX_KEYRING=$T/a/kr3 run_ctl keyring status --json
is "\$SSHX_KEYRING names the keyring when --keyring is absent" "$T/a/kr3" \
	"$(util field "$T/out" path 2>&1)"
SSHX_KEYRING=$T/a/kr3 run_ctl --keyring "$T/a/kr4" keyring status --json
is "--keyring wins over \$SSHX_KEYRING" "$T/a/kr4" "$(util field "$T/out" path 2>&1)"
run_ctl keyring status --json
is "by default the keyring is \$XDG_DATA_HOME/sshx/keyring" "$XDG_DATA_HOME/sshx/keyring" \
	"$(util field "$T/out" path 2>&1)"
env -u XDG_DATA_HOME "$SSHXCTL" keyring status --json </dev/null >"$T/out" 2>"$T/err"
is "without XDG_DATA_HOME it is \$HOME/.local/share/sshx/keyring" \
	"$HOME/.local/share/sshx/keyring" "$(util field "$T/out" path 2>&1)"
is "keyring status --json says a missing keyring does not exist" false \
	"$(util field "$T/out" exists 2>&1)"

# The default location, with the default (slow) KDF once.
run_ctl --passphrase-file "$T/pass" keyring init
DEF=$XDG_DATA_HOME/sshx/keyring
if [ "$RC" -eq 0 ] && [ -f "$DEF" ] && [ "$(stat -c %a "$DEF")" = 600 ] &&
	[ "$(stat -c %a "${DEF%/*}")" = 700 ]; then
	ok "keyring init (default KDF) creates \$XDG_DATA_HOME/sshx/keyring 0600 in a 0700 directory"
else
	fail "keyring init (default KDF) creates \$XDG_DATA_HOME/sshx/keyring 0600 in a 0700 directory" \
		"got exit $RC, $(ls -la "${DEF%/*}" 2>&1)" "$(cat "$T/err")"
fi
run_ctl --passphrase-file "$T/pass" key list --json
is "key list on the new default keyring is an empty JSON array" "0 []" "$RC $(cat "$T/out")"

# ---------------------------------------------------------------- init, generate, list

kctl keyring init --kdf-memory 8 --kdf-time 1
if [ "$RC" -eq 0 ] && [ "$(stat -c %a "$KR" 2>&1)" = 600 ] && [ "$(stat -c %a "$KDIR")" = 700 ]; then
	ok "keyring init --keyring PATH creates the file 0600, its directory 0700"
else
	fail "keyring init --keyring PATH creates the file 0600, its directory 0700" \
		"got exit $RC, $(ls -la "$KDIR" 2>&1)" "$(cat "$T/err")"
fi
run_ctl --keyring "$KR" keyring status --json
is "keyring status --json: exists, mode 0600, safe" "true 0600 true" \
	"$(util field "$T/out" exists) $(util field "$T/out" mode) $(util field "$T/out" safe)"

: >"$T/expected"
for spec in $GEN_SPECS; do
	name=${spec%%:*}
	rest=${spec#*:}
	type=${rest%%:*}
	bits=${rest#*:}
	case $type in
	ed25519) sshtype=ssh-ed25519 ;;
	ecdsa-p*) sshtype=ecdsa-sha2-nistp${bits} ;;
	rsa) sshtype=ssh-rsa ;;
	esac
	if [ "$type" = rsa ]; then
		kctl key generate --type rsa --bits 3072 --name "$name" --comment "$name@kr"
	else
		kctl key generate --type "$type" --name "$name" --comment "$name@kr"
	fi
	cp "$T/out" "$T/gen/$name.pub"
	if [ "$RC" -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ] &&
		grep -Eq "^$sshtype AAAA[A-Za-z0-9+/=]+ $name@kr\$" "$T/out" && [ -s "$T/err" ]; then
		ok "key generate --type $type prints one authorized_keys line (a note on stderr)"
	else
		fail "key generate --type $type prints one authorized_keys line (a note on stderr)" \
			"got exit $RC, stdout:" "$(cat "$T/out")" "stderr:" "$(cat "$T/err")"
	fi
	kctl key export-public "$name"
	if [ "$RC" -eq 0 ] && cmp -s "$T/out" "$T/gen/$name.pub"; then
		ok "$name: key export-public prints the line generate printed"
	else
		fail "$name: key export-public prints the line generate printed" "got exit $RC:" \
			"$(cat "$T/out" "$T/err")" "expected:" "$(cat "$T/gen/$name.pub")"
	fi
	printf '%s %s %s active\n' "$name" "$(fp_of "$T/gen/$name.pub")" \
		"$(ssh-keygen -lf "$T/gen/$name.pub" | cut -d' ' -f1)" >>"$T/expected"
done
sort -o "$T/expected" "$T/expected"
cut -d' ' -f2 "$T/expected" | sort >"$T/expected.fps"
is "key list --json: every key with the fingerprint and bits ssh-keygen -lf gives" \
	"$(cat "$T/expected")" "$(keyring_entries 2>&1)"

fp=$(fp_of "$T/gen/k-p384.pub")
kctl key show "$fp" --json
is "key show FINGERPRINT --json finds the key by fingerprint" "k-p384 $fp 384 active" \
	"$(util show "$T/out" 2>&1)"
kctl key show k-rsa
if [ "$RC" -eq 0 ] && grep -q "^fingerprint: $(fp_of "$T/gen/k-rsa.pub")\$" "$T/out"; then
	ok "key show NAME prints the key's fingerprint"
else
	fail "key show NAME prints the key's fingerprint" "got exit $RC:" "$(cat "$T/out" "$T/err")"
fi
kctl key show no-such-key
is "key show of an unknown name exits 1" 1 "$RC"
kctl key remove no-such-key
is "key remove of an unknown name exits 1" 1 "$RC"

# ---------------------------------------------------------------- agentd serves the keyring

: >"$T/agent.log"
start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service
is "agentd --passphrase-file: ssh-add -l lists exactly the keyring's keys" \
	"$(cat "$T/expected.fps")" "$(agent_fps)"
if grep -qi "unlocked with the passphrase file" "$T/agent.log"; then
	ok "agentd logs that the passphrase file unlocked the keyring"
else
	fail "agentd logs that the passphrase file unlocked the keyring" "expected it in the log"
fi
is "agent status says not locked" no "$(agent_status_locked)"
stop_agent
start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service
is "after a restart agentd lists the same keys" "$(cat "$T/expected.fps")" "$(agent_fps)"

cut -d' ' -f1 "$T/expected" | while read -r name; do
	cut -d' ' -f2 "$T/gen/$name.pub"
done | sort >"$T/expected.blobs"
is "paramiko.Agent().get_keys() gives the blobs of the exported public keys" \
	"$(cat "$T/expected.blobs")" "$(util agent-blobs 2>&1)"

stop_agent

# agentd finds the keyring the way sshxctl does: --keyring, $SSHX_KEYRING, the XDG default.
: >"$T/agent.log"
SSHX_KEYRING=$KR start_agent_with --passphrase-file "$T/pass" --no-secret-service
is "agentd without --keyring opens \$SSHX_KEYRING" "$(cat "$T/expected.fps")" "$(agent_fps)"
stop_agent
: >"$T/agent.log"
start_agent_with --passphrase-file "$T/pass" --no-secret-service
if grep -q "keyring $DEF unlocked" "$T/agent.log"; then
	ok "agentd without --keyring or \$SSHX_KEYRING opens \$XDG_DATA_HOME/sshx/keyring"
else
	fail "agentd without --keyring or \$SSHX_KEYRING opens \$XDG_DATA_HOME/sshx/keyring" \
		"expected 'keyring $DEF unlocked' in the log"
fi
stop_agent

# No keyring file: ssh-add'ed keys only.
: >"$T/agent.log"
start_agent_with --keyring "$T/none/keyring" --no-secret-service
ssh-keygen -q -t ed25519 -N '' -f "$T/imp/nokr" >/dev/null 2>&1
ssh-add "$T/imp/nokr" >/dev/null 2>&1
if [ "$(agent_fps)" = "$(fp_of "$T/imp/nokr.pub")" ] && grep -q "no keyring at $T/none/keyring" "$T/agent.log"; then
	ok "without a keyring file agentd serves the keys added with ssh-add (and logs it)"
else
	fail "without a keyring file agentd serves the keys added with ssh-add (and logs it)" \
		"list: $(agent_fps)"
fi
run_ctl key persist "$(fp_of "$T/imp/nokr.pub")" --name nokr
if [ "$RC" -eq 1 ] && [ ! -e "$T/none/keyring" ]; then
	ok "key persist to an agent without a keyring exits 1 and creates no keyring"
else
	fail "key persist to an agent without a keyring exits 1 and creates no keyring" \
		"got exit $RC: $(cat "$T/err")"
fi
stop_agent
start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service

# ---------------------------------------------------------------- ssh logins with keyring keys

start_sshd
known_hosts_for_sshd
# shellcheck disable=SC2013
for name in $(cut -d' ' -f1 "$T/expected"); do
	authorize_keys "$T/gen/$name.pub"
	fp=$(fp_of "$T/gen/$name.pub")
	if ssh_agent_login "$LOGIN_USER@127.0.0.1" true >"$T/ssh.out" 2>&1 &&
		sshd_log | grep "Accepted publickey for $LOGIN_USER " | grep -q " $fp\$"; then
		ok "$name: ssh logs in to sshd with the keyring key through agentd"
	else
		fail "$name: ssh logs in to sshd with the keyring key through agentd" \
			"expected an accepted login with $fp; ssh said:" "$(cat "$T/ssh.out")"
	fi
done
stop_pid "$SSHD_PID"

# ---------------------------------------------------------------- changes reach the running agent

kctl key generate --name live1
cp "$T/out" "$T/gen/live1.pub"
fp1=$(fp_of "$T/gen/live1.pub")
is "key generate without --type makes an ed25519 key" ssh-ed25519 "$(cut -d' ' -f1 "$T/gen/live1.pub")"
if ms=$(wait_until 20 agent_has "$fp1"); then
	ok "a key generated while agentd runs is listed by ssh-add -l within 2 s ($ms ms)"
else
	fail "a key generated while agentd runs is listed by ssh-add -l within 2 s" \
		"expected $fp1 in: $(agent_fps)"
fi
# Without SSH_AUTH_SOCK sshxctl cannot ask for a reload: only agentd's inotify watch sees it.
env -u SSH_AUTH_SOCK "$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" key generate \
	--name live2 </dev/null >"$T/gen/live2.pub" 2>"$T/err"
fp2=$(fp_of "$T/gen/live2.pub")
if ms=$(wait_until 20 agent_has "$fp2"); then
	ok "agentd notices a key generated without SSH_AUTH_SOCK (inotify) within 2 s ($ms ms)"
else
	fail "agentd notices a key generated without SSH_AUTH_SOCK (inotify) within 2 s" \
		"expected $fp2 in: $(agent_fps)" "$(cat "$T/err")"
fi
kctl key remove live1
if [ "$RC" -eq 0 ] && ms=$(wait_until 20 agent_lacks "$fp1"); then
	ok "a removed key leaves ssh-add -l within 2 s ($ms ms)"
else
	fail "a removed key leaves ssh-add -l within 2 s" "got exit $RC, list: $(agent_fps)" "$(cat "$T/err")"
fi
env -u SSH_AUTH_SOCK "$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" key remove "$fp2" \
	</dev/null >/dev/null 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && ms=$(wait_until 20 agent_lacks "$fp2"); then
	ok "a key removed by fingerprint without SSH_AUTH_SOCK leaves ssh-add -l within 2 s ($ms ms)"
else
	fail "a key removed by fingerprint without SSH_AUTH_SOCK leaves ssh-add -l within 2 s" \
		"got exit $rc: $(cat "$T/err"); list: $(agent_fps)"
fi
is "after generate and remove the agent lists the original keys" "$(cat "$T/expected.fps")" \
	"$(agent_fps)"
stop_agent

# ---------------------------------------------------------------- a locked start and ssh-add -X

: >"$T/agent.log"
start_agent_with --keyring "$KR" --no-secret-service
out=$(ssh-add -l 2>&1)
rc=$?
is "started without a passphrase source, ssh-add -l lists nothing" \
	"1 The agent has no identities." "$rc $out"
if grep -q "keyring $KR is locked" "$T/agent.log"; then
	ok "agentd logs that the keyring is locked"
else
	fail "agentd logs that the keyring is locked" "expected 'keyring $KR is locked' in the log"
fi
is "agent status says locked" yes "$(agent_status_locked)"
t0=$(now_ms)
askpass_run "$T/wrong" ssh-add -X >"$T/x.out" 2>&1
rc=$?
d1=$(($(now_ms) - t0))
if [ "$rc" -ne 0 ] && [ -z "$(agent_fps)" ]; then
	ok "ssh-add -X with a wrong passphrase fails and the list stays empty"
else
	fail "ssh-add -X with a wrong passphrase fails and the list stays empty" \
		"got exit $rc: $(cat "$T/x.out"); list: $(agent_fps)"
fi
t0=$(now_ms)
askpass_run "$T/wrong" ssh-add -X >"$T/x.out" 2>&1
rc=$?
d2=$(($(now_ms) - t0))
if [ "$rc" -ne 0 ] && [ "$d1" -ge 100 ] && [ "$d2" -ge 200 ]; then
	ok "failed keyring unlocks are answered after 0.1 s per consecutive failure ($d1 ms, $d2 ms)"
else
	fail "failed keyring unlocks are answered after 0.1 s per consecutive failure" \
		"expected >= 100 and >= 200 ms, got $d1 ms and $d2 ms (exit $rc)"
fi
askpass_run "$T/pass" ssh-add -X >"$T/x.out" 2>&1
rc=$?
is "ssh-add -X with the keyring passphrase lists every key of the keyring" \
	"0 $(cat "$T/expected.fps")" "$rc $(agent_fps)"
is "agent status says not locked after ssh-add -X" no "$(agent_status_locked)"

# The same with sshxctl agent unlock (the keyring's passphrase from a file).
stop_agent
start_agent_with --keyring "$KR" --no-secret-service
"$SSHXCTL" --keyring "$KR" agent unlock --passphrase-file "$T/wrong" >"$T/x.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && [ -z "$(agent_fps)" ]; then
	ok "sshxctl agent unlock with a wrong keyring passphrase exits 1, nothing listed"
else
	fail "sshxctl agent unlock with a wrong keyring passphrase exits 1, nothing listed" \
		"got exit $rc: $(cat "$T/x.out"); list: $(agent_fps)"
fi
"$SSHXCTL" --keyring "$KR" agent unlock --passphrase-file "$T/pass" >"$T/x.out" 2>&1
rc=$?
is "sshxctl agent unlock with the keyring passphrase lists every key of the keyring" \
	"0 $(cat "$T/expected.fps")" "$rc $(agent_fps)"

# ---------------------------------------------------------------- ssh-add -x / -X seal everything

gen_keys ed25519 rsa3072
ssh-add "$T/keys/ed25519" >/dev/null 2>&1 || bail "ssh-add a file key" "ssh-add failed"
before=$(ssh-add -l 2>&1)
askpass_run "$T/lockpass" ssh-add -x >"$T/x.out" 2>&1
is "ssh-add -x locks the agent" 0 "$?"
is "while locked ssh-add -l lists nothing" "The agent has no identities." "$(ssh-add -l 2>&1)"
is "agent status says locked after ssh-add -x" yes "$(agent_status_locked)"
printf 'sign me\n' >"$T/msg"
rm -f "$T/msg.sig"
check_fails "while locked a keyring key cannot sign" \
	ssh-keygen -Y sign -n file -f "$T/gen/k-ed25519.pub" "$T/msg"
askpass_run "$T/pass" ssh-add -X >"$T/x.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && [ "$(agent_status_locked)" = yes ]; then
	ok "after ssh-add -x, ssh-add -X with the keyring (not the lock) passphrase fails"
else
	fail "after ssh-add -x, ssh-add -X with the keyring (not the lock) passphrase fails" \
		"got exit $rc, locked: $(agent_status_locked)"
fi
askpass_run "$T/lockpass" ssh-add -X >"$T/x.out" 2>&1
is "ssh-add -X with the lock passphrase unlocks" 0 "$?"
is "the same keys, in the same order, as before the lock" "$before" "$(ssh-add -l 2>&1)"
is "agent status says not locked after unlocking" no "$(agent_status_locked)"
rm -f "$T/msg.sig"
check "after unlocking a keyring key signs again (ssh-keygen -Y sign)" \
	ssh-keygen -Y sign -n file -f "$T/gen/k-ed25519.pub" "$T/msg"

# The file changes while the agent is locked: it catches up when unlocked.
askpass_run "$T/lockpass" ssh-add -x >/dev/null 2>&1
kctl key generate --name whilelocked
fpw=$(fp_of "$T/out" 2>/dev/null)
askpass_run "$T/lockpass" ssh-add -X >/dev/null 2>&1
if [ "$RC" -eq 0 ] && [ -n "$fpw" ] && wait_until 20 agent_has "$fpw" >/dev/null; then
	ok "a key generated while the agent was locked is served after ssh-add -X"
else
	fail "a key generated while the agent was locked is served after ssh-add -X" \
		"generate exit $RC: $(cat "$T/err"); list: $(agent_fps)"
fi
kctl key remove whilelocked

# ---------------------------------------------------------------- key persist

fpa=$(fp_of "$T/keys/ed25519.pub")
run_ctl --keyring "$KR" --passphrase-file "$T/pass" key persist "$fpa" --name added1
is "key persist FP --name added1 exits 0" 0 "$RC"
keyring_entries >"$T/entries" 2>&1
if grep -q "^added1 $fpa 256 active\$" "$T/entries"; then
	ok "key list shows the persisted key as added1"
else
	fail "key list shows the persisted key as added1" "got:" "$(cat "$T/entries")"
fi
run_ctl key persist "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" --name nope
is "key persist of a fingerprint the agent does not hold exits 1" 1 "$RC"
run_ctl key persist "$(fp_of "$T/gen/k-p256.pub")" --name again
is "key persist of a key that is already in the keyring exits 1" 1 "$RC"
ssh-add "$T/keys/rsa3072" >/dev/null 2>&1
fpr=$(fp_of "$T/keys/rsa3072.pub")
stop_agent
start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service
if agent_has "$fpa" && agent_lacks "$fpr"; then
	ok "after a restart the persisted key is served, the one only ssh-add'ed is gone"
else
	fail "after a restart the persisted key is served, the one only ssh-add'ed is gone" \
		"expected $fpa and not $fpr in: $(agent_fps)"
fi
ssh-add "$T/keys/rsa3072" >/dev/null 2>&1
env -u SSH_AUTH_SOCK "$SSHXCTL" -a "$SOCK" key persist "$fpr" --name added2 </dev/null \
	>/dev/null 2>"$T/err"
rc=$?
keyring_entries >"$T/entries" 2>&1
if [ "$rc" -eq 0 ] && grep -q "^added2 $fpr 3072 active\$" "$T/entries"; then
	ok "key persist with -a SOCKET (no SSH_AUTH_SOCK) stores the key"
else
	fail "key persist with -a SOCKET (no SSH_AUTH_SOCK) stores the key" "got exit $rc:" \
		"$(cat "$T/err")" "$(cat "$T/entries")"
fi

# ---------------------------------------------------------------- key import

ssh-keygen -q -t ed25519 -N '' -C imp-ed@file -f "$T/imp/ed25519" >/dev/null 2>&1
ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -C imp-rsa@file -f "$T/imp/rsapem" >/dev/null 2>&1
ssh-keygen -q -t ecdsa -b 256 -m PKCS8 -N '' -f "$T/imp/p256p8" >/dev/null 2>&1
ssh-keygen -q -t ed25519 -N 'file passphrase' -f "$T/imp/encrypted" >/dev/null 2>&1
ssh-keygen -q -t ed25519 -N '' -f "$T/imp/loose" >/dev/null 2>&1
chmod 644 "$T/imp/loose"
if ! grep -q "BEGIN OPENSSH PRIVATE KEY" "$T/imp/ed25519" ||
	! grep -q "BEGIN RSA PRIVATE KEY" "$T/imp/rsapem" ||
	! grep -q "BEGIN PRIVATE KEY" "$T/imp/p256p8"; then
	bail "ssh-keygen writes OpenSSH, PEM and PKCS#8 key files" "$(head -n 1 "$T"/imp/*)"
fi
for f in ed25519:imp-ed25519:OpenSSH rsapem:imp-rsapem:PEM p256p8:imp-p256:PKCS#8; do
	file=${f%%:*}
	rest=${f#*:}
	name=${rest%%:*}
	fmt=${rest#*:}
	kctl key import "$T/imp/$file" --name "$name"
	want=$(fp_of "$T/imp/$file.pub")
	got=$(fp_of "$T/out" 2>&1)
	kctl key show "$name" --json
	shown=$(util show "$T/out" 2>&1 | cut -d' ' -f2)
	if [ "$got" = "$want" ] && [ "$shown" = "$want" ]; then
		ok "key import of an ssh-keygen $fmt file keeps the fingerprint ($want)"
	else
		fail "key import of an ssh-keygen $fmt file keeps the fingerprint ($want)" \
			"printed $got, key show $shown" "$(cat "$T/err")"
	fi
done
kctl key show imp-ed25519 --json
is "key import keeps the comment of an OpenSSH file" imp-ed@file "$(util field "$T/out" comment 2>&1)"
if wait_until 20 agent_has "$(fp_of "$T/imp/p256p8.pub")" >/dev/null; then
	ok "the running agent serves an imported key"
else
	fail "the running agent serves an imported key" "list: $(agent_fps)"
fi

sum=$(sum_of "$KR")
kctl key import "$T/imp/encrypted"
if [ "$RC" -eq 2 ] && grep -q "ssh-add" "$T/err" && grep -q "key persist" "$T/err" &&
	[ "$(sum_of "$KR")" = "$sum" ]; then
	ok "key import of an encrypted key exits 2 and points to ssh-add and key persist"
else
	fail "key import of an encrypted key exits 2 and points to ssh-add and key persist" \
		"got exit $RC: $(cat "$T/err")"
fi
kctl key import "$T/imp/loose"
if [ "$RC" -ne 0 ] && grep -Eq "chmod 600|perms fix" "$T/err" && [ "$(sum_of "$KR")" = "$sum" ]; then
	ok "key import of a 0644 key file is refused and says how to fix it"
else
	fail "key import of a 0644 key file is refused and says how to fix it" \
		"got exit $RC: $(cat "$T/err")"
fi
kctl key import "$T/imp/ed25519" --name imp-again
if [ "$RC" -eq 2 ] && [ "$(sum_of "$KR")" = "$sum" ]; then
	ok "importing a key the keyring already holds exits 2"
else
	fail "importing a key the keyring already holds exits 2" "got exit $RC: $(cat "$T/err")"
fi
stop_agent

# ---------------------------------------------------------------- passphrase files

printf '%s\n' "$PASSPHRASE" >"$T/pass-nl"
chmod 600 "$T/pass-nl"
run_ctl --keyring "$KR" --passphrase-file "$T/pass-nl" key list
is "a passphrase file's one trailing newline is not part of the passphrase" 0 "$RC"
printf '%s\n\n' "$PASSPHRASE" >"$T/pass-nl2"
chmod 600 "$T/pass-nl2"
run_ctl --keyring "$KR" --passphrase-file "$T/pass-nl2" key list
is "only one trailing newline is stripped (two: wrong passphrase, exit 2)" 2 "$RC"
cp "$T/pass" "$T/pass-640"
chmod 640 "$T/pass-640"
run_ctl --keyring "$KR" --passphrase-file "$T/pass-640" key list
if [ "$RC" -eq 2 ] && grep -q "pass-640" "$T/err"; then
	ok "a group-readable passphrase file is refused (exit 2, names the file)"
else
	fail "a group-readable passphrase file is refused (exit 2, names the file)" \
		"got exit $RC: $(cat "$T/err")"
fi
: >"$T/pass-empty"
chmod 600 "$T/pass-empty"
run_ctl --keyring "$KR" --passphrase-file "$T/pass-empty" key list
if [ "$RC" -eq 2 ] && grep -qi "empty" "$T/err"; then
	ok "an empty passphrase file is refused"
else
	fail "an empty passphrase file is refused" "got exit $RC: $(cat "$T/err")"
fi
ensure_user "$OTHER_USER" -M
cp "$T/pass" "$T/pass-other"
chown "$OTHER_USER" "$T/pass-other"
run_ctl --keyring "$KR" --passphrase-file "$T/pass-other" key list
is "a passphrase file owned by another user is refused (exit 2)" 2 "$RC"
mkdir -m 700 "$T/pass-dir"
run_ctl --keyring "$KR" --passphrase-file "$T/pass-dir" key list
is "a directory as passphrase file is refused (exit 2)" 2 "$RC"
t0=$(now_ms)
run_ctl --keyring "$KR" key list
ms=$(($(now_ms) - t0))
if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && grep -q -- "--passphrase-file" "$T/err" && [ "$ms" -lt 10000 ]; then
	ok "no passphrase file, no Secret Service, no terminal: an error mentioning --passphrase-file"
else
	fail "no passphrase file, no Secret Service, no terminal: an error mentioning --passphrase-file" \
		"got exit $RC after $ms ms: $(cat "$T/err")"
fi

# ---------------------------------------------------------------- keyring passwd

mkdir -m 700 "$T/kr2"
cp -p "$KR" "$T/kr2/keyring"
pass_file "$T/newpass" 'the new passphrase'
run_ctl --keyring "$T/kr2/keyring" --passphrase-file "$T/pass" keyring passwd \
	--new-passphrase-file "$T/newpass"
is "keyring passwd --new-passphrase-file exits 0" 0 "$RC"
run_ctl --keyring "$T/kr2/keyring" --passphrase-file "$T/pass" key list
if [ "$RC" -eq 2 ] && grep -qi passphrase "$T/err"; then
	ok "after passwd the old passphrase is refused (exit 2)"
else
	fail "after passwd the old passphrase is refused (exit 2)" "got exit $RC: $(cat "$T/err")"
fi
run_ctl --keyring "$T/kr2/keyring" --passphrase-file "$T/newpass" key list --json
is "after passwd the new passphrase opens the same keys" "$(keyring_entries 2>&1)" \
	"$(util list "$T/out" 2>&1)"

# ---------------------------------------------------------------- bad input changes nothing

cp -p "$KR" "$T/good-keyring"
BASE_ENTRIES=$(dir_entries "$KDIR")
PROBLEMS=

# Runs sshxctl ARGS against the (damaged) keyring and adds to $PROBLEMS unless it exited RC
# ("nz": any non-zero), said something matching PATTERN (grep -Ei) and nothing matching ANTI
# ("" for none) as "sshxctl: ...: ..." on stderr without any passphrase in it, and left the
# keyring's bytes ($SUM) and the keyring directory's entries ($BASE_ENTRIES) as they were:
# refused RC PATTERN ANTI ARGS...
refused() {
	_want=$1
	_pat=$2
	_anti=$3
	shift 3
	run_ctl "$@"
	_p=
	if [ "$_want" = nz ]; then
		{ [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; } || _p="exit $RC (expected non-zero)"
	else
		[ "$RC" -eq "$_want" ] || _p="exit $RC (expected $_want)"
	fi
	grep -Eqi "$_pat" "$T/err" || _p="$_p; stderr lacks /$_pat/"
	if [ -n "$_anti" ] && grep -Eqi "$_anti" "$T/err"; then
		_p="$_p; stderr says /$_anti/"
	fi
	grep -q '^sshxctl: [^:]*: ' "$T/err" || _p="$_p; stderr is not 'sshxctl: <what>: <why>'"
	if grep -qF -e "$PASSPHRASE" -e 'not the keyring passphrase' "$T/err"; then
		_p="$_p; stderr shows a passphrase"
	fi
	[ "$(sum_of "$KR")" = "$SUM" ] || _p="$_p; the keyring file changed"
	[ "$(dir_entries "$KDIR")" = "$BASE_ENTRIES" ] ||
		_p="$_p; the keyring directory changed: $(dir_entries "$KDIR" | tr '\n' ' ')"
	if [ -n "$_p" ]; then
		PROBLEMS="$PROBLEMS
sshxctl $* -> ${_p#; }; stderr: $(cat "$T/err")"
	fi
}

# Reports the refused calls since the last verdict as one point: verdict DESC.
verdict() {
	if [ -z "$PROBLEMS" ]; then
		ok "$1"
	else
		fail_nolog "$1" "${PROBLEMS#?}"
	fi
	PROBLEMS=
}

restore() {
	cp -p "$T/good-keyring" "$KR"
	chmod 600 "$KR"
	SUM=$(sum_of "$KR")
}

restore
refused 2 passphrase "" --keyring "$KR" --passphrase-file "$T/wrong" key list
refused 2 passphrase "" --keyring "$KR" --passphrase-file "$T/wrong" key generate --name never
verdict "a wrong passphrase: exit 2, says passphrase, keyring untouched"

for off in $(util offsets "$KR"); do
	restore
	util flip "$KR" "$off"
	SUM=$(sum_of "$KR")
	refused nz "$TAMPER_RE" passphrase --keyring "$KR" --passphrase-file "$T/pass" key list
	refused nz "$TAMPER_RE" passphrase --keyring "$KR" --passphrase-file "$T/pass" key generate \
		--name never
	verdict "a flipped byte at offset $off of $(stat -c %s "$KR"): refused as modified, not as a wrong passphrase, untouched"
done

restore
util truncate "$KR"
SUM=$(sum_of "$KR")
refused nz "$DAMAGE_RE" passphrase --keyring "$KR" --passphrase-file "$T/pass" key list
refused nz "$DAMAGE_RE" passphrase --keyring "$KR" --passphrase-file "$T/pass" key generate --name never
verdict "a keyring cut to half its size is refused as damaged, untouched"

restore
: >"$KR"
SUM=$(sum_of "$KR")
refused nz "$DAMAGE_RE" passphrase --keyring "$KR" --passphrase-file "$T/pass" key list
refused nz "$DAMAGE_RE" passphrase --keyring "$KR" --passphrase-file "$T/pass" key generate --name never
verdict "a zero-length keyring is refused as damaged, untouched"

restore
chmod 640 "$KR"
refused nz "640" "" --keyring "$KR" --passphrase-file "$T/pass" key list
grep -Eq "sshxctl perms fix|chmod 600" "$T/err" || PROBLEMS="$PROBLEMS
key list on a 0640 keyring does not say 'sshxctl perms fix' or 'chmod 600': $(cat "$T/err")"
refused nz "640" "" --keyring "$KR" --passphrase-file "$T/pass" key generate --name never
run_ctl --keyring "$KR" keyring status --json
[ "$(util field "$T/out" safe 2>&1)" = false ] || PROBLEMS="$PROBLEMS
keyring status --json does not say safe false: $(cat "$T/out")"
[ "$(stat -c %a "$KR")" = 640 ] || PROBLEMS="$PROBLEMS
the keyring's mode was changed to $(stat -c %a "$KR") behind the user's back"
verdict "a group-readable (0640) keyring is refused naming the mode and the fix, untouched, status says unsafe"

restore
ln -s keyring "$KDIR/link"
BASE_ENTRIES=$(dir_entries "$KDIR")
refused nz "symlink|symbolic link" "" --keyring "$KDIR/link" --passphrase-file "$T/pass" key list
refused nz "symlink|symbolic link" "" --keyring "$KDIR/link" --passphrase-file "$T/pass" \
	key generate --name never
if [ ! -L "$KDIR/link" ]; then
	PROBLEMS="$PROBLEMS
the symlink was replaced"
fi
verdict "a symlink at the keyring path is refused (says symlink), the target untouched"
rm -f "$KDIR/link" "$KDIR/link.lock"
BASE_ENTRIES=$(dir_entries "$KDIR")

restore
refused 2 "exists" "" --keyring "$KR" --passphrase-file "$T/pass" keyring init --kdf-memory 8 --kdf-time 1
verdict "keyring init on an existing keyring exits 2 and changes nothing"

refused 2 "name" "" --keyring "$KR" --passphrase-file "$T/pass" key generate --name "a b"
refused 2 "name" "" --keyring "$KR" --passphrase-file "$T/pass" key generate --name ../x
refused 2 "name" "" --keyring "$KR" --passphrase-file "$T/pass" key generate --name ""
refused 2 "name" "" --keyring "$KR" --passphrase-file "$T/pass" key import "$T/imp/ed25519" \
	--name ../x
verdict "invalid key names (\"a b\", ../x, empty) exit 2 and change nothing"
refused 2 "type" "" --keyring "$KR" --passphrase-file "$T/pass" key generate --type dsa
refused 2 "bits" "" --keyring "$KR" --passphrase-file "$T/pass" key generate --type rsa --bits 1024
verdict "an unknown --type and --bits 1024 exit 2 and change nothing"
refused 2 "already|exists" "" --keyring "$KR" --passphrase-file "$T/pass" key generate --name k-ed25519
verdict "generating under a name already in use exits 2 and changes nothing"

# agentd refuses what sshxctl refuses: exits with a log line matching PATTERN (grep -Ei),
# leaving the file as it was: agentd_refuses DESC PATTERN KEYRING-PATH.
agentd_refuses() {
	timeout -k 2 10 "$AGENTD" -D -a "$T/refuse.sock" --keyring "$3" --passphrase-file "$T/pass" \
		--no-secret-service >/dev/null 2>"$T/refuse.log"
	_rc=$?
	if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 124 ] && grep -Eqi "$2" "$T/refuse.log" &&
		[ "$(sum_of "$KR")" = "$SUM" ]; then
		ok "$1"
	else
		fail_nolog "$1" "got exit $_rc, log:" "$(cat "$T/refuse.log")"
	fi
}

restore
chmod 640 "$KR"
agentd_refuses "agentd with a 0640 keyring exits non-zero, naming the mode and chmod 600" \
	"0?640.*chmod 600" "$KR"
is "agentd left the keyring's mode alone" 640 "$(stat -c %a "$KR")"
restore
ln -s keyring "$KDIR/link"
agentd_refuses "agentd with a symlink as keyring path exits non-zero and says symlink" \
	"symlink|symbolic link" "$KDIR/link"
rm -f "$KDIR/link" "$KDIR/link.lock"

# agentd with a tampered keyring and a passphrase file: exits with a clear log line.
restore
util flip "$KR" "$(($(stat -c %s "$KR") / 2))"
SUM=$(sum_of "$KR")
timeout -k 2 10 "$AGENTD" -D -a "$T/tampered.sock" --keyring "$KR" --passphrase-file "$T/pass" \
	--no-secret-service >/dev/null 2>"$T/tampered.log"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -Eqi "$TAMPER_RE" "$T/tampered.log" &&
	! grep -qi "passphrase does not\|wrong passphrase\|incorrect passphrase" "$T/tampered.log" &&
	[ "$(sum_of "$KR")" = "$SUM" ]; then
	ok "agentd with a tampered keyring and --passphrase-file exits non-zero, says so, file untouched"
else
	fail_nolog "agentd with a tampered keyring and --passphrase-file exits non-zero, says so, file untouched" \
		"got exit $rc, log:" "$(cat "$T/tampered.log")"
fi
restore

done_testing

#!/bin/sh
# ssh-add -x wipes every private key from agentd's memory: keyring keys (imported from
# ssh-keygen files, so their private bytes are known) and a key added with ssh-add.  Scans all
# readable memory of the agent (/proc/PID/mem, as root) before the lock (a control: the
# scanner must find key material there) and after it (none of it may be left).

# shellcheck source=tests/integration/lib.sh
. "$SSHX_TESTDIR/lib.sh"
: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"

setup_tmpdir
isolate_home
[ "$(id -u)" -eq 0 ] || bail "runs as root" "reading another process's memory needs root, got uid $(id -u)"

UTIL=$SSHX_TESTDIR/keyring_util.py
KR=$T/kr/keyring
# Passphrases of at least 32 bytes, so that they can be searched for in memory too.
pass_file "$T/pass" 'memory test keyring passphrase, 0123456789'
pass_file "$T/lockpass" 'memory test lock passphrase, 9876543210'
mkdir -p "$T/k" "$T/pub"

util() {
	"$PYTHON_PARAMIKO" "$UTIL" "$@"
}

"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" keyring init --kdf-memory 8 --kdf-time 1 \
	</dev/null >"$T/init.out" 2>&1 || bail "keyring init" "sshxctl failed: $(cat "$T/init.out")"

# Keyring keys made by ssh-keygen (NAME:ssh-keygen options), and one key only ever ssh-add'ed.
KEYRING_KEYS="ed25519 p256 rsa"
: >"$T/secrets"
for spec in "ed25519:-t ed25519" "p256:-t ecdsa -b 256" "rsa:-t rsa -b 3072" "added:-t ed25519"; do
	name=${spec%%:*}
	# shellcheck disable=SC2086
	ssh-keygen -q ${spec#*:} -N '' -C "mem-$name" -f "$T/k/$name" >"$T/kg.out" 2>&1 ||
		bail "ssh-keygen $name" "$(cat "$T/kg.out")"
	cp "$T/k/$name.pub" "$T/pub/$name.pub"
	util secrets "$name" "$T/k/$name" >>"$T/secrets" 2>"$T/util.err" ||
		bail "extract the private bytes of $name" "$(cat "$T/util.err")"
done
for name in $KEYRING_KEYS; do
	"$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" key import "$T/k/$name" --name "m-$name" \
		</dev/null >/dev/null 2>"$T/imp.err" || bail "key import $name" "$(cat "$T/imp.err")"
done
util blob ed25519 "$T/pub/ed25519.pub" >"$T/controls"
for p in pass lockpass; do
	printf '%s/text/be %s\n' "$p" "$(od -An -tx1 "$T/$p" | tr -d ' \n')"
done >"$T/passphrases"
diag "looking for $(wc -l <"$T/secrets") private byte strings: $(cut -d' ' -f1 "$T/secrets" | tr '\n' ' ')"

: >"$T/agent.log"
start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service
ssh-add "$T/k/added" >"$T/add.out" 2>&1 || bail "ssh-add a file key" "$(cat "$T/add.out")"
# The file key's private half is no longer needed on disk: the agent alone has it.
rm -f "$T/k/added"
is "the agent holds the three keyring keys and the ssh-add'ed one" 4 "$(agent_fps | wc -l)"

printf 'memory test message\n' >"$T/msg"
sign_all() {
	for _k in $KEYRING_KEYS added; do
		rm -f "$T/msg.sig"
		check "$1: $_k signs through the agent (ssh-keygen -Y sign)" \
			ssh-keygen -Y sign -n file -f "$T/pub/$_k.pub" "$T/msg"
	done
}
sign_all "before the lock"

# ---------------------------------------------------------------- the scan before locking

util scan "$AGENT_PID" "$T/secrets" >"$T/scan1" 2>&1
rc=$?
diag "unlocked agent: $(tail -n 1 "$T/scan1")" \
	"private byte strings found: $(grep '^found' "$T/scan1" | cut -d' ' -f2 | sort -u | tr '\n' ' ')"
if [ "$rc" -ne 0 ] || ! grep -q '^scanned [1-9]' "$T/scan1"; then
	bail "the memory scanner reads the agent's memory" "$(cat "$T/scan1")"
fi
if grep -q '^found ed25519/seed/be ' "$T/scan1"; then
	ok "control: the scanner finds the keyring ed25519 seed in the unlocked agent's memory"
elif util scan "$AGENT_PID" "$T/controls" | grep -q '^found ed25519/blob'; then
	ok "control: the scanner finds the keyring ed25519 key's public blob in the unlocked agent (seed not seen as raw bytes)"
else
	fail "control: the scanner finds the keyring ed25519 key in the unlocked agent's memory" \
		"neither its seed nor its public blob was found: the scan proves nothing"
fi

# ---------------------------------------------------------------- lock, scan again

askpass_run "$T/lockpass" ssh-add -x >"$T/x.out" 2>&1
is "ssh-add -x locks the agent" 0 "$?"
is "the locked agent lists nothing" "The agent has no identities." "$(ssh-add -l 2>&1)"
util scan "$AGENT_PID" "$T/secrets" >"$T/scan2" 2>&1
rc=$?
diag "locked agent: $(tail -n 1 "$T/scan2")"
if [ "$rc" -eq 0 ] && grep -q '^scanned [1-9]' "$T/scan2" && ! grep -q '^found' "$T/scan2"; then
	ok "after ssh-add -x no private key bytes (big- or little-endian) are left in the agent's memory"
else
	fail "after ssh-add -x no private key bytes (big- or little-endian) are left in the agent's memory" \
		"$(cat "$T/scan2")"
fi
for name in $KEYRING_KEYS added; do
	if grep -q "^found $name/" "$T/scan2"; then
		fail_nolog "after the lock nothing of $name's private key is in memory" \
			"$(grep "^found $name/" "$T/scan2")"
	else
		ok "after the lock nothing of $name's private key is in memory"
	fi
done

util scan "$AGENT_PID" "$T/passphrases" >"$T/scan3" 2>&1
if ! grep -q '^found' "$T/scan3" && grep -q '^scanned [1-9]' "$T/scan3"; then
	ok "after the lock neither the keyring passphrase nor the lock passphrase is in memory"
else
	fail "after the lock neither the keyring passphrase nor the lock passphrase is in memory" \
		"$(cat "$T/scan3")"
fi

# ---------------------------------------------------------------- unlock: everything back

askpass_run "$T/lockpass" ssh-add -X >"$T/x.out" 2>&1
is "ssh-add -X with the lock passphrase unlocks" 0 "$?"
is "the four keys are listed again" 4 "$(agent_fps | wc -l)"
sign_all "after the unlock"
stop_agent

# ---------------------------------------------------------------- keys that came in by ssh-add -X

# The keyring opened by ssh-add -X (agentd started locked) instead of at start-up.
: >"$T/agent.log"
start_agent_with --keyring "$KR" --no-secret-service
askpass_run "$T/pass" ssh-add -X >"$T/x.out" 2>&1
is "an agentd started locked opens the keyring with ssh-add -X" 3 "$(agent_fps | wc -l)"
bad=
for _k in $KEYRING_KEYS; do
	rm -f "$T/msg.sig"
	ssh-keygen -Y sign -n file -f "$T/pub/$_k.pub" "$T/msg" >/dev/null 2>&1 || bad="$bad $_k"
done
if [ -z "$bad" ]; then
	ok "every keyring key opened by ssh-add -X signs (ssh-keygen -Y sign)"
else
	fail "every keyring key opened by ssh-add -X signs (ssh-keygen -Y sign)" "failed:$bad"
fi
util scan "$AGENT_PID" "$T/secrets" >"$T/scan4" 2>&1
if grep -q '^found ed25519/seed/be ' "$T/scan4"; then
	ok "control: the ed25519 seed is in memory once ssh-add -X opened the keyring"
else
	fail "control: the ed25519 seed is in memory once ssh-add -X opened the keyring" \
		"$(cat "$T/scan4")"
fi
askpass_run "$T/lockpass" ssh-add -x >"$T/x.out" 2>&1
is "ssh-add -x locks it" 0 "$?"
util scan "$AGENT_PID" "$T/secrets" >"$T/scan5" 2>&1
util scan "$AGENT_PID" "$T/passphrases" >>"$T/scan5" 2>&1
diag "locked agent: $(tail -n 1 "$T/scan5")"
if ! grep -q '^found' "$T/scan5" && grep -q '^scanned [1-9]' "$T/scan5"; then
	ok "after ssh-add -X then -x no private key bytes or passphrases are in memory"
else
	fail "after ssh-add -X then -x no private key bytes or passphrases are in memory" "$(cat "$T/scan5")"
fi
stop_agent

done_testing

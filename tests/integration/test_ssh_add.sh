#!/bin/sh
# OpenSSH's ssh-add and ssh-keygen against the agent under test: add, list (-l, -L), delete
# (-d, -D), lock and unlock (-x, -X), lifetimes (-t) and confirmation (-c).

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
gen_keys

# Askpass helpers.  The agent runs $T/confirm-askpass for keys added with -c: it records its
# environment and answers with the exit status stored in $T/confirm.answer (0 yes, 1 no).
cat >"$T/confirm-askpass" <<EOF
#!/bin/sh
n=\$(ls "$T"/confirm.env.* 2>/dev/null | wc -l)
env >"$T/confirm.env.\$n"
exit "\$(cat "$T/confirm.answer")"
EOF
printf '%s\n' '#!/bin/sh' "printf '%s\\n' sshx-lock-passphrase" >"$T/askpass-right"
printf '%s\n' '#!/bin/sh' "printf '%s\\n' wrong-passphrase" >"$T/askpass-wrong"
chmod 755 "$T/confirm-askpass" "$T/askpass-right" "$T/askpass-wrong"
echo 1 >"$T/confirm.answer"

start_agent SSH_ASKPASS="$T/confirm-askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0

# Passes the lock/unlock passphrase to ssh-add through SSH_ASKPASS: with_askpass SCRIPT CMD...
with_askpass() {
	_ap=$1
	shift
	env SSH_ASKPASS="$T/$_ap" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 "$@" </dev/null
}

# Signs $T/msg with the agent's copy of key NAME; only the .pub is on disk next to the path
# given, so ssh-keygen cannot fall back to a private key file.
agent_sign() {
	rm -f "$T/msg.sig"
	ssh-keygen -Y sign -n file -f "$T/pub/$1.pub" "$T/msg"
}
echo "a message to sign" >"$T/msg"

# What ssh-add -l should print for a list of keys, in order.
expected_l() {
	for _k in "$@"; do
		ssh-keygen -lf "$T/keys/$_k.pub"
	done
}
# What ssh-add -L should print for a list of keys, in order.
expected_L() {
	for _k in "$@"; do
		cat "$T/keys/$_k.pub"
	done
}

# --- add every key type, then list.
for k in $KEY_TYPES; do
	check "ssh-add adds the $k key" ssh-add "$T/keys/$k"
done

got=$(ssh-add -l 2>&1)
# shellcheck disable=SC2086
is "ssh-add -l lists the 5 fingerprints (ssh-keygen -lf) in the order added" \
	"$(expected_l $KEY_TYPES)" "$got"
i=0
for k in $KEY_TYPES; do
	i=$((i + 1))
	is "ssh-add -l line $i is the $k key" "$(expected_l "$k")" "$(printf '%s\n' "$got" | sed -n "${i}p")"
done

got=$(ssh-add -L 2>&1)
# shellcheck disable=SC2086
is "ssh-add -L prints each .pub line (type, key, comment) in the order added" \
	"$(expected_L $KEY_TYPES)" "$got"

# --- delete one, then all.
check "ssh-add -d removes the ecdsa384 key" ssh-add -d "$T/keys/ecdsa384"
is "after ssh-add -d, exactly the other four keys remain, in order" \
	"$(expected_L ed25519 ecdsa256 ecdsa521 rsa3072)" "$(ssh-add -L 2>&1)"
check_fails "ssh-add -d of a key no longer in the agent fails" ssh-add -d "$T/keys/ecdsa384"

check "ssh-add -D succeeds" ssh-add -D
got=$(ssh-add -l 2>&1)
rc=$?
is "after ssh-add -D the agent has no identities (ssh-add -l exit 1)" \
	"1 The agent has no identities." "$rc $got"

# --- the same key twice is one entry.
ssh-add "$T/keys/ed25519" >/dev/null 2>&1
check "adding the ed25519 key a second time succeeds" ssh-add "$T/keys/ed25519"
is "the key added twice is listed once" "$(expected_l ed25519)" "$(ssh-add -l 2>&1)"

# --- lock and unlock.
ssh-add -D >/dev/null 2>&1
ssh-add "$T/keys/ed25519" >/dev/null 2>&1
ssh-add "$T/keys/rsa3072" >/dev/null 2>&1
check "before locking, ssh-keygen -Y sign works through the agent" agent_sign ed25519

check "ssh-add -x locks the agent (passphrase from SSH_ASKPASS)" with_askpass askpass-right ssh-add -x
got=$(ssh-add -l 2>&1)
rc=$?
is "a locked agent lists no identities (ssh-add -l exit 1)" "1 The agent has no identities." "$rc $got"
check_fails "a locked agent does not sign (ssh-keygen -Y sign fails)" agent_sign ed25519
check_fails "a locked agent refuses to lock again" with_askpass askpass-right ssh-add -x

check_fails "ssh-add -X with a wrong passphrase fails" with_askpass askpass-wrong ssh-add -X
got=$(ssh-add -l 2>&1)
rc=$?
is "after a wrong unlock passphrase the agent is still locked" "1 The agent has no identities." "$rc $got"
check_fails "after a wrong unlock passphrase signing still fails" agent_sign ed25519

check "ssh-add -X with the right passphrase unlocks" with_askpass askpass-right ssh-add -X
is "after unlocking, both keys are back in order" "$(expected_L ed25519 rsa3072)" "$(ssh-add -L 2>&1)"
check "after unlocking, ssh-keygen -Y sign works again" agent_sign rsa3072

# --- lifetime.
ssh-add -D >/dev/null 2>&1
ssh-add "$T/keys/ecdsa256" >/dev/null 2>&1
t0=$(now_ms)
check "ssh-add -t 2 adds the ed25519 key with a 2 s lifetime" ssh-add -t 2 "$T/keys/ed25519"
is "the key with a lifetime is listed right after adding" "$(expected_L ecdsa256 ed25519)" "$(ssh-add -L 2>&1)"
gone=
while [ "$(($(now_ms) - t0))" -lt 10000 ]; do
	if ! ssh-add -L 2>&1 | grep -qF "$(pub_blob "$T/keys/ed25519.pub")"; then
		gone=$(($(now_ms) - t0))
		break
	fi
	sleep 0.2
done
if [ -n "$gone" ] && [ "$gone" -ge 1000 ]; then
	ok "the key with a 2 s lifetime is gone after ${gone} ms"
else
	fail "the key with a 2 s lifetime expires between 1 and 10 s" \
		"expected it gone between 1000 and 10000 ms after adding, got: ${gone:-still listed after 10 s} ms"
fi
is "the key without a lifetime is still listed" "$(expected_L ecdsa256)" "$(ssh-add -L 2>&1)"

# --- confirmation.
ssh-add -D >/dev/null 2>&1
check "ssh-add -c adds the ed25519 key with confirmation" ssh-add -c "$T/keys/ed25519"
echo 0 >"$T/confirm.answer"
check "a confirm key signs when the askpass answers yes (exit 0)" agent_sign ed25519
n_yes=$(ls "$T"/confirm.env.* 2>/dev/null | wc -l)
is "the agent ran SSH_ASKPASS once for that signature" 1 "$n_yes"
got=$(grep -h '^SSH_ASKPASS_PROMPT=' "$T"/confirm.env.* 2>/dev/null)
is "the agent ran SSH_ASKPASS with SSH_ASKPASS_PROMPT=confirm" "SSH_ASKPASS_PROMPT=confirm" "$got"
echo 1 >"$T/confirm.answer"
check_fails "a confirm key does not sign when the askpass answers no (exit 1)" agent_sign ed25519
n_no=$(ls "$T"/confirm.env.* 2>/dev/null | wc -l)
is "the agent asked again for the refused signature" 2 "$n_no"
is "the confirm key stays listed after a refusal" "$(expected_L ed25519)" "$(ssh-add -L 2>&1)"

# --- agentd's policy: weak keys are refused at add time (ssh-agent accepts them).
if agentd_under_test; then
	gen_keys rsa1024 dsa
	ssh-add -D >/dev/null 2>&1
	check_fails "agentd refuses an RSA 1024 key" ssh-add "$T/keys/rsa1024"
	check_fails "agentd refuses a DSA key" ssh-add "$T/keys/dsa"
	got=$(ssh-add -l 2>&1)
	rc=$?
	is "no refused weak key is listed" "1 The agent has no identities." "$rc $got"
fi

done_testing

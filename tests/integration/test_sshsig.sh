#!/bin/sh
# ssh-keygen -Y sign / -Y verify (SSHSIG) with the private keys held only by the agent.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
gen_keys
start_agent

# Prints "HASH_ALG SIG_ALG PUBKEY_BASE64" read from an armored SSHSIG file.
sshsig_fields() {
	"$PYTHON_PARAMIKO" - "$1" <<'EOF'
import base64, struct, sys
text = open(sys.argv[1]).read().split()
assert text[:3] == ["-----BEGIN", "SSH", "SIGNATURE-----"], text[:3]
blob = base64.b64decode("".join(text[3:-3]))
assert blob[:6] == b"SSHSIG", blob[:6]
pos = 10  # magic + uint32 version
def string():
    global pos
    n = struct.unpack(">I", blob[pos:pos + 4])[0]
    pos += 4 + n
    return blob[pos - n:pos]
pub, namespace, reserved, hash_alg, sig = (string() for _ in range(5))
assert pos == len(blob), "trailing bytes"
pos, blob = 0, sig
print(hash_alg.decode(), string().decode(), base64.b64encode(pub).decode())
EOF
}

printf 'sshx sshsig test message\n' >"$T/msg"
printf 'sshx sshsig test message, modified\n' >"$T/msg.modified"

# Control: with no key in the agent, a .pub path alone cannot sign (so the points below can only
# pass through the agent).
check_fails "with the key not in the agent, ssh-keygen -Y sign with only the .pub fails" \
	ssh-keygen -Y sign -n file -f "$T/pub/ed25519.pub" "$T/msg"
rm -f "$T/msg.sig"

for k in $KEY_TYPES; do
	ssh-add "$T/keys/$k" >"$T/add.out" 2>&1 || bail "ssh-add $k" "ssh-add failed: $(cat "$T/add.out")"
done

for k in $KEY_TYPES; do
	principal="sshx-$k@test"
	printf '%s namespaces="file" %s\n' "$principal" "$(pub_blob "$T/keys/$k.pub")" >"$T/allowed_signers"
	rm -f "$T/msg.sig"
	check "$k: ssh-keygen -Y sign through the agent (only $k.pub on disk)" \
		ssh-keygen -Y sign -n file -f "$T/pub/$k.pub" "$T/msg"
	check "$k: ssh-keygen -Y verify accepts the signature" \
		sh -c 'ssh-keygen -Y verify -f "$1" -I "$2" -n file -s "$3" <"$4"' sh \
		"$T/allowed_signers" "$principal" "$T/msg.sig" "$T/msg"
	check_fails "$k: ssh-keygen -Y verify rejects the signature over a modified message" \
		sh -c 'ssh-keygen -Y verify -f "$1" -I "$2" -n file -s "$3" <"$4"' sh \
		"$T/allowed_signers" "$principal" "$T/msg.sig" "$T/msg.modified"
	case $k in
	ed25519) alg=ssh-ed25519 ;;
	ecdsa256) alg=ecdsa-sha2-nistp256 ;;
	ecdsa384) alg=ecdsa-sha2-nistp384 ;;
	ecdsa521) alg=ecdsa-sha2-nistp521 ;;
	rsa3072) alg=rsa-sha2-512 ;;
	esac
	got=$(sshsig_fields "$T/msg.sig" 2>&1)
	is "$k: the SSHSIG holds the key, hash sha512 and signature algorithm $alg" \
		"sha512 $alg $(pub_blob "$T/keys/$k.pub" | cut -d' ' -f2)" "$got"
done

done_testing

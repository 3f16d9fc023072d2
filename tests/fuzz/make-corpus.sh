#!/bin/sh
# Writes the seed corpora of the fuzz harnesses from real OpenSSH output: keys of every type made
# by ssh-keygen (OpenSSH, PEM and PKCS#8 files), their public blobs and agent-form private keys,
# known_hosts lines (plain, [host]:port, hashed by ssh-keygen -H, markers) and keyring files
# written by sshxctl. Usage: make-corpus.sh SSHXCTL OUTDIR (OUTDIR/<harness>/ is replaced).
# The committed corpus is this script's output; run it again after a format change.

set -eu
SSHXCTL=$1
OUT=$2
PY=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d /tmp/sshx-corpus.XXXXXX)
trap 'rm -rf "$W"' EXIT

for h in fuzz_agent fuzz_key fuzz_keyring fuzz_kh fuzz_import; do
	rm -rf "${OUT:?}/$h"
	mkdir -p "$OUT/$h"
done

# Keys of every type, in each file format ssh-keygen writes.
for spec in ed25519: ecdsa:256 ecdsa:384 ecdsa:521 rsa:2048; do
	t=${spec%%:*}
	b=${spec#*:}
	n=$t${b}
	ssh-keygen -q -t "$t" ${b:+-b "$b"} -N '' -C "seed $n" -f "$W/$n"
	cp "$W/$n" "$OUT/fuzz_import/openssh-$n"
	if [ "$t" != ed25519 ]; then
		cp "$W/$n" "$W/$n.pem"
		ssh-keygen -q -p -N '' -P '' -m PEM -f "$W/$n.pem" >/dev/null
		cp "$W/$n.pem" "$OUT/fuzz_import/pem-$n"
	fi
	cp "$W/$n" "$W/$n.p8"
	ssh-keygen -q -p -N '' -P '' -m PKCS8 -f "$W/$n.p8" >/dev/null
	cp "$W/$n.p8" "$OUT/fuzz_import/pkcs8-$n"
done

# Public blobs (first byte odd) and agent-form private keys (first byte even) from the OpenSSH
# files; known_hosts lines; keyring bodies built from the same keys.
"$PY" - "$W" "$OUT" <<'EOF'
import base64, glob, hashlib, hmac, os, struct, sys

w, out = sys.argv[1], sys.argv[2]

def u32(n): return struct.pack(">I", n)
def string(b): return u32(len(b)) + b
def get_string(b, o):
    n = struct.unpack(">I", b[o:o + 4])[0]
    return b[o + 4:o + 4 + n], o + 4 + n

def private_section(path):
    """The agent-form private key (type and fields, no comment) of an unencrypted openssh-key-v1 file."""
    text = open(path).read().split("-----")[2]
    d = base64.b64decode("".join(text.split()))
    assert d.startswith(b"openssh-key-v1\0")
    o = len(b"openssh-key-v1\0")
    for _ in range(3):                      # cipher, kdf, kdf options
        _, o = get_string(d, o)
    o += 4                                  # number of keys
    _, o = get_string(d, o)                 # public key
    priv, _ = get_string(d, o)
    p = 8                                   # two check integers
    ktype, p = get_string(priv, p)
    nfields = {b"ssh-ed25519": 2, b"ssh-rsa": 6}.get(ktype, 3)
    start = p
    for _ in range(nfields):
        _, p = get_string(priv, p)
    return string(ktype) + priv[start:p], ktype

keys = []
for path in sorted(glob.glob(os.path.join(w, "*"))):
    if not os.path.exists(path + ".pub") or "." in os.path.basename(path):
        continue
    name = os.path.basename(path)
    blob = base64.b64decode(open(path + ".pub").read().split()[1])
    priv, ktype = private_section(path)
    keys.append((name, ktype, blob, priv))
    open(os.path.join(out, "fuzz_key", "pub-" + name), "wb").write(b"\x01" + blob)
    open(os.path.join(out, "fuzz_key", "priv-" + name), "wb").write(b"\x00" + priv)

# known_hosts lines: flags byte 0 (known_hosts), 1 (keyscan).
lines = []
for i, (name, ktype, blob, _) in enumerate(keys):
    b64 = base64.b64encode(blob).decode()
    lines.append((0, "host%d.example.com,10.0.0.%d %s %s comment" % (i, i, ktype.decode(), b64)))
    lines.append((1, "[host%d.example]:2222 %s %s" % (i, ktype.decode(), b64)))
    lines.append((0, "[::1]:22%d %s %s" % (i, ktype.decode(), b64)))
    salt = hashlib.sha1(name.encode()).digest()
    h = hmac.new(salt, ("host%d.example.com" % i).encode(), hashlib.sha1).digest()
    lines.append((0, "|1|%s|%s %s %s" % (base64.b64encode(salt).decode(), base64.b64encode(h).decode(),
                                          ktype.decode(), b64)))
lines.append((0, "@revoked *.bad.example %s %s" % (keys[0][1].decode(), base64.b64encode(keys[0][2]).decode())))
lines.append((0, "@cert-authority *.example.com,!x.example.com %s %s" % (keys[0][1].decode(),
                                                                        base64.b64encode(keys[0][2]).decode())))
lines.append((0, "# a comment"))
lines.append((0, "*.example.com,!bad.example.com\nweb.example.com"))
for i, (flags, line) in enumerate(lines):
    open(os.path.join(out, "fuzz_kh", "line-%02d" % i), "wb").write(bytes([flags]) + line.encode())

# Keyring bodies (first byte odd): count, then records in the documented layout.
def record(name, state, priv, blob, succ=b"", pred=b""):
    key = string(blob) if state == 2 else string(priv)
    return (string(name) + string(b"comment " + name) + struct.pack(">Q", 1700000000) + bytes([state]) +
            struct.pack(">Q", 1800000000 if state == 1 else 0) + string(pred) + string(succ) + key)
body = u32(len(keys))
for i, (name, _, blob, priv) in enumerate(keys):
    body += record(name.encode(), i % 3, priv, blob)
open(os.path.join(out, "fuzz_keyring", "body-all"), "wb").write(b"\x01" + body)
open(os.path.join(out, "fuzz_keyring", "body-empty"), "wb").write(b"\x01" + u32(0))
EOF

# Keyring files as sshxctl writes them (first byte even: the header checks).
printf 'corpus passphrase' >"$W/pass"
chmod 600 "$W/pass"
mkdir -m 700 "$W/kr"
"$SSHXCTL" --keyring "$W/kr/keyring" --passphrase-file "$W/pass" keyring init >/dev/null 2>&1
{ printf '\000'; cat "$W/kr/keyring"; } >"$OUT/fuzz_keyring/file-empty"
"$SSHXCTL" --keyring "$W/kr/keyring" --passphrase-file "$W/pass" key generate --name a >/dev/null 2>&1
{ printf '\000'; cat "$W/kr/keyring"; } >"$OUT/fuzz_keyring/file-one-key"

# Agent request streams as ssh-add and ssh-keygen send them (agent-corpus.py records them).
"$PY" "$(dirname "$0")/agent-corpus.py" "$W" "$OUT/fuzz_agent"

for h in fuzz_agent fuzz_key fuzz_keyring fuzz_kh fuzz_import; do
	echo "$h: $(ls "$OUT/$h" | wc -l) seeds, $(du -sk "$OUT/$h" | cut -f1) KiB"
done

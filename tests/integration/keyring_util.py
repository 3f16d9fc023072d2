#!/usr/bin/python3
"""Helpers of the keyring integration tests (test_keyring*.sh); run with $PYTHON_PARAMIKO.

  list FILE               validate `sshxctl key list --json` output; print "NAME FP BITS STATE"
                          per key, sorted by name
  show FILE               validate `sshxctl key show --json` output; print "NAME FP BITS STATE"
  names FILE              the names of `key list --json` output, sorted, one a line
  field FILE KEY          one member of a JSON object (strings raw, others as JSON)
  offsets FILE            about 25 offsets spread over the file: header, middle, last byte
  flip FILE OFFSET        xor the byte at OFFSET with 0x01 (in place)
  truncate FILE           cut the file to half its size (in place)
  agent-blobs             base64 blobs of paramiko.Agent().get_keys() ($SSH_AUTH_SOCK), sorted
  secrets LABEL KEYFILE   hex of the private byte strings of an unencrypted OpenSSH key file,
                          "LABEL/PART/be HEX" and "LABEL/PART/le HEX" lines (big- and
                          little-endian; every one at least 32 bytes)
  scan PID SECRETS        search every readable mapping of process PID (/proc/PID/mem) for the
                          byte strings of a `secrets` file; print "found LABEL at ADDR in
                          MAPPING" per hit and a "scanned N bytes in M mappings" summary
                          (mappings over 64 GiB, a sanitizer's shadow, are skipped and counted)
  blob LABEL PUBFILE      "LABEL/blob/be HEX" of the key blob of a .pub file (a public control)

Exit status 0 on success; 1 with a message on stderr when the input is not what it should be.
"""

import base64
import json
import os
import sys

# Mappings larger than this are not read by scan (sanitizer shadow memory).
HUGE_MAPPING = 64 << 30

LIST_FIELDS = ("name", "type", "bits", "fingerprint", "comment", "created", "state")


def die(msg):
    sys.stderr.write("keyring_util: %s\n" % msg)
    sys.exit(1)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die("%s: not valid JSON: %s" % (path, e))


def entry_line(e):
    if not isinstance(e, dict):
        die("expected a JSON object per key, got %r" % (e,))
    missing = [k for k in LIST_FIELDS if k not in e]
    if missing:
        die("key object %r lacks %s" % (e, ", ".join(missing)))
    if not isinstance(e["bits"], int) or not str(e["fingerprint"]).startswith("SHA256:"):
        die("key object %r: bits must be a number, fingerprint SHA256:..." % (e,))
    return "%s %s %d %s" % (e["name"], e["fingerprint"], e["bits"], e["state"])


def cmd_list(path):
    data = load_json(path)
    if not isinstance(data, list):
        die("expected a JSON array, got %r" % (data,))
    for line in sorted(entry_line(e) for e in data):
        print(line)


def cmd_show(path):
    print(entry_line(load_json(path)))


def cmd_names(path):
    data = load_json(path)
    if not isinstance(data, list):
        die("expected a JSON array, got %r" % (data,))
    for name in sorted(str(e.get("name")) for e in data):
        print(name)


def cmd_field(path, key):
    data = load_json(path)
    if not isinstance(data, dict) or key not in data:
        die("%s: expected an object with %r, got %r" % (path, key, data))
    v = data[key]
    print(v if isinstance(v, str) else json.dumps(v))


def cmd_offsets(path):
    n = os.path.getsize(path)
    if n < 64:
        die("%s: only %d bytes" % (path, n))
    fixed = [0, 1, 3, 5, 8, 12, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 112, 128, 144]
    spread = [n // 4, n // 3, n // 2, (2 * n) // 3, (3 * n) // 4, n - 17, n - 2, n - 1]
    for off in sorted(set(o for o in fixed + spread if 0 <= o < n)):
        print(off)


def cmd_flip(path, off):
    off = int(off)
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        if len(b) != 1:
            die("%s: no byte at offset %d" % (path, off))
        f.seek(off)
        f.write(bytes([b[0] ^ 0x01]))


def cmd_truncate(path):
    n = os.path.getsize(path)
    os.truncate(path, n // 2)


def cmd_agent_blobs():
    import paramiko

    agent = paramiko.Agent()
    try:
        for blob in sorted(base64.b64encode(k.asbytes()).decode() for k in agent.get_keys()):
            print(blob)
    finally:
        agent.close()


def minimal_be(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def cmd_secrets(label, path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    with open(path, "rb") as f:
        key = serialization.load_ssh_private_key(f.read(), password=None)
    parts = []
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        parts.append(("seed", seed))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        width = (key.curve.key_size + 7) // 8
        parts.append(("d", key.private_numbers().private_value.to_bytes(width, "big")))
    elif isinstance(key, rsa.RSAPrivateKey):
        nums = key.private_numbers()
        parts += [("d", minimal_be(nums.d)), ("p", minimal_be(nums.p)), ("q", minimal_be(nums.q))]
    else:
        die("%s: unexpected key type %s" % (path, type(key).__name__))
    for part, be in parts:
        # Leading zero bytes of a fixed-width scalar are not part of what a bignum stores.
        core = be.lstrip(b"\0") if part != "seed" else be
        if len(core) < 32:
            die("%s: %s is only %d bytes (need >= 32 to search for)" % (path, part, len(core)))
        print("%s/%s/be %s" % (label, part, core.hex()))
        if part != "seed":
            print("%s/%s/le %s" % (label, part, core[::-1].hex()))


def cmd_blob(label, path):
    with open(path) as f:
        blob = base64.b64decode(f.read().split()[1])
    print("%s/blob/be %s" % (label, blob.hex()))


def readable_mappings(pid):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1]:
                continue
            name = fields[5] if len(fields) > 5 else "[anon]"
            if name == "[vvar]" or name == "[vsyscall]":
                continue
            yield start, end, name


def cmd_scan(pid, secrets_path):
    pid = int(pid)
    secrets = []
    with open(secrets_path) as f:
        for line in f:
            label, hexs = line.split()
            secrets.append((label, bytes.fromhex(hexs)))
    if not secrets:
        die("%s: no secrets to look for" % secrets_path)
    longest = max(len(s) for _, s in secrets)
    chunk = 1 << 20
    total = 0
    nmaps = 0
    hits = []
    skipped = 0
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        for start, end, name in readable_mappings(pid):
            if end - start > HUGE_MAPPING:
                # A sanitizer's shadow memory: terabytes of reserved zero pages.
                skipped += end - start
                continue
            nmaps += 1
            pos = start
            tail = b""
            while pos < end:
                n = min(chunk, end - pos)
                try:
                    data = os.pread(fd, n, pos)
                except OSError:
                    data = b""
                if not data:
                    # Unreadable (guard page, device mapping): skip this piece.
                    tail = b""
                    pos += n
                    continue
                total += len(data)
                buf = tail + data
                base = pos - len(tail)
                for label, s in secrets:
                    i = buf.find(s)
                    while i != -1:
                        hits.append((label, base + i, name))
                        i = buf.find(s, i + 1)
                tail = buf[-(longest - 1):] if longest > 1 else b""
                pos += len(data)
    finally:
        os.close(fd)
    seen = set()
    for label, addr, name in hits:
        if (label, addr) in seen:
            continue
        seen.add((label, addr))
        print("found %s at 0x%x in %s" % (label, addr, name))
    print("scanned %d bytes in %d mappings%s" % (
        total, nmaps, ", skipped %d bytes of huge mappings" % skipped if skipped else ""))


def main(argv):
    cmds = {
        "list": (cmd_list, 1), "show": (cmd_show, 1), "names": (cmd_names, 1),
        "field": (cmd_field, 2), "offsets": (cmd_offsets, 1), "flip": (cmd_flip, 2),
        "truncate": (cmd_truncate, 1), "agent-blobs": (cmd_agent_blobs, 0),
        "secrets": (cmd_secrets, 2), "scan": (cmd_scan, 2), "blob": (cmd_blob, 2),
    }
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        die("usage: see the docstring of %s" % argv[0])
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)

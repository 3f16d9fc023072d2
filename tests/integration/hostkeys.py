"""Paramiko against known_hosts files written by `sshxctl known-hosts export`.

Run by test_known_hosts.sh through lib.sh's run_py; prints "ok - ..." / "not ok - ..." lines.
Every connection uses RejectPolicy and the agent on $SSH_AUTH_SOCK (allow_agent=True,
look_for_keys=False), as a deployment that trusts only the exported file would.

Modes:
  login LABEL PORT USER FILE TYPE...
        for each host key TYPE (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa) log in to
        127.0.0.1:PORT with only that host key algorithm offered, and run a command
  refused LABEL PORT USER FILE bad SERVER.pub PINNED.pub
        connect raises BadHostKeyException naming the server's key and the pinned one
  refused LABEL PORT USER FILE unknown
        connect raises SSHException "Server '[127.0.0.1]:PORT' not found in known_hosts"
  load LABEL FILE COUNT [HOST TYPE...]
        load_host_keys(FILE) works and yields COUNT (host, type) entries; with HOST, a
        lookup of HOST finds exactly the TYPEs, in that order
  probe LABEL FILE
        load_host_keys(FILE) does not raise; what Paramiko made of it is shown as diagnostics
  hashed LABEL FILE HOST
        every name is |1|salt|hash with a 20-byte salt and a 20-byte HMAC-SHA1 of HOST
  complete LABEL DIR HOST
        every file in DIR (copies taken while exports ran; *.missing names skipped) is a whole
        known_hosts file: newline-terminated lines of exactly 3 fields, each loaded by Paramiko,
        HOST's three keys first, then only hostN.example.com names
"""

import base64
import hashlib
import hmac
import os
import sys

import paramiko

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentproto  # noqa: E402

# Host key algorithms Paramiko 2.12 knows; a TYPE is forced by disabling all the others.
ALL_HOSTKEY_ALGS = list(paramiko.Transport._preferred_keys)
ALGS_FOR_TYPE = {
    "ssh-ed25519": ["ssh-ed25519"],
    "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
    "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
}


def new_client(path):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    if path is not None:
        client.load_host_keys(path)
    return client


def connect(client, port, user, disabled=None):
    client.connect("127.0.0.1", port, user, allow_agent=True, look_for_keys=False,
                   timeout=10, banner_timeout=10, auth_timeout=10,
                   disabled_algorithms={"keys": disabled} if disabled else None)


def mode_login(p, label, args):
    port, user, path, types = int(args[0]), args[1], args[2], args[3:]
    for ktype in types:
        what = "%s: Paramiko logs in with RejectPolicy, host key %s" % (label, ktype)
        disabled = [a for a in ALL_HOSTKEY_ALGS if a not in ALGS_FOR_TYPE[ktype]]
        client = new_client(path)
        try:
            connect(client, port, user, disabled)
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            p.check(False, what, "expected an authenticated connection, got %s: %s" % (type(e).__name__, e))
            client.close()
            continue
        try:
            transport = client.get_transport()
            got_type = transport.get_remote_server_key().get_name()
            _, stdout, _ = client.exec_command("echo paramiko-ok", timeout=10)
            out = stdout.read().decode()
            status = stdout.channel.recv_exit_status()
            p.check(transport.is_authenticated() and got_type == ktype and (out, status) == ("paramiko-ok\n", 0),
                    what,
                    "expected an authenticated transport, server key %s, 'paramiko-ok' and exit 0" % ktype,
                    "got authenticated=%r, server key %s, output %r, exit %r"
                    % (transport.is_authenticated(), got_type, out, status))
        finally:
            client.close()


def mode_refused(p, label, args):
    port, user, path, want = int(args[0]), args[1], args[2], args[3]
    client = new_client(path)
    exc = None
    try:
        connect(client, port, user)
        got = "a connection"
    except paramiko.BadHostKeyException as e:
        exc = e
        got = "BadHostKeyException: %s" % e
    except paramiko.SSHException as e:
        exc = e
        got = "SSHException: %s" % e
    except Exception as e:  # noqa: BLE001
        got = "%s: %s" % (type(e).__name__, e)
    finally:
        client.close()
    if want == "unknown":
        expected = "SSHException: Server '[127.0.0.1]:%d' not found in known_hosts" % port
        p.equal(got, expected, "%s: Paramiko RejectPolicy refuses the unknown host (SSHException)" % label)
        return
    server_type, server_blob, _ = agentproto.read_pub(args[4])
    pinned_type, pinned_blob, _ = agentproto.read_pub(args[5])
    ok = isinstance(exc, paramiko.BadHostKeyException)
    p.check(ok, "%s: Paramiko raises BadHostKeyException" % label,
            "expected BadHostKeyException, got %s" % got)
    if ok:
        got_keys = (exc.key.get_name(), exc.key.asbytes(), exc.expected_key.get_name(),
                    exc.expected_key.asbytes())
        p.check(got_keys == (server_type, server_blob, pinned_type, pinned_blob),
                "%s: the exception names the server's real %s key and the pinned one" % (label, server_type),
                "expected server key %s %s, pinned key %s %s" % (
                    server_type, base64.b64encode(server_blob).decode(),
                    pinned_type, base64.b64encode(pinned_blob).decode()),
                "got server key %s %s, pinned key %s %s" % (
                    got_keys[0], base64.b64encode(got_keys[1]).decode(),
                    got_keys[2], base64.b64encode(got_keys[3]).decode()))


def entries(hostkeys):
    """(name as stored, key type) for every key Paramiko kept, in file order."""
    return [(name, e.key.get_name()) for e in hostkeys._entries for name in e.hostnames]


def mode_load(p, label, args):
    path, count, host, types = args[0], int(args[1]), args[2] if len(args) > 2 else None, args[3:]
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(path)
    except Exception as e:  # noqa: BLE001
        p.check(False, "%s: Paramiko load_host_keys reads the file" % label,
                "expected no exception, got %s: %s" % (type(e).__name__, e))
        return
    got = entries(client.get_host_keys())
    p.check(len(got) == count, "%s: Paramiko load_host_keys reads the file, %d keys" % (label, count),
            "expected %d (host, type) entries, got %d:" % (count, len(got)), *["  %s %s" % g for g in got])
    if host is not None:
        found = client.get_host_keys().lookup(host)
        p.equal(list(found.keys()) if found is not None else None, types,
                "%s: Paramiko finds %s with the key types %s" % (label, host, " ".join(types)))


def mode_probe(p, label, args):
    path = args[0]
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(path)
    except Exception as e:  # noqa: BLE001
        p.check(False, "%s: Paramiko %s load_host_keys does not raise" % (label, paramiko.__version__),
                "expected no exception, got %s: %s" % (type(e).__name__, e))
        return
    with open(path) as f:
        lines = f.read().splitlines()
    got = entries(client.get_host_keys())
    p.check(True, "%s: Paramiko %s load_host_keys does not raise" % (label, paramiko.__version__))
    p.diag("Paramiko %s kept %d of the %d lines (%d marker lines in the file):"
           % (paramiko.__version__, len(got), len(lines), sum(1 for x in lines if x.startswith("@"))))
    for g in got:
        p.diag("  %s %s" % g)


def mode_hashed(p, label, args):
    path, host = args[0], args[1]
    with open(path) as f:
        lines = f.read().splitlines()
    bad = []
    for n, line in enumerate(lines, 1):
        name = line.split(" ")[0]
        parts = name.split("|")
        if len(parts) != 4 or parts[0] != "" or parts[1] != "1":
            bad.append("line %d: name %r is not |1|salt|hash" % (n, name))
            continue
        try:
            salt = base64.b64decode(parts[2], validate=True)
            digest = base64.b64decode(parts[3], validate=True)
        except ValueError as e:
            bad.append("line %d: %r does not decode as base64: %s" % (n, name, e))
            continue
        if len(salt) != 20 or len(digest) != 20:
            bad.append("line %d: salt %d bytes, hash %d bytes, expected 20 and 20" % (n, len(salt), len(digest)))
            continue
        if hmac.new(salt, host.encode(), hashlib.sha1).digest() != digest:
            bad.append("line %d: the hash is not HMAC-SHA1(salt, %r)" % (n, host))
    p.check(lines and not bad, "%s: every name is |1|salt|hash, 20-byte salt, HMAC-SHA1 of %s" % (label, host),
            "expected %d hashed names of %s, got:" % (len(lines), host), *(bad or ["an empty file"]))


def snapshot_problems(path, host):
    """What is wrong with one copy of the exported file (empty list when it is whole)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return ["empty"]
    if not data.endswith(b"\n"):
        return ["no newline at the end (%d bytes): %r" % (len(data), data[-60:])]
    lines = data.decode("ascii", "replace").split("\n")[:-1]
    bad = []
    for n, line in enumerate(lines, 1):
        fields = line.split(" ")
        entry = paramiko.hostkeys.HostKeyEntry.from_line(line, n) if len(fields) == 3 else None
        if entry is None or entry.key is None:
            bad.append("line %d is not a known_hosts key line: %r" % (n, line[:100]))
        elif n <= 3 and fields[0] != host:
            bad.append("line %d: expected %s first, got %r" % (n, host, fields[0]))
        elif n > 3 and not (fields[0].startswith("host") and fields[0].endswith(".example.com")):
            bad.append("line %d: unexpected name %r" % (n, fields[0]))
    if len(lines) < 3:
        bad.append("only %d lines" % len(lines))
    hk = paramiko.HostKeys()
    hk.load(path)
    if len(entries(hk)) != len(lines):
        bad.append("Paramiko kept %d of %d lines" % (len(entries(hk)), len(lines)))
    return bad


def mode_complete(p, label, args):
    directory, host = args[0], args[1]
    names = sorted(x for x in os.listdir(directory) if not x.endswith(".missing"))
    bad, sizes = [], set()
    for name in names:
        path = os.path.join(directory, name)
        try:
            problems = snapshot_problems(path, host)
        except Exception as e:  # noqa: BLE001
            problems = ["%s: %s" % (type(e).__name__, e)]
        bad += ["%s: %s" % (name, x) for x in problems]
        with open(path, "rb") as f:
            sizes.add(f.read().count(b"\n"))
    p.diag("%d copies, line counts %s" % (len(names), " ".join(str(x) for x in sorted(sizes))))
    p.check(names and not bad,
            "%s: all %d copies of the file taken meanwhile are whole and load in Paramiko" % (label, len(names)),
            "expected whole known_hosts files, got:", *(bad[:30] or ["no copies at all"]))


def main():
    mode, label, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    p = agentproto.Points()
    {"login": mode_login, "refused": mode_refused, "load": mode_load, "probe": mode_probe,
     "hashed": mode_hashed, "complete": mode_complete}[mode](p, label, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

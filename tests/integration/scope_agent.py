"""Scoped sockets, forwarding policy and destination constraints, seen by a client.

Modes (output: "ok - ..." / "not ok - ..." lines for lib.sh's run_py):
  lists SOCK PUB...           the agent on SOCK lists exactly these keys, in this order
  scoped-refusals SOCK HIDDEN_PUB
                              on a scoped socket: a key not exposed is never signed with, the
                              connection stays usable, and requests that change the agent fail
  login-fails PORT KNOWN_HOSTS USER
                              Paramiko with the agent on $SSH_AUTH_SOCK gets no login
  signs SOCK PUB yes|no       a sign request for PUB (listed or not) gets a signature, or FAILURE
  bad-constraints SOCK        adds with malformed or unknown constraint extensions are refused
  bound SOCK HOSTKEY_FILE USER PUB LISTED SIGNS
                              a connection bound (session-bind) to the host key in HOSTKEY_FILE
                              lists PUB or not (LISTED yes/no), and signs a userauth request for
                              USER with it or not (SIGNS yes/no)
"""

import os
import sys

import paramiko

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentproto  # noqa: E402
from agentproto import string, u32  # noqa: E402


def query_names(payload):
    """The extension names of a query answer's payload (after the message type)."""
    r = agentproto.Reader(payload)
    if r.string() != b"query":
        raise agentproto.ProtocolError("the answer does not name query")
    names = []
    while r.pos < len(r.data):
        names.append(r.string())
    return names


def mode_lists(p, args):
    sock, pubs = args[0], args[1:]
    want = [agentproto.read_pub(path)[1] for path in pubs]
    names = [os.path.basename(path) for path in pubs]
    with agentproto.AgentConn(sock) as a:
        got = [blob for blob, _ in a.list_identities()]
    p.equal(got, want, "%s lists exactly %s" % (os.path.basename(sock), ", ".join(names) or "nothing"))


def mode_scoped_refusals(p, args):
    sock, hidden = args[0], args[1]
    blob = agentproto.read_pub(hidden)[1]
    name = os.path.basename(hidden)
    with agentproto.AgentConn(sock) as a:
        listed = [b for b, _ in a.list_identities()]
        p.check(blob not in listed, "%s is not listed on the scoped socket" % name,
                "expected the key to be absent from the listing")
        try:
            a.sign(blob, b"scoped data", agentproto.FLAG_RSA_SHA2_256)
            got = "a signature"
        except agentproto.Refused:
            got = "FAILURE"
        p.equal(got, "FAILURE", "a sign request for %s on the scoped socket gets FAILURE" % name)
        p.equal([b for b, _ in a.list_identities()], listed,
                "the scoped connection still answers after the refusal")
        p.equal(a.remove_all(), False, "REMOVE_ALL is refused on the scoped socket")
        p.equal(a.remove(listed[0]) if listed else False, False,
                "REMOVE_IDENTITY is refused on the scoped socket")
        p.equal(a.lock("pw"), False, "LOCK is refused on the scoped socket")
        p.equal(a.add_ed25519(os.urandom(32), "x"), False, "ADD_IDENTITY is refused on the scoped socket")
        t, _ = a.extension("status@sshx")
        p.equal(t, agentproto.FAILURE, "status@sshx is refused on the scoped socket")
        t, payload = a.extension("query")
        p.equal(t, agentproto.EXTENSION_RESPONSE, "query is answered on the scoped socket")
        p.equal(query_names(payload), [b"query", b"session-bind@openssh.com"],
                "query on the scoped socket lists only the extensions served there")
        p.equal([b for b, _ in a.list_identities()], listed, "the scoped socket still lists its keys")


def mode_login_fails(p, args):
    port, known_hosts, user = int(args[0]), args[1], args[2]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_host_keys(known_hosts)
    try:
        client.connect("127.0.0.1", port, user, allow_agent=True, look_for_keys=False,
                       timeout=10, banner_timeout=10, auth_timeout=10)
        got = "a login"
    except paramiko.AuthenticationException as e:
        got = "AuthenticationException"
        p.diag("Paramiko said: %s" % e)
    except (paramiko.SSHException, EOFError, OSError) as e:
        # sshd may cut the connection after MaxAuthTries instead of answering.
        got = "AuthenticationException"
        p.diag("Paramiko said: %s: %s" % (type(e).__name__, e))
    finally:
        client.close()
    p.equal(got, "AuthenticationException",
            "Paramiko on the main socket gets no login (every key is tried, sshd gives up first)")


def mode_signs(p, args):
    sock, pub, want = args
    blob = agentproto.read_pub(pub)[1]
    name = os.path.basename(pub)
    with agentproto.AgentConn(sock) as a:
        try:
            a.sign(blob, b"sshx forwarded data", agentproto.FLAG_RSA_SHA2_256)
            got = "yes"
        except agentproto.Refused:
            got = "no"
    p.equal(got, want, "a raw sign request for %s %s" % (name, "is signed" if want == "yes" else "gets FAILURE"))


def mode_bad_constraints(p, args):
    sock = args[0]
    ext = bytes([255]) + string("restrict-destination-v00@openssh.com")
    hop_to = string("") + string("host") + string("")  # a "to" hop without host keys
    cases = [
        ("a truncated destination constraint", ext + u32(40) + b"\0\0"),
        ("a destination constraint whose 'to' hop has no host key",
         ext + string(string(string(string("") + string("") + string("")) + string(hop_to) + string("")))),
        ("an empty destination constraint list", ext + string(b"")),
        ("an unknown constraint extension", bytes([255]) + string("frobnicate@example.com") + string(b"")),
    ]
    with agentproto.AgentConn(sock) as a:
        before = len(a.list_identities())
        for desc, constraints in cases:
            p.equal(a.add_ed25519(os.urandom(32), "bad", constraints), False, "add refused: %s" % desc)
        p.equal(len(a.list_identities()), before, "none of the refused adds left a key in the agent")


def load_hostkey(path):
    """Returns (public blob, sign function) of an OpenSSH ed25519 private key file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    with open(path, "rb") as f:
        key = serialization.load_ssh_private_key(f.read(), password=None)
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    blob = string("ssh-ed25519") + string(raw)
    return blob, lambda data: string("ssh-ed25519") + string(key.sign(data))


def userauth_request(sid, user, blob, hostkey_blob):
    """The data ssh signs for publickey-hostbound-v00@openssh.com authentication."""
    alg = agentproto.Reader(blob).string()
    return (string(sid) + bytes([50]) + string(user) + string("ssh-connection") +
            string("publickey-hostbound-v00@openssh.com") + bytes([1]) + string(alg) +
            string(blob) + string(hostkey_blob))


def mode_bound(p, args):
    sock, hostkey_file, user, pub, listed, signs = args
    hk_blob, hk_sign = load_hostkey(hostkey_file)
    blob = agentproto.read_pub(pub)[1]
    name = os.path.basename(pub)
    where = "bound to %s" % os.path.basename(hostkey_file)
    sid = os.urandom(32)
    with agentproto.AgentConn(sock) as a:
        t, _ = a.extension("session-bind@openssh.com",
                           string(hk_blob) + string(sid) + string(hk_sign(sid)) + bytes([0]))
        p.equal(t, agentproto.SUCCESS, "session-bind to %s succeeds" % os.path.basename(hostkey_file))
        got = blob in [b for b, _ in a.list_identities()]
        p.equal(got, listed == "yes", "%s: %s is %s" % (where, name, "listed" if listed == "yes" else "hidden"))
        try:
            a.sign(blob, userauth_request(sid, user, blob, hk_blob), agentproto.FLAG_RSA_SHA2_256)
            got = "yes"
        except agentproto.Refused:
            got = "no"
        p.equal(got, signs, "%s: %s %s a userauth request for %s" %
                (where, name, "signs" if signs == "yes" else "does not sign", user))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    p = agentproto.Points()
    {"lists": mode_lists, "scoped-refusals": mode_scoped_refusals, "login-fails": mode_login_fails,
     "bound": mode_bound, "signs": mode_signs, "bad-constraints": mode_bad_constraints}[mode](p, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

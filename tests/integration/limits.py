"""Resource limits of the agent on $1 (its pid $2):

  identities  10,000 identities added one by one; the next one is refused; listing gives the
              first 2,048 (OpenSSH's client limit); the last still signs; removing all works; long
              comments cut the list at one 256 KiB frame
  conns       1,000 connections open at once (this process raises its own descriptor limit):
              each is answered, or closed by the agent at its limit; the agent then serves again
  frames      a frame of exactly 256 KiB is served; one byte more closes that connection only
  signpub F   the key of the OpenSSH public key file F is not listed, yet signs when asked by key

Prints "ok - ..." / "not ok - ..." lines for lib.sh's run_py.
"""

import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentproto  # noqa: E402
from agentproto import (FAILURE, MAX_FRAME, SIGN_REQUEST, AgentConn, Closed, Points,  # noqa: E402
                        ed25519_identity, frame, string, u32)


def verify_ed25519(blob, data, sig):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    r = agentproto.Reader(sig)
    if r.string() != b"ssh-ed25519":
        return False
    pk = agentproto.Reader(blob)
    pk.string()
    try:
        Ed25519PublicKey.from_public_bytes(pk.string()).verify(r.string(), data)
        return True
    except InvalidSignature:
        return False


MAX_LISTED = 2048    # SSHX_AGENT_MAX_LISTED: OpenSSH's ssh and ssh-add refuse longer lists
MAX_COMMENT = 4096   # SSHX_AGENT_MAX_COMMENT


def seed(i):
    return i.to_bytes(4, "big") * 8


def mode_identities(p, path, pid):
    n = 10000
    t0 = time.monotonic()
    refused = 0
    with AgentConn(path, timeout=60) as c:
        for i in range(n):
            if not c.add_ed25519(seed(i), "id %d" % i):
                refused += 1
        p.equal(refused, 0, "%d identities added one by one (%.1f s)" % (n, time.monotonic() - t0))
        p.equal(c.add_ed25519(seed(n), "one too many"), False, "identity %d is refused" % (n + 1))
        listed = c.list_identities()
        first = [ed25519_identity(seed(i))[0] for i in range(MAX_LISTED)]
        p.check([b for b, _ in listed] == first,
                "the listing answers with the first %d of %d keys, in order (OpenSSH's client limit)"
                % (MAX_LISTED, n), "got %d keys" % len(listed))
        p.equal(len(c.list_identities()), MAX_LISTED, "a second listing gives the same %d" % MAX_LISTED)
        blob = ed25519_identity(seed(n - 1))[0]
        data = b"limits: sign with the last of 10,000 identities"
        p.check(verify_ed25519(blob, data, c.sign(blob, data)),
                "the last of %d identities signs, and the signature verifies" % n)
        t1 = time.monotonic()
        p.equal(c.remove_all(), True, "removing all %d identities succeeds (%.2f s)"
                % (n, time.monotonic() - t1))
        p.equal(len(c.list_identities()), 0, "... and none is left")
        # Long comments fill the 256 KiB reply before the count limit.
        big = 200
        for i in range(big):
            if not c.add_ed25519(seed(i), "%04d " % i + "c" * (MAX_COMMENT - 5)):
                refused += 1
        p.equal(refused, 0, "%d identities with %d-byte comments added" % (big, MAX_COMMENT))
        listed = c.list_identities()
        entry = 4 + len(first[0]) + 4 + MAX_COMMENT
        fit = (MAX_FRAME - 5) // entry
        p.check(len(listed) == fit and all(b == first[i] for i, (b, _) in enumerate(listed)),
                "... the listing holds the first %d, as many as fit in one 256 KiB frame" % fit,
                "got %d keys" % len(listed))
        p.equal(c.remove_all(), True, "... and they are removed")


def mode_conns(p, path, pid):
    n = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 64 and hard >= n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns, connect_errors = [], 0
    for _ in range(n):
        try:
            conns.append(AgentConn(path, timeout=30))
        except OSError:
            connect_errors += 1
    answered = closed = other = 0
    for c in conns:
        try:
            c.send_raw(frame(agentproto.REQUEST_IDENTITIES))
        except Closed:
            closed += 1
    for c in conns:
        try:
            t, _ = c.recv_frame()
            if t == agentproto.IDENTITIES_ANSWER:
                answered += 1
            else:
                other += 1
        except Closed:
            closed += 1
        except Exception:
            other += 1
    print("# %d connections: %d answered, %d closed by the agent, %d could not connect, %d other"
          % (n, answered, closed, connect_errors, other))
    p.equal(other, 0, "%d connections open at once: each is answered or cleanly closed" % n)
    p.check(answered >= 900, "at least 900 of them are served (%d)" % answered,
            "the agent should raise its descriptor limit; got %d answered" % answered)
    for c in conns:
        c.close()
    time.sleep(0.3)
    with AgentConn(path) as c:
        p.check(isinstance(c.list_identities(), list), "after they close, a new connection is served")
    p.check(len(os.listdir("/proc/%d/fd" % pid)) < 64, "the agent holds no descriptor of the closed "
            "connections", "fds: %d" % len(os.listdir("/proc/%d/fd" % pid)))


def mode_frames(p, path, pid):
    s = seed(424242)
    blob = ed25519_identity(s)[0]
    with AgentConn(path) as c:
        p.equal(c.add_ed25519(s, "frames"), True, "a key to sign with is added")
        head = 1 + 4 + len(blob) + 4
        data = os.urandom(MAX_FRAME - head - 4)
        msg = bytes([SIGN_REQUEST]) + string(blob) + string(data) + u32(0)
        assert len(msg) == MAX_FRAME
        c.send_raw(u32(len(msg)) + msg)
        t, payload = c.recv_frame()
        sig = agentproto.Reader(payload).string() if t == agentproto.SIGN_RESPONSE else b""
        p.check(t == agentproto.SIGN_RESPONSE and verify_ed25519(blob, data, sig),
                "a sign request in a frame of exactly 256 KiB is signed", "answer type %d" % t)
    with AgentConn(path) as c:
        c.send_raw(u32(MAX_FRAME + 1) + bytes([SIGN_REQUEST]))
        try:
            t, _ = c.recv_frame()
            got = "an answer of type %d" % t
        except Closed:
            got = "closed"
        p.equal(got, "closed", "a frame of 256 KiB + 1 byte: the agent closes that connection")
    with AgentConn(path) as c:
        p.check(any(b == blob for b, _ in c.list_identities()), "... and keeps serving others")
        c.remove(blob)


def mode_signpub(p, path, pid, pubfile):
    import base64

    with open(pubfile) as f:
        blob = base64.b64decode(f.read().split()[1])
    data = b"limits: sign with a key the list leaves out"
    with AgentConn(path) as c:
        listed = any(b == blob for b, _ in c.list_identities())
        p.check(not listed, "the key of %s is not in the (cut) list" % os.path.basename(pubfile))
        p.check(verify_ed25519(blob, data, c.sign(blob, data)),
                "... yet the agent signs with it when asked by key, and the signature verifies")


def main():
    mode, path, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = Points()
    {"identities": mode_identities, "conns": mode_conns, "frames": mode_frames,
     "signpub": mode_signpub}[mode](p, path, pid, *sys.argv[4:])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Soak: many clients doing list / sign / add / remove at random against one agent.

  soak.py SOCKET AGENT_PID SECONDS CLIENTS SHARED.pub...

Each client thread holds a connection (and opens a new one now and then), and in a random
order lists, signs with a shared key or its own, adds its own ed25519 key and removes it.
Every answer is checked: a listing holds every shared key and the client's own key exactly
when the client added it; every signature verifies over the data sent. The agent's resident
memory and open descriptors are read from /proc after a warm-up and at the end.
Prints "ok - ..." / "not ok - ..." lines for lib.sh's run_py.
"""

import os
import random
import sys
import threading
import time

import paramiko
from paramiko.message import Message

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentproto  # noqa: E402


def pkey_from_blob(blob):
    name = Message(blob).get_text()
    if name == "ssh-ed25519":
        return paramiko.Ed25519Key(data=blob)
    if name.startswith("ecdsa-sha2-"):
        return paramiko.ECDSAKey(data=blob)
    return paramiko.RSAKey(data=blob)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class Client(threading.Thread):
    def __init__(self, n, path, shared, deadline):
        super().__init__(daemon=True)
        self.n = n
        self.path = path
        self.shared = shared
        self.deadline = deadline
        self.rng = random.Random(n)
        self.seed = bytes(self.rng.getrandbits(8) for _ in range(32))
        self.blob = agentproto.ed25519_identity(self.seed)[0]
        self.verifiers = {b: pkey_from_blob(b) for b in shared}
        self.verifiers[self.blob] = pkey_from_blob(self.blob)
        self.added = False
        self.ops = 0
        self.errors = []

    def error(self, what):
        if len(self.errors) < 5:
            self.errors.append("client %d: %s" % (self.n, what))

    def step(self, conn):
        op = self.rng.choice(("list", "sign", "sign", "add", "remove"))
        if op == "list":
            blobs = [b for b, _ in conn.list_identities()]
            missing = [b for b in self.shared if b not in blobs]
            if missing:
                self.error("a listing lacks %d shared keys" % len(missing))
            if (self.blob in blobs) != self.added:
                self.error("own key %s the listing" % ("missing from" if self.added else "in"))
        elif op == "sign":
            keys = list(self.shared) + ([self.blob] if self.added else [])
            blob = self.rng.choice(keys)
            data = os.urandom(self.rng.randint(1, 2048))
            flags = agentproto.FLAG_RSA_SHA2_512 if Message(blob).get_text() == "ssh-rsa" else 0
            try:
                sig = conn.sign(blob, data, flags)
            except agentproto.Refused:
                self.error("a sign request was refused")
                return
            if not self.verifiers[blob].verify_ssh_sig(data, Message(sig)):
                self.error("a signature does not verify")
        elif op == "add":
            if not conn.add_ed25519(self.seed, "soak %d" % self.n):
                self.error("add refused")
            self.added = True
        else:
            ok = conn.remove(self.blob)
            if ok != self.added:
                self.error("remove answered %s with the key %s" % (ok, "held" if self.added else "absent"))
            self.added = False
        self.ops += 1

    def run(self):
        conn = None
        try:
            while time.monotonic() < self.deadline:
                if conn is None or self.rng.random() < 0.02:
                    if conn is not None:
                        conn.close()
                    conn = agentproto.AgentConn(self.path)
                self.step(conn)
        except Exception as e:  # any transport error is a failure of the agent
            self.error("%s: %s" % (type(e).__name__, e))
        finally:
            if conn is not None:
                if self.added:
                    try:
                        conn.remove(self.blob)
                    except Exception:
                        pass
                conn.close()


def main():
    path, pid, seconds, nclients = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    shared = [agentproto.read_pub(p)[1] for p in sys.argv[5:]]
    p = agentproto.Points()
    start = time.monotonic()
    deadline = start + seconds
    clients = [Client(i, path, shared, deadline) for i in range(nclients)]
    for c in clients:
        c.start()
    # Warm-up: allocator arenas and buffers reach their working size in the first seconds.
    time.sleep(min(max(3.0, seconds * 0.1), seconds / 2))
    rss0, fds0 = rss_kib(pid), fd_count(pid)
    samples = []
    while any(c.is_alive() for c in clients) and time.monotonic() < deadline + 60:
        time.sleep(1.0)
        samples.append(rss_kib(pid))
    for c in clients:
        c.join(seconds + 60)
    print("# RSS every second after the warm-up (KiB): %s" % " ".join(str(x) for x in samples))
    hung = [c.n for c in clients if c.is_alive()]
    time.sleep(0.5)  # let the agent notice the last closed connections
    rss1, fds1 = rss_kib(pid), fd_count(pid)
    ops = sum(c.ops for c in clients)
    errors = [e for c in clients for e in c.errors]
    print("# %d clients, %.0f s: %d operations (%.0f/s); agent RSS %d -> %d KiB, fds %d -> %d"
          % (nclients, seconds, ops, ops / seconds, rss0, rss1, fds0, fds1))
    p.check(not hung, "every client finished", "clients still running: %s" % hung)
    p.check(not errors, "%d operations by %d clients: no failed or wrong reply (every signature verified)"
            % (ops, nclients), "\n".join(errors[:20]))
    p.check(ops > nclients * 10, "the clients got work done (%d operations)" % ops, "too few operations")
    p.check(rss1 - rss0 < 1024, "the agent's resident memory grew by less than 1 MiB after the warm-up "
            "(%+d KiB)" % (rss1 - rss0), "RSS %d -> %d KiB" % (rss0, rss1))
    p.check(fds1 <= fds0, "no descriptor leak (%d open after the warm-up, %d at the end)" % (fds0, fds1),
            "/proc/%d/fd grew from %d to %d" % (pid, fds0, fds1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Records agent request streams from ssh-add and ssh-keygen for the fuzz_agent seed corpus.

agent-corpus.py WORKDIR OUTDIR: WORKDIR holds the keys make-corpus.sh generated."""

import base64, os, socket, struct, subprocess, sys, threading

w, out = sys.argv[1], sys.argv[2]
def u32(n): return struct.pack(">I", n)
def string(b): return u32(len(b)) + b

class Recorder:
    """A stand-in agent on path that records every request frame and answers plausibly."""
    def __init__(self, path, pub_blob):
        self.blob, self.data = pub_blob, b""
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def answer(self, t):
        if t == 11:
            return bytes([12]) + u32(1) + string(self.blob) + string(b"seed")
        if t == 13:
            return bytes([14]) + string(string(b"ssh-ed25519") + string(bytes(64)))
        return bytes([6])

    def serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            buf = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
                    n = struct.unpack(">I", buf[:4])[0]
                    msg, buf = buf[4:4 + n], buf[4 + n:]
                    self.data += u32(n) + msg
                    reply = self.answer(msg[0] if msg else 0)
                    c.sendall(u32(len(reply)) + reply)
            c.close()

def record(name, blob, *cmds):
    sock = os.path.join(w, "rec.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    r = Recorder(sock, blob)
    env = dict(os.environ, SSH_AUTH_SOCK=sock)
    for cmd in cmds:
        subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    r.srv.close()
    open(os.path.join(out, name), "wb").write(r.data)

with open(os.path.join(w, "msg"), "w") as f:
    f.write("seed message\n")
for key in ("ed25519", "ecdsa256", "ecdsa384", "ecdsa521", "rsa2048"):
    path = os.path.join(w, key)
    blob = base64.b64decode(open(path + ".pub").read().split()[1])
    record("add-list-sign-remove-" + key, blob,
           ["ssh-add", path], ["ssh-add", "-l"], ["ssh-add", "-L"],
           ["ssh-keygen", "-Y", "sign", "-n", "file", "-f", path + ".pub", os.path.join(w, "msg")],
           ["ssh-add", "-d", path + ".pub"])
    if os.path.exists(os.path.join(w, "msg.sig")):
        os.unlink(os.path.join(w, "msg.sig"))
path = os.path.join(w, "ed25519")
blob = base64.b64decode(open(path + ".pub").read().split()[1])
record("constrained", blob, ["ssh-add", "-c", "-t", "300", path],
       ["ssh-add", "-h", "127.0.0.1", "-h", "user@host.example>other.example", path], ["ssh-add", "-D"])

# A session-bind (host key, session id, signature, forwarding flag) signed by a real ed25519 key.
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
hk = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
hpk = hk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
sid = bytes(range(32))
sig = string(b"ssh-ed25519") + string(hk.sign(sid))
for fwd in (0, 1):
    body = (bytes([27]) + string(b"session-bind@openssh.com") +
            string(string(b"ssh-ed25519") + string(hpk)) + string(sid) + string(sig) + bytes([fwd]))
    with open(os.path.join(out, "session-bind-%d" % fwd), "wb") as f:
        f.write(u32(len(body)) + body + u32(1) + bytes([11]))
q = bytes([27]) + string(b"query")
with open(os.path.join(out, "query"), "wb") as f:
    f.write(u32(len(q)) + q)

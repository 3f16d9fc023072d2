"""A small ssh-agent protocol client for sshx's integration tests.

Frames are "uint32 length | byte type | payload" (DESIGN.md, RFC 9987).  Everything here is
plain Python; only ed25519_identity() needs the 'cryptography' package (a Paramiko dependency)
to derive a public key from a seed.  Test scripts print their results through Points, in the
"ok - ..." / "not ok - ..." form that lib.sh's run_py numbers into TAP.
"""

import base64
import socket
import struct
import time

FAILURE = 5
SUCCESS = 6
REQUEST_IDENTITIES = 11
IDENTITIES_ANSWER = 12
SIGN_REQUEST = 13
SIGN_RESPONSE = 14
ADD_IDENTITY = 17
REMOVE_IDENTITY = 18
REMOVE_ALL = 19
LOCK = 22
UNLOCK = 23
ADD_ID_CONSTRAINED = 25
EXTENSION = 27
EXTENSION_FAILURE = 28
EXTENSION_RESPONSE = 29

FLAG_RSA_SHA2_256 = 2
FLAG_RSA_SHA2_512 = 4

MAX_FRAME = 256 * 1024


class Closed(Exception):
    """The agent closed the connection (EOF or reset)."""


class ProtocolError(Exception):
    """The agent sent something that is not a well-formed answer."""


class Refused(Exception):
    """The agent answered FAILURE to a request that needed another answer."""


def u32(n):
    return struct.pack(">I", n)


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def mpint(n):
    """An SSH mpint of a non-negative integer."""
    if n == 0:
        return u32(0)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "big")  # room for a leading 0 sign byte
    return string(raw)


def frame(msg_type, payload=b""):
    return u32(1 + len(payload)) + bytes([msg_type]) + payload


class Reader:
    """Length-checked parsing of an answer's payload."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise ProtocolError("need %d bytes at offset %d of %d" % (n, self.pos, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def string(self):
        return self.take(self.u32())

    def end(self):
        if self.pos != len(self.data):
            raise ProtocolError("%d trailing bytes" % (len(self.data) - self.pos))


class AgentConn:
    """One connection to an agent socket; every read has a timeout."""

    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(path)
                return
            except BlockingIOError:
                # The listen backlog is full (EAGAIN): a blocking client would wait here.
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
            except OSError:
                self.sock.close()
                raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e))

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError as e:
                raise Closed(str(e))
            if not chunk:
                if buf:
                    raise ProtocolError("connection closed inside a frame")
                raise Closed("EOF")
            buf += chunk
        return buf

    def recv_frame(self):
        """Returns (type, payload); raises Closed, ProtocolError or socket.timeout."""
        length = struct.unpack(">I", self._recv_exact(4))[0]
        if length < 1 or length > MAX_FRAME:
            raise ProtocolError("answer frame length %d" % length)
        body = self._recv_exact(length)
        return body[0], body[1:]

    def request(self, msg_type, payload=b""):
        self.send_raw(frame(msg_type, payload))
        return self.recv_frame()

    def _expect_success(self, msg_type, payload):
        t, rest = self.request(msg_type, payload)
        if t == SUCCESS and not rest:
            return True
        if t == FAILURE and not rest:
            return False
        raise ProtocolError("expected SUCCESS or FAILURE, got type %d" % t)

    def list_identities(self):
        """Returns [(blob, comment)] in the agent's order."""
        t, payload = self.request(REQUEST_IDENTITIES)
        if t != IDENTITIES_ANSWER:
            raise ProtocolError("expected IDENTITIES_ANSWER (12), got type %d" % t)
        r = Reader(payload)
        keys = [(r.string(), r.string().decode("utf-8", "replace")) for _ in range(r.u32())]
        r.end()
        return keys

    def sign(self, blob, data, flags=0):
        """Returns the signature blob (string alg, string sig); raises Refused on FAILURE."""
        t, payload = self.request(SIGN_REQUEST, string(blob) + string(data) + u32(flags))
        if t == FAILURE:
            raise Refused("sign request refused")
        if t != SIGN_RESPONSE:
            raise ProtocolError("expected SIGN_RESPONSE (14), got type %d" % t)
        r = Reader(payload)
        sig = r.string()
        r.end()
        return sig

    def add_ed25519(self, seed, comment="", constraints=b""):
        """Adds the ed25519 key of a 32-byte seed; True on SUCCESS, False on FAILURE."""
        body = ed25519_identity(seed)[1] + string(comment)
        if constraints:
            return self._expect_success(ADD_ID_CONSTRAINED, body + constraints)
        return self._expect_success(ADD_IDENTITY, body)

    def remove(self, blob):
        return self._expect_success(REMOVE_IDENTITY, string(blob))

    def remove_all(self):
        return self._expect_success(REMOVE_ALL, b"")

    def lock(self, passphrase):
        return self._expect_success(LOCK, string(passphrase))

    def unlock(self, passphrase):
        return self._expect_success(UNLOCK, string(passphrase))

    def extension(self, name, body=b""):
        """Returns (type, payload) of the answer to an EXTENSION request."""
        return self.request(EXTENSION, string(name) + body)


def ed25519_identity(seed):
    """Returns (public key blob, ADD_IDENTITY key body without comment) for a 32-byte seed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if len(seed) != 32:
        raise ValueError("an ed25519 seed is 32 bytes")
    pk = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw)
    blob = string("ssh-ed25519") + string(pk)
    return blob, string("ssh-ed25519") + string(pk) + string(seed + pk)


def read_pub(path):
    """Returns (key type, blob, comment) of an OpenSSH .pub file."""
    with open(path) as f:
        fields = f.read().split(None, 2)
    comment = fields[2].strip() if len(fields) > 2 else ""
    return fields[0], base64.b64decode(fields[1]), comment


def signature_alg(sig):
    """The algorithm name inside a signature blob."""
    return Reader(sig).string().decode()


class Points:
    """Test points in the form lib.sh's run_py turns into numbered TAP."""

    def __init__(self):
        self.failed = 0

    def diag(self, *lines):
        for line in lines:
            for part in str(line).splitlines() or [""]:
                print("# " + part)

    def check(self, cond, desc, *diag):
        """One point; diag lines (what was expected, what came) are shown only on failure."""
        if cond:
            print("ok - " + desc)
        else:
            self.failed += 1
            print("not ok - " + desc)
            self.diag(*diag)
        return cond

    def equal(self, got, expected, desc):
        return self.check(got == expected, desc, "expected: %r" % (expected,), "got:      %r" % (got,))

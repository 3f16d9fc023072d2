"""Paramiko (the main sshx client) against the agent on $SSH_AUTH_SOCK.

Modes (output: "ok - ..." / "not ok - ..." lines for lib.sh's run_py):
  keys [--agentd] PUB...      the agent holds exactly these keys in this order: list and sign
  login NAME PORT KNOWN_HOSTS USER
                              log in to the sshd on 127.0.0.1:PORT with the agent's one key NAME
  unknown-host PORT USER      RejectPolicy refuses a host that is not in known_hosts
"""

import os
import sys

import paramiko
from paramiko.message import Message

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentproto  # noqa: E402

RSA_ALGS = ("rsa-sha2-256", "rsa-sha2-512")


def pkey_from_blob(blob):
    """A Paramiko public key object for a public key blob."""
    name = Message(blob).get_text()
    if name == "ssh-ed25519":
        return paramiko.Ed25519Key(data=blob)
    if name.startswith("ecdsa-sha2-"):
        return paramiko.ECDSAKey(data=blob)
    if name == "ssh-rsa":
        return paramiko.RSAKey(data=blob)
    raise ValueError("unexpected key type %r" % name)


def verify(blob, data, sig):
    """True when sig (string alg, string sig) is a valid signature of data by blob's key."""
    return bool(pkey_from_blob(blob).verify_ssh_sig(data, Message(sig)))


def short(name):
    return os.path.basename(name).rsplit(".pub", 1)[0]


def mode_keys(p, args):
    agentd = args[:1] == ["--agentd"]
    if agentd:
        args = args[1:]
    pubs = [(short(path),) + agentproto.read_pub(path) for path in args]
    agent = paramiko.Agent()
    try:
        keys = agent.get_keys()
        p.equal([k.asbytes() for k in keys], [blob for _, _, blob, _ in pubs],
                "paramiko.Agent() lists exactly the %d added keys (blobs), in the order added" % len(pubs))
        by_blob = {k.asbytes(): k for k in keys}
        for name, ktype, blob, _ in pubs:
            key = by_blob.get(blob)
            if not p.check(key is not None, "%s: paramiko.Agent() has the key" % name,
                           "expected the blob of %s.pub among the agent's keys" % name):
                continue
            p.equal(key.get_name(), ktype, "%s: AgentKey.get_name() is the key type" % name)
            algs = RSA_ALGS if ktype == "ssh-rsa" else (None,)
            for alg in algs:
                data = b"sshx paramiko data to sign, " + name.encode() + b", " + str(alg).encode()
                what = "%s%s" % (name, " with " + alg if alg else "")
                try:
                    sig = key.sign_ssh_data(data, algorithm=alg) if alg else key.sign_ssh_data(data)
                except paramiko.SSHException as e:
                    p.check(False, "%s: the agent signs" % what, "expected a signature, got %r" % e)
                    continue
                want_alg = alg or ktype
                p.equal(agentproto.signature_alg(sig), want_alg,
                        "%s: the signature's algorithm is %s" % (what, want_alg))
                p.check(verify(blob, data, sig), "%s: PKey.verify_ssh_sig accepts the signature" % what,
                        "expected the signature to verify with %s.pub" % name)
                p.check(not verify(blob, data + b"!", sig),
                        "%s: the signature does not verify over other data" % what,
                        "expected verify_ssh_sig to reject modified data")
            if agentd and ktype == "ssh-rsa":
                # agentd's policy: no SHA-1 RSA signatures (sign flags 0 = "ssh-rsa").
                try:
                    sig = key.sign_ssh_data(b"sha1 please")
                    got = "a signature with %s" % agentproto.signature_alg(sig)
                except paramiko.SSHException as e:
                    got = "refused: %s" % e
                p.check(got.startswith("refused"), "%s: agentd refuses an ssh-rsa (SHA-1) signature" % name,
                        "expected SSHException('key cannot be used for signing'), got %s" % got)
    finally:
        agent.close()


def mode_login(p, args):
    name, port, known_hosts, user = args[0], int(args[1]), args[2], args[3]
    # Paramiko talks to the agent from this process: the audit trail names it.
    p.diag("pid %d" % os.getpid())
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_host_keys(known_hosts)
    try:
        client.connect("127.0.0.1", port, user, allow_agent=True, look_for_keys=False,
                       timeout=10, banner_timeout=10, auth_timeout=10)
    except Exception as e:
        p.check(False, "%s: SSHClient.connect with the agent's key and RejectPolicy succeeds" % name,
                "expected a connection, got %s: %s" % (type(e).__name__, e))
        return
    try:
        transport = client.get_transport()
        p.check(transport.is_authenticated(),
                "%s: SSHClient.connect with the agent's key and RejectPolicy succeeds" % name,
                "expected an authenticated transport")
        if name.startswith("rsa"):
            # Paramiko 2.12 records the algorithm it agreed on from sshd's server-sig-algs.
            p.equal(getattr(transport, "_agreed_pubkey_algorithm", None), "rsa-sha2-512",
                    "%s: Paramiko authenticated with an rsa-sha2-512 signature from the agent" % name)
        _, stdout, _ = client.exec_command("echo paramiko-ok", timeout=10)
        out = stdout.read().decode()
        status = stdout.channel.recv_exit_status()
        p.equal((out, status), ("paramiko-ok\n", 0),
                "%s: exec_command('echo paramiko-ok') prints paramiko-ok" % name)
    finally:
        client.close()


def mode_unknown_host(p, args):
    port, user = int(args[0]), args[1]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect("127.0.0.1", port, user, allow_agent=True, look_for_keys=False,
                       timeout=10, banner_timeout=10, auth_timeout=10)
        got = "a connection"
    except paramiko.BadHostKeyException as e:
        got = "BadHostKeyException: %s" % e
    except paramiko.SSHException as e:
        got = "SSHException: %s" % e
    finally:
        client.close()
    want = "SSHException: Server '[127.0.0.1]:%d' not found in known_hosts" % port
    p.equal(got, want, "without the known_hosts file RejectPolicy refuses the host (SSHException)")


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    p = agentproto.Points()
    {"keys": mode_keys, "login": mode_login, "unknown-host": mode_unknown_host}[mode](p, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

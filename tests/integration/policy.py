#!/usr/bin/python3
"""Checks agentd's RSA signature policy through the socket: policy.py SOCK RSA.pub refuse|allow."""
import sys

import paramiko

import agentproto

sock, pub, mode = sys.argv[1], sys.argv[2], sys.argv[3]
pts = agentproto.Points()
_, blob, _ = agentproto.read_pub(pub)
key = paramiko.RSAKey(data=blob)
data = b"policy check data"

with agentproto.AgentConn(sock) as conn:
    try:
        sig = conn.sign(blob, data, 0)
    except agentproto.Refused:
        sig = None
    if mode == "refuse":
        pts.check(sig is None, "a SHA-1 ssh-rsa signature (flags 0) is refused",
                  "expected FAILURE, got a signature")
    else:
        pts.check(sig is not None and agentproto.signature_alg(sig) == "ssh-rsa",
                  "with SHA-1 allowed, flags 0 gives an ssh-rsa signature",
                  "got %r" % (sig and agentproto.signature_alg(sig)))
        if sig is not None:
            pts.check(key.verify_ssh_sig(data, paramiko.Message(sig)),
                      "the ssh-rsa signature verifies with Paramiko")
    for flags, alg in ((2, "rsa-sha2-256"), (4, "rsa-sha2-512")):
        sig = conn.sign(blob, data, flags)
        pts.equal(agentproto.signature_alg(sig), alg, "flags %d gives %s" % (flags, alg))
        pts.check(key.verify_ssh_sig(data, paramiko.Message(sig)),
                  "the %s signature verifies with Paramiko" % alg)
sys.exit(0)

#!/usr/bin/python3
"""Failed unlocks delay the failing client, never the others: unlock_delay.py SOCK."""
import sys
import threading
import time

import agentproto

sock = sys.argv[1]
pts = agentproto.Points()

with agentproto.AgentConn(sock) as a:
    pts.check(a.lock(b"right"), "the agent locks")
    delays = []
    for i in range(4):
        t0 = time.monotonic()
        pts.check(not a.unlock(b"wrong"), "unlock %d with a wrong passphrase fails" % (i + 1))
        delays.append(time.monotonic() - t0)
    pts.check(delays[3] > delays[0] and delays[3] >= 0.35,
              "each failure makes the next answer slower",
              "expected growing delays with the 4th >= 0.35 s, got %s"
              % ["%.3f" % d for d in delays])

    # While one client waits out its delay, another is answered at once.
    result = {}

    def slow():
        t0 = time.monotonic()
        with agentproto.AgentConn(sock) as s:
            result["ok"] = s.unlock(b"wrong again")
        result["t"] = time.monotonic() - t0

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    with agentproto.AgentConn(sock) as b:
        listed = b.list_identities()
    other = time.monotonic() - t0
    th.join()
    pts.check(other < 0.3 and result["t"] > other,
              "another client is answered while a failed unlock is delayed",
              "other client took %.3f s, the failing one %.3f s" % (other, result.get("t", -1)))
    pts.equal(listed, [], "the locked agent lists nothing to the other client")
    pts.check(a.unlock(b"right"), "the right passphrase still unlocks")
    pts.equal(len(a.list_identities()), 1, "after unlocking the key is listed again")
sys.exit(0)

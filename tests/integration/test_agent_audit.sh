#!/bin/sh
# agentd's audit trail: every operation leaves a row in the database and a log line with the
# peer's uid, pid and executable, the key, what was signed (SSH login user and host key, SSHSIG
# namespace) and the result; no secret and no signed bytes end up in either.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
isolate_home
gen_keys ed25519 ecdsa256
DB=$T/db/sshx.db
FP_ED=$(fp_of "$T/pub/ed25519.pub")
FP_EC=$(fp_of "$T/pub/ecdsa256.pub")
start_agent_with --db "$DB" --no-secret-service

# Prints one value from the audit table: q SQL.
q() {
	sqlite3 "$DB" "$1" 2>/dev/null
}

# Waits (up to 10 s) until at least N rows match the SQL condition: wait_rows N WHERE.
wait_rows() {
	wait_until 100 sh -c '[ "$(sqlite3 "$1" "SELECT count(*) FROM audit WHERE $2" 2>/dev/null)" -ge "$3" ]' \
		sh "$DB" "$2" "$1" >/dev/null
}

# Passes when at least one row matches: has_row DESC WHERE.
has_row() {
	if wait_rows 1 "$2"; then
		ok "$1"
	else
		fail "$1" "expected a row WHERE $2, the agent's rows are:" \
			"$(sqlite3 -header "$DB" "SELECT * FROM audit WHERE actor = 'agentd'" 2>&1)"
	fi
}

is "the database is created 0600" 600 "$(stat -c %a "$DB" 2>/dev/null)"

# ---- add and list, from ssh-add: its pid and executable.
ssh-add "$T/keys/ed25519" >/dev/null 2>&1 &
pid=$!
wait "$pid"
has_row "ssh-add KEY: an agent.add row with ssh-add's pid, executable and the fingerprint" \
	"action = 'agent.add' AND result = 'ok' AND pid = $pid AND uid = $(id -u) AND exe = '$(readlink -f "$(command -v ssh-add)")' AND fingerprint = '$FP_ED' AND actor = 'agentd'"
ssh-add -l >/dev/null 2>&1
has_row "ssh-add -l: an agent.list row" "action = 'agent.list' AND result = 'ok' AND detail = '1 identity listed'"

# ---- a Paramiko login through the agent to a real sshd.
start_sshd
known_hosts_for_sshd
authorize_keys "$T/pub/ed25519.pub"
run_py paramiko_agent.py login ed25519 "$SSHD_PORT" "$T/known_hosts" "$LOGIN_USER"
pypid=$(sed -n 's/^# pid \([0-9]*\)$/\1/p' "$T/py.out")
pyexe=$(readlink -f "$PYTHON_PARAMIKO")
has_row "Paramiko login: an agent.sign row, kind userauth, the login user, Python's pid and executable, the key" \
	"action = 'agent.sign' AND result = 'ok' AND kind = 'userauth' AND peer_user = '$LOGIN_USER' AND pid = '$pypid' AND exe = '$pyexe' AND fingerprint = '$FP_ED'"
is "Paramiko binds no session: no host key and forwarding unknown on its row" "|" \
	"$(q "SELECT ifnull(peer_host_key, ''), ifnull(forwarded, '') FROM audit WHERE action = 'agent.sign' AND pid = '$pypid'")"

# ---- OpenSSH's ssh: session-bind, hostbound userauth with the server's host key.
ssh_agent_login "$LOGIN_USER@127.0.0.1" true >"$T/ssh.out" 2>&1 ||
	diag "ssh login failed: $(cat "$T/ssh.out")"
hostfps=
for f in "$T"/sshd/host_*.pub; do
	hostfps="$hostfps'$(fp_of "$f")',"
done
hostfps=${hostfps%,}
has_row "ssh login: an agent.session-bind row with the sshd's host key, not forwarded" \
	"action = 'agent.session-bind' AND result = 'ok' AND peer_host_key IN ($hostfps) AND forwarded = 0 AND exe = '$(readlink -f "$(command -v ssh)")'"
has_row "ssh login: an agent.sign row, kind userauth, with the user and the session-bound host key" \
	"action = 'agent.sign' AND result = 'ok' AND kind = 'userauth' AND peer_user = '$LOGIN_USER' AND peer_host_key IN ($hostfps) AND forwarded = 0 AND exe = '$(readlink -f "$(command -v ssh)")'"

# ---- ssh-keygen -Y sign: SSHSIG with its namespace.
SENTINEL="sshx-audit-sentinel-$(date +%s)-signed-text"
printf '%s\n' "$SENTINEL" >"$T/msg"
ssh-keygen -Y sign -n file@example -f "$T/pub/ed25519.pub" "$T/msg" >"$T/sig.out" 2>&1 &
pid=$!
wait "$pid" || diag "ssh-keygen -Y sign failed: $(cat "$T/sig.out")"
has_row "ssh-keygen -Y sign: an agent.sign row, kind sshsig, namespace file@example, ssh-keygen's pid and executable" \
	"action = 'agent.sign' AND result = 'ok' AND kind = 'sshsig' AND namespace = 'file@example' AND pid = $pid AND exe = '$(readlink -f "$(command -v ssh-keygen)")' AND fingerprint = '$FP_ED' AND peer_user IS NULL"

# ---- refusals: a key not held, data that is neither a login nor SSHSIG.
"$PYTHON_PARAMIKO" - "$SSHX_TESTDIR" "$SOCK" "$T/pub/ecdsa256.pub" "$T/pub/ed25519.pub" >"$T/raw.out" 2>&1 <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import agentproto
_, ec, _ = agentproto.read_pub(sys.argv[3])
_, ed, _ = agentproto.read_pub(sys.argv[4])
with agentproto.AgentConn(sys.argv[2]) as c:
    try:
        c.sign(ec, b"SSHSIG-not-really")
    except agentproto.Refused:
        pass
    c.sign(ed, b"arbitrary bytes, neither a login nor SSHSIG")
PY
[ $? -eq 0 ] || diag "raw requests failed: $(cat "$T/raw.out")"
has_row "a sign request for a key not held: refused, with the reason and the key asked for" \
	"action = 'agent.sign' AND result = 'refused' AND detail = 'key not held' AND fingerprint = '$FP_EC'"
has_row "a signature over other data: kind unknown" \
	"action = 'agent.sign' AND result = 'ok' AND kind = 'unknown' AND exe = '$pyexe'"

# ---- remove, then remove again.
ssh-add -d "$T/pub/ed25519.pub" >/dev/null 2>&1
ssh-add -d "$T/pub/ed25519.pub" >/dev/null 2>&1
has_row "ssh-add -d: an agent.remove row" "action = 'agent.remove' AND result = 'ok' AND fingerprint = '$FP_ED'"
has_row "ssh-add -d of a key not held: refused, key not held" \
	"action = 'agent.remove' AND result = 'refused' AND detail = 'key not held' AND fingerprint = '$FP_ED'"
ssh-add "$T/keys/ed25519" >/dev/null 2>&1

# ---- lock, a failed unlock, unlock.
LOCKPASS="lock-$(date +%s%N)-passphrase"
pass_file "$T/pass" "$LOCKPASS"
pass_file "$T/wrong" "not-$LOCKPASS"
askpass_run "$T/pass" ssh-add -x >/dev/null 2>&1
askpass_run "$T/wrong" ssh-add -X >/dev/null 2>&1
askpass_run "$T/pass" ssh-add -X >/dev/null 2>&1
has_row "ssh-add -x: an agent.lock row" "action = 'agent.lock' AND result = 'ok'"
has_row "ssh-add -X with a wrong passphrase: an agent.unlock row, refused, wrong passphrase" \
	"action = 'agent.unlock' AND result = 'refused' AND detail = 'wrong passphrase'"
has_row "ssh-add -X with the passphrase: an agent.unlock row, ok" "action = 'agent.unlock' AND result = 'ok'"

# ---- sshxctl log shows the agent's fields.
"$SSHXCTL" --db "$DB" log --key "$FP_ED" >"$T/log.out" 2>&1
if grep -q "agentd uid=$(id -u) pid=$pypid agent.sign - $FP_ED ok kind=userauth user=$LOGIN_USER exe=$pyexe: -" "$T/log.out" &&
	grep -q "agent.sign - $FP_ED ok kind=sshsig namespace=file@example exe=" "$T/log.out"; then
	ok "sshxctl log --key shows kind, user, namespace and executable"
else
	fail "sshxctl log --key shows kind, user, namespace and executable" "got:" "$(cat "$T/log.out")"
fi
"$SSHXCTL" --db "$DB" --json log >"$T/log.json" 2>&1
if "$PYTHON_PARAMIKO" - "$T/log.json" "$LOGIN_USER" "$pypid" "$pyexe" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
ua = [r for r in rows if r["kind"] == "userauth" and r["pid"] == int(sys.argv[3])]
assert ua and ua[0]["user"] == sys.argv[2] and ua[0]["exe"] == sys.argv[4], ua
assert ua[0]["forwarded"] is None and ua[0]["host_key"] is None, ua
sig = [r for r in rows if r["kind"] == "sshsig"]
assert sig and sig[0]["namespace"] == "file@example" and sig[0]["actor"] == "agentd", sig
bound = [r for r in rows if r["action"] == "agent.session-bind"]
assert bound and bound[0]["forwarded"] is False and bound[0]["host_key"].startswith("SHA256:"), bound
PY
then
	ok "sshxctl log --json gives kind, user, namespace, host_key and forwarded"
else
	fail "sshxctl log --json gives the agent's fields" "got:" "$(cat "$T/log.json")"
fi

# ---- nothing secret or signed in the database (and its WAL) or the log.
# The ed25519 private key (seed) as raw bytes, hex and base64; the lock passphrase; the SSHSIG
# message and the hash that was actually signed.
secrets_absent() {
	"$PYTHON_PARAMIKO" - "$T/keys/ed25519" "$T/msg" "$LOCKPASS" "$@" <<'PY'
import base64, hashlib, struct, sys
text = open(sys.argv[1]).read().split("\n")
blob = base64.b64decode("".join(l for l in text if l and not l.startswith("-----")))
pos = blob.index(b"\0", 0) + 1  # "openssh-key-v1\0"
def string():
    global pos
    n = struct.unpack(">I", blob[pos:pos + 4])[0]
    pos += 4 + n
    return blob[pos - n:pos]
string(); string(); string()  # cipher, kdf, kdf options
pos += 4                      # number of keys
string()                      # public key
priv = string()
blob, pos = priv, 8
string()                      # type
pk = string()
sk = string()
seed = sk[:32]
# The search below is only worth something if this found the real key.
assert len(sk) == 64 and sk[32:] == pk, "cannot read the ed25519 private key"

msg = open(sys.argv[2], "rb").read()
h = hashlib.sha512(msg).digest()
needles = {
    "seed": seed, "seed hex": seed.hex().encode(), "seed base64": base64.b64encode(seed)[:40],
    "private key (seed||pk)": sk, "lock passphrase": sys.argv[3].encode(),
    "signed message": msg.strip(), "signed hash": h, "signed hash hex": h.hex().encode(),
    "signed hash base64": base64.b64encode(h)[:40],
}
found = []
for path in sys.argv[4:]:
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        continue
    for name, n in needles.items():
        if n in data:
            found.append("%s in %s" % (name, path))
print("\n".join(found))
sys.exit(1 if found else 0)
PY
}
if secrets_absent "$DB" "$DB-wal" "$T/agent.log" >"$T/found.out" 2>&1; then
	ok "no private key bytes, passphrase, signed message or signed hash in the database, its WAL or the log"
else
	fail "no secret or signed bytes in the database, its WAL or the log" "found:" "$(cat "$T/found.out")"
fi
is "no blob in any audit column" 0 "$(q "SELECT count(*) FROM audit WHERE typeof(exe) = 'blob' OR typeof(detail) = 'blob' OR typeof(kind) = 'blob' OR typeof(peer_user) = 'blob' OR typeof(peer_host_key) = 'blob' OR typeof(namespace) = 'blob' OR typeof(fingerprint) = 'blob'")"
is "no agent field longer than a fingerprint or a capped name (64)" 0 \
	"$(q "SELECT count(*) FROM audit WHERE actor = 'agentd' AND (length(fingerprint) > 64 OR length(kind) > 64 OR length(peer_user) > 64 OR length(peer_host_key) > 64 OR length(namespace) > 64)")"

# ---- a clean exit (SIGTERM) writes everything that was queued.
before=$(q "SELECT count(*) FROM audit WHERE action = 'agent.list'")
i=0
while [ "$i" -lt 30 ]; do
	ssh-add -l >/dev/null 2>&1
	i=$((i + 1))
done
stop_agent
is "after SIGTERM every one of 30 listings is in the database" $((before + 30)) \
	"$(q "SELECT count(*) FROM audit WHERE action = 'agent.list'")"
if secrets_absent "$DB" "$DB-wal" "$T/agent.log" >"$T/found.out" 2>&1; then
	ok "after the exit too, no secret or signed bytes in the database or the log"
else
	fail "no secret or signed bytes after the exit" "found:" "$(cat "$T/found.out")"
fi

# ---- retention prunes agent rows like any other.
sqlite3 "$DB" "INSERT INTO audit (time, actor, action, result, kind) VALUES (strftime('%s','now') - 3 * 86400, 'agentd', 'agent.sign', 'ok', 'userauth')"
"$SSHXCTL" --db "$DB" log --retention 2d >/dev/null 2>&1
start_agent_with --db "$DB" --no-secret-service
ssh-add -l >/dev/null 2>&1
wait_rows 1 "action = 'agent.list' AND time >= strftime('%s','now') - 60 AND id > (SELECT max(id) FROM audit WHERE action = 'log.retention')" >/dev/null
is "an agent row older than the retention is pruned when agentd writes" 0 \
	"$(q "SELECT count(*) FROM audit WHERE time < strftime('%s','now') - 2 * 86400")"
stop_agent

# ---- --no-audit: log lines, no database.
: >"$T/agent.log"
start_agent_with --db "$T/db/none.db" --no-audit --no-secret-service
ssh-add "$T/keys/ecdsa256" >/dev/null 2>&1
ssh-add -l >/dev/null 2>&1
stop_agent
if [ ! -e "$T/db/none.db" ]; then
	ok "--no-audit: no database is written"
else
	fail "--no-audit: no database is written" "expected no $T/db/none.db, got:" "$(sqlite3 "$T/db/none.db" 'SELECT * FROM audit' 2>&1)"
fi
if grep -q "audit: agent.add ok conn=[0-9]* uid=$(id -u) pid=[0-9]* exe=.*ssh-add key=$FP_EC" "$T/agent.log"; then
	ok "--no-audit: the operations are still logged"
else
	fail "--no-audit: the operations are still logged" "expected an 'audit: agent.add ok' line, got:" "$(cat "$T/agent.log")"
fi

# ---- a database that cannot be used: a clear warning, and the agent serves on.
: >"$T/agent.log"
chmod 644 "$DB"
start_agent_with --db "$DB" --no-secret-service
check "with an unsafe database the agent still serves" ssh-add "$T/keys/ed25519"
if grep -q "audit: cannot open the database: .*mode 0644.*syslog/stderr only" "$T/agent.log"; then
	ok "with an unsafe database agentd says the trail goes to the log only"
else
	fail "unsafe database warning" "expected 'audit: cannot open the database ... syslog/stderr only', got:" "$(cat "$T/agent.log")"
fi
stop_agent
chmod 600 "$DB"

# ---- SSHX_DB is used when --db is not given.
SSHX_DB=$T/db/env.db start_agent_with --no-secret-service
ssh-add -l >/dev/null 2>&1
stop_agent
is "SSHX_DB names the database when --db is not given" 1 \
	"$(sqlite3 "$T/db/env.db" "SELECT count(*) > 0 FROM audit WHERE action = 'agent.list'" 2>&1)"

done_testing

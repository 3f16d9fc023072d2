# sshxctl log: the audit trail of sshxctl's changes, filtered by time, key and host.
# shellcheck shell=sh
. "$SSHX_TESTDIR/lib.sh"

setup_tmpdir
isolate_home
DB=$T/db/sshx.db
export SSHX_DB="$DB"
gen_keys ed25519 ecdsa256
ED=$(cut -d' ' -f2 "$T/pub/ed25519.pub")
EC=$(cut -d' ' -f2 "$T/pub/ecdsa256.pub")
FP_ED=$(fp_of "$T/pub/ed25519.pub")
FP_EC=$(fp_of "$T/pub/ecdsa256.pub")

ctl() {
	"$SSHXCTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}

ctl log
is "log without a database exits 1" 1 "$RC"

"$SSHXCTL" hosts add web1.example.com ssh-ed25519 "$ED" >/dev/null 2>&1
"$SSHXCTL" hosts add "[web1.example.com]:2222" ecdsa-sha2-nistp256 "$EC" >/dev/null 2>&1
"$SSHXCTL" hosts add db1.example.com ecdsa-sha2-nistp256 "$EC" >/dev/null 2>&1
"$SSHXCTL" hosts revoke db1.example.com --key "$FP_EC" >/dev/null 2>&1
mkdir -p "$T/out.d" && chmod 700 "$T/out.d"
"$SSHXCTL" known-hosts export --out "$T/out.d/kh" >/dev/null 2>&1

ctl log
is "log lists every change (3 adds, 1 revoke, 1 export)" 5 "$(wc -l <"$T/out")"
if head -1 "$T/out" | grep -q "sshxctl uid=$(id -u) pid=[0-9]* hosts.add web1.example.com $FP_ED ok: pinned ssh-ed25519"; then
	ok "each line has time, actor, uid, pid, action, host, fingerprint, result and detail"
else
	fail "a log line's fields" "expected the first add with uid and fingerprint" "got:" "$(head -1 "$T/out")"
fi
ctl log --key "$FP_EC"
is "--key keeps the rows about one key" 3 "$(wc -l <"$T/out")"
ctl log --host web1.example.com
is "--host keeps the rows about one host, on any port" 2 "$(wc -l <"$T/out")"
ctl log --since 1h
is "--since 1h keeps recent rows" 5 "$(wc -l <"$T/out")"
ctl log --since "@$(($(date +%s) + 3600))"
is "--since a time in the future keeps none" 0 "$(wc -l <"$T/out")"
ctl log --since 2000-01-01
is "--since a date keeps rows after it" 5 "$(wc -l <"$T/out")"
ctl log --since "2000-01-01T00:00:00Z"
is "--since an ISO time keeps rows after it" 5 "$(wc -l <"$T/out")"
ctl log --since yesterday
is "--since that is not a time is a usage error" 2 "$RC"
if grep -q "is not a time" "$T/err"; then ok "and says what a time looks like"; else fail "--since error text" "expected 'is not a time'" "got: $(cat "$T/err")"; fi

ctl --json log --host db1.example.com
if "$PYTHON_PARAMIKO" - "$T/out" "$FP_EC" "$(id -u)" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["action"] for r in rows] == ["hosts.add", "hosts.revoke"], rows
for r in rows:
    assert r["fingerprint"] == sys.argv[2] and r["uid"] == int(sys.argv[3]), r
    assert r["actor"] == "sshxctl" and r["result"] == "ok" and r["exe"].endswith("sshxctl"), r
PY
then
	ok "log --json gives the rows with their fields"
else
	fail "log --json" "expected an add and a revoke of db1" "got:" "$(cat "$T/out")"
fi

# Rows agentd writes (schema 3) show what was signed, by whom and over which host key.
sqlite3 "$DB" "INSERT INTO audit (time, actor, uid, pid, exe, action, fingerprint, result, kind, peer_user, peer_host_key, forwarded) VALUES (strftime('%s','now'), 'agentd', 1000, 4242, '/usr/bin/python3.11', 'agent.sign', '$FP_ED', 'ok', 'userauth', 'deploy', 'SHA256:hostkey', 1)"
sqlite3 "$DB" "INSERT INTO audit (time, actor, uid, pid, exe, action, fingerprint, result, kind, namespace, detail) VALUES (strftime('%s','now'), 'agentd', 1000, 4343, '/usr/bin/ssh-keygen', 'agent.sign', '$FP_ED', 'refused', 'sshsig', 'file', 'key not held')"
ctl log --since 1h
if grep -q "agentd uid=1000 pid=4242 agent.sign - $FP_ED ok kind=userauth user=deploy host_key=SHA256:hostkey forwarded=yes exe=/usr/bin/python3.11: -" "$T/out" &&
	grep -q "agentd uid=1000 pid=4343 agent.sign - $FP_ED refused kind=sshsig namespace=file exe=/usr/bin/ssh-keygen: key not held" "$T/out"; then
	ok "agent rows show kind, user, host key, namespace, forwarding and executable"
else
	fail "agent rows in the text log" "expected the two agent.sign rows with their fields" "got:" "$(cat "$T/out")"
fi
ctl log --key "$FP_ED"
is "--key finds the agent's rows too (1 sshxctl, 2 agentd)" 3 "$(wc -l <"$T/out")"
ctl --json log --since 1h
if "$PYTHON_PARAMIKO" - "$T/out" <<'PY'
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["actor"] == "agentd"]
assert len(rows) == 2, rows
a, b = rows
assert (a["kind"], a["user"], a["host_key"], a["namespace"], a["forwarded"]) == \
    ("userauth", "deploy", "SHA256:hostkey", None, True), a
assert (b["kind"], b["user"], b["namespace"], b["forwarded"], b["detail"]) == \
    ("sshsig", None, "file", None, "key not held"), b
sshxctl = [r for r in json.load(open(sys.argv[1])) if r["actor"] == "sshxctl"]
assert all(r["kind"] is None and r["forwarded"] is None for r in sshxctl), sshxctl
PY
then
	ok "log --json gives kind, user, host_key, namespace and forwarded (null when absent)"
else
	fail "log --json agent fields" "got:" "$(cat "$T/out")"
fi
sqlite3 "$DB" "DELETE FROM audit WHERE actor = 'agentd'"

# Nothing secret or signed is in the trail: only public fingerprints and paths.
if sqlite3 "$DB" 'SELECT detail FROM audit' | grep -q "$ED"; then
	fail "the audit trail holds no key material" "expected no base64 key in the details"
else
	ok "the audit trail holds no key material"
fi

# Retention: rows older than the setting go when the next row is written.
sqlite3 "$DB" "INSERT INTO audit (time, actor, action, result) VALUES (strftime('%s','now') - 3 * 86400, 'sshxctl', 'old.action', 'ok')"
ctl log --retention 2d
if [ "$RC" -eq 0 ] && grep -q "older than 2 days" "$T/out"; then ok "log --retention sets how long rows are kept"; else fail "log --retention" "expected exit 0 and the setting" "got $RC: $(cat "$T/out" "$T/err")"; fi
is "the row older than the retention is gone" 0 "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'old.action'")"
is "the newer rows stay (5), and the setting itself is audited (1)" 6 "$(sqlite3 "$DB" 'SELECT count(*) FROM audit')"
ctl log --retention 0
is "--retention 0 keeps everything again" 0 "$RC"
sqlite3 "$DB" "INSERT INTO audit (time, actor, action, result) VALUES (strftime('%s','now') - 400 * 86400, 'sshxctl', 'ancient.action', 'ok')"
"$SSHXCTL" hosts add db2.example.com ssh-ed25519 "$ED" >/dev/null 2>&1
is "without a retention old rows stay" 1 "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE action = 'ancient.action'")"
ctl log --retention forever
is "a retention that is not a duration is a usage error" 2 "$RC"

done_testing

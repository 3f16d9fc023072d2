#!/bin/sh
# Forwarding policy: ssh -A into a real sshd on loopback; on the far side, the forwarded agent
# lists only the "allow" and "confirm" keys, never signs with the "deny" key (which still
# works locally), and asks through askpass (yes, then no) before each use of the "confirm" key.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
agentd_under_test || {
	echo "1..0 # SKIP the forwarding policy is an agentd feature (AGENTD is $AGENTD)"
	exit 0
}
isolate_home
mkdir -p "$T/keys" "$T/pub"
for k in allowk denyk confk; do
	ssh-keygen -q -t ed25519 -N '' -C "sshx-$k@test" -f "$T/keys/$k" >"$T/keygen.out" 2>&1 ||
		bail "generate key $k" "ssh-keygen failed: $(cat "$T/keygen.out")"
	cp "$T/keys/$k.pub" "$T/pub/$k.pub"
done
chmod 755 "$T/pub"
chmod 644 "$T/pub"/*.pub
ALLOW_FP=$(fp_of "$T/keys/allowk.pub")
DENY_FP=$(fp_of "$T/keys/denyk.pub")
CONF_FP=$(fp_of "$T/keys/confk.pub")

# The deny key has no section: the top-level default (deny) applies to it.
cat >"$T/agentd.conf" <<EOF
forwarding = deny

[key $ALLOW_FP]
forwarding = allow

[key $CONF_FP]
forwarding = confirm
EOF

# Askpass answers yes to the first prompt and no to every later one, and records each prompt.
cat >"$T/askpass" <<EOF
#!/bin/sh
printf '%s\n---\n' "\$1" >>"$T/askpass.log"
n=\$(cat "$T/askpass.count" 2>/dev/null || echo 0)
echo \$((n + 1)) >"$T/askpass.count"
[ "\$n" -eq 0 ] && exit 0
exit 1
EOF
chmod 700 "$T/askpass"
SSH_ASKPASS=$T/askpass
export SSH_ASKPASS
start_agent_with --config "$T/agentd.conf" --no-secret-service
unset SSH_ASKPASS
for k in allowk denyk confk; do
	ssh-add "$T/keys/$k" >"$T/add.out" 2>&1 || bail "ssh-add $k" "ssh-add failed: $(cat "$T/add.out")"
done

start_sshd
known_hosts_for_sshd
authorize_keys "$T/keys/allowk.pub"
diag "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT"

# Python helpers the login user can read, for raw requests on the far side.
mkdir -p "$T/py"
cp "$SSHX_TESTDIR/agentproto.py" "$SSHX_TESTDIR/scope_agent.py" "$T/py/"
chmod 755 "$T/py"
chmod 644 "$T/py"/*.py

# Runs a command on the far side with the agent forwarded (ssh -A): far CMD.
far() {
	ssh_agent_login -A "$LOGIN_USER@127.0.0.1" "$@"
}

# --- locally (no forwarding) every key is listed.
is "locally ssh-add -l lists all three keys" \
	"$(printf '%s\n' "$ALLOW_FP" "$DENY_FP" "$CONF_FP" | sort)" "$(agent_fps)"

# --- far side: listing.
far 'ssh-add -l' >"$T/far.out" 2>"$T/far.err"
got=$(grep SHA256 "$T/far.out" | cut -d' ' -f2 | sort)
is "through ssh -A, ssh-add -l on the far side lists only the allow and confirm keys" \
	"$(printf '%s\n' "$ALLOW_FP" "$CONF_FP" | sort)" "$got"
far 'ssh-add -L' >"$T/far.out" 2>"$T/far.err"
is "through ssh -A, ssh-add -L on the far side prints only the allow and confirm keys" \
	"$( (pub_blob "$T/pub/allowk.pub"; pub_blob "$T/pub/confk.pub") | sort)" \
	"$(cut -d' ' -f1,2 "$T/far.out" | sort)"

# --- far side: signing.  sign_far KEY prints "signed" when ssh-keygen -Y sign succeeds.
sign_far() {
	far "d=\$(mktemp -d) && echo data >\$d/f && ssh-keygen -Y sign -f $T/pub/$1.pub -n file \$d/f \
		>/dev/null 2>&1 && test -s \$d/f.sig && echo signed; rm -rf \$d"
}
is "far side: ssh-keygen -Y sign with the allow key signs" signed "$(sign_far allowk 2>&1)"
is "far side: ssh-keygen -Y sign with the deny key does not sign" "" "$(sign_far denyk 2>&1)"
far "/usr/bin/python3 -u $T/py/scope_agent.py signs \"\$SSH_AUTH_SOCK\" $T/pub/denyk.pub no" \
	>"$T/far.out" 2>&1
relay_points "$T/far.out" || dump_logs
if grep -q "refusing signature with $DENY_FP: the key may not be used through a forwarded agent" \
	"$T/agent.log"; then
	ok "agentd logs why it refused the deny key on the forwarded connection"
else
	fail "agentd logs why it refused the deny key on the forwarded connection" \
		"expected a 'refusing signature with $DENY_FP' line"
fi
echo data >"$T/local.data"
check "locally ssh-keygen -Y sign with the deny key still signs" \
	ssh-keygen -Y sign -f "$T/pub/denyk.pub" -n file "$T/local.data"

# --- far side: the confirm key asks each time (askpass says yes, then no).
is "far side: the confirm key signs when askpass answers yes" signed "$(sign_far confk 2>&1)"
is "far side: the confirm key does not sign when askpass answers no" "" "$(sign_far confk 2>&1)"
is "askpass was asked twice" 2 "$(cat "$T/askpass.count" 2>/dev/null)"
host_fps=$(for t in ed25519 ecdsa rsa; do fp_of "$T/sshd/host_$t.pub"; done)
prompt_ok=0
if grep -q "^Allow forwarded use of key sshx-confk@test?" "$T/askpass.log" &&
	grep -q "^Key fingerprint $CONF_FP\.$" "$T/askpass.log"; then
	for fp in $host_fps; do
		grep -q "^Forwarded to the host with key $fp;$" "$T/askpass.log" && prompt_ok=1
	done
fi
if [ "$prompt_ok" -eq 1 ]; then
	ok "the prompt says the use is forwarded and names the key and the sshd's host key"
else
	fail "the prompt says the use is forwarded and names the key and the sshd's host key" \
		"expected a forwarded-use prompt naming $CONF_FP and one of: $host_fps, got:" \
		"$(cat "$T/askpass.log" 2>/dev/null)"
fi
is "the allow and deny keys never asked" 0 "$(grep -c "sshx-allowk\|sshx-denyk" "$T/askpass.log")"

done_testing

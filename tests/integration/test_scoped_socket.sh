#!/bin/sh
# Scoped sockets: a [socket deploy] section gives Paramiko a socket that lists only the deploy
# key, so a login succeeds with 8 keys in the agent and MaxAuthTries 3, where the main socket's
# full list exhausts sshd's tries.  Keys not exposed are never signed with there, requests that
# change the agent are refused there, and configuration mistakes stop agentd with file:line.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
agentd_under_test || {
	echo "1..0 # SKIP scoped sockets are an agentd feature (AGENTD is $AGENTD)"
	exit 0
}
isolate_home
gen_keys ed25519 ecdsa256 ecdsa384 ecdsa521 rsa3072
for k in extra1 extra2 deploy; do
	ssh-keygen -q -t ed25519 -N '' -C "sshx-$k@test" -f "$T/keys/$k" >"$T/keygen.out" 2>&1 ||
		bail "generate key $k" "ssh-keygen failed: $(cat "$T/keygen.out")"
	cp "$T/keys/$k.pub" "$T/pub/$k.pub"
done
DEPLOY_FP=$(fp_of "$T/keys/deploy.pub")
ED_FP=$(fp_of "$T/keys/ed25519.pub")

cat >"$T/agentd.conf" <<EOF
# The deploy job sees its key, then the ed25519 key (an order other than the agent's).
[socket deploy]
keys = $DEPLOY_FP, $ED_FP

[socket solo]
keys = $DEPLOY_FP
EOF
start_agent_with --config "$T/agentd.conf" --no-secret-service
DSOCK=$T/deploy.sock
SOLO=$T/solo.sock

# --- the sockets exist beside the main one, 0600.
check "the deploy socket is created beside the main socket" test -S "$DSOCK"
is "the deploy socket has mode 0600" "600" "$(stat -c %a "$DSOCK" 2>&1)"
if grep -q "listening on $DSOCK for \[socket deploy\]: 2 keys; adding, removing, locking" "$T/agent.log"; then
	ok "agentd logs the deploy socket and what it refuses"
else
	fail "agentd logs the deploy socket and what it refuses" "expected a 'listening on $DSOCK' line"
fi

# --- 8 keys in the agent, the deploy key last.
for k in ed25519 ecdsa256 ecdsa384 ecdsa521 rsa3072 extra1 extra2 deploy; do
	ssh-add "$T/keys/$k" >"$T/add.out" 2>&1 || bail "ssh-add $k" "ssh-add failed: $(cat "$T/add.out")"
done
is "the main socket lists all 8 keys" 8 "$(ssh-add -l | grep -c SHA256)"
run_py scope_agent.py lists "$DSOCK" "$T/pub/deploy.pub" "$T/pub/ed25519.pub"
run_py scope_agent.py lists "$SOLO" "$T/pub/deploy.pub"
is "ssh-add -l through the solo socket shows only the deploy key" "$DEPLOY_FP" \
	"$(SSH_AUTH_SOCK=$SOLO ssh-add -l | cut -d' ' -f2)"

# --- never list-then-refuse: a key not exposed is refused, and nothing changes the agent there.
run_py scope_agent.py scoped-refusals "$SOLO" "$T/pub/ecdsa256.pub"
is "the agent still holds 8 keys after the refused requests" 8 "$(ssh-add -l | grep -c SHA256)"
echo data >"$T/d1"
echo data >"$T/d2"
check "the solo socket signs with its own key (ssh-keygen -Y sign)" \
	env SSH_AUTH_SOCK="$SOLO" ssh-keygen -Y sign -f "$T/pub/deploy.pub" -n file "$T/d1"
check_fails "the solo socket does not sign with the ed25519 key" \
	env SSH_AUTH_SOCK="$SOLO" ssh-keygen -Y sign -f "$T/pub/ed25519.pub" -n file "$T/d2"

# --- removing a key takes it off the scoped socket; adding it back brings it back.
ssh-add -d "$T/keys/deploy.pub" >/dev/null 2>&1
run_py scope_agent.py lists "$SOLO"
ssh-add "$T/keys/deploy" >/dev/null 2>&1
run_py scope_agent.py lists "$SOLO" "$T/pub/deploy.pub"

# --- Paramiko and sshd with MaxAuthTries 3, only the deploy key authorized.
SSHD_EXTRA_CONFIG="MaxAuthTries 3"
start_sshd
known_hosts_for_sshd
authorize_keys "$T/keys/deploy.pub"
diag "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT (MaxAuthTries 3)"

SSH_AUTH_SOCK=$DSOCK
export SSH_AUTH_SOCK
run_py paramiko_agent.py login deploy "$SSHD_PORT" "$T/known_hosts" "$LOGIN_USER"
if sshd_log | grep -q "Accepted publickey for $LOGIN_USER from 127.0.0.1 port [0-9]* ssh2: ED25519 $DEPLOY_FP\$"; then
	ok "sshd accepted the deploy key for Paramiko on the deploy socket"
else
	fail "sshd accepted the deploy key for Paramiko on the deploy socket" \
		"expected 'Accepted publickey for $LOGIN_USER ... $DEPLOY_FP' in sshd's log"
fi

SSH_AUTH_SOCK=$SOCK
export SSH_AUTH_SOCK
run_py scope_agent.py login-fails "$SSHD_PORT" "$T/known_hosts" "$LOGIN_USER"
if sshd_log | grep -q "maximum authentication attempts exceeded for $LOGIN_USER"; then
	ok "sshd ended the main socket's attempt at MaxAuthTries"
else
	fail "sshd ended the main socket's attempt at MaxAuthTries" \
		"expected 'maximum authentication attempts exceeded' in sshd's log"
fi

stop_agent

# --- the sockets are removed when agentd exits.
check_fails "the deploy socket is gone after agentd exits" test -e "$DSOCK"

# --- configuration mistakes: agentd does not start, and says where.
# bad_config DESC EXPECTED-MESSAGE-PART: the configuration is in $T/bad.conf.
bad_config() {
	timeout -k 2 10 "$AGENTD" -D -a "$T/bad.sock" --config "$T/bad.conf" --no-secret-service \
		>"$T/bad.out" 2>&1
	_rc=$?
	if [ "$_rc" -ne 0 ] && [ "$_rc" -ne 124 ] && grep -qF -- "$2" "$T/bad.out" && [ ! -e "$T/bad.sock" ]; then
		ok "config: $1"
	else
		fail_nolog "config: $1" "expected a non-zero exit, no socket and a message with '$2'," \
			"got exit $_rc:" "$(cat "$T/bad.out")"
	fi
}
printf '[socket deploy]\nkeys = %s\ncolour = blue\n' "$DEPLOY_FP" >"$T/bad.conf"
bad_config "an unknown setting in a section is refused" "bad.conf:3: unknown setting \"colour\""
printf '[socket a]\nkeys = %s\n[socket a]\nkeys = %s\n' "$DEPLOY_FP" "$DEPLOY_FP" >"$T/bad.conf"
bad_config "a duplicate section is refused" "bad.conf:3: duplicate section [socket a]"
printf '[socket ../x]\nkeys = %s\n' "$DEPLOY_FP" >"$T/bad.conf"
bad_config "a socket name with a slash is refused" "bad.conf:1: [socket ../x]"
printf '[socket d]\nkeys =\n' >"$T/bad.conf"
bad_config "an empty key list is refused" "bad.conf:2: keys: the list is empty"
printf '[socket d]\npath = /tmp/x.sock\n' >"$T/bad.conf"
bad_config "a socket without keys is refused" "bad.conf:1: [socket d] has no \"keys = ...\""
printf '[socket d]\nkeys = a, , b\n' >"$T/bad.conf"
bad_config "an empty entry in a key list is refused" "bad.conf:2: keys: empty entry"
printf '[socket d]\nkeys = SHA256:short\n' >"$T/bad.conf"
bad_config "a malformed fingerprint is refused" "bad.conf:2: keys: \"SHA256:short\" is neither"
_list=k0
_i=1
while [ "$_i" -le 64 ]; do
	_list="$_list, k$_i"
	_i=$((_i + 1))
done
printf '[socket d]\nkeys = %s\n' "$_list" >"$T/bad.conf"
bad_config "more than 64 keys on one socket are refused" "bad.conf:2: keys: more than 64 entries"
printf '[key %s]\nforwarding = sometimes\n' "$DEPLOY_FP" >"$T/bad.conf"
bad_config "a bad forwarding value is refused" "bad.conf:2: bad value for forwarding"
printf 'forwarding = maybe\n' >"$T/bad.conf"
bad_config "a bad top-level forwarding value is refused" "bad.conf:1: bad value for forwarding"
printf '[key %s]\n' "$DEPLOY_FP" >"$T/bad.conf"
bad_config "a [key] section that sets nothing is refused" "bad.conf:1: [key $DEPLOY_FP] sets nothing"
printf '[host x]\n' >"$T/bad.conf"
bad_config "an unknown section is refused" "bad.conf:1: unknown section \"host\""
printf '[socket d]\nkeys = k\npath = relative.sock\n' >"$T/bad.conf"
bad_config "a relative socket path is refused" "bad.conf:3: path: expected an absolute"

# --- keyring keys are named by their keyring name; the socket's own path is honoured.
KR=$T/kr/keyring
pass_file "$T/pass" "scoped socket passphrase"
setsid -w timeout -k 2 60 "$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" keyring init \
	--kdf-memory 8 --kdf-time 1 </dev/null >"$T/ctl.out" 2>&1 ||
	bail "sshxctl keyring init" "$(cat "$T/ctl.out")"
for name in kother kdeploy; do
	setsid -w timeout -k 2 60 "$SSHXCTL" --keyring "$KR" --passphrase-file "$T/pass" key generate \
		--name "$name" </dev/null >"$T/pub/$name.pub" 2>"$T/ctl.out" ||
		bail "sshxctl key generate --name $name" "$(cat "$T/ctl.out")"
done
cat >"$T/agentd.conf" <<EOF
[socket kr]
keys = kdeploy, $ED_FP
path = $T/kr.sock
EOF
start_agent_with --config "$T/agentd.conf" --keyring "$KR" --passphrase-file "$T/pass" \
	--no-secret-service
ssh-add "$T/keys/ed25519" >/dev/null 2>&1
is "the main socket lists both keyring keys and the ssh-add key" 3 "$(ssh-add -l | grep -c SHA256)"
run_py scope_agent.py lists "$T/kr.sock" "$T/pub/kdeploy.pub" "$T/pub/ed25519.pub"
stop_agent

done_testing

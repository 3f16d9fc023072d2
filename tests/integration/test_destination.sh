#!/bin/sh
# Destination constraints (ssh-add -h, restrict-destination-v00@openssh.com): a key restricted
# to the loopback sshd logs in there with ssh, is hidden from clients that are bound to no host
# or to another host key, signs only for the user it was restricted to, and is not offered
# beyond the sshd through a forwarded agent.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
agentd_under_test || {
	echo "1..0 # SKIP this test covers agentd's listing rules (AGENTD is $AGENTD)"
	exit 0
}
isolate_home
gen_keys ed25519 ecdsa256
chmod 755 "$T/pub"
chmod 644 "$T/pub"/*.pub
DEST_FP=$(fp_of "$T/keys/ed25519.pub")
FREE_FP=$(fp_of "$T/keys/ecdsa256.pub")

# Forwarding is allowed here, so that only the destination constraints hide keys.
printf 'forwarding = allow\n' >"$T/agentd.conf"
start_agent_with --config "$T/agentd.conf" --no-secret-service
start_sshd
known_hosts_for_sshd
authorize_keys "$T/keys/ed25519.pub"
diag "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT"
# ssh-add -h looks the destination up by name: list the sshd's keys under plain 127.0.0.1.
sed "s/^\[127.0.0.1\]:$SSHD_PORT /127.0.0.1 /" "$T/known_hosts" >"$T/known_hosts.dest"
ssh-keygen -q -t ed25519 -N '' -f "$T/otherhost" >"$T/keygen.out" 2>&1 ||
	bail "generate another host key" "ssh-keygen failed: $(cat "$T/keygen.out")"

check "ssh-add -h $LOGIN_USER@127.0.0.1 adds the restricted key" \
	ssh-add -H "$T/known_hosts.dest" -h "$LOGIN_USER@127.0.0.1" "$T/keys/ed25519"
check "ssh-add adds an unrestricted key" ssh-add "$T/keys/ecdsa256"
if grep -q "added $DEST_FP restricted to destinations" "$T/agent.log"; then
	ok "agentd logs the key as restricted to destinations"
else
	fail "agentd logs the key as restricted to destinations" "expected 'added $DEST_FP restricted ...'"
fi

# --- a client bound to no host sees only the unrestricted key (OpenSSH lists the restricted
# one too but refuses to sign with it there; agentd never lists what it will not sign with).
is "ssh-add -l on a connection without session-bind lists only the unrestricted key" \
	"$FREE_FP" "$(agent_fps)"
run_py scope_agent.py signs "$SOCK" "$T/pub/ed25519.pub" no

# --- ssh logs in with the restricted key (it binds the connection to the sshd's host key).
ssh_agent_login -v "$LOGIN_USER@127.0.0.1" echo hello >"$T/ssh.out" 2>"$T/ssh.err"
rc=$?
is "ssh to the permitted destination logs in with the restricted key" "0 hello" "$rc $(cat "$T/ssh.out")"
if sshd_log | grep -q "Accepted publickey for $LOGIN_USER from 127.0.0.1 port [0-9]* ssh2: ED25519 $DEST_FP\$"; then
	ok "sshd accepted the restricted key"
else
	fail "sshd accepted the restricted key" "expected 'Accepted publickey ... $DEST_FP' in sshd's log" \
		"ssh said:" "$(grep -v '^debug[23]' "$T/ssh.err")"
fi

# --- connections bound by hand: the sshd's own host key, and another one.
run_py scope_agent.py bound "$SOCK" "$T/sshd/host_ed25519" "$LOGIN_USER" "$T/pub/ed25519.pub" yes yes
run_py scope_agent.py bound "$SOCK" "$T/sshd/host_ed25519" root "$T/pub/ed25519.pub" yes no
run_py scope_agent.py bound "$SOCK" "$T/otherhost" "$LOGIN_USER" "$T/pub/ed25519.pub" no no
run_py scope_agent.py bound "$SOCK" "$T/otherhost" "$LOGIN_USER" "$T/pub/ecdsa256.pub" yes yes

# --- through ssh -A the key is permitted at the sshd but not beyond it: hidden on the far side.
ssh_agent_login -A "$LOGIN_USER@127.0.0.1" 'ssh-add -l' >"$T/far.out" 2>"$T/far.err"
is "through ssh -A the far side lists only the unrestricted key" \
	"$FREE_FP" "$(grep SHA256 "$T/far.out" | cut -d' ' -f2)"

# --- malformed and unknown constraint extensions are refused.
run_py scope_agent.py bad-constraints "$SOCK"

# --- adding the key again without -h lifts the restriction, as with OpenSSH's agent.
check "ssh-add adds the key again without -h" ssh-add "$T/keys/ed25519"
is "the key is listed again on a connection without session-bind" \
	"$(printf '%s\n' "$DEST_FP" "$FREE_FP" | sort)" "$(agent_fps)"

done_testing

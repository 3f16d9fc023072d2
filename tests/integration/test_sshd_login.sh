#!/bin/sh
# OpenSSH's ssh logs in to a real sshd on loopback with each key type, the private key held
# only by the agent under test.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
gen_keys
start_agent
start_sshd
known_hosts_for_sshd
diag "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT"

# Leaves exactly key NAME in the agent.
only_key_in_agent() {
	ssh-add -D >/dev/null 2>&1
	ssh-add "$T/keys/$1" >"$T/add.out" 2>&1 || bail "ssh-add $1" "ssh-add failed: $(cat "$T/add.out")"
}

# Logs in with key NAME and checks the command's output and which key sshd accepted:
# login_with NAME DESC [ssh options...].
login_with() {
	_k=$1
	_desc=$2
	shift 2
	_fp=$(ssh-keygen -lf "$T/keys/$_k.pub" | cut -d' ' -f2)
	_before=$(sshd_log | grep -c 'Accepted publickey')
	ssh_agent_login -vvv "$@" "$LOGIN_USER@127.0.0.1" echo hello >"$T/ssh.out" 2>"$T/ssh.err"
	_rc=$?
	_out=$(cat "$T/ssh.out")
	if [ "$_rc" -eq 0 ] && [ "$_out" = hello ]; then
		ok "$_desc: ssh prints hello"
	else
		fail "$_desc: ssh prints hello" "expected exit 0 and 'hello', got exit $_rc and '$_out'; ssh said:" \
			"$(grep -v '^debug' "$T/ssh.err")"
	fi
	_acc=$(sshd_log | grep 'Accepted publickey' | sed -n "$((_before + 1)),\$p")
	case $_acc in
	*"Accepted publickey for $LOGIN_USER from 127.0.0.1 "*" $_fp") ok "$_desc: sshd accepted exactly that key" ;;
	*) fail "$_desc: sshd accepted exactly that key" \
		"expected one 'Accepted publickey for $LOGIN_USER ... $_fp' line, got:" "$_acc" ;;
	esac
}

for k in $KEY_TYPES; do
	only_key_in_agent "$k"
	authorize_keys "$T/keys/$k.pub"
	if [ "$k" = rsa3072 ]; then
		for alg in rsa-sha2-256 rsa-sha2-512; do
			login_with "$k" "$k via the agent with $alg" -o PubkeyAcceptedAlgorithms="$alg"
			if grep -q "signing using $alg SHA256:" "$T/ssh.err"; then
				ok "$k via the agent with $alg: the client asked for an $alg signature"
			else
				fail "$k via the agent with $alg: the client asked for an $alg signature" \
					"expected 'signing using $alg' in ssh -v output, got:" "$(grep -i 'signing using' "$T/ssh.err")"
			fi
		done
	else
		login_with "$k" "$k via the agent"
	fi
done

# A key the agent holds but sshd does not authorize gets no login.
only_key_in_agent ed25519
authorize_keys "$T/keys/ecdsa256.pub"
ssh_agent_login -v "$LOGIN_USER@127.0.0.1" echo hello >"$T/ssh.out" 2>"$T/ssh.err"
rc=$?
fp=$(ssh-keygen -lf "$T/keys/ed25519.pub" | cut -d' ' -f2)
if [ "$rc" -eq 255 ] && [ ! -s "$T/ssh.out" ] && grep -q 'Permission denied (publickey)' "$T/ssh.err" &&
	grep -q "Offering public key: .* $fp agent" "$T/ssh.err"; then
	ok "an unauthorized key in the agent gets no login (Permission denied)"
else
	fail "an unauthorized key in the agent gets no login (Permission denied)" \
		"expected exit 255, no output, the agent's key offered and 'Permission denied (publickey)'," \
		"got exit $rc, output '$(cat "$T/ssh.out")', ssh said:" "$(grep -v '^debug[23]' "$T/ssh.err")"
fi

done_testing

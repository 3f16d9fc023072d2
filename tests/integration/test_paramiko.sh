#!/bin/sh
# Paramiko 2.12 (Debian's /usr/bin/python3) against the agent under test: paramiko.Agent()
# listing and signing, and SSHClient logins into a real sshd with RejectPolicy.

. "${SSHX_TESTDIR:?}/lib.sh"

setup_tmpdir
gen_keys
start_agent
start_sshd
known_hosts_for_sshd
diag "sshd pid $SSHD_PID on 127.0.0.1:$SSHD_PORT"

# --- paramiko.Agent(): listing and signing with every key type at once.
for k in $KEY_TYPES; do
	ssh-add "$T/keys/$k" >"$T/add.out" 2>&1 || bail "ssh-add $k" "ssh-add failed: $(cat "$T/add.out")"
done
set --
agentd_under_test && set -- --agentd
for k in $KEY_TYPES; do
	set -- "$@" "$T/pub/$k.pub"
done
run_py paramiko_agent.py keys "$@"

# --- SSHClient logins, one key type at a time (only that key in the agent and authorized).
for k in $KEY_TYPES; do
	ssh-add -D >/dev/null 2>&1
	ssh-add "$T/keys/$k" >"$T/add.out" 2>&1 || bail "ssh-add $k" "ssh-add failed: $(cat "$T/add.out")"
	authorize_keys "$T/keys/$k.pub"
	before=$_tap_n
	run_py paramiko_agent.py login "$k" "$SSHD_PORT" "$T/known_hosts" "$LOGIN_USER"
	fp=$(ssh-keygen -lf "$T/keys/$k.pub" | cut -d' ' -f2)
	if sshd_log | grep -q "Accepted publickey for $LOGIN_USER from 127.0.0.1 port [0-9]* ssh2: [A-Z0-9]* $fp\$"; then
		ok "$k: sshd accepted the $k key for Paramiko's login"
	else
		fail "$k: sshd accepted the $k key for Paramiko's login" \
			"expected 'Accepted publickey for $LOGIN_USER ... $fp' in sshd's log"
	fi
	[ "$_tap_n" -gt "$before" ] || bail "paramiko login ran" "no points from paramiko_agent.py login"
done

# --- RejectPolicy without the known_hosts file: what made the logins above work is that file.
run_py paramiko_agent.py unknown-host "$SSHD_PORT" "$LOGIN_USER"

done_testing

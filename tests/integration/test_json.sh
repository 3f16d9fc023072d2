#!/bin/sh
# sshxctl --json: every listing and status command prints one JSON document
# with exactly the keys and types doc/json.md documents, checked on real
# data (a keyring, a host database fed with ssh-keyscan style lines, a
# running agentd); bytes that are not UTF-8 still make valid JSON.
. "$SSHX_TESTDIR/lib.sh"

: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"
DOC=$SSHX_TESTDIR/../../doc/json.md
setup_tmpdir
isolate_home
gen_keys ed25519 ecdsa256 rsa3072

KR=$T/keyring
DB=$T/sshx.db
printf 'json test passphrase' >"$T/pass"
chmod 600 "$T/pass"
COVERED=

# Runs sshxctl on the test's keyring and database.
ctl() {
	"$SSHXCTL" --keyring "$KR" --db "$DB" --passphrase-file "$T/pass" "$@"
}

# Runs CMD with --json and passes when it exits with one of CODES and its
# stdout has the shape documented as SHAPE: shape_ok DESC SHAPE CODES CMD...
shape_ok() {
	_desc=$1
	_shape=$2
	_codes=$3
	shift 3
	"$@" --json </dev/null >"$T/json.out" 2>"$T/json.err"
	_rc=$?
	case " $_codes " in
	*" $_rc "*) ;;
	*)
		fail_nolog "$_desc" "expected exit $_codes from: $* --json" "got exit $_rc:" \
		    "$(cat "$T/json.out" "$T/json.err")"
		return
		;;
	esac
	if _why=$("$PYTHON_PARAMIKO" "$SSHX_TESTDIR/jsonshape.py" "$DOC" "$_shape" "$T/json.out" 2>&1); then
		ok "$_desc"
	else
		fail_nolog "$_desc" "expected the documented shape \"$_shape\"" "got: $_why"
	fi
}

# Notes that a command's --json was checked: covered GROUP [CMD].
covered() {
	COVERED="$COVERED
$*"
}

# ---------------------------------------------------------------- the keyring
check "keyring init makes a keyring" ctl keyring init --kdf-memory 8 --kdf-time 1
shape_ok "keyring status --json" keyring-status 0 ctl keyring status
shape_ok "keyring status --json without a keyring: the same keys, null mode (exit 1)" keyring-status 1 \
    "$SSHXCTL" --keyring "$T/none/keyring" keyring status
covered keyring status
shape_ok "key generate --json" key-generate 0 ctl key generate --name deploy --comment "deploy key"
shape_ok "key import --json" key-generate 0 ctl key import "$T/keys/ecdsa256" --name imported
shape_ok "key rotate --json" key-rotate 0 ctl key rotate deploy --grace 1d
shape_ok "key list --json (active and retiring keys)" key-list 0 ctl key list
covered key list
if [ "$("$PYTHON_PARAMIKO" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/json.out")" -ge 3 ]; then
	ok "key list --json lists the three keys"
else
	fail_nolog "key list --json lists the three keys" "got: $(cat "$T/json.out")"
fi
shape_ok "key show --json" key-show 0 ctl key show deploy
covered key show

# ---------------------------------------------------------------- the host database
# Host keys made by ssh-keygen, written the way ssh-keyscan prints them.
mkdir "$T/hk"
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t "$t" -N '' -f "$T/hk/$t" >/dev/null 2>&1 || bail "ssh-keygen -t $t" "failed"
done
{
	echo "# 127.0.0.1:2222 SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
	for t in ed25519 ecdsa rsa; do
		awk '{ print "[127.0.0.1]:2222", $1, $2 }' "$T/hk/$t.pub"
	done
} >"$T/keyscan"
shape_ok "hosts import --json (ssh-keyscan output)" hosts-import 0 ctl hosts import --format keyscan "$T/keyscan"
shape_ok "hosts add --json" hosts-add 0 ctl hosts add db.example.com:2200 --key-file "$T/pub/ed25519.pub"
{
	printf '@cert-authority *.example.com %s\n' "$(pub_blob "$T/pub/ecdsa256.pub")"
	printf '@revoked * %s\n' "$(pub_blob "$T/pub/rsa3072.pub")"
} >"$T/markers"
check "hosts import of marker lines" ctl hosts import --format known_hosts "$T/markers"
shape_ok "hosts list --json (keys and pattern entries)" hosts-list 0 ctl hosts list
covered hosts list
if "$PYTHON_PARAMIKO" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (len(d["keys"]) == 4 and len(d["patterns"]) == 2))' "$T/json.out"; then
	ok "hosts list --json has the four keys and two pattern entries"
else
	fail_nolog "hosts list --json has the four keys and two pattern entries" "got: $(cat "$T/json.out")"
fi
shape_ok "hosts list PATTERN --json" hosts-list 0 ctl hosts list db.example.com
# shellcheck disable=SC2046
shape_ok "hosts verify --json (pinned, exit 0)" hosts-verify 0 \
    ctl hosts verify "[127.0.0.1]:2222" $(awk '{ print $1, $2 }' "$T/hk/ed25519.pub")
# shellcheck disable=SC2046
shape_ok "hosts verify --json (unknown host, exit 1)" hosts-verify 1 \
    ctl hosts verify nowhere.example.com $(awk '{ print $1, $2 }' "$T/hk/ed25519.pub")
covered hosts verify
shape_ok "known-hosts export --json" known-hosts-export 0 ctl known-hosts export --out "$T/known_hosts"
shape_ok "known-hosts export --format openssh --hash --json" known-hosts-export 0 \
    ctl known-hosts export --out "$T/known_hosts2" --format openssh --hash
shape_ok "log --json" log 0 ctl log
covered log

# ---------------------------------------------------------------- checks
mkdir -p "$T/p/dir"
: >"$T/p/id_ed25519"
cp "$T/pub/ed25519.pub" "$T/p/id_ed25519.pub"
chmod 755 "$T/p" "$T/p/dir"
chmod 644 "$T/p/id_ed25519" "$T/p/id_ed25519.pub"
ln -s id_ed25519 "$T/p/link"
shape_ok "perms check --json (problems found, exit 1)" perms 1 ctl perms check "$T/p"
covered perms check
shape_ok "perms fix --json" perms 0 ctl perms fix "$T/p"
covered perms fix
shape_ok "perms check --json (nothing wrong)" perms 0 ctl perms check "$T/p/dir"

shape_ok "audit paramiko --json (Debian's Paramiko)" audit-paramiko "0 1" ctl audit paramiko --python "$PYTHON_PARAMIKO"
mkdir "$T/empty-site"
shape_ok "audit paramiko --json (not found, exit 2)" audit-paramiko 2 ctl audit paramiko --site "$T/empty-site"
covered audit paramiko

# ---------------------------------------------------------------- the agent
shape_ok "agent status --json with no agent: the same keys, null facts (exit 1)" agent-status 1 \
    "$SSHXCTL" -a "$T/none.sock" agent status
start_agent_with --keyring "$KR" --passphrase-file "$T/pass" --no-secret-service --db "$DB"
shape_ok "agent status --json against agentd with its keyring" agent-status 0 "$SSHXCTL" agent status
covered agent status
if "$PYTHON_PARAMIKO" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (d["running"] and d["sshx"] and d["identities"] >= 2 and d["locked"] is False))' "$T/json.out"; then
	ok "agent status --json: running agentd, its keys, unlocked"
else
	fail "agent status --json: running agentd, its keys, unlocked" "got: $(cat "$T/json.out")"
fi

# ---------------------------------------------------------------- every --json command was checked
"$SSHXCTL" __complete | awk -F '\t' '$1 == "option" && $4 == "--json" {
	print ($3 == "-" ? $2 : $2 " " $3) }' | sort >"$T/json-commands"
printf '%s\n' "$COVERED" | sed '/^$/d' | sort -u >"$T/covered"
missing=$(comm -23 "$T/json-commands" "$T/covered")
if [ -n "$(cat "$T/json-commands")" ] && [ -z "$missing" ]; then
	ok "every command whose usage offers --json is checked here"
else
	fail_nolog "every command whose usage offers --json is checked here" "not checked: $missing"
fi

# ---------------------------------------------------------------- bytes that are not UTF-8
mkdir "$T/u"
chmod 700 "$T/u"
bad=$(printf 'bad\377name')
good=$(printf 'caf\303\251')
: >"$T/u/$bad"
: >"$T/u/$good"
chmod 644 "$T/u/$bad" "$T/u/$good"
ctl perms check "$T/u" --json >"$T/u.json" 2>/dev/null
if "$PYTHON_PARAMIKO" -c '
import json, sys
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw.decode("utf-8"))
paths = sorted(p["path"].rsplit("/", 1)[1] for p in d["problems"])
sys.exit(not (paths == ["bad\ufffdname", "caf\u00e9"] and b"\\ufffd" in raw))' "$T/u.json"; then
	ok "a path with a byte that is not UTF-8 gives valid JSON, the byte as \\ufffd, UTF-8 kept as is"
else
	fail_nolog "a path with a byte that is not UTF-8 gives valid JSON, the byte as \\ufffd, UTF-8 kept as is" \
	    "got: $(od -c "$T/u.json" | head -20)"
fi
# Overlong forms, surrogates and a cut sequence are not UTF-8 either.
for seq in '\300\257' '\355\240\200' '\342\202'; do
	name=$(printf "x$seq")
	rm -rf "$T/v"
	mkdir -m 700 "$T/v"
	: >"$T/v/$name"
	chmod 644 "$T/v/$name"
	ctl perms check "$T/v" --json >"$T/v.json" 2>/dev/null
	if "$PYTHON_PARAMIKO" -c '
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
name = d["problems"][0]["path"].rsplit("/", 1)[1]
sys.exit(not (name.startswith("x\ufffd") and set(name[1:]) == {"\ufffd"}))' "$T/v.json"; then
		ok "the bytes $seq become U+FFFD in valid JSON"
	else
		fail_nolog "the bytes $seq become U+FFFD in valid JSON" "got: $(od -c "$T/v.json" | head -20)"
	fi
done

done_testing

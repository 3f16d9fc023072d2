# sshxctl audit paramiko: the installed Paramiko against the advisory list, as a CI step.
# shellcheck shell=sh
. "$SSHX_TESTDIR/lib.sh"

setup_tmpdir

# Runs sshxctl, keeping stdout in $T/out and stderr in $T/err; sets RC.
ctl() {
	"$SSHXCTL" "$@" >"$T/out" 2>"$T/err"
	RC=$?
}
# fake_site DIR VERSION [KIND]: a site-packages directory holding one Paramiko.
fake_site() {
	mkdir -p "$1"
	case ${3:-dist} in
	dist)
		mkdir -p "$1/paramiko-$2.dist-info"
		printf 'Metadata-Version: 2.1\nName: paramiko\nVersion: %s\n\nA long description\nVersion: 0.0.1\n' \
			"$2" >"$1/paramiko-$2.dist-info/METADATA"
		;;
	egg)
		mkdir -p "$1/paramiko-$2-py3.11.egg-info"
		printf 'Metadata-Version: 1.1\nName: paramiko\nVersion: %s\n' "$2" \
			>"$1/paramiko-$2-py3.11.egg-info/PKG-INFO"
		;;
	esac
}
has() {
	if grep -qF -- "$3" "$2"; then
		ok "$1"
	else
		fail "$1" "expected $2 to contain: $3" "got:" "$(cat "$2")"
	fi
}
lacks() {
	if grep -qF -- "$3" "$2"; then
		fail "$1" "expected $2 not to contain: $3" "got:" "$(cat "$2")"
	else
		ok "$1"
	fi
}

# ---------------------------------------------------------------- Debian's Paramiko

DEB_VERSION=$("$PYTHON_PARAMIKO" -c 'import paramiko; print(paramiko.__version__)')
ctl audit paramiko --python "$PYTHON_PARAMIKO"
is "Debian's Paramiko $DEB_VERSION has an advisory: exit 1" 1 "$RC"
has "it reports CVE-2023-48795 (Terrapin)" "$T/out" "CVE-2023-48795: affected (<3.4.0), fixed in 3.4.0"
has "it names the version and the interpreter" "$T/out" "paramiko $DEB_VERSION ("
has "it says what to upgrade to" "$T/out" "upgrade Paramiko to 3.4.0 or later"
lacks "2.12 is past CVE-2022-24302's fix" "$T/out" "CVE-2022-24302"

ctl --json audit paramiko --python "$PYTHON_PARAMIKO"
if "$PYTHON_PARAMIKO" - "$T/out" "$DEB_VERSION" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "vulnerable", d
assert d["upgrade_to"] == "3.4.0", d
inst = d["installs"][0]
assert inst["version"] == sys.argv[2], inst
assert [a["id"] for a in inst["advisories"]] == ["CVE-2023-48795"], inst
PY
then
	ok "--json gives status, version, advisories and the version to upgrade to"
else
	fail "--json output" "expected a vulnerable report for CVE-2023-48795" "got:" "$(cat "$T/out")"
fi

# The interpreter is asked from /, so a fake distribution in the current directory cannot answer.
mkdir -p "$T/cwd"
fake_site "$T/cwd" 9.9.9
(cd "$T/cwd" && "$SSHXCTL" audit paramiko --python "$PYTHON_PARAMIKO" >"$T/out" 2>"$T/err")
is "a paramiko dist-info in the current directory does not fool the check" 1 "$?"

# ---------------------------------------------------------------- --site

fake_site "$T/site340" 3.4.0
ctl audit paramiko --site "$T/site340"
is "a dist-info at 3.4.0 is clean: exit 0" 0 "$RC"
has "and says so" "$T/out" "no known advisory applies"

fake_site "$T/site241" 2.4.1 egg
ctl audit paramiko --site "$T/site241"
is "an egg-info at 2.4.1 is vulnerable: exit 1" 1 "$RC"
has "2.4.1 has CVE-2018-1000805, fixed on its branch in 2.4.2" "$T/out" "CVE-2018-1000805: affected (>=2.4.0,<2.4.2), fixed in 2.4.2"
lacks "2.4.1 is past CVE-2018-7750's fix on its branch" "$T/out" "CVE-2018-7750"
has "2.4.1 also has CVE-2022-24302" "$T/out" "CVE-2022-24302"

fake_site "$T/site232" 2.3.2
ctl audit paramiko --site "$T/site232"
has "2.3.2: CVE-2018-1000805 fixed in 2.3.3 on the 2.3 branch" "$T/out" "fixed in 2.3.3"
lacks "2.3.2 is past CVE-2018-7750 (fixed in 2.3.2)" "$T/out" "CVE-2018-7750"

fake_site "$T/site1175" 1.17.5
ctl audit paramiko --site "$T/site1175"
has "1.17.5 has CVE-2018-7750 (fixed in 1.17.6)" "$T/out" "CVE-2018-7750: affected (<1.17.6), fixed in 1.17.6"

fake_site "$T/siterc" 3.4.0rc1
ctl audit paramiko --site "$T/siterc"
is "a 3.4.0 release candidate is before 3.4.0: exit 1" 1 "$RC"

# ---------------------------------------------------------------- --min-version

ctl audit paramiko --site "$T/site340" --min-version 3.5
is "--min-version above the installed version: exit 1" 1 "$RC"
has "and says the minimum" "$T/out" "below the required minimum version 3.5"
ctl audit paramiko --site "$T/site340" --min-version 3.4.0
is "--min-version equal to the installed version: exit 0" 0 "$RC"
ctl audit paramiko --site "$T/site340" --min-version three
is "--min-version that is not a version: exit 64" 64 "$RC"

# ---------------------------------------------------------------- not found

mkdir -p "$T/empty"
ctl audit paramiko --site "$T/empty"
is "a site directory without Paramiko: exit 2" 2 "$RC"
has "and says where it looked" "$T/err" "no Paramiko found in $T/empty"
ctl audit paramiko --python "$T/no-such-python"
is "an interpreter that does not exist: exit 2" 2 "$RC"
printf '#!/bin/sh\nexec %s -I -S "$@"\n' "$PYTHON_PARAMIKO" >"$T/bare-python"
chmod 755 "$T/bare-python"
ctl audit paramiko --python "$T/bare-python"
is "an interpreter that cannot see Paramiko (no site-packages): exit 2" 2 "$RC"
ctl audit paramiko --site "$T/nowhere"
is "a --site directory that does not exist is an input error: exit 64" 64 "$RC"

# ---------------------------------------------------------------- advisory files

printf 'X-1|<9.0|9.0|everything before 9 is bad\n' >"$T/adv.ok"
ctl audit paramiko --site "$T/site340" --advisories "$T/adv.ok"
is "--advisories reads an updated list" 1 "$RC"
has "and reports its entry" "$T/out" "X-1: affected (<9.0), fixed in 9.0"
for bad in 'CVE-1|<3.4.0|3.4.0' 'CVE-1|~3.4|3.4.0|x' 'CVE-1|<3.4.0|3.4.x|x' 'CVE 1|<3.4.0|3.4.0|x' \
	'CVE-1|<3.4.0|3.3.0|fixed inside the range' 'CVE-1|<3.4.0,|3.4.0|x'; do
	printf '# header\n%s\n' "$bad" >"$T/adv.bad"
	ctl audit paramiko --site "$T/site340" --advisories "$T/adv.bad"
	if [ "$RC" -eq 64 ] && grep -q "adv.bad: line 2: " "$T/err"; then
		ok "a malformed advisory line is a clear error (exit 64, line 2): $bad"
	else
		fail "a malformed advisory line is a clear error: $bad" "expected exit 64 and 'line 2:'" \
			"got $RC: $(cat "$T/err")"
	fi
done
printf '# only comments\n' >"$T/adv.empty"
ctl audit paramiko --site "$T/site340" --advisories "$T/adv.empty"
is "an advisory file without entries is an error (exit 64)" 64 "$RC"
ctl audit paramiko --site "$T/site340" --advisories "$T/adv.missing"
is "a missing advisory file is an error (exit 64)" 64 "$RC"
ctl audit paramiko --python "$PYTHON_PARAMIKO" --site "$T/site340"
is "--python and --site together are a usage error (exit 64)" 64 "$RC"

done_testing

#!/bin/sh
# Host-key store at scale: sshxctl imports N hosts from ssh-keyscan output,
# exports them as known_hosts (plain and hashed) and verifies one host among
# them, each timed beside OpenSSH's ssh-keygen doing the same work on the same
# file in the same run. Figures only: the exit status is non-zero when a step
# failed outright (or measured a failure), never for a missed target.
#
# The input is generated here (not timed): N ssh-ed25519 keys with distinct
# random 32-byte public keys, about 90% "hostNNNNNNN.bench.example" on port 22
# and 10% "[10.x.y.z]:2222", in shuffled order, with a "# host:port SSH-2.0-..."
# banner line before every 20th host as ssh-keyscan prints them. It is seeded,
# so the same N gives the same file in every run.
#
# Every figure is wall-clock time around one run of the command (python's
# time.perf_counter around the child), process start-up included, which is
# what a deploy script pays.
#
# Environment:
#   SSHXCTL                   the sshxctl binary (required)
#   SSH_KEYGEN                OpenSSH's ssh-keygen (default: ssh-keygen on PATH)
#   PYTHON                    a python3 for generation and timing
#                             (default /usr/bin/python3, else python3 on PATH)
#   HOSTBENCH_N               hosts to generate (default 1000000)
#   HOSTBENCH_EXPORT_RUNS     runs of each export and of ssh-keygen -H; the
#                             median is reported (default 3, at least 2)
#   HOSTBENCH_VERIFY_RUNS     measured runs of hosts verify (default 21)
#   HOSTBENCH_KEYGEN_F_RUNS   measured runs of ssh-keygen -F (default 5)
#   HOSTBENCH_SEED            seed of the generated input (default 1)
#   HOSTBENCH_TMPDIR          where the temp dir goes (default /tmp); 1M hosts
#                             need about 1 GB there for a moment

set -u
export LC_ALL=C

me=run-hostbench.sh

die() {
	echo "$me: $*" >&2
	exit 1
}

# Notes a failure without stopping: the other figures are still worth having.
failed=0
fail() {
	echo "$me: *** $*" >&2
	failed=1
}

: "${SSHXCTL:?SSHXCTL must name the sshxctl binary}"
SSH_KEYGEN=${SSH_KEYGEN:-$(command -v ssh-keygen)} || die "ssh-keygen not found"
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3
	else PYTHON=$(command -v python3) || die "python3 not found"
	fi
fi
N=${HOSTBENCH_N:-1000000}
EXPORT_RUNS=${HOSTBENCH_EXPORT_RUNS:-3}
VERIFY_RUNS=${HOSTBENCH_VERIFY_RUNS:-21}
KEYGEN_F_RUNS=${HOSTBENCH_KEYGEN_F_RUNS:-5}
SEED=${HOSTBENCH_SEED:-1}

for bin in "$SSHXCTL" "$SSH_KEYGEN" "$PYTHON"; do
	[ -x "$bin" ] || die "not an executable: '$bin'"
done
for v in "N=$N" "HOSTBENCH_EXPORT_RUNS=$EXPORT_RUNS" "HOSTBENCH_VERIFY_RUNS=$VERIFY_RUNS" \
    "HOSTBENCH_KEYGEN_F_RUNS=$KEYGEN_F_RUNS" "HOSTBENCH_SEED=$SEED"; do
	case ${v#*=} in
	'' | *[!0-9]* | 0) die "${v%%=*} must be a positive integer" ;;
	esac
done
# Two exports at least: the second must repeat the first's bytes.
[ "$EXPORT_RUNS" -ge 2 ] || die "HOSTBENCH_EXPORT_RUNS must be at least 2"
# The [10.x.y.z] addresses are built from 24 bits of the host's number.
[ "$N" -le 16777215 ] || die "HOSTBENCH_N must be at most 16777215"

dir=
# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	status=$?
	if [ -n "$dir" ] && [ -d "$dir" ]; then
		rm -rf "$dir"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dir=$(mktemp -d "${HOSTBENCH_TMPDIR:-/tmp}/sxhb.XXXXXX") || die "cannot create a temp dir"
chmod 700 "$dir"
# sshxctl gets every path on its command line; nothing of the user's is touched.
unset SSHX_DB SSHX_KEYRING
XDG_DATA_HOME=$dir/data
XDG_CONFIG_HOME=$dir/config
export XDG_DATA_HOME XDG_CONFIG_HOME

db=$dir/sshx.db
input=$dir/keyscan.txt
plain=$dir/known_hosts.plain
hashed=$dir/known_hosts.hashed

# ------------------------------------------------------------------ helpers

# timeit.py RUNS WARMUP PREFIX CMD...: runs CMD WARMUP times unmeasured, then
# RUNS times measured; prints "SECONDS STATUS" per measured run. The last run's
# stdout and stderr are left in PREFIX.out and PREFIX.err.
cat >"$dir/timeit.py" <<'EOF'
import subprocess, sys, time
runs, warm, prefix, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
for i in range(warm + runs):
    with open(prefix + ".out", "wb") as out, open(prefix + ".err", "wb") as err:
        t0 = time.perf_counter()
        try:
            rc = subprocess.call(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        except OSError as e:
            err.write(("cannot run %s: %s\n" % (cmd[0], e)).encode())
            rc = 127
        t = time.perf_counter() - t0
    if i >= warm:
        print("%.6f %d" % (t, rc), flush=True)
EOF

# gen.py N SEED FILE PICKFILE: writes the keyscan input to FILE and the
# "HOST TYPE BASE64" of one port-22 host from the middle of it to PICKFILE;
# prints "PORT22 PORT2222 BANNERS".
cat >"$dir/gen.py" <<'EOF'
import base64, random, struct, sys
n, seed, path, pickpath = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = random.Random(seed)
order = list(range(n))
rng.shuffle(order)
prefix = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32)
banner = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
p22 = p2222 = banners = 0
pick = None
chunk = []
with open(path, "w") as f:
    for pos, i in enumerate(order):
        if i % 10 == 9:
            a = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
            host, where = "[%s]:2222" % a, a + ":2222"
            p2222 += 1
        else:
            host = "host%07d.bench.example" % i
            where = host + ":22"
            p22 += 1
        key = base64.b64encode(prefix + rng.randbytes(32)).decode()
        if pos % 20 == 0:
            chunk.append("# %s %s\n" % (where, banner))
            banners += 1
        chunk.append("%s ssh-ed25519 %s\n" % (host, key))
        if pick is None and pos >= n // 2 and not host.startswith("["):
            pick = "%s ssh-ed25519 %s\n" % (host, key)
        if len(chunk) >= 20000:
            f.write("".join(chunk))
            chunk = []
    f.write("".join(chunk))
if pick is None:
    sys.exit("no port-22 host in the second half of the input")
with open(pickpath, "w") as f:
    f.write(pick)
print(p22, p2222, banners)
EOF

# timed LABEL RUNS WARMUP EXPECTED_STATUS CMD...: runs CMD through timeit.py
# and appends the measured seconds to $dir/LABEL.times, one a line; a run that
# exits with another status is reported (with its stderr) as a failure.
# The last run's output is in $dir/LABEL.out and $dir/LABEL.err.
timed() {
	t_label=$1 t_runs=$2 t_warm=$3 t_want=$4
	shift 4
	"$PYTHON" "$dir/timeit.py" "$t_runs" "$t_warm" "$dir/$t_label" "$@" >"$dir/$t_label.raw" ||
	    die "$t_label: the timing helper failed"
	t_bad=$(awk -v w="$t_want" '$2 != w { print $2; exit }' "$dir/$t_label.raw")
	awk '{ print $1 }' "$dir/$t_label.raw" >>"$dir/$t_label.times"
	if [ -n "$t_bad" ]; then
		sed 's/^/    /' "$dir/$t_label.err" | head -n 20 >&2
		fail "$t_label: '$*' exited with status $t_bad, expected $t_want: this figure measures a failure"
		return 1
	fi
	return 0
}

# check OK WHAT: records a sanity check (OK is 0 for passed) for the summary.
check() {
	if [ "$1" -eq 0 ]; then
		echo "  ok      $2" >>"$dir/sanity"
	else
		echo "  FAILED  $2" >>"$dir/sanity"
		fail "sanity check failed: $2"
	fi
}

# median LABEL: the median of $dir/LABEL.times, or "-" when there is none.
median() {
	[ -s "$dir/$1.times" ] || { echo -; return; }
	sort -g "$dir/$1.times" | awk '
		{ v[NR] = $1 }
		END {
			if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2]
			else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# secs VALUE: seconds with 3 decimals, "-" stays "-".
secs() {
	awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.3f\n", a }'
}

# ratio A B: A/B with 1 decimal, or "-".
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"
		else printf "%.1f\n", a / b
	}'
}

# target VALUE OP LIMIT: "met" or "NOT met" ("not measured" for "-").
target() {
	awk -v a="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (a == "-") { print "not measured"; exit }
		ok = (op == "<") ? (a + 0 < l + 0) : (a + 0 >= l + 0)
		print ok ? "met" : "NOT met"
	}'
}

# mb FILE: size in MB (10^6 bytes), 1 decimal.
mb() {
	[ -f "$1" ] || { echo "no file"; return; }
	wc -c <"$1" | awk '{ printf "%.1f MB\n", $1 / 1e6 }'
}

row() {
	printf '%-46s %9s   %s\n' "$1" "$2" "$3"
}

# ------------------------------------------------------------------ machine

cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -m)
mem=$(awk '/^MemTotal:/ { printf "%.1f GB RAM", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
sqlite_cli="no sqlite3 CLI"
command -v sqlite3 >/dev/null 2>&1 && sqlite_cli="sqlite3 CLI $(sqlite3 --version | awk '{ print $1 }')"
sqlite_lib=$(ldd "$SSHXCTL" 2>/dev/null | awk '/libsqlite3/ { print $3 }')
[ -n "$sqlite_lib" ] && sqlite_lib=" (sshxctl links $(readlink -f "$sqlite_lib" 2>/dev/null || echo "$sqlite_lib"))"
ossh_dir=$(dirname "$SSH_KEYGEN")
if [ -x "$ossh_dir/ssh" ]; then ossh=$("$ossh_dir/ssh" -V 2>&1)
else ossh=$(ssh -V 2>&1) || ossh="ssh -V failed"
fi

echo "sshx host-key benchmark, N = $N hosts"
echo "  machine:    $(nproc) CPUs, $cpu${mem:+, $mem}, $(uname -sr)"
echo "  sqlite:     $sqlite_cli$sqlite_lib"
echo "  openssh:    $ossh ($SSH_KEYGEN)"
echo "  sshxctl:    $SSHXCTL"
echo "  temp dir:   $dir"

# ------------------------------------------------------------------ input

t0=$("$PYTHON" -c 'import time; print(time.time())')
counts=$("$PYTHON" "$dir/gen.py" "$N" "$SEED" "$input" "$dir/pick") || die "generating the input failed"
t1=$("$PYTHON" -c 'import time; print(time.time())')
# shellcheck disable=SC2086 # three numbers, split on purpose
set -- $counts
n22=$1 n2222=$2 nbanner=$3
read -r vhost vtype vkey <"$dir/pick" || die "no host picked"
echo "  input:      $(mb "$input") keyscan text: $n22 hosts on port 22, $n2222 [10.x.y.z]:2222," \
    "$nbanner banner lines; generated in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s (not counted)"
echo "  verified:   $vhost (a port-22 host from the middle of the input)"
echo
row "step" "seconds" "notes"

# ------------------------------------------------------------------ import

# Without an import there is nothing else to measure.
if ! timed import 1 0 0 "$SSHXCTL" --db "$db" hosts import --format keyscan "$input"; then
	exit 1
fi
grep -q "^imported from .*: $N keys pinned ($N new hosts)" "$dir/import.out"
check $? "import reports $N keys pinned ($N new hosts): $(head -n 1 "$dir/import.out")"
t_import=$(median import)
row "hosts import --format keyscan" "$(secs "$t_import")" \
    "$(awk -v n="$N" -v t="$t_import" 'BEGIN { printf "%.0f rows/s", n / t }'), one transaction; database $(mb "$db")"

# ------------------------------------------------------------------ exports

# export_runs LABEL FILE ARGS...: the first run writes FILE, the others write
# a second file that must have the same bytes.
export_runs() {
	e_label=$1 e_file=$2
	shift 2
	timed "$e_label" 1 0 0 "$SSHXCTL" --db "$db" known-hosts export "$@" --out "$e_file" || return 1
	grep -q "wrote $N keys for $N hosts" "$dir/$e_label.err"
	check $? "$e_label reports $N keys for $N hosts: $(head -n 1 "$dir/$e_label.err")"
	e_same=0
	e_i=1
	while [ "$e_i" -lt "$EXPORT_RUNS" ]; do
		rm -f "$e_file.again"
		timed "$e_label" 1 0 0 "$SSHXCTL" --db "$db" known-hosts export "$@" --out "$e_file.again" ||
		    return 1
		cmp -s "$e_file" "$e_file.again" || e_same=1
		rm -f "$e_file.again"
		e_i=$((e_i + 1))
	done
	check "$e_same" "$e_label: $EXPORT_RUNS exports of the same database are byte-identical"
	e_lines=$(wc -l <"$e_file" | tr -d ' ')
	[ "$e_lines" -eq "$N" ]
	check $? "$e_label: $e_lines lines, N = $N"
	return 0
}

export_runs export-plain "$plain"
t_plain=$(median export-plain)
[ -s "$plain" ] || die "no plain export: nothing left to compare with"
row "known-hosts export (median of $EXPORT_RUNS)" "$(secs "$t_plain")" \
    "target < 2 s: $(target "$t_plain" '<' 2); $(mb "$plain")"

export_runs export-hashed "$hashed" --hash
t_hashed=$(median export-hashed)
row "known-hosts export --hash (median of $EXPORT_RUNS)" "$(secs "$t_hashed")" \
    "target < 3 s: $(target "$t_hashed" '<' 3); $(mb "$hashed")"

# ssh-keygen -H rewrites the file in place (keeping FILE.old): a fresh copy
# of the plain export for every run, copied outside the timing.
i=0
while [ "$i" -lt "$EXPORT_RUNS" ]; do
	rm -f "$dir/kh.copy" "$dir/kh.copy.old"
	cp "$plain" "$dir/kh.copy" || die "cannot copy $plain"
	timed keygen-H 1 0 0 "$SSH_KEYGEN" -H -f "$dir/kh.copy" || break
	i=$((i + 1))
done
rm -f "$dir/kh.copy" "$dir/kh.copy.old"
t_keygen_h=$(median keygen-H)
row "ssh-keygen -H, same keys (median of $EXPORT_RUNS)" "$(secs "$t_keygen_h")" \
    "export --hash / ssh-keygen -H = $(ratio "$t_hashed" "$t_keygen_h")"

# ------------------------------------------------------------------ verify

timed verify "$VERIFY_RUNS" 1 0 "$SSHXCTL" --db "$db" hosts verify "$vhost" "$vtype" "$vkey"
check $? "hosts verify exits 0 in all $((VERIFY_RUNS + 1)) runs"
grep -q ": pinned: " "$dir/verify.out"
check $? "hosts verify says pinned: $(head -n 1 "$dir/verify.out")"
t_verify=$(median verify)
row "hosts verify (median of $VERIFY_RUNS)" "$(secs "$t_verify")" \
    "$(awk -v t="$t_verify" 'BEGIN { if (t != "-") printf "%.2f ms", t * 1000 }')"

timed keygen-F "$KEYGEN_F_RUNS" 1 0 "$SSH_KEYGEN" -F "$vhost" -f "$plain"
check $? "ssh-keygen -F exits 0 on the plain export in all $((KEYGEN_F_RUNS + 1)) runs"
grep -qF "$vkey" "$dir/keygen-F.out"
check $? "ssh-keygen -F prints the pinned key of $vhost from the plain export"
t_keygen_f=$(median keygen-F)
r_f=$(ratio "$t_keygen_f" "$t_verify")
r_f_raw=$(awk -v a="$t_keygen_f" -v b="$t_verify" 'BEGIN {
	if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.6f\n", a / b }')
row "ssh-keygen -F, plain (median of $KEYGEN_F_RUNS)" "$(secs "$t_keygen_f")" \
    "ssh-keygen -F / verify = ${r_f}x; target >= 50x: $(target "$r_f_raw" '>=' 50)"

# Sanity: the hashed export holds the same host, as OpenSSH reads it.
if [ -s "$hashed" ]; then
	timed keygen-F-hashed 1 0 0 "$SSH_KEYGEN" -F "$vhost" -f "$hashed"
	check $? "ssh-keygen -F exits 0 on the hashed export"
	grep -qF "$vkey" "$dir/keygen-F-hashed.out"
	check $? "ssh-keygen -F finds the pinned key of $vhost in the hashed export"
	row "ssh-keygen -F, hashed (1 run, for reference)" "$(secs "$(median keygen-F-hashed)")" ""
fi

echo
echo "sanity checks:"
cat "$dir/sanity"

if [ "$failed" -ne 0 ]; then
	echo "$me: some steps failed; their figures measure a failure (see above)" >&2
	exit 1
fi
exit 0

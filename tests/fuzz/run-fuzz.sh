#!/bin/sh
# Runs each libFuzzer harness for FUZZ_SECONDS (default 60) from a copy of its seed corpus and
# prints executions, coverage and corpus size per harness; exits 1 when any harness found a
# crash, a leak or a timeout (the reproducer is kept in FUZZ_OUT, default ./fuzz-out).
# Usage: run-fuzz.sh CORPUS_DIR HARNESS...
set -u
CORPUS=$1
shift
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_OUT=${FUZZ_OUT:-fuzz-out}
status=0
mkdir -p "$FUZZ_OUT"
for h in "$@"; do
	name=$(basename "$h")
	work="$FUZZ_OUT/$name"
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$CORPUS/$name"/* "$work/corpus/" 2>/dev/null
	"$h" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=70000 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
		>"$work/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1 | cut -d' ' -f2)
	units=$(ls "$work/corpus" | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "ok - $name: ${execs:-?} executions in ${FUZZ_SECONDS} s, coverage ${cov:-?}, corpus $units"
	else
		status=1
		echo "not ok - $name: exit $rc after ${execs:-?} executions; reproducer in $work/artifacts"
		grep -E 'ERROR|SUMMARY|==[0-9]+==' "$work/log" | head -n 20
	fi
done
exit "$status"

#!/bin/bash
# Run the integration scenarios (t_*.sh), each under a timeout.
#
#   BUILD=DIR         build directory (default: the one scripts/build.sh main
#                     prints, building it if needed)
#   SCENARIOS="a b"   run only these (names with or without t_ and .sh)
#   SCENARIO_TIMEOUT  seconds per scenario (default 120)
#   SANITIZED=1       ASan/UBSan build: a sanitizer report fails a scenario
#   KEEP_TMP=1        keep each scenario's temp dir
#
# Prints "PASS name" or "FAIL name" per scenario (a failure's log tail goes
# to stderr; full logs in $BUILD/tests/integration/logs), then exactly
# "integration: N passed, M failed".  Exit 1 when any failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

if [ -z "${BUILD:-}" ]; then
	BUILD=$(bash "$top/scripts/build.sh" main) || {
		echo "integration: build failed" >&2
		echo "integration: 0 passed, 1 failed"
		exit 1
	}
fi
BUILD=$(cd "$BUILD" && pwd)
export BUILD SANITIZED=${SANITIZED:-0}

if ! make -C "$BUILD/tests/integration" -s check >"$BUILD/tests/integration/helpers-build.log" 2>&1; then
	echo "integration: cannot build the helper programs:" >&2
	tail -20 "$BUILD/tests/integration/helpers-build.log" >&2
	echo "integration: 0 passed, 1 failed"
	exit 1
fi

logdir=$BUILD/tests/integration/logs
mkdir -p "$logdir"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

want=()
for s in ${SCENARIOS:-}; do
	s=${s%.sh}
	s=${s#t_}
	want+=("t_$s")
done
if [ ${#want[@]} -eq 0 ]; then
	for f in "$here"/t_*.sh; do
		want+=("$(basename "$f" .sh)")
	done
fi

passed=0
failed=0
for name in "${want[@]}"; do
	script=$here/$name.sh
	log=$logdir/$name.log
	if [ ! -f "$script" ]; then
		echo "FAIL $name"
		echo "    no such scenario: $script" >&2
		failed=$((failed + 1))
		continue
	fi
	start=$SECONDS
	timeout -k 10 "${SCENARIO_TIMEOUT:-120}" bash "$script" >"$log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name"
		{
			[ $rc -eq 124 ] && echo "    timed out after ${SCENARIO_TIMEOUT:-120}s"
			echo "    status $rc after $((SECONDS - start))s; log: $log"
			tail -n 40 "$log" | sed 's/^/    /'
		} >&2
		failed=$((failed + 1))
	fi
done
echo "integration: $passed passed, $failed failed"
[ $failed -eq 0 ]

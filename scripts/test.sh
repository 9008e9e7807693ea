#!/bin/bash
# The whole test suite: unit and integration tests on a normal build, the
# same under AddressSanitizer + UndefinedBehaviorSanitizer, a bounded
# libFuzzer run, and make distcheck.  Ends with "N passed, M failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
FUZZ_SECONDS=${FUZZ_SECONDS:-25}
passed=0
failed=0
failures=()

step() {	# step NAME COMMAND...
	local name=$1; shift
	local log="$top/_build/logs/$name.log"
	mkdir -p "$top/_build/logs"
	echo "== $name"
	local t0=$SECONDS
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		echo "   ok ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "   FAILED ($((SECONDS - t0)) s); last lines of $log:"
		tail -n 40 "$log" | sed 's/^/   | /'
	fi
}

unit() {	# unit BUILDDIR
	make -C "$1/tests/unit" -j"$(nproc)" check || {
		cat "$1"/tests/unit/test-suite.log; return 1; }
}

bash scripts/deps.sh || { echo "dependency installation failed"; exit 1; }
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }

step build bash scripts/build.sh main
B="$top/_build/main"
step unit unit "$B"
step integration env BUILD="$B" bash tests/integration/run.sh

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step build-sanitizers bash scripts/build.sh sanitizers --enable-sanitizers
S="$top/_build/sanitizers"
step unit-sanitizers unit "$S"
step integration-sanitizers env BUILD="$S" SANITIZED=1 bash tests/integration/run.sh
unset ASAN_OPTIONS UBSAN_OPTIONS

step build-fuzz bash scripts/build.sh fuzz --enable-fuzzing --disable-shared \
	CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined"
step fuzz make -C "$top/_build/fuzz/tests/fuzz" fuzz-run FUZZ_SECONDS="$FUZZ_SECONDS"

step distcheck make -C "$B" -j"$(nproc)" distcheck \
	DISTCHECK_CONFIGURE_FLAGS=--quiet

echo
[ $failed -gt 0 ] && echo "failed steps: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

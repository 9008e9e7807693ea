#!/bin/bash
# The whole test suite: unit and integration tests on a normal build, the
# same under AddressSanitizer + UndefinedBehaviorSanitizer, a bounded
# libFuzzer run, make distcheck, and the Windows cross build with its
# tests under wine.  Ends with "N passed, M failed".
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

# The Windows dependencies are cross-built from Debian sources once and
# cached (windows/deps.sh); on a new machine that takes about 20 minutes,
# so it starts now, at the lowest priority, on what the Linux steps leave
# of the CPU.
mkdir -p "$top/_build/logs"
nice -n 19 bash windows/deps.sh >"$top/_build/logs/windows-deps-build.log" 2>&1 &
windows_deps_pid=$!
windows_deps() {
	wait "$windows_deps_pid" && return 0
	tail -n 40 "$top/_build/logs/windows-deps-build.log"
	return 1
}

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

# Windows: the mingw-w64 build, then the programs under wine against Linux
# servers on loopback (tests/windows/; the Linux tlspool-ctl writes policy).
step windows-deps windows_deps
step windows-build bash windows/build.sh
W="$top/_build/win64"
export DAEMON_EXE="$W/windows/tlspool-daemon.exe" CTL="$B/tools/tlspool-ctl"
step windows-client bash tests/windows/run.sh "$W/stage"
step windows-daemon bash tests/windows/t_daemon.sh
step windows-dane bash tests/windows/t_dane.sh
step windows-gdir bash tests/windows/t_gdir.sh
step windows-kdh env BUILD="$B" bash tests/windows/t_kdh.sh
step windows-ctl bash tests/windows/t_ctl.sh
step windows-installer bash tests/windows/t_installer.sh --build "$W/stage"

echo
[ $failed -gt 0 ] && echo "failed steps: ${failures[*]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]

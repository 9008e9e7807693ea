#!/bin/bash
# bench/e2e.sh -- the whole distribution chain, timed: the set-up of
# scripts/e2e-demo.sh (slapd, two cranks, shaft, pulley, tlspool-daemon,
# gnutls-serv on loopback, scripts/e2e-lib.sh), then BENCH_E2E_CHANGES
# changes (default 10) of crank1's rule for .demo.test, alternating
# between "IT&P&" (refuses www.demo.test: its key is not pinned) and
# "IT&" (accepts it).  For each change: from the start of `crank apply`
# to the end of the first handshake through the daemon whose outcome
# follows the new rule (connections are made back to back until one
# does), and the apply alone.  Prints each figure, the median and the
# maximum (target: under 2 s on loopback).
# Not a test: it prints figures and never fails because of a timing.
# usage: bench/e2e.sh [BUILD_DIR]  (default _build/main, built if missing)
set -euo pipefail
CHANGES=${BENCH_E2E_CHANGES:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
SHLIB_WHO=bench-e2e
. "$top/scripts/shlib.sh"
. "$top/scripts/slapd-lib.sh"
. "$top/scripts/e2e-lib.sh"
if [ $# -ge 1 ]; then
	B=$(cd "$1" && pwd)
else
	B=$(bash "$top/scripts/build.sh" main)
fi
T=$(mktemp -d /tmp/tlspool-bench-e2e.XXXXXX)
pids=()
trap e2e_cleanup EXIT

e2e_start
e2e_apply 1
e2e_apply 2
e2e_start_shaft
e2e_start_pulley
e2e_until_follows accepted www.demo.test "$(e2e_ms)" >/dev/null ||
	e2e_die "www.demo.test is not accepted under the first policy"

echo "== e2e: crank apply -> shaft -> pulley -> first obeying handshake ($CHANGES changes)"
all=() applies=()
for i in $(seq 1 "$CHANGES"); do
	if [ $((i % 2)) = 1 ]; then ex='IT&P&'; want=refused; else ex='IT&'; want=accepted; fi
	e2e_set_valexp 1 .demo.test "$ex"
	t0=$(e2e_ms)
	e2e_apply 1
	ta=$(( $(e2e_ms) - t0 ))
	r=$(e2e_until_follows "$want" www.demo.test "$t0") ||
		e2e_die "change $i: no $want connection within 30 s"
	printf '  change %2d: valexp %-6s -> %-8s after %5s ms (apply %3s ms, %s connections)\n' \
		"$i" "$ex" "$want" "${r% *}" "$ta" "${r#* }"
	all+=("${r% *}")
	applies+=("$ta")
	sleep 0.2
done
max=$(printf '%s\n' "${all[@]}" | sort -n | tail -n 1)
echo "e2e_delay_ms median=$(median "${all[@]}") max=$max apply_ms_median=$(median "${applies[@]}") changes=$CHANGES target=2000"

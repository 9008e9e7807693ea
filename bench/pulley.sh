#!/bin/bash
# bench/pulley.sh -- pulley figures against a private slapd (syncprov):
#   1. the time to apply an initial refresh of BENCH_PULLEY_ENTRIES signed
#      entries (default 100,000; loaded into slapd offline with slapadd)
#      into a policy environment ("pulley -1", start to exit);
#   2. the delay from an LDAP modify (ldapmodify returns) to the change
#      being in the policy databases, BENCH_PULLEY_MODS times (median and
#      maximum; target: under one second), polled with tlspool-ctl.
# Not a test: it prints figures and never fails because of a timing.
# Runs on its own: BUILD=_build/NAME bash bench/pulley.sh (default: the
# build scripts/build.sh main makes).
set -u
N=${BENCH_PULLEY_ENTRIES:-100000}
MODS=${BENCH_PULLEY_MODS:-20}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/integration/lib.sh"
. "$IT_DIR/slapd.sh"
[ -x "$PULLEY_BIN" ] || fail "$PULLEY_BIN is not built"

"$PULLEY_LDIF" -g "$T/sign.seed" >"$T/sign.pub" || fail "pulley_ldif -g"
"$PULLEY_LDIF" -s "$T/sign.seed" -n "$N" "$(disclose_dn "@b%d.example.test")" \
	disclose "@b%d.example.test" "id%d@example.test" >"$T/bulk.ldif" ||
	fail "pulley_ldif -n"
"$PULLEY_LDIF" -s "$T/sign.seed" "$(policy_dn @mod.example.test client)" \
	policy @mod.example.test client 'IT&' >>"$T/bulk.ldif"
t0=$(now_ms)
SLAPD_PRELOAD=$T/bulk.ldif start_slapd
echo "bench: slapd loaded $N entries offline in $(($(now_ms) - t0)) ms"
write_pulley_conf "$T/db" "log_level notice"

t0=$(now_ms)
"$PULLEY_BIN" -1 -c "$T/pulley.conf" >"$T/once.log" 2>&1 || fail "pulley -1: $(tail -3 "$T/once.log")"
ms=$(($(now_ms) - t0))
n=$("$CTL_BIN" -d "$T/db" disclose list 2>/dev/null | grep -c "^disclose @b")
[ "$n" -eq "$N" ] || fail "pulley -1 applied $n of $N entries"
echo "bench: initial refresh of $N signed entries applied in $ms ms" \
	"($((N * 1000 / (ms > 0 ? ms : 1))) entries/s)"

start_pulley
_has() { "$CTL_BIN" -d "$T/db" policy get @mod.example.test client 2>/dev/null | grep -q -F -- "$1"; }
delays=()
for i in $(seq 1 "$MODS"); do
	want="I$(printf 'T&%.0s' $(seq 1 "$i"))"
	"$PULLEY_LDIF" -s "$T/sign.seed" -m "$(policy_dn @mod.example.test client)" \
		policy @mod.example.test client "$want" >"$T/mod.ldif"
	ldap_modify "$T/mod.ldif"
	t0=$(now_ms)
	wait_until 30 _has "$want" || fail "modify $i did not arrive"
	delays+=($(($(now_ms) - t0)))
done
sorted=$(printf '%s\n' "${delays[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(((MODS + 1) / 2))p")
max=$(echo "$sorted" | tail -1)
echo "bench: LDAP modify -> policy database: median $median ms, max $max ms" \
	"over $MODS modifies (polled every 50 ms with tlspool-ctl; target < 1000 ms)"
stop_pulley
pass

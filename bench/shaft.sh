#!/bin/bash
# bench/shaft.sh -- shaft figures against a private slapd (syncprov):
# BENCH_SHAFT_ENTRIES signed entries (default 100,000) in 3 crank
# subtrees, loaded offline with slapadd: crank 1 and crank 2 write the
# same third of the keys (every one a conflict, crank 2 wins), crank 3
# another third.
#   1. "shaft -1" from scratch: refresh of the 3 subtrees (verifying
#      every signature and record), the merge itself, and writing the
#      merged subtree (every entry added);
#   2. "shaft -1" again from the saved cookies, nothing changed: state
#      files read, the merge, nothing written;
# slapd runs with olcDbNoSync unless BENCH_SHAFT_SYNC=1.
#   3. a running shaft: one LDAP modify in crank 2 until the merged entry
#      changed, BENCH_SHAFT_MODS times (median, maximum).
# Not a test: it prints figures and never fails because of a timing.
# Runs on its own: BUILD=_build/NAME bash bench/shaft.sh
set -u
N=${BENCH_SHAFT_ENTRIES:-100000}
MODS=${BENCH_SHAFT_MODS:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/integration/lib.sh"
. "$IT_DIR/slapd.sh"
. "$IT_DIR/shaft.sh"
[ -x "$SHAFT_BIN" ] || fail "$SHAFT_BIN is not built"

n1=$(((N + 2) / 3))
n2=$(((N + 1) / 3))
n3=$((N / 3))
for i in 1 2 3; do "$PULLEY_LDIF" -g "$T/crank$i.seed" >"$T/crank$i.pub" || fail "pulley_ldif -g"; done
"$PULLEY_LDIF" -g "$T/shaft.seed" >"$T/shaft.pub" || fail "pulley_ldif -g"
chmod 600 "$T/shaft.seed"
{
	for i in 1 2 3; do
		printf 'dn: ou=crank%s,%s\nobjectClass: organizationalUnit\nou: crank%s\n\n' "$i" "$SUFFIX" "$i"
	done
	printf 'dn: %s\nobjectClass: organizationalUnit\nou: merged\n\n' "$OUT_BASE"
	crank_ldif 1 -n "$n1" "tlsPoolSelector=@b%d.example.test,$(crank_base 1)" \
		disclose "@b%d.example.test" "low%d@example.test" || exit 1
	crank_ldif 2 -n "$n2" "tlsPoolSelector=@b%d.example.test,$(crank_base 2)" \
		disclose "@b%d.example.test" "high%d@example.test" || exit 1
	crank_ldif 3 -n "$n3" "tlsPoolSelector=@c%d.example.test,$(crank_base 3)" \
		disclose "@c%d.example.test" "c%d@example.test" || exit 1
} >"$T/bulk.ldif" || fail "pulley_ldif -n"
t0=$(now_ms)
SLAPD_PRELOAD=$T/bulk.ldif start_slapd
echo "bench: slapd loaded $N entries ($n1 + $n2 + $n3) offline in $(($(now_ms) - t0)) ms"
# slapd's mdb syncs the disk once per write operation (some ms each
# here), which would make the figures the disk's, not shaft's
if [ "${BENCH_SHAFT_SYNC:-0}" != 1 ]; then
	slapd_config "dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcDbNoSync
olcDbNoSync: TRUE"
	echo "bench: slapd's database runs with olcDbNoSync TRUE (BENCH_SHAFT_SYNC=1: a disk sync per write)"
fi
printf '%s\n' "$ROOTPW" >"$T/rootpw"
chmod 600 "$T/rootpw"
mkdir -p "$T/shaft.state"
write_shaft_conf "c1 10 $T/crank1.pub $(crank_base 1)" "c2 20 $T/crank2.pub $(crank_base 2)" \
	"c3 30 $T/crank3.pub $(crank_base 3)" -- "log_level ${BENCH_SHAFT_LOG:-notice}"

figures() {	# figures LABEL TOTAL-MS: from the log lines after the mark
	local merge write
	merge=$(snews | sed -n 's/.*shaft: merged \([0-9]*\) entries from 3 sources into \([0-9]*\) in \([0-9.]*\) ms/\1 in, \2 out, merge \3 ms/p' | tail -1)
	write=$(snews | sed -n 's/.*output written: \(.*\) in \([0-9.]*\) ms/\1; write \2 ms/p' | tail -1)
	echo "bench: $1: total $2 ms; $merge; $write"
}

smark
t0=$(now_ms)
shaft_once
figures "shaft -1 from scratch (refresh + verify + merge + write)" $(($(now_ms) - t0))
n=$(ldapsearch -LLL -x -H "$SLAPD_URI" -b "$OUT_BASE" -s one "(objectClass=*)" 1.1 2>/dev/null | grep -c '^dn:')
[ "$n" -eq "$((n1 > n2 ? n1 + n3 : n2 + n3))" ] || fail "merged subtree holds $n entries"

smark
t0=$(now_ms)
shaft_once
figures "shaft -1 from the saved cookies, nothing changed" $(($(now_ms) - t0))

start_shaft
_has() {
	ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -s base \
		-b "tlsPoolSelector=@b7.example.test,$OUT_BASE" tlsPoolPolicyRecord 2>/dev/null |
		sed -n 's/^tlsPoolPolicyRecord:: //p' | base64 -d 2>/dev/null | grep -q -a -F -- "$1"
}
delays=()
for i in $(seq 1 "$MODS"); do
	want="mod$i@example.test"
	crank_ldif 2 -m "tlsPoolSelector=@b7.example.test,$(crank_base 2)" \
		disclose @b7.example.test "$want" >"$T/mod.ldif"
	ldap_modify "$T/mod.ldif"
	t0=$(now_ms)
	wait_until 60 _has "$want" || fail "modify $i did not arrive"
	delays+=($(($(now_ms) - t0)))
done
sorted=$(printf '%s\n' "${delays[@]}" | sort -n)
echo "bench: running shaft, LDAP modify in a crank -> merged entry rewritten:" \
	"median $(echo "$sorted" | sed -n "$(((MODS + 1) / 2))p") ms," \
	"max $(echo "$sorted" | tail -1) ms over $MODS modifies (polled with ldapsearch -s base)"
snews | sed -n 's/.*\(merged [0-9]* entries.*\)/\1/p' | tail -1 | sed 's/^/bench: last incremental /'
stop_shaft
pass

#!/bin/bash
# The policy distribution chain end to end, on loopback:
#   slapd (private, temp dir, random port; each crank may write only its
#   own subtree) <- crank1 and crank2 publish signed policy with
#   `crank apply` -> shaft merges both subtrees into ou=merged, signed
#   with its own key -> pulley verifies shaft's key and writes the
#   daemon's policy databases -> tlspool-daemon decides real connections
#   (tlstunnel through the daemon to gnutls-serv).
# Then one rule in crank1's source changes, `crank apply` publishes it,
# and the next connection follows it; the delay from the start of the
# apply to the first handshake that obeys the new rule is measured.
#
# usage: scripts/e2e-demo.sh [BUILD_DIR]   (default: scripts/build.sh main)
# Stops everything it started and removes its temp dir (E2E_LOG_DIR=DIR:
# the logs are copied there first).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SHLIB_WHO=e2e-demo
. "$top/scripts/shlib.sh"
. "$top/scripts/slapd-lib.sh"
. "$top/scripts/e2e-lib.sh"
if [ $# -ge 1 ]; then
	B=$(cd "$1" && pwd)
else
	B=$(bash "$top/scripts/build.sh" main)
fi
T=$(mktemp -d /tmp/tlspool-e2e.XXXXXX)
pids=()
trap e2e_cleanup EXIT

show() { sed 's/^/    /' "$@"; }
# outcome NAME REMOTEID: one connection, printed with the daemon's reason
# on refusal.
outcome() {
	local m
	m=$(e2e_mark "$T/daemon.log")
	if e2e_conn "$1" "$2"; then
		echo "    connection to $2: accepted (echoed \"$(cat "$T/conn/$1.out")\")," \
			"daemon: rule $(e2e_rule "$2" accepted "$m")"
	else
		echo "    connection to $2: refused; daemon: $(e2e_reason "$2" "$m")"
	fi
}

echo "== starting slapd, tlspool-daemon and gnutls-serv on 127.0.0.1"
echo "    working in $T (removed at the end)"
e2e_start
echo "    slapd $E2E_LDAP_URI, suffix $E2E_SUFFIX; crank1 may write only"
echo "    $(e2e_crank_base 1), crank2 only $(e2e_crank_base 2), shaft only $E2E_MERGED"
echo "    gnutls-serv on port $E2E_SERV_PORT, certificate for www.demo.test and"
echo "    mail.demo.test from a demo CA made now; the daemon trusts that CA only"

echo
echo "== 1. two cranks author policy, each signs with its own Ed25519 key"
for i in 1 2; do
	echo "  crank$i (key $(cut -c1-16 "$T/crank$i/sign.pub")...) source:"
	grep -v '^#' "$T/crank$i/src/rules.crank" | show
	e2e_apply "$i"
	echo "  crank$i apply:"
	show "$T/crank$i/apply.out"
done

# the directory's ACLs: crank2's account cannot write crank1's subtree
sed "s|^ldap_base .*|ldap_base $(e2e_crank_base 1)|" "$T/crank2/crank.conf" >"$T/crank2/wrong.conf"
if "$B/crank/crank" apply -c "$T/crank2/wrong.conf" "$T/crank2/src" >"$T/crank2/wrong.out" 2>&1; then
	e2e_die "crank2 could write crank1's subtree: $(cat "$T/crank2/wrong.out")"
fi
echo "  crank2 trying to publish into crank1's subtree (the directory refuses):"
grep -E "FAILED|^apply:" "$T/crank2/wrong.out" | show

echo
echo "== 2. shaft merges the crank subtrees (crank2 precedence 20 over crank1 10)"
e2e_start_shaft
grep -E "shaft: (merged|output written)" "$T/shaft.log" | tail -n 2 | sed 's/^.*shaft: /    shaft: /'
echo "  $E2E_MERGED now holds (signed by shaft, key $(cut -c1-16 "$T/shaft/sign.pub")...):"
e2e_merged | show
echo "  (crank1's rule for mail.demo.test is shadowed by crank2's, which has precedence)"

echo
echo "== 3. pulley (trusting shaft's key only) delivers into the daemon's database"
e2e_start_pulley
grep -E "pulley: .*(refresh done|batch committed)" "$T/pulley.log" | tail -n 2 | sed 's/^.*pulley: /    pulley: /'
"$B/tools/tlspool-ctl" -c "$T/daemon/tlspool.conf" policy list >"$T/policy.list" 2>&1 ||
	e2e_die "tlspool-ctl policy list failed: $(cat "$T/policy.list")"
echo "  tlspool-ctl policy list:"
show "$T/policy.list"

echo
echo "== 4. connections through the daemon, decided by that policy"
outcome www1 www.demo.test
outcome mail1 mail.demo.test

echo
echo "== 5. crank1 changes one rule: .demo.test now also needs a pinned key (P)"
e2e_set_valexp 1 .demo.test 'IT&P&'
"$B/crank/crank" plan -c "$T/crank1/crank.conf" "$T/crank1/src" >"$T/crank1/plan.out" 2>&1 ||
	e2e_die "crank plan failed: $(tail -3 "$T/crank1/plan.out")"
echo "  crank1 plan:"
show "$T/crank1/plan.out"
pm=$(e2e_mark "$T/pulley.log")
sm=$(e2e_mark "$T/shaft.log")
dm=$(e2e_mark "$T/daemon.log")
t0=$(e2e_ms)
e2e_apply 1
echo "  crank1 apply:"
show "$T/crank1/apply.out"
r=$(e2e_until_follows refused www.demo.test "$t0") ||
	e2e_die "no connection to www.demo.test was refused within 30 s"
tail -c +$((sm + 1)) "$T/shaft.log" | grep -E "shaft: output written" | head -n 1 |
	sed 's/^.*shaft: /    shaft: /'
tail -c +$((pm + 1)) "$T/pulley.log" | grep -E "batch committed" | tail -n 1 |
	sed 's/^.*pulley: /    pulley: /'
"$B/tools/tlspool-ctl" -c "$T/daemon/tlspool.conf" policy list >"$T/policy.list" 2>&1 ||
	e2e_die "tlspool-ctl policy list failed: $(cat "$T/policy.list")"
echo "    daemon's database now: $(grep '^policy \.demo\.test client' "$T/policy.list")"
echo "    connection to www.demo.test: refused; daemon: $(e2e_reason www.demo.test "$dm")"
echo "    delay from crank apply to the first obeying handshake: ${r% *} ms" \
	"(${r#* } connection(s) tried)"
outcome mail2 mail.demo.test

echo
echo "e2e-demo: done"

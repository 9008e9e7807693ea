#!/bin/bash
# The distribution chain end to end: two crank subtrees -> shaft ->
# ou=merged (signed by shaft) -> pulley (verifying shaft's key) -> the
# daemon's policy databases -> a real handshake.  A rule in the lower
# crank refuses localhost; the higher crank adds a rule that lets it
# through, and the next connection is accepted; the higher crank drops
# it, and the next one is refused again by the lower crank's rule.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/slapd.sh"
. "$IT_DIR/shaft.sh"

[ -x "$SHAFT_BIN" ] || fail "$SHAFT_BIN is not built"
[ -x "$PULLEY_BIN" ] || fail "$PULLEY_BIN is not built"
start_policy_pool
pol() { echo "tlsPoolSelector=$2+tlsPoolSupportedRole=$3,$(crank_base "$1")"; }

start_slapd
shaft_setup 2
write_shaft_conf "c1 10 $T/crank1.pub $(crank_base 1)" "c2 20 $T/crank2.pub $(crank_base 2)"
# pulley follows shaft's output and trusts shaft's key only
cp "$T/shaft.seed" "$T/sign.seed"
cp "$T/shaft.pub" "$T/sign.pub"
write_pulley_conf "$DBENV" "ldap_base $OUT_BASE"
accepted before "no rule yet"

step "crank 1 refuses localhost: shaft merges, pulley delivers, the daemon refuses"
crank_ldif 1 "$(pol 1 localhost client)" policy localhost client Q >"$T/c1.ldif"
ldap_add "$T/c1.ldif"
start_shaft
start_pulley
wait_ctl "policy list" "^policy localhost client .*Q" "crank 1's rule"
refused q "crank 1's rule Q" "refused client role.*rule localhost: validation Q failed"

step "crank 2 (higher precedence) lets localhost through: the next connection follows"
smark
crank_ldif 2 "$(pol 2 localhost client)" policy localhost client 'IT&' >"$T/c2.ldif"
ldap_add "$T/c2.ldif"
wait_merge "crank 2's rule"
wait_ctl "policy list" "^policy localhost client .*IT&" "crank 2's rule"
accepted it "crank 2's rule IT&"

step "a change crank 1 makes now is shadowed by crank 2"
smark
crank_ldif 1 -m "$(pol 1 localhost client)" policy localhost client 'QT&' >"$T/c1m.ldif"
ldap_modify "$T/c1m.ldif"
expect_shaft "output written: 0 added, 0 modified, 0 deleted, 1 unchanged" "a shadowed change"
accepted it2 "still crank 2's rule"

step "crank 2 drops its rule: crank 1's rule decides again"
smark
ldap_delete "$(pol 2 localhost client)"
wait_merge "crank 2's delete"
wait_ctl "policy list" "^policy localhost client .*QT&" "crank 1's rule back"
refused qq "crank 1's rule QT&" "refused client role.*rule localhost: validation QT& failed"
stop_pulley
stop_shaft
pass

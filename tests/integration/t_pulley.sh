#!/bin/bash
# Pulley against a real slapd (syncprov) into the daemon's policy
# environment: an initial refresh of 1,000 signed entries; a policy
# entry delivered over LDAP decides a real handshake (refused with the
# rule's reason), a modify of it lets the next one through, a delete
# removes it; tampered and unsigned entries are refused with DN and
# reason, a malformed record with its key and reason, while a good entry
# in the same change applies; with slapd down the policy stays
# and pulley reconnects when it is back.  Records are binary values with
# NUL bytes throughout.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/slapd.sh"

[ -x "$PULLEY_BIN" ] || fail "$PULLEY_BIN is not built"
N=${PULLEY_ENTRIES:-1000}

start_policy_pool

start_slapd
step "load $N signed disclose entries and a rule refusing localhost"
write_pulley_conf "$DBENV"
{
	"$PULLEY_LDIF" -s "$T/sign.seed" -n "$N" "$(disclose_dn "@host%d.example.test")" \
		disclose "@host%d.example.test" "id%d@example.test" || exit 1
	"$PULLEY_LDIF" -s "$T/sign.seed" "$(policy_dn localhost client)" \
		policy localhost client Q
} >"$T/initial.ldif" || fail "pulley_ldif failed"
ldap_add "$T/initial.ldif"
accepted before "no rule yet"

step "pulley -t checks config, script and backends"
"$PULLEY_BIN" -t -c "$T/pulley.conf" >"$T/check.out" 2>&1 || fail "pulley -t: $(cat "$T/check.out")"
sed 's/db="policy"/db="polcy"/' "$TOP/etc/pulley/pool.ps" >"$T/bad.ps"
sed "s|^script .*|script $T/bad.ps|" "$T/pulley.conf" >"$T/bad.conf"
"$PULLEY_BIN" -t -c "$T/bad.conf" >"$T/check-bad.out" 2>&1 && fail "pulley -t accepted db=polcy"
grep -q "db=polcy: not localid, disclose, trust or policy" "$T/check-bad.out" &&
	grep -q "driver 4: backend pool refused its parameters" "$T/check-bad.out" ||
	fail "pulley -t: $(cat "$T/check-bad.out")"
printf 'bogus line\n' >"$T/bad2.ps"
sed "s|^script .*|script $T/bad2.ps|" "$T/pulley.conf" >"$T/bad2.conf"
"$PULLEY_BIN" -t -c "$T/bad2.conf" >"$T/check-bad2.out" 2>&1 && fail "pulley -t accepted a bad script"
grep -q "$T/bad2.ps:1:[0-9]*: " "$T/check-bad2.out" || fail "pulley -t: no file:line:col: $(cat "$T/check-bad2.out")"
printf 'ldap_uri ldap://x/\nnonsense 1\n' >"$T/bad3.conf"
"$PULLEY_BIN" -t -c "$T/bad3.conf" >"$T/check-bad3.out" 2>&1 && fail "pulley -t accepted a bad config"
grep -q "bad3.conf:2: unknown key 'nonsense'" "$T/check-bad3.out" || fail "pulley -t: $(cat "$T/check-bad3.out")"

step "pulley's initial refresh reaches the daemon's databases"
start_pulley
grep -q "sync with .* from scratch" "$T/pulley.log" || fail "first start did not sync from scratch"
wait_ctl_count "disclose list" "^disclose @host[0-9]+\.example\.test " "$N" "initial refresh"
wait_ctl "policy list" "^policy localhost client .*Q" "the refused rule"
ctl_out disclose get @host777.example.test
grep -q "id777@example.test" "$T/ctl.out" || fail "disclose @host777: $(cat "$T/ctl.out")"

step "binary values: the record from LDAP holds NUL bytes and arrives whole"
ldapsearch -x -LLL -H "$SLAPD_URI" -b "$(policy_dn localhost client)" -s base \
	tlsPoolPolicyRecord >"$T/rec.ldif" || fail "ldapsearch"
sed -n 's/^tlsPoolPolicyRecord:: //p' "$T/rec.ldif" | base64 -d >"$T/rec.bin"
nuls=$(tr -cd '\000' <"$T/rec.bin" | wc -c)
[ "$nuls" -gt 0 ] || fail "the record holds no NUL byte: $(od -An -tx1 "$T/rec.bin")"
echo "    record of $(stat -c %s "$T/rec.bin") bytes, $nuls of them NUL"
ctl_out policy get localhost client
grep -q "Q" "$T/ctl.out" || fail "policy get: $(cat "$T/ctl.out")"

step "the rule from LDAP decides a real handshake"
refused q "rule Q from LDAP" "refused client role.*rule localhost: validation Q failed: Q: "

step "modify the entry over LDAP: the next handshake is accepted"
"$PULLEY_LDIF" -s "$T/sign.seed" -m "$(policy_dn localhost client)" \
	policy localhost client 'IT&' >"$T/mod.ldif" || fail "pulley_ldif -m"
ldap_modify "$T/mod.ldif"
wait_ctl "policy list" "^policy localhost client .*IT&" "the modified rule"
accepted it "rule IT& from LDAP"

step "tampered, unsigned and malformed entries refused with the reason; a good one applies"
pmark
{
	"$PULLEY_LDIF" -s "$T/sign.seed" -T "$(policy_dn localhost server)" \
		policy localhost server Q
	"$PULLEY_LDIF" -s "$T/sign.seed" "$(disclose_dn @good.example.test)" \
		disclose @good.example.test good@example.test
	"$PULLEY_LDIF" "$(disclose_dn @unsigned.example.test)" \
		disclose @unsigned.example.test u@example.test
	"$PULLEY_LDIF" -s "$T/sign.seed" -J "$(policy_dn @junk.example.test client)" \
		policy @junk.example.test client Q
} >"$T/mixed.ldif"
ldap_add "$T/mixed.ldif"
wait_ctl "disclose list" "^disclose @good\.example\.test " "the good entry"
expect_pulley "entry tlsPoolSelector=localhost\+tlsPoolSupportedRole=server,ou=policy,$SUFFIX refused, not applied: signature does not verify" \
	"the tampered entry"
expect_pulley "entry tlsPoolSelector=@unsigned\.example\.test,ou=policy,$SUFFIX refused, not applied: no tlsPoolSignature" \
	"the unsigned entry"
expect_pulley "policy '@junk\.example\.test client': record refused, skipped: .*\(entry tlsPoolSelector=@junk\.example\.test\+tlsPoolSupportedRole=client,ou=policy,$SUFFIX\)" \
	"the malformed (but signed) entry"
ctl_out policy list
grep -q "^policy localhost server" "$T/ctl.out" && fail "the tampered rule was applied"
grep -q "^policy @junk" "$T/ctl.out" && fail "the malformed rule was applied"
ctl_out disclose list
grep -q "unsigned" "$T/ctl.out" && fail "the unsigned entry was applied"
pnews | grep "refused" | sed 's/^/    /'

step "delete over LDAP: the rule disappears"
ldap_delete "$(policy_dn localhost client)"
ldap_delete "$(disclose_dn @host5.example.test)"
wait_ctl_gone "policy list" "^policy localhost client" "the deleted rule"
wait_ctl_gone "disclose list" "^disclose @host5\.example\.test " "the deleted disclose entry"
accepted gone "rule deleted"

step "slapd down: the policy stays, pulley retries and reconnects"
"$PULLEY_LDIF" -s "$T/sign.seed" "$(policy_dn localhost client)" \
	policy localhost client Q >"$T/q.ldif"
ldap_add "$T/q.ldif"
wait_ctl "policy list" "^policy localhost client .*Q" "the rule before slapd stops"
pmark
stop_slapd
expect_pulley "connection to .* lost .*the last good policy stays in force" "slapd stopped"
expect_pulley "retrying in" "back-off"
refused down "slapd down, rule kept" "rule localhost: validation Q failed"
ctl_out disclose list
[ "$(grep -c "^disclose @host" "$T/ctl.out")" -eq $((N - 1)) ] ||
	fail "slapd down: the disclose entries changed"
restart_slapd
expect_pulley "sync with .* from the saved cookie" "reconnect"
ldap_delete "$(policy_dn localhost client)"
wait_ctl_gone "policy list" "^policy localhost client" "a delete after the reconnect"
accepted back "after the reconnect"
alive "$PULLEY_PID" || fail "pulley died"
stop_pulley
grep -E "stopping \(" "$T/pulley.log" | tail -1 | sed 's/^/    /'
pass

#!/bin/bash
# Pulley restarts: resuming from the saved cookie with changes made while
# it was stopped (deletes arrive as a syncIdSet), after slapd itself
# restarted (deletes only through the present phase), after slapd was
# SIGKILLed right after a delete; a directory restored from an older
# backup refuses the cookie and a changed script forces a full resync by
# reset (entries gone meanwhile disappear); a batch that one backend
# cannot prepare is rolled back in every backend (policy and cookie
# unchanged) until the cause is gone; a join across two entries reaches a
# driver as add and del of the pair.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/slapd.sh"

[ -x "$PULLEY_BIN" ] || fail "$PULLEY_BIN is not built"
start_daemon
DBENV=$T/daemon.state/db
start_slapd
write_pulley_conf "$DBENV"

sel() { echo "@h$1.example.test"; }
add_disclose() {	# add_disclose N ID [-m]
	"$PULLEY_LDIF" -s "$T/sign.seed" ${3:-} "$(disclose_dn "$(sel "$1")")" \
		disclose "$(sel "$1")" "$2"
}
count_is() { wait_ctl_count "disclose list" "^disclose @h[0-9]+\.example\.test " "$1" "$2"; }

step "20 entries, first sync"
for i in $(seq 1 20); do add_disclose "$i" "id$i@example.test"; done >"$T/a.ldif"
ldap_add "$T/a.ldif"
start_pulley
count_is 20 "first sync"

step "changes while pulley is stopped: resumed from the cookie"
stop_pulley
ldap_delete "$(disclose_dn "$(sel 1)")"
ldap_delete "$(disclose_dn "$(sel 2)")"
add_disclose 3 "new3@example.test" -m >"$T/m3.ldif"
ldap_modify "$T/m3.ldif"
add_disclose 21 "id21@example.test" >"$T/a21.ldif"
ldap_add "$T/a21.ldif"
pmark
start_pulley
pnews | grep -q "from the saved cookie" || fail "pulley did not resume from its cookie"
count_is 19 "resume"
wait_ctl_gone "disclose list" "^disclose @h[12]\.example\.test " "deleted while stopped"
ctl_out disclose get "$(sel 3)"
grep -q "new3@example.test" "$T/ctl.out" || fail "modified while stopped: $(cat "$T/ctl.out")"
grep -q "id3@example.test" "$T/ctl.out" && fail "the old value of @h3 stayed"
wait_ctl "disclose list" "^disclose @h21\.example\.test " "added while stopped"

step "a delete while pulley is stopped, then slapd restarts: the present phase"
stop_pulley
ldap_delete "$(disclose_dn "$(sel 4)")"
restart_slapd
pmark
start_pulley
pnews | grep -q "from the saved cookie" || fail "pulley did not resume from its cookie"
wait_ctl_gone "disclose list" "^disclose @h4\.example\.test " "deleted before slapd restarted"
count_is 18 "present phase"
expect_pulley "present phase: 1 entries gone upstream" "the present phase named the gone entry"
pnews | grep -E "present phase|refresh done" | sed 's/^/    /'

step "a delete while pulley is stopped, then slapd is SIGKILLed: still applied"
stop_pulley
ldap_delete "$(disclose_dn "$(sel 5)")"
stop_slapd -9
restart_slapd
start_pulley
wait_ctl_gone "disclose list" "^disclose @h5\.example\.test " "delete before the kill"
count_is 17 "after the kill"

step "slapd SIGKILLed under a running pulley: it reconnects and goes on"
pmark
stop_slapd -9
expect_pulley "connection to .* lost" "the kill"
restart_slapd
expect_pulley "sync with .* from the saved cookie" "reconnect after the kill"
ldap_delete "$(disclose_dn "$(sel 6)")"
wait_ctl_gone "disclose list" "^disclose @h6\.example\.test " "a delete after the kill"
count_is 16 "after the reconnect"
alive "$PULLEY_PID" || fail "pulley died"

step "the directory restored from an older backup: the server asks for a reset"
stop_pulley
stop_slapd
cp -a "$SLAPD_DIR/data" "$T/slapd-backup"
_run_slapd || fail "slapd did not start"
add_disclose 40 "id40@example.test" >"$T/a40.ldif"
ldap_add "$T/a40.ldif"
start_pulley
wait_ctl "disclose list" "^disclose @h40\.example\.test " "added after the backup"
stop_pulley
stop_slapd
rm -rf "$SLAPD_DIR/data"
cp -a "$T/slapd-backup" "$SLAPD_DIR/data"
_run_slapd || fail "slapd did not start on the backup"
pmark
start_pulley
expect_pulley "the server cannot resume from the cookie \(.*\): full resync by reset" "refresh required"
pnews | grep -q "from scratch" || fail "no resync from scratch after refresh required"
wait_ctl_gone "disclose list" "^disclose @h40\.example\.test " "an entry the backup lacks"
count_is 16 "after the restore"
pnews | grep -E "cannot resume|from scratch|refresh done" | sed 's/^/    /'

step "a changed script: full resync by reset"
stop_pulley
cp "$TOP/etc/pulley/pool.ps" "$T/two.ps"
cat >>"$T/two.ps" <<'EOS'
dis_sel, dis_rec -> null (label="mirror", refuse="@poison.example.test")
# a join across two entries: a policy rule and a disclosure, same selector
ObjectClass: "tlsPoolValidationRequirements" + tlsPoolSelector: j_sel + tlsPoolSupportedRole: j_role <- world
ObjectClass: "tlsPoolIdentityDisclosure" + tlsPoolSelector: j_dsel + tlsPoolPolicyRecord: j_drec <- world
(j_sel = j_dsel)
j_sel, j_role -> null (label="join")
EOS
sed -i "s|^script .*|script $T/two.ps|" "$T/pulley.conf"
ldap_delete "$(disclose_dn "$(sel 8)")"
pmark
start_pulley
expect_pulley "the script changed: full resync by reset" "script change"
pnews | grep -q "from scratch" || fail "a changed script did not resync from scratch"
expect_pulley "mirror: reset" "the null backend was reset"
wait_ctl_gone "disclose list" "^disclose @h8\.example\.test " "deleted before the reset"
count_is 15 "after the reset"

step "one backend cannot prepare: every backend rolls back"
serial0=$("$CTL_BIN" -c "$DAEMON_CONF" serial 2>/dev/null || true)
pmark
"$PULLEY_LDIF" -s "$T/sign.seed" "$(disclose_dn @poison.example.test)" \
	disclose @poison.example.test p@example.test >"$T/p.ldif"
ldap_add "$T/p.ldif"
expect_pulley "mirror: prepare refused" "the null backend's prepare"
expect_pulley "could not prepare: batch rolled back in every backend" "rollback"
expect_pulley "mirror: rollback" "the null backend's rollback"
ctl_out disclose list
grep -q "poison" "$T/ctl.out" && fail "the pool backend committed a rolled-back batch"
step "the cause removed: pulley catches up"
ldap_delete "$(disclose_dn @poison.example.test)"
add_disclose 30 "id30@example.test" >"$T/a30.ldif"
ldap_add "$T/a30.ldif"
wait_ctl "disclose list" "^disclose @h30\.example\.test " "after the rollback"
ctl_out disclose list
grep -q "poison" "$T/ctl.out" && fail "poison entry applied"
count_is 16 "final"

step "a join across two entries: the driver sees add and del of the pair"
pmark
"$PULLEY_LDIF" -s "$T/sign.seed" "$(policy_dn "$(sel 7)" client)" \
	policy "$(sel 7)" client 'IT&' >"$T/j.ldif"
"$PULLEY_LDIF" -s "$T/sign.seed" "$(policy_dn @lonely.example.test client)" \
	policy @lonely.example.test client 'IT&' >>"$T/j.ldif"
ldap_add "$T/j.ldif"
expect_pulley "join: add \(@h7\.example\.test, client\)" "the joined pair"
wait_ctl "policy list" "^policy @lonely\.example\.test client" "the lone rule"
pnews | grep -q "join: add (@lonely" && fail "a rule without a disclosure joined"
pmark
ldap_delete "$(disclose_dn "$(sel 7)")"
expect_pulley "join: del \(@h7\.example\.test, client\)" "one side of the join deleted"
wait_ctl "policy list" "^policy @h7\.example\.test client" "the rule itself stays"
pnews | grep "join:" | sed 's/^/    /'
stop_pulley
pass

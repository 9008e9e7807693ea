#!/bin/bash
# Shaft following two crank subtrees with refreshAndPersist: a change
# made while it runs arrives; stopped, it resumes from its saved cookies
# (adds, modifies and deletes made meanwhile arrive, the deletes too);
# slapd killed under it, it reconnects and goes on; a lost state file
# means a full resync of that source, a corrupted one is not used; and
# the merged subtree stays right through all of it.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/slapd.sh"
. "$IT_DIR/shaft.sh"

[ -x "$SHAFT_BIN" ] || fail "$SHAFT_BIN is not built"
start_slapd
shaft_setup 2
dis() { echo "tlsPoolSelector=$2,$(crank_base "$1")"; }
add_dis() {	# add_dis CRANK N ID [-m]
	crank_ldif "$1" ${4:-} "$(dis "$1" "@h$2.example.test")" disclose "@h$2.example.test" "$3"
}
out_id() {	# the identity the merged @hN entry discloses (decoded)
	ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -b "$OUT_BASE" -s one \
		"(tlsPoolSelector=@h$1.example.test)" tlsPoolPolicyRecord 2>/dev/null |
		sed -n 's/^tlsPoolPolicyRecord:: //p' | base64 -d 2>/dev/null | tr -c '[:print:]' ' '
}
_out_id_has() { out_id "$1" | grep -q -F -- "$2"; }
_out_gone() { [ -z "$(out_id "$1")" ]; }
_out_n() { [ "$(out_count)" = "$1" ]; }
want_id() { wait_until 20 _out_id_has "$1" "$2" || fail "$3: @h$1 discloses '$(out_id "$1")', want $2"; }
want_gone() { wait_until 20 _out_gone "$1" || fail "$2: @h$1 still merged"; }
want_n() { wait_until 20 _out_n "$1" || fail "$2: $(out_count) merged entries, want $1"; }

write_shaft_conf "c1 10 $T/crank1.pub $(crank_base 1)" "c2 20 $T/crank2.pub $(crank_base 2)"
for i in $(seq 1 10); do add_dis 1 "$i" "low$i@example.test"; done >"$T/a1.ldif"
for i in $(seq 6 15); do add_dis 2 "$i" "high$i@example.test"; done >"$T/a2.ldif"
ldap_add "$T/a1.ldif"
ldap_add "$T/a2.ldif"

step "first start: full refresh of both, merged"
start_shaft
grep -q "source c1: sync of .* from scratch" "$T/shaft.log" || fail "c1 not from scratch"
want_n 15 "first merge"
want_id 3 low3@ "c1 only"
want_id 8 high8@ "c2 wins"

step "changes while shaft runs arrive (persist)"
smark
add_dis 2 3 "high3@example.test" >"$T/p1.ldif"
ldap_add "$T/p1.ldif"
want_id 3 high3@ "a higher entry added"
ldap_delete "$(dis 2 "@h9.example.test")"
want_id 9 low9@ "the higher entry deleted: the lower one is back"
ldap_delete "$(dis 1 "@h1.example.test")"
want_gone 1 "deleted in its only source"
want_n 14 "after the persist changes"

step "stopped: changes meanwhile arrive from the saved cookies"
stop_shaft
ls "$T/shaft.state"/c1.state "$T/shaft.state"/c2.state >/dev/null || fail "no state files"
add_dis 1 2 "new2@example.test" -m >"$T/s1.ldif"
ldap_modify "$T/s1.ldif"
ldap_delete "$(dis 1 "@h4.example.test")"
ldap_delete "$(dis 2 "@h12.example.test")"
add_dis 2 40 "high40@example.test" >"$T/s2.ldif"
ldap_add "$T/s2.ldif"
start_shaft
snews | grep -q "source c1: sync of .* from the saved cookie" || fail "c1 did not resume from its cookie"
snews | grep -q "source c2: sync of .* from the saved cookie" || fail "c2 did not resume from its cookie"
want_id 2 new2@ "modified while stopped"
want_gone 4 "deleted while stopped (c1)"
want_gone 12 "deleted while stopped (c2)"
want_id 40 high40@ "added while stopped"
want_n 13 "after the resume"

step "deletes while stopped, then slapd restarts: the present phase"
stop_shaft
ldap_delete "$(dis 2 "@h13.example.test")"
restart_slapd
start_shaft
want_gone 13 "deleted before slapd restarted"
want_n 12 "present phase"

step "slapd killed under a running shaft: it reconnects and goes on"
smark
stop_slapd -9
expect_shaft "connection lost" "the kill"
restart_slapd
expect_shaft "source c[12]: refresh done" "reconnect after the kill"
ldap_delete "$(dis 2 "@h14.example.test")"
want_gone 14 "a delete after the reconnect"
want_n 11 "after the reconnect"
alive "$SHAFT_PID" || fail "shaft died"

step "a lost state file: full resync of that source; a corrupted one is not used"
stop_shaft
rm "$T/shaft.state/c1.state"
printf 'X' | dd of="$T/shaft.state/c2.state" bs=1 seek=40 conv=notrunc 2>/dev/null
ldap_delete "$(dis 1 "@h5.example.test")"
start_shaft
snews | grep -q "source c1: no saved state .*: full resync" || fail "lost state not reported"
snews | grep -q "source c2: state .* not used (checksum mismatch): full resync" || fail "corruption not reported"
want_gone 5 "deleted while the state was lost"
want_n 10 "after the resync"
want_id 2 new2@ "after the resync"
want_id 8 high8@ "after the resync"
stop_shaft

step "a source that cannot be read at the first start: nothing is written until it can"
"$PULLEY_LDIF" -g "$T/crank3.seed" >"$T/crank3.pub" || fail "pulley_ldif -g"
printf 'dn: ou=merged3,%s\nobjectClass: organizationalUnit\nou: merged3\n\n' "$SUFFIX" >"$T/m3base.ldif"
ldap_add "$T/m3base.ldif"
mkdir -p "$T/shaft3.state"
write_shaft_conf "c1 10 $T/crank1.pub $(crank_base 1)" "c2 20 $T/crank2.pub $(crank_base 2)" \
	"c3 30 $T/crank3.pub $(crank_base 3)" -- "output_base ou=merged3,$SUFFIX" "state_dir $T/shaft3.state"
m3_count() { ldapsearch -LLL -x -H "$SLAPD_URI" -b "ou=merged3,$SUFFIX" -s one "(objectClass=*)" dn 2>/dev/null | grep -c '^dn:'; }
smark
"$SHAFT_BIN" -c "$T/shaft.conf" >>"$T/shaft.log" 2>&1 &
SHAFT_PID=$!
_track "$SHAFT_PID" "shaft"
expect_shaft "source c3 not read yet: nothing is written until it is" "an unreadable source"
expect_shaft "source c3: refresh of $(crank_base 3): " "the failed refresh"
sleep 1
[ "$(m3_count)" = 0 ] || fail "shaft wrote without source c3: $(m3_count) entries"
snews | grep -q "output written" && fail "a merge was written without source c3"
{
	printf 'dn: %s\nobjectClass: organizationalUnit\nou: crank3\n\n' "$(crank_base 3)"
	crank_ldif 3 "$(dis 3 "@h70.example.test")" disclose "@h70.example.test" "c3@example.test"
} >"$T/c3.ldif"
ldap_add "$T/c3.ldif"
wait_merge "source c3 readable"
_m3_n() { [ "$(m3_count)" = 11 ]; }
wait_until 20 _m3_n || fail "ou=merged3 holds $(m3_count) entries, want 11"
stop_shaft
pass

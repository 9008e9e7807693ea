#!/bin/bash
# crank plan and apply against a real slapd whose ACLs confine each crank
# to its own subtree (FIXTURES.md): the plan of an empty subtree, apply
# with every entry reported, a second apply that changes nothing (same
# entryCSNs), one changed rule / one removed anchor / one new disclose
# giving exactly that diff, a tampered entry restored, a foreign entry
# left alone, crank2 refused in crank1's subtree (result 50, every entry
# reported, exit 4), a wrong password and a missing subtree (exit 3), a
# SASL EXTERNAL bind over ldapi; and pulley, trusting only crank1's key,
# delivering exactly those records into a policy database.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"

CRANK=$BUILD/crank/crank
CTL=$BUILD/tools/tlspool-ctl
[ -x "$CRANK" ] || fail "$CRANK is not built"

start_slapd
P1="ou=crank1,ou=policy,$SUFFIX"
P2="ou=crank2,ou=policy,$SUFFIX"
C1="cn=crank1,ou=cranks,$SUFFIX"
C2="cn=crank2,ou=cranks,$SUFFIX"
H1="cn=host1,ou=cranks,$SUFFIX"
SMALL="cn=small,ou=cranks,$SUFFIX"
PW1=crank1-$RANDOM
PW2=crank2-$RANDOM
PWH=host1-$RANDOM

step "ACLs: each crank writes only its subtree; SASL EXTERNAL as root is crank2"
cat >"$T/acl.ldif" <<EOF2
dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcAccess
olcAccess: {0}to attrs=userPassword by self =x by anonymous auth by * none
olcAccess: {1}to dn.subtree="$P1" by dn.exact="$C1" write by users read by * none
olcAccess: {2}to dn.subtree="$P2" by dn.exact="$C2" write by users read by * none
olcAccess: {3}to * by users read by anonymous read
-
replace: olcLimits
olcLimits: dn.exact="$SMALL" size=2

dn: cn=config
changetype: modify
replace: olcAuthzRegexp
olcAuthzRegexp: "gidNumber=0.uidNumber=0,cn=peercred,cn=external,cn=auth" "$C2"
EOF2
ldapmodify -Y EXTERNAL -H "$SLAPD_LDAPI" -f "$T/acl.ldif" >"$T/acl.out" 2>&1 ||
	fail "ACL setup: $(cat "$T/acl.out")"
cat >"$T/base.ldif" <<EOF2
dn: ou=cranks,$SUFFIX
objectClass: organizationalUnit
ou: cranks

dn: $C1
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: crank1
userPassword: $(slappasswd -s "$PW1")

dn: $C2
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: crank2
userPassword: $(slappasswd -s "$PW2")

dn: $SMALL
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: small
userPassword: $(slappasswd -s "$PWH")

dn: $H1
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: host1
userPassword: $(slappasswd -s "$PWH")

dn: $P1
objectClass: organizationalUnit
ou: crank1

dn: $P2
objectClass: organizationalUnit
ou: crank2
EOF2
ldap_add "$T/base.ldif"

step "keys and configuration"
"$CRANK" keygen "$T/crank1.key" >"$T/crank1.pub" || fail "crank keygen"
"$CRANK" keygen "$T/crank2.key" >"$T/crank2.pub" || fail "crank keygen"
grep -q -E '^[0-9a-f]{64}$' "$T/crank1.pub" || fail "keygen printed $(cat "$T/crank1.pub")"
[ "$(stat -c %a "$T/crank1.key")" = 600 ] || fail "the signing key is not 0600"
"$CRANK" keygen "$T/crank1.key" >/dev/null 2>&1 && fail "keygen overwrote a key"
printf '%s\n' "$PW1" >"$T/pw1"
printf '%s\n' "$PW2" >"$T/pw2"
printf '%s\n' "$PWH" >"$T/pwh"
# conf NAME BASE BINDDN PWFILE KEY: a simple-bind configuration
conf() {
	cat >"$T/$1.conf" <<-EOF2
		ldap_uri $SLAPD_URI
		tls none
		ldap_base $2
		bind simple
		bind_dn $3
		bind_password_file $4
		signing_key $5
	EOF2
}
conf crank1 "$P1" "$C1" "$T/pw1" "$T/crank1.key"
conf crank2in1 "$P1" "$C2" "$T/pw2" "$T/crank2.key"
conf badpw "$P1" "$C1" "$T/pw2" "$T/crank1.key"
conf nobase "ou=none,ou=policy,$SUFFIX" "$C1" "$T/pw1" "$T/crank1.key"
conf small "$P1" "$SMALL" "$T/pwh" "$T/crank1.key"
cat >"$T/crank2sasl.conf" <<EOF2
ldap_uri $SLAPD_LDAPI
ldap_base $P2
bind sasl
sasl_mech EXTERNAL
signing_key $T/crank2.key
EOF2

step "a source with every kind of record"
make_ca ca
make_ca other
make_cert alice --email alice@example.com --client
S=$T/src
mkdir -p "$S" "$T/root/etc/tlspool"
cp "$PKI/ca.pem" "$PKI/other.pem" "$PKI/alice.chain.pem" "$S/"
cp "$PKI/alice.key" "$T/root/etc/tlspool/alice.key"
cat >"$S/policy.crank" <<'EOF2'
identity alice@example.com x509 {
    chain alice.chain.pem
    key /etc/tlspool/alice.key
    role client
}
disclose @.example.com { show alice@example.com }
anchor ca.pem { peers servers }
anchor other.pem
revoked sha256:1111111111111111111111111111111111111111111111111111111111111111
pin sha256:2222222222222222222222222222222222222222222222222222222222222222 { for peer+x@example.com }
policy @.example.com client { valexp "IT&" }
policy www.example.com server { client-auth required }
EOF2
NREC=8

# crank CMD CONF [STATUS]: output in $T/CMD.CONF.out
run_crank() {
	local st want=${3:-0}
	"$CRANK" "$1" --key-root "$T/root" -c "$T/$2.conf" "$S" >"$T/$1.$2.out" 2>&1
	st=$?
	[ "$st" -eq "$want" ] || fail "crank $1 ($2): exit $st, want $want: $(cat "$T/$1.$2.out")"
}
expect_out() {
	grep -q -E -- "$2" "$T/$1.out" || fail "$1: no /$2/ in: $(cat "$T/$1.out")"
}
# lsearch ARGS...: ldapsearch as the root DN (the ACLs hide the policy
# subtrees from anonymous readers)
lsearch() {
	ldapsearch -x -LLL -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" "$@"
}
csns() {
	lsearch -b "$P1" -s one entryCSN | grep entryCSN | sort
}

step "plan of an empty subtree: every record to add"
run_crank plan crank1
expect_out plan.crank1 "^plan: $NREC to add, 0 to modify, 0 to replace, 0 to delete, 0 unchanged$"
expect_out plan.crank1 "signing key $(cat "$T/crank1.pub")"
expect_out plan.crank1 "dn: tlsPoolTrustKind=pin\+tlsPoolKeyHash=2222222222222222222222222222222222222222222222222222222222222222\+tlsPoolIdentity=peer\\\\\+x@example.com,$P1"
expect_out plan.crank1 "dn: tlsPoolSelector=@.example.com\+tlsPoolSupportedRole=client,$P1"
[ "$(lsearch -b "$P1" -s one dn | grep -c '^dn:')" = 0 ] ||
	fail "plan wrote something"

step "apply: every entry reported; the directory holds them, signed"
run_crank apply crank1
expect_out apply.crank1 "^apply: $NREC added, 0 modified, 0 replaced, 0 deleted, 0 unchanged, 0 failed$"
[ "$(grep -c ': ok (' "$T/apply.crank1.out")" = "$NREC" ] || fail "not one ok line per entry"
[ "$(lsearch -b "$P1" -s one '(tlsPoolSignature=*)' dn | grep -c '^dn:')" = "$NREC" ] ||
	fail "not $NREC signed entries in $P1"

step "a second apply changes nothing"
csns >"$T/csn.before"
run_crank apply crank1
expect_out apply.crank1 "^apply: 0 added, 0 modified, 0 replaced, 0 deleted, $NREC unchanged, 0 failed$"
csns >"$T/csn.after"
cmp -s "$T/csn.before" "$T/csn.after" || fail "the second apply touched entries"
run_crank plan crank1
expect_out plan.crank1 "^plan: 0 to add, 0 to modify, 0 to replace, 0 to delete, $NREC unchanged$"

step "pulley trusting crank1's key delivers exactly these records"
write_pulley_conf "$T/db" "bind simple" "bind_dn $H1" "bind_password_file $T/pwh"
sed -i -e "s|^ldap_base .*|ldap_base $P1|" -e "s|^verify_key .*|verify_key $(cat "$T/crank1.pub")|" "$T/pulley.conf"
start_pulley
_delivered() { [ "$("$CTL" -d "$T/db" policy list 2>/dev/null | grep -c .)" -ge 2 ]; }
wait_until 20 _delivered || fail "pulley delivered no policy: $(tail -5 "$T/pulley.log")"
"$CTL" -d "$T/db" policy get @.example.com client >"$T/ctl.rule.out" 2>&1 ||
	fail "policy get: $(cat "$T/ctl.rule.out")"
grep -q "IT&" "$T/ctl.rule.out" || fail "delivered rule: $(cat "$T/ctl.rule.out")"
"$CTL" -d "$T/db" trust list >"$T/ctl.trust.out" 2>&1
[ "$(grep -c -E '^trust (anchor|pin|revoked):' "$T/ctl.trust.out")" = 4 ] ||
	fail "delivered trust: $(cat "$T/ctl.trust.out")"
grep -q "refused, not applied" "$T/pulley.log" && fail "pulley refused an entry: $(grep "refused, not applied" "$T/pulley.log")"
grep -q "refresh done (8 entries, 0 deletes, 0 refused)" "$T/pulley.log" || fail "pulley did not take all 8 entries"

step "one rule changed, one anchor removed, one disclose added: exactly that diff"
sed -i -e 's/valexp "IT&"/valexp "IT\&F\&"/' -e '/^anchor other.pem$/d' "$S/policy.crank"
echo 'disclose . { none }' >>"$S/policy.crank"
run_crank plan crank1
expect_out plan.crank1 "^plan: 1 to add, 1 to modify, 0 to replace, 1 to delete, 6 unchanged$"
expect_out plan.crank1 "^  modify   policy @.example.com client$"
expect_out plan.crank1 "tlsPoolValidationExpression: \"IT&\" -> \"IT&F&\""
expect_out plan.crank1 "tlsPoolPolicyRecord: [0-9]+ bytes -> [0-9]+ bytes"
expect_out plan.crank1 "^             was: min=any max=any client-auth=default kinds=any priority=default valexp=IT& uids=any$"
expect_out plan.crank1 "^             now: min=any max=any client-auth=default kinds=any priority=default valexp=IT&F& uids=any$"
expect_out plan.crank1 "^  delete   trust anchor:"
expect_out plan.crank1 "^  add      disclose \.$"
run_crank apply crank1
expect_out apply.crank1 "^apply: 1 added, 1 modified, 0 replaced, 1 deleted, 6 unchanged, 0 failed$"
_followed() { "$CTL" -d "$T/db" policy get @.example.com client 2>/dev/null | grep -q 'IT&F&'; }
wait_until 20 _followed || fail "pulley did not follow the changed rule"

step "the delivered records equal what tlspool-ctl stores for the same policy"
"$CTL" -d "$T/db3" policy set @.example.com client --valexp 'IT&F&' >/dev/null 2>&1 &&
	"$CTL" -d "$T/db3" trust add-anchor "$PKI/ca.pem" --peers servers >/dev/null 2>&1 &&
	"$CTL" -d "$T/db3" disclose set @.example.com alice@example.com >/dev/null 2>&1 ||
	fail "tlspool-ctl could not write the reference database"
for q in "policy get @.example.com client" "trust get anchor:$(openssl x509 -in "$PKI/ca.pem" -pubkey -noout |
	openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" "disclose get @.example.com"; do
	# shellcheck disable=SC2086
	a=$("$CTL" -d "$T/db" $q 2>&1) || fail "$q from pulley: $a"
	# shellcheck disable=SC2086
	b=$("$CTL" -d "$T/db3" $q 2>&1) || fail "$q from tlspool-ctl: $b"
	[ "$a" = "$b" ] || fail "$q differs: crank+pulley '$a', tlspool-ctl '$b'"
done

step "a tampered entry is shown and restored; a foreign entry is left alone"
DNRULE="tlsPoolSelector=www.example.com+tlsPoolSupportedRole=server,$P1"
cat >"$T/tamper.ldif" <<EOF2
dn: $DNRULE
changetype: modify
replace: tlsPoolSupportedRole
tlsPoolSupportedRole: server
-
replace: tlsPoolValidationExpression
tlsPoolValidationExpression: 1

dn: ou=notes,$P1
changetype: add
objectClass: organizationalUnit
ou: notes
EOF2
ldap_modify "$T/tamper.ldif"
run_crank plan crank1
expect_out plan.crank1 "^  leave    ou=notes,$P1: not a policy entry$"
expect_out plan.crank1 "tlsPoolValidationExpression: \"1\" -> \(none\)"
expect_out plan.crank1 "^plan: 0 to add, 1 to modify, 0 to replace, 0 to delete, 7 unchanged$"
run_crank apply crank1
expect_out apply.crank1 "^modified policy www.example.com server: ok"
lsearch -b "ou=notes,$P1" -s base dn >/dev/null 2>&1 ||
	fail "the foreign entry was removed"

step "a copy of a signed entry at another DN is deleted, the original kept"
# the copy verifies (the DN is not signed) and would be applied by every
# pulley beside the original: crank owns the key, one entry per key
DNCOPY="tlsPoolSelector=www.example.com,$P1"
lsearch -o ldif-wrap=no -b "$DNRULE" -s base '*' >"$T/orig.ldif" ||
	fail "cannot read $DNRULE"
{
	echo "dn: $DNCOPY"
	echo "changetype: add"
	grep -v '^dn:' "$T/orig.ldif"
} >"$T/copy.ldif"
ldap_modify "$T/copy.ldif"
run_crank plan crank1
expect_out plan.crank1 "^  delete   policy www.example.com server"
expect_out plan.crank1 "^plan: 0 to add, 0 to modify, 0 to replace, 1 to delete, 8 unchanged$"
run_crank apply crank1
lsearch -b "$DNCOPY" -s base dn 2>/dev/null | grep -q '^dn:' &&
	fail "the copy is still there"
lsearch -b "$DNRULE" -s base dn 2>/dev/null | grep -q '^dn:' ||
	fail "the original was deleted"

step "crank2 in crank1's subtree: refused, each entry reported, exit 4"
# crank2 signs with its own key: every entry would change (its
# signature), and the new one be added; none of it is allowed
echo 'policy new.example.com client { valexp I }' >>"$S/policy.crank"
csns >"$T/csn.before"
run_crank apply crank2in1 4
expect_out apply.crank2in1 "^added policy new.example.com client: FAILED: Insufficient access: no write access to parent"
expect_out apply.crank2in1 "^modified policy @.example.com client: FAILED: Insufficient access"
expect_out apply.crank2in1 "^apply: 0 added, 0 modified, 0 replaced, 0 deleted, 0 unchanged, 9 failed$"
csns >"$T/csn.after"
cmp -s "$T/csn.before" "$T/csn.after" || fail "crank2 changed entries of crank1"
lsearch -b "$P1" -s one '(tlsPoolSelector=new.example.com)' dn |
	grep -q '^dn:' && fail "crank2 wrote into crank1's subtree"

step "a wrong password and a missing subtree: exit 3 with the server's reason"
run_crank plan badpw 3
expect_out plan.badpw "bind \(simple\) to .*: Invalid credentials"
run_crank plan nobase 3
expect_out plan.nobase "reading ou=none,ou=policy,$SUFFIX: No such object"

step "a size limit below the subtree: refused, not a plan from part of it"
run_crank plan small 3
expect_out plan.small "reading $P1: Size limit exceeded"
grep -q "^plan:" "$T/plan.small.out" && fail "a plan was printed from a partial read"

step "crank2 by SASL EXTERNAL over ldapi writes its own subtree"
run_crank apply crank2sasl
expect_out apply.crank2sasl "^apply: 9 added, 0 modified, 0 replaced, 0 deleted, 0 unchanged, 0 failed$"
[ "$(lsearch -b "$P2" -s one dn | grep -c '^dn:')" = 9 ] ||
	fail "crank2's subtree does not hold its 9 entries"

step "pulley trusting crank1's key refuses crank2's entries"
stop_proc "$PULLEY_PID" 10
_untrack "$PULLEY_PID"
: >"$T/pulley.log"
write_pulley_conf "$T/db2" "bind simple" "bind_dn $H1" "bind_password_file $T/pwh"
sed -i -e "s|^ldap_base .*|ldap_base $P2|" -e "s|^verify_key .*|verify_key $(cat "$T/crank1.pub")|" "$T/pulley.conf"
start_pulley
[ "$(grep -c "refused, not applied: signature does not verify" "$T/pulley.log")" = 9 ] ||
	fail "pulley did not refuse crank2's 9 entries: $(tail -5 "$T/pulley.log")"
[ -z "$("$CTL" -d "$T/db2" policy list 2>/dev/null)" ] || fail "crank2's policy was delivered"

pass

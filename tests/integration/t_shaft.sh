#!/bin/bash
# Shaft against a real slapd: three crank subtrees, each signed with its
# own key, merged into ou=merged.  Two cranks in conflict resolved as
# doc/shaft.md says (precedence; a revocation beats a pin of the same
# key); a crank whose key shaft does not trust (its entries left out and
# reported with DN and reason); a tampered change keeps the last good
# version; the same entries given in another order and another source
# order give a byte-identical subtree; only changed entries are
# rewritten (entryCSN of the others unchanged); deletes propagate; the
# output verifies with shaft's key.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/slapd.sh"
. "$IT_DIR/shaft.sh"

[ -x "$SHAFT_BIN" ] || fail "$SHAFT_BIN is not built"
start_slapd
shaft_setup 3
"$PULLEY_LDIF" -g "$T/rogue.seed" >"$T/rogue.pub" || fail "pulley_ldif -g"
H1=$(printf 'key one' | sha256sum | cut -c1-64)
H2=$(printf 'key two' | sha256sum | cut -c1-64)
dis() { echo "tlsPoolSelector=$2,$(crank_base "$1")"; }
pol() { echo "tlsPoolSelector=$2+tlsPoolSupportedRole=$3,$(crank_base "$1")"; }
trust() { echo "tlsPoolTrustKind=$2+tlsPoolKeyHash=$3,$(crank_base "$1")"; }

step "configuration checks"
write_shaft_conf "c1 10 $T/crank1.pub $(crank_base 1)" "c2 20 $T/crank2.pub $(crank_base 2)" \
	"c3 30 $T/crank3.pub $(crank_base 3)"
"$SHAFT_BIN" -t -c "$T/shaft.conf" >"$T/t.out" 2>&1 || fail "shaft -t: $(cat "$T/t.out")"
grep -q "3 sources" "$T/t.out" || fail "shaft -t: $(cat "$T/t.out")"
sed 's/^source c2 20/source c2 10/' "$T/shaft.conf" >"$T/bad.conf"
"$SHAFT_BIN" -t -c "$T/bad.conf" >"$T/t.out" 2>&1 && fail "equal precedences accepted"
grep -q "bad.conf:[0-9]*: source: two sources of equal PRECEDENCE" "$T/t.out" || fail "$(cat "$T/t.out")"
chmod 644 "$T/shaft.seed"
"$SHAFT_BIN" -1 -c "$T/shaft.conf" >"$T/t.out" 2>&1 && fail "a world-readable key accepted"
grep -q "readable by group or others" "$T/t.out" || fail "$(cat "$T/t.out")"
chmod 600 "$T/shaft.seed"

step "three cranks, two in conflict, the third signing with a key shaft does not trust"
{
	crank_ldif 1 "$(dis 1 @a.example.test)" disclose @a.example.test low@example.test
	crank_ldif 1 "$(dis 1 @only1.example.test)" disclose @only1.example.test one@example.test
	crank_ldif 1 "$(pol 1 localhost client)" policy localhost client Q
	crank_ldif 1 "$(trust 1 pin "$H1")" pin "$H1"
	crank_ldif 1 "$(trust 1 pin "$H2")" pin "$H2"
	crank_ldif 2 "$(dis 2 @A.example.test)" disclose @A.example.test high@example.test
	crank_ldif 2 "$(pol 2 localhost server)" policy localhost server 'IT&'
	crank_ldif 2 "$(trust 2 revoked "$H1")" revoked "$H1"
	for i in 1 2 3 4 5; do
		crank_ldif 2 "$(dis 2 "@h$i.example.test")" disclose "@h$i.example.test" "id$i@example.test"
	done
	"$PULLEY_LDIF" -s "$T/rogue.seed" "$(dis 3 @rogue.example.test)" disclose @rogue.example.test evil@example.test
	"$PULLEY_LDIF" -s "$T/rogue.seed" "$(pol 3 localhost client)" policy localhost client 1
} >"$T/order1.ldif" || fail "pulley_ldif failed"
ldap_add "$T/order1.ldif"
smark
shaft_once
out_dump "$T/out1.ldif"
[ "$(out_count)" = 11 ] || fail "want 11 merged entries, got $(out_count): $(cat "$T/out1.ldif")"
expect_shaft "source c3: entry tlsPoolSelector=@rogue\.example\.test,$(crank_base 3) refused, left out: signature does not verify" \
	"the untrusted crank's entry"
expect_shaft "source c3: entry tlsPoolSelector=localhost\+tlsPoolSupportedRole=client,$(crank_base 3) refused" \
	"the untrusted crank's rule"
grep -q "rogue" "$T/out1.ldif" && fail "an untrusted entry was merged"
snews | grep refused | sed 's/^/    /'
# precedence: c2 (20) over c1 (10) for @a (the directory ignores case)
grep -c "^dn: tlsPoolSelector=@[aA]\.example\.test$" "$T/out1.ldif" | grep -qx 1 ||
	fail "not one merged @a entry: $(grep '^dn:' "$T/out1.ldif")"
rec_of() {	# the record (base64) of an entry in an LDIF file
	awk -v dn="$2" 'BEGIN { RS = "" } index($0, "dn: " dn "\n") == 1' "$1" |
		sed -n 's/^tlsPoolPolicyRecord:: //p'
}
hi=$(rec_of "$T/order1.ldif" "$(dis 2 @A.example.test)")
lo=$(rec_of "$T/order1.ldif" "$(dis 1 @a.example.test)")
got=$(rec_of "$T/out1.ldif" "tlsPoolSelector=@A.example.test")
[ -n "$hi" ] && [ "$got" = "$hi" ] || fail "@a: the merged record is not c2's ($got vs $hi, c1 $lo)"
# the rule of the untrusted crank (precedence 30) did not win
[ "$(rec_of "$T/out1.ldif" "tlsPoolSelector=localhost+tlsPoolSupportedRole=client")" = \
  "$(rec_of "$T/order1.ldif" "$(pol 1 localhost client)")" ] || fail "localhost client is not c1's rule"
# has_trust FILE KIND HASH (slapd may order the RDN's parts either way)
has_trust() { grep -q -E "^dn: (tlsPoolKeyHash=$3\+tlsPoolTrustKind=$2|tlsPoolTrustKind=$2\+tlsPoolKeyHash=$3)$" "$1"; }
# trust: c2 revokes H1, so c1's pin of H1 goes; the pin of H2 stays
has_trust "$T/out1.ldif" revoked "$H1" || fail "no revoked H1"
has_trust "$T/out1.ldif" pin "$H1" && fail "pin of a revoked key merged"
has_trust "$T/out1.ldif" pin "$H2" || fail "pin H2 missing"
grep -q "^dn: tlsPoolSelector=@only1.example.test$" "$T/out1.ldif" || fail "c1's own entry missing"

step "the output verifies with shaft's key (pulley's check)"
awk 'BEGIN { RS = "" } /tlsPoolSignature/ { n++ } END { print n }' "$T/out1.ldif" | grep -qx 11 ||
	fail "not every merged entry is signed"
DBV=$T/verify.db
mkdir -p "$DBV"
cat >"$T/verify.conf" <<EOC
ldap_uri $SLAPD_URI
ldap_base $OUT_BASE
ldap_filter (|(objectClass=tlsPoolIdentityDisclosure)(objectClass=tlsPoolTrustedIssuer)(objectClass=tlsPoolValidationRequirements))
tls none
dbenv_dir $DBV
script $TOP/etc/pulley/pool.ps
backend_dir $BUILD/pulley/.libs
verify_key $(cat "$T/shaft.pub")
log_level info
log_stderr yes
EOC
"$PULLEY_BIN" -1 -c "$T/verify.conf" >"$T/verify.log" 2>&1 || fail "pulley -1 on the output: $(tail -5 "$T/verify.log")"
grep -q "refused, not applied\|record refused" "$T/verify.log" && fail "pulley refused shaft's output: $(grep refused "$T/verify.log")"
grep -q "refresh done (11 entries, 0 deletes, 0 refused)" "$T/verify.log" || fail "pulley: $(grep 'refresh done' "$T/verify.log")"

step "only changed entries are rewritten"
csns() {
	ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -b "$OUT_BASE" -s one "(objectClass=*)" entryCSN |
		awk 'BEGIN { RS = "" } { print $2, $4 }' | sort >"$1"
}
csns "$T/csn1"
# a change in the losing crank changes nothing in the output
crank_ldif 1 -m "$(dis 1 @a.example.test)" disclose @a.example.test lower@example.test >"$T/m1.ldif"
ldap_modify "$T/m1.ldif"
smark
shaft_once
expect_shaft "output written: 0 added, 0 modified, 0 deleted, 11 unchanged" "a losing change"
csns "$T/csn2"
cmp -s "$T/csn1" "$T/csn2" || fail "entries rewritten for a losing change: $(diff "$T/csn1" "$T/csn2")"
# a winning change rewrites exactly its entry
crank_ldif 2 -m "$(dis 2 @h3.example.test)" disclose @h3.example.test new3@example.test >"$T/m2.ldif"
ldap_modify "$T/m2.ldif"
smark
shaft_once
expect_shaft "output written: 0 added, 1 modified, 0 deleted, 10 unchanged" "a winning change"
csns "$T/csn3"
diff "$T/csn2" "$T/csn3" | grep '^>' >"$T/csn.diff"
[ "$(wc -l <"$T/csn.diff")" = 1 ] && grep -q "@h3.example.test" "$T/csn.diff" ||
	fail "want only @h3 rewritten: $(cat "$T/csn.diff")"

step "a tampered merged entry is repaired on the next run"
cat >"$T/t1.ldif" <<EOT
dn: tlsPoolSelector=@h1.example.test,$OUT_BASE
changetype: modify
replace: tlsPoolPolicyRecord
tlsPoolPolicyRecord:: $(printf 'forged' | base64)
-

dn: tlsPoolSelector=@h2.example.test,$OUT_BASE
changetype: modify
replace: tlsPoolSignature
tlsPoolSignature:: $(head -c 64 /dev/zero | base64 -w0)
-
EOT
ldap_modify "$T/t1.ldif"
smark
shaft_once
expect_shaft "output written: 0 added, 2 modified, 0 deleted, 9 unchanged" "the tampered merged entries"
out_dump "$T/out-repaired.ldif"
grep -A8 "^dn: tlsPoolSelector=@h2.example.test$" "$T/out-repaired.ldif" | grep -q "^tlsPoolSignature:: AAAAAAAA" &&
	fail "the zeroed signature stayed"
grep -A8 "^dn: tlsPoolSelector=@h1.example.test$" "$T/out-repaired.ldif" | grep -q "$(printf forged | base64)" &&
	fail "the forged record stayed"

step "a second signature under another spelling is repaired"
# pulley counts tlsPoolSignature;lang-x as a second signature and refuses
# the entry; shaft's digest of what it wrote must not hide that
cat >"$T/t2.ldif" <<EOT
dn: tlsPoolSelector=@h1.example.test,$OUT_BASE
changetype: modify
add: tlsPoolSignature;lang-x
tlsPoolSignature;lang-x:: $(head -c 64 /dev/zero | base64 -w0)
-
EOT
ldap_modify "$T/t2.ldif"
smark
shaft_once
expect_shaft "output written: 1 added, 0 modified, 1 deleted, 10 unchanged" "the second signature"
out_dump "$T/out-sig2.ldif"
grep -qi "^tlsPoolSignature;lang-x" "$T/out-sig2.ldif" && fail "the second signature stayed"
"$PULLEY_BIN" -1 -c "$T/verify.conf" >"$T/verify2.log" 2>&1 || fail "pulley -1 on the output: $(tail -5 "$T/verify2.log")"
grep -q "refused, not applied\\|record refused" "$T/verify2.log" && fail "pulley refused shaft's output: $(grep "refused, not applied" "$T/verify2.log")"

step "a tampered change is refused; the last good version stays"
crank_ldif 2 -T -m "$(dis 2 @h4.example.test)" disclose @h4.example.test forged@example.test >"$T/m3.ldif"
ldap_modify "$T/m3.ldif"
# signed by a trusted crank, but a record every pulley would refuse
crank_ldif 1 -J "$(pol 1 @junk.example.test client)" policy @junk.example.test client Q >"$T/junk.ldif"
ldap_add "$T/junk.ldif"
smark
shaft_once
expect_shaft "source c1: entry tlsPoolSelector=@junk\.example\.test\+tlsPoolSupportedRole=client,$(crank_base 1) refused, left out: .+" \
	"the malformed record"
expect_shaft "source c2: entry tlsPoolSelector=@h4\.example\.test,$(crank_base 2) refused, left out: signature does not verify .*last good version stays" \
	"the tampered change"
expect_shaft "0 modified, 0 deleted, 11 unchanged" "the tampered change"

step "deletes propagate; a revocation withdrawn brings the pin back"
ldap_delete "$(dis 2 @h5.example.test)"
ldap_delete "$(trust 2 revoked "$H1")"
smark
shaft_once
expect_shaft "output written: 1 added, 0 modified, 2 deleted" "deletes"
out_dump "$T/out2.ldif"
grep -q "@h5.example.test" "$T/out2.ldif" && fail "@h5 still merged"
has_trust "$T/out2.ldif" pin "$H1" || fail "pin H1 not back"
grep -q "^dn: tlsPoolTrustKind=revoked" "$T/out2.ldif" && fail "the revocation stayed"

step "the same entries in another order give a byte-identical subtree"
# a good version of @h4 again (a tampered entry re-added would be left
# out, rightly, and the comparison below would not see it)
crank_ldif 2 -m "$(dis 2 @h4.example.test)" disclose @h4.example.test fixed@example.test >"$T/m4.ldif"
ldap_modify "$T/m4.ldif"
shaft_once
out_dump "$T/out3.ldif"
grep -q "^dn: tlsPoolSelector=@h4.example.test" "$T/out3.ldif" || fail "@h4 missing"
# a fresh second output from the same directory state, sources listed
# the other way round, the cranks' entries re-added in reverse order
ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -b "$SUFFIX" \
	"(|(objectClass=tlsPoolIdentityDisclosure)(objectClass=tlsPoolTrustedIssuer)(objectClass=tlsPoolValidationRequirements))" \
	'*' >"$T/now.ldif" || fail "ldapsearch"
grep '^dn: .*ou=crank' "$T/now.ldif" | sed 's/^dn: //' >"$T/dns"
[ "$(wc -l <"$T/dns")" -ge 10 ] || fail "too few crank entries: $(cat "$T/dns")"
while read -r dn; do ldap_delete "$dn"; done <"$T/dns"
# reverse the paragraphs
awk 'BEGIN { RS = "" } /ou=crank/ { p[NR] = $0 } END { for (i = NR; i > 0; i--) if (i in p) print p[i] "\n" }' \
	"$T/now.ldif" >"$T/reversed.ldif"
ldap_add "$T/reversed.ldif"
printf 'dn: ou=merged2,%s\nobjectClass: organizationalUnit\nou: merged2\n\n' "$SUFFIX" >"$T/m2base.ldif"
ldap_add "$T/m2base.ldif"
cp "$T/shaft.conf" "$T/shaft1.conf"
mkdir -p "$T/shaft2.state"
{
	grep -v '^source\|^output_base\|^state_dir' "$T/shaft1.conf"
	grep '^source' "$T/shaft1.conf" | tac
	echo "output_base ou=merged2,$SUFFIX"
	echo "state_dir $T/shaft2.state"
} >"$T/shaft.conf"
smark
shaft_once
cp "$T/shaft1.conf" "$T/shaft.conf"
smark
shaft_once
expect_shaft "source c[12]: present phase|refresh done" "the first output after re-adding"
out_dump "$T/outA.ldif" "$OUT_BASE"
out_dump "$T/outB.ldif" "ou=merged2,$SUFFIX"
cmp "$T/outA.ldif" "$T/outB.ldif" || fail "the two outputs differ: $(diff "$T/outA.ldif" "$T/outB.ldif" | head -20)"
cmp -s "$T/out3.ldif" "$T/outA.ldif" || fail "re-adding the same entries changed the output: $(diff "$T/out3.ldif" "$T/outA.ldif" | head)"
echo "    $(grep -c '^dn:' "$T/outA.ldif") entries, $(stat -c %s "$T/outA.ldif") bytes, identical"
pass

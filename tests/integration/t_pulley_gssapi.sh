#!/bin/bash
# Pulley binds with SASL GSSAPI: a throwaway Kerberos realm (krb5kdc on
# loopback), slapd with the ldap/localhost key, pulley with a ticket for
# pulley@REALM syncs; without a ticket the bind is refused and nothing is
# applied; with only a client keytab (KRB5_CLIENT_KTNAME) it syncs again.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/slapd.sh"
[ -x "$PULLEY_BIN" ] || fail "$PULLEY_BIN is not built"
. "$IT_DIR/krb5_realm.sh"
command -v kdestroy >/dev/null || fail "kdestroy is not installed (scripts/deps.sh)"
[ -e /usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so ] ||
	ls /usr/lib/*/sasl2/libgssapiv2.so >/dev/null 2>&1 ||
	fail "the SASL GSSAPI plugin is missing (libsasl2-modules-gssapi-mit)"

step "a Kerberos realm and a KDC"
make_realm PULLEY.TEST localhost
K=$KRB
add_service ldap/localhost "$K/ldap.keytab"
add_service pulley "$K/pulley.keytab"
start_kdc
kinit -k -t "$K/pulley.keytab" pulley >"$K/kinit.out" 2>&1 ||
	fail "kinit against the KDC failed: $(tail -3 "$K/kinit.out")"

step "slapd with the ldap/localhost key"
export KRB5_KTNAME=$K/ldap.keytab
SLAPD_SASL_HOST=localhost
start_slapd
unset KRB5_KTNAME
write_pulley_conf "$T/db" "ldap_uri ldap://localhost:$SLAPD_PORT/" "bind sasl" "sasl_mech GSSAPI"
sed -i "0,/^ldap_uri /{/^ldap_uri ldap:\/\/127/d}" "$T/pulley.conf"
grep -c "^ldap_uri " "$T/pulley.conf" | grep -q '^1$' || fail "pulley.conf: $(cat "$T/pulley.conf")"
"$PULLEY_LDIF" -s "$T/sign.seed" -n 5 "$(disclose_dn "@k%d.example.test")" \
	disclose "@k%d.example.test" "k%d@example.test" >"$T/a.ldif"
ldap_add "$T/a.ldif"

step "with a ticket for pulley@$REALM: synced"
timeout 60 "$PULLEY_BIN" -1 -c "$T/pulley.conf" >"$T/gss.log" 2>&1 ||
	fail "pulley -1 with GSSAPI: $(tail -3 "$T/gss.log")"
"$CTL_BIN" -d "$T/db" disclose list >"$T/ctl.out" 2>&1
[ "$(grep -c "^disclose @k" "$T/ctl.out")" = 5 ] || fail "not synced: $(cat "$T/ctl.out")"
klist 2>/dev/null | grep -q "ldap/localhost@$REALM" || fail "no service ticket for ldap/localhost"

step "without a ticket: the bind is refused, nothing applied"
kdestroy >/dev/null 2>&1
rm -rf "$T/db"
timeout 60 "$PULLEY_BIN" -1 -c "$T/pulley.conf" >"$T/noticket.log" 2>&1 &&
	fail "pulley -1 without a ticket succeeded"
grep -q -E "bind \(GSSAPI\) to ldap://localhost:$SLAPD_PORT/: " "$T/noticket.log" ||
	fail "no bind refusal: $(tail -3 "$T/noticket.log")"
grep -E "bind \(GSSAPI\)" "$T/noticket.log" | head -1 | sed 's/^/    /'
if [ -d "$T/db" ]; then
	"$CTL_BIN" -d "$T/db" disclose list 2>/dev/null | grep -q "^disclose @k" &&
		fail "applied without a bind"
fi

# What debian/pulley.README.Debian tells the service to do: no ticket,
# only a client keytab; the krb5 library gets the ticket itself.
step "without a ticket, with KRB5_CLIENT_KTNAME: synced"
kdestroy >/dev/null 2>&1
rm -rf "$T/db"
KRB5_CLIENT_KTNAME=$K/pulley.keytab timeout 60 "$PULLEY_BIN" -1 \
	-c "$T/pulley.conf" >"$T/ktname.log" 2>&1 ||
	fail "pulley -1 with a client keytab: $(tail -3 "$T/ktname.log")"
"$CTL_BIN" -d "$T/db" disclose list >"$T/ctl.out" 2>&1
[ "$(grep -c "^disclose @k" "$T/ctl.out")" = 5 ] || fail "not synced: $(cat "$T/ctl.out")"
pass

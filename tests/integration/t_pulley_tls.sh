#!/bin/bash
# Pulley's connection to the directory: StartTLS and ldaps with the
# server certificate verified (right CA and name: synced; another CA or
# a name the certificate does not carry: refused, nothing applied),
# simple bind (a wrong password refused), SASL EXTERNAL over ldapi.
# Each run is "pulley -1" (exit after the refresh).
. "$(dirname "$0")/lib.sh"

make_ca
make_ca other
# only the address: libldap checks "localhost" as the host's own FQDN
make_cert ldapserver --ip 127.0.0.1
SLAPD_TLS=1
. "$IT_DIR/slapd.sh"
[ -x "$PULLEY_BIN" ] || fail "$PULLEY_BIN is not built"
start_slapd
printf '%s\n' "$ROOTPW" >"$T/pw"
printf 'wrong-%s\n' "$ROOTPW" >"$T/badpw"
chmod 600 "$T/pw" "$T/badpw"

DB=$T/db
write_pulley_conf "$DB"
for i in 1 2 3; do
	"$PULLEY_LDIF" -s "$T/sign.seed" "$(disclose_dn "@t$i.example.test")" \
		disclose "@t$i.example.test" "t$i@example.test"
done >"$T/a.ldif"
ldap_add "$T/a.ldif"

# run_once NAME CONFIG-LINES...: pulley -1 with the base config plus
# lines replacing the keys they name (a bare key only removes it);
# status in ONCE_STATUS, log in
# $T/NAME.log.
run_once() {
	local name=$1 line key
	shift
	cp "$T/pulley.conf" "$T/$name.conf"
	for line in "$@"; do
		key=${line%% *}
		sed -i "/^$key /d" "$T/$name.conf"
		[ "$line" = "$key" ] || echo "$line" >>"$T/$name.conf"
	done
	rm -rf "$DB"
	timeout 60 "$PULLEY_BIN" -1 -c "$T/$name.conf" >"$T/$name.log" 2>&1
	ONCE_STATUS=$?
}
synced() {
	[ "$ONCE_STATUS" = 0 ] || fail "$1: pulley -1 failed ($ONCE_STATUS): $(tail -3 "$T/$2.log")"
	"$CTL_BIN" -d "$DB" disclose list >"$T/ctl.out" 2>&1 || fail "$1: tlspool-ctl: $(cat "$T/ctl.out")"
	[ "$(grep -c "^disclose @t[123]\.example\.test " "$T/ctl.out")" = 3 ] ||
		fail "$1: not synced: $(cat "$T/ctl.out")"
}
refused() {	# refused WHAT NAME REGEX
	[ "$ONCE_STATUS" = 1 ] || fail "$1: pulley -1 status $ONCE_STATUS, want 1: $(tail -3 "$T/$2.log")"
	grep -q -E -- "$3" "$T/$2.log" || fail "$1: no /$3/ in: $(tail -3 "$T/$2.log")"
	if [ -d "$DB" ]; then
		"$CTL_BIN" -d "$DB" disclose list >"$T/ctl.out" 2>&1
		grep -q "^disclose @t" "$T/ctl.out" && fail "$1: policy applied anyway"
	fi
	grep -E -- "$3" "$T/$2.log" | head -1 | sed 's/^/    /'
}
SIMPLE=("bind simple" "bind_dn $ROOTDN" "bind_password_file $T/pw")

step "StartTLS, CA and name right, simple bind: synced"
run_once st "ldap_uri ldap://127.0.0.1:$SLAPD_PORT/" "tls starttls" \
	"tls_cacert $PKI/ca.pem" "${SIMPLE[@]}"
synced "StartTLS" st

step "StartTLS is the default for ldap://: another CA is refused"
run_once st-ca "ldap_uri ldap://127.0.0.1:$SLAPD_PORT/" "tls" \
	"tls_cacert $PKI/other.pem" "${SIMPLE[@]}"
grep -q "^tls " "$T/st-ca.conf" && fail "st-ca: a tls line is left"
refused "StartTLS, other CA" st-ca "StartTLS with ldap://127\.0\.0\.1:$SLAPD_PORT/: Connect error"

step "StartTLS to a name the certificate does not carry: refused"
run_once st-name "ldap_uri ldap://localhost:$SLAPD_PORT/" "tls starttls" \
	"tls_cacert $PKI/ca.pem" "${SIMPLE[@]}"
refused "StartTLS, name mismatch" st-name "StartTLS with ldap://localhost:$SLAPD_PORT/: Connect error"

step "ldaps: synced; with another CA refused"
run_once ls "ldap_uri ldaps://127.0.0.1:$SLAPD_LDAPS_PORT/" "tls ldaps" \
	"tls_cacert $PKI/ca.pem" "${SIMPLE[@]}"
synced "ldaps" ls
run_once ls-ca "ldap_uri ldaps://127.0.0.1:$SLAPD_LDAPS_PORT/" "tls ldaps" \
	"tls_cacert $PKI/other.pem" "${SIMPLE[@]}"
refused "ldaps, other CA" ls-ca "bind \(simple\) to ldaps://127\.0\.0\.1:$SLAPD_LDAPS_PORT/: Can't contact LDAP server"

step "a wrong password is refused"
run_once badpw "ldap_uri ldap://127.0.0.1:$SLAPD_PORT/" "tls starttls" \
	"tls_cacert $PKI/ca.pem" "bind simple" "bind_dn $ROOTDN" \
	"bind_password_file $T/badpw"
refused "wrong password" badpw "bind \(simple\) to .*: Invalid credentials"
grep -q -F "$ROOTPW" "$T"/*.log && fail "a password appears in a log"

step "SASL EXTERNAL over ldapi: synced"
run_once ext "ldap_uri $SLAPD_LDAPI" "bind sasl" "sasl_mech EXTERNAL"
synced "SASL EXTERNAL" ext
pass

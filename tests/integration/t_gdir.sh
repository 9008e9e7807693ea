#!/bin/bash
# The LDAP global directory (valexp G and g), the daemon as TLS client
# against gnutls-serv.  A real slapd (StartTLS, certificate from the test
# CA) holds userCertificate;binary values; it is found through the SRV
# record _ldap._tcp.dir.test in a zone signed at test time and loaded by
# the daemon's libunbound (dnssec_config).  Cases: the user's certificate
# matches (G accepts), another certificate is stored (G and g refuse),
# the user is not in the directory (G refuses, g accepts), a domain with
# a DNSSEC-secure "no SRV" (G refuses, g accepts), an unsigned domain's
# SRV (G and g refuse), a directory whose certificate is not trusted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnssec_lib.sh"

command -v slapd >/dev/null || fail "slapd missing (package slapd)"
make_ca
make_ca rogue "Rogue CA"
make_cert alice --dns alice.dir.test
make_cert other --dns other.dir.test
# libldap checks a "localhost" server against the name it finds for the
# peer address (getnameinfo), so the directory's certificate names every
# name 127.0.0.1 has here.
LDAP_SANS=(--dns localhost)
for n in $(awk '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) print $i }' /etc/hosts) $(hostname); do
	LDAP_SANS+=(--dns "$n")
done
make_cert ldap "${LDAP_SANS[@]}"
make_cert rogueldap --ca rogue "${LDAP_SANS[@]}"
for c in alice other; do
	openssl x509 -in "$PKI/$c.pem" -outform DER -out "$PKI/$c.der"
done

# start_slapd NAME CERT: slapd with StartTLS from $T/NAME; sets LDAP_PORT.
start_slapd() {
	local d=$T/$1 cert=$2
	mkdir -p "$d/slapd.d" "$d/db"
	cat >"$d/config.ldif" <<-LDIF
		dn: cn=config
		objectClass: olcGlobal
		cn: config
		olcPidFile: $d/slapd.pid
		olcArgsFile: $d/slapd.args
		olcTLSCertificateFile: $PKI/$cert.pem
		olcTLSCertificateKeyFile: $PKI/$cert.key

		dn: cn=module{0},cn=config
		objectClass: olcModuleList
		cn: module{0}
		olcModulePath: /usr/lib/ldap
		olcModuleLoad: back_mdb

		dn: cn=schema,cn=config
		objectClass: olcSchemaConfig
		cn: schema

		include: file:///etc/ldap/schema/core.ldif

		include: file:///etc/ldap/schema/cosine.ldif

		include: file:///etc/ldap/schema/inetorgperson.ldif

		dn: olcDatabase={-1}frontend,cn=config
		objectClass: olcDatabaseConfig
		objectClass: olcFrontendConfig
		olcDatabase: {-1}frontend
		olcSizeLimit: unlimited

		dn: olcDatabase={0}config,cn=config
		objectClass: olcDatabaseConfig
		olcDatabase: {0}config
		olcAccess: {0}to * by * none

		dn: olcDatabase={1}mdb,cn=config
		objectClass: olcDatabaseConfig
		objectClass: olcMdbConfig
		olcDatabase: {1}mdb
		olcSuffix: dc=dir,dc=test
		olcDbDirectory: $d/db
		olcRootDN: cn=admin,dc=dir,dc=test
		olcAccess: {0}to * by * read
	LDIF
	cat >"$d/base.ldif" <<-LDIF
		dn: dc=dir,dc=test
		objectClass: dcObject
		objectClass: organization
		o: dir
		dc: dir

		dn: uid=alice,dc=dir,dc=test
		objectClass: inetOrgPerson
		uid: alice
		cn: alice
		sn: alice
		mail: alice@dir.test
		userCertificate;binary:< file://$PKI/alice.der

		dn: uid=bob,dc=dir,dc=test
		objectClass: inetOrgPerson
		uid: bob
		cn: bob
		sn: bob
		mail: bob@dir.test
		userCertificate;binary:< file://$PKI/other.der
	LDIF
	slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.out" 2>&1 &&
		slapadd -q -F "$d/slapd.d" -b dc=dir,dc=test -l "$d/base.ldif" \
			>>"$d/slapadd.out" 2>&1 ||
		fail "slapadd: $(tail -3 "$d/slapadd.out")"
	_slapd_on() {
		slapd -d none -h "ldap://127.0.0.1:$1/" -F "$d/slapd.d" \
			>"$d/slapd.log" 2>&1 &
		STARTED_PID=$!
	}
	serve_on_free_port "slapd:$1" _slapd_on "" "$d/slapd.log"
	SLAPD_PID=$STARTED_PID
	LDAP_PORT=$STARTED_PORT
}

start_slapd dir ldap
DIR_PORT=$LDAP_PORT
start_slapd rogue rogueldap
ROGUE_PORT=$LDAP_PORT
# The directory answers over StartTLS with our CA (checked with ldapsearch).
LDAPTLS_CACERT=$PKI/ca.pem ldapsearch -x -ZZ -H "ldap://localhost:$DIR_PORT" \
	-b dc=dir,dc=test '(mail=alice@dir.test)' 'userCertificate;binary' \
	>"$T/ldapsearch.out" 2>&1 || fail "ldapsearch: $(tail -3 "$T/ldapsearch.out")"
grep -q '^userCertificate;binary::' "$T/ldapsearch.out" ||
	fail "the directory holds no certificate for alice"

{
	zone_head dir.test
	echo "_ldap._tcp IN SRV 0 0 $DIR_PORT localhost."
} >"$ZONES/dir.test"
sign_zone dir.test "$ZONES/dir.test"
auth_zone dir.test "$ZONES/dir.test.signed"
{
	zone_head rogue.test
	echo "_ldap._tcp IN SRV 0 0 $ROGUE_PORT localhost."
} >"$ZONES/rogue.test"
sign_zone rogue.test "$ZONES/rogue.test"
auth_zone rogue.test "$ZONES/rogue.test.signed"
{
	zone_head plain.test
	echo "_ldap._tcp IN SRV 0 0 $DIR_PORT localhost."
} >"$ZONES/plain.test"
auth_zone plain.test "$ZONES/plain.test"
write_ub_conf

start_gnutls_serv alice alice
P=$SERV_PORT
start_daemon "dnssec_config $UB_CONF"

step "G: the peer's certificate is the user's in the directory"
ctl_on daemon policy set @.test client --valexp G
client_accepted g-alice "$P" alice@dir.test
expect_log "$DAEMON_LOG" "DNSSEC: _ldap._tcp.dir.test type 33: secure" "secure SRV logged"

step "G and g: the directory holds another certificate for the user"
client_refused G-bob "$P" bob@dir.test "G: directory localhost: none of the 1 certificates for \(mail=bob@dir.test\) is the peer's"
ctl_on daemon policy set @.test client --valexp g
client_refused g-bob "$P" bob@dir.test "g: directory localhost: none of the 1 certificates"

step "g accepts a user the directory does not know, G does not"
client_accepted g-carol "$P" carol@dir.test
ctl_on daemon policy set @.test client --valexp G
client_refused G-carol "$P" carol@dir.test "G: directory localhost: no certificate for \(mail=carol@dir.test\)"

step "no SRV record (DNSSEC-secure): G refuses, g accepts"
client_refused G-nosrv "$P" dave@sub.dir.test "G: no global directory for sub.dir.test"
ctl_on daemon policy set @.test client --valexp g
client_accepted g-nosrv "$P" dave@sub.dir.test

step "an unsigned SRV record is not followed"
client_refused g-plain "$P" alice@plain.test "g: SRV _ldap._tcp.plain.test is insecure"

step "a directory whose certificate does not chain to the anchors"
client_refused g-rogue "$P" alice@rogue.test "g: directory ldap://localhost:$ROGUE_PORT: StartTLS: "

daemon_alive
pass

# slapd.sh -- a private slapd with syncprov for the pulley scenarios
# (sourced after lib.sh).  The recipe is in ../shared/FIXTURES.md:
# cn=config built offline with slapadd, the tlsPool schema from etc/,
# syncprov with checkpoint 1 1 so no delete is lost on a kill.
#
# start_slapd: sets SLAPD_URI, SLAPD_PORT, SLAPD_PID, SUFFIX, ROOTDN,
# ROOTPW; restart_slapd [-9] stops (SIGTERM or SIGKILL) and starts it
# again on the same port and directory.  ldap_add/ldap_modify/ldap_delete
# FILE-OR-DN run the client tools as the root DN.

SUFFIX="dc=pulley,dc=test"
ROOTDN="cn=admin,$SUFFIX"
ROOTPW="secret-$RANDOM"
SLAPD_DIR=$T/slapd

_write_slapd_config() {
	local hash
	hash=$(slappasswd -s "$ROOTPW") || fail "slappasswd failed"
	mkdir -p "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/data"
	cat >"$SLAPD_DIR/config.ldif" <<EOC
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $SLAPD_DIR/slapd.pid
olcArgsFile: $SLAPD_DIR/slapd.args

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: syncprov

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

EOC
	{
		cat /etc/ldap/schema/core.ldif
		echo
		cat /etc/ldap/schema/cosine.ldif
		echo
		cat "$TOP/etc/tlspool.ldif"
		echo
	} >>"$SLAPD_DIR/config.ldif"
	cat >>"$SLAPD_DIR/config.ldif" <<EOC
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcDbDirectory: $SLAPD_DIR/data
olcDbMaxSize: 1073741824
olcRootDN: $ROOTDN
olcRootPW: $hash
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: entryCSN eq
olcAccess: {0}to * by users read by anonymous read

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 1 1
olcSpSessionlog: 1000
EOC
	slapadd -n0 -F "$SLAPD_DIR/slapd.d" -l "$SLAPD_DIR/config.ldif" \
		>"$SLAPD_DIR/slapadd-config.log" 2>&1 ||
		fail "slapadd of cn=config failed: $(tail -5 "$SLAPD_DIR/slapadd-config.log")"
	cat >"$SLAPD_DIR/base.ldif" <<EOC
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: pulley
o: pulley test

dn: ou=policy,$SUFFIX
objectClass: organizationalUnit
ou: policy

EOC
	slapadd -q -F "$SLAPD_DIR/slapd.d" -b "$SUFFIX" -l "$SLAPD_DIR/base.ldif" \
		>"$SLAPD_DIR/slapadd-base.log" 2>&1 ||
		fail "slapadd of the base entries failed: $(tail -5 "$SLAPD_DIR/slapadd-base.log")"
}

_run_slapd() {
	slapd -d none -h "ldap://127.0.0.1:$SLAPD_PORT/" -F "$SLAPD_DIR/slapd.d" \
		>>"$T/slapd.log" 2>&1 &
	SLAPD_PID=$!
	_track "$SLAPD_PID" "slapd"
	_slapd_up() {
		alive "$SLAPD_PID" || return 0
		ldapsearch -x -H "$SLAPD_URI" -b "$SUFFIX" -s base dn >/dev/null 2>&1
	}
	wait_until 10 _slapd_up || fail "slapd: no answer within 10s"
	alive "$SLAPD_PID" || return 1
	return 0
}

start_slapd() {
	command -v slapd >/dev/null || fail "slapd is not installed (scripts/deps.sh)"
	_write_slapd_config
	local try
	for try in 1 2 3; do
		SLAPD_PORT=$(free_port)
		SLAPD_URI="ldap://127.0.0.1:$SLAPD_PORT/"
		_run_slapd && return 0
		_untrack "$SLAPD_PID"
	done
	fail "slapd did not start: $(tail -5 "$T/slapd.log")"
}

# stop_slapd [-9]
stop_slapd() {
	if [ "${1:-}" = -9 ]; then
		kill -9 "$SLAPD_PID" 2>/dev/null
		wait "$SLAPD_PID" 2>/dev/null
	else
		stop_proc "$SLAPD_PID" 10
	fi
	_untrack "$SLAPD_PID"
}

restart_slapd() {
	stop_slapd "$@"
	local try
	for try in 1 2 3 4 5; do
		_run_slapd && return 0
		_untrack "$SLAPD_PID"
		sleep 0.2
	done
	fail "slapd did not restart: $(tail -5 "$T/slapd.log")"
}

ldap_add() {
	ldapadd -x -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" -f "$1" \
		>>"$T/ldap-client.log" 2>&1 || fail "ldapadd $1 failed: $(tail -3 "$T/ldap-client.log")"
}
ldap_modify() {
	ldapmodify -x -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" -f "$1" \
		>>"$T/ldap-client.log" 2>&1 || fail "ldapmodify $1 failed: $(tail -3 "$T/ldap-client.log")"
}
ldap_delete() {
	ldapdelete -x -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" "$1" \
		>>"$T/ldap-client.log" 2>&1 || fail "ldapdelete $1 failed: $(tail -3 "$T/ldap-client.log")"
}

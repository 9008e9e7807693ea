# scripts/slapd-lib.sh -- cn=config for a private slapd, shared by
# scripts/e2e-lib.sh (the distribution chain demo) and
# tests/integration/slapd.sh (the pulley, crank and shaft scenarios).
# The recipe is in FIXTURES.md: cn=config built offline with slapadd,
# back_mdb with syncprov (checkpoint 1 1, so no delete is lost on a
# kill), the tlsPool schema from etc/.  Source it (bash); it only
# defines functions.
#
# slapd_config_ldif DIR SUFFIX SCHEMA_LDIF ROOTDN ROOTPW_HASH GLOBAL ACCESS...
#   prints the cn=config LDIF: pid and args files in DIR, the database
#   in DIR/data, GLOBAL (more olcGlobal lines, may be empty), a root DN
#   unless ROOTDN is empty, and the database's olcAccess values in order
#   (each "to ... by ..."); cn=config itself is managed by root over
#   ldapi (SASL EXTERNAL) only.
slapd_config_ldif() {
	local dir=$1 suffix=$2 schema=$3 rootdn=$4 hash=$5 global=$6 i=0 a
	shift 6
	cat <<EOC
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args
EOC
	[ -n "$global" ] && printf '%s\n' "$global"
	cat <<EOC

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
	cat /etc/ldap/schema/core.ldif
	echo
	cat /etc/ldap/schema/cosine.ldif
	echo
	cat "$schema"
	echo
	cat <<EOC
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
olcSuffix: $suffix
olcDbDirectory: $dir/data
olcDbMaxSize: 1073741824
EOC
	if [ -n "$rootdn" ]; then
		echo "olcRootDN: $rootdn"
		echo "olcRootPW: $hash"
	fi
	echo "olcDbIndex: objectClass eq"
	echo "olcDbIndex: entryUUID eq"
	echo "olcDbIndex: entryCSN eq"
	for a in "$@"; do
		echo "olcAccess: {$i}$a"
		i=$((i + 1))
	done
	cat <<EOC

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 1 1
olcSpSessionlog: 1000
EOC
}

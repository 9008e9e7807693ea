#!/bin/bash
# The global directory's LDAP exchange (valexp G/g, daemon/gdir.c) on
# Windows: tests/windows/gdir_fetch.c, built here against the cross-built
# libldap, under wine asks a Linux slapd on 127.0.0.1 (StartTLS, its
# certificate from a CA made here; userCertificate;binary values) as the
# daemon would after the SRV step, which needs DNSSEC and is not in the
# Windows build yet.  Cases: the peer's certificate is the user's, another
# one is stored, no such user, no such base, the directory's certificate
# from another CA, no trust anchors, a name the certificate does not
# have, the anchors as a directory, ten queries at once on helper
# threads, an ldaprc ignored, nothing listening, a server that never
# answers (the timeout).  Then the daemon (when built, and a Linux
# tlspool-ctl to write its policy): G and g refused, "DNSSEC is not
# available in the Windows build".
#
#   WINEPREFIX  (default /tmp/winldap-wine)   KEEP_TMP=1 keeps the temp dir
#   TLSPOOL_WIN_CACHE  the deps cache (default /var/cache/tlspool-win)
#   DAEMON_EXE  (default _build/win64/windows/tlspool-daemon.exe)
#   CTL         a Linux tlspool-ctl (default: one under _build/)
#
# Prints "PASS/FAIL name" lines and "N passed, N failed"; exit 1 on any
# failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
export WINEPREFIX=${WINEPREFIX:-/tmp/winldap-wine} WINEDEBUG=-all
WINE=${WINE:-$(command -v wine64 || command -v wine)}
HOST=x86_64-w64-mingw32
PREFIX=${TLSPOOL_WIN_CACHE:-/var/cache/tlspool-win}/$HOST
T=$(mktemp -d /tmp/t_gdir.XXXXXX)
passed=0 failed=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "PASS $1"; passed=$((passed + 1)); }
ko() {
	echo "FAIL $1${2:+: $2}"
	failed=$((failed + 1))
}
bail() { echo "$1"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
winpath() { echo "Z:$1" | tr / '\\'; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

command -v slapd >/dev/null || bail "slapd missing (package slapd)"
# shellcheck disable=SC2046
${HOST}-gcc -std=gnu11 -Wall -Wextra -Werror -Wno-format -pthread \
	-include "$top/windows/daemon_compat.h" -I"$top/windows/posix" \
	-I"$top/include" -I"$top/lib" -I"$top/daemon" -I"$top/windows" \
	-I"$PREFIX/include" "$top/daemon/gdir.c" "$top/windows/gdir_srv_none.c" \
	"$top/windows/gnutls_static_win32.c" "$top/tests/windows/gdir_fetch.c" \
	-o "$T/gdir_fetch.exe" -static \
	$(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig pkg-config --static --libs ldap) \
	-lws2_32 -lcrypt32 -lncrypt -lbcrypt >"$T/cc.out" 2>&1 ||
	bail "cannot build gdir_fetch.exe: $(head -5 "$T/cc.out")"

# ---- two CAs; the directory's certificate from each; two users' ----
ca() {
	printf 'cn = "%s"\nca\ncert_signing_key\nexpiration_days = 3\n' "$1" \
		>"$T/$1.tmpl"
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/$1.key" >/dev/null 2>&1 &&
	certtool --generate-self-signed --load-privkey "$T/$1.key" \
		--template "$T/$1.tmpl" --outfile "$T/$1.pem" >/dev/null 2>&1
}
leaf() {	# leaf NAME CA DNSNAME...
	local n=$1 c=$2 d
	shift 2
	{
		printf 'cn = "%s"\nsigning_key\ntls_www_server\ntls_www_client\n' "$1"
		printf 'expiration_days = 2\n'
		for d in "$@"; do printf 'dns_name = "%s"\n' "$d"; done
	} >"$T/$n.tmpl"
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/$n.key" >/dev/null 2>&1 &&
	certtool --generate-certificate --load-privkey "$T/$n.key" \
		--load-ca-certificate "$T/$c.pem" --load-ca-privkey "$T/$c.key" \
		--template "$T/$n.tmpl" --outfile "$T/$n.pem" >/dev/null 2>&1 &&
	certtool --certificate-info --infile "$T/$n.pem" --outder \
		--outfile "$T/$n.der" >/dev/null 2>&1
}
# libldap may check the name it finds for the peer address, so the
# directory's certificate names every name 127.0.0.1 has here.
sans=(localhost)
for n in $(awk '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) print $i }' /etc/hosts) $(hostname); do
	sans+=("$n")
done
ca ca && ca rogue && leaf ldap ca "${sans[@]}" &&
	leaf rogueldap rogue "${sans[@]}" && leaf alice ca alice.dir.test &&
	leaf other ca other.dir.test || bail "certtool failed"
mkdir -p "$T/cadir" && cp "$T/ca.pem" "$T/cadir/ca.pem"

# ---- slapd NAME CERT: StartTLS with CERT; sets PORT ----
slapd_start() {
	local d=$T/$1 cert=$2 port
	mkdir -p "$d/slapd.d" "$d/db"
	cat >"$d/config.ldif" <<-LDIF
		dn: cn=config
		objectClass: olcGlobal
		cn: config
		olcPidFile: $d/slapd.pid
		olcTLSCertificateFile: $T/$cert.pem
		olcTLSCertificateKeyFile: $T/$cert.key

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
		olcDbMaxSize: 16777216
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
		userCertificate;binary:< file://$T/alice.der

		dn: uid=bob,dc=dir,dc=test
		objectClass: inetOrgPerson
		uid: bob
		cn: bob
		sn: bob
		mail: bob@dir.test
		userCertificate;binary:< file://$T/other.der

		dn: uid=erin,dc=dir,dc=test
		objectClass: inetOrgPerson
		uid: erin
		cn: erin
		sn: erin
		mail: erin@dir.test
	LDIF
	slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.out" 2>&1 &&
		slapadd -q -F "$d/slapd.d" -b dc=dir,dc=test -l "$d/base.ldif" \
			>>"$d/slapadd.out" 2>&1 || return 1
	for _ in 1 2 3; do
		port=$(free_port)
		slapd -d none -h "ldap://127.0.0.1:$port/" -F "$d/slapd.d" \
			>"$d/slapd.log" 2>&1 &
		pids+=($!)
		if wait_port "$port"; then
			PORT=$port
			return 0
		fi
	done
	return 1
}
slapd_start dir ldap && DIR=$PORT || bail "slapd: $(tail -3 "$T/dir/slapadd.out" "$T/dir/slapd.log" 2>/dev/null)"
slapd_start rogue rogueldap && ROGUE=$PORT || bail "slapd (rogue) did not start"
# The directory answers over StartTLS with our CA (Linux ldapsearch).
LDAPTLS_CACERT=$T/ca.pem ldapsearch -x -ZZ -H "ldap://localhost:$DIR" \
	-b dc=dir,dc=test '(mail=alice@dir.test)' 'userCertificate;binary' \
	>"$T/ldapsearch.out" 2>&1 &&
	grep -q '^userCertificate;binary::' "$T/ldapsearch.out" &&
	ok linux_ldapsearch || ko linux_ldapsearch "$(tail -2 "$T/ldapsearch.out")"

# A server that accepts and never answers: the timeouts.
SILENT=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); c = []
while True: c.append(s.accept()[0])' "$SILENT" &
pids+=($!)
wait_port "$SILENT" || bail "the silent server did not start"
CLOSED=$(free_port)

# fetch NAME EXPECT WHY_REGEX HOST PORT ID CA PEER
fetch() {
	local name=$1 want=$2 why=$3 out
	shift 3
	timeout 60 "$WINE" "$T/gdir_fetch.exe" "$@" >"$T/$name.out" \
		2>"$T/$name.err"
	out=$(tr -d '\r' <"$T/$name.out")
	echo "   $name: $out"
	if [[ "$out" =~ ^$want\ [0-9]+\ .*$why ]]; then
		ok "$name"
	else
		ko "$name" "wanted $want /$why/; $(tail -2 "$T/$name.err" | tr '\n' ' ')"
	fi
}
CA=$(winpath "$T/ca.pem")
fetch match MATCH "holds the certificate for \(mail=alice@dir.test\)" \
	localhost "$DIR" alice@dir.test "$CA" "$(winpath "$T/alice.der")"
fetch other_cert MISMATCH "none of the 1 certificates for \(mail=bob@dir.test\)" \
	localhost "$DIR" bob@dir.test "$CA" "$(winpath "$T/alice.der")"
fetch no_user NOT_FOUND "no certificate for \(mail=carol@dir.test\)" \
	localhost "$DIR" carol@dir.test "$CA" "$(winpath "$T/alice.der")"
fetch no_cert_stored NOT_FOUND "no certificate for \(mail=erin@dir.test\)" \
	localhost "$DIR" erin@dir.test "$CA" "$(winpath "$T/alice.der")"
fetch no_base NOT_FOUND "no dc=sub,dc=dir,dc=test" \
	localhost "$DIR" alice@sub.dir.test "$CA" "$(winpath "$T/alice.der")"
fetch cadir MATCH "holds the certificate" \
	localhost "$DIR" alice@dir.test "$(winpath "$T/cadir")" "$(winpath "$T/alice.der")"
fetch rogue_directory UNAVAILABLE "StartTLS: " \
	localhost "$ROGUE" alice@dir.test "$CA" "$(winpath "$T/alice.der")"
fetch no_anchors UNAVAILABLE "StartTLS: " \
	localhost "$DIR" alice@dir.test - "$(winpath "$T/alice.der")"
fetch wrong_name UNAVAILABLE "StartTLS: " \
	127.0.0.1 "$DIR" alice@dir.test "$CA" "$(winpath "$T/alice.der")"
# Ten at once through gdir_start (helper threads): at most GDIR_THREADS
# (8) run, every one started finds the certificate, the others are BUSY.
timeout 60 "$WINE" "$T/gdir_fetch.exe" -n 10 localhost "$DIR" alice@dir.test \
	"$CA" "$(winpath "$T/alice.der")" >"$T/many.out" 2>"$T/many.err"
m=$(grep -c '^MATCH [0-9]* directory localhost holds' "$T/many.out")
b=$(grep -c '^BUSY ' "$T/many.out")
echo "   concurrent: $m MATCH, $b BUSY"
if [ "$m" -ge 8 ] && [ $((m + b)) = 10 ]; then
	ok concurrent
else
	ko concurrent "$(tr -d '\r' <"$T/many.out" | sort | uniq -c | head -3 | tr '\n' ' ')"
fi

# libldap reads no ldaprc (here: in the working directory; this one
# would make every connection fail), ldap.conf or LDAP* variables.
mkdir -p "$T/rc" && echo "SOCKET_BIND_ADDRESSES 192.0.2.1" >"$T/rc/ldaprc"
cd "$T/rc" || bail "no $T/rc"
fetch ldaprc_ignored MATCH "holds the certificate" \
	localhost "$DIR" alice@dir.test "$CA" "$(winpath "$T/alice.der")"
cd "$top" || bail "no $top"
fetch nothing_listening UNAVAILABLE "ldap://localhost:$CLOSED: StartTLS: " \
	localhost "$CLOSED" alice@dir.test "$CA" "$(winpath "$T/alice.der")"
fetch silent_server UNAVAILABLE "ldap://localhost:$SILENT: StartTLS: " \
	localhost "$SILENT" alice@dir.test "$CA" "$(winpath "$T/alice.der")"
# GDIR_TIMEOUT_MS is 3 s: the silent server costs about that, not more.
secs=$(awk '{ print $2 }' "$T/silent_server.out" 2>/dev/null)
if [ -n "$secs" ] && [ "$secs" -ge 2 ] && [ "$secs" -le 10 ]; then
	ok silent_server_timeout
else
	ko silent_server_timeout "took ${secs:-?} s"
fi

# ---- the daemon: G and g fail closed at the SRV step (no DNSSEC) ----
# The policy is written by the Linux tlspool-ctl into a fresh BerkeleyDB
# environment; without its region files the Windows daemon recovers the
# environment (DB_RECOVER) over the same database files and log.
DAEMON_EXE=${DAEMON_EXE:-$top/_build/win64/windows/tlspool-daemon.exe}
CTL=${CTL:-$(find "$top/_build" -path '*/tools/tlspool-ctl' -not -path '*/win64/*' 2>/dev/null | head -1)}
if [ -f "$DAEMON_EXE" ] && [ -x "${CTL:-/nonexistent}" ]; then
	mkdir -p "$T/db" "$T/localid" "$T/state"
	"$CTL" -d "$T/db" policy set @.test client --valexp G >"$T/ctl.out" 2>&1 &&
		"$CTL" -d "$T/db" policy set @.example client --valexp g \
			>>"$T/ctl.out" 2>&1 || ko policy_set "$(tail -2 "$T/ctl.out")"
	rm -f "$T"/db/__db.*
	PIPE='\\.\pipe\tlspool-gdir-'$$
	cat >"$T/daemon.conf" <<-EOF
		socket_name $PIPE
		dbenv_dir $(winpath "$T/db")
		localid_dir $(winpath "$T/localid")
		state_dir $(winpath "$T/state")
		trust_anchors $(winpath "$T/ca.pem")
		trust_system no
		log_level info
		log_stderr yes
		workers 2
		handshake_timeout 10000
	EOF
	SERV=$(free_port)
	gnutls-serv --echo -p "$SERV" --x509certfile "$T/ldap.pem" \
		--x509keyfile "$T/ldap.key" >"$T/serv.log" 2>&1 &
	pids+=($!)
	"$WINE" "$DAEMON_EXE" -c "$(winpath "$T/daemon.conf")" -f \
		>"$T/daemon.log" 2>&1 &
	DPID=$!
	pids+=("$DPID")
	for _ in $(seq 60); do
		grep -q "listening on" "$T/daemon.log" 2>/dev/null && break
		sleep 0.5
	done
	${HOST}-gcc -std=gnu11 -Wall -Wextra -Werror -I"$top/include" \
		-I"$top/windows" "$top/tests/windows/pool_client.c" \
		-o "$T/pool_client.exe" -lws2_32 || ko pool_client_build
	wait_port "$SERV" || ko gnutls_serv
	# refused NAME REMOTEID REASON
	refused() {
		timeout 60 "$WINE" "$T/pool_client.exe" "$PIPE" refuse "$SERV" \
			"$2" >"$T/$1.out" 2>&1
		echo "   $1: $(tr -d '\r' <"$T/$1.out")"
		if grep -q "^ERROR" "$T/$1.out" &&
		   grep -qF "$3" "$T/daemon.log"; then
			ok "$1"
		else
			ko "$1" "$(tail -3 "$T/daemon.log" | tr '\n' ' ')"
		fi
	}
	refused daemon_G_fails_closed alice@dir.test "G: SRV _ldap._tcp.dir.test: no answer: DNSSEC is not available in the Windows build"
	refused daemon_g_fails_closed carol@dir.example "g: SRV _ldap._tcp.dir.example: no answer: DNSSEC is not available in the Windows build"
	kill "$DPID" 2>/dev/null
else
	echo "SKIP daemon_G_fails_closed (no $DAEMON_EXE or Linux tlspool-ctl; CTL=...)"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

#!/bin/bash
# The global directory's LDAP exchange (valexp G/g, daemon/gdir.c) on
# Windows.  First tests/windows/gdir_fetch.c, built here against the
# cross-built libldap and ldns, under wine asks a Linux slapd on 127.0.0.1
# (StartTLS, its certificate from a CA made here; userCertificate;binary
# values) as the daemon does after the SRV step.  Cases: the peer's
# certificate is the user's, another one is stored, no such user, no such
# base, the directory's certificate from another CA, no trust anchors, a
# name the certificate does not have, the anchors as a directory, ten
# queries at once on helper threads, an ldaprc ignored, nothing
# listening, a server that never answers (the timeout).  Then the daemon
# end to end (when built, and a Linux tlspool-ctl to write its rules):
# the SRV record _ldap._tcp.<domain> in zones signed at test time and
# loaded by its libunbound (dnssec_config), the directory that slapd,
# a Linux gnutls-serv with alice's certificate: G accepts alice (match),
# refuses bob (another certificate) and erin (none stored); g accepts
# carol (not in the directory), refuses dave (another certificate); a
# DNSSEC-secure "no SRV" refuses G and passes g; an unsigned SRV and a
# directory of an untrusted CA refuse G.
#
#   WINEPREFIX  (default: a new one in the temp dir, removed at the end)
#   KEEP_TMP=1 keeps the temp dir
#   TLSPOOL_WIN_CACHE  the deps cache (default /var/cache/tlspool-win)
#   DAEMON_EXE  (default _build/win64/windows/tlspool-daemon.exe)
#   CTL         a Linux tlspool-ctl (default: one under _build/)
#
# Prints "PASS/FAIL name" lines and "N passed, N failed"; exit 1 on any
# failure.
set -u
# shellcheck source=tests/windows/winlib.sh
. "$(dirname "$0")/winlib.sh"
# shellcheck source=scripts/slapd-lib.sh
. "$(dirname "$0")/../../scripts/slapd-lib.sh"
win_setup gdir
HOST=x86_64-w64-mingw32
PREFIX=${TLSPOOL_WIN_CACHE:-/var/cache/tlspool-win}/$HOST

command -v slapd >/dev/null || bail "slapd missing (package slapd)"
# shellcheck disable=SC2046
${HOST}-gcc -std=gnu11 -Wall -Wextra -Werror -Wno-format -pthread \
	-include "$top/windows/daemon_compat.h" -I"$top/windows/posix" \
	-I"$top/include" -I"$top/lib" -I"$top/daemon" -I"$top/windows" \
	$(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig pkg-config --cflags ldap ldns) \
	"$top/daemon/gdir.c" "$top/daemon/gdir_srv.c" \
	"$top/windows/gnutls_static_win32.c" "$top/tests/windows/gdir_fetch.c" \
	-o "$T/gdir_fetch.exe" -static \
	$(PKG_CONFIG_LIBDIR=$PREFIX/lib/pkgconfig pkg-config --static --libs ldap ldns) \
	-lws2_32 -lcrypt32 -lncrypt -lbcrypt >"$T/cc.out" 2>&1 ||
	bail "cannot build gdir_fetch.exe: $(head -5 "$T/cc.out")"

# ---- two CAs; the directory's certificate from each; two users' ----
leaf() {	# leaf NAME CA DNSNAME...
	local n=$1 c=$2 d
	shift 2
	win_leaf "$n" "$c" "$(
		printf 'cn = "%s"\nsigning_key\ntls_www_server\ntls_www_client\n' "$1"
		printf 'expiration_days = 2\n'
		for d in "$@"; do printf 'dns_name = "%s"\n' "$d"; done
	)" &&
	certtool --certificate-info --infile "$T/$n.pem" --outder \
		--outfile "$T/$n.der" >/dev/null 2>&1
}
# libldap may check the name it finds for the peer address, so the
# directory's certificate names every name 127.0.0.1 has here.
sans=(localhost)
for n in $(awk '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) print $i }' /etc/hosts) $(hostname); do
	sans+=("$n")
done
win_ca ca && win_ca rogue && leaf ldap ca "${sans[@]}" &&
	leaf rogueldap rogue "${sans[@]}" && leaf alice ca alice.dir.test &&
	leaf other ca other.dir.test || bail "certtool failed"
mkdir -p "$T/cadir" && cp "$T/ca.pem" "$T/cadir/ca.pem"

# ---- slapd NAME CERT: StartTLS with CERT; sets PORT ----
slapd_start() {
	local d=$T/$1 cert=$2 port
	mkdir -p "$d/slapd.d" "$d/data"
	slapd_config_ldif "$d" dc=dir,dc=test /etc/ldap/schema/inetorgperson.ldif \
		"" "" "olcTLSCertificateFile: $T/$cert.pem
olcTLSCertificateKeyFile: $T/$cert.key" "to * by * read" >"$d/config.ldif"
	{
		printf 'dn: dc=dir,dc=test\nobjectClass: dcObject\n'
		printf 'objectClass: organization\no: dir\ndc: dir\n'
		# user:the certificate stored (none for erin)
		for u in alice:alice bob:other dave:other erin:; do
			printf '\ndn: uid=%s,dc=dir,dc=test\nobjectClass: inetOrgPerson\n' "${u%%:*}"
			printf 'uid: %s\ncn: %s\nsn: %s\nmail: %s@dir.test\n' \
				"${u%%:*}" "${u%%:*}" "${u%%:*}" "${u%%:*}"
			[ -z "${u#*:}" ] ||
				printf 'userCertificate;binary:< file://%s\n' "$T/${u#*:}.der"
		done
	} >"$d/base.ldif"
	slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.out" 2>&1 &&
		slapadd -q -F "$d/slapd.d" -b dc=dir,dc=test -l "$d/base.ldif" \
			>>"$d/slapadd.out" 2>&1 || return 1
	for _ in 1 2 3; do
		port=$(free_port)
		slapd -d none -h "ldap://127.0.0.1:$port/" -F "$d/slapd.d" \
			>"$d/slapd.log" 2>&1 &
		win_track $!
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
win_track $!
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

# ---- the daemon: G and g end to end ----
# The SRV record _ldap._tcp.<domain> is in zones signed here (ldns-keygen,
# ldns-signzone) that the daemon's libunbound loads as auth-zones
# (dnssec_config, Z:\ paths), as in t_dane.sh; its target "localhost."
# is resolved by libldap through the Windows resolver (wine: the
# prefix's hosts file).  The policy rules are written by the Linux
# tlspool-ctl into a fresh BerkeleyDB environment; without its region
# files the Windows daemon recovers the environment (DB_RECOVER) over the
# same database files and log.  The TLS server is a Linux gnutls-serv
# with alice's certificate.
daemon_cases="G_match G_mismatch G_no_cert g_no_entry g_mismatch G_no_srv g_no_srv G_unsigned_srv G_rogue_directory"
if [ ! -f "$DAEMON_EXE" ] || [ ! -x "${CTL:-/nonexistent}" ]; then
	ko daemon_cases "no $DAEMON_EXE or Linux tlspool-ctl (CTL=$CTL): $daemon_cases not run"
	summary
	exit
fi
command -v ldns-signzone >/dev/null || bail "ldns-signzone missing (package ldnsutils)"
win_build_client

Z=$T/zones
mkdir -p "$Z"
{ zone_head dir.test; echo "_ldap._tcp IN SRV 0 0 $DIR localhost."; } >"$Z/dir.test"
{ zone_head rogue.test; echo "_ldap._tcp IN SRV 0 0 $ROGUE localhost."; } >"$Z/rogue.test"
{ zone_head plain.test; echo "_ldap._tcp IN SRV 0 0 $DIR localhost."; } >"$Z/plain.test"
sign_zone dir.test && sign_zone rogue.test ||
	bail "ldns-signzone failed: $(cat "$Z"/*.sign.out | tail -3)"
auth_zone dir.test "$Z/dir.test.signed"
auth_zone rogue.test "$Z/rogue.test.signed"
auth_zone plain.test "$Z/plain.test"
unbound_conf >"$Z/unbound.conf"

# G for every user in .test; g for some (a rule per user is more
# concrete than the domain's).
ctl_ok=1
win_policy "$T/db" policy set @.test client --valexp G || ctl_ok=0
for u in carol@dir.test dave@dir.test frank@sub.dir.test; do
	win_policy "$T/db" policy set "$u" client --valexp g || ctl_ok=0
done
[ $ctl_ok = 1 ] || bail "tlspool-ctl policy set: $(tail -2 "$T/db.ctl.out")"
win_db_portable "$T/db"
PIPE='\\.\pipe\tlspool-gdir-'$$
win_daemon_conf "$PIPE" "$T" "trust_anchors $(winpath "$T/ca.pem")" \
	"dnssec_config $(winpath "$Z/unbound.conf")" >"$T/daemon.conf"
win_echo_server "$T/alice.pem" "$T/alice.key" "$T/serv.log" ||
	bail "gnutls-serv did not start: $(tail -2 "$T/serv.log")"
SERV=$PORT
win_start_daemon "$T/daemon.conf" "$T/daemon.log" ||
	bail "the daemon did not start: $(tail -5 "$T/daemon.log" | tr '\n' ' ')"

client() { pool_client "$PIPE" "$@"; }
# accepted NAME REMOTEID LOGGED: the echo works and the daemon logged
# LOGGED (the directory's answer).  refused NAME REMOTEID REASON: the client gets
# an ERROR that begins the reason (the wire's error text is cut at 128
# bytes), the daemon's "refused" line for REMOTEID has all of it.
accepted() { win_echoed "$1" "$3" client echo "$SERV" "$2"; }
refused() {
	if client refuse "$SERV" "$2" >"$T/$1.out" 2>&1 &&
	   grep -a "^ERROR" "$T/$1.out" | grep -qF "${3:0:40}" &&
	   grep -a "refused client role, .* remote=\"$2\": " "$T/daemon.log" |
		grep -qF "$3"; then
		ok "$1"
		grep -a "^ERROR" "$T/$1.out" | tr -d '\r' | sed 's/^/   reason: /'
	else
		ko "$1" "wanted \"$3\"; $(tr -d '\r' <"$T/$1.out" | tr '\n' ' ')"
	fi
}
accepted G_match alice@dir.test \
	"directory localhost holds the certificate for (mail=alice@dir.test)"
if grep -aq "DNSSEC: _ldap._tcp.dir.test type 33: secure" "$T/daemon.log"; then
	ok G_srv_secure_logged
else
	ko G_srv_secure_logged "$(grep -a DNSSEC "$T/daemon.log" | tail -2 | tr '\n' ' ')"
fi
refused G_mismatch bob@dir.test \
	"G: directory localhost: none of the 1 certificates for (mail=bob@dir.test) is the peer's"
refused G_no_cert erin@dir.test \
	"G: directory localhost: no certificate for (mail=erin@dir.test)"
accepted g_no_entry carol@dir.test \
	"directory localhost: no certificate for (mail=carol@dir.test)"
refused g_mismatch dave@dir.test \
	"g: directory localhost: none of the 1 certificates for (mail=dave@dir.test)"
refused G_no_srv dave@sub.dir.test "G: no global directory for sub.dir.test"
accepted g_no_srv frank@sub.dir.test "no global directory for sub.dir.test"
refused G_unsigned_srv alice@plain.test "G: SRV _ldap._tcp.plain.test is insecure"
refused G_rogue_directory alice@rogue.test \
	"G: directory ldap://localhost:$ROGUE: StartTLS: "
if kill -0 "$DPID" 2>/dev/null; then ok daemon_alive; else ko daemon_alive; fi
kill "$DPID" 2>/dev/null

summary

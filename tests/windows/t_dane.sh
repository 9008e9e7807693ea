#!/bin/bash
# DANE and DNSSEC in the Windows daemon under wine: zones signed here at
# test time (ldns-keygen, ldns-signzone) are loaded by the daemon's
# libunbound as auth-zones (dnssec_config, a libunbound config file with
# Z:/ paths); Linux gnutls-serv --echo on 127.0.0.1 with random ports;
# the client side is tests/windows/pool_client.c.  No policy rule: with
# DNSSEC on, the client default is dIT&| (DANE where secure TLSA exists).
# Cases: 3 1 1 for a server of a CA the daemon does not trust (accepted
# through DANE only), 3 1 1 that does not match (refused with the reason),
# no TLSA in a secure zone (d falls back to I&T), a bogus signature
# (refused), an insecure zone (falls back); the signed zone once more
# through dnssec_forwarder, served by a Linux nsd.  With a Linux tlspool-ctl
# (CTL) a rule "valexp D" for .strict.dane.test is written into the policy
# databases before the daemon starts (the files are portable; Linux's
# environment regions are removed): there a missing TLSA refuses.
#
#   DAEMON_EXE  the daemon (default: _build/win64/windows/tlspool-daemon.exe)
#   CTL         a Linux tlspool-ctl (default: _build/main/tools/tlspool-ctl, scripts/test.sh's)
#   WINEPREFIX  (default: a new one in the temp dir, removed at the end)
#   KEEP_TMP=1 keeps the temp dir
#
# Prints "PASS/FAIL name" lines and "N passed, N failed"; exit 1 on any
# failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
DAEMON_EXE=${DAEMON_EXE:-$top/_build/win64/windows/tlspool-daemon.exe}
WINE=${WINE:-$(command -v wine64 || command -v wine)}
CC=${CC_WIN:-x86_64-w64-mingw32-gcc}
T=$(mktemp -d /tmp/t_dane.XXXXXX)
own_prefix=
if [ -z "${WINEPREFIX:-}" ]; then
	own_prefix=$T/wine
	export WINEPREFIX=$own_prefix
fi
export WINEDEBUG=-all
Z=$T/zones
PIPE='\\.\pipe\tlspool-dane-'$$
passed=0 failed=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "$own_prefix" ] && wineserver -k 2>/dev/null
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
client() { timeout 60 "$WINE" "$T/pool_client.exe" "$PIPE" "$@"; }

[ -f "$DAEMON_EXE" ] || bail "no $DAEMON_EXE"
$CC -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -I"$top/windows" \
	"$top/tests/windows/pool_client.c" -o "$T/pool_client.exe" -lws2_32 ||
	bail "cannot build pool_client.exe"

# ---- two CAs; the daemon trusts "ca" only ----
ca() {
	printf 'cn = "%s"\nca\ncert_signing_key\nexpiration_days = 3\n' "$1" \
		>"$T/$1.tmpl"
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/$1.key" >/dev/null 2>&1 &&
	certtool --generate-self-signed --load-privkey "$T/$1.key" \
		--template "$T/$1.tmpl" --outfile "$T/$1.pem" >/dev/null 2>&1
}
leaf() {	# leaf NAME CA
	printf 'cn = "srv"\ndns_name = "*.dane.test"\ndns_name = "*.bogus.test"\ndns_name = "*.insec.test"\nsigning_key\ntls_www_server\nexpiration_days = 2\n' \
		>"$T/$1.tmpl"
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/$1.key" >/dev/null 2>&1 &&
	certtool --generate-certificate --load-privkey "$T/$1.key" \
		--load-ca-certificate "$T/$2.pem" --load-ca-privkey "$T/$2.key" \
		--template "$T/$1.tmpl" --outfile "$T/$1.pem" >/dev/null 2>&1 &&
	cat "$T/$1.pem" "$T/$2.pem" >"$T/$1.chain.pem"
}
spki() {	# the SHA-256 of a certificate's SubjectPublicKeyInfo
	certtool --certificate-pubkey --outder --infile "$1" 2>/dev/null |
		sha256sum | cut -c1-64
}
ca ca && ca other && leaf good ca && leaf evil other || bail "certtool failed"
GOOD_SPKI=$(spki "$T/good.pem")
EVIL_SPKI=$(spki "$T/evil.pem")
WRONG=$(spki "$T/other.pem")

serve() {	# serve NAME: gnutls-serv --echo with NAME's chain; sets PORT
	local port
	for _ in 1 2 3; do
		port=$(free_port)
		gnutls-serv --echo -p "$port" --x509certfile "$T/$1.chain.pem" \
			--x509keyfile "$T/$1.key" >"$T/serv-$1.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 50); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				PORT=$port
				return 0
			fi
			sleep 0.1
		done
	done
	return 1
}
serve good && P=$PORT || bail "gnutls-serv did not start"
serve evil && E=$PORT || bail "gnutls-serv did not start"

# ---- zones, signed now; libunbound config with Z:/ paths ----
mkdir -p "$Z"
zpath() { echo "Z:$1"; }
zone_head() {
	printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' \
		"$1" "$1" "$1" "$1"
}
sign_zone() {	# sign_zone ZONE: ZONE.signed, the KSK's DS a trust anchor
	local ksk zsk
	( cd "$Z" &&
		ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$1") &&
		zsk=$(ldns-keygen -a ECDSAP256SHA256 "$1") &&
		ldns-signzone -f "$1.signed" "$1" "$ksk" "$zsk" &&
		echo "$ksk" >"$1.ksk" ) >"$Z/$1.sign.out" 2>&1 || return 1
	echo "	trust-anchor-file: \"$(zpath "$Z/$(cat "$Z/$1.ksk").ds")\"" \
		>>"$Z/anchors.conf"
}
auth_zone() {	# auth_zone ZONE FILE
	printf 'auth-zone:\n\tname: "%s."\n\tzonefile: "%s"\n\tfor-upstream: yes\n\tfor-downstream: no\n\tfallback-enabled: no\n' \
		"$1" "$(zpath "$2")" >>"$Z/authzones.conf"
}
{
	zone_head dane.test
	echo "_$E._tcp.h311 IN TLSA 3 1 1 $EVIL_SPKI"
	echo "_$P._tcp.hgood IN TLSA 3 1 1 $GOOD_SPKI"
	echo "_$P._tcp.hnone IN TLSA 3 1 1 $WRONG"
	# a node of its own: a name below an empty non-terminal is bogus
	# ("nameerror proof failed"), with Linux libunbound too
	echo "strict IN A 127.0.0.1"
	echo "_$E._tcp.h311.strict IN TLSA 3 1 1 $EVIL_SPKI"
} >"$Z/dane.test"
{ zone_head bogus.test; echo "_$P._tcp.h IN TLSA 3 1 1 $GOOD_SPKI"; } >"$Z/bogus.test"
{ zone_head insec.test; echo "_$P._tcp.h IN TLSA 3 1 1 $WRONG"; } >"$Z/insec.test"
sign_zone dane.test && sign_zone bogus.test ||
	bail "ldns-signzone failed: $(cat "$Z"/*.sign.out | tail -3)"
# bogus: a record changed after signing
sed -i -E "s/(TLSA[[:space:]]+3 1 1 )[0-9a-fA-F]{64}/\1$WRONG/" "$Z/bogus.test.signed"
auth_zone dane.test "$Z/dane.test.signed"
auth_zone bogus.test "$Z/bogus.test.signed"
auth_zone insec.test "$Z/insec.test"
{
	echo "server:"
	echo "	module-config: \"validator iterator\""
	echo "	local-zone: \"test.\" nodefault"
	echo "	use-syslog: no"
	echo "	verbosity: 0"
	cat "$Z/anchors.conf" "$Z/authzones.conf"
} >"$Z/unbound.conf"

# ---- the daemon ----
mkdir -p "$T/db" "$T/localid" "$T/state"
CTL=${CTL:-$top/_build/main/tools/tlspool-ctl}
strict=0
if [ -x "$CTL" ]; then
	printf 'dbenv_dir %s\n' "$T/db" >"$T/ctl.conf"
	if "$CTL" -c "$T/ctl.conf" policy set .strict.dane.test client \
		--valexp D >"$T/ctl.out" 2>&1; then
		rm -f "$T"/db/__db.*	# Linux's regions; the daemon makes its own
		strict=1
	else
		ko policy_rule_written "$(tail -2 "$T/ctl.out" | tr '\n' ' ')"
	fi
fi
cat >"$T/daemon.conf" <<EOF2
socket_name $PIPE
dbenv_dir $(winpath "$T/db")
localid_dir $(winpath "$T/localid")
state_dir $(winpath "$T/state")
trust_anchors $(winpath "$T/ca.pem")
trust_system no
dnssec_config $(winpath "$Z/unbound.conf")
dane_service_ports https=443
log_level info
log_stderr yes
workers 2
handshake_timeout 10000
EOF2
start_daemon() {	# start_daemon CONF LOG: sets DPID, 0 once it listens
	"$WINE" "$DAEMON_EXE" -c "$(winpath "$1")" -f >"$2" 2>&1 &
	DPID=$!
	pids+=($DPID)
	for _ in $(seq 60); do
		grep -q "listening on" "$2" 2>/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}
if start_daemon "$T/daemon.conf" "$T/daemon.log"; then
	ok daemon_starts_with_dnssec
else
	ko daemon_starts_with_dnssec "$(tail -5 "$T/daemon.log" | tr '\n' ' ')"
	echo "$passed passed, $failed failed"
	exit 1
fi

# accepted NAME PORT HOST / refused NAME PORT HOST REASON-REGEX
accepted() {
	local t0=$SECONDS
	if client echo "$2" "$3" >"$T/$1.out" 2>&1 &&
	   grep -q "OK echoed hello pool" "$T/$1.out"; then
		ok "$1 ($((SECONDS - t0)) s)"
	else
		ko "$1" "$(tr '\n' ' ' <"$T/$1.out")"
	fi
}
refused() {
	if client refuse "$2" "$3" >"$T/$1.out" 2>&1 &&
	   grep -a "^ERROR" "$T/$1.out" | grep -Eq "$4"; then
		ok "$1"
		grep -a "^ERROR" "$T/$1.out" | sed 's/^/   reason: /'
	else
		ko "$1" "$(tr '\n' ' ' <"$T/$1.out")"
	fi
}
logged() {	# logged NAME REGEX
	if grep -aEq "$2" "$T/daemon.log"; then ok "$1"; else ko "$1" "no log: $2"; fi
}

# a server of a CA the daemon does not trust: only its TLSA vouches
accepted dane_311_untrusted_ca "$E" h311.dane.test
logged secure_answer_logged "DNSSEC: _$E._tcp.h311.dane.test type 52: secure"
accepted dane_311_trusted_ca "$P" hgood.dane.test
refused dane_311_no_match "$P" hnone.dane.test \
	"d: _$P._tcp.hnone.dane.test: no TLSA record matches"
# no TLSA in a secure zone: d falls back to the CA and the name
accepted no_tlsa_falls_back "$P" hnotlsa.dane.test
refused no_tlsa_other_ca_refused "$E" hnotlsa.dane.test "."
refused bogus_refused "$P" h.bogus.test "d: DNSSEC bogus at _$P._tcp.h.bogus.test"
logged bogus_answer_logged "DNSSEC: _$P._tcp.h.bogus.test type 52: bogus"
# an unsigned zone: insecure, falls back to the CA
accepted insecure_falls_back "$P" h.insec.test
# a rule with D: DANE or nothing
if [ $strict = 1 ]; then
	accepted D_311_untrusted_ca "$E" h311.strict.dane.test
	refused D_no_tlsa_refused "$P" hnotlsa.strict.dane.test \
		"D: no TLSA record at _$P._tcp.hnotlsa.strict.dane.test"
else
	ko D_rule "no Linux tlspool-ctl (CTL) to write the rule with D"
fi
# the answers are cached per worker: a second lookup is immediate
accepted dane_311_again "$E" h311.dane.test

# dane_service_ports is accepted by -t now
if timeout 60 "$WINE" "$DAEMON_EXE" -t -c "$(winpath "$T/daemon.conf")" >"$T/t.out" 2>&1; then
	ok dane_config_accepted
else
	ko dane_config_accepted "$(tail -3 "$T/t.out" | tr '\n' ' ')"
fi

kill "$DPID" 2>/dev/null

# ---- through a forwarder: nsd serves the signed zone on Linux, the
# daemon's libunbound asks it over UDP from Windows and validates ----
if command -v nsd >/dev/null; then
	NP=$(free_port)
	cat >"$Z/nsd.conf" <<EOF2
server:
	ip-address: 127.0.0.1@$NP
	username: ""
	chroot: ""
	zonesdir: "$Z"
	pidfile: "$Z/nsd.pid"
	zonelistfile: "$Z/nsd.zonelist"
	xfrdfile: "$Z/nsd.xfrd"
	xfrdir: "$Z"
	logfile: "$Z/nsd.log"
	database: ""
	server-count: 1
remote-control:
	control-enable: no
zone:
	name: "dane.test."
	zonefile: "$Z/dane.test.signed"
EOF2
	nsd -d -c "$Z/nsd.conf" >"$Z/nsd.out" 2>&1 &
	pids+=($!)
	{
		echo "server:"
		echo "	local-zone: \"test.\" nodefault"
		grep "$(cat "$Z/dane.test.ksk")" "$Z/anchors.conf"
	} >"$Z/fwd.conf"
	PIPE=${PIPE}-fwd
	{
		grep -v '^socket_name \|^dnssec_config \|^dbenv_dir ' "$T/daemon.conf"
		echo "socket_name $PIPE"
		echo "dbenv_dir $(winpath "$T/db2")"
		echo "dnssec_config $(winpath "$Z/fwd.conf")"
		echo "dnssec_forwarder 127.0.0.1@$NP"
	} >"$T/fwd.conf"
	mkdir -p "$T/db2"
	if start_daemon "$T/fwd.conf" "$T/fwd.log"; then
		accepted fwd_311_untrusted_ca "$E" h311.dane.test
		refused fwd_311_no_match "$P" hnone.dane.test \
			"d: _$P._tcp.hnone.dane.test: no TLSA record matches"
		grep -aq "DNSSEC: _$E._tcp.h311.dane.test type 52: secure" "$T/fwd.log" &&
			ok fwd_secure_logged || ko fwd_secure_logged "$(grep -a DNSSEC "$T/fwd.log" | tail -2)"
		kill "$DPID" 2>/dev/null
	else
		ko fwd_daemon_starts "$(tail -5 "$T/fwd.log" | tr '\n' ' ')"
	fi
else
	ko fwd_cases "no nsd (scripts/deps.sh installs it)"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

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
# shellcheck source=tests/windows/winlib.sh
. "$(dirname "$0")/winlib.sh"
win_setup dane
Z=$T/zones
PIPE='\\.\pipe\tlspool-dane-'$$
client() { pool_client "$PIPE" "$@"; }

[ -f "$DAEMON_EXE" ] || bail "no $DAEMON_EXE"
win_build_client

# ---- two CAs; the daemon trusts "ca" only ----
leaf() {	# leaf NAME CA
	win_leaf "$1" "$2" 'cn = "srv"
dns_name = "*.dane.test"
dns_name = "*.bogus.test"
dns_name = "*.insec.test"
signing_key
tls_www_server
expiration_days = 2' &&
	cat "$T/$1.pem" "$T/$2.pem" >"$T/$1.chain.pem"
}
spki() {	# the SHA-256 of a certificate's SubjectPublicKeyInfo
	certtool --certificate-pubkey --outder --infile "$1" 2>/dev/null |
		sha256sum | cut -c1-64
}
win_ca ca && win_ca other && leaf good ca && leaf evil other || bail "certtool failed"
GOOD_SPKI=$(spki "$T/good.pem")
EVIL_SPKI=$(spki "$T/evil.pem")
WRONG=$(spki "$T/other.pem")

serve() {	# serve NAME: gnutls-serv --echo with NAME's chain; sets PORT
	win_echo_server "$T/$1.chain.pem" "$T/$1.key" "$T/serv-$1.log"
}
serve good && P=$PORT || bail "gnutls-serv did not start"
serve evil && E=$PORT || bail "gnutls-serv did not start"

# ---- zones, signed now; libunbound config with Z:/ paths ----
mkdir -p "$Z"
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
unbound_conf >"$Z/unbound.conf"

# ---- the daemon ----
strict=0
if [ -x "$CTL" ]; then
	if win_policy "$T/db" policy set .strict.dane.test client --valexp D; then
		win_db_portable "$T/db"
		strict=1
	else
		ko policy_rule_written "$(tail -2 "$T/db.ctl.out" | tr '\n' ' ')"
	fi
fi
win_daemon_conf "$PIPE" "$T" "trust_anchors $(winpath "$T/ca.pem")" \
	"dnssec_config $(winpath "$Z/unbound.conf")" \
	"dane_service_ports https=443" >"$T/daemon.conf"
if win_start_daemon "$T/daemon.conf" "$T/daemon.log"; then
	ok daemon_starts_with_dnssec
else
	ko daemon_starts_with_dnssec "$(tail -5 "$T/daemon.log" | tr '\n' ' ')"
	summary
	exit 1
fi

# accepted NAME PORT HOST / refused NAME PORT HOST REASON-REGEX
accepted() { win_echoed "$1" "" client echo "$2" "$3"; }
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
	win_track $!
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
	if win_start_daemon "$T/fwd.conf" "$T/fwd.log"; then
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
summary

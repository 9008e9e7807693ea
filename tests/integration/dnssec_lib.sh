# dnssec_lib.sh -- signed test zones for the DANE scenarios (sourced
# after lib.sh).  Zones are signed at test time with ldns-keygen and
# ldns-signzone and loaded by the daemon's libunbound as auth-zones
# through a resolver config file (dnssec_config); each signed zone's KSK
# DS is a trust anchor.  Needs ldnsutils and openssl.
command -v ldns-signzone >/dev/null || fail "ldns-signzone missing (ldnsutils)"
ZONES=$T/zones
mkdir -p "$ZONES"
UB_CONF=$ZONES/unbound.conf
: >"$ZONES/anchors.conf"
: >"$ZONES/authzones.conf"

# Digests for TLSA data, from a PEM certificate.
spki_sha256() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64; }
cert_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
cert_sha512() { openssl x509 -in "$1" -outform DER | sha512sum | cut -c1-128; }

# zone_head ZONE: SOA and NS lines for ZONE.
zone_head() {
	printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' \
		"$1" "$1" "$1" "$1"
}

# sign_zone ZONE FILE [INCEPTION EXPIRATION]: KSK + ZSK, signed copy in
# FILE.signed, the KSK's DS added as a trust anchor.  Dates YYYYMMDDhhmmss.
sign_zone() {
	local zone=$1 file=$2 inc=${3:-$(date -u -d '-1 hour' +%Y%m%d%H%M%S)}
	local exp=${4:-$(date -u -d '+30 days' +%Y%m%d%H%M%S)} ksk zsk
	( cd "$ZONES" &&
		ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$zone") &&
		zsk=$(ldns-keygen -a ECDSAP256SHA256 "$zone") &&
		ldns-signzone -i "$inc" -e "$exp" -f "$file.signed" "$file" \
			"$ksk" "$zsk" && echo "$ksk" >"$zone.ksk" ) \
		>"$ZONES/$zone.sign.out" 2>&1 ||
		fail "sign_zone $zone: $(tail -3 "$ZONES/$zone.sign.out")"
	ksk=$(cat "$ZONES/$zone.ksk")
	echo "	trust-anchor-file: \"$ZONES/$ksk.ds\"" >>"$ZONES/anchors.conf"
}

# auth_zone ZONE FILE: serve FILE as ZONE from the daemon's resolver.
auth_zone() {
	printf 'auth-zone:\n\tname: "%s."\n\tzonefile: "%s"\n\tfor-upstream: yes\n\tfor-downstream: no\n\tfallback-enabled: no\n' \
		"$1" "$2" >>"$ZONES/authzones.conf"
}

# write_ub_conf: the resolver config file the daemon gets.
write_ub_conf() {
	{
		echo "server:"
		echo "	module-config: \"validator iterator\""
		echo "	local-zone: \"test.\" nodefault"
		echo "	use-syslog: no"
		echo "	verbosity: 0"
		cat "$ZONES/anchors.conf"
		cat "$ZONES/authzones.conf"
	} >"$UB_CONF"
}

# start_nsd ZONE FILE...: nsd from $ZONES serving each ZONE FILE pair on
# a random loopback port (NSD_PORT).
start_nsd() {
	local conf=$ZONES/nsd.conf
	local -a zargs=("$@")
	command -v nsd >/dev/null || fail "nsd missing (package nsd)"
	_nsd_on() {
		{
			echo "server:"
			echo "	ip-address: 127.0.0.1@$1"
			echo "	username: \"\""
			echo "	chroot: \"\""
			echo "	zonesdir: \"$ZONES\""
			echo "	pidfile: \"$ZONES/nsd.pid\""
			echo "	zonelistfile: \"$ZONES/nsd.zonelist\""
			echo "	xfrdfile: \"$ZONES/nsd.xfrd\""
			echo "	xfrdir: \"$ZONES\""
			echo "	logfile: \"$ZONES/nsd.log\""
			echo "	database: \"\""
			echo "	server-count: 1"
			echo "remote-control:"
			echo "	control-enable: no"
			for ((i = 0; i < ${#zargs[@]}; i += 2)); do
				echo "zone:"
				echo "	name: \"${zargs[i]}.\""
				echo "	zonefile: \"${zargs[i + 1]}\""
			done
		} >"$conf"
		nsd -d -c "$conf" >"$ZONES/nsd.out" 2>&1 &
		STARTED_PID=$!
	}
	serve_on_free_port nsd _nsd_on "" "$ZONES/nsd.out" "$ZONES/nsd.log"
	NSD_PID=$STARTED_PID
	NSD_PORT=$STARTED_PORT
}

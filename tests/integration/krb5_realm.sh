# krb5_realm.sh -- a throwaway Kerberos realm for the TLS-KDH scenarios
# (sourced after lib.sh; see FIXTURES: KRB5_CONFIG, KRB5_KDC_PROFILE and
# KRB5RCACHEDIR all point into $T, so nothing touches /etc or /var/tmp).
#
# make_realm REALM DOMAIN: database, stash, krb5.conf and kdc.conf in
#   $T/krb5; exports KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5RCACHEDIR,
#   KRB5CCNAME ($T/krb5/cc.default).  KRB_SKEW: krb5's clockskew in
#   seconds for every tool, the KDC and the daemons (default 300).
# start_kdc / stop_kdc: krb5kdc on a random loopback port (KDC_PORT, KDC_PID).
# kadmin CMD: kadmin.local -q CMD, must succeed.
# add_user PRINC PASSWORD; add_service PRINC KEYTAB; kinit_as PRINC PASSWORD CCACHE.
# wrong_keytab PRINC KEYTAB: PRINC's name (kvno 2) with a key the KDC never issued.

KRB=$T/krb5

for _b in krb5kdc kdb5_util kadmin.local kinit klist ktutil; do
	command -v "$_b" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
	command -v "$_b" >/dev/null 2>&1 ||
		fail "$_b is missing (packages krb5-kdc krb5-admin-server krb5-user)"
done

make_realm() {
	REALM=$1
	local domain=$2
	mkdir -p "$KRB/rcache"
	KDC_PORT=$(free_port)
	cat >"$KRB/krb5.conf" <<EOC
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	default_ccache_name = FILE:$KRB/cc.default
	clockskew = ${KRB_SKEW:-300}
[realms]
	$REALM = {
		kdc = 127.0.0.1:$KDC_PORT
	}
[domain_realm]
	.$domain = $REALM
	$domain = $REALM
EOC
	cat >"$KRB/kdc.conf" <<EOC
[kdcdefaults]
	kdc_listen = 127.0.0.1:$KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$KDC_PORT
[realms]
	$REALM = {
		database_name = $KRB/principal
		key_stash_file = $KRB/stash
		acl_file = $KRB/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$KRB/kdc.log
EOC
	: >"$KRB/kadm5.acl"
	export KRB5_CONFIG=$KRB/krb5.conf KRB5_KDC_PROFILE=$KRB/kdc.conf
	export KRB5RCACHEDIR=$KRB/rcache KRB5CCNAME=FILE:$KRB/cc.default
	unset KRB5_KTNAME KRB5_CLIENT_KTNAME
	kdb5_util create -s -P "masterpw" -r "$REALM" >"$KRB/create.out" 2>&1 ||
		fail "kdb5_util create: $(tail -3 "$KRB/create.out")"
}

kadmin() {
	kadmin.local -r "$REALM" -q "$1" >"$KRB/kadmin.out" 2>&1 ||
		fail "kadmin.local $1: $(tail -3 "$KRB/kadmin.out")"
	! grep -q -i -E "error|not found|cannot" "$KRB/kadmin.out" ||
		fail "kadmin.local $1: $(tail -3 "$KRB/kadmin.out")"
}

start_kdc() {
	krb5kdc -n -P "$KRB/kdc.pid" -r "$REALM" >"$KRB/krb5kdc.out" 2>&1 &
	KDC_PID=$!
	_track "$KDC_PID" krb5kdc
	"$NETUTIL" wait-port "$KDC_PORT" 10000 >/dev/null 2>&1 ||
		fail "krb5kdc did not start: $(tail -3 "$KRB/krb5kdc.out")"
	alive "$KDC_PID" || fail "krb5kdc exited: $(tail -3 "$KRB/krb5kdc.out")"
}

stop_kdc() {
	stop_proc "$KDC_PID"
}

add_user() {
	kadmin "addprinc -pw $2 $1"
}

add_service() {
	kadmin "addprinc -randkey $1"
	kadmin "ktadd -k $2 $1"
}

kinit_as() {
	echo "$2" | KRB5CCNAME="FILE:$3" kinit "$1" >"$KRB/kinit.out" 2>&1 ||
		fail "kinit $1: $(tail -3 "$KRB/kinit.out")"
}

wrong_keytab() {
	printf 'addent -password -p %s -k 2 -e aes256-cts-hmac-sha1-96\nwrongpw\nwkt %s\nquit\n' \
		"$1" "$2" | ktutil >"$KRB/ktutil.out" 2>&1 ||
		fail "ktutil: $(tail -3 "$KRB/ktutil.out")"
}

# pool_pair: a server tunnel on daemon S for srv.example.com in front of
# the echo server, and a client tunnel on daemon C to it (service echo).
# Sets SPORT, logS, logC; TUNNEL_PORT is the client tunnel's port.
pool_pair() {
	start_tunnel S -s -p "${DSOCK[S]}" -S echo -l srv.example.com 127.0.0.1:0 \
		"127.0.0.1:$ECHO_PORT"
	SPORT=$TUNNEL_PORT
	logS=$TUNNEL_LOG
	start_tunnel C -c -p "${DSOCK[C]}" -S echo -r srv.example.com 127.0.0.1:0 \
		"127.0.0.1:$SPORT"
	logC=$TUNNEL_LOG
}

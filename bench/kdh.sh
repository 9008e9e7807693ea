#!/bin/bash
# bench/kdh.sh -- TLS-KDH handshakes per second against X.509 ECDSA P-256
# handshakes per second in the same run (kdhbench, see bench/kdh_bench.c).
#
# Makes a throwaway realm in a temp dir (krb5kdc on a free loopback port,
# KRB5_CONFIG / KRB5_KDC_PROFILE / KRB5RCACHEDIR inside it), a service
# principal bench/localhost with a keytab, a user with a ticket, and the
# ECDSA certificates of bench/run.sh; stops the KDC at the end.
#   BENCH_KDH_COUNT=1000   handshakes of each kind
#   BENCH_BUILD=DIR        use this build dir instead of scripts/build.sh main
# This is not a test: it prints figures and never fails on a timing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
SHLIB_WHO=bench-kdh
. "$top/scripts/shlib.sh"
N=${BENCH_KDH_COUNT:-1000}
PATH=$PATH:/usr/sbin
for t in certtool krb5kdc kdb5_util kadmin.local kinit; do
	command -v "$t" >/dev/null || { echo "bench-kdh: $t not found (bash scripts/deps.sh)"; exit 1; }
done
B=${BENCH_BUILD:-$(bash scripts/build.sh main)}
make -C "$B/bench" kdhbench >/dev/null

T=$(mktemp -d /tmp/tlspool-bench-kdh.XXXXXX)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

make_certs "$T" "KDH Bench CA"
PORT=$(free_port)
REALM=BENCH.TEST
cat >"$T/krb5.conf" <<EOC
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	default_ccache_name = FILE:$T/cc
[realms]
	$REALM = {
		kdc = 127.0.0.1:$PORT
	}
EOC
cat >"$T/kdc.conf" <<EOC
[kdcdefaults]
	kdc_listen = 127.0.0.1:$PORT
	kdc_tcp_listen = 127.0.0.1:$PORT
[realms]
	$REALM = {
		database_name = $T/principal
		key_stash_file = $T/stash
		supported_enctypes = aes256-cts-hmac-sha1-96:normal
	}
EOC
mkdir -p "$T/rcache"
export KRB5_CONFIG=$T/krb5.conf KRB5_KDC_PROFILE=$T/kdc.conf
export KRB5RCACHEDIR=$T/rcache KRB5CCNAME=FILE:$T/cc
kdb5_util create -s -P masterpw -r "$REALM" >/dev/null 2>&1
kadmin.local -r "$REALM" -q "addprinc -pw benchpw bench" >/dev/null 2>&1
kadmin.local -r "$REALM" -q "addprinc -randkey bench/localhost" >/dev/null 2>&1
kadmin.local -r "$REALM" -q "ktadd -k $T/keytab bench/localhost" >/dev/null 2>&1
krb5kdc -n -r "$REALM" >"$T/kdc.out" 2>&1 &
pids+=($!)
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
echo benchpw | kinit bench >/dev/null

echo "bench-kdh: $N full TLS 1.3 handshakes of each kind, AES-128-GCM, X25519"
"$B/bench/kdhbench" "$T/srv.pem" "$T/srv.key" "$T/ca.pem" bench localhost \
	"$REALM" "$REALM=localhost" "FILE:$T/keytab" "$N"

# scripts/shlib.sh -- shell helpers shared by scripts/demo.sh, bench/run.sh
# and bench/policy.sh: process cleanup, free ports, waiting, medians,
# KEY=VALUE fields, a test CA and server certificate.  Source it (bash);
# it only defines functions.
#
# SHLIB_WHO names the script in messages (default: the script's name).
# cleanup uses $T (a temp dir) and pids (background processes started):
#   T=$(mktemp -d ...); pids=(); trap cleanup EXIT

: "${SHLIB_WHO:=${0##*/}}"

cleanup() {	# stop every process in pids, remove $T
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
free_port() {	# a TCP port on 127.0.0.1 nothing listens on
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
wait_for() {	# wait_for SECONDS COMMAND...
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || { echo "$SHLIB_WHO: timed out waiting for: $*" >&2; return 1; }
		sleep 0.05
	done
}
median() {	# median of the arguments
	[ $# -gt 0 ] || { echo n/a; return; }
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
field() {	# field KEY LINE: the value of KEY=VALUE in LINE
	sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}
make_certs() {	# make_certs DIR CA_CN: DIR/ca.{key,pem}, a test CA named CA_CN,
		# and DIR/srv.{key,pem}, leaf "localhost" under it (ECDSA P-256)
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--outfile "$1/ca.key" 2>/dev/null
	printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 2\n' "$2" >"$1/ca.tmpl"
	certtool --generate-self-signed --load-privkey "$1/ca.key" \
		--template "$1/ca.tmpl" --outfile "$1/ca.pem" 2>/dev/null
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--outfile "$1/srv.key" 2>/dev/null
	printf 'cn = localhost\ndns_name = localhost\ntls_www_server\nsigning_key\nexpiration_days = 2\n' >"$1/srv.tmpl"
	certtool --generate-certificate --load-privkey "$1/srv.key" \
		--load-ca-certificate "$1/ca.pem" --load-ca-privkey "$1/ca.key" \
		--template "$1/srv.tmpl" --outfile "$1/srv.pem" 2>/dev/null
}

#!/bin/bash
# Identities from localid.db and anchors from trust.db count, live: a
# daemon started with NO identity files serves srv.test (tlstunnel -s,
# openssl s_client as the peer) shortly after `tlspool-ctl localid set`
# commits it; `--uid 4242` on the record makes the server-role request
# from uid 0 (tlstunnel) be refused with the reason; `trust add-anchor`
# of a second CA makes a server certificate from that CA acceptable to a
# pool client (trust_anchors is the first CA only, trust_system no),
# `--peers clients` does not, and deleting the anchor refuses it again.
# The daemon is never restarted or signalled.  Each change is given at
# most a second (credwatch applies it within ~20 ms plus a refresh); the
# time to the first obeying handshake is printed, not asserted.
. "$(dirname "$0")/lib.sh"

CTL_BIN=$BUILD/tools/tlspool-ctl
[ -x "$CTL_BIN" ] || fail "$CTL_BIN is not built"

make_ca
make_ca ca2 "TLS Pool Test CA two"
make_cert srv.test --dns srv.test
make_cert two.test --ca ca2 --dns two.test
start_daemon
PID0=$DAEMON_PID
[ -z "$(ls -A "${DLID[daemon]}")" ] || fail "the localid_dir is not empty"
grep -q "with 0 local identities" "$DAEMON_LOG" ||
	fail "the daemon started with identities: $(grep 'local identities' "$DAEMON_LOG")"
start_echo
start_tunnel s -s -I -q -l srv.test 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"

CTL_DONE=
ctl() {
	"$CTL_BIN" -c "$DAEMON_CONF" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $* failed (status $?): $(cat "$T/ctl.out")"
	CTL_DONE=$(date -u +%H:%M:%S.%3N)
	sed 's/^/    ctl: /' "$T/ctl.out"
}
tod_ms() {	# HH:MM:SS.mmm (UTC, as the daemon logs) -> ms of the day
	local h m s ms
	IFS=:. read -r h m s ms <<<"$1"
	echo $(((10#$h * 3600 + 10#$m * 60 + 10#$s) * 1000 + 10#$ms))
}
# applied: wait until the daemon put the serial of the last commit in
# force, and print when that was, from its log (informative only).
applied() {
	local serial line d
	serial=$(sed -n 's/^serial \([0-9]*\)$/\1/p' "$T/ctl.out")
	[ -n "$serial" ] || fail "tlspool-ctl printed no serial: $(cat "$T/ctl.out")"
	wait_log "$DAEMON_LOG" "policy serial $serial: " 2 ||
		fail "serial $serial was not put in force within 2 s"
	line=$(grep -m1 "policy serial $serial: " "$DAEMON_LOG")
	d=$(($(tod_ms "${line%% *}") - $(tod_ms "$CTL_DONE")))
	[ "$d" -gt -43200000 ] || d=$((d + 86400000))
	if [ "$d" -lt 0 ]; then
		d="already in force when tlspool-ctl returned"
	else
		d="in force $d ms after tlspool-ctl returned"
	fi
	echo "    serial $serial $d (${line##*(}"
}
MARK=0
mark() { MARK=$(stat -c %s "$DAEMON_LOG"); }
news() { tail -c +$((MARK + 1)) "$DAEMON_LOG"; }

N=0
# s_client LINE: one TLS client outside the pool against the tunnel.
s_client() {
	N=$((N + 1))
	tls_client_chat "sclient-$N" "$1" openssl s_client \
		-connect "127.0.0.1:$TUNNEL_PORT" -servername srv.test \
		-CAfile "$PKI/ca.pem" -verify_return_error -verify_hostname srv.test
}
# pool_client NAME: a pooled client (client role) to the gnutls-serv.
pool_client() {
	timeout 30 "$HELPERS/prng_client" -r two.test -t 10000 127.0.0.1 \
		"$SERV_PORT" >"$T/$1.out" 2>&1
}
# until_ok WHAT CMD...: retry CMD for at most a second from now; prints
# how long it took.  Fails when it never succeeds.
until_ok() {
	local what=$1 start end
	shift
	start=$(now_ms)
	end=$((start + 1000))
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || fail "$what: not within a second"
	done
	echo "    $what: $(($(now_ms) - start)) ms after tlspool-ctl returned"
}
refused() { ! "$@"; }

step "no identity yet: the tunnel's request is refused"
mark
s_client before && fail "s_client got an echo without any identity"
wait_log "$DAEMON_LOG" 'no credential for local identity "srv.test"' 5 ||
	fail "no refusal naming srv.test: $(news | tail -3)"

step "localid set srv.test (chain + key file): served within a second"
mark
ctl localid set srv.test --chain "$PKI/srv.test.chain.pem" --key "$PKI/srv.test.key"
until_ok "first served handshake" s_client served
applied
expect_log "$DAEMON_LOG" "policy serial [0-9]+: 1 local identities \(1 from localid.db\)" \
	"the refresh is logged"
news | grep -E "policy serial|established server role" | head -3 | sed 's/^/    /'

step "--uid 4242: the request from uid $(id -u) is refused with the reason"
[ "$(id -u)" != 4242 ] || fail "this test cannot run as uid 4242"
mark
ctl localid set srv.test --chain "$PKI/srv.test.chain.pem" --key "$PKI/srv.test.key" --uid 4242
_uid_refused() {
	s_client uid-refused && return 1
	news | grep -q "local identity srv.test may not be used by uid $(id -u)"
}
until_ok "uid refusal" _uid_refused
applied
news | grep "may not be used by uid" | head -1 | sed 's/^/    /'
grep -q "local identity srv.test may not be used by uid" "$TUNNEL_LOG" ||
	echo "    (tlstunnel -q does not print the reason; the daemon log has it)"

step "--role client: a server-role request is refused"
mark
ctl localid set srv.test --chain "$PKI/srv.test.chain.pem" --key "$PKI/srv.test.key" --role client
_role_refused() {
	s_client role-refused && return 1
	news | grep -q "local identity srv.test may not be used as a server"
}
until_ok "role refusal" _role_refused

step "back to any uid, both roles: served again"
mark
ctl localid set srv.test --chain "$PKI/srv.test.chain.pem" --key "$PKI/srv.test.key"
until_ok "served again" s_client again

step "a pool client refuses a server from CA 2 (trust_anchors: CA 1 only)"
grep -q "^trust_anchors $PKI/ca.pem$" "$DAEMON_CONF" && grep -q "^trust_system no$" "$DAEMON_CONF" ||
	fail "unexpected trust configuration: $(grep trust "$DAEMON_CONF")"
start_gnutls_serv serv2 two.test --disable-client-cert
mark
pool_client untrusted && fail "a server from CA 2 was accepted: $(cat "$T/untrusted.out")"
grep -q "^starttls: refused" "$T/untrusted.out" || fail "prng_client: $(cat "$T/untrusted.out")"
wait_log "$DAEMON_LOG" 'refused client role.*signer not found' 5 ||
	fail "no untrusted-chain refusal: $(news | tail -3)"

step "trust add-anchor CA 2 --peers clients: still refused for a server"
mark
ctl trust add-anchor "$PKI/ca2.pem" --peers clients
wait_log "$DAEMON_LOG" "policy serial [0-9]+: .*, 2 trust anchors in force" 2 ||
	fail "the anchor was not taken in: $(news | tail -3)"
pool_client clients-only && fail "an anchor for clients vouched for a server"
grep -q "^starttls: refused" "$T/clients-only.out" || fail "prng_client: $(cat "$T/clients-only.out")"

step "trust add-anchor CA 2 (both): accepted within a second"
mark
ctl trust add-anchor "$PKI/ca2.pem"
until_ok "first accepted handshake" pool_client trusted
applied
grep -q "^starttls: ok local= remote=two.test" "$T/trusted.out" ||
	fail "prng_client: $(cat "$T/trusted.out")"

step "trust del the anchor: refused again within a second"
hex=$(openssl x509 -in "$PKI/ca2.pem" -pubkey -noout | openssl pkey -pubin -outform DER |
	sha256sum | cut -d' ' -f1)
mark
ctl trust del "anchor:$hex"
until_ok "first refused handshake" refused pool_client untrusted-again
applied
grep -q "^starttls: refused" "$T/untrusted-again.out" || fail "prng_client: $(cat "$T/untrusted-again.out")"

step "localid del: the identity is gone"
mark
ctl localid del srv.test
_gone() {
	s_client gone && return 1
	news | grep -q 'no credential for local identity "srv.test"'
}
until_ok "identity removed" _gone

[ "$DAEMON_PID" = "$PID0" ] || fail "the daemon was restarted"
grep -q "reloaded:" "$DAEMON_LOG" && fail "the daemon was reloaded by a signal"
daemon_alive
pass

#!/bin/bash
# LOCALID_ONTHEFLY: a pool server (tlstunnel -s -O) for a name the daemon
# has no identity for.  Without tls_onthefly_signcert/signkey the request
# is refused with that reason; with them the daemon has the key process
# issue a short-lived certificate for the name (the -l name, or the
# client's SNI), which gnutls-cli trusting only the on-the-fly CA verifies
# for that name.  Policy still applies: a rule refusing the name refuses
# the on-the-fly identity too.
. "$(dirname "$0")/lib.sh"

CTL_BIN=$BUILD/tools/tlspool-ctl
[ -x "$CTL_BIN" ] || fail "$CTL_BIN is not built"

make_ca
make_ca otfca "TLS Pool On-the-fly CA"
make_cert client --cn "Pool Client" --dns client.example --client
start_echo

# via NAME SNI: gnutls-cli trusting only the on-the-fly
# CA through the last tunnel, checking the certificate for SNI; the peer's
# certificate goes to $T/NAME.crt.
via() {
	local name=$1 sni=$2
	tls_client_chat "$name" "otf-$name" gnutls-cli -p "$TUNNEL_PORT" \
		--x509cafile "$PKI/otfca.pem" --verify-hostname "$sni" \
		--sni-hostname "$sni" --print-cert \
		--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key" \
		127.0.0.1 || return 1
	sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' \
		"$T/$name.out" | awk '/BEGIN/ { n++ } n == 1' >"$T/$name.crt"
	return 0
}

step "without the config keys: refused with the reason"
start_daemon -n plain
start_tunnel plain -s -O -p "${DSOCK[plain]}" -l fly.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
via plain fly.example && fail "a session was served without the on-the-fly CA"
expect_log "$TUNNEL_LOG" "tlstunnel: refused: Operation not supported" \
	"tlstunnel reports the refusal"
expect_log "${DLOG[plain]}" "refused STARTTLS: LOCALID_ONTHEFLY needs tls_onthefly_signcert and tls_onthefly_signkey" \
	"the refusal names the missing configuration"
stop_proc "$TUNNEL_PID"
daemon_alive plain

step "a half configuration is a configuration error"
printf 'socket_name %s\ntls_onthefly_signcert %s\n' "$T/half.sock" "$PKI/otfca.pem" >"$T/half.conf"
"$DAEMON_BIN" -c "$T/half.conf" -t >"$T/half.out" 2>&1 && fail "-t accepted a half configuration"
grep -q "tls_onthefly_signcert and tls_onthefly_signkey go together" "$T/half.out" ||
	fail "-t: $(cat "$T/half.out")"

step "with the CA: a certificate for a name without an identity"
start_daemon "tls_onthefly_signcert $PKI/otfca.pem" "tls_onthefly_signkey $PKI/otfca.key"
grep -q "with 0 local identities" "$DAEMON_LOG" || fail "the daemon has identities"
start_tunnel fly -s -O -l fly.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
via fly fly.example || fail "gnutls-cli: $(tail -5 "$T/fly.out")"
expect_log "$TUNNEL_LOG" "connected local=fly.example remote=client.example" \
	"tlstunnel reports the session"
certtool -i --infile "$T/fly.crt" >"$T/fly.txt" 2>&1 || fail "certtool -i: $(cat "$T/fly.txt")"
grep -q "DNSname: fly.example" "$T/fly.txt" || fail "no dNSName fly.example: $(cat "$T/fly.txt")"
grep -q "Issuer: .*TLS Pool On-the-fly CA" "$T/fly.txt" || fail "wrong issuer: $(grep Issuer "$T/fly.txt")"
nb=$(date -d "$(sed -n 's/^.*Not Before: //p' "$T/fly.txt")" +%s)
na=$(date -d "$(sed -n 's/^.*Not After: //p' "$T/fly.txt")" +%s)
now=$(date +%s)
[ $((now - nb)) -ge 240 ] && [ $((now - nb)) -le 400 ] ||
	fail "notBefore is not about 5 minutes ago: $((now - nb)) s"
[ $((na - now)) -ge 86000 ] && [ $((na - now)) -le 86500 ] ||
	fail "the certificate does not live about one day: $((na - now)) s"
serial1=$(sed -n 's/^.*Serial Number (hex): //p' "$T/fly.txt")
[ -n "$serial1" ] || fail "no serial number in: $(head -5 "$T/fly.txt")"

step "the same name again: the cached certificate"
via fly2 fly.example || fail "second connection: $(tail -5 "$T/fly2.out")"
certtool -i --infile "$T/fly2.crt" >"$T/fly2.txt" 2>&1
[ "$(sed -n 's/^.*Serial Number (hex): //p' "$T/fly2.txt")" = "$serial1" ] ||
	fail "the certificate was issued again instead of reused"
[ "$(grep -c "on-the-fly certificate for fly.example issued" "$DAEMON_LOG")" = 1 ] ||
	fail "want one issuance for fly.example"
stop_proc "$TUNNEL_PID"

step "no local identity named: the client's SNI is the name"
start_tunnel sni -s -O 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
via sni sni.example || fail "gnutls-cli with SNI sni.example: $(tail -5 "$T/sni.out")"
certtool -i --infile "$T/sni.crt" | grep -q "DNSname: sni.example" ||
	fail "no certificate for sni.example"
expect_log "$TUNNEL_LOG" "connected local=sni.example" "the session is for sni.example"

step "a client that does not trust the on-the-fly CA refuses it"
tls_client_chat untrusted "otf-untrusted" gnutls-cli -p "$TUNNEL_PORT" \
	--x509cafile "$PKI/ca.pem" --verify-hostname sni.example \
	--sni-hostname sni.example \
	--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key" \
	127.0.0.1 && fail "a client trusting another CA accepted the certificate"
stop_proc "$TUNNEL_PID"

step "policy still applies: a rule refusing the name refuses it on the fly too"
"$CTL_BIN" -c "$DAEMON_CONF" policy set blocked.example server --valexp 0 \
	>"$T/ctl.out" 2>&1 || fail "tlspool-ctl: $(cat "$T/ctl.out")"
start_tunnel blocked -s -O -l blocked.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
via blocked blocked.example && fail "the rule for blocked.example did not refuse"
expect_log "$DAEMON_LOG" "refused server role, local=\"blocked.example\".*blocked.example" \
	"the daemon names the rule"
stop_proc "$TUNNEL_PID"
daemon_alive
pass

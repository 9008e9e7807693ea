#!/bin/bash
# Server role: tlstunnel -s in front of an echo backend, the pool shows
# the identity localhost.  openssl s_client and gnutls-cli with a client
# certificate get their data echoed; a client without a certificate is
# refused by default and accepted with -R (REQUEST_REMOTEID).
. "$(dirname "$0")/lib.sh"

make_ca
make_cert localhost --dns localhost
make_cert client --cn "Pool Client" --dns client.example --client
install_identity localhost localhost
start_echo
start_daemon

s_client() {	# s_client LOGNAME LINE [extra args]
	local name=$1 line=$2
	shift 2
	tls_client_chat "$name" "$line" openssl s_client \
		-connect "127.0.0.1:$TUNNEL_PORT" -servername localhost \
		-CAfile "$PKI/ca.pem" -verify_return_error \
		-verify_hostname localhost "$@"
}
gnutls_cli() {	# gnutls_cli LOGNAME LINE [extra args]
	local name=$1 line=$2
	shift 2
	tls_client_chat "$name" "$line" gnutls-cli -p "$TUNNEL_PORT" \
		--x509cafile "$PKI/ca.pem" --verify-hostname localhost \
		--sni-hostname localhost "$@" 127.0.0.1
}
with_cert_ossl=(-cert "$PKI/client.pem" -key "$PKI/client.key")
with_cert_gnutls=(--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key")

step "tlstunnel -s (client certificate required)"
start_tunnel s -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"

step "openssl s_client with a client certificate"
s_client ossl_cert sslclientline "${with_cert_ossl[@]}" ||
	fail "s_client: no echo: $(tail -5 "$T/ossl_cert.out")"
grep -q "Verify return code: 0 (ok)" "$T/ossl_cert.out" ||
	fail "s_client did not verify the pool's certificate"
expect_log "$TUNNEL_LOG" "connected local=localhost remote=client.example" \
	"tlstunnel reports the client's identity"

step "gnutls-cli with a client certificate"
gnutls_cli gnutls_cert gnutlsclientline "${with_cert_gnutls[@]}" ||
	fail "gnutls-cli: no echo: $(tail -5 "$T/gnutls_cert.out")"
expect_count "$TUNNEL_LOG" "connected local=localhost remote=client.example" 2 \
	"second connection reported"

step "clients without a certificate are refused"
s_client ossl_nocert anonline1 && fail "s_client without a certificate got an echo"
gnutls_cli gnutls_nocert anonline2 && fail "gnutls-cli without a certificate got an echo"
expect_count "$TUNNEL_LOG" "tlstunnel: refused" 2 "tlstunnel reports two refusals"
grep -q -i "refused server role.*certificate" "$DAEMON_LOG" ||
	fail "the daemon does not say why it refused"

step "tlstunnel -s -R accepts clients without a certificate"
stop_proc "$TUNNEL_PID"
start_tunnel sR -s -R -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
s_client ossl_req anonline3 || fail "-R: s_client without a certificate: $(tail -5 "$T/ossl_req.out")"
gnutls_cli gnutls_req anonline4 || fail "-R: gnutls-cli without a certificate: $(tail -5 "$T/gnutls_req.out")"
expect_count "$TUNNEL_LOG" "connected local=localhost remote= " 2 \
	"-R: two connections without a remote identity"
s_client ossl_req_cert sslline5 "${with_cert_ossl[@]}" || fail "-R: s_client with a certificate"
expect_log "$TUNNEL_LOG" "connected local=localhost remote=client.example" \
	"-R still validates and reports a certificate that is shown"

daemon_alive
pass

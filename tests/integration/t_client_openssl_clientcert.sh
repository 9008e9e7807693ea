#!/bin/bash
# Client role with a client identity (-l) through the pool to openssl
# s_server requiring client certificates (-Verify 1 -CAfile): s_server
# sees the pool's client certificate; data flows both ways.
. "$(dirname "$0")/lib.sh"

make_ca
make_cert localhost --dns localhost
make_cert client --cn "Pool Client" --dns client.example --client
install_identity client client.example
start_openssl_server sserv localhost -Verify 1 -CAfile "$PKI/ca.pem" \
	-verify_return_error
start_daemon

step "tlstunnel -c -l client.example to s_server -Verify 1"
start_tunnel c -c -l client.example -r localhost 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
"$NETUTIL" chat "$TUNNEL_PORT" "hello from client
" "hello from server" 15000 >"$T/chat.out" 2>&1 &
chat=$!
expect_log "$SERV_LOG" "^hello from client$" "s_server receives the client's data"
echo "hello from server" >"$T/sserv.stdin"
wait_exit "$chat" 15 || fail "client still waiting"
[ "$WAIT_STATUS" = 0 ] || fail "server's line did not reach the client: $(cat "$T/chat.out")"
grep -q -E "^subject=.*CN ?= ?Pool Client" "$SERV_LOG" ||
	fail "s_server did not see the client certificate"
grep -q -E "^depth=0 .*CN ?= ?Pool Client" "$SERV_LOG" ||
	fail "s_server did not verify the client certificate"
grep -q "verify error" "$SERV_LOG" && fail "s_server reports a verify error"
expect_log "$TUNNEL_LOG" "connected local=client.example remote=localhost" \
	"tlstunnel reports both identities"

step "without a client identity s_server refuses"
stop_proc "$TUNNEL_PID"
start_tunnel c2 -c -r localhost 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
"$NETUTIL" chat "$TUNNEL_PORT" "anonymous
" "never" 5000 >"$T/chat2.out" 2>&1 && fail "an anonymous client got an answer"
expect_log "$SERV_LOG" "peer did not return a certificate|certificate required|no certificate" \
	"s_server refuses a client without a certificate"
grep -q "^anonymous$" "$SERV_LOG" && fail "s_server accepted data from an anonymous client"

daemon_alive
pass

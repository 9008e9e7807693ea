#!/bin/bash
# Client role through the pool to gnutls-serv --echo: the server's chain
# is validated against the test CA and the name localhost; data comes
# back intact and tlstunnel reports the requested remote identity.
. "$(dirname "$0")/lib.sh"

make_ca
make_cert localhost --dns localhost
start_gnutls_serv serv localhost
start_daemon

step "tlstunnel -c to gnutls-serv"
start_tunnel c -c -r localhost 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
"$NETUTIL" echo-check "$TUNNEL_PORT" 65536 10000 text >"$T/echo1.out" 2>&1 ||
	fail "64 KiB not echoed: $(cat "$T/echo1.out")"
expect_log "$TUNNEL_LOG" "tlstunnel: connected local= remote=localhost service=" \
	"tlstunnel reports the authenticated remote identity"
"$NETUTIL" chat "$TUNNEL_PORT" "hello pool
" "hello pool" >"$T/chat.out" 2>&1 || fail "short line not echoed: $(cat "$T/chat.out")"
expect_count "$TUNNEL_LOG" "tlstunnel: connected" 2 "two connections reported"
grep -q "refused" "$TUNNEL_LOG" && fail "a connection was refused"

step "-1: one connection, detached, tlstunnel gone"
start_tunnel once -c -1 -r localhost 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
"$NETUTIL" echo-check "$TUNNEL_PORT" 65536 10000 text >"$T/echo-once.out" 2>&1 ||
	fail "-1: 64 KiB not echoed: $(cat "$T/echo-once.out")"
wait "$TUNNEL_PID" 2>/dev/null
expect_log "$TUNNEL_LOG" "tlstunnel: connected local= remote=localhost" 	"-1 reports its one connection"

step "stdio form"
printf 'stdio line\n' | timeout 10 "$TUNNEL_BIN" -c --stdio -r localhost "127.0.0.1:$SERV_PORT" \
	>"$T/stdio.out" 2>"$T/stdio.log" || true
grep -q "^stdio line$" "$T/stdio.out" || fail "--stdio: nothing echoed: $(cat "$T/stdio.log")"
grep -q "connected local= remote=localhost" "$T/stdio.log" || fail "--stdio: no report"

daemon_alive
pass

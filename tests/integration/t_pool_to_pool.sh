#!/bin/bash
# Pool-to-pool mutual authentication: tlstunnel -c -> tlstunnel -s ->
# echo.  First through two daemons (client pool A, server pool B), then
# both tunnels on one daemon with a user@domain client identity; both
# sides report both authenticated identities.
. "$(dirname "$0")/lib.sh"

make_ca
make_cert localhost --dns localhost
make_cert client --cn "Pool Client" --dns client.example --client
make_cert alice --cn "Alice" --email alice@client.example --client
install_identity client client.example A
install_identity localhost localhost B
install_identity localhost localhost one
install_identity alice alice@client.example one
start_echo

step "two daemons"
start_daemon -n A
start_daemon -n B
start_tunnel B -s -p "${DSOCK[B]}" -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
logB=$TUNNEL_LOG
start_tunnel A -c -p "${DSOCK[A]}" -l client.example -r localhost \
	127.0.0.1:0 "127.0.0.1:$TUNNEL_PORT"
logA=$TUNNEL_LOG
"$NETUTIL" echo-check "$TUNNEL_PORT" 1048576 20000 >"$T/echo1.out" 2>&1 ||
	fail "1 MiB through two pools: $(cat "$T/echo1.out")"
expect_log "$logA" "connected local=client.example remote=localhost " \
	"client side reports both identities"
expect_log "$logB" "connected local=localhost remote=client.example " \
	"server side reports both identities"
grep -q 'established client role: local="client.example" remote="localhost"' "${DLOG[A]}" ||
	fail "pool A does not log the client session"
expect_log "${DLOG[B]}" 'established server role: local="localhost" remote="client.example"' \
	"pool B logs the server session"

step "one daemon, user@domain client identity"
start_daemon -n one
start_tunnel one-s -s -l localhost -r alice@client.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
logS=$TUNNEL_LOG
start_tunnel one-c -c -l alice@client.example -r localhost 127.0.0.1:0 "127.0.0.1:$TUNNEL_PORT"
logC=$TUNNEL_LOG
"$NETUTIL" echo-check "$TUNNEL_PORT" 65536 >"$T/echo2.out" 2>&1 ||
	fail "64 KiB through one pool: $(cat "$T/echo2.out")"
expect_log "$logC" "connected local=alice@client.example remote=localhost " \
	"client side reports alice"
expect_log "$logS" "connected local=localhost remote=alice@client.example " \
	"server side reports alice"

step "server expecting another user refuses alice"
start_tunnel one-s2 -s -l localhost -r bob@client.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
logS2=$TUNNEL_LOG
start_tunnel one-c2 -c -l alice@client.example -r localhost 127.0.0.1:0 "127.0.0.1:$TUNNEL_PORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed.out" 2>&1 ||
	fail "alice got through to a server expecting bob: $(cat "$T/closed.out")"
expect_log "$logS2" "tlstunnel: refused" "server tunnel reports the refusal"
grep -q -i "refused server role.*bob@client.example.*mismatch" "${DLOG[one]}" ||
	fail "pool does not name the identity mismatch"

daemon_alive A
daemon_alive B
daemon_alive one
pass

#!/bin/bash
# Hostile and faulty input on the pool socket (the hostile helper speaks
# the raw wire protocol): garbage, truncated and split messages, strings
# without NUL, unknown commands, STARTTLS with a pipe / a file / no fd /
# the wrong socket kind, an application that disconnects mid-handshake,
# a peer that stalls (500 ms timeout must come back as an ERROR saying it
# timed out).  After every case a PING and a real STARTTLS through
# tlstunnel work; at the end the daemon has not leaked descriptors.
. "$(dirname "$0")/lib.sh"

make_ca
make_cert localhost --dns localhost
start_gnutls_serv serv localhost
start_daemon
fds_before=$(fd_count "$DAEMON_PID")

start_tunnel c -c -r localhost 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
cases=$("$HELPERS/hostile" -l) || fail "hostile -l"
n=0
for c in $cases; do
	step "hostile: $c"
	timeout 60 "$HELPERS/hostile" "$DAEMON_SOCK" "$c" >"$T/hostile-$c.out" 2>&1
	rc=$?
	grep -v "^hostile: " "$T/hostile-$c.out" | sed 's/^/    /'
	[ $rc -eq 0 ] || fail "hostile case $c failed (status $rc)"
	# a PING (inside hostile, and here) and a real STARTTLS through
	# tlstunnel still work
	daemon_alive
	n=$((n + 1))
	"$NETUTIL" echo-check "$TUNNEL_PORT" 4096 10000 text >"$T/echo-$c.out" 2>&1 ||
		fail "STARTTLS through tlstunnel after case $c: $(cat "$T/echo-$c.out")"
	expect_count "$TUNNEL_LOG" "connected local= remote=localhost" "$n" \
		"tlstunnel connection after case $c"
done
grep -q "timed out" "$DAEMON_LOG" || fail "the daemon did not log the timeout"
grep -q "^ok - stalled peer" "$T/hostile-stalled-peer.out" || fail "stall case missing"
stop_proc "$TUNNEL_PID"

step "no descriptors leaked"
# The tunnel's control connection and sessions are gone now.
_fds_settled() { [ "$(fd_count "$DAEMON_PID")" -le "$fds_before" ]; }
wait_until 10 _fds_settled ||
	fail "the daemon holds $(fd_count "$DAEMON_PID") fds, $fds_before before the hostile input"
daemon_alive
pass

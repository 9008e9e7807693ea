#!/bin/bash
# 1,000 pooled connections open at once: many_clients runs
# tlspool_starttls (client role) on 1,000 TCP connections to tlstunnel -s
# (server role, same daemon) in front of an epoll echo backend, keeps all
# of them open, then sends 4 KiB of distinct random data on each and
# checks every byte that comes back; while all are open the daemon holds
# both pooled ends of each; a second round runs on the same connections.  Functional only: no timing asserts.
. "$(dirname "$0")/lib.sh"

N=${MANY_CONNECTIONS:-1000}
raise_nofile
[ "$(ulimit -n)" -ge $((4 * N + 200)) ] ||
	fail "RLIMIT_NOFILE $(ulimit -n) is too low for $N connections"

make_ca
make_cert localhost --dns localhost
install_identity localhost localhost
start_daemon "handshake_timeout 60000"
start_echo
start_tunnel s -s -I -q -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"

step "$N connections, 4 KiB each"
timeout 120 "$HELPERS/many_clients" -n "$N" -b 4096 -j 8 -r localhost -t 60000 \
	-w "$T/go" 127.0.0.1 "$TUNNEL_PORT" >"$T/many.out" 2>&1 &
mc=$!
_track "$mc" "many_clients"
_ready() { [ -e "$T/go.ready" ] || ! alive "$mc"; }
wait_until 90 _ready || fail "many_clients did not finish the first round"
if [ -e "$T/go.ready" ]; then
	# Both pooled ends of every connection are open in the daemon now:
	# cryptfd and plaintext fd for the client and for the server role.
	held=$(fd_count "$DAEMON_PID")
	echo "    daemon holds $held descriptors with all connections open"
	[ "$held" -ge $((4 * N)) ] ||
		fail "the daemon holds only $held fds; $N connections need $((4 * N))"
fi
touch "$T/go"
wait_exit "$mc" 90 || fail "many_clients did not finish"
_untrack "$mc"
rc=$WAIT_STATUS
sed 's/^/    /' "$T/many.out" | head -20
[ "$rc" -eq 0 ] || fail "many_clients failed (status $rc)"
grep -q "^many_clients: $N of $N connections open at once$" "$T/many.out" ||
	fail "not all connections were open at once"
for r in 1 2; do
	grep -q "^many_clients: round $r: $N of $N connections echoed 4096 bytes correctly$" "$T/many.out" ||
		fail "round $r: not every connection echoed correctly"
done
grep -q "tlstunnel: refused" "$TUNNEL_LOG" && fail "tlstunnel refused connections"
refusals=$(grep -c "refused" "$DAEMON_LOG")
[ "$refusals" -eq 0 ] || fail "the daemon refused $refusals sessions"
daemon_alive
pass

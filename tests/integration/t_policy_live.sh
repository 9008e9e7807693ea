#!/bin/bash
# A policy change is atomic and live without dropping connections: 200
# pooled client connections (many_clients, client role) to tlstunnel -s
# (server role, same daemon) in front of an echo backend are open and
# have echoed data; then tlspool-ctl commits, in one transaction, rules
# for localhost in both roles that no peer can meet ("Q").  Every open
# connection still echoes its data intact, while a NEW connection is
# refused with the rule's reason in each role.  After the rules are
# deleted new connections work again.  Functional only: no timing asserts.
. "$(dirname "$0")/lib.sh"

N=${LIVE_CONNECTIONS:-200}
CTL_BIN=$BUILD/tools/tlspool-ctl
[ -x "$CTL_BIN" ] || fail "$CTL_BIN is not built"
raise_nofile
[ "$(ulimit -n)" -ge $((4 * N + 200)) ] ||
	fail "RLIMIT_NOFILE $(ulimit -n) is too low for $N connections"

make_ca
make_cert localhost --dns localhost
install_identity localhost localhost
start_daemon "handshake_timeout 60000"
PID0=$DAEMON_PID
start_echo
start_tunnel s -s -I -q -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"

ctl() {
	"$CTL_BIN" -c "$DAEMON_CONF" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $* failed (status $?): $(cat "$T/ctl.out")"
	sed 's/^/    ctl: /' "$T/ctl.out"
}
MARK=0
mark() { MARK=$(stat -c %s "$DAEMON_LOG"); }
news() { tail -c +$((MARK + 1)) "$DAEMON_LOG"; }
_news_has() { news | grep -q -E -- "$1"; }
expect_new() {	# expect_new REGEX WHAT
	wait_until 10 _news_has "$1" ||
		fail "$2: no /$1/ in the daemon log; new lines:
$(news | tail -5)"
}

# new_pool_client NAME: one new pooled client connection (prng_client:
# STARTTLS in the client role, remote identity localhost).
new_pool_client() {
	timeout 30 "$HELPERS/prng_client" -r localhost -t 10000 127.0.0.1 \
		"$TUNNEL_PORT" >"$T/$1.out" 2>&1
}
# new_s_client NAME LINE: a TLS client outside the pool (server role only).
new_s_client() {
	tls_client_chat "$1" "$2" openssl s_client \
		-connect "127.0.0.1:$TUNNEL_PORT" -servername localhost \
		-CAfile "$PKI/ca.pem" -verify_return_error -verify_hostname localhost
}

step "a new connection works before any rule"
new_pool_client pre || fail "pooled client before the rule: $(cat "$T/pre.out")"
grep -q "^starttls: ok local= remote=localhost" "$T/pre.out" ||
	fail "pooled client before the rule: $(cat "$T/pre.out")"

step "$N pooled connections open, each echoes 4 KiB"
timeout 120 "$HELPERS/many_clients" -n "$N" -b 4096 -j 8 -r localhost -t 30000 \
	-w "$T/go" 127.0.0.1 "$TUNNEL_PORT" >"$T/many.out" 2>&1 &
mc=$!
_track "$mc" "many_clients"
_ready() { [ -e "$T/go.ready" ] || ! alive "$mc"; }
wait_until 50 _ready || fail "many_clients did not finish the first round"
[ -e "$T/go.ready" ] || fail "many_clients ended early: $(cat "$T/many.out")"
grep -q "^many_clients: $N of $N connections open at once$" "$T/many.out" ||
	fail "not all connections opened: $(cat "$T/many.out")"
grep -q "^many_clients: round 1: $N of $N connections echoed 4096 bytes correctly$" \
	"$T/many.out" || fail "round 1 failed: $(cat "$T/many.out")"
held=$(fd_count "$DAEMON_PID")
echo "    the daemon holds $held descriptors"
[ "$held" -ge $((4 * N)) ] ||
	fail "the daemon holds only $held fds; $N connections in both roles need $((4 * N))"

step "commit rules refusing every new peer, in one transaction"
mark
COMMIT_MARK=$MARK
cat >"$T/refuse.txn" <<EOF
# nobody can prove a post-quantum key exchange with GnuTLS 3.7.9
policy set localhost client --valexp Q
policy set localhost server --valexp Q
EOF
ctl txn "$T/refuse.txn"
grep -q "^set policy localhost client" "$T/ctl.out" &&
	grep -q "^set policy localhost server" "$T/ctl.out" ||
	fail "the txn did not write both rules"

step "a new pooled client connection is refused with the rule's reason"
new_pool_client refused && fail "a new pooled client was accepted: $(cat "$T/refused.out")"
grep -q "^starttls: refused" "$T/refused.out" ||
	fail "prng_client: $(cat "$T/refused.out")"
expect_new 'refused client role, local="" remote="localhost": .*rule localhost: validation Q failed: Q: .*post-quantum' \
	"client role: the daemon names rule, expression and reason"
news | grep "refused client role" | sed 's/^/    /'

step "a new TLS client is refused by the server rule"
mark
new_s_client sclient-refused refusedline && fail "s_client got an echo under the server rule"
expect_new 'refused server role, local="localhost" remote="": .*rule localhost: validation Q failed: Q: .*post-quantum' \
	"server role: the daemon names rule, expression and reason"
news | grep "refused server role" | sed 's/^/    /'
MARK=$COMMIT_MARK
[ "$(news | grep -c "refused client role")" = 1 ] ||
	fail "client-role refusals other than the new connection: $(news | grep "refused client role")"

step "all $N open connections still echo data intact"
ended=$(news | grep -c " ended (")
[ "$ended" -eq 0 ] || fail "$ended sessions ended after the commit: $(news | grep " ended (" | head -3)"
held2=$(fd_count "$DAEMON_PID")
echo "    the daemon holds $held2 descriptors"
[ "$held2" -ge $((4 * N)) ] || fail "the daemon dropped connections: $held2 fds left"
touch "$T/go"
wait_exit "$mc" 60 || fail "many_clients did not finish the second round"
_untrack "$mc"
rc=$WAIT_STATUS
sed 's/^/    /' "$T/many.out" | head -10
[ "$rc" -eq 0 ] || fail "many_clients failed (status $rc)"
grep -q "^many_clients: round 2: $N of $N connections echoed 4096 bytes correctly$" \
	"$T/many.out" || fail "round 2: not every open connection echoed intact"
"$CTL_BIN" -c "$DAEMON_CONF" policy list 2>&1 | grep -c "^policy localhost " |
	grep -q '^2$' || fail "the rules were not in place during round 2"

step "delete the rules: new connections work again"
cat >"$T/allow.txn" <<EOF
policy del localhost client
policy del localhost server
EOF
ctl txn "$T/allow.txn"
mark
new_pool_client post || fail "pooled client after the rules were deleted: $(cat "$T/post.out")"
grep -q "^starttls: ok local= remote=localhost" "$T/post.out" ||
	fail "pooled client after deletion: $(cat "$T/post.out")"
expect_new 'established client role: local="" remote="localhost"' "client session established"
new_s_client sclient-ok okline || fail "s_client after deletion: $(tail -3 "$T/sclient-ok.out")"
news | grep -q "refused" && fail "refusals after the rules were deleted: $(news | grep refused)"

[ "$DAEMON_PID" = "$PID0" ] || fail "the daemon was restarted"
daemon_alive
pass

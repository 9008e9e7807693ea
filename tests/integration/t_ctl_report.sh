#!/bin/bash
# tlspool-ctl explain, status and metrics against a running daemon, and
# the audit trail: explain shows the selectors tried, the rule and what
# the peer must prove (the daemon's own selection code); status and
# metrics count accepted and refused connections per rule; every decision
# leaves one JSON audit line; metrics are refused to other uids.
. "$(dirname "$0")/lib.sh"

CTL=$BUILD/tools/tlspool-ctl
make_ca
make_cert localhost --dns localhost
start_daemon
ctl() { "$CTL" -c "$DAEMON_CONF" "$@"; }

step "explain before any rule: the secure default"
ctl explain --role client --remote localhost >"$T/explain0.out" ||
	fail "explain failed: $(cat "$T/explain0.out")"
sed 's/^/    /' "$T/explain0.out"
grep -q "^selectors tried: localhost, \.$" "$T/explain0.out" || fail "explain: selectors"
grep -q "^rule: none matched: the secure default applies$" "$T/explain0.out" ||
	fail "explain: default rule"

step "a rule for localhost, explained"
ctl policy set localhost client --valexp 'IT&F&' >/dev/null || fail "policy set"
ctl explain --role client --remote localhost >"$T/explain1.out" || fail "explain"
sed 's/^/    /' "$T/explain1.out"
grep -q "^rule: localhost (client)$" "$T/explain1.out" || fail "explain: rule"
grep -q "^peer must prove: IT&F& = " "$T/explain1.out" || fail "explain: proof"
ctl explain --role client --remote localhost --uid 77 >/dev/null || fail "explain --uid"
ctl explain --role sideways >/dev/null 2>&1 && fail "explain accepted a bad role"

step "one accepted and one refused connection"
start_gnutls_serv serv localhost
printf 'ping\n' | timeout 20 "$TUNNEL_BIN" -c --stdio -r localhost \
	"127.0.0.1:$SERV_PORT" >"$T/ok.out" 2>"$T/ok.err" || fail "accepted connection failed: $(cat "$T/ok.err")"
ctl policy set localhost client --valexp 'Q' >/dev/null || fail "policy set Q"
printf 'ping\n' | timeout 20 "$TUNNEL_BIN" -c --stdio -r localhost \
	"127.0.0.1:$SERV_PORT" >"$T/no.out" 2>"$T/no.err" && fail "the Q rule did not refuse"
expect_log "$DAEMON_LOG" "rule localhost: validation Q failed: Q: .*post-quantum" \
	"refusal names rule and predicate"

step "status and metrics count them"
wait_until 5 bash -c "'$CTL' -c '$DAEMON_CONF' status | grep -Eq '^localhost +client +1 +1 +0 '" ||
	fail "status: $(ctl status)"
ctl status | sed 's/^/    /'
ctl metrics >"$T/metrics.out" || fail "metrics"
grep -q '^tlspool_handshakes_total{rule="localhost",role="client"} 1$' "$T/metrics.out" ||
	fail "metrics: handshakes"
grep -q '^tlspool_refusals_total{rule="localhost",role="client",reason="policy"} 1$' "$T/metrics.out" ||
	fail "metrics: refusals by reason"
grep -Eq '^tlspool_bytes_in_total\{rule="localhost",role="client"\} [1-9]' "$T/metrics.out" ||
	fail "metrics: bytes relayed"
grep -q '^# TYPE tlspool_sessions_active gauge$' "$T/metrics.out" || fail "metrics: TYPE lines"

step "audit lines"
expect_log "$DAEMON_LOG" 'audit \{"time":"[0-9T:-]+Z","peer":"uid=0 pid=[0-9]+","local_role":"client","remote_role":"server","local":"","remote":"localhost","rule":"localhost","outcome":"accepted","reason":""\}' \
	"accepted audit line"
expect_log "$DAEMON_LOG" 'audit \{.*"outcome":"refused","reason":"peer validation failed: rule localhost: validation Q failed' \
	"refused audit line"

step "metrics are for root and the daemon's uid only"
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
# Let uid 65534 reach the socket and read a copy of the config: the
# daemon itself must refuse it.
chmod 0711 "$T"
chmod 0666 "$DAEMON_SOCK"
cp "$DAEMON_CONF" "$T/nobody.conf"
chmod 0644 "$T/nobody.conf"
setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$CTL" -c "$T/nobody.conf" metrics >"$T/nobody.out" 2>&1 &&
	fail "nobody read the metrics"
grep -q "uid 65534 may not read them" "$T/nobody.out" ||
	fail "nobody: $(cat "$T/nobody.out")"

daemon_alive
pass

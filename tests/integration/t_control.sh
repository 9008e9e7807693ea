#!/bin/bash
# Control features of the pool against the real daemon, driven by the
# control_client helper:
#  1. LOCALID_CHECK in the server role: namedconnect changes the proposed
#     identity localhost to alt.test, gnutls-cli (SNI alt.test) gets the
#     alt.test certificate and its data echoed; without a requested local
#     identity the SNI is proposed; refusing the callback makes the
#     handshake fail and tlspool_starttls return -1.
#  2. LOCALID_CHECK in the client role: namedconnect changes client.example
#     to other.example and openssl s_server -Verify 1 sees that
#     certificate; refusing gives -1 and no TLS connection.
#  3. DETACH/REATTACH rules against gnutls-serv --echo: detach once, not
#     twice; PRNG by key while detached; a child reattaches, a second one
#     gets EBUSY; when the first child exits the session (no FORK) ends.
#  4. FORK|DETACH: a child starts TLS and exits; the parent keeps using
#     the session, reattaches and asks INFO.
#  5. The asynchronous API: STARTTLS with the PLAINTEXT_CONNECT callback
#     answered from the event loop, a PING in flight next to it; closing
#     the async pool connection ends the session.
. "$(dirname "$0")/lib.sh"

CC_BIN=$HELPERS/control_client
[ -x "$CC_BIN" ] || make -C "$HELPERS" -s check >/dev/null 2>&1 ||
	fail "cannot build control_client"

make_ca
make_cert localhost --dns localhost
make_cert alt --cn alt.test --dns alt.test
make_cert client --cn "Pool Client" --dns client.example --client
make_cert other --cn "Other Client" --dns other.example --client
install_identity localhost localhost
install_identity alt alt.test
install_identity client client.example
install_identity other other.example
start_daemon

# control_bg NAME ARGS...: control_client in the background, output in
# $T/NAME.out; sets CC_PID.
control_bg() {
	local name=$1
	shift
	"$CC_BIN" "$@" >"$T/$name.out" 2>&1 &
	CC_PID=$!
	_track "$CC_PID" "control_client:$name"
}

# control_done NAME [WANT_STATUS]: wait (bounded) for CC_PID, check status.
control_done() {
	local name=$1 want=${2:-0}
	wait_exit "$CC_PID" 20 || fail "$name: control_client still running: $(tail -5 "$T/$name.out")"
	_untrack "$CC_PID"
	sed 's/^/    /' "$T/$name.out"
	[ "$WAIT_STATUS" = "$want" ] ||
		fail "$name: control_client exit status $WAIT_STATUS, want $want"
}

# has NAME REGEX WHAT: control_client's output must match.
has() {
	grep -q -E -- "$2" "$T/$1.out" || fail "$3 (no /$2/ in $1.out)"
}

listen_port() {	# PORT: where control_client server-localid NAME listens
	expect_log "$T/$1.out" "^listening on 127\.0\.0\.1:[0-9]+$" "$1 listens"
	PORT=$(sed -n -E 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$T/$1.out")
}

gnutls_cli() {	# gnutls_cli LOGNAME LINE PORT SNI
	tls_client_chat "$1" "$2" gnutls-cli -p "$3" \
		--x509cafile "$PKI/ca.pem" --verify-hostname "$4" \
		--sni-hostname "$4" 127.0.0.1
}

# ---- 1. LOCALID_CHECK, server role ------------------------------------
step "LOCALID_CHECK server role: namedconnect picks alt.test instead of localhost"
control_bg srv_alt -l localhost -n alt.test server-localid
listen_port srv_alt
gnutls_cli gnutls_alt "line for alt.test" "$PORT" alt.test ||
	fail "gnutls-cli got no echo: $(tail -3 "$T/gnutls_alt.out"); app: $(tail -3 "$T/srv_alt.out")"
grep -q -E "subject .CN=alt\.test" "$T/gnutls_alt.out" ||
	fail "gnutls-cli did not get the alt.test certificate: $(grep -m2 subject "$T/gnutls_alt.out")"
grep -q -E "subject .CN=localhost" "$T/gnutls_alt.out" &&
	fail "gnutls-cli got the localhost certificate"
control_done srv_alt 0
has srv_alt "^namedconnect 1: local=localhost remote=$" "the callback proposes localhost"
has srv_alt "^namedconnect calls: 1$" "namedconnect runs once (its fd is the plaintext side)"
has srv_alt "^starttls: ok rc=0 local=alt\.test remote=$" "the reply names alt.test"
has srv_alt "^echo-serve: EOF after [1-9][0-9]* bytes$" "data flowed through the app"
expect_log "$DAEMON_LOG" 'established server role: local="alt\.test"' "the daemon used alt.test"

step "LOCALID_CHECK server role: no local identity asked, the SNI alt.test is proposed"
control_bg srv_sni server-localid
listen_port srv_sni
gnutls_cli gnutls_sni "line for the SNI" "$PORT" alt.test ||
	fail "gnutls-cli (SNI) got no echo: $(tail -3 "$T/gnutls_sni.out"); app: $(tail -3 "$T/srv_sni.out")"
grep -q -E "subject .CN=alt\.test" "$T/gnutls_sni.out" ||
	fail "gnutls-cli (SNI) did not get the alt.test certificate"
control_done srv_sni 0
has srv_sni "^namedconnect 1: local=alt\.test remote=$" "the callback proposes the SNI"
has srv_sni "^starttls: ok rc=0 local=alt\.test remote=$" "the approved SNI identity"

step "LOCALID_CHECK server role: namedconnect refuses"
control_bg srv_refuse -l localhost -R server-localid
listen_port srv_refuse
gnutls_cli gnutls_refused "never echoed" "$PORT" localhost &&
	fail "gnutls-cli got an echo from a refused session"
grep -q -E "Handshake has failed|Fatal error|Error in handshake|terminated" "$T/gnutls_refused.out" ||
	fail "gnutls-cli does not report a failed handshake: $(tail -5 "$T/gnutls_refused.out")"
grep -q -E "subject .CN=" "$T/gnutls_refused.out" &&
	fail "gnutls-cli got a certificate from a refused session"
control_done srv_refuse 0
has srv_refuse "^namedconnect 1: local=localhost remote=$" "the refused callback proposes localhost"
has srv_refuse "^starttls: refused \(EPERM\)$" "tlspool_starttls returns -1 (EPERM)"
expect_log "$DAEMON_LOG" "refused server role.*application refused the local identity callback" \
	"the daemon logs the refusal"

# ---- 2. LOCALID_CHECK, client role ------------------------------------
step "LOCALID_CHECK client role: namedconnect picks other.example, s_server -Verify 1 sees it"
start_openssl_server sserv localhost -Verify 1 -CAfile "$PKI/ca.pem" \
	-verify_return_error
control_bg app_other -l client.example -n other.example -r localhost \
	-s "hello from the pool" -e "hello from s_server" \
	client-localid 127.0.0.1 "$SERV_PORT"
expect_log "$SERV_LOG" "^hello from the pool$" "s_server receives the app's line"
echo "hello from s_server" >"$T/sserv.stdin"
control_done app_other 0
has app_other "^namedconnect 1: local=client\.example remote=localhost$" \
	"the callback proposes client.example"
has app_other "^starttls: ok rc=0 local=other\.example remote=localhost$" \
	"the reply names other.example"
has app_other "^received: hello from s_server$" "s_server's line reached the app"
grep -q -E "^subject=.*CN ?= ?Other Client" "$SERV_LOG" ||
	fail "s_server did not see the other.example certificate: $(grep -m3 -E 'subject|depth' "$SERV_LOG")"
grep -q "Pool Client" "$SERV_LOG" && fail "s_server saw the proposed (client.example) certificate"
grep -q "verify error" "$SERV_LOG" && fail "s_server reports a verify error"
established=$(grep -c "established client role" "$DAEMON_LOG")

step "LOCALID_CHECK client role: namedconnect refuses"
control_bg app_refuse -l client.example -R -r localhost \
	-s "never sent" client-localid 127.0.0.1 "$SERV_PORT"
control_done app_refuse 0
has app_refuse "^namedconnect 1: local=client\.example remote=localhost$" \
	"the refused callback proposes client.example"
has app_refuse "^starttls: refused \(EPERM\)$" "tlspool_starttls returns -1 (EPERM)"
expect_log "$DAEMON_LOG" "refused client role.*application refused the local identity callback" \
	"the daemon logs the client-role refusal"
[ "$(grep -c "established client role" "$DAEMON_LOG")" = "$established" ] ||
	fail "a client-role session was established after the refusal"
[ "$(grep -c -E '^subject=' "$SERV_LOG")" = 1 ] ||
	fail "s_server saw another client certificate"
grep -q "^never sent$" "$SERV_LOG" && fail "data reached s_server after the refusal"
stop_proc "$SERV_PID"

# ---- 3. DETACH / REATTACH ---------------------------------------------
start_gnutls_serv echo localhost
step "DETACH / REATTACH against gnutls-serv --echo"
GONE_RE="ended: its control connection closed in relay"
gone_before=$(grep -c -- "$GONE_RE" "$DAEMON_LOG")
timeout 30 "$CC_BIN" -r localhost detach 127.0.0.1 "$SERV_PORT" >"$T/detach.out" 2>&1
st=$?
sed 's/^/    /' "$T/detach.out"
[ $st = 0 ] || fail "detach: control_client exit status $st"
has detach "^starttls: ok local= remote=localhost$" "STARTTLS"
has detach "^echo before detach: ok$" "data before detaching"
has detach "^detach: ok$" "the attached connection detaches"
has detach "^detach again: refused \(ENOENT\)$" "a second detach is refused"
has detach "^prng while detached: ok [0-9a-f]{64}$" "PRNG by key while detached"
has detach "^echo while detached: ok$" "the detached session relays"
has detach "^reattach unknown key: refused \(ENOENT\)$" "reattach of an unknown key"
has detach "^child1 reattach: ok$" "a forked child reattaches"
has detach "^child1 subject: $(subject_dn localhost)$" "INFO in the reattached child"
has detach "^child2 reattach while child1 holds it: refused \(EBUSY\)$" \
	"a second child gets EBUSY"
has detach "^child2 exit: 0$" "child2"
has detach "^echo while child1 holds it: ok$" "the session relays while child1 holds it"
has detach "^child1 exit: 0$" "child1"
has detach "^plaintext after child1 exit: EOF$" "the session ends with its controller"
c1=$(sed -n -E 's/^child1 pid ([0-9]+)$/\1/p' "$T/detach.out")
grep -q -E "pid=$c1: control connection closed" "$DAEMON_LOG" ||
	fail "the daemon did not see child1's control connection close"
expect_count "$DAEMON_LOG" "$GONE_RE" $((gone_before + 1)) \
	"the session ended with child1's control connection"

# ---- 4. FORK | DETACH -------------------------------------------------
step "FORK|DETACH: the session outlives the child that started it"
control_bg fork -r localhost -W "$T/child-gone" forkdetach 127.0.0.1 "$SERV_PORT"
expect_log "$T/fork.out" "^child pid [0-9]+$" "forkdetach forks"
cpid=$(sed -n -E 's/^child pid ([0-9]+)$/\1/p' "$T/fork.out")
expect_log "$DAEMON_LOG" "pid=$cpid: control connection closed" \
	"the daemon sees the child's control connection close"
touch "$T/child-gone"
control_done fork 0
has fork "^child starttls: ok rc=0 local= remote=localhost$" "the child's STARTTLS"
has fork "^child exit: 0$" "the child exits"
has fork "^echo after the controller exited: ok$" "data after the controller exited"
has fork "^parent reattach: ok$" "the parent reattaches"
has fork "^subject: $(subject_dn localhost)$" "INFO after reattaching"
has fork "^echo after reattach: ok$" "data after reattaching"
sleep 0.2
[ "$(grep -c -- "$GONE_RE" "$DAEMON_LOG")" = $((gone_before + 1)) ] ||
	fail "the FORK|DETACH session ended with its controller"

# ---- 5. asynchronous API -----------------------------------------------
step "async API: STARTTLS with PLAINTEXT_CONNECT answered from a poll() loop"
timeout 30 "$CC_BIN" -r localhost async 127.0.0.1 "$SERV_PORT" >"$T/async.out" 2>&1
st=$?
sed 's/^/    /' "$T/async.out"
[ $st = 0 ] || fail "async: control_client exit status $st"
has async "^async open: ok identity=.+ facilities=0x[0-9a-f]*[13579bdf]$" "async open with PING"
has async "^async callback PLAINTEXT_CONNECT cbid=[1-9][0-9]* local= remote=localhost$" \
	"the PLAINTEXT_CONNECT callback"
has async "^async starttls: ok local= remote=localhost$" "the final STARTTLS reply"
has async "^async ping reply: .+" "a PING in flight next to STARTTLS"
has async "^async callbacks: 1$" "exactly one callback"
has async "^echo async: ok$" "data through the async session"
has async "^plaintext after async close: EOF$" "closing the async pool ends the session"

daemon_alive
pass

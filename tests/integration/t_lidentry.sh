#!/bin/bash
# The local identity chooser (LIDENTRY): a registered tlspool-localid picks
# the identity a client shows when the application names none; its choice
# is stored in disclose.db (DBINSERT) only after the handshake succeeded;
# with SKIP_DBENTRY the stored entry answers without asking; a second
# chooser is refused while one is registered; when the chooser leaves,
# clients go on without it.
. "$(dirname "$0")/lib.sh"

CTL=$BUILD/tools/tlspool-ctl
LID=$BUILD/tools/tlspool-localid
make_ca
make_cert localhost --dns localhost
make_cert cla --cn "Client A" --dns a.client.example --client
make_cert clb --cn "Client B" --dns b.client.example --client
install_identity cla a.client.example
install_identity clb b.client.example
start_daemon
start_gnutls_serv serv localhost --require-client-cert --verify-client-cert \
	--x509cafile "$PKI/ca.pem"

# connect NAME: one line through the pool without a local identity.
connect() {
	printf 'hello %s\n' "$1" | timeout 20 "$TUNNEL_BIN" -c --stdio -r localhost \
		"127.0.0.1:$SERV_PORT" >"$T/$1.out" 2>"$T/$1.err"
}

# chooser NAME ARGS...: tlspool-localid in the background, registered.
chooser() {
	local name=$1 before
	shift
	before=$(grep -c "registered as the local identity chooser" "$DAEMON_LOG")
	"$LID" -p "$DAEMON_SOCK" "$@" >"$T/$name.log" 2>&1 &
	CHOOSER_PID=$!
	_track "$CHOOSER_PID" "chooser:$name"
	_registered() {
		[ "$(grep -c "registered as the local identity chooser" "$DAEMON_LOG")" -gt "$before" ]
	}
	wait_until 10 _registered || fail "chooser $name did not register"
}

# chooser_gone: stop the chooser and wait until the daemon noticed.
chooser_gone() {
	local before
	before=$(grep -c "the local identity chooser left" "$DAEMON_LOG")
	stop_proc "$CHOOSER_PID"
	_left() {
		[ "$(grep -c "the local identity chooser left" "$DAEMON_LOG")" -gt "$before" ]
	}
	wait_until 10 _left || fail "the daemon did not notice the chooser leaving"
}

# In TLS 1.3 the client may finish its handshake before the server
# refuses its (missing) certificate: the proof of refusal is no echo.
refused() {
	connect "$1"
	grep -q "^hello $1$" "$T/$1.out" && fail "$2"
	return 0
}

step "without a chooser nor a disclose entry no identity is shown"
refused none "the server accepted a client without a certificate"

step "the chooser picks b.client.example and stores it under localhost"
chooser one -a b.client.example -s localhost
connect first || fail "connection failed: $(cat "$T/first.err")"
grep -q "^hello first$" "$T/first.out" || fail "no echo: $(cat "$T/first.out")"
grep -q "connected local=b.client.example remote=localhost" "$T/first.err" ||
	fail "tlstunnel: $(cat "$T/first.err")"
expect_log "$T/one.log" "^question: remote=localhost suggested= maxlevels=1$" \
	"the chooser was asked"
"$CTL" -c "$DAEMON_CONF" disclose get localhost >"$T/disclose.out" 2>&1 ||
	fail "disclose get: $(cat "$T/disclose.out")"
grep -q "b.client.example" "$T/disclose.out" || fail "not stored: $(cat "$T/disclose.out")"

step "a second chooser is refused while the first is registered"
timeout 10 "$LID" -p "$DAEMON_SOCK" -a x >"$T/two.log" 2>&1 &&
	fail "a second chooser ran"
grep -q -E "busy|another local identity chooser" "$T/two.log" ||
	fail "second chooser: $(cat "$T/two.log")"

step "WANT_DBENTRY shows the stored entry first; the answer overrides it"
chooser_gone
chooser three -w -a a.client.example
connect third || fail "connection failed: $(cat "$T/third.err")"
grep -q "connected local=a.client.example remote=localhost" "$T/third.err" ||
	fail "tlstunnel: $(cat "$T/third.err")"
expect_log "$T/three.log" "^dbentry: selector=localhost localid=b.client.example" \
	"the stored entry was shown"

step "SKIP_DBENTRY: the stored entry answers without asking"
chooser_gone
chooser four -k 80 -a a.client.example
connect fourth || fail "connection failed: $(cat "$T/fourth.err")"
grep -q "connected local=b.client.example remote=localhost" "$T/fourth.err" ||
	fail "tlstunnel: $(cat "$T/fourth.err")"
grep -q "^question:" "$T/four.log" && fail "the chooser was asked despite SKIP_DBENTRY"

step "a choice the server refuses is not stored"
chooser_gone
"$CTL" -c "$DAEMON_CONF" disclose del localhost >/dev/null || fail "disclose del"
chooser five -a localhost -s localhost
refused fifth "a connection with a server certificate as client identity echoed"
"$CTL" -c "$DAEMON_CONF" disclose get localhost >"$T/d2.out" 2>&1 &&
	fail "a failed choice was stored: $(cat "$T/d2.out")"

step "the chooser leaves: clients go on with the database"
chooser_gone
"$CTL" -c "$DAEMON_CONF" disclose set localhost a.client.example >/dev/null ||
	fail "disclose set"
connect sixth || fail "connection failed: $(cat "$T/sixth.err")"
grep -q "connected local=a.client.example remote=localhost" "$T/sixth.err" ||
	fail "tlstunnel: $(cat "$T/sixth.err")"

daemon_alive
pass

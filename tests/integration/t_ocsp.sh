#!/bin/bash
# Online revocation check (valexp O and o, doc/validation.md) against a
# real OCSP responder: openssl ocsp on 127.0.0.1 answering from an
# index.txt written here (V and R lines), signing with the CA's key.
# Certificates carry ocsp_uri = "http://127.0.0.1:PORT/" (certtool).
# Rules IT&O& and IT&o& are set with tlspool-ctl; the pool is the client
# (tlstunnel -c to gnutls-serv --echo) and, once, the server
# (tlstunnel -s with openssl s_client and a client certificate).
#
#   good certificate       O accepts, o accepts (the responder says good)
#   revoked certificate    O and o refuse: "... says revoked"
#   no OCSP URI            O refuses, o accepts: "no OCSP responder ..."
#   responder stopped      O refuses ("unreachable: connection refused"),
#                          o accepts
#   responder hung         (SIGSTOP: the kernel still accepts, nobody
#                          answers) O refuses "timed out after N ms", o
#                          accepts; meanwhile another connection on the
#                          same (single) worker completes.
. "$(dirname "$0")/lib.sh"

CTL_BIN=$BUILD/tools/tlspool-ctl
[ -x "$CTL_BIN" ] || fail "$CTL_BIN is not built"
command -v openssl >/dev/null || fail "openssl is not installed"
OCSP_TIMEOUT=3000

# ---- certificates and the responder's index ----
OPORT=$(free_port) || fail "no free port"
OURL="http://127.0.0.1:$OPORT/"
make_ca

# ocsp_cert NAME [make_cert args]: a certificate naming the responder.
ocsp_cert() {
	local name=$1
	shift
	make_cert "$name" "$@"
	echo "ocsp_uri = \"$OURL\"" >>"$PKI/$name.tmpl"
	certtool --generate-certificate --load-privkey "$PKI/$name.key" \
		--load-ca-certificate "$PKI/ca.pem" --load-ca-privkey "$PKI/ca.key" \
		--template "$PKI/$name.tmpl" --outfile "$PKI/$name.pem" \
		>"$PKI/$name.certtool.out" 2>&1 ||
		fail "ocsp_cert $name: $(tail -3 "$PKI/$name.certtool.out")"
	cat "$PKI/$name.pem" "$PKI/ca.pem" >"$PKI/$name.chain.pem"
	certtool -i --infile "$PKI/$name.pem" | grep -q "$OURL" ||
		fail "ocsp_cert $name: no OCSP URI in the certificate"
}

# index_line NAME V|R: an openssl ca index line for the certificate.
index_line() {
	local f=$PKI/$1.pem st=$2 serial end rev=
	serial=$(openssl x509 -in "$f" -noout -serial | cut -d= -f2)
	end=$(date -u -d "$(openssl x509 -in "$f" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
	[ "$st" = R ] && rev=$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)
	printf '%s\t%s\t%s\t%s\tunknown\t/CN=%s\n' "$st" "$end" "$rev" "$serial" "$1"
}

ocsp_cert good --dns localhost
ocsp_cert revoked --dns localhost
make_cert nouri --dns localhost
make_cert plain --dns plain.test
make_ca other "Some Other CA"
make_cert foreign --ca other --dns localhost
echo "ocsp_uri = \"$OURL\"" >>"$PKI/foreign.tmpl"
certtool --generate-certificate --load-privkey "$PKI/foreign.key" \
	--load-ca-certificate "$PKI/other.pem" --load-ca-privkey "$PKI/other.key" \
	--template "$PKI/foreign.tmpl" --outfile "$PKI/foreign.pem" \
	>"$PKI/foreign.certtool.out" 2>&1 || fail "foreign: $(tail -3 "$PKI/foreign.certtool.out")"
cat "$PKI/foreign.pem" "$PKI/other.pem" >"$PKI/foreign.chain.pem"
ocsp_cert client --cn "OCSP Client" --dns client.example --client
ocsp_cert rclient --cn "Revoked Client" --dns rclient.example --client
{
	index_line good V
	index_line revoked R
	index_line client V
	index_line rclient R
} >"$PKI/index.txt"

# start_responder: openssl ocsp on OPORT; ready when an OCSP client gets
# its answers (never probe it with an empty connection: openssl 3.0's
# responder then spins).
OCSP_PID=
start_responder() {
	local log=$T/ocsp-responder.log
	openssl ocsp -index "$PKI/index.txt" -port "$OPORT" \
		-rsigner "$PKI/ca.pem" -rkey "$PKI/ca.key" -CA "$PKI/ca.pem" \
		-ndays 1 >>"$log" 2>&1 &
	OCSP_PID=$!
	_track "$OCSP_PID" "ocsp-responder"
	_ocsp_up() {
		alive "$OCSP_PID" || return 0
		grep -q "waiting for OCSP client connections" "$log"
	}
	wait_until 10 _ocsp_up || fail "openssl ocsp is not ready"
	alive "$OCSP_PID" || fail "openssl ocsp exited: $(tail -3 "$log")"
	timeout 15 openssl ocsp -issuer "$PKI/ca.pem" -cert "$PKI/good.pem" \
		-cert "$PKI/revoked.pem" -url "$OURL" -CAfile "$PKI/ca.pem" \
		-timeout 10 >"$T/ocsp-probe.out" 2>&1 ||
		fail "openssl ocsp client: $(cat "$T/ocsp-probe.out")"
	grep -q "good.pem: good" "$T/ocsp-probe.out" &&
		grep -q "revoked.pem: revoked" "$T/ocsp-probe.out" ||
		fail "the responder's answers are wrong: $(cat "$T/ocsp-probe.out")"
}

step "the configuration key: ocsp_timeout must be 1..60000 ms"
for bad in 0 60001 -5 2s; do
	printf 'ocsp_timeout %s\n' "$bad" >"$T/bad.conf"
	"$DAEMON_BIN" -c "$T/bad.conf" -t >"$T/bad.out" 2>&1 &&
		fail "ocsp_timeout $bad was accepted"
	grep -q "bad value for ocsp_timeout" "$T/bad.out" ||
		fail "ocsp_timeout $bad: $(cat "$T/bad.out")"
done

start_responder
start_echo
install_identity good localhost
# One worker: the check must not hold it up (see the hung responder).
start_daemon "workers 1" "ocsp_timeout $OCSP_TIMEOUT"

# ---- helpers (as in t_policy.sh) ----
ctl() {
	"$CTL_BIN" -c "$DAEMON_CONF" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $* failed (status $?): $(cat "$T/ctl.out")"
	sed 's/^/    ctl: /' "$T/ctl.out"
}
MARK=0
mark() { MARK=$(stat -c %s "$DAEMON_LOG"); }
news() { tail -c +$((MARK + 1)) "$DAEMON_LOG"; }
_news_has() { news | grep -q -E -- "$1"; }
expect_new() {
	wait_until "${3:-10}" _news_has "$1" ||
		fail "$2: no /$1/ in the daemon log; new lines:
$(news | tail -5)"
}
declare -A CPORT=() CLOG=()
client_tunnel() {	# NAME REMOTEID SERVPORT
	start_tunnel "$1" -c -r "$2" 127.0.0.1:0 "127.0.0.1:$3"
	CPORT[$1]=$TUNNEL_PORT
	CLOG[$1]=$TUNNEL_LOG
}
accepted() {	# WHAT TUNNEL REMOTEID
	local what=$1 port=${CPORT[$2]} rid=$3 line="ocsp-$RANDOM-$RANDOM"
	mark
	"$NETUTIL" chat "$port" "$line
" "$line" 15000 >"$T/chat.out" 2>&1 ||
		fail "$what: no echo ($(tr '\n' ' ' <"$T/chat.out")); daemon: $(news | grep "refused client role")"
	expect_new "established client role: local=\"[^\"]*\" remote=\"$rid\"" \
		"$what: the daemon reports the session"
	news | grep -q "refused client role" &&
		fail "$what: the daemon refused: $(news | grep "refused client role")"
	echo "    accepted: $what"
}
refused() {	# WHAT TUNNEL REMOTEID REGEX
	local what=$1 tun=$2 rid=$3 re=$4
	mark
	"$NETUTIL" expect-closed "${CPORT[$tun]}" 15000 >"$T/closed.out" 2>&1 ||
		fail "$what: the connection was not refused: $(tr '\n' ' ' <"$T/closed.out")"
	expect_new "refused client role, local=\"[^\"]*\" remote=\"$rid\": .*($re)" \
		"$what: the daemon names the reason"
	echo "    refused: $what: $(news | grep "refused client role" | tail -1 | sed "s/.*remote=\"$rid\": //")"
	news | grep -q "established client role" &&
		fail "$what: the daemon established a session"
	return 0
}
ORE=${OURL//./\\.}	# the URL as a regex

declare -A SERV_PORTS=()
start_gnutls_serv s-good good
SERV_PORTS[good]=$SERV_PORT
client_tunnel good localhost "$SERV_PORT"
start_gnutls_serv s-revoked revoked
client_tunnel revoked localhost "$SERV_PORT"
start_gnutls_serv s-nouri nouri
client_tunnel nouri localhost "$SERV_PORT"
start_gnutls_serv s-plain plain
client_tunnel plain plain.test "$SERV_PORT"
start_gnutls_serv s-foreign foreign
client_tunnel foreign localhost "$SERV_PORT"

step "good certificate: O and o accept; the responder said good"
ctl policy set localhost client --valexp 'IT&O&'
accepted "IT&O&, good" good localhost
expect_new "OCSP responder $ORE says good" "O: the responder's answer is logged"
ctl policy set localhost client --valexp 'IT&o&'
accepted "IT&o&, good" good localhost
expect_new "OCSP responder $ORE says good" "o: the responder's answer is logged"

step "revoked certificate: O and o refuse, naming the responder"
ctl policy set localhost client --valexp 'IT&O&'
refused "IT&O&, revoked" revoked localhost \
	"rule localhost: validation IT&O& failed: O: OCSP responder $ORE says revoked"
ctl policy set localhost client --valexp 'IT&o&'
refused "IT&o&, revoked" revoked localhost \
	"rule localhost: validation IT&o& failed: o: OCSP responder $ORE says revoked"

step "no OCSP URI in the certificate: O refuses, o accepts"
ctl policy set localhost client --valexp 'IT&O&'
refused "IT&O&, no URI" nouri localhost \
	"validation IT&O& failed: O: no OCSP responder in the certificate"
ctl policy set localhost client --valexp 'IT&o&'
accepted "IT&o&, no URI" nouri localhost
expect_new "o holds for localhost without an OCSP answer: no OCSP responder" \
	"o: accepting without an answer is logged"

step "lazy: a chain that fails T never makes the daemon ask its responder"
n=$(grep -c "Received request" "$T/ocsp-responder.log")
ctl policy set localhost client --valexp 'IT&O&'
refused "IT&O&, foreign CA" foreign localhost "validation IT&O& failed: T: "
[ "$(grep -c "Received request" "$T/ocsp-responder.log")" = "$n" ] ||
	fail "the responder named by an untrusted certificate was asked"

step "server role: a client certificate checked with O"
start_tunnel srv -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
SPORT=$TUNNEL_PORT
ctl policy set localhost server --client-auth required --valexp 'TO&'
s_client() {	# LOGNAME LINE CERT
	tls_client_chat "$1" "$2" openssl s_client -connect "127.0.0.1:$SPORT" \
		-servername localhost -CAfile "$PKI/ca.pem" -verify_return_error \
		-cert "$PKI/$3.pem" -key "$PKI/$3.key"
}
mark
s_client srv-good srvgood client ||
	fail "server role, good client: no echo: $(tail -3 "$T/srv-good.out"); $(news | grep refused)"
expect_new "established server role: local=\"localhost\"" "server role, good client"
mark
s_client srv-revoked srvrevoked rclient &&
	fail "server role, revoked client: s_client got an echo"
expect_new "refused server role, .*validation TO& failed: O: OCSP responder $ORE says revoked" \
	"server role, revoked client"
echo "    server role: good client accepted, revoked client refused"
ctl policy del localhost server

step "responder stopped: O refuses (unreachable), o accepts"
stop_proc "$OCSP_PID" 5
ctl policy set localhost client --valexp 'IT&O&'
refused "IT&O&, responder stopped" good localhost \
	"validation IT&O& failed: O: OCSP responder $ORE: unreachable: connection refused"
ctl policy set localhost client --valexp 'IT&o&'
accepted "IT&o&, responder stopped" good localhost
expect_new "o holds for localhost without an OCSP answer: OCSP responder $ORE: unreachable: connection refused" \
	"o: accepting an unreachable responder is logged"
step "a revoked certificate is still refused by o once the responder is back"
start_responder
refused "IT&o&, revoked, responder back" revoked localhost "o: OCSP responder $ORE says revoked"

step "responder hung (SIGSTOP): O times out, o accepts, the worker keeps serving"
kill -STOP "$OCSP_PID"
# hung_case VALEXP: one connection waits for the responder; while it
# does, a connection without a rule (plain.test) completes on the same
# worker; then the first one ends as the rule says.
hung_case() {
	local valexp=$1 chat t0 t1
	ctl policy set localhost client --valexp "$valexp"
	mark
	t0=$(now_ms)
	if [ "$valexp" = 'IT&O&' ]; then
		"$NETUTIL" expect-closed "${CPORT[good]}" 15000 >"$T/hung.out" 2>&1 &
	else
		"$NETUTIL" chat "${CPORT[good]}" "hung
" "hung" 15000 >"$T/hung.out" 2>&1 &
	fi
	chat=$!
	_track "$chat" "hung-chat"
	expect_new "asking the OCSP responder $ORE" "$valexp: the daemon asks"
	line="meanwhile-$RANDOM"
	"$NETUTIL" chat "${CPORT[plain]}" "$line
" "$line" 5000 >"$T/meanwhile.out" 2>&1 ||
		fail "$valexp: another connection did not complete while the responder hangs: $(cat "$T/meanwhile.out")"
	t1=$(now_ms)
	news | grep -q "timed out after" &&
		fail "$valexp: the check ended before the other connection was served"
	expect_new 'established client role: local="" remote="plain.test"' \
		"$valexp: the other connection is established"
	echo "    served another connection $((t1 - t0)) ms into the wait"
	wait_exit "$chat" 20 || fail "$valexp: the waiting connection did not end"
	_untrack "$chat"
	[ "$WAIT_STATUS" = 0 ] || fail "$valexp: $(cat "$T/hung.out")"
}
hung_case 'IT&O&'
expect_new "refused client role, local=\"[^\"]*\" remote=\"localhost\": .*validation IT&O& failed: O: OCSP responder $ORE: timed out after $OCSP_TIMEOUT ms" \
	"IT&O&, hung responder: the reason"
echo "    refused: $(news | grep "refused client role" | tail -1 | sed 's/.*remote="localhost": //')"
hung_case 'IT&o&'
expect_new "established client role: local=\"[^\"]*\" remote=\"localhost\"" \
	"IT&o&, hung responder: accepted"
expect_new "o holds for localhost without an OCSP answer: OCSP responder $ORE: timed out after $OCSP_TIMEOUT ms" \
	"IT&o&, hung responder: logged"

step "sessions that end while they wait: the late answer is harmless"
ctl policy set localhost client --valexp 'IT&O&'
# The request's own deadline (tlstunnel -t) passes first.
start_tunnel short -c -t 1000 -r localhost 127.0.0.1:0 "127.0.0.1:${SERV_PORTS[good]}"
mark
"$NETUTIL" expect-closed "$TUNNEL_PORT" 15000 >"$T/short.out" 2>&1 ||
	fail "deadline: the connection was not refused: $(cat "$T/short.out")"
expect_new "refused client role, .*timed out in the OCSP validation step" \
	"deadline: the session's own deadline ends it"
echo "    refused: $(news | grep "refused client role" | tail -1 | sed 's/.*remote="localhost": //')"
# The application goes away.
start_tunnel gone -c -r localhost 127.0.0.1:0 "127.0.0.1:${SERV_PORTS[good]}"
GONE_PID=$TUNNEL_PID
mark
"$NETUTIL" expect-closed "$TUNNEL_PORT" 15000 >"$T/gone.out" 2>&1 &
chat=$!
_track "$chat" "gone-chat"
expect_new "asking the OCSP responder $ORE" "gone: the daemon asks"
stop_proc "$GONE_PID" 5
expect_new "ended: its control connection closed in OCSP validation" \
	"gone: the session ends with its control connection"
wait_exit "$chat" 15 || fail "gone: the connection did not end"
_untrack "$chat"
# Both queries end within ocsp_timeout; their answers find ended sessions.
sleep $((OCSP_TIMEOUT / 1000 + 1))
daemon_alive
accepted "no rule, after the late answers" plain plain.test
kill -CONT "$OCSP_PID"

step "the daemon is still there"
daemon_alive
grep -q -E "AddressSanitizer|runtime error" "$DAEMON_LOG" && fail "sanitizer report"
pass

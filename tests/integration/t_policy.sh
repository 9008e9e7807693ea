#!/bin/bash
# Live policy: tlspool-ctl changes policy.db / trust.db / disclose.db while
# the daemon runs (no restart, no SIGHUP) and the very next handshake
# follows the committed change.  Every case makes real connections (pool
# client: tlstunnel -c to gnutls-serv --echo or openssl s_server; pool
# server: tlstunnel -s with openssl s_client) and checks the outcome and
# the reason the daemon logs ("refused ...: rule SEL: validation EXPR
# failed: X: why").  See doc/validation.md for what each predicate means.
. "$(dirname "$0")/lib.sh"

CTL_BIN=$BUILD/tools/tlspool-ctl
[ -x "$CTL_BIN" ] || fail "$CTL_BIN is not built"
MYUID=$(id -u)

# ---- certificates ----
make_ca
make_ca other "Some Other CA"
make_cert localhost --dns localhost
make_cert www --dns www.example.test
make_cert tofu1 --dns tofu.test
make_cert tofu2 --dns tofu.test
make_cert clientonly --dns localhost --client
make_cert client --cn "Pool Client" --dns client.example --client

# reissue NAME: sign NAME's (edited) template again with the same key.
reissue() {
	certtool --generate-certificate --load-privkey "$PKI/$1.key" \
		--load-ca-certificate "$PKI/ca.pem" --load-ca-privkey "$PKI/ca.key" \
		--template "$PKI/$1.tmpl" --outfile "$PKI/$1.pem" \
		>"$PKI/$1.certtool.out" 2>&1 ||
		fail "reissue $1: $(tail -3 "$PKI/$1.certtool.out")"
	cat "$PKI/$1.pem" "$PKI/ca.pem" >"$PKI/$1.chain.pem"
}
# A server certificate without any extended key usage.
make_cert noeku --dns localhost
sed -i '/^tls_www_/d' "$PKI/noeku.tmpl"
reissue noeku
certtool -i --infile "$PKI/noeku.pem" | grep -q -i "key purpose" &&
	fail "noeku still has an extended key usage"
# A self-signed server certificate for localhost.
cat >"$PKI/selfsigned.tmpl" <<EOF
cn = "localhost"
organization = "TLS Pool Test Self"
activation_date = "$(_activation)"
expiration_days = 2
dns_name = "localhost"
signing_key
tls_www_server
EOF
certtool --generate-privkey --key-type ecdsa --no-text \
	--outfile "$PKI/selfsigned.key" >/dev/null 2>&1 &&
	certtool --generate-self-signed --load-privkey "$PKI/selfsigned.key" \
		--template "$PKI/selfsigned.tmpl" --outfile "$PKI/selfsigned.pem" \
		>"$PKI/selfsigned.certtool.out" 2>&1 ||
	fail "cannot make the self-signed certificate"
cp "$PKI/selfsigned.pem" "$PKI/selfsigned.chain.pem"
# CRLs of the CA: one listing localhost's certificate, one listing none.
printf 'crl_next_update = 2\ncrl_number = 1\n' >"$PKI/crl1.tmpl"
printf 'crl_next_update = 2\ncrl_number = 2\n' >"$PKI/crl2.tmpl"
certtool --generate-crl --load-ca-privkey "$PKI/ca.key" \
	--load-ca-certificate "$PKI/ca.pem" --load-certificate "$PKI/localhost.pem" \
	--template "$PKI/crl1.tmpl" --outfile "$PKI/crl-revoking.pem" \
	>"$PKI/crl1.out" 2>&1 || fail "certtool --generate-crl: $(tail -3 "$PKI/crl1.out")"
certtool --generate-crl --load-ca-privkey "$PKI/ca.key" \
	--load-ca-certificate "$PKI/ca.pem" \
	--template "$PKI/crl2.tmpl" --outfile "$PKI/crl-empty.pem" \
	>"$PKI/crl2.out" 2>&1 || fail "certtool --generate-crl (empty): $(tail -3 "$PKI/crl2.out")"

# spki NAME: SHA-256 of the certificate's SubjectPublicKeyInfo (trust keys)
spki() {
	openssl x509 -in "$PKI/$1.pem" -pubkey -noout |
		openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}

install_identity localhost localhost
install_identity client client.example
start_echo
start_daemon
PID0=$DAEMON_PID

# ---- helpers ----

# ctl ARGS...: tlspool-ctl against the running daemon's environment; must
# succeed and report a new serial.
ctl() {
	"$CTL_BIN" -c "$DAEMON_CONF" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $* failed (status $?): $(cat "$T/ctl.out")"
	grep -q -E "^serial [0-9]+$" "$T/ctl.out" ||
		fail "tlspool-ctl $*: no new serial: $(cat "$T/ctl.out")"
	sed 's/^/    ctl: /' "$T/ctl.out"
}

# Where the daemon log stood before a connection: only later lines count.
MARK=0
mark() { MARK=$(stat -c %s "$DAEMON_LOG"); }
news() { tail -c +$((MARK + 1)) "$DAEMON_LOG"; }
_news_has() { news | grep -q -E -- "$1"; }
expect_new() {	# expect_new REGEX WHAT
	wait_until 10 _news_has "$1" ||
		fail "$2: no /$1/ in the daemon log; new lines:
$(news | tail -5)"
}

# client_tunnel NAME REMOTEID SERVPORT: tlstunnel -c (no local identity)
# listening on CPORT[NAME].
declare -A CPORT=() CLOG=()
client_tunnel() {
	start_tunnel "$1" -c -r "$2" 127.0.0.1:0 "127.0.0.1:$3"
	CPORT[$1]=$TUNNEL_PORT
	CLOG[$1]=$TUNNEL_LOG
}

# accepted WHAT TUNNEL REMOTEID: a line goes through the pool client to an
# echo server and comes back; the daemon logs the session as established
# (its line in ESTABLISHED) and refuses nothing.
accepted() {
	local what=$1 port=${CPORT[$2]} rid=$3 line="policy-$RANDOM-$RANDOM"
	mark
	"$NETUTIL" chat "$port" "$line
" "$line" 10000 >"$T/chat.out" 2>&1 ||
		fail "$what: no echo ($(tr '\n' ' ' <"$T/chat.out")); daemon: $(news | grep refused)"
	expect_new "established client role: local=\"[^\"]*\" remote=\"$rid\"" \
		"$what: the daemon reports the session"
	ESTABLISHED=$(news | grep "established client role" | tail -1)
	news | grep -q "refused" && fail "$what: the daemon refused: $(news | grep refused)"
	echo "    accepted: $what"
}

# refused WHAT TUNNEL REMOTEID REGEX: the pool client refuses the
# connection (no data comes back, tlstunnel reports a refusal) and the
# daemon's refusal line matches REGEX (an ERE).
refused() {
	local what=$1 tun=$2 rid=$3 re=$4 n
	mark
	n=$(grep -c "tlstunnel: refused" "${CLOG[$tun]}")
	"$NETUTIL" expect-closed "${CPORT[$tun]}" 10000 >"$T/closed.out" 2>&1 ||
		fail "$what: the connection was not refused: $(tr '\n' ' ' <"$T/closed.out")"
	expect_new "refused client role, local=\"[^\"]*\" remote=\"$rid\": .*($re)" \
		"$what: the daemon names the reason"
	REFUSAL=$(news | grep "refused client role" | tail -1)
	echo "    refused: $what: ${REFUSAL#*remote=\"$rid\": }"
	expect_count "${CLOG[$tun]}" "tlstunnel: refused" $((n + 1)) \
		"$what: tlstunnel reports the refusal"
	news | grep -q "established client role" &&
		fail "$what: the daemon established a session"
	return 0
}

# ---- cases ----
# Each case runs in a subshell with its own processes, from a policy
# database without rules, disclosures or trust records; a failed case is
# reported, its processes are stopped, and the next case runs.  The
# scenario fails at the end when any case failed.
FAILED_CASES=()

# reset_policy: delete every policy, disclose and trust record in one
# transaction (tlspool-ctl txn).
reset_policy() {
	"$CTL_BIN" -c "$DAEMON_CONF" policy list >"$T/reset.list" 2>&1 &&
		"$CTL_BIN" -c "$DAEMON_CONF" disclose list >>"$T/reset.list" 2>&1 &&
		"$CTL_BIN" -c "$DAEMON_CONF" trust list >>"$T/reset.list" 2>&1 ||
		fail "listing the databases: $(cat "$T/reset.list")"
	awk '$1 == "policy" { print "policy del " $2 " " $3 }
	     $1 == "disclose" || $1 == "trust" { print $1 " del " $2 }' \
		"$T/reset.list" >"$T/reset.txn"
	[ -s "$T/reset.txn" ] || return 0
	"$CTL_BIN" -c "$DAEMON_CONF" txn "$T/reset.txn" >"$T/reset.out" 2>&1 ||
		fail "txn reset: $(cat "$T/reset.out")"
}

_case_cleanup() {
	local i pid
	for ((i = ${#_PIDS[@]} - 1; i >= _CASE_NPIDS; i--)); do
		pid=${_PIDS[$i]}
		alive "$pid" && stop_proc "$pid" 5
	done
}

# run_case FUNCTION: one case; fail inside it ends only the case.
run_case() {
	reset_policy
	(
		_CASE_NPIDS=${#_PIDS[@]}
		trap _case_cleanup EXIT
		fail() {
			echo "FAIL: $TEST_NAME: $CASE: $*" >&2
			echo "    ----- daemon log since the last mark -----" >&2
			news | tail -8 | sed 's/^/    /' >&2
			exit 1
		}
		CASE=$1
		"$1"
	) || FAILED_CASES+=("$1")
	daemon_alive
}

start_gnutls_serv s-localhost localhost
P_LOCALHOST=$SERV_PORT
client_tunnel lh localhost "$P_LOCALHOST"

case1_pin() {
	step "1: no rule: the secure default (IT&) accepts a valid server"
	accepted "no rule" lh localhost
	step "1: policy set localhost client --valexp 'IT&P&': refused, names rule and P"
	ctl policy set localhost client --valexp 'IT&P&'
	refused "IT&P& without a pin" lh localhost \
		"peer validation failed: rule localhost: validation IT&P& failed: P: key [0-9a-f]+\.* is not pinned for localhost"
	step "1: trust add-pin the server's key for localhost: accepted"
	ctl trust add-pin "$PKI/localhost.pem" --for localhost
	grep -q "^set trust pin:localhost:$(spki localhost)" "$T/ctl.out" ||
		fail "add-pin did not write pin:localhost:$(spki localhost)"
	accepted "IT&P& with the pin" lh localhost
	step "1: a pin that vouches for clients only does not count for a server"
	ctl trust add-pin "$PKI/localhost.pem" --for localhost --peers clients
	refused "IT&P&, pin for clients" lh localhost \
		"validation IT&P& failed: P: key [0-9a-f]+\.* is not pinned for localhost"
	ctl trust add-pin "$PKI/localhost.pem" --for localhost --peers servers
	accepted "IT&P&, pin for servers again" lh localhost
	step "1: trust del the pin: refused again"
	ctl trust del "pin:localhost:$(spki localhost)"
	refused "IT&P&, pin deleted" lh localhost "rule localhost: validation IT&P& failed: P: "
	ctl policy del localhost client
	accepted "rule deleted" lh localhost
}

case2_selectors() {
	step "2: a rule for '.' applies when nothing more concrete exists"
	start_gnutls_serv s-www www
	client_tunnel www www.example.test "$SERV_PORT"
	accepted "www, no rule" www www.example.test
	ctl policy set . client --valexp 'IT&P&'
	refused "www under rule ." www www.example.test \
		"rule \.: validation IT&P& failed: P: .*not pinned for www\.example\.test"
	refused "localhost under rule ." lh localhost \
		"rule \.: validation IT&P& failed: P: .*not pinned for localhost"
	step "2: .example.test overrides ."
	ctl policy set .example.test client --valexp 'IT&'
	accepted "www under rule .example.test" www www.example.test
	refused "localhost still under rule ." lh localhost "rule \.: validation IT&P& failed"
	step "2: www.example.test overrides .example.test"
	ctl policy set www.example.test client --valexp 'IT&Q&'
	refused "www under rule www.example.test" www www.example.test \
		"rule www\.example\.test: validation IT&Q& failed: Q: "
	ctl policy del www.example.test client
	accepted "www back under .example.test" www www.example.test
	ctl policy del .example.test client
	ctl policy del . client
	accepted "www, rules gone" www www.example.test
	accepted "localhost, rules gone" lh localhost
}

case3_quantum_fs_level() {
	step "3: Q is refused with the post-quantum reason"
	ctl policy set localhost client --valexp 'Q'
	refused "Q" lh localhost "rule localhost: validation Q failed: Q: .*post-quantum"
	step "3: IT&F&L& accepted (TLS 1.3, ECDHE, P-256)"
	certtool -i --infile "$PKI/localhost.pem" | grep -q -i "SECP256R1" ||
		fail "the server key is not P-256"
	ctl policy set localhost client --valexp 'IT&F&L&'
	accepted "IT&F&L&" lh localhost
	echo "$ESTABLISHED" | grep -q "(TLS1.3)" || fail "IT&F&L&: not TLS 1.3: $ESTABLISHED"
	echo "$ESTABLISHED" | grep -q "ECDHE" || fail "IT&F&L&: not ECDHE: $ESTABLISHED"
}

case4_tofu() {
	step "4: p pins the first key it sees"
	ctl policy set tofu.test client --valexp 'Ip&'
	start_gnutls_serv s-tofu1 tofu1
	client_tunnel tofu1 tofu.test "$SERV_PORT"
	accepted "first use" tofu1 tofu.test
	expect_new "pinned key $(spki tofu1) for tofu.test on first use" \
		"the daemon logs the pin"
	"$CTL_BIN" -c "$DAEMON_CONF" trust list >"$T/trust.out" 2>&1 ||
		fail "trust list: $(cat "$T/trust.out")"
	grep -q "^trust pin:tofu.test:$(spki tofu1) kind=pin .*for=tofu.test" "$T/trust.out" ||
		fail "trust list does not show the pin: $(cat "$T/trust.out")"
	grep "pin:tofu.test:" "$T/trust.out" | sed 's/^/    /'
	accepted "second use, same key" tofu1 tofu.test
	news | grep -q "pinned key" && fail "the key was pinned a second time"
	step "4: another key for tofu.test is refused"
	start_gnutls_serv s-tofu2 tofu2
	client_tunnel tofu2 tofu.test "$SERV_PORT"
	refused "another key" tofu2 tofu.test \
		"rule tofu\.test: validation Ip& failed: p: tofu\.test is pinned to another key"
	"$CTL_BIN" -c "$DAEMON_CONF" trust list >"$T/trust.out" 2>&1
	[ "$(grep -c "pin:tofu.test:" "$T/trust.out")" = 1 ] ||
		fail "not exactly one pin for tofu.test: $(cat "$T/trust.out")"
}

case5_versions() {
	local chat
	step "5: --max-version TLS1.2: the session is TLS 1.2"
	ctl policy set localhost client --max-version TLS1.2
	accepted "max TLS1.2" lh localhost
	echo "$ESTABLISHED" | grep -q "(TLS1.2)" || fail "max TLS1.2: $ESTABLISHED"
	ctl policy del localhost client
	accepted "no rule: TLS 1.3 again" lh localhost
	echo "$ESTABLISHED" | grep -q "(TLS1.3)" || fail "no rule: $ESTABLISHED"
	step "5: --min-version TLS1.3 against openssl s_server -tls1_2"
	start_openssl_server s-tls12 localhost -tls1_2
	client_tunnel tls12 localhost "$SERV_PORT"
	# s_server does not echo: it prints what it gets; we answer on its stdin.
	mark
	"$NETUTIL" chat "${CPORT[tls12]}" "to-tls12-server
" "from-tls12-server" 15000 >"$T/tls12.out" 2>&1 &
	chat=$!
	_track "$chat" "chat"
	expect_log "$SERV_LOG" "^to-tls12-server$" "no rule: s_server -tls1_2 gets the data"
	echo "from-tls12-server" >"$T/s-tls12.stdin"
	wait_exit "$chat" 15 || fail "no rule: s_server's answer did not arrive"
	_untrack "$chat"
	[ "$WAIT_STATUS" = 0 ] || fail "no rule: TLS 1.2 server: $(cat "$T/tls12.out")"
	expect_new 'established client role: .*\(TLS1\.2\)' "no rule: TLS 1.2 session"
	ctl policy set localhost client --min-version TLS1.3
	refused "min TLS1.3 vs a TLS 1.2 server" tls12 localhost "[Pp]rotocol version"
	[ "$(grep -c "^to-tls12-server$" "$SERV_LOG")" = 1 ] ||
		fail "data reached the TLS 1.2 server"
}

case6_uids() {
	step "6: --uids 4242 (we are uid $MYUID): refused"
	ctl policy set localhost client --uids 4242
	refused "uid not allowed" lh localhost "rule localhost: uid $MYUID may not use it"
	ctl policy set localhost client --uids "4242,$MYUID"
	accepted "uid allowed" lh localhost
}

# ---- server role helpers ----
s_client() {	# s_client LOGNAME LINE [extra args]
	local name=$1 line=$2
	shift 2
	tls_client_chat "$name" "$line" openssl s_client \
		-connect "127.0.0.1:$SPORT" -servername localhost \
		-CAfile "$PKI/ca.pem" -verify_return_error \
		-verify_hostname localhost "$@"
}
with_cert=(-cert "$PKI/client.pem" -key "$PKI/client.key")
# server_refused WHAT LINE REGEX [s_client args]
server_refused() {
	local what=$1 line=$2 re=$3
	shift 3
	mark
	s_client "srv-$line" "$line" "$@" && fail "$what: s_client got an echo"
	expect_new "refused server role, local=\"[^\"]*\" remote=\"[^\"]*\": .*($re)" \
		"$what: the daemon names the reason"
	echo "    refused: $what: $(news | grep "refused server role" | tail -1 | sed 's/.*remote="[^"]*": //')"
}
# server_accepted WHAT LINE REMOTE [s_client args]
server_accepted() {
	local what=$1 line=$2 rid=$3
	shift 3
	mark
	s_client "srv-$line" "$line" "$@" ||
		fail "$what: no echo: $(tail -3 "$T/srv-$line.out"); daemon: $(news | grep refused)"
	expect_new "established server role: local=\"localhost\" remote=\"$rid\"" \
		"$what: the daemon reports the session"
	echo "    accepted: $what"
}

case7_server_role() {
	step "7: server role: tlstunnel -s requires a client certificate by default"
	start_tunnel srv -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
	SPORT=$TUNNEL_PORT
	server_refused "no rule, no client certificate" nocert1 \
		"[Cc]ertificate is required|no certificate"
	server_accepted "no rule, with a client certificate" cert1 client.example \
		"${with_cert[@]}"
	step "7: --client-auth optional --valexp T: no certificate refused by T"
	ctl policy set localhost server --client-auth optional --valexp 'T'
	server_refused "optional + T, no certificate" nocert3 \
		"rule localhost: validation T failed: T: the peer presented no certificate"
	server_accepted "optional + T, with a certificate" cert3 "" "${with_cert[@]}"
	step "7: --valexp 'IT&': the certificate's identity is proven and reported"
	ctl policy set localhost server --client-auth optional --valexp 'IT&'
	server_accepted "optional + IT&" cert4 client.example "${with_cert[@]}"
	expect_log "$TUNNEL_LOG" "connected local=localhost remote=client.example" \
		"tlstunnel -s reports the proven identity"
	step "7: --client-auth required --valexp T: no certificate refused"
	ctl policy set localhost server --client-auth required --valexp 'T'
	server_refused "required + T, no certificate" nocert5 \
		"[Cc]ertificate is required|no certificate"
	server_accepted "required + T, with a certificate" cert5 "" "${with_cert[@]}"
}

# A server learns the served name (and so its rule) only from the
# ClientHello; the rule's version bounds still hold.
case7d_server_versions() {
	step "7d: server rule --min-version TLS1.3: a TLS 1.2 client is refused"
	start_tunnel srv -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
	SPORT=$TUNNEL_PORT
	server_accepted "no rule, TLS 1.2 client" tls12a client.example \
		"${with_cert[@]}" -tls1_2
	expect_new 'established server role: .*\(TLS1\.2\)' "no rule: TLS 1.2 session"
	ctl policy set localhost server --min-version TLS1.3
	server_refused "min TLS1.3, TLS 1.2 client" tls12b \
		"rule localhost: .*TLS1\.2|[Pp]rotocol version|[Nn]o supported cipher suites" \
		"${with_cert[@]}" -tls1_2
	server_accepted "min TLS1.3, TLS 1.3 client" tls13 client.example \
		"${with_cert[@]}"
	expect_new 'established server role: .*\(TLS1\.3\)' "TLS 1.3 session"
	step "7d: server rule --max-version TLS1.2: a TLS 1.3 client gets TLS 1.2"
	ctl policy set localhost server --max-version TLS1.2
	server_accepted "max TLS1.2" tls12c client.example "${with_cert[@]}"
	expect_new 'established server role: .*\(TLS1\.2\)' "TLS 1.2 session"
}

# A rule without an expression: its client-auth setting alone decides
# whether a client must show a certificate (doc/validation.md).
case7b_client_auth_none() {
	step "7b: --client-auth none (no expression): a client without a certificate is accepted"
	start_tunnel srv -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
	SPORT=$TUNNEL_PORT
	server_refused "no rule, no client certificate" nocert7 \
		"[Cc]ertificate is required|no certificate"
	ctl policy set localhost server --client-auth none
	server_accepted "client-auth none" nocert2 ""
}

case7c_client_auth_optional() {
	step "7c: --client-auth optional (no expression): certificate optional"
	start_tunnel srv -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
	SPORT=$TUNNEL_PORT
	ctl policy set localhost server --client-auth optional
	server_accepted "client-auth optional, with a certificate" cert6 client.example \
		"${with_cert[@]}"
	server_accepted "client-auth optional, no certificate" nocert6 ""
}

case8_eku() {
	step "8: E refuses a certificate without EKU, e accepts it"
	start_gnutls_serv s-noeku noeku
	client_tunnel noeku localhost "$SERV_PORT"
	ctl policy set localhost client --valexp 'IT&E&'
	refused "IT&E&, no EKU" noeku localhost \
		"validation IT&E& failed: E: no extended key usage \(1\.3\.6\.1\.5\.5\.7\.3\.1 required\)"
	ctl policy set localhost client --valexp 'IT&e&'
	accepted "IT&e&, no EKU" noeku localhost
	step "8: e refuses a certificate whose EKU is clientAuth only"
	start_gnutls_serv s-clientonly clientonly
	client_tunnel clientonly localhost "$SERV_PORT"
	refused "IT&e&, clientAuth only" clientonly localhost \
		"validation IT&e& failed: e: extended key usage lacks 1\.3\.6\.1\.5\.5\.7\.3\.1"
	accepted "IT&e&, serverAuth" lh localhost
	ctl policy set localhost client --valexp 'IT&E&'
	accepted "IT&E&, serverAuth" lh localhost
}

case9_selfsigned() {
	step "9: a self-signed server certificate: IT& refuses, It& accepts"
	start_gnutls_serv s-self selfsigned
	client_tunnel self localhost "$SERV_PORT"
	refused "no rule (IT&), self-signed" self localhost "untrusted|signer not found|issuer"
	ctl policy set localhost client --valexp 'IT&'
	refused "IT&, self-signed" self localhost "validation IT& failed: T: "
	ctl policy set localhost client --valexp 'It&'
	accepted "It&, self-signed" self localhost
	accepted "It&, CA-signed" lh localhost
}

case10_revocation() {
	step "10: R without any CRL: refused; r: accepted"
	ctl policy set localhost client --valexp 'IT&R&'
	refused "IT&R&, no CRL" lh localhost \
		"validation IT&R& failed: R: no current CRL or OCSP staple"
	ctl policy set localhost client --valexp 'IT&r&'
	accepted "IT&r&, no CRL" lh localhost
	step "10: a CRL listing the server certificate: r and R refuse"
	ctl trust add-crl "$PKI/crl-revoking.pem"
	refused "IT&r&, revoked" lh localhost \
		"validation IT&r& failed: r: the certificate is revoked \(CRL\)"
	ctl policy set localhost client --valexp 'IT&R&'
	refused "IT&R&, revoked" lh localhost \
		"validation IT&R& failed: R: the certificate is revoked \(CRL\)"
	step "10: a newer CRL that does not list it: R accepts"
	ctl trust add-crl "$PKI/crl-empty.pem"
	[ "$("$CTL_BIN" -c "$DAEMON_CONF" trust list 2>&1 | grep -c "kind=crl")" = 1 ] ||
		fail "the second CRL did not replace the first"
	accepted "IT&R&, good per CRL" lh localhost
	step "10: trust revoke of the key: refused, whatever the rule asks"
	ctl trust revoke "$PKI/localhost.pem"
	refused "IT&R&, key revoked" lh localhost \
		"the peer's certificate key [0-9a-f]{16}\.\.\. is listed as revoked \(trust\.db\)"
	ctl policy set localhost client --valexp 'IT&'
	refused "IT&, key revoked" lh localhost \
		"the peer's certificate key [0-9a-f]{16}\.\.\. is listed as revoked \(trust\.db\)"
	ctl policy set localhost client --valexp 'IT&R&'
	ctl trust del "revoked:$(spki localhost)"
	accepted "IT&R&, key no longer revoked" lh localhost
}

case11_disclose() {
	local chat
	step "11: without a disclose record the pool shows no client certificate"
	start_openssl_server s-verify localhost -Verify 1 -CAfile "$PKI/ca.pem" \
		-verify_return_error
	client_tunnel verify localhost "$SERV_PORT"
	"$NETUTIL" chat "${CPORT[verify]}" "anonymous
" "never" 5000 >"$T/anon.out" 2>&1 && fail "s_server answered an anonymous client"
	expect_log "$SERV_LOG" "peer did not return a certificate|certificate required|no certificate" \
		"s_server refuses the client without a certificate"
	grep -q "^anonymous$" "$SERV_LOG" && fail "s_server accepted data without a client certificate"
	step "11: disclose set localhost client.example: the certificate is shown"
	ctl disclose set localhost client.example
	mark
	"$NETUTIL" chat "${CPORT[verify]}" "disclosed
" "welcome" 15000 >"$T/disc.out" 2>&1 &
	chat=$!
	_track "$chat" "chat"
	expect_log "$SERV_LOG" "^disclosed$" "s_server gets data from the disclosed identity"
	echo "welcome" >"$T/s-verify.stdin"
	wait_exit "$chat" 15 || fail "s_server's answer did not arrive"
	_untrack "$chat"
	[ "$WAIT_STATUS" = 0 ] || fail "disclosed: $(cat "$T/disc.out")"
	grep -q -E "^subject=.*CN ?= ?Pool Client" "$SERV_LOG" ||
		fail "s_server did not see the client certificate"
	grep -q -E "^depth=0 .*CN ?= ?Pool Client" "$SERV_LOG" ||
		fail "s_server did not verify the client certificate"
	grep "^subject=" "$SERV_LOG" | sed 's/^/    s_server: /'
	expect_new 'established client role: local="client.example" remote="localhost"' \
		"the daemon shows client.example"
	grep -q "connected local=client.example remote=localhost" "${CLOG[verify]}" ||
		fail "tlstunnel does not report the disclosed local identity"
	step "11: disclose del: no identity shown again"
	ctl disclose del localhost
	accepted "disclose deleted" lh localhost
	echo "$ESTABLISHED" | grep -q 'local="" remote="localhost"' ||
		fail "a local identity is still shown: $ESTABLISHED"
}

ctl_refused() {	# ctl_refused STATUS REGEX ARGS...
	local want=$1 re=$2 rc
	shift 2
	"$CTL_BIN" -c "$DAEMON_CONF" "$@" >"$T/ctlbad.out" 2>&1
	rc=$?
	[ "$rc" = "$want" ] ||
		fail "tlspool-ctl $*: status $rc, want $want: $(cat "$T/ctlbad.out")"
	grep -q -E -- "$re" "$T/ctlbad.out" ||
		fail "tlspool-ctl $*: no /$re/ in: $(cat "$T/ctlbad.out")"
	echo "    ctl refused ($rc): $(head -1 "$T/ctlbad.out")"
}

case12_store_time() {
	step "12: a broken expression is refused by tlspool-ctl with its position"
	ctl_refused 2 "offset 3: '&' needs 2 operands, found 1" \
		policy set localhost client --valexp 'IT&&'
	ctl_refused 2 "offset 1: 2 values are left at the end" \
		policy set localhost client --valexp 'IT'
	ctl_refused 2 "offset 1: unknown predicate 'X'" \
		policy set localhost client --valexp 'IXT&&'
	step "12: A is refused with its message"
	ctl_refused 2 "offset 0: A/a \(anonymous precursor\) needs renegotiation" \
		policy set localhost client --valexp 'AI&'
	step "12: anchors take no expression (the rule's expression decides)"
	ctl_refused 2 "option '--valexp' is not known here" \
		trust add-anchor "$PKI/other.pem" --valexp 'Id|'
	ctl_refused 1 "no policy record for localhost client" policy get localhost client
	"$CTL_BIN" -c "$DAEMON_CONF" trust list 2>&1 | grep -q "anchor:$(spki other)" &&
		fail "the anchor with a refused expression was stored"
	accepted "nothing stored: the secure default applies" lh localhost
}

for c in case1_pin case2_selectors case3_quantum_fs_level case4_tofu \
	case5_versions case6_uids case7_server_role case7d_server_versions case7b_client_auth_none \
	case7c_client_auth_optional case8_eku case9_selfsigned \
	case10_revocation case11_disclose case12_store_time; do
	run_case "$c"
done

step "the same daemon throughout, still answering"
[ "$DAEMON_PID" = "$PID0" ] || fail "the daemon was restarted"
grep -q -i -E "reload|SIGHUP" "$DAEMON_LOG" && fail "the daemon reloaded"
daemon_alive
[ ${#FAILED_CASES[@]} -eq 0 ] || fail "failed cases: ${FAILED_CASES[*]}"
pass

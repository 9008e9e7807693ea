#!/bin/bash
# The client role refuses what it cannot validate, and says why: a name
# that is not in the certificate ("name mismatch"), a chain from a CA that
# is not a trust anchor ("untrusted"/"signer not found"), an expired
# certificate, a certificate without the TLS server purpose.
. "$(dirname "$0")/lib.sh"

make_ca
make_ca other "Some Other CA"
make_cert localhost --dns localhost
make_cert rogue --ca other --dns localhost
make_cert clientonly --dns localhost --client
make_cert expired --dns localhost
# re-issue "expired" with a validity period that ended long ago
sed -i -e '/^activation_date/d' -e '/^expiration_days/d' "$PKI/expired.tmpl"
printf 'activation_date = "2020-01-01 00:00:00"\nexpiration_date = "2020-01-02 00:00:00"\n' \
	>>"$PKI/expired.tmpl"
certtool --generate-certificate --load-privkey "$PKI/expired.key" \
	--load-ca-certificate "$PKI/ca.pem" --load-ca-privkey "$PKI/ca.key" \
	--template "$PKI/expired.tmpl" --outfile "$PKI/expired.pem" >/dev/null 2>&1 ||
	fail "cannot make the expired certificate"
cat "$PKI/expired.pem" "$PKI/ca.pem" >"$PKI/expired.chain.pem"
start_daemon

# refused NAME CERT REMOTEID REGEX: tlstunnel -c to a gnutls-serv showing
# CERT, asking for REMOTEID, must refuse with REGEX in the daemon log.
refused() {
	local name=$1 cert=$2 rid=$3 re=$4
	step "$name"
	start_gnutls_serv "serv-$name" "$cert"
	start_tunnel "$name" -c -r "$rid" 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
	"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/$name.out" 2>&1 ||
		fail "$name: the connection was not refused: $(cat "$T/$name.out")"
	expect_log "$TUNNEL_LOG" "tlstunnel: refused: " "$name: tlstunnel reports the refusal"
	grep -q "tlstunnel: connected" "$TUNNEL_LOG" && fail "$name: tlstunnel reports a connection"
	expect_log "$DAEMON_LOG" "refused client role, local=\"\" remote=\"$rid\": .*($re)" \
		"$name: the daemon names the reason"
	grep "refused client role, local=\"\" remote=\"$rid\"" "$DAEMON_LOG" | tail -1 | sed 's/^/    /'
	stop_proc "$TUNNEL_PID"
	stop_proc "$SERV_PID"
}

refused wrong-name localhost evil.example "name mismatch"
refused untrusted rogue localhost "untrusted|signer not found"
refused expired expired localhost "expired"
refused no-server-purpose clientonly localhost "purpose"

step "the right name and chain still work"
start_gnutls_serv serv-ok localhost
start_tunnel ok -c -r localhost 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
"$NETUTIL" chat "$TUNNEL_PORT" "fine
" "fine" >"$T/ok.out" 2>&1 || fail "valid server refused: $(cat "$T/ok.out")"

daemon_alive
pass

#!/bin/bash
# One refused and one accepted connection for the predicates t_policy.sh
# does not exercise: I and i (identity, domain-level), U (user part),
# F (forward secrecy: RSA key exchange is refused), L and l (security
# level: RSA-2048 is 112-bit), C and S (local role).  Rules are changed
# with tlspool-ctl while the daemon runs; each refusal must name the rule
# and the predicate with its reason.
. "$(dirname "$0")/lib.sh"

CTL=$BUILD/tools/tlspool-ctl
make_ca
make_cert localhost --dns localhost
make_cert other --dns www.example.test
# certtool drops an e-mail SAN from a certificate with the TLS server
# purpose; the U rule below does not ask for the purpose (no E).
make_cert alice --email alice@localhost --dns localhost --client
# An RSA-2048 server certificate for localhost (security level 112 bits),
# usable for RSA key exchange (key encipherment).
sed -e 's/^cn = .*/cn = "localhost rsa"/' -e 's/^signing_key$/signing_key\nencryption_key/' \
	"$PKI/localhost.tmpl" >"$PKI/rsa.tmpl"
certtool --generate-privkey --key-type rsa --bits 2048 --no-text \
	--outfile "$PKI/rsa.key" >/dev/null 2>&1 &&
	certtool --generate-certificate --load-privkey "$PKI/rsa.key" \
		--load-ca-certificate "$PKI/ca.pem" --load-ca-privkey "$PKI/ca.key" \
		--template "$PKI/rsa.tmpl" --outfile "$PKI/rsa.pem" \
		>"$PKI/rsa.out" 2>&1 || fail "cannot make the RSA certificate"
cat "$PKI/rsa.pem" "$PKI/ca.pem" >"$PKI/rsa.chain.pem"
start_daemon

ctl() {
	"$CTL" -c "$DAEMON_CONF" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $*: $(cat "$T/ctl.out")"
}

# try NAME PORT REMOTEID: one line through the pool client; 0 if echoed.
try() {
	printf 'line %s\n' "$1" | timeout 20 "$TUNNEL_BIN" -c --stdio -r "$3" \
		"127.0.0.1:$2" >"$T/$1.out" 2>"$T/$1.err"
	grep -q "^line $1$" "$T/$1.out"
}

# refused NAME PORT REMOTEID REGEX: no echo, and the daemon names why.
refused() {
	try "$1" "$2" "$3" && fail "$1: the connection was accepted"
	expect_log "$DAEMON_LOG" "refused client role, local=\"\" remote=\"$3\": .*$4" \
		"$1: the reason"
	grep "remote=\"$3\": .*$4" "$DAEMON_LOG" | tail -1 | sed 's/^/    /'
}

accepted() {
	try "$1" "$2" "$3" || fail "$1: refused: $(tail -2 "$T/$1.err"; grep 'refused' "$DAEMON_LOG" | tail -1)"
}

step "I: the certificate must be valid for the remote identity"
start_gnutls_serv wrong other
WRONG=$SERV_PORT
start_gnutls_serv right localhost
RIGHT=$SERV_PORT
ctl policy set localhost client --valexp 'IT&'
refused i-wrong "$WRONG" localhost "rule localhost: validation IT& failed: I: the certificate is not valid for localhost"
accepted i-right "$RIGHT" localhost

step "i: a domain certificate proves user@domain only with the relaxed form"
ctl policy set @localhost client --valexp 'IT&'
refused i-user "$RIGHT" bob@localhost "rule @localhost: validation IT& failed: I: "
ctl policy set @localhost client --valexp 'iT&'
accepted i-relaxed "$RIGHT" bob@localhost

step "U: the certificate must name the user"
ctl policy set @localhost client --valexp 'UT&'
refused u-missing "$RIGHT" alice@localhost "U: the certificate does not name user alice@localhost"
start_gnutls_serv alice alice
accepted u-named "$SERV_PORT" alice@localhost

step "F: RSA key exchange has no forward secrecy"
start_gnutls_serv rsakx rsa --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA"
RSAKX=$SERV_PORT
ctl policy set localhost client --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:+RSA" --valexp 'IT&F&'
refused f-rsa "$RSAKX" localhost "F: key exchange RSA is not ephemeral"
ctl policy set localhost client --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:+RSA" --valexp 'IT&'
accepted f-off "$RSAKX" localhost
ctl policy set localhost client --valexp 'IT&F&'
accepted f-ecdhe "$RIGHT" localhost

step "L and l: RSA-2048 is 112-bit security"
start_gnutls_serv rsa rsa
RSA=$SERV_PORT
ctl policy set localhost client --valexp 'IT&L&'
refused l-strict "$RSA" localhost "L: peer key RSA-2048 is weaker than High"
accepted l-ecdsa "$RIGHT" localhost
ctl policy set localhost client --valexp 'IT&l&'
accepted l-relaxed "$RSA" localhost

step "C and S: the local role"
ctl policy set localhost client --valexp 'IT&S&'
refused s-role "$RIGHT" localhost "S: the local role is client"
ctl policy set localhost client --valexp 'IT&C&'
accepted c-role "$RIGHT" localhost

daemon_alive
pass

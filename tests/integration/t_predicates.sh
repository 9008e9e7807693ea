#!/bin/bash
# One refused and one accepted connection for the predicates t_policy.sh
# does not exercise: I and i (identity, domain-level), U (user part),
# F (forward secrecy: RSA key exchange is refused), L and l (security
# level: RSA-2048 is 112-bit), C and S (local role).  Rules are changed
# with tlspool-ctl while the daemon runs; each refusal must name the rule
# and the predicate with its reason.
. "$(dirname "$0")/lib.sh"

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

step "I: the certificate must be valid for the remote identity"
start_gnutls_serv wrong other
WRONG=$SERV_PORT
start_gnutls_serv right localhost
RIGHT=$SERV_PORT
ctl_on daemon policy set localhost client --valexp 'IT&'
client_refused i-wrong "$WRONG" localhost "rule localhost: validation IT& failed: I: the certificate is not valid for localhost"
client_accepted i-right "$RIGHT" localhost

step "i: a domain certificate proves user@domain only with the relaxed form"
ctl_on daemon policy set @localhost client --valexp 'IT&'
client_refused i-user "$RIGHT" bob@localhost "rule @localhost: validation IT& failed: I: "
ctl_on daemon policy set @localhost client --valexp 'iT&'
client_accepted i-relaxed "$RIGHT" bob@localhost

step "U: the certificate must name the user"
ctl_on daemon policy set @localhost client --valexp 'UT&'
client_refused u-missing "$RIGHT" alice@localhost "U: the certificate does not name user alice@localhost"
start_gnutls_serv alice alice
client_accepted u-named "$SERV_PORT" alice@localhost

step "F: RSA key exchange has no forward secrecy"
start_gnutls_serv rsakx rsa --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA"
RSAKX=$SERV_PORT
ctl_on daemon policy set localhost client --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:+RSA" --valexp 'IT&F&'
client_refused f-rsa "$RSAKX" localhost "F: key exchange RSA is not ephemeral"
ctl_on daemon policy set localhost client --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:+RSA" --valexp 'IT&'
client_accepted f-off "$RSAKX" localhost
ctl_on daemon policy set localhost client --valexp 'IT&F&'
client_accepted f-ecdhe "$RIGHT" localhost

step "L and l: RSA-2048 is 112-bit security"
start_gnutls_serv rsa rsa
RSA=$SERV_PORT
ctl_on daemon policy set localhost client --valexp 'IT&L&'
client_refused l-strict "$RSA" localhost "L: peer key RSA-2048 is weaker than High"
client_accepted l-ecdsa "$RIGHT" localhost
ctl_on daemon policy set localhost client --valexp 'IT&l&'
client_accepted l-relaxed "$RSA" localhost

step "C and S: the local role"
ctl_on daemon policy set localhost client --valexp 'IT&S&'
client_refused s-role "$RIGHT" localhost "S: the local role is client"
ctl_on daemon policy set localhost client --valexp 'IT&C&'
client_accepted c-role "$RIGHT" localhost

daemon_alive
pass

#!/bin/bash
# crank check against real files: certificates and keys made with
# certtool, a keytab made with ktutil.  A good source gives the records
# it should (one per item, anchors per certificate, keys by the SPKI
# hash openssl computes); every kind of refusal names file:line:column
# and sets exit status 1; --key-root reads host paths elsewhere; a
# directory source is read in name order and clashes across files.
. "$(dirname "$0")/lib.sh"

CRANK=$BUILD/crank/crank
[ -x "$CRANK" ] || fail "$CRANK is not built"
S=$T/src
ROOT=$T/hostroot
mkdir -p "$S/certs" "$ROOT/etc/tlspool"

spki() {
	openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER |
		sha256sum | cut -d' ' -f1
}

# run_check NAME EXPECTED_STATUS [crank args...]: output in $T/NAME.out
run_check() {
	local name=$1 want=$2 st
	shift 2
	"$CRANK" check "$@" >"$T/$name.out" 2>&1
	st=$?
	[ "$st" -eq "$want" ] ||
		fail "$name: exit status $st, want $want: $(cat "$T/$name.out")"
}

expect_out() {
	grep -q -F -- "$2" "$T/$1.out" ||
		fail "$1: no '$2' in: $(cat "$T/$1.out")"
}

step "certificates, keys and a keytab"
make_ca ca
make_ca other
make_cert alice --email alice@example.com --client
make_cert www --dns www.example.com
make_cert wrong --dns wrong.example.com
cp "$PKI/ca.pem" "$PKI/other.pem" "$PKI/alice.chain.pem" "$PKI/www.chain.pem" "$S/certs/"
cat "$PKI/ca.pem" "$PKI/other.pem" >"$S/certs/bundle.pem"
cp "$PKI/alice.key" "$PKI/www.key" "$PKI/wrong.key" "$ROOT/etc/tlspool/"
certtool --generate-privkey --key-type ecdsa --no-text --outfile "$ROOT/etc/tlspool/rp.key" >/dev/null 2>&1
certtool --load-privkey "$ROOT/etc/tlspool/rp.key" --pubkey-info --no-text \
	--outfile "$S/certs/rp.pub" >/dev/null 2>&1 || fail "certtool --pubkey-info"
printf 'addent -password -p alice@EXAMPLE.COM -k 1 -e aes256-cts-hmac-sha1-96\nsecret\nwkt %s\nquit\n' \
	"$ROOT/etc/tlspool/alice.keytab" | ktutil >/dev/null 2>&1
[ -s "$ROOT/etc/tlspool/alice.keytab" ] || fail "ktutil wrote no keytab"
echo "not a keytab" >"$ROOT/etc/tlspool/bad.keytab"
printf 'crl_next_update = 7\ncrl_number = 1\n' >"$PKI/crl.tmpl"
certtool --generate-crl --load-ca-privkey "$PKI/ca.key" --load-ca-certificate "$PKI/ca.pem" \
	--template "$PKI/crl.tmpl" --outfile "$S/certs/ca.crl" >/dev/null 2>&1 || fail "certtool --generate-crl"
# the CRL's key as tlspool-ctl computes it (SHA-256 of the issuer DN)
"$BUILD/tools/tlspool-ctl" -d "$T/ctldb" trust add-crl "$S/certs/ca.crl" >/dev/null 2>&1 ||
	fail "tlspool-ctl trust add-crl"
CRLKEY=$("$BUILD/tools/tlspool-ctl" -d "$T/ctldb" trust list 2>/dev/null | grep -o -E 'crl:[0-9a-f]{64}')
[ -n "$CRLKEY" ] || fail "no crl key from tlspool-ctl"

step "a good source: one record per item, anchors per certificate"
cat >"$S/good.crank" <<EOF2
identity alice@example.com x509 {
    chain certs/alice.chain.pem
    key /etc/tlspool/alice.key
    role client
    uids 1000
}
identity www.example.com x509 {
    chain "certs/www.chain.pem"
    key /etc/tlspool/www.key
    role server
}
identity rp.example.com rawpk {
    public-key certs/rp.pub
    key /etc/tlspool/rp.key
}
identity alice@example.com krb5 { keytab /etc/tlspool/alice.keytab }
disclose @.example.com { show alice@example.com }
anchor certs/bundle.pem { peers servers }
pin sha256:$(spki "$PKI/wrong.pem") { for wrong.example.com }
policy @.example.com client {
    min-version TLS1.2
    valexp "IT&F&"
}
policy www.example.com server {
    client-auth required
    priority "NORMAL:-VERS-TLS1.0"
}
crl certs/ca.crl
identity cert.example.com rawpk {
    public-key certs/www.chain.pem
    pkcs11 "pkcs11:token=t;object=k"
}
EOF2
run_check good 0 --key-root "$ROOT" --records "$S/good.crank"
expect_out good "fine: 12 records (5 localid, 1 disclose, 4 trust, 2 policy), 0 warnings"
expect_out good "trust $CRLKEY "
expect_out good "localid cert.example.com rawpk "
expect_out good "trust anchor:$(spki "$PKI/ca.pem") "
expect_out good "trust anchor:$(spki "$PKI/other.pem") "
expect_out good "trust pin:wrong.example.com:$(spki "$PKI/wrong.pem") "
expect_out good "localid alice@example.com krb5 "
expect_out good "localid rp.example.com rawpk "
grep -q -E "^policy @\.example\.com client \([0-9]+ bytes\) from $S/good.crank:20:1$" "$T/good.out" ||
	fail "good: the rule's record does not name good.crank:20:1"

step "keys read where named without --key-root: refused, with the place"
run_check nokeyroot 1 "$S/good.crank"
expect_out nokeyroot "$S/good.crank:3:9: error: /etc/tlspool/alice.key: cannot read"
expect_out nokeyroot "$S/good.crank:16:42: error: /etc/tlspool/alice.keytab: cannot read"

step "a key of another certificate, a bad keytab, a missing chain"
cat >"$S/bad.crank" <<'EOF2'
identity www.example.com x509 {
    chain certs/www.chain.pem
    key /etc/tlspool/wrong.key
}
identity alice@example.com krb5 { keytab /etc/tlspool/bad.keytab }
identity y.example.com x509 {
    chain certs/none.pem
    pkcs11 "pkcs11:token=t;object=x"
}
identity alice@example.com x509 {
    chain certs/www.chain.pem
    key /etc/tlspool/www.key
}
policy www.example.com server { priority "NORMAL:-VERS-BOGUS" }
EOF2
run_check bad 1 --key-root "$ROOT" "$S/bad.crank"
expect_out bad "$S/bad.crank:3:9: error: $ROOT/etc/tlspool/wrong.key does not belong to the certificate or public key of this identity"
expect_out bad "$S/bad.crank:5:42: error: $ROOT/etc/tlspool/bad.keytab: not a keytab with a key"
expect_out bad "$S/bad.crank:7:11: error: $S/certs/none.pem: cannot read"
expect_out bad "$S/bad.crank:11:11: warning: $S/certs/www.chain.pem: the certificate does not name alice@example.com"
expect_out bad "$S/bad.crank:14:50: error: priority 'NORMAL:-VERS-BOGUS'"
expect_out bad "bad.crank: 4 errors, 1 warning"

step "an encrypted key is a warning, not a silent pass"
certtool --generate-privkey --key-type ecdsa --no-text --password=pw \
	--pkcs8 --outfile "$ROOT/etc/tlspool/enc.key" >/dev/null 2>&1
cat >"$S/enc.crank" <<'EOF2'
identity www.example.com x509 {
    chain certs/www.chain.pem
    key /etc/tlspool/enc.key
}
EOF2
run_check enc 0 --key-root "$ROOT" "$S/enc.crank"
expect_out enc "$S/enc.crank:3:9: warning: $ROOT/etc/tlspool/enc.key is encrypted: not checked against the certificate"
expect_out enc "fine: 1 records (1 localid, 0 disclose, 0 trust, 0 policy), 1 warning"

step "trust contradictions that only the files show"
cat >"$S/trust.crank" <<EOF2
anchor certs/bundle.pem
anchor certs/ca.pem
revoked certs/other.pem
pin sha256:$(spki "$PKI/alice.pem")
pin certs/alice.chain.pem
EOF2
run_check trust 1 "$S/trust.crank"
expect_out trust "$S/trust.crank:2:1: error: trust anchor:$(spki "$PKI/ca.pem"): the same key as at $S/trust.crank:1:1"
expect_out trust "$S/trust.crank:1:1: error: trust anchor:$(spki "$PKI/other.pem"): this key is revoked at $S/trust.crank:3:1"
expect_out trust "$S/trust.crank:5:1: error: trust pin::$(spki "$PKI/alice.pem"): the same key as at $S/trust.crank:4:1"
expect_out trust "$S/trust.crank:5:5: warning: $S/certs/alice.chain.pem holds 2 certificates; only the first is pinned"

step "a directory: files in name order, a clash across files"
mkdir -p "$S/dir/certs"
cp "$PKI/ca.pem" "$S/dir/certs/"
cat >"$S/dir/20-rules.crank" <<'EOF2'
policy @.Example.COM client { valexp "IT&" }
EOF2
cat >"$S/dir/10-base.crank" <<'EOF2'
anchor certs/ca.pem
policy @.example.com client { valexp "I" }
EOF2
echo "garbage {" >"$S/dir/README"
run_check dir 1 --records "$S/dir"
expect_out dir "$S/dir/20-rules.crank:1:1: error: a policy for @.example.com in the client role is already defined at $S/dir/10-base.crank:2:1"
rm "$S/dir/20-rules.crank"
run_check dir2 0 --records "$S/dir"
expect_out dir2 "fine: 2 records (0 localid, 0 disclose, 1 trust, 1 policy)"

step "syntax errors: all of them, each with its place"
printf 'policy a client {\n  valexp "IT&X"\n  client-auth required\n}\nanchor "x\n' >"$S/syn.crank"
run_check syn 1 "$S/syn.crank"
expect_out syn "$S/syn.crank:5:8: error: string not closed on this line"
expect_out syn "$S/syn.crank:2:14: error: validation expression 'IT&X': offset 3: unknown predicate 'X'"
expect_out syn "$S/syn.crank:3:15: error: client-auth applies to the server role"

step "usage and unreadable sources"
run_check usage 2
run_check usage2 2 --key-root relative "$S/good.crank"
run_check nosrc 1 "$T/none.crank"
expect_out nosrc "$T/none.crank: error: cannot read: No such file or directory"

pass

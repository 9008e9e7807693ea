#!/bin/bash
# PRNG (RFC 5705/8446 exporter) and INFO on a session the pool runs as a
# client against openssl s_server -keymatexport: the pool's keying
# material equals s_server's "Keying material:" (TLS 1.3 and TLS 1.2; no
# context, since s_server cannot take one); with a context the answer is
# different (and for TLS 1.2 an empty context differs from none, as RFC
# 5705 says); PRF-internal labels are refused; INFO returns the server
# certificate's subject and issuer, and the subjectAltName check accepts
# localhost and refuses evil.example.
. "$(dirname "$0")/lib.sh"

LABEL=EXPERIMENTAL-tlspool-test
make_ca
make_cert localhost --dns localhost
start_daemon
want_subject=$(subject_dn localhost)
want_issuer=$(openssl x509 -in "$PKI/ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')

hexof() {	# hexof FILE PREFIX: the value after "PREFIX: "
	sed -n "s/^$2: //p" "$1" | head -1
}

for ver in 1.3 1.2; do
	step "TLS $ver"
	opt=()
	[ "$ver" = 1.2 ] && opt=(-tls1_2)
	start_openssl_server "sserv$ver" localhost -keymatexport "$LABEL" \
		-keymatexportlen 32 "${opt[@]}"
	out=$T/prng$ver.out
	timeout 20 "$HELPERS/prng_client" -r localhost \
		-x "$LABEL" -X "$LABEL:some context" -X "$LABEL:" \
		-x "key expansion" -x "master secret" -x "client finished" \
		-x "EXPORTER-Channel-Binding" \
		-s -u -n -a localhost -a evil.example -a alice@localhost \
		127.0.0.1 "$SERV_PORT" >"$out" 2>&1 ||
		fail "TLS $ver: prng_client failed: $(cat "$out")"
	sed 's/^/    /' "$out"
	grep -q "^starttls: ok local= remote=localhost$" "$out" || fail "TLS $ver: bad STARTTLS reply"

	expect_log "$SERV_LOG" "Keying material: [0-9A-F]{64}" "TLS $ver: s_server exports"
	theirs=$(sed -n 's/^ *Keying material: //p' "$SERV_LOG" | head -1 | tr 'A-F' 'a-f')
	ours=$(hexof "$out" "export $LABEL")
	echo "    s_server: $theirs"
	[ -n "$ours" ] && [ "$ours" = "$theirs" ] ||
		fail "TLS $ver: pool exported '$ours', s_server '$theirs'"

	ctx=$(hexof "$out" "export $LABEL ctx some context")
	empty=$(hexof "$out" "export $LABEL ctx ")
	[[ $ctx =~ ^[0-9a-f]{64}$ ]] || fail "TLS $ver: export with context: '$ctx'"
	[[ $empty =~ ^[0-9a-f]{64}$ ]] || fail "TLS $ver: export with empty context: '$empty'"
	[ "$ctx" != "$ours" ] || fail "TLS $ver: the context made no difference"
	if [ "$ver" = 1.3 ]; then
		[ "$empty" = "$ours" ] || fail "TLS 1.3: empty context must equal no context"
	else
		[ "$empty" != "$ours" ] || fail "TLS 1.2: empty context must differ from no context"
	fi
	chb=$(hexof "$out" "export EXPORTER-Channel-Binding")
	[[ $chb =~ ^[0-9a-f]{64}$ ]] || fail "TLS $ver: a registered label was refused: '$chb'"

	for l in "key expansion" "master secret" "client finished"; do
		grep -q "^export $l: refused" "$out" || fail "TLS $ver: label '$l' was not refused"
	done

	[ "$(hexof "$out" subject)" = "$want_subject" ] ||
		fail "TLS $ver: INFO subject '$(hexof "$out" subject)', want '$want_subject'"
	[ "$(hexof "$out" issuer)" = "$want_issuer" ] ||
		fail "TLS $ver: INFO issuer '$(hexof "$out" issuer)', want '$want_issuer'"
	grep -q "^sanlist: localhost$" "$out" || fail "TLS $ver: INFO subjectAltName list"
	grep -q "^san localhost: ok$" "$out" || fail "TLS $ver: SAN check for localhost failed"
	grep -q "^san evil.example: refused" "$out" || fail "TLS $ver: SAN check accepted evil.example"
	grep -q "^san alice@localhost: refused" "$out" || fail "TLS $ver: SAN check accepted an e-mail address"
	stop_proc "$SERV_PID"
done

daemon_alive
pass

#!/bin/bash
# crank serve against a real slapd: the HTTP JSON API with curl (no or a
# wrong token refused with 401, the static page without a token and with
# its Content-Security-Policy, check with line:column errors, malformed
# requests refused with their status, a rule edit refused when the
# source would not check, plan, apply, a second apply changing nothing,
# the log free of the token), a non-loopback address refused, a random
# token printed only on stdout; then the web page in headless Chromium
# (python3-selenium, chromium-driver): edit a rule, save, check, plan,
# apply, and the entry changed in LDAP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"

CRANK=$BUILD/crank/crank
[ -x "$CRANK" ] || fail "$CRANK is not built"
command -v curl >/dev/null || fail "curl is not installed"

start_slapd
P1="ou=crank1,ou=policy,$SUFFIX"
cat >"$T/base.ldif" <<EOF2
dn: $P1
objectClass: organizationalUnit
ou: crank1
EOF2
ldap_add "$T/base.ldif"
lsearch() {
	ldapsearch -x -LLL -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" "$@"
}

step "configuration, key, token and source"
"$CRANK" keygen "$T/crank1.key" >"$T/crank1.pub" || fail "crank keygen"
printf '%s\n' "$ROOTPW" >"$T/pw"
cat >"$T/crank1.conf" <<EOF2
ldap_uri $SLAPD_URI
tls none
ldap_base $P1
bind simple
bind_dn $ROOTDN
bind_password_file $T/pw
signing_key $T/crank1.key
EOF2
TOKEN=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
# the source is a symbolic link (as into a checkout): edits go to the file
mkdir -p "$T/checkout"
S=$T/policy.crank
ln -s checkout/policy.crank "$S"
cat >"$S" <<'EOF2'
# rules edited through crank serve
disclose @.example.com { none }
revoked sha256:1111111111111111111111111111111111111111111111111111111111111111
policy @.example.com client {
    valexp "IT&"
}
policy www.example.com server { client-auth required }
EOF2
NREC=4

step "refused: a non-loopback address, a directory, a token file others can read"
"$CRANK" serve -c "$T/crank1.conf" --listen 0.0.0.0:0 --token-file "$T/token" "$S" \
	>"$T/remote.out" 2>&1 && fail "served on 0.0.0.0"
grep -q "not a loopback address; add --allow-remote" "$T/remote.out" ||
	fail "refusal: $(cat "$T/remote.out")"
"$CRANK" serve -c "$T/crank1.conf" --listen 127.0.0.1:0 "$T" >"$T/dir.out" 2>&1 &&
	fail "served a directory"
cp "$T/token" "$T/token.open" && chmod 644 "$T/token.open"
"$CRANK" serve -c "$T/crank1.conf" --listen 127.0.0.1:0 --token-file "$T/token.open" "$S" \
	>"$T/open.out" 2>&1 && fail "accepted a world-readable token file"
grep -q "readable by group or others" "$T/open.out" || fail "token file: $(cat "$T/open.out")"

step "a random token is printed on stdout, never in the log"
"$CRANK" serve -c "$T/crank1.conf" --listen 127.0.0.1:0 "$S" >"$T/rnd.stdout" 2>"$T/rnd.log" &
RPID=$!
_track "$RPID" crank-serve-random
expect_log "$T/rnd.stdout" "^open http://127\.0\.0\.1:[0-9]+/#token=[0-9a-f]{64}$" "random token"
RTOK=$(sed -n 's/^open .*#token=//p' "$T/rnd.stdout")
RURL=$(sed -n 's/^listening on //p' "$T/rnd.stdout")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $RTOK" "${RURL}api/rules")" = 200 ] ||
	fail "the printed token is not accepted"
stop_proc "$RPID"
grep -q "$RTOK" "$T/rnd.log" && fail "the token is in the log"
grep -q '"GET /api/rules" 200' "$T/rnd.log" || fail "request not logged: $(cat "$T/rnd.log")"

step "crank serve on a random loopback port"
"$CRANK" serve -c "$T/crank1.conf" --listen 127.0.0.1:0 --token-file "$T/token" "$S" \
	>"$T/serve.stdout" 2>"$T/serve.log" &
SPID=$!
_track "$SPID" crank-serve
expect_log "$T/serve.stdout" "^listening on http://127\.0\.0\.1:[0-9]+/$" "crank serve start"
URL=$(sed -n 's/^listening on //p' "$T/serve.stdout")
grep -q "token=" "$T/serve.stdout" && fail "a token from a file was printed"

# api METHOD PATH [JSON [CURL-ARGS...]]: body in $T/resp, status in $CODE
api() {
	local m=$1 p=$2 d=${3:-}
	shift 3 2>/dev/null || shift $#
	if [ -n "$d" ]; then
		CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -X "$m" \
			-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
			--data-binary "$d" "$@" "$URL${p#/}")
	else
		CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -X "$m" \
			-H "Authorization: Bearer $TOKEN" "$@" "$URL${p#/}")
	fi
}
# want STATUS REGEX WHAT: the last answer
want() {
	[ "$CODE" = "$1" ] || fail "$3: status $CODE, want $1: $(cat "$T/resp")"
	grep -q -E -- "$2" "$T/resp" || fail "$3: no /$2/ in $(cat "$T/resp")"
}

step "access control: no token, a wrong token, another scheme: 401"
CODE=$(curl -s -o "$T/resp" -D "$T/hdr" -w '%{http_code}' "${URL}api/rules")
want 401 '"error":"missing Authorization: Bearer token"' "no token"
grep -qi '^WWW-Authenticate: Bearer' "$T/hdr" || fail "no WWW-Authenticate"
# the token with its last digit changed
case $TOKEN in *0) WRONG=${TOKEN%?}1 ;; *) WRONG=${TOKEN%?}0 ;; esac
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $WRONG" "${URL}api/plan" -X POST)
want 401 '"error":"wrong token"' "wrong token"
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" "${URL}api/rules")
want 401 'wrong token' "token with an extra byte"
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -u "x:$TOKEN" "${URL}api/rules")
want 401 'wrong token' "basic authentication"

CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Origin: http://evil.example' -X POST "${URL}api/apply")
want 403 'cross-origin request refused' "another site's page"

step "the page: served without a token, strict Content-Security-Policy"
CODE=$(curl -s -o "$T/resp" -D "$T/hdr" -w '%{http_code}' "$URL")
want 200 '<script src="/app.js" defer></script>' "index"
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'self'" "$T/hdr" ||
	fail "CSP: $(cat "$T/hdr")"
grep -qi '^X-Content-Type-Options: nosniff' "$T/hdr" || fail "nosniff missing"
grep -q -E 'https?://' "$T/resp" && fail "the page names an external resource"
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' "${URL}app.js")
want 200 'Authorization' "app.js"
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' "${URL}nothing")
want 404 '"error":"no such page"' "unknown page"
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST "$URL")
want 405 '"error":"only GET"' "POST on the page"

step "check: the file, and a text with errors at line:column"
api POST /api/check '{}'
want 200 "\"ok\":true,\"errors\":0,\"warnings\":0,\"records\":$NREC" "check of the file"
api POST /api/check '{"text":"policy @.example.com client {\n    min-version TLS9\n}\npolicy x server { bogus }\n"}'
want 200 '"ok":false,"errors":2' "check of a bad text"
grep -q -E '"line":2,"col":17,"severity":"error","message":"[^"]*TLS9' "$T/resp" ||
	fail "no error at 2:17: $(cat "$T/resp")"
grep -q -E '"line":4,"col":19,"severity":"error"' "$T/resp" ||
	fail "no error at 4:19: $(cat "$T/resp")"

step "malformed requests: their status, as JSON"
api POST /api/check '{"text":1}'
want 400 '"error":"JSON: only string values' "a number"
api POST /api/check '{"txt":"x"}'
want 400 '"error":"unknown member \\"txt\\""' "an unknown member"
api POST /api/check '{"text":"\ud800"}'
want 400 'lone high surrogate' "a lone surrogate"
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: text/plain' --data-binary '{}' "${URL}api/check")
want 415 'application/json' "text/plain body"
api GET /api/nothing
want 404 'no such API endpoint' "unknown endpoint"
api DELETE /api/check
want 405 'method not allowed' "DELETE on check"
api GET '/api/rule?id=%zz'
want 400 'malformed id' "bad percent-encoding"
CODE=$(curl -s -o "$T/resp" -w '%{http_code}' --data-binary '{}' -H "Authorization: Bearer $TOKEN" \
	-H 'Transfer-Encoding: chunked' -H 'Content-Type: application/json' "${URL}api/check")
want 501 'Transfer-Encoding' "chunked body"

# raw: a bare LF, and an HTTP/2 request line
PORT=${URL#http://127.0.0.1:}
PORT=${PORT%/}
raw() {
	local line=
	(
		exec 3<>"/dev/tcp/127.0.0.1/$PORT"
		printf "$1" >&3
		timeout 5 cat <&3
	) >"$T/raw.out" 2>/dev/null
	read -r line <"$T/raw.out"
	[[ $line == "HTTP/1.1 $2 "* ]] || fail "raw $2: $(cat "$T/raw.out")"
}
raw 'GET /api/rules HTTP/1.1\nHost: x\n\n' 400
raw 'GET / HTTP/2.0\r\nHost: x\r\n\r\n' 505
raw 'GET / HTTP/1.1\r\n\r\n' 400

step "an idle connection holds up no other request"
(
	exec 4<>"/dev/tcp/127.0.0.1/$PORT"
	curl -s -o "$T/busy.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
		"${URL}api/source" >"$T/busy.code"
	printf 'GET /api/source HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n' \
		"$TOKEN" >&4
	timeout 15 cat <&4
) >"$T/idle.out" 2>/dev/null
[ "$(cat "$T/busy.code")" = 200 ] || fail "request beside an idle connection: $(cat "$T/busy.code") $(cat "$T/busy.out")"
read -r line <"$T/idle.out"
[[ $line == "HTTP/1.1 200 "* ]] || fail "the idle connection's late request: $(cat "$T/idle.out")"
grep -q '"text":"# rules edited through crank serve' "$T/idle.out" || fail "idle: $(cat "$T/idle.out")"

step "rules: list, get one"
api GET /api/rules
want 200 '"id":"policy @.example.com client","line":4,"text":"policy @.example.com client \{\\n    valexp \\"IT\\u0026\\"\\n\}\\n"' "rules"
api GET '/api/rule?id=disclose+%40.example.com'
want 200 '"id":"disclose @.example.com","line":2' "one rule"
api GET '/api/rule?id=policy+nope+client'
want 404 'no such rule' "a missing rule"

step "an edit that would not check is refused and the file stays"
cp "$S" "$T/src.before"
api PUT /api/rule '{"id":"policy www.example.com server","text":"policy www.example.com server { client-auth sometimes }"}'
want 422 '"line":7,"col":45,"severity":"error","message":"'"'sometimes'"': client-auth is' "bad edit"
cmp -s "$S" "$T/src.before" || fail "a refused edit changed the source"
api PUT /api/rule '{"text":"policy www.example.com server { client-auth optional }"}'
want 409 'exists already \(line 7\)' "a second rule for one selector and role"
api PUT /api/rule '{"id":"policy www.example.com server","text":"policy www.example.com server {}","version":"00"}'
want 409 'changed since it was read' "a stale version"
cmp -s "$S" "$T/src.before" || fail "a refused edit changed the source"

step "a rule added, then deleted: the file is as it was"
api PUT /api/rule '{"text":"disclose @.other.example {\n    none\n}"}'
want 200 '"version":"[0-9a-f]{32}","warnings":0' "add a rule"
V=$(sed -n 's/.*"version":"\([0-9a-f]*\)".*/\1/p' "$T/resp")
tail -3 "$S" | tr '\n' '|' | grep -q '^disclose @.other.example {|    none|}|$' ||
	fail "the added rule: $(tail -3 "$S")"
api GET '/api/rule?id=disclose%20%40.other.example'
want 200 "\"version\":\"$V\",\"id\":\"disclose @.other.example\",\"line\":8" "the added rule"
api DELETE '/api/rule?id=disclose+@.other.example&version=0123'
want 409 'changed since it was read' "delete with a stale version"
api DELETE "/api/rule?id=disclose+@.other.example&version=$V"
want 200 '"version"' "delete"
cmp -s "$S" "$T/src.before" || fail "add then delete changed the file: $(diff "$T/src.before" "$S")"
api DELETE "/api/rule?id=disclose+@.other.example"
want 404 'no rule' "delete it again"

step "plan: every record to add; apply: every entry reported"
api POST /api/plan ''
want 200 "\"counts\":\{\"add\":$NREC,\"modify\":0,\"replace\":0,\"delete\":0,\"unchanged\":0\}" "plan"
grep -q "\"signing_key\":\"$(cat "$T/crank1.pub")\"" "$T/resp" || fail "plan: signing key"
grep -q '"op":"add","label":"policy @.example.com client","dn":"tlsPoolSelector=@.example.com+tlsPoolSupportedRole=client,ou=crank1' "$T/resp" ||
	fail "plan: $(cat "$T/resp")"
[ "$(lsearch -b "$P1" -s one dn | grep -c '^dn:')" = 0 ] || fail "plan wrote something"
api POST /api/apply '{}'
want 200 "\"failed\":0" "apply"
grep -q "\"counts\":{\"add\":$NREC," "$T/resp" || fail "apply: $(cat "$T/resp")"
[ "$(grep -o '"ok":true' "$T/resp" | wc -l)" = "$NREC" ] || fail "apply: not $NREC ok results"
[ "$(lsearch -b "$P1" -s one '(tlsPoolSignature=*)' dn | grep -c '^dn:')" = "$NREC" ] ||
	fail "not $NREC signed entries"

step "a second apply changes nothing"
lsearch -b "$P1" -s one entryCSN | grep entryCSN | sort >"$T/csn.before"
api POST /api/apply ''
want 200 "\"results\":\[\],\"counts\":\{\"add\":0,\"modify\":0,\"replace\":0,\"delete\":0,\"unchanged\":$NREC,\"failed\":0\}" "re-apply"
lsearch -b "$P1" -s one entryCSN | grep entryCSN | sort >"$T/csn.after"
cmp -s "$T/csn.before" "$T/csn.after" || fail "the second apply touched entries"
api GET /api/entries
want 200 '"label":"policy @.example.com client","policy":true,"record":"[^"]+","valexp":"IT\\u0026"' "entries"

step "the web page in headless Chromium: edit, save, check, plan, apply"
/usr/bin/python3 -c 'import selenium' 2>/dev/null ||
	fail "python3-selenium is not installed (scripts/deps.sh)"
[ -x /usr/bin/chromedriver ] || fail "chromium-driver is not installed (scripts/deps.sh)"
NEW='policy @.example.com client {
    valexp "IT&F&"
    min-version TLS1.2
}'
timeout 45 /usr/bin/python3 "$IT_DIR/crank_web.py" "$URL" "$TOKEN" \
	"policy @.example.com client" "$NEW" "$T" >"$T/web.out" 2>&1 ||
	fail "browser: $(tail -15 "$T/web.out")"
cat "$T/web.out"
grep -q 'min-version TLS1.2' "$S" || fail "the source was not edited: $(cat "$S")"
grep -q '^# rules edited through crank serve$' "$S" || fail "the comment was lost"
[ -L "$S" ] || fail "the symbolic link was replaced by a file"
lsearch -b "tlsPoolSelector=@.example.com+tlsPoolSupportedRole=client,$P1" -s base \
	tlsPoolValidationExpression >"$T/entry.out" || fail "ldapsearch of the edited entry"
grep -q '^tlsPoolValidationExpression: IT&F&$' "$T/entry.out" ||
	fail "the entry did not change in LDAP: $(cat "$T/entry.out")"
"$CRANK" plan -c "$T/crank1.conf" "$S" >"$T/cli.plan" 2>&1 || fail "crank plan: $(cat "$T/cli.plan")"
grep -q "^plan: 0 to add, 0 to modify, 0 to replace, 0 to delete, $NREC unchanged$" "$T/cli.plan" ||
	fail "the CLI sees a difference after the web apply: $(cat "$T/cli.plan")"

step "the log: every request, never the token"
grep -q "$TOKEN" "$T/serve.log" && fail "the token is in the log"
grep -q '"POST /api/apply" 200' "$T/serve.log" || fail "apply not logged"
grep -q '"GET /api/rules" 401' "$T/serve.log" || fail "401 not logged"
grep -q '"PUT /api/rule" 200' "$T/serve.log" || fail "the browser's save not logged"
stop_proc "$SPID"
[ "$WAIT_STATUS" = 0 ] || fail "crank serve exited $WAIT_STATUS on SIGTERM"
pass

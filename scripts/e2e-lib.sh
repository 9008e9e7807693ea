# scripts/e2e-lib.sh -- the policy distribution chain on one machine, for
# scripts/e2e-demo.sh and bench/e2e.sh: a private slapd on loopback whose
# ACLs confine each crank to its own subtree (FIXTURES.md), two cranks
# with their own Ed25519 keys, shaft merging their subtrees into
# ou=merged, pulley following ou=merged into a tlspool-daemon's policy
# databases, and a gnutls-serv whose certificate names www.demo.test and
# mail.demo.test, reached through the daemon with tlstunnel.
#
# Source after scripts/shlib.sh and scripts/slapd-lib.sh, with B (build
# dir), T (temp dir) and pids set; it only defines functions.
# e2e_start brings everything up (quietly, logs in $T/*.log); e2e_conn,
# e2e_apply, e2e_set_valexp and e2e_until_follows drive it; e2e_cleanup
# (trap e2e_cleanup EXIT) stops it and removes $T.

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E_SUFFIX="dc=demo,dc=test"
E2E_MERGED="ou=merged,$E2E_SUFFIX"
e2e_crank_base() { echo "ou=crank$1,$E2E_SUFFIX"; }

# e2e_cleanup: stop every process (cleanup, shlib.sh); with E2E_LOG_DIR
# set, first copy the logs there as e2e-*.log (the integration test
# looks for sanitizer reports in them), then remove $T.
e2e_cleanup() {
	local p f
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "${E2E_LOG_DIR:-}" ] && [ -d "$E2E_LOG_DIR" ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] && cp "$f" "$E2E_LOG_DIR/e2e-${f##*/}"
		done
	fi
	cleanup
}
e2e_die() { echo "$SHLIB_WHO: $*" >&2; exit 1; }
e2e_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# _e2e_certs: a demo CA and the server's certificate (both names), made
# with certtool now.
_e2e_certs() {
	local d=$T/pki
	mkdir -p "$d"
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--outfile "$d/ca.key" 2>/dev/null
	printf 'cn = Demo CA\nca\ncert_signing_key\nexpiration_days = 2\n' >"$d/ca.tmpl"
	certtool --generate-self-signed --load-privkey "$d/ca.key" \
		--template "$d/ca.tmpl" --outfile "$d/ca.pem" 2>/dev/null
	certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--outfile "$d/srv.key" 2>/dev/null
	printf '%s\n' "cn = www.demo.test" "dns_name = www.demo.test" \
		"dns_name = mail.demo.test" tls_www_server signing_key \
		"expiration_days = 2" >"$d/srv.tmpl"
	certtool --generate-certificate --load-privkey "$d/srv.key" \
		--load-ca-certificate "$d/ca.pem" --load-ca-privkey "$d/ca.key" \
		--template "$d/srv.tmpl" --outfile "$d/srv.pem" 2>/dev/null
	[ -s "$d/srv.pem" ] || e2e_die "certtool could not make the certificates"
}

# _e2e_slapd: cn=config and the base entries offline (slapadd), then
# slapd on 127.0.0.1 and a free port.  Accounts: cn=crank1, cn=crank2
# (each writes its own ou=crankN), cn=shaft (writes ou=merged, reads the
# crank subtrees); pulley reads ou=merged anonymously.
_e2e_slapd() {
	local d=$T/slapd i try
	mkdir -p "$d/slapd.d" "$d/data"
	E2E_PW_CRANK1=crank1-$RANDOM$RANDOM
	E2E_PW_CRANK2=crank2-$RANDOM$RANDOM
	E2E_PW_SHAFT=shaft-$RANDOM$RANDOM
	local c1="cn=crank1,ou=accounts,$E2E_SUFFIX" c2="cn=crank2,ou=accounts,$E2E_SUFFIX"
	local sh="cn=shaft,ou=accounts,$E2E_SUFFIX"
	slapd_config_ldif "$d" "$E2E_SUFFIX" "$E2E_TOP/etc/tlspool.ldif" "" "" "" \
		"to attrs=userPassword by anonymous auth by * none" \
		"to dn.subtree=\"$(e2e_crank_base 1)\" by dn.exact=\"$c1\" write by users read by * none" \
		"to dn.subtree=\"$(e2e_crank_base 2)\" by dn.exact=\"$c2\" write by users read by * none" \
		"to dn.subtree=\"$E2E_MERGED\" by dn.exact=\"$sh\" write by * read" \
		"to * by * read" >"$d/config.ldif"
	slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.log" 2>&1 ||
		e2e_die "slapadd of cn=config failed: $(tail -3 "$d/slapadd.log")"
	{
		printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: demo\no: demo\n\n' "$E2E_SUFFIX"
		printf 'dn: ou=accounts,%s\nobjectClass: organizationalUnit\nou: accounts\n\n' "$E2E_SUFFIX"
		for i in crank1:"$E2E_PW_CRANK1" crank2:"$E2E_PW_CRANK2" shaft:"$E2E_PW_SHAFT"; do
			printf 'dn: cn=%s,ou=accounts,%s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: %s\nuserPassword: %s\n\n' \
				"${i%%:*}" "$E2E_SUFFIX" "${i%%:*}" "$(slappasswd -s "${i#*:}")"
		done
		for i in crank1 crank2 merged; do
			printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$i" "$E2E_SUFFIX" "$i"
		done
	} >"$d/base.ldif"
	slapadd -q -F "$d/slapd.d" -b "$E2E_SUFFIX" -l "$d/base.ldif" >>"$d/slapadd.log" 2>&1 ||
		e2e_die "slapadd of the base entries failed: $(tail -3 "$d/slapadd.log")"
	for try in 1 2 3; do
		E2E_SLAPD_PORT=$(free_port)
		E2E_LDAP_URI="ldap://127.0.0.1:$E2E_SLAPD_PORT/"
		slapd -d none -h "$E2E_LDAP_URI" -F "$d/slapd.d" >>"$T/slapd.log" 2>&1 &
		E2E_SLAPD_PID=$!
		pids+=("$E2E_SLAPD_PID")
		if wait_for 10 ldapsearch -x -H "$E2E_LDAP_URI" -b "$E2E_SUFFIX" -s base dn &&
			kill -0 "$E2E_SLAPD_PID" 2>/dev/null; then
			return 0
		fi
	done
	e2e_die "slapd did not start: $(tail -3 "$T/slapd.log")"
}

# _e2e_cranks: keys, configurations and first sources of crank1 and
# crank2 (ACLs: each binds as itself).
_e2e_cranks() {
	local i pw
	for i in 1 2; do
		mkdir -p "$T/crank$i/src"
		"$B/crank/crank" keygen "$T/crank$i/sign.key" >"$T/crank$i/sign.pub" ||
			e2e_die "crank keygen failed"
		pw=E2E_PW_CRANK$i
		printf '%s\n' "${!pw}" >"$T/crank$i/bindpw"
		chmod 600 "$T/crank$i/bindpw"
		cat >"$T/crank$i/crank.conf" <<EOC
ldap_uri $E2E_LDAP_URI
tls none
ldap_base $(e2e_crank_base $i)
bind simple
bind_dn cn=crank$i,ou=accounts,$E2E_SUFFIX
bind_password_file $T/crank$i/bindpw
signing_key $T/crank$i/sign.key
EOC
	done
	# crank1: the site team; crank2: the security team (higher precedence)
	cat >"$T/crank1/src/rules.crank" <<'EOC'
# crank1 (site team): what clients on these hosts require of servers
policy .demo.test client {
    valexp "IT&"
}
policy mail.demo.test client {
    valexp "IT&"
}
EOC
	cat >"$T/crank2/src/rules.crank" <<'EOC'
# crank2 (security team, precedence over crank1): mail needs a
# post-quantum key exchange
policy mail.demo.test client {
    valexp "IT&Q&"
}
EOC
}

# _e2e_shaft: shaft's key (made by crank keygen: shaft reads its hex seed)
# and configuration: crank1 precedence 10, crank2 precedence 20.
_e2e_shaft() {
	mkdir -p "$T/shaft/state"
	"$B/crank/crank" keygen "$T/shaft/sign.key" >"$T/shaft/sign.pub" ||
		e2e_die "crank keygen failed"
	printf '%s\n' "$E2E_PW_SHAFT" >"$T/shaft/bindpw"
	chmod 600 "$T/shaft/bindpw"
	cat >"$T/shaft/shaft.conf" <<EOC
ldap_uri $E2E_LDAP_URI
tls none
bind simple
bind_dn cn=shaft,ou=accounts,$E2E_SUFFIX
bind_password_file $T/shaft/bindpw
output_base $E2E_MERGED
sign_key $T/shaft/sign.key
state_dir $T/shaft/state
retry_min 1
retry_max 2
log_level info
log_stderr yes
source crank1 10 $(cat "$T/crank1/sign.pub") $(e2e_crank_base 1)
source crank2 20 $(cat "$T/crank2/sign.pub") $(e2e_crank_base 2)
EOC
}

# _e2e_daemon: tlspool-daemon with the demo CA as its only anchor.
_e2e_daemon() {
	mkdir -p "$T/daemon/localid" "$T/daemon/state"
	cat >"$T/daemon/tlspool.conf" <<EOC
socket_name $T/daemon/tlspool.sock
localid_dir $T/daemon/localid
trust_anchors $T/pki/ca.pem
trust_system no
state_dir $T/daemon/state
daemon_pidfile $T/daemon/daemon.pid
log_level info
log_stderr yes
workers 2
handshake_timeout 10000
EOC
	export TLSPOOL_SOCKET=$T/daemon/tlspool.sock
	"$B/daemon/tlspool-daemon" -c "$T/daemon/tlspool.conf" -f >"$T/daemon.log" 2>&1 &
	E2E_DAEMON_PID=$!
	pids+=("$E2E_DAEMON_PID")
	wait_for 15 "$B/tools/tlspool-ping" -p "$TLSPOOL_SOCKET" ||
		e2e_die "tlspool-daemon did not answer: $(tail -3 "$T/daemon.log")"
}

# _e2e_pulley: pulley following ou=merged, trusting shaft's key only.
_e2e_pulley_conf() {
	cat >"$T/pulley.conf" <<EOC
ldap_uri $E2E_LDAP_URI
ldap_base $E2E_MERGED
ldap_filter (|(objectClass=tlsPoolLocalUserCredential)(objectClass=tlsPoolIdentityDisclosure)(objectClass=tlsPoolTrustedIssuer)(objectClass=tlsPoolValidationRequirements))
tls none
dbenv_dir $T/daemon/state/db
script $E2E_TOP/etc/pulley/pool.ps
backend_dir $B/pulley/.libs
verify_key $(cat "$T/shaft/sign.pub")
retry_min 1
retry_max 2
log_level info
log_stderr yes
EOC
}

# _e2e_server: gnutls-serv --echo with the server certificate.
_e2e_server() {
	local try
	for try in 1 2 3; do
		E2E_SERV_PORT=$(free_port)
		gnutls-serv --echo -p "$E2E_SERV_PORT" --x509certfile "$T/pki/srv.pem" \
			--x509keyfile "$T/pki/srv.key" >"$T/gnutls-serv.log" 2>&1 &
		E2E_SERV_PID=$!
		pids+=("$E2E_SERV_PID")
		wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$E2E_SERV_PORT" &&
			kill -0 "$E2E_SERV_PID" 2>/dev/null && return 0
	done
	e2e_die "gnutls-serv did not start: $(tail -3 "$T/gnutls-serv.log")"
}

# e2e_start: everything but shaft and pulley (e2e_start_shaft,
# e2e_start_pulley), so a caller can show each step.
e2e_start() {
	for b in crank/crank shaft/shaft pulley/pulley daemon/tlspool-daemon \
		 tools/tlstunnel tools/tlspool-ping tools/tlspool-ctl; do
		[ -x "$B/$b" ] || e2e_die "$B/$b is not built"
	done
	for b in slapd slapadd slappasswd ldapsearch certtool gnutls-serv; do
		command -v "$b" >/dev/null || e2e_die "$b is not installed (scripts/deps.sh)"
	done
	_e2e_certs
	_e2e_slapd
	_e2e_cranks
	_e2e_shaft
	_e2e_daemon
	_e2e_pulley_conf
	_e2e_server
}

# _e2e_log_has LOG MARK REGEX: a line written after byte MARK matches.
_e2e_log_has() { tail -c +$(($2 + 1)) "$1" 2>/dev/null | grep -q -E -- "$3"; }
e2e_mark() { stat -c %s "$1" 2>/dev/null || echo 0; }

e2e_start_shaft() {
	local m
	m=$(e2e_mark "$T/shaft.log")
	"$B/shaft/shaft" -c "$T/shaft/shaft.conf" >>"$T/shaft.log" 2>&1 &
	E2E_SHAFT_PID=$!
	pids+=("$E2E_SHAFT_PID")
	wait_for 20 _e2e_log_has "$T/shaft.log" "$m" "output written" ||
		e2e_die "shaft: no merge: $(tail -3 "$T/shaft.log")"
}

e2e_start_pulley() {
	local m
	m=$(e2e_mark "$T/pulley.log")
	"$B/pulley/pulley" -c "$T/pulley.conf" >>"$T/pulley.log" 2>&1 &
	E2E_PULLEY_PID=$!
	pids+=("$E2E_PULLEY_PID")
	wait_for 30 _e2e_log_has "$T/pulley.log" "$m" "refresh done" ||
		e2e_die "pulley: no refresh: $(tail -3 "$T/pulley.log")"
}

# e2e_apply N: crank apply for crank N, output in $T/crankN/apply.out.
e2e_apply() {
	"$B/crank/crank" apply -c "$T/crank$1/crank.conf" "$T/crank$1/src" \
		>"$T/crank$1/apply.out" 2>&1 ||
		e2e_die "crank apply (crank$1) failed: $(tail -3 "$T/crank$1/apply.out")"
}

# e2e_set_valexp N SELECTOR EXPR: rewrite the valexp of crank N's client
# rule for SELECTOR in its source.
e2e_set_valexp() {
	local f=$T/crank$1/src/rules.crank
	awk -v sel="$2" -v ex="$3" '
		$1 == "policy" && $2 == sel { inrule = 1 }
		inrule && $1 == "valexp" { $0 = substr($0, 1, index($0, "valexp") - 1) "valexp \"" ex "\"" }
		/^}/ { inrule = 0 }
		{ print }' "$f" >"$f.new" && mv "$f.new" "$f"
}

# e2e_conn NAME REMOTEID: one line through the daemon to gnutls-serv
# (tlstunnel --stdio); 0 if it came back.  $T/conn/NAME.{out,err}.
e2e_conn() {
	mkdir -p "$T/conn"
	printf 'hello %s\n' "$1" | timeout 20 "$B/tools/tlstunnel" -c --stdio \
		-r "$2" "127.0.0.1:$E2E_SERV_PORT" >"$T/conn/$1.out" 2>"$T/conn/$1.err"
	grep -q "^hello $1$" "$T/conn/$1.out"
}

# e2e_reason REMOTEID [MARK]: the daemon's last refusal line for
# REMOTEID written after byte MARK of its log (default 0), waiting up to
# 5 s for it (the daemon may log it just after the client saw the end).
e2e_reason() {
	local re="refused client role.*remote=\"$1\""
	wait_for 5 _e2e_log_has "$T/daemon.log" "${2:-0}" "$re" || true
	tail -c +$((${2:-0} + 1)) "$T/daemon.log" | grep -- "$re" | tail -n 1 |
		sed 's/^.*refused/refused/'
}

# e2e_rule REMOTEID OUTCOME [MARK]: the rule named by the daemon's last
# audit line with that remote identity and outcome after byte MARK.
e2e_rule() {
	local re="audit .*\"remote\":\"$1\".*\"outcome\":\"$2\""
	wait_for 5 _e2e_log_has "$T/daemon.log" "${3:-0}" "$re" || true
	tail -c +$((${3:-0} + 1)) "$T/daemon.log" | grep -- "$re" | tail -n 1 |
		sed -n 's/.*"rule":"\([^"]*\)".*/\1/p'
}

# e2e_until_follows WANT REMOTEID START_MS: connect until the outcome is
# WANT (accepted|refused), at most 30 s; prints the milliseconds from
# START_MS to the end of that handshake and the number of tries.
e2e_until_follows() {
	local want=$1 id=$2 start=$3 n=0 got end
	end=$((SECONDS + 30))
	while [ $SECONDS -lt $end ]; do
		n=$((n + 1))
		if e2e_conn "follow$n" "$id"; then got=accepted; else got=refused; fi
		if [ "$got" = "$want" ]; then
			echo "$(( $(e2e_ms) - start )) $n"
			return 0
		fi
		sleep 0.02
	done
	return 1
}

# e2e_merged: the merged subtree, one line per entry: RDN and valexp.
e2e_merged() {
	ldapsearch -LLL -o ldif-wrap=no -x -H "$E2E_LDAP_URI" -b "$E2E_MERGED" -s one \
		"(objectClass=tlsPoolValidationRequirements)" tlsPoolSelector \
		tlsPoolSupportedRole tlsPoolValidationExpression 2>/dev/null |
		awk '/^tlsPoolSelector:/ { s = $2 } /^tlsPoolSupportedRole:/ { r = $2 }
		     /^tlsPoolValidationExpression:/ { v = $2 }
		     /^$/ { if (s != "") print "policy " s " " r " valexp " v; s = r = v = "" }
		     END { if (s != "") print "policy " s " " r " valexp " v }' | sort
}

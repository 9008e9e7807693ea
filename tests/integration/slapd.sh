# slapd.sh -- a private slapd with syncprov for the pulley scenarios
# (sourced after lib.sh).  The recipe is in ../shared/FIXTURES.md:
# cn=config built offline with slapadd (scripts/slapd-lib.sh), the
# tlsPool schema from etc/, syncprov with checkpoint 1 1 so no delete is
# lost on a kill.
#
# start_slapd: sets SLAPD_URI, SLAPD_PORT, SLAPD_PID, SUFFIX, ROOTDN,
# ROOTPW; restart_slapd [-9] stops (SIGTERM or SIGKILL) and starts it
# again on the same port and directory.  ldap_add/ldap_modify/ldap_delete
# FILE-OR-DN run the client tools as the root DN.

SUFFIX="dc=pulley,dc=test"
ROOTDN="cn=admin,$SUFFIX"
ROOTPW="secret-$RANDOM"
SLAPD_DIR=$T/slapd
# SLAPD_TLS=1: StartTLS and ldaps with $PKI/ldapserver.{pem,key} (make
# them first); the ldapi socket is always there (SASL EXTERNAL as root).
# SLAPD_SASL_HOST=NAME: the host name slapd's GSSAPI key is for.
# cn=config comes from scripts/slapd-lib.sh (shared with the e2e demo).
. "$TOP/scripts/slapd-lib.sh"
SLAPD_LDAPI="ldapi://$(printf '%s' "$T/ldapi" | sed 's|/|%2F|g')"

_write_slapd_config() {
	local hash global
	hash=$(slappasswd -s "$ROOTPW") || fail "slappasswd failed"
	mkdir -p "$SLAPD_DIR/slapd.d" "$SLAPD_DIR/data"
	global=$([ -n "${SLAPD_SASL_HOST:-}" ] && echo "olcSaslHost: $SLAPD_SASL_HOST"
	if [ "${SLAPD_TLS:-0}" = 1 ]; then
		echo "olcTLSCertificateFile: $PKI/ldapserver.pem"
		echo "olcTLSCertificateKeyFile: $PKI/ldapserver.key"
		echo "olcTLSCACertificateFile: $PKI/ca.pem"
	fi)
	slapd_config_ldif "$SLAPD_DIR" "$SUFFIX" "$TOP/etc/tlspool.ldif" \
		"$ROOTDN" "$hash" "$global" "to * by users read by anonymous read" \
		>"$SLAPD_DIR/config.ldif"
	slapadd -n0 -F "$SLAPD_DIR/slapd.d" -l "$SLAPD_DIR/config.ldif" \
		>"$SLAPD_DIR/slapadd-config.log" 2>&1 ||
		fail "slapadd of cn=config failed: $(tail -5 "$SLAPD_DIR/slapadd-config.log")"
	cat >"$SLAPD_DIR/base.ldif" <<EOC
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: pulley
o: pulley test

dn: ou=policy,$SUFFIX
objectClass: organizationalUnit
ou: policy

EOC
	# SLAPD_PRELOAD=FILE: more entries, loaded offline (benchmarks)
	[ -n "${SLAPD_PRELOAD:-}" ] && cat "$SLAPD_PRELOAD" >>"$SLAPD_DIR/base.ldif"
	slapadd -q -F "$SLAPD_DIR/slapd.d" -b "$SUFFIX" -l "$SLAPD_DIR/base.ldif" \
		>"$SLAPD_DIR/slapadd-base.log" 2>&1 ||
		fail "slapadd of the base entries failed: $(tail -5 "$SLAPD_DIR/slapadd-base.log")"
}

_run_slapd() {
	local urls="ldap://127.0.0.1:$SLAPD_PORT/ $SLAPD_LDAPI"
	[ "${SLAPD_TLS:-0}" = 1 ] && urls="$urls ldaps://127.0.0.1:$SLAPD_LDAPS_PORT/"
	slapd -d none -h "$urls" -F "$SLAPD_DIR/slapd.d" \
		>>"$T/slapd.log" 2>&1 &
	SLAPD_PID=$!
	_track "$SLAPD_PID" "slapd"
	_slapd_up() {
		alive "$SLAPD_PID" || return 0
		ldapsearch -x -H "$SLAPD_URI" -b "$SUFFIX" -s base dn >/dev/null 2>&1
	}
	wait_until 10 _slapd_up || fail "slapd: no answer within 10s"
	alive "$SLAPD_PID" || return 1
	return 0
}

start_slapd() {
	command -v slapd >/dev/null || fail "slapd is not installed (scripts/deps.sh)"
	_write_slapd_config
	local try
	for try in 1 2 3; do
		SLAPD_PORT=$(free_port)
		SLAPD_LDAPS_PORT=$(free_port)
		SLAPD_URI="ldap://127.0.0.1:$SLAPD_PORT/"
		_run_slapd && return 0
		_untrack "$SLAPD_PID"
	done
	fail "slapd did not start: $(tail -5 "$T/slapd.log")"
}

# stop_slapd [-9]
stop_slapd() {
	if [ "${1:-}" = -9 ]; then
		kill -9 "$SLAPD_PID" 2>/dev/null
		wait "$SLAPD_PID" 2>/dev/null
	else
		stop_proc "$SLAPD_PID" 10
	fi
	_untrack "$SLAPD_PID"
}

restart_slapd() {
	stop_slapd "$@"
	local try
	for try in 1 2 3 4 5; do
		_run_slapd && return 0
		_untrack "$SLAPD_PID"
		sleep 0.2
	done
	fail "slapd did not restart: $(tail -5 "$T/slapd.log")"
}

ldap_add() {
	ldapadd -x -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" -f "$1" \
		>>"$T/ldap-client.log" 2>&1 || fail "ldapadd $1 failed: $(tail -3 "$T/ldap-client.log")"
}
ldap_modify() {
	ldapmodify -x -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" -f "$1" \
		>>"$T/ldap-client.log" 2>&1 || fail "ldapmodify $1 failed: $(tail -3 "$T/ldap-client.log")"
}
ldap_delete() {
	ldapdelete -x -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" "$1" \
		>>"$T/ldap-client.log" 2>&1 || fail "ldapdelete $1 failed: $(tail -3 "$T/ldap-client.log")"
}

# ---- pulley ----------------------------------------------------------------

PULLEY_BIN=$BUILD/pulley/pulley
PULLEY_LDIF=$HELPERS/pulley_ldif
[ -x "$PULLEY_LDIF" ] || make -C "$HELPERS" -s pulley_ldif >/dev/null 2>&1 ||
	fail "cannot build $PULLEY_LDIF"

# write_pulley_conf DBENV [EXTRA LINE]...: $T/pulley.conf following
# ou=policy of the private slapd, without TLS on loopback, signed entries.
write_pulley_conf() {
	local dbenv=$1 line
	shift
	[ -f "$T/sign.seed" ] || "$PULLEY_LDIF" -g "$T/sign.seed" >"$T/sign.pub" ||
		fail "pulley_ldif -g failed"
	{
		echo "# written by $TEST_NAME"
		echo "ldap_uri $SLAPD_URI"
		echo "ldap_base ou=policy,$SUFFIX"
		echo "ldap_filter (|(objectClass=tlsPoolLocalUserCredential)(objectClass=tlsPoolIdentityDisclosure)(objectClass=tlsPoolTrustedIssuer)(objectClass=tlsPoolValidationRequirements))"
		echo "tls none"
		echo "dbenv_dir $dbenv"
		echo "script $TOP/etc/pulley/pool.ps"
		echo "backend_dir $BUILD/pulley/.libs"
		echo "verify_key $(cat "$T/sign.pub")"
		echo "retry_min 1"
		echo "retry_max 2"
		echo "log_level info"
		echo "log_stderr yes"
		for line in "$@"; do
			echo "$line"
		done
	} >"$T/pulley.conf"
}

# start_pulley: pulley -c $T/pulley.conf in the background, appending to
# $T/pulley.log; sets PULLEY_PID.  Waits for its first refresh.
start_pulley() {
	local before
	before=$(grep -c "refresh done" "$T/pulley.log" 2>/dev/null)
	"$PULLEY_BIN" -c "$T/pulley.conf" >>"$T/pulley.log" 2>&1 &
	PULLEY_PID=$!
	_track "$PULLEY_PID" "pulley"
	_pulley_synced() {
		alive "$PULLEY_PID" || return 0
		[ "$(grep -c "refresh done" "$T/pulley.log")" -gt "${before:-0}" ]
	}
	wait_until 30 _pulley_synced || fail "pulley: no refresh within 30s: $(tail -5 "$T/pulley.log")"
	alive "$PULLEY_PID" || fail "pulley exited: $(tail -5 "$T/pulley.log")"
}

stop_pulley() {
	stop_proc "$PULLEY_PID" 10
	[ "$WAIT_STATUS" = 0 ] || fail "pulley stopped with status $WAIT_STATUS: $(tail -5 "$T/pulley.log")"
}

# start_policy_pool: the daemon with identity localhost, an echo backend
# behind tlstunnel -s, DBENV (its policy environment), and
# new_pool_client NAME, accepted NAME WHAT, refused NAME WHAT REGEX: one
# new pooled client connection to localhost and what must become of it.
start_policy_pool() {
	make_ca
	make_cert localhost --dns localhost
	install_identity localhost localhost
	start_daemon
	start_echo
	start_tunnel s -s -I -q -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
	DBENV=$T/daemon.state/db
	new_pool_client() {
		timeout 30 "$HELPERS/prng_client" -r localhost -t 10000 127.0.0.1 \
			"$TUNNEL_PORT" >"$T/$1.out" 2>&1
	}
	accepted() {
		new_pool_client "$1" || fail "$2: refused: $(cat "$T/$1.out")"
		grep -q "^starttls: ok local= remote=localhost" "$T/$1.out" ||
			fail "$2: $(cat "$T/$1.out")"
	}
	refused() {	# refused NAME WHAT REGEX
		mark_d=$(stat -c %s "$DAEMON_LOG")
		new_pool_client "$1" && fail "$2: accepted: $(cat "$T/$1.out")"
		grep -q "^starttls: refused" "$T/$1.out" || fail "$2: $(cat "$T/$1.out")"
		want_d=$3
		_dnews() { tail -c +$((mark_d + 1)) "$DAEMON_LOG" | grep -q -E -- "$want_d"; }
		wait_until 10 _dnews || fail "$2: no /$3/ in the daemon log"
	}
}

# entry DNs below ou=policy
policy_dn() { echo "tlsPoolSelector=$1+tlsPoolSupportedRole=$2,ou=policy,$SUFFIX"; }
disclose_dn() { echo "tlsPoolSelector=$1,ou=policy,$SUFFIX"; }

PLOG_MARK=0
pmark() { PLOG_MARK=$(stat -c %s "$T/pulley.log" 2>/dev/null || echo 0); }
pnews() { tail -c +$((PLOG_MARK + 1)) "$T/pulley.log"; }
_pnews_has() { pnews | grep -q -E -- "$1"; }
# expect_pulley REGEX WHAT: a new line of the pulley log matches.
expect_pulley() {
	wait_until 15 _pnews_has "$1" ||
		fail "$2: no /$1/ in the pulley log; new lines: $(pnews | tail -5)"
}
# wait_batch: until pulley logs a committed batch after the mark.
wait_batch() { expect_pulley "batch committed" "${1:-a change}"; }

# ctl_out ARGS...: tlspool-ctl against the daemon's config, output in
# $T/ctl.out.
CTL_BIN=$BUILD/tools/tlspool-ctl
ctl_out() {
	"$CTL_BIN" -c "$DAEMON_CONF" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $* failed: $(cat "$T/ctl.out")"
}
_ctl_has() { ctl_out $1; grep -q -E -- "$2" "$T/ctl.out"; }
_ctl_lacks() { ctl_out $1; ! grep -q -E -- "$2" "$T/ctl.out"; }
_ctl_count() { ctl_out $1; [ "$(grep -c -E -- "$2" "$T/ctl.out")" -eq "$3" ]; }
# wait_ctl "SUBCOMMAND" REGEX WHAT / wait_ctl_gone / wait_ctl_count N
wait_ctl() { wait_until 15 _ctl_has "$1" "$2" || fail "$3: no /$2/ in tlspool-ctl $1: $(head -5 "$T/ctl.out")"; }
wait_ctl_gone() { wait_until 15 _ctl_lacks "$1" "$2" || fail "$3: /$2/ still in tlspool-ctl $1"; }
wait_ctl_count() { wait_until 30 _ctl_count "$1" "$2" "$3" || fail "$4: $(grep -c -E -- "$2" "$T/ctl.out") lines /$2/ in tlspool-ctl $1, want $3"; }

# slapd_config LDIF-TEXT: change cn=config at run time (SASL EXTERNAL as
# root over ldapi).
slapd_config() {
	printf '%s\n' "$1" >"$T/config-change.ldif"
	ldapmodify -Y EXTERNAL -H "$SLAPD_LDAPI" -f "$T/config-change.ldif" \
		>>"$T/ldap-client.log" 2>&1 || fail "cn=config change failed: $(tail -3 "$T/ldap-client.log")"
}

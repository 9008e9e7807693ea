# shellcheck shell=bash
# winlib.sh -- the harness of the wine scenarios (tests/windows/t_*.sh),
# sourced.  Every scenario gets a temp dir $T, its own wine prefix (unless
# WINEPREFIX is set), its background processes stopped and the prefix's
# wineserver ended on exit.
#
# Environment (all optional):
#   DAEMON_EXE  the Windows daemon (default _build/win64/windows/tlspool-daemon.exe)
#   BUILD       a Linux build (default _build/main); CTL its tlspool-ctl
#   WINE        (default wine64, else wine); CC_WIN (x86_64-w64-mingw32-gcc)
#   WINEPREFIX  (default: a new one in $T, removed at the end)
#   KEEP_TMP=1  keeps $T
#
# Setup and results:
#   win_setup NAME      top, T (/tmp/t_NAME.XXXXXX), the prefix, the EXIT trap
#   wine_prefix_new NAME   win_setup with a prefix of its own, always, booted
#                       (wineboot -i) and one wineserver for the scenario
#   win_track PID       stopped (kill) by the cleanup
#   ok NAME / ko NAME [WHY]   "PASS NAME" / "FAIL NAME: WHY", counted
#   check WHAT CMD...   "ok   WHAT" or "FAIL WHAT" by CMD's status
#   win_check NAME CMD...   ok NAME when CMD succeeds, else ko NAME with
#                       the end of its output ($T/NAME.out)
#   win_wait_for FILE PATTERN [SECONDS]   0 once FILE has PATTERN (grep,
#                       polled every 0.1 s), 1 after SECONDS (10)
#   win_background OUT PATTERN CMD...   CMD >OUT in the background (BGPID,
#                       stopped by the cleanup), then win_wait_for OUT PATTERN
#   win_listening_port FILE [SECONDS]   prints PORT once FILE (tlstunnel's
#                       stderr) has "listening on 127.0.0.1:PORT"; 1 after
#                       SECONDS (20)
#   bail MESSAGE        a prerequisite is missing: MESSAGE, the count
#                       (this one failed) and exit 1
#   summary             "N passed, N failed"; false on any failure
# Helpers:
#   winpath PATH (Z:\...), free_port, wait_port PORT (10 s)
#   win_build_client    $T/pool_client.exe (tests/windows/pool_client.c)
#   pool_client PIPE ARGS...   runs it (60 s at most)
#   win_echoed NAME LOGGED CMD...   CMD (a pool_client ... echo) got its
#                       line back and, unless LOGGED is empty, the
#                       daemon's log $T/daemon.log has LOGGED: "PASS NAME (N s)"
#   win_policy DBDIR ARGS...   tlspool-ctl (CTL) ARGS on a fresh BerkeleyDB
#                       environment in DBDIR (DBDIR.ctl.conf); output to
#                       DBDIR.ctl.out.  win_db_portable DBDIR afterwards:
#                       removes Linux's region files (the daemon recovers
#                       the environment from the database and log files)
#   win_daemon_conf PIPE DIR [LINE...]   prints a daemon configuration:
#                       the pipe, DIR/{db,localid,state} (made), no
#                       system trust, log to stderr, 2 workers, then LINEs
#   win_start_daemon CONF LOG   tlspool-daemon.exe -c CONF -f >LOG (env
#                       assignments before the call reach it); DPID; 0
#                       once it logs "listening on" (30 s)
#   win_localhost_pki   CAs ca, other; localhost certificates good (ca),
#                       evil (other), app (ca, client), each with .chain.pem
#   win_echo_line PORT LINE [CA CERT KEY]   a Linux client (TLS to
#                       "localhost" with a client certificate given CA)
#                       sends LINE and wants it back
#   win_echo_server CERT KEY LOG   gnutls-serv --echo on a free port;
#                       PORT, 1 when it does not listen (3 ports tried)
#   win_ca NAME; win_leaf NAME CA TEMPLATE-TEXT   certtool ECDSA keys and
#                       certificates $T/NAME.{key,pem}
#   DNSSEC zones in $Z (set Z first): zone_head ZONE, sign_zone ZONE,
#   auth_zone ZONE FILE, unbound_conf (prints a libunbound config with
#   the anchors and auth-zones; Z:/ paths)
#   wine_reg_has, wine_reg_match, wine_service_state, wine_reboot,
#   wine_service_running_or_boot, not: for the installer
export WINEARCH=win64 WINEDEBUG=-all
win_passed=0
win_failed=0
pids=()
own_prefix=

win_setup() {
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	DAEMON_EXE=${DAEMON_EXE:-$top/_build/win64/windows/tlspool-daemon.exe}
	BUILD=${BUILD:-$top/_build/main}
	CTL=${CTL:-$BUILD/tools/tlspool-ctl}
	WINE=${WINE:-$(command -v wine64 || command -v wine)}
	CC=${CC_WIN:-x86_64-w64-mingw32-gcc}
	T=$(mktemp -d "/tmp/t_$1.XXXXXX")
	if [ -z "${WINEPREFIX:-}" ]; then
		own_prefix=$T/wine
		export WINEPREFIX=$own_prefix
	fi
	trap win_cleanup EXIT
}

win_cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "$own_prefix" ] && wineserver -k >/dev/null 2>&1
	[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
}

wine_prefix_new() {
	unset WINEPREFIX
	win_setup "$1"
	wine wineboot -i >/dev/null 2>&1
	# One wineserver (and services.exe) for the whole scenario: a new one
	# per command would reload the service database from the registry
	# file between commands.
	wineserver -p
}

win_track() { pids+=("$1"); }

win_wait_for() {
	local _i
	for _i in $(seq $((${3:-10} * 10))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
win_background() {
	local out=$1 pattern=$2
	shift 2
	"$@" >"$out" 2>&1 &
	BGPID=$!
	pids+=("$BGPID")
	win_wait_for "$out" "$pattern"
}
win_listening_port() {
	local _i port
	for _i in $(seq $((${2:-20} * 10))); do
		port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' \
			"$1" 2>/dev/null | tr -d '\r' | head -1)
		[ -n "$port" ] && { echo "$port"; return 0; }
		sleep 0.1
	done
	return 1
}

ok() { echo "PASS $1"; win_passed=$((win_passed + 1)); }
ko() {
	echo "FAIL $1${2:+: $2}"
	win_failed=$((win_failed + 1))
}
bail() {
	echo "$1"
	echo "$win_passed passed, $((win_failed + 1)) failed"
	exit 1
}
check() {	# check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then
		win_passed=$((win_passed + 1)); echo "ok   $what"
	else
		win_failed=$((win_failed + 1)); echo "FAIL $what"
	fi
}
win_check() {
	local name=$1
	shift
	if "$@" >"$T/$name.out" 2>&1; then
		ok "$name"
	else
		ko "$name" "$(tail -3 "$T/$name.out" | tr '\n' ' ')"
	fi
}
summary() {
	echo "$win_passed passed, $win_failed failed"
	[ "$win_failed" -eq 0 ]
}

winpath() { echo "Z:$1" | tr / '\\'; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

win_build_client() {
	$CC -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -I"$top/windows" \
		"$top/tests/windows/pool_client.c" -o "$T/pool_client.exe" \
		-lws2_32 || bail "cannot build pool_client.exe"
}
pool_client() { timeout 60 "$WINE" "$T/pool_client.exe" "$@"; }
win_echoed() {
	local name=$1 logged=$2 t0=$SECONDS
	shift 2
	if "$@" >"$T/$name.out" 2>&1 &&
	   grep -q "OK echoed hello pool" "$T/$name.out" &&
	   { [ -z "$logged" ] || grep -aqF "$logged" "$T/daemon.log"; }; then
		ok "$name ($((SECONDS - t0)) s)"
	else
		ko "$name" "$(tr -d '\r' <"$T/$name.out" | tr '\n' ' ')${logged:+; log: $logged?}"
	fi
}

win_policy() {
	local db=$1
	shift
	mkdir -p "$db"
	printf 'dbenv_dir %s\ntrust_system no\n' "$db" >"$db.ctl.conf"
	"$CTL" -c "$db.ctl.conf" "$@" >>"$db.ctl.out" 2>&1
}
win_db_portable() { rm -f "$1"/__db.*; }

win_daemon_conf() {
	local l
	mkdir -p "$2/db" "$2/localid" "$2/state"
	echo "socket_name $1"
	echo "dbenv_dir $(winpath "$2/db")"
	echo "localid_dir $(winpath "$2/localid")"
	echo "state_dir $(winpath "$2/state")"
	echo "trust_system no"
	echo "log_level info"
	echo "log_stderr yes"
	echo "workers 2"
	echo "handshake_timeout 10000"
	for l in "${@:3}"; do echo "$l"; done
}

win_start_daemon() {
	"$WINE" "$DAEMON_EXE" -c "$(winpath "$1")" -f >"$2" 2>&1 &
	DPID=$!
	pids+=("$DPID")
	for _ in $(seq 60); do
		grep -q "listening on" "$2" 2>/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

win_echo_server() {
	local port
	for _ in 1 2 3; do
		port=$(free_port)
		gnutls-serv --echo -p "$port" --x509certfile "$1" \
			--x509keyfile "$2" >"$3" 2>&1 &
		pids+=("$!")
		if wait_port "$port"; then
			# shellcheck disable=SC2034 # for the scenario
			PORT=$port
			return 0
		fi
	done
	return 1
}

win_ca() {
	printf 'cn = "%s"\nca\ncert_signing_key\nexpiration_days = 3\n' "$1" \
		>"$T/$1.tmpl"
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/$1.key" >/dev/null 2>&1 &&
	certtool --generate-self-signed --load-privkey "$T/$1.key" \
		--template "$T/$1.tmpl" --outfile "$T/$1.pem" >/dev/null 2>&1
}
win_leaf() {
	printf '%s\n' "$3" >"$T/$1.tmpl"
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/$1.key" >/dev/null 2>&1 &&
	certtool --generate-certificate --load-privkey "$T/$1.key" \
		--load-ca-certificate "$T/$2.pem" --load-ca-privkey "$T/$2.key" \
		--template "$T/$1.tmpl" --outfile "$T/$1.pem" >/dev/null 2>&1
}

zone_head() {
	printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' \
		"$1" "$1" "$1" "$1"
}
sign_zone() {	# sign_zone ZONE: ZONE.signed, the KSK's DS a trust anchor
	( cd "$Z" &&
		ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$1") &&
		zsk=$(ldns-keygen -a ECDSAP256SHA256 "$1") &&
		ldns-signzone -f "$1.signed" "$1" "$ksk" "$zsk" &&
		echo "$ksk" >"$1.ksk" ) >"$Z/$1.sign.out" 2>&1 || return 1
	echo "	trust-anchor-file: \"Z:$Z/$(cat "$Z/$1.ksk").ds\"" \
		>>"$Z/anchors.conf"
}
auth_zone() {	# auth_zone ZONE FILE
	printf 'auth-zone:\n\tname: "%s."\n\tzonefile: "Z:%s"\n\tfor-upstream: yes\n\tfor-downstream: no\n\tfallback-enabled: no\n' \
		"$1" "$2" >>"$Z/authzones.conf"
}
unbound_conf() {
	echo "server:"
	echo "	module-config: \"validator iterator\""
	echo "	local-zone: \"test.\" nodefault"
	echo "	use-syslog: no"
	echo "	verbosity: 0"
	cat "$Z/anchors.conf" "$Z/authzones.conf"
}

not() { ! "$@"; }

wine_reg_has() {	# wine_reg_has KEY VALUE
	wine reg query "$1" /v "$2" 2>/dev/null | grep -q "$2"
}

wine_reg_match() {	# wine_reg_match KEY VALUE REGEX
	wine reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' | grep -Eq "$3"
}

# wine_service_state NAME STATE: wait (up to 30 s) until the service is in
# STATE (RUNNING, STOPPED) as sc query reports it.
wine_service_state() {
	for _ in $(seq 60); do
		wine sc query "$1" 2>/dev/null | tr -d '\r' |
			grep -Eq "STATE +: [0-9]+ +$2" && return 0
		sleep 0.5
	done
	return 1
}

# wine_reboot: end every process of the prefix (its wineserver) and start
# a new one, as a restart of Windows would.
wine_reboot() {
	wineserver -k >/dev/null 2>&1
	wineserver -w >/dev/null 2>&1
	wineserver -p
	wine wineboot -r >/dev/null 2>&1
}

# wine_service_running_or_boot NAME: running now, or after a restart
# (automatic start).  Wine's service manager sometimes refuses to start a
# service in the session that created it (ERROR_SERVICE_DATABASE_LOCKED,
# then "does not exist") until it restarts; Windows does not.
wine_service_running_or_boot() {
	wine_service_state "$1" RUNNING && return 0
	wine_reboot
	wine_service_state "$1" RUNNING
}

# win_echo_line PORT LINE [CA CERT KEY]: a Linux client sends LINE to PORT
# (over TLS to "localhost" with a client certificate when CA is given)
# and wants it back.
win_echo_line() {
	python3 -c '
import socket, ssl, sys
line = sys.argv[2].encode() + b"\n"
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
if len(sys.argv) > 3:
	ctx = ssl.create_default_context(cafile=sys.argv[3])
	ctx.load_cert_chain(sys.argv[4], sys.argv[5])
	s = ctx.wrap_socket(s, server_hostname="localhost")
s.sendall(line)
got = b""
while not got.endswith(b"\n"):
	b = s.recv(64)
	if not b:
		break
	got += b
print(got)
sys.exit(got != line)' "$@"
}

# win_localhost_pki: CAs ca and other, and certificates for "localhost"
# with NAME.chain.pem: good (of ca), evil (of other), app (of ca, a TLS
# client certificate).
win_localhost_pki() {
	_win_localhost_leaf() {	# NAME CA [tls_www_client]
		win_leaf "$1" "$2" "cn = \"localhost\"
dns_name = \"localhost\"
signing_key
${3:-tls_www_server}
expiration_days = 2" &&
			cat "$T/$1.pem" "$T/$2.pem" >"$T/$1.chain.pem"
	}
	win_ca ca && win_ca other && _win_localhost_leaf good ca &&
		_win_localhost_leaf evil other &&
		_win_localhost_leaf app ca tls_www_client
}

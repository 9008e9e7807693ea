# lib.sh -- shared by every tests/integration/t_*.sh scenario (sourced).
#
# Each scenario gets its own temp dir $T, starts what it needs on
# 127.0.0.1 with random ports as direct children, and the EXIT trap stops
# them all (SIGTERM, bounded wait, then SIGKILL).  Every wait has a
# deadline.  Certificates are made at test time with certtool.
#
# Environment: BUILD (build dir; default: scripts/build.sh main),
# KEEP_TMP=1 (keep $T), SANITIZED=1 (fail on ASan/UBSan reports),
# DAEMON_LOG_LEVEL (default info).  ASAN_OPTIONS/UBSAN_OPTIONS default
# to halting on the first report, with leak detection.

set -u
set -o pipefail

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$IT_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)

if [ -z "${BUILD:-}" ]; then
	BUILD=$(bash "$TOP/scripts/build.sh" main) || {
		echo "FAIL: $TEST_NAME: build failed" >&2
		exit 1
	}
fi
DAEMON_BIN=$BUILD/daemon/tlspool-daemon
TUNNEL_BIN=$BUILD/tools/tlstunnel
PING_BIN=$BUILD/tools/tlspool-ping
HELPERS=$BUILD/tests/integration
NETUTIL=$HELPERS/netutil

for _b in "$DAEMON_BIN" "$TUNNEL_BIN" "$PING_BIN"; do
	if [ ! -x "$_b" ]; then
		echo "FAIL: $TEST_NAME: $_b is not built" >&2
		exit 1
	fi
done
if [ ! -x "$NETUTIL" ] || [ ! -x "$HELPERS/many_clients" ]; then
	make -C "$HELPERS" -s check >/dev/null 2>&1 || {
		echo "FAIL: $TEST_NAME: cannot build the helpers in $HELPERS" >&2
		exit 1
	}
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/tp-$TEST_NAME.XXXXXX") || exit 1
PKI=$T/pki
mkdir -p "$PKI"

# Started processes: pid -> name; daemons by name.
declare -a _PIDS=()
declare -A _PNAME=()
declare -A DPID=() DSOCK=() DLOG=() DCONF=() DLID=()
_FAILED=0

# Never inherit a socket path or p11 config from the caller.
unset TLSPOOL_SOCKET TLSPOOL_PKCS11_MODULE SOFTHSM2_CONF GNUTLS_PIN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

now_ms() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo $((10#$t / 1000))
	else
		echo $(($(date +%s%N) / 1000000))
	fi
}

step() {
	echo "--- $*"
}

# ---- processes ---------------------------------------------------------

# Is pid a live (not zombie) process?
alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) ||
		return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Remember a started background process.
_track() {
	_PIDS+=("$1")
	_PNAME[$1]=$2
}

_untrack() {
	local p keep=()
	for p in "${_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	_PIDS=("${keep[@]}")
	unset "_PNAME[$1]"
}

# wait_exit PID SECONDS: wait (bounded) for our child to end; its exit
# status in WAIT_STATUS.  Returns 1 when it is still running.
wait_exit() {
	local pid=$1 end
	end=$(($(now_ms) + ${2:-10} * 1000))
	WAIT_STATUS=
	while alive "$pid"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	WAIT_STATUS=$?
	return 0
}

# stop_proc PID [SECONDS]: SIGTERM, bounded wait, SIGKILL.  Exit status in
# WAIT_STATUS.  The process is forgotten by the cleanup.
stop_proc() {
	local pid=$1 secs=${2:-5}
	_untrack "$pid"
	kill -TERM "$pid" 2>/dev/null
	if ! wait_exit "$pid" "$secs"; then
		echo "note: pid $pid did not stop within ${secs}s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		WAIT_STATUS=137
	fi
}

# ---- failure, pass, cleanup ----------------------------------------------

show_logs() {
	local f n
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		case $(basename "$f") in
		*daemon*) n=40 ;;
		*) n=12 ;;
		esac
		echo "----- tail of $(basename "$f") -----" >&2
		tail -n "$n" "$f" >&2
	done
}

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	_FAILED=1
	show_logs
	exit 1
}

pass() {
	echo "PASS: $TEST_NAME${*:+: $*}"
	exit 0
}

# Sanitizer reports in any log (daemon, tlstunnel, helpers).
sanitizer_reports() {
	grep -l -E "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" \
		"$T"/*.log "$T"/*.out 2>/dev/null
}

_cleanup() {
	local rc=$? i pid name
	trap - EXIT TERM INT
	for ((i = ${#_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${_PIDS[$i]}
		name=${_PNAME[$pid]:-?}
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null
			local st=$?
			case $name in
			daemon:*)
				if [ "$rc" -eq 0 ]; then
					echo "FAIL: $TEST_NAME: $name (pid $pid) died during the test (status $st)" >&2
					rc=1
				fi
				;;
			esac
			continue
		fi
		case $name in
		daemon:*) stop_proc "$pid" 15 ;;
		*) stop_proc "$pid" 5 ;;
		esac
	done
	if [ "${SANITIZED:-0}" = 1 ] || grep -q -E "ERROR: AddressSanitizer|runtime error:" "$T"/*.log 2>/dev/null; then
		local bad
		bad=$(sanitizer_reports)
		if [ -n "$bad" ]; then
			echo "FAIL: $TEST_NAME: sanitizer report in: $bad" >&2
			for f in $bad; do
				grep -m1 -A 30 -E "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$f" >&2
			done
			rc=1
		fi
	fi
	if [ "$rc" -ne 0 ] && [ "$_FAILED" = 0 ]; then
		show_logs
	fi
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "note: temp dir kept: $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- limits, ports, waiting ----------------------------------------------

raise_nofile() {
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
	return 0
}

free_port() {
	"$NETUTIL" port
}

# wait_log FILE REGEX [SECONDS]: until grep -E finds REGEX in FILE.
wait_log() {
	local f=$1 re=$2 secs=${3:-10} end
	end=$(($(now_ms) + secs * 1000))
	while ! grep -q -E -- "$re" "$f" 2>/dev/null; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.03
	done
	return 0
}

# wait_until SECONDS CMD...: until CMD succeeds.
wait_until() {
	local secs=$1 end
	shift
	end=$(($(now_ms) + secs * 1000))
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 0
}

# expect_count FILE REGEX N WHAT [SECONDS]: wait until at least N lines
# match, then fail unless exactly N do.
expect_count() {
	local n
	_enough() { [ "$(grep -c -E -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; }
	wait_until "${5:-10}" _enough "$1" "$2" "$3"
	n=$(grep -c -E -- "$2" "$1" 2>/dev/null)
	[ "$n" -eq "$3" ] || fail "$4: $n lines match /$2/ in $(basename "$1"), want $3"
}

# expect_log FILE REGEX WHAT [SECONDS]
expect_log() {
	wait_log "$1" "$2" "${4:-10}" ||
		fail "$3: no /$2/ in $(basename "$1") within ${4:-10}s"
}

# ---- certificates -------------------------------------------------------

_activation() {
	date -u -d '-1 hour' '+%Y-%m-%d %H:%M:%S'
}

# make_ca [NAME] [CN]: $PKI/NAME.pem (self-signed) and NAME.key.
make_ca() {
	local name=${1:-ca} cn=${2:-TLS Pool Test CA ${1:-ca}}
	cat >"$PKI/$name.tmpl" <<-EOF
		cn = "$cn"
		organization = "TLS Pool Test"
		ca
		cert_signing_key
		crl_signing_key
		activation_date = "$(_activation)"
		expiration_days = 3
	EOF
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$PKI/$name.key" >/dev/null 2>&1 &&
		certtool --generate-self-signed --load-privkey "$PKI/$name.key" \
			--template "$PKI/$name.tmpl" --outfile "$PKI/$name.pem" \
			>"$PKI/$name.certtool.out" 2>&1 ||
		fail "make_ca $name: certtool failed: $(tail -3 "$PKI/$name.certtool.out" 2>/dev/null)"
}

# make_cert NAME [--ca CA] [--cn CN] [--dns N]... [--ip A]... [--email E]...
#           [--client | --both]
# Writes $PKI/NAME.pem (leaf), NAME.key and NAME.chain.pem (leaf + CA).
# Without --dns/--email/--ip the certificate gets dns_name NAME.
make_cert() {
	local name=$1 ca=ca cn= usage=server sans=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--ca) ca=$2; shift ;;
		--cn) cn=$2; shift ;;
		--dns) sans+=("dns_name = \"$2\""); shift ;;
		--ip) sans+=("ip_address = \"$2\""); shift ;;
		--email) sans+=("email = \"$2\""); shift ;;
		--client) usage=client ;;
		--both) usage=both ;;
		*) fail "make_cert: unknown option $1" ;;
		esac
		shift
	done
	[ -n "$cn" ] || cn=$name
	[ ${#sans[@]} -gt 0 ] || sans=("dns_name = \"$name\"")
	{
		echo "cn = \"$cn\""
		echo "organization = \"TLS Pool Test\""
		echo "activation_date = \"$(_activation)\""
		echo "expiration_days = 2"
		printf '%s\n' "${sans[@]}"
		echo "signing_key"
		case $usage in
		server) echo "tls_www_server" ;;
		client) echo "tls_www_client" ;;
		both) echo "tls_www_server"; echo "tls_www_client" ;;
		esac
	} >"$PKI/$name.tmpl"
	[ -f "$PKI/$ca.pem" ] || fail "make_cert $name: no CA $ca (call make_ca)"
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$PKI/$name.key" >/dev/null 2>&1 &&
		certtool --generate-certificate --load-privkey "$PKI/$name.key" \
			--load-ca-certificate "$PKI/$ca.pem" \
			--load-ca-privkey "$PKI/$ca.key" \
			--template "$PKI/$name.tmpl" --outfile "$PKI/$name.pem" \
			>"$PKI/$name.certtool.out" 2>&1 ||
		fail "make_cert $name: certtool failed: $(tail -3 "$PKI/$name.certtool.out" 2>/dev/null)"
	cat "$PKI/$name.pem" "$PKI/$ca.pem" >"$PKI/$name.chain.pem"
}

# subject_dn CERTNAME: the subject DN in RFC 4514 order ("CN=..,O=..").
subject_dn() {
	openssl x509 -in "$PKI/$1.pem" -noout -subject -nameopt RFC2253 |
		sed 's/^subject=//'
}

# ---- the daemon ---------------------------------------------------------

# install_identity CERTNAME IDENTITY [DAEMONNAME]: chain and key into the
# daemon's localid_dir as IDENTITY.pem / IDENTITY.key.
install_identity() {
	local cert=$1 id=$2 dname=${3:-daemon}
	local dir=$T/$dname.localid
	mkdir -p "$dir"
	cp "$PKI/$cert.chain.pem" "$dir/$id.pem"
	cp "$PKI/$cert.key" "$dir/$id.key"
	chmod 600 "$dir/$id.key"
}

# start_daemon [-n NAME] [CONFIG LINE]...: write $T/NAME.conf (defaults
# first, so the extra lines override), start the daemon in the foreground
# logging to $T/NAME.log, wait until it answers a PING.  Exports
# TLSPOOL_SOCKET; sets DPID/DSOCK/DLOG/DCONF/DLID[NAME] and DAEMON_PID,
# DAEMON_SOCK, DAEMON_LOG, DAEMON_CONF for the last one started.
start_daemon() {
	local name=daemon line pid
	if [ "${1:-}" = -n ]; then
		name=$2
		shift 2
	fi
	local conf=$T/$name.conf sock=$T/$name.sock log=$T/$name.log
	mkdir -p "$T/$name.localid" "$T/$name.state"
	{
		echo "# written by $TEST_NAME"
		echo "socket_name $sock"
		echo "localid_dir $T/$name.localid"
		[ -f "$PKI/ca.pem" ] && echo "trust_anchors $PKI/ca.pem"
		echo "trust_system no"
		echo "state_dir $T/$name.state"
		echo "daemon_pidfile $T/$name.pid"
		echo "log_level ${DAEMON_LOG_LEVEL:-info}"
		echo "log_stderr yes"
		echo "workers 2"
		echo "handshake_timeout 10000"
		for line in "$@"; do
			echo "$line"
		done
	} >"$conf"
	"$DAEMON_BIN" -c "$conf" -f >"$log" 2>&1 &
	pid=$!
	_track "$pid" "daemon:$name"
	DPID[$name]=$pid
	DSOCK[$name]=$sock
	DLOG[$name]=$log
	DCONF[$name]=$conf
	DLID[$name]=$T/$name.localid
	DAEMON_PID=$pid
	DAEMON_SOCK=$sock
	DAEMON_LOG=$log
	DAEMON_CONF=$conf
	export TLSPOOL_SOCKET=$sock
	_daemon_up() {
		alive "$pid" || return 0
		"$PING_BIN" -p "$sock" >"$T/$name.ping.out" 2>&1
	}
	wait_until 15 _daemon_up || fail "daemon $name: no PING answer within 15s"
	alive "$pid" || fail "daemon $name exited at start"
	grep -q "facilities:.*STARTTLS" "$T/$name.ping.out" ||
		fail "daemon $name: PING does not offer STARTTLS: $(cat "$T/$name.ping.out")"
}

# daemon_alive [NAME]: fail unless the daemon runs and answers a PING.
daemon_alive() {
	local name=${1:-daemon}
	alive "${DPID[$name]}" || fail "tlspool-daemon [$name] died"
	if ! "$PING_BIN" -p "${DSOCK[$name]}" >/dev/null 2>&1; then
		sleep 0.2
		alive "${DPID[$name]}" || fail "tlspool-daemon [$name] died"
		fail "tlspool-daemon [$name] does not answer a PING"
	fi
}

# Open file descriptors of a process.
fd_count() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# ---- tlstunnel ----------------------------------------------------------

# start_tunnel NAME TLSTUNNEL-ARGS...: LISTEN must use port 0; waits for
# "listening on 127.0.0.1:PORT" and sets TUNNEL_PORT, TUNNEL_PID and
# TUNNEL_LOG ($T/tunnel-NAME.log).
start_tunnel() {
	local name=$1 log=$T/tunnel-$1.log
	shift
	"$TUNNEL_BIN" "$@" >"$log" 2>&1 &
	TUNNEL_PID=$!
	TUNNEL_LOG=$log
	_track "$TUNNEL_PID" "tunnel:$name"
	_tunnel_up() {
		alive "$TUNNEL_PID" || return 0
		grep -q -E "listening on 127\.0\.0\.1:[0-9]+" "$log"
	}
	wait_until 10 _tunnel_up || fail "tlstunnel $name: not listening within 10s"
	alive "$TUNNEL_PID" || fail "tlstunnel $name exited: $(tail -3 "$log")"
	TUNNEL_PORT=$(sed -n -E 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$log" | head -1)
	[ -n "$TUNNEL_PORT" ] || fail "tlstunnel $name: no port in its output"
}

# serve_on_free_port WHAT START READY LOG...: start a server on a free
# loopback port, trying up to three ports (another process may take one
# between free_port and the server's bind).  "START PORT" starts it in
# the background and sets STARTED_PID; "READY PORT" (READY "": the port
# takes connections) is polled for up to 10 s.  The process is tracked
# as WHAT.  Sets STARTED_PORT; fails the test with the tail of the LOG
# files when no port works.
serve_on_free_port() {
	local what=$1 start=$2 ready=${3:-port_open} try port
	shift 3
	for try in 1 2 3; do
		port=$(free_port) || fail "no free port"
		"$start" "$port"
		_track "$STARTED_PID" "$what"
		_sofp_up() { alive "$STARTED_PID" || return 0; "$ready" "$port"; }
		wait_until 10 _sofp_up || fail "$what not ready within 10s"
		if alive "$STARTED_PID"; then
			STARTED_PORT=$port
			return 0
		fi
		_untrack "$STARTED_PID"
		wait "$STARTED_PID" 2>/dev/null
	done
	fail "$what could not start: $(tail -3 "$@" 2>/dev/null)"
}

# port_open PORT: 127.0.0.1:PORT takes connections.
port_open() {
	"$NETUTIL" wait-port "$1" 200 >/dev/null 2>&1
}

# ---- tlspool-ctl and one-line client checks ----------------------------

# ctl_on NAME ARGS...: tlspool-ctl with daemon NAME's configuration
# ("daemon" for start_daemon without -n); its output in $T/ctl.out;
# fails the test when tlspool-ctl fails.
ctl_on() {
	local d=$1
	shift
	"$BUILD/tools/tlspool-ctl" -c "${DCONF[$d]}" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $*: $(cat "$T/ctl.out")"
}

# client_try NAME PORT REMOTEID: one line through the pool as client
# (tlstunnel --stdio) to 127.0.0.1:PORT; 0 if it was echoed.  Output in
# $T/NAME.out and $T/NAME.err.
client_try() {
	printf 'line %s\n' "$1" | timeout 20 "$TUNNEL_BIN" -c --stdio -r "$3" \
		"127.0.0.1:$2" >"$T/$1.out" 2>"$T/$1.err"
	grep -q "^line $1$" "$T/$1.out"
}

# client_refused NAME PORT REMOTEID REGEX: no echo, and the daemon's log
# names the refusal (REGEX after the remote identity).
client_refused() {
	client_try "$1" "$2" "$3" && fail "$1: the connection was accepted"
	expect_log "$DAEMON_LOG" "refused client role, local=\"\" remote=\"$3\": .*$4" \
		"$1: the reason"
	grep "remote=\"$3\": .*$4" "$DAEMON_LOG" | tail -1 | sed 's/^/    /'
}

# client_accepted NAME PORT REMOTEID: the line was echoed.
client_accepted() {
	client_try "$1" "$2" "$3" || fail "$1: refused: $(tail -2 "$T/$1.err"; grep 'refused' "$DAEMON_LOG" | tail -1)"
	echo "    $1: accepted"
}

# ---- peers --------------------------------------------------------------

# start_echo [NAME]: the echo_server helper; sets ECHO_PORT, ECHO_PID.
start_echo() {
	local name=${1:-echo} log=$T/${1:-echo}.log
	"$HELPERS/echo_server" 0 >"$log" 2>&1 &
	ECHO_PID=$!
	_track "$ECHO_PID" "echo:$name"
	wait_log "$log" "listening on 127\.0\.0\.1:[0-9]+" 10 ||
		fail "echo_server $name did not start"
	ECHO_PORT=$(sed -n -E 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$log" | head -1)
}

# _start_gnutls_echo NAME GNUTLS-SERV-ARGS...: gnutls-serv --echo on a
# free port (serve_on_free_port); sets SERV_PORT, SERV_PID, SERV_LOG
# ($T/NAME.log).
_start_gnutls_echo() {
	local name=$1 log=$T/$1.log
	shift
	local -a gargs=("$@")
	_gnutls_echo_on() {
		gnutls-serv --echo -p "$1" "${gargs[@]}" >"$log" 2>&1 &
		STARTED_PID=$!
	}
	serve_on_free_port "gnutls-serv:$name" _gnutls_echo_on "" "$log"
	SERV_PID=$STARTED_PID
	SERV_PORT=$STARTED_PORT
	SERV_LOG=$log
}

# start_gnutls_serv NAME CERTNAME [gnutls-serv args]: --echo server with
# CERTNAME's chain and key; sets SERV_PORT, SERV_PID, SERV_LOG.
start_gnutls_serv() {
	local name=$1 cert=$2
	shift 2
	_start_gnutls_echo "$name" --x509certfile "$PKI/$cert.chain.pem" \
		--x509keyfile "$PKI/$cert.key" "$@"
}

# rawkey NAME: an Ed25519 key pair, $PKI/NAME.key and $PKI/NAME.pub.
rawkey() {
	certtool --generate-privkey --key-type ed25519 --no-text \
		--outfile "$PKI/$1.key" >/dev/null 2>&1 &&
		certtool --load-privkey "$PKI/$1.key" --pubkey-info --no-text \
			--outfile "$PKI/$1.pub" >/dev/null 2>&1 ||
		fail "cannot make raw key $1"
}

# start_rawpk_serv NAME KEY PRIORITY [args]: gnutls-serv --echo showing
# the raw key KEY; sets SERV_PORT, SERV_PID, SERV_LOG.
start_rawpk_serv() {
	local name=$1 key=$2 prio=$3
	shift 3
	_start_gnutls_echo "$name" --rawpkkeyfile "$PKI/$key.key" \
		--rawpkfile "$PKI/$key.pub" --priority "$prio" "$@"
}

# start_openssl_server NAME CERTNAME [s_server args]: s_server on
# 127.0.0.1 with CERTNAME's key and chain; stdin is a FIFO opened
# read-write so it never sees EOF.  Output (stdout+stderr, line
# buffered) in $T/NAME.log; sets SERV_PORT, SERV_PID, SERV_LOG.
start_openssl_server() {
	local name=$1 cert=$2 log=$T/$1.log fifo=$T/$1.stdin
	shift 2
	local -a oargs=("$@")
	[ -p "$fifo" ] || mkfifo "$fifo"
	_s_server_on() {
		stdbuf -oL -eL openssl s_server -accept "127.0.0.1:$1" \
			-cert "$PKI/$cert.pem" -key "$PKI/$cert.key" "${oargs[@]}" \
			0<>"$fifo" >"$log" 2>&1 &
		STARTED_PID=$!
	}
	_s_server_ready() { grep -q "^ACCEPT" "$log"; }
	serve_on_free_port "s_server:$name" _s_server_on _s_server_ready "$log"
	SERV_PID=$STARTED_PID
	SERV_PORT=$STARTED_PORT
	SERV_LOG=$log
}

# tls_client_chat LOGNAME EXPECT CMD...: run a TLS client tool (s_client,
# gnutls-cli) that sends its stdin to the server and prints what comes
# back.  It gets "EXPECT\n" on stdin, which stays open until EXPECT shows
# up as a line of its output, the tool exits, or 10 s pass; then stdin is
# closed and the tool gets 10 s to finish.  Output in $T/LOGNAME.out.
# Returns 0 when EXPECT came back.
tls_client_chat() {
	local lname=$1 expect=$2 out=$T/$1.out fifo=$T/$1.in cpid w end
	shift 2
	: >"$out"
	rm -f "$fifo"
	mkfifo "$fifo"
	"$@" <"$fifo" >"$out" 2>&1 &
	cpid=$!
	_track "$cpid" "client:$lname"
	exec {w}<>"$fifo"
	printf '%s\n' "$expect" >&"$w"
	end=$(($(now_ms) + 10000))
	while alive "$cpid" && ! grep -q -x -- "$expect" "$out" &&
		[ "$(now_ms)" -lt "$end" ]; do
		sleep 0.03
	done
	exec {w}>&-
	wait_exit "$cpid" 10 || stop_proc "$cpid" 2
	_untrack "$cpid"
	rm -f "$fifo"
	grep -q -x -- "$expect" "$out"
}

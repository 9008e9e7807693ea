#!/bin/bash
# bench/run.sh -- measure the pool against in-process GnuTLS and stunnel.
#
# One command, one run, one certificate (ECDSA P-256 made by certtool in a
# temp dir) and one cipher suite (TLS 1.3, AES-128-GCM, X25519) for every
# figure:
#   1. bulk throughput: in-process GnuTLS, through the pool, stunnel
#   2. full handshakes per second: in-process GnuTLS vs through the pool
#   3. daemon resident memory per idle relayed connection
#   4. policy lookups per second, 100,000 identities (bench/policy.sh)
#   5. committed policy change -> first handshake that obeys it (policy.sh)
# Everything runs on 127.0.0.1 with free ports; everything started here is
# stopped on exit.  This is not a test: it prints figures and ratios and
# never fails because of a timing.
#
# Sizes (environment):
#   BENCH_BYTES=512M        bytes per bulk transfer
#   BENCH_RUNS=5            runs per figure (the median is printed)
#   BENCH_HS_COUNT=2000     handshakes per handshake run
#   BENCH_HS_PARALLEL=2     K: handshakes in flight at once
#   BENCH_IDLE_CONNS=10000  idle connections for the memory figure
#   BENCH_IDLE_PARALLEL=4   threads opening them
#   BENCH_PRIORITY=...      the pinned GnuTLS priority string
#   BENCH_BUILD=DIR         use this build dir instead of scripts/build.sh main
#   BENCH_SKIP="stunnel idle"  leave parts out (bulk hs idle stunnel policy;
#                              policy-lookups policy-live: see bench/policy.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
SHLIB_WHO=bench
. "$top/scripts/shlib.sh"

BYTES=${BENCH_BYTES:-512M}
RUNS=${BENCH_RUNS:-5}
HS_COUNT=${BENCH_HS_COUNT:-2000}
HS_K=${BENCH_HS_PARALLEL:-2}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
IDLE_K=${BENCH_IDLE_PARALLEL:-4}
PRIO=${BENCH_PRIORITY:-NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519}
SKIP=" ${BENCH_SKIP:-} "
# stunnel (OpenSSL) pinned to the same suite and group
ST_SUITE=TLS_AES_128_GCM_SHA256
ST_CURVE=X25519

skip() { [[ "$SKIP" == *" $1 "* ]]; }

if [ -n "${BENCH_BUILD:-}" ]; then
	B=$BENCH_BUILD
else
	if [ "$(id -u)" = 0 ]; then bash scripts/deps.sh; fi
	B=$(bash scripts/build.sh main)
fi
make -C "$B/bench" tlsbench >/dev/null
TB="$B/bench/tlsbench"
D="$B/daemon/tlspool-daemon"
TT="$B/tools/tlstunnel"
PING="$B/tools/tlspool-ping"
for t in certtool stunnel4; do
	command -v "$t" >/dev/null || { echo "bench: $t not found (bash scripts/deps.sh)"; exit 1; }
done

T=$(mktemp -d /tmp/tlspool-bench.XXXXXX)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() {	# stop PID: end one process we started
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
HZ=$(getconf CLK_TCK)
ticks() {	# ticks PID...: CPU clock ticks (user + system) of the processes
	local p s sum=0 f
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) }
		read -r -a f <<<"$s"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}
R_LINE="" R_VAL="" R_CPU=""
run_cmd() {	# run_cmd KEY "PIDS" COMMAND...: R_LINE its output line, R_VAL the
	# value of KEY in it, R_CPU its cpu= plus what PIDS spent meanwhile (s)
	local key=$1 watch=$2 b a
	shift 2
	# shellcheck disable=SC2086
	b=$(ticks $watch)
	R_LINE=$("$@" 2>>"$T/bench.err") || true
	# shellcheck disable=SC2086
	a=$(ticks $watch)
	grep '^negotiated' <<<"$R_LINE" >>"$T/negotiated" || true
	R_LINE=$(grep -v '^negotiated' <<<"$R_LINE" || true)
	R_VAL=$(field "$key" "$R_LINE")
	R_CPU=$(awk -v c="$(field cpu "$R_LINE")" -v d=$((a - b)) -v hz="$HZ" \
		'BEGIN { printf "%.3f", c + d / hz }')
}
ratio() {	# ratio A B
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "n/a") printf "%.2f", a / b; else printf "n/a" }'
}

# ---- descriptors for the memory figure: the daemon needs 2 per
# connection (+ a few), the bench server and the client one each.  Without
# the privilege to raise the hard limit the figure uses fewer connections.
need=$((2 * IDLE_CONNS + 64))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
	ulimit -Hn "$need" 2>/dev/null || true
	ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
have=$(ulimit -n)
idle_note=""
if [ "$have" != unlimited ] && [ "$have" -lt "$need" ]; then
	IDLE_CONNS=$(((have - 64) / 2))
	idle_note=" (ulimit -n is $have and cannot be raised here: $IDLE_CONNS connections)"
fi

# ---- the certificate: ECDSA P-256, leaf "localhost" under a test CA
make_certs "$T" "tlsbench CA"
TLSARGS=(--cert "$T/srv.pem" --key "$T/srv.key" --ca "$T/ca.pem" --prio "$PRIO")

# ---- the daemon, configured in the temp dir
mkdir -p "$T/localid" "$T/state"
cp "$T/srv.pem" "$T/localid/localhost.pem"
cp "$T/srv.key" "$T/localid/localhost.key"
cat >"$T/tlspool.conf" <<CONF
socket_name $T/tlspool.sock
localid_dir $T/localid
trust_anchors $T/ca.pem
trust_system no
state_dir $T/state
daemon_pidfile $T/tlspool.pid
log_level error
tls_priority $PRIO
CONF
export TLSPOOL_SOCKET="$T/tlspool.sock"
DPID=
start_daemon() {
	rm -f "$TLSPOOL_SOCKET"
	"$D" -c "$T/tlspool.conf" -f 2>>"$T/daemon.log" &
	DPID=$!
	pids+=("$DPID")
	wait_for 10 "$PING" || { cat "$T/daemon.log" >&2; exit 1; }
}
start_daemon

# ---- the GnuTLS server behind everything
start_serve() {	# start_serve OUTFILE ARGS...: sets SPORT, SPID
	local out=$1; shift
	"$TB" serve "${TLSARGS[@]}" "$@" >"$out" 2>>"$T/serve.err" &
	SPID=$!
	pids+=("$SPID")
	wait_for 10 grep -q '^port ' "$out"
	SPORT=$(sed -n 's/^port //p' "$out")
}
start_serve "$T/serve.out" --threads "$HS_K"
SERVE_PORT=$SPORT SERVE_PID=$SPID

cores=$(nproc)
gnutls_v=$(certtool --version 2>/dev/null | sed -n '1s/.* //p')
stunnel_v=$(stunnel4 -version 2>&1 | sed -n 's/^stunnel \([^ ]*\).*/\1/p' | head -n 1)
ossl_v=$(stunnel4 -version 2>&1 | sed -n 's/^Running *with OpenSSL \([^ ]*\).*/\1/p' | head -n 1)
echo "== tlspool benchmark: $cores cores, GnuTLS $gnutls_v, stunnel $stunnel_v (OpenSSL $ossl_v)"
echo "certificate: ECDSA P-256 (certtool), leaf \"localhost\" signed by a test CA"
echo "cipher suite: TLS 1.3 TLS_AES_128_GCM_SHA256, group X25519 (priority $PRIO;"
echo "  stunnel: ciphersuites $ST_SUITE, curves $ST_CURVE)"
echo "CPU figures: user+system time of every process on the path (getrusage, /proc/PID/stat);"
echo "  less sensitive than wall-clock figures to other load on the machine"

# ---- 1. bulk throughput
if ! skip bulk; then
	"$TT" -c -q -p "$TLSPOOL_SOCKET" -r localhost 127.0.0.1:0 \
		"127.0.0.1:$SERVE_PORT" 2>"$T/tlstunnel.log" &
	TT_PID=$!
	pids+=("$TT_PID")
	wait_for 10 grep -q "listening on" "$T/tlstunnel.log"
	tport=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\).*/\1/p' "$T/tlstunnel.log" | head -n 1)
	methods="inproc pool direct"
	start_stunnel() {	# sets stport and ST_PID; 0 or 1
		local try
		for try in 1 2 3; do
			stport=$(free_port)
			cat >"$T/stunnel.conf" <<CONF
foreground = yes
pid = $T/stunnel.pid
debug = 3
output = $T/stunnel.log
[bench]
client = yes
accept = 127.0.0.1:$stport
connect = 127.0.0.1:$SERVE_PORT
sni = localhost
verifyChain = yes
CAfile = $T/ca.pem
checkHost = localhost
sslVersionMin = TLSv1.3
sslVersionMax = TLSv1.3
ciphersuites = $ST_SUITE
curves = $ST_CURVE
CONF
			stunnel4 "$T/stunnel.conf" </dev/null 2>>"$T/stunnel.log" &
			ST_PID=$!
			pids+=("$ST_PID")
			wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$stport" && return 0
			stop "$ST_PID"
			echo "bench: stunnel did not start (try $try):" >&2
			tail -n 3 "$T/stunnel.log" >&2
		done
		return 1
	}
	if ! skip stunnel; then
		if start_stunnel; then
			methods+=" stunnel"
		else
			SKIP+=" stunnel "
			echo "bench: leaving stunnel out" >&2
		fi
	fi
	declare -A mb cpu
	bulk_once() {	# bulk_once METHOD DIR
		local a=(--bytes "$BYTES" --dir "$2")
		case $1 in
		inproc) run_cmd MBps "" "$TB" bulk-inproc "${TLSARGS[@]}" "${a[@]}" ;;
		pool) run_cmd MBps "$DPID $TT_PID $SERVE_PID" "$TB" bulk-plain \
			--connect "127.0.0.1:$tport" "${a[@]}" ;;
		direct) run_cmd MBps "$DPID $SERVE_PID" "$TB" bulk-plain --via-pool \
			--connect "127.0.0.1:$SERVE_PORT" --remoteid localhost "${a[@]}" ;;
		stunnel) run_cmd MBps "$ST_PID $SERVE_PID" "$TB" bulk-plain \
			--connect "127.0.0.1:$stport" "${a[@]}" ;;
		esac
		[ -n "$R_VAL" ] || return 0
		mb[$1.$2]+=" $R_VAL"
		cpu[$1.$2]+=" $(awk -v c="$R_CPU" -v b="$(field bytes "$R_LINE")" \
			'BEGIN { printf "%.2f", c / (b / 1e9) }')"
	}
	echo
	echo "== 1. bulk throughput: $BYTES per transfer, median of $RUNS runs"
	echo "pool: plaintext app -> tlstunnel -c -> tlspool-daemon (relays, encrypts/decrypts) -> TLS ->"
	echo "  GnuTLS server (the pool on the client side); stunnel: the same app -> stunnel client ->"
	echo "  the same server; in-process: GnuTLS client and server threads in one program."
	echo "  up = towards the TLS server, down = from it; MB/s = 10^6 bytes/s;"
	echo "  CPU s/GB = CPU seconds of all processes on the path per 10^9 bytes moved"
	for dir in up down; do
		for ((r = 1; r <= RUNS; r++)); do
			for m in $methods; do bulk_once "$m" "$dir"; done
		done
	done
	printf '%-36s %9s %9s %12s %12s\n' "" "up MB/s" "down MB/s" "up CPU s/GB" "down CPU s/GB"
	for m in $methods; do
		case $m in
		inproc) name="in-process GnuTLS" ;;
		pool) name="pool (tlstunnel -c + daemon)" ;;
		direct) name="pool (app calls tlspool_starttls)" ;;
		stunnel) name="stunnel (client mode)" ;;
		esac
		# shellcheck disable=SC2086
		printf '%-36s %9s %9s %12s %12s\n' "$name" "$(median ${mb[$m.up]:-})" \
			"$(median ${mb[$m.down]:-})" "$(median ${cpu[$m.up]:-})" \
			"$(median ${cpu[$m.down]:-})"
		printf '    runs MB/s up:%s | down:%s\n' "${mb[$m.up]:-}" "${mb[$m.down]:-}"
	done
	for dir in up down; do
		# shellcheck disable=SC2086
		pool=$(median ${mb[pool.$dir]:-}) inproc=$(median ${mb[inproc.$dir]:-})
		echo "ratio pool/inprocess ($dir) = $(ratio "$pool" "$inproc") (target >= 0.8)"
		if ! skip stunnel; then
			# shellcheck disable=SC2086
			st=$(median ${mb[stunnel.$dir]:-})
			echo "ratio pool/stunnel ($dir) = $(ratio "$pool" "$st") (target >= 1.0)"
		fi
	done
	for dir in up down; do
		# shellcheck disable=SC2086
		pc=$(median ${cpu[pool.$dir]:-}) ic=$(median ${cpu[inproc.$dir]:-})
		line="CPU per byte, in-process/pool ($dir) = $(ratio "$ic" "$pc")"
		if ! skip stunnel; then
			# shellcheck disable=SC2086
			sc=$(median ${cpu[stunnel.$dir]:-})
			line+=", stunnel/pool ($dir) = $(ratio "$sc" "$pc")"
		fi
		echo "$line (informative; 1.0 = the pool costs as much CPU)"
	done
fi

# ---- 2. full handshakes per second
if ! skip hs; then
	hs_once() {	# hs_once VAR_RATE VAR_CPU COMMAND...
		local vr=$1 vc=$2 per
		shift 2
		run_cmd hps "$PIDS" "$@"
		[ -n "$R_VAL" ] || return 0
		[ "$(field failures "$R_LINE")" = 0 ] ||
			echo "  ($(field failures "$R_LINE") handshakes failed in one run)"
		per=$(awk -v c="$R_CPU" -v n="$(field handshakes "$R_LINE")" \
			'BEGIN { if (n > 0) printf "%.3f", c * 1000 / n }')
		printf -v "$vr" '%s %s' "${!vr}" "$R_VAL"
		printf -v "$vc" '%s %s' "${!vc}" "$per"
	}
	echo
	echo "== 2. full handshakes per second: $HS_COUNT per run, K=$HS_K in flight, median of $RUNS runs"
	echo "in-process: K client + K server threads in one program (certificate verified, no tickets)"
	echo "pool: K client processes call tlspool_starttls (the daemon handshakes and verifies) against"
	echo "  the same GnuTLS server with K threads; CPU ms = CPU time of all processes per handshake"
	hi="" hp="" ht="" ci="" cp="" ct=""
	for ((r = 1; r <= RUNS; r++)); do
		PIDS=""
		hs_once hi ci "$TB" hs-inproc "${TLSARGS[@]}" --count "$HS_COUNT" \
			--parallel "$HS_K"
		PIDS="$DPID $SERVE_PID"
		hs_once hp cp "$TB" hs-pool --connect "127.0.0.1:$SERVE_PORT" \
			--remoteid localhost --count "$HS_COUNT" --parallel "$HS_K"
		hs_once ht ct "$TB" hs-pool --threads-mode \
			--connect "127.0.0.1:$SERVE_PORT" --remoteid localhost \
			--count "$HS_COUNT" --parallel "$HS_K"
	done
	# shellcheck disable=SC2086
	mi=$(median $hi) mp=$(median $hp) mt=$(median $ht)
	printf '%-46s %9s %8s\n' "" "per s" "CPU ms"
	# shellcheck disable=SC2086
	printf '%-46s %9s %8s   (runs:%s)\n' "in-process GnuTLS" "$mi" "$(median $ci)" "$hi"
	# shellcheck disable=SC2086
	printf '%-46s %9s %8s   (runs:%s)\n' "pool, K processes" "$mp" "$(median $cp)" "$hp"
	# shellcheck disable=SC2086
	printf '%-46s %9s %8s   (runs:%s)\n' "pool, K threads of one process (informative)" \
		"$mt" "$(median $ct)" "$ht"
	echo "ratio pool/inprocess = $(ratio "$mp" "$mi") (target >= 0.8)"
	# shellcheck disable=SC2086
	echo "CPU per handshake, in-process/pool = $(ratio "$(median $ci)" "$(median $cp)") (informative)"
fi

# ---- 3. resident memory per idle relayed connection
if ! skip idle; then
	echo
	echo "== 3. daemon memory per idle relayed connection: $IDLE_CONNS connections$idle_note"
	echo "client app (threads: connect + tlspool_starttls, keeps the plaintext socket) -> daemon ->"
	echo "  TLS -> epoll GnuTLS server; a fresh daemon, VmRSS from /proc/PID/status"
	stop "$DPID"
	start_daemon
	start_serve "$T/serve-epoll.out" --epoll
	l=$("$TB" idle-pool --connect "127.0.0.1:$SPORT" --remoteid localhost \
		--pid "$DPID" --conns "$IDLE_CONNS" --parallel "$IDLE_K" \
		2>>"$T/bench.err" || true)
	stop "$SPID"
	if [ -z "$l" ]; then
		echo "idle measurement failed"
	else
		echo "connections opened: $(field ok "$l") of $(field conns "$l") in $(field setup_seconds "$l") s;" \
			"daemon fds $(field daemon_fds_before "$l") -> $(field daemon_fds_after "$l")"
		echo "daemon VmRSS before: $(field rss_before_kib "$l") KiB, after: $(field rss_after_kib "$l") KiB"
		echo "per idle connection = $(field per_conn_kib "$l") KiB (target <= 64 KiB)"
	fi
fi

# ---- 4. policy lookups, 5. commit -> first obeying handshake (bench/policy.sh)
if ! skip policy; then
	BENCH_BUILD="$B" BENCH_RUNS="$RUNS" BENCH_PRIORITY="$PRIO" BENCH_SKIP="$SKIP" \
		bash "$top/bench/policy.sh" || echo "policy benchmark failed"
fi

echo
echo "negotiated, as seen by the GnuTLS servers (in-process and bench server):"
# (parts skipped with BENCH_SKIP leave some of these files unwritten)
cat "$T/negotiated" "$T"/serve*.out 2>/dev/null | sed -n 's/^negotiated /  /p' | sort -u || true
if [ -s "$T/serve.err" ] || [ -s "$T/bench.err" ]; then
	echo
	echo "benchmark program messages (first lines):"
	cat "$T/serve.err" "$T/bench.err" | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/  /'
fi
if [ -s "$T/daemon.log" ]; then
	echo
	echo "daemon messages (log_level error):"; sed 's/^/  /' "$T/daemon.log" | head -n 5
fi

#!/bin/bash
# bench/policy.sh -- policy figures: lookups per second on a database of
# 100,000 identities, and the time from a committed change to the first
# handshake that obeys it (target: under 100 ms).
#
#   4. policybench lookups: a fresh policy environment is filled through
#      lib/policydb and polsel_decide() -- the rule selection the daemon
#      runs per handshake -- is timed for random remote identities on 1
#      and 2 threads.
#   5. a daemon on that same environment, a gnutls-serv --echo behind it:
#      policybench live commits a refusing rule, handshakes through the
#      pool until one is refused, deletes the rule, handshakes until one
#      is accepted, and so on.
# Runs on its own (bash bench/policy.sh) or from bench/run.sh.  Everything
# runs on 127.0.0.1 in a temp dir and is stopped on exit.  Not a test: it
# prints figures and never fails because of a timing.
#
# Sizes (environment):
#   BENCH_POLICY_IDS=100000        identities (concrete rules + disclosures)
#   BENCH_POLICY_LOOKUPS=100000    lookups per thread per run
#   BENCH_POLICY_ITERATIONS=25     commit/handshake iterations (max 64)
#   BENCH_RUNS=5                   runs per lookup figure (median printed)
#   BENCH_PRIORITY=...             GnuTLS priority (daemon and gnutls-serv)
#   BENCH_BUILD=DIR                use this build dir
#   BENCH_SKIP="policy-live"       leave parts out (policy-lookups policy-live)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
SHLIB_WHO=bench
. "$top/scripts/shlib.sh"

IDS=${BENCH_POLICY_IDS:-100000}
LOOKUPS=${BENCH_POLICY_LOOKUPS:-100000}
ITER=${BENCH_POLICY_ITERATIONS:-25}
RUNS=${BENCH_RUNS:-5}
PRIO=${BENCH_PRIORITY:-NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X25519}
SKIP=" ${BENCH_SKIP:-} "
skip() { [[ "$SKIP" == *" $1 "* ]]; }

if [ -n "${BENCH_BUILD:-}" ]; then
	B=$BENCH_BUILD
else
	B=$(bash scripts/build.sh main)
fi
make -C "$B/bench" policybench >/dev/null
PB="$B/bench/policybench"
D="$B/daemon/tlspool-daemon"
CTL="$B/tools/tlspool-ctl"
PING="$B/tools/tlspool-ping"
for t in certtool gnutls-serv; do
	command -v "$t" >/dev/null || { echo "bench: $t not found (bash scripts/deps.sh)"; exit 1; }
done

T=$(mktemp -d /tmp/tlspool-polbench.XXXXXX)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM


DB="$T/state/db"
mkdir -p "$T/state" "$T/localid"

# ---- 4. lookups per second
if ! skip policy-lookups || ! skip policy-live; then
	n=$LOOKUPS
	skip policy-lookups && n=0	# the live part still wants the fill
	"$PB" lookups --dir "$DB" --ids "$IDS" --count "$n" --runs "$RUNS" \
		--threads 1,2 >"$T/lookups.out" 2>"$T/lookups.err" || true
fi
if ! skip policy-lookups; then
	out=$(cat "$T/lookups.out")
	fill=$(grep '^fill ' <<<"$out" || true)
	size=$(grep '^size ' <<<"$out" || true)
	echo
	echo "== 4. policy lookups: polsel_decide() on $IDS identities, $LOOKUPS lookups per thread, median of $RUNS runs"
	echo "environment (lib/policydb, fresh): a client-role rule (valexp, min version) and a disclose"
	echo "  record for each of host00000.example.com ..., plus wildcard rules .zone0-3.example.net and"
	echo "  @.example.org with their disclosures; one lookup = snapshot txn + policy serial + rule"
	echo "  selectors + disclose selectors + valexp compile, exactly what the daemon runs per handshake"
	if [ -z "$fill" ]; then
		echo "fill failed:"; sed 's/^/  /' "$T/lookups.err" | head -n 5
	else
		echo "fill: $(field records "$fill") records in $(field txns "$fill") write transaction(s)," \
			"$(field seconds "$fill") s ($(field records_per_s "$fill") records/s)"
		echo "size on disk (after checkpoint): databases $(field databases_kib "$size") KiB," \
			"logs $(field logs_kib "$size") KiB, regions $(field regions_kib "$size") KiB," \
			"total $(field total_kib "$size") KiB"
		bad=0
		while read -r l; do
			bad=$((bad + $(field wrong "$l")))
		done < <(grep '^check ' <<<"$out")
		echo "decisions checked before timing: $((3 * IDS)) queries, $bad wrong"
		printf '%-46s %10s %10s %7s\n' "" "lookups/s" "us/lookup" "CPU us"
		while read -r l; do
			[ -n "$l" ] || continue
			case $(field class "$l") in
			concrete) name="concrete hit (rule at selector 1)" ;;
			wildcard) name="wildcard hit (rule at selector 3/4)" ;;
			miss) name="miss -> secure default (4 selectors)" ;;
			mix) name="mix (1/3 each)" ;;
			esac
			t=$(field threads "$l")
			[ "$t" = 1 ] && tn="1 thread" || tn="$t threads"
			printf '%-46s %10s %10s %7s   (runs:%s)\n' "$name, $tn" "$(field lps "$l")" \
				"$(field us "$l")" "$(field cpu_us "$l")" " $(field runs "$l" | tr , ' ')"
			[ "$(field failures "$l")" = 0 ] ||
				echo "  ($(field failures "$l") lookups failed)"
		done < <(grep '^lookup ' <<<"$out")
		echo "us/lookup = time of one lookup on one thread (threads x wall time / lookups);"
		echo "  CPU us = CPU time (user + system, all threads) per lookup: less sensitive to other"
		echo "  load on the machine than the wall-clock figures"
	fi
fi

# ---- 5. commit -> first obeying handshake
if ! skip policy-live; then
	make_certs "$T" "policybench CA"

	cat >"$T/tlspool.conf" <<CONF
socket_name $T/tlspool.sock
localid_dir $T/localid
trust_anchors $T/ca.pem
trust_system no
state_dir $T/state
daemon_pidfile $T/tlspool.pid
log_level notice
log_stderr yes
tls_priority $PRIO
CONF
	export TLSPOOL_SOCKET="$T/tlspool.sock"
	"$D" -c "$T/tlspool.conf" -f >"$T/daemon.log" 2>&1 &
	DPID=$!
	pids+=("$DPID")
	wait_for 10 "$PING" || { sed 's/^/  /' "$T/daemon.log" >&2; exit 1; }

	SPID=
	for _ in 1 2 3; do
		sport=$(free_port)
		gnutls-serv --echo --quiet --port "$sport" --disable-client-cert \
			--x509certfile "$T/srv.pem" --x509keyfile "$T/srv.key" \
			--priority "$PRIO" >"$T/serv.log" 2>&1 &
		SPID=$!
		pids+=("$SPID")
		wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$sport" && break
		kill "$SPID" 2>/dev/null || true
		SPID=
	done
	[ -n "$SPID" ] || { echo "bench: gnutls-serv did not start"; exit 1; }

	# what the same change costs as one tlspool-ctl command (informative)
	ctl_ms=()
	for ((i = 0; i < 10; i++)); do
		for op in set del; do
			a=$(date +%s%N)
			if [ $op = set ]; then
				"$CTL" -c "$T/tlspool.conf" policy set ctl.example.invalid client \
					--valexp Q >/dev/null 2>>"$T/ctl.err" || true
			else
				"$CTL" -c "$T/tlspool.conf" policy del ctl.example.invalid client \
					>/dev/null 2>>"$T/ctl.err" || true
			fi
			ctl_ms+=("$(awk -v d=$(($(date +%s%N) - a)) 'BEGIN { printf "%.1f", d / 1e6 }')")
		done
	done

	l=$("$PB" live --dir "$DB" --connect "127.0.0.1:$sport" --remoteid localhost \
		--selector localhost --log "$T/daemon.log" --iterations "$ITER" \
		2>"$T/live.err" || true)
	echo
	echo "== 5. policy change -> first handshake that obeys it: $ITER iterations (target: under 100 ms)"
	echo "daemon (log_level notice) on the $IDS-identity environment of 4., gnutls-serv --echo for"
	echo "  \"localhost\" behind it.  policybench commits through lib/policydb what"
	echo "  \"tlspool-ctl policy set localhost client --valexp Q\" does (Q: post-quantum key exchange,"
	echo "  which no peer can prove), then starts pool handshakes (tlspool_starttls) one after the other"
	echo "  until one is refused; then it deletes the rule and handshakes until one is accepted (its"
	echo "  plaintext echoes).  Clock: from the commit's return to the end of that handshake."
	if [ -z "$l" ]; then
		echo "live measurement failed:"; sed 's/^/  /' "$T/live.err" | head -n 5
	else
		printf '%-50s %8s %8s %8s\n' "" "min ms" "median" "max ms"
		row() {	# row NAME KEY
			printf '%-50s %8s %8s %8s\n' "$1" "$(field "$2_min" "$l")" \
				"$(field "$2_median" "$l")" "$(field "$2_max" "$l")"
		}
		row "rule committed -> first refused handshake" refuse_ms
		row "rule deleted -> first accepted handshake" allow_ms
		row "one accepted handshake, no change (baseline)" hs_ms
		row "the commit itself (policydb_commit)" commit_ms
		printf '%-50s %8s\n' "one tlspool-ctl set/del command (informative)" \
			"$(median "${ctl_ms[@]}")"
		echo "    runs refused ms: $(field refuse_runs "$l" | tr , ' ')"
		echo "    runs accepted ms: $(field allow_runs "$l" | tr , ' ')"
		echo "handshakes needed until the change was obeyed: at most $(field refuse_handshakes_max "$l")" \
			"(rule added), $(field allow_handshakes_max "$l") (rule deleted)"
		echo "refusals naming \"rule localhost: validation Q failed\" in the daemon log:" \
			"$(field reasons_in_log "$l") of $ITER; other failures: $(field other_failures "$l");" \
			"timeouts (10 s): $(field timeouts "$l")"
		echo "median commit -> obeyed = $(field refuse_ms_median "$l") ms (rule added)," \
			"$(field allow_ms_median "$l") ms (rule deleted) (target < 100 ms)"
	fi
fi
if [ -s "$T/lookups.err" ] || [ -s "$T/live.err" ] || [ -s "$T/ctl.err" ]; then
	echo
	echo "policybench / tlspool-ctl messages (first lines):"
	cat "$T/lookups.err" "$T/live.err" "$T/ctl.err" 2>/dev/null | sort | uniq -c |
		sort -rn | head -n 8 | sed 's/^/  /'
fi

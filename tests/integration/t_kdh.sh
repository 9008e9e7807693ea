#!/bin/bash
# TLS-KDH (doc/kdh.md): Kerberos-authenticated TLS 1.3 between pools and
# against kdh_peer, with a throwaway realm on a real krb5kdc.
# Cases: pool to pool with per-uid credentials cache and identities in
# the STARTTLS reply; validation expressions on a Kerberos peer; a
# HelloRetryRequest; a replayed AP-REQ; a wrong keytab; an unmapped
# realm; an unknown service principal; policy without krb5 (no ticket
# fetched); the KDC down.  Each refusal is checked for its reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/krb5_realm.sh"

CTL_BIN=$BUILD/tools/tlspool-ctl
KDH_PEER=$HELPERS/kdh_peer
[ -x "$CTL_BIN" ] || fail "$CTL_BIN is not built"
[ -x "$KDH_PEER" ] || make -C "$HELPERS" -s kdh_peer >/dev/null 2>&1 ||
	fail "cannot build kdh_peer"
MAP="EXAMPLE.COM=example.com"
MYUID=$(id -u)

MARK=0
mark() { MARK=$(stat -c %s "$1"); }
news() { tail -c +$((MARK + 1)) "$1"; }
_news_has() { news "$1" | grep -q -E -- "$2"; }
expect_new() {	# expect_new LOG REGEX WHAT
	wait_until 10 _news_has "$1" "$2" ||
		fail "$3: no /$2/ in $(basename "$1"); new lines: $(news "$1" | tail -5)"
}

step "a bad kerberos_realm_map is a configuration error"
printf 'socket_name %s\ntrust_system no\nkerberos_realm_map EXAMPLE.COM=example.com,EXAMPLE.COM=other.org\n' \
	"$T/bad.sock" >"$T/badmap.conf"
"$DAEMON_BIN" -t -c "$T/badmap.conf" >"$T/badmap.out" 2>&1 &&
	fail "-t accepted a realm mapped twice"
grep -q "badmap.conf:3: bad value for kerberos_realm_map" "$T/badmap.out" ||
	fail "no file:line for the bad map: $(cat "$T/badmap.out")"
grep -q "entry 2: realm or domain already mapped" "$T/badmap.out" ||
	fail "the bad map's reason is missing: $(cat "$T/badmap.out")"

# A small skew, so that an expired ticket is refused within seconds (the
# KDC and krb5_rd_req accept tickets up to clockskew past their end).
KRB_SKEW=3
make_realm EXAMPLE.COM example.com
start_kdc
add_user alice alicepw
add_user bob bobpw
add_service echo/srv.example.com "$KRB/server.keytab"
add_service echo/srv2.example.com "$KRB/server2.keytab"
kinit_as alice alicepw "$KRB/cc.uid$MYUID"
kinit_as bob bobpw "$KRB/cc.bob"
# A keytab with the right name but a key the KDC never issued.
wrong_keytab echo/srv.example.com@EXAMPLE.COM "$KRB/wrong.keytab"
start_echo

start_daemon -n S "kerberos_server_keytab FILE:$KRB/server.keytab" \
	"kerberos_realm_map $MAP"
start_daemon -n C "kerberos_client_credcache FILE:$KRB/cc.uid%u" \
	"kerberos_realm_map $MAP"
ctl_on S policy set srv.example.com server --kinds krb5
ctl_on C policy set srv.example.com client --kinds krb5

step "pool to pool, Kerberos only, per-uid credentials cache"
pool_pair
"$NETUTIL" echo-check "$TUNNEL_PORT" 262144 10000 >"$T/echo1.out" 2>&1 ||
	fail "256 KiB through two pools over TLS-KDH: $(cat "$T/echo1.out")"
expect_log "$logC" "connected local=alice@example.com remote=srv.example.com " \
	"the client's reply names the Kerberos identities"
expect_log "$logS" "connected local=srv.example.com remote=alice@example.com " \
	"the server's reply names the Kerberos identities"
expect_log "${DLOG[C]}" "TLS-KDH ticket for echo/srv.example.com@EXAMPLE.COM as alice@EXAMPLE.COM" \
	"client pool fetched the ticket from the per-uid cache"
expect_log "${DLOG[S]}" "TLS-KDH accepted: client alice@EXAMPLE.COM, service echo/srv.example.com@EXAMPLE.COM" \
	"server pool accepted the AP-REQ"
klist -c "FILE:$KRB/cc.uid$MYUID" | grep -q "echo/srv.example.com@EXAMPLE.COM" ||
	fail "the service ticket is not in alice's cache"
stop_proc "$TUNNEL_PID"

step "validation expressions on a Kerberos peer"
ctl_on S policy set srv.example.com server --kinds krb5 --valexp "IF&U&"
start_tunnel Sv -s -p "${DSOCK[S]}" -S echo -l srv.example.com \
	-r alice@example.com 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
start_tunnel Cv -c -p "${DSOCK[C]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$TUNNEL_PORT"
"$NETUTIL" echo-check "$TUNNEL_PORT" 1000 10000 >"$T/echo2.out" 2>&1 ||
	fail "IF&U& with alice expected: $(cat "$T/echo2.out")"
stop_proc "$TUNNEL_PID"
ctl_on S policy set srv.example.com server --kinds krb5 --valexp "IP|"
mark "${DLOG[S]}"
start_tunnel Sb -s -p "${DSOCK[S]}" -S echo -l srv.example.com \
	-r bob@example.com 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
start_tunnel Cb -c -p "${DSOCK[C]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$TUNNEL_PORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed1.out" 2>&1 ||
	fail "alice got through to a server expecting bob: $(cat "$T/closed1.out")"
expect_new "${DLOG[S]}" "validation IP\| failed: .*alice@example.com, not bob@example.com.*no certificate for P" \
	"I and P refused for alice when bob is expected"
stop_proc "$TUNNEL_PID"
ctl_on S policy set srv.example.com server --kinds krb5

step "HelloRetryRequest: the second ClientHello reuses the AP-REQ"
ctl_on S policy set srv.example.com server --kinds krb5 \
	--priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK:+DHE-PSK:-GROUP-ALL:+GROUP-SECP256R1"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" --groups "-GROUP-ALL:+GROUP-SECP384R1:+GROUP-SECP256R1" \
	>"$T/hrr.out" 2>&1 || fail "HRR handshake failed: $(cat "$T/hrr.out")"
grep -q "conn 1: ok hrr=1 kx=ECDHE-PSK" "$T/hrr.out" ||
	fail "no HelloRetryRequest happened: $(cat "$T/hrr.out")"
expect_log "$logS" "connected local=srv.example.com remote=bob@example.com " \
	"bob accepted after a HelloRetryRequest"
mark "${DLOG[S]}"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" --groups "-GROUP-ALL:+GROUP-SECP384R1:+GROUP-SECP256R1" \
	--switch >"$T/switch.out" 2>&1 &&
	fail "another AP-REQ after the HelloRetryRequest was accepted: $(cat "$T/switch.out")"
grep -q "conn 1: failed: A TLS fatal alert" "$T/switch.out" ||
	fail "switch: $(cat "$T/switch.out")"
expect_new "${DLOG[S]}" "TLS-KDH: the second ClientHello carries another AP-REQ" \
	"the server names the switched identity"
ctl_on S policy set srv.example.com server --kinds krb5

step "a replayed AP-REQ is refused"
mark "${DLOG[S]}"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" --twice >"$T/replay.out" 2>&1 ||
	fail "replay: $(cat "$T/replay.out")"
grep -q "conn 1: ok hrr=0" "$T/replay.out" || fail "first use: $(cat "$T/replay.out")"
grep -q "conn 2: failed: .*" "$T/replay.out" || fail "replay accepted: $(cat "$T/replay.out")"
expect_new "${DLOG[S]}" "rule srv.example.com: TLS-KDH: AP-REQ refused: .*[Rr]eplay" \
	"the server names the replay"

step "psk_ke (Kerberos without ECDHE) is not offered by the server"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" --groups "-KX-ALL:+PSK" >"$T/pskke.out" 2>&1 &&
	fail "a psk_ke-only client got through: $(cat "$T/pskke.out")"
grep -q "conn 1: failed" "$T/pskke.out" || fail "psk_ke: $(cat "$T/pskke.out")"

step "wrong keytab"
start_daemon -n W "kerberos_server_keytab FILE:$KRB/wrong.keytab" \
	"kerberos_realm_map $MAP"
ctl_on W policy set srv.example.com server --kinds krb5
start_tunnel W -s -p "${DSOCK[W]}" -S echo -l srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$ECHO_PORT"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$TUNNEL_PORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" >"$T/wrongkt.out" 2>&1 &&
	fail "wrong keytab accepted: $(cat "$T/wrongkt.out")"
grep -q "conn 1: failed: .*" "$T/wrongkt.out" || fail "wrong keytab: $(cat "$T/wrongkt.out")"
expect_log "${DLOG[W]}" "refused server role.*TLS-KDH: AP-REQ refused: " \
	"the server names the keytab failure"

step "a realm outside the server's map"
start_daemon -n M "kerberos_server_keytab FILE:$KRB/server.keytab" \
	"kerberos_realm_map OTHER.ORG=other.org"
ctl_on M policy set srv.example.com server --kinds krb5
start_tunnel M -s -p "${DSOCK[M]}" -S echo -l srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$ECHO_PORT"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$TUNNEL_PORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" >"$T/realm.out" 2>&1 &&
	fail "unmapped realm accepted: $(cat "$T/realm.out")"
expect_log "${DLOG[M]}" "TLS-KDH: realm EXAMPLE.COM is not in kerberos_realm_map" \
	"the server names the unmapped realm"

step "clock skew beyond the server's limit"
# The server's krb5 allows 1 s of skew; an authenticator made 3 s before
# it is used is too old (the same as a client clock 3 s behind).
sed 's/clockskew = 3$/clockskew = 1/' "$KRB/krb5.conf" >"$KRB/skew.conf"
grep -q "clockskew = 1" "$KRB/skew.conf" || fail "no clockskew in krb5.conf"
KRB5_CONFIG=$KRB/skew.conf start_daemon -n K \
	"kerberos_server_keytab FILE:$KRB/server.keytab" "kerberos_realm_map $MAP"
ctl_on K policy set srv.example.com server --kinds krb5
start_tunnel K -s -p "${DSOCK[K]}" -S echo -l srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$ECHO_PORT"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$TUNNEL_PORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" --delay 3 >"$T/skew.out" 2>&1 &&
	fail "an old authenticator was accepted: $(cat "$T/skew.out")"
grep -q "conn 1: failed: " "$T/skew.out" || fail "skew: $(cat "$T/skew.out")"
expect_log "${DLOG[K]}" "TLS-KDH: AP-REQ refused: Clock skew too great" \
	"the server names the clock skew"

step "an unknown service principal"
ctl_on C policy set nosuch.example.com client --kinds krb5
mark "${DLOG[C]}"
start_tunnel Cu -c -p "${DSOCK[C]}" -S echo -r nosuch.example.com 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed2.out" 2>&1 ||
	fail "unknown service: $(cat "$T/closed2.out")"
expect_new "${DLOG[C]}" "refused client role.*rule nosuch.example.com: TLS-KDH: ticket for echo/nosuch.example.com@EXAMPLE.COM: .*not found" \
	"the client names the unknown principal"

step "policy without krb5: no ticket fetched or offered"
start_daemon -n X "kerberos_client_credcache FILE:$KRB/cc.bob" \
	"kerberos_realm_map $MAP"
ctl_on X policy set srv.example.com client --kinds x509
klist -c "FILE:$KRB/cc.bob" >"$T/klist0.out" 2>&1
start_tunnel X -c -p "${DSOCK[X]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed3.out" 2>&1 ||
	fail "x509-only client got through a krb5-only server: $(cat "$T/closed3.out")"
expect_log "${DLOG[X]}" "refused client role" "the x509 client is refused"
grep -q "TLS-KDH" "${DLOG[X]}" && fail "x509-only rule used TLS-KDH: $(grep TLS-KDH "${DLOG[X]}")"
klist -c "FILE:$KRB/cc.bob" >"$T/klist1.out" 2>&1
cmp -s "$T/klist0.out" "$T/klist1.out" ||
	fail "a ticket was fetched for an x509-only rule: $(cat "$T/klist1.out")"

step "an expired ticket-granting ticket"
add_user dave davepw
kinit_as_life() {
	echo "$2" | KRB5CCNAME="FILE:$3" kinit -l "$4" "$1" >"$KRB/kinit.out" 2>&1 ||
		fail "kinit -l $4 $1: $(tail -3 "$KRB/kinit.out")"
}
kinit_as_life dave davepw "$KRB/cc.dave" 2s
start_daemon -n E "kerberos_client_credcache FILE:$KRB/cc.dave" \
	"kerberos_realm_map $MAP"
ctl_on E policy set srv.example.com client --kinds krb5
_expired() { ! klist -s -c "FILE:$KRB/cc.dave"; }
wait_until 10 _expired || fail "dave's ticket does not expire"
sleep $((KRB_SKEW + 1))		# and the KDC's clock skew allowance"
start_tunnel E -c -p "${DSOCK[E]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed5.out" 2>&1 ||
	fail "expired ticket: $(cat "$T/closed5.out")"
expect_log "${DLOG[E]}" "refused client role.*TLS-KDH: ticket for echo/srv.example.com@EXAMPLE.COM: .*[Ee]xpired" \
	"the client names the expired ticket"

# start_blackhole: sockets on the KDC's port that take requests and never
# answer; HOLE_PID.
start_blackhole() {
	python3 - "$KDC_PORT" >"$KRB/blackhole.out" 2>&1 <<'EOP' &
import socket, sys, time
port = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(16)
print("blackhole ready", flush=True)
time.sleep(120)
EOP
	HOLE_PID=$!
	_track "$HOLE_PID" blackhole
	wait_log "$KRB/blackhole.out" "blackhole ready" 10 || fail "blackhole: $(cat "$KRB/blackhole.out")"
}

step "a KDC that never answers blocks only its own connection"
# The KDC is replaced by sockets that take requests and never answer; a
# connection needing a new service ticket waits on a helper thread while
# one with a cached ticket goes through the same pool.
stop_kdc
start_blackhole
ctl_on C policy set srv2.example.com client --kinds krb5
mark "${DLOG[C]}"
start_tunnel Ch -c -p "${DSOCK[C]}" -S echo -r srv2.example.com 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 30000 >"$T/closed6.out" 2>&1 &
HUNG=$!
_track "$HUNG" "netutil:hung"
start_tunnel Cc -c -p "${DSOCK[C]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" echo-check "$TUNNEL_PORT" 10000 10000 >"$T/echo6.out" 2>&1 ||
	fail "a cached ticket did not get through while the KDC hangs: $(cat "$T/echo6.out")"
expect_new "${DLOG[C]}" 'established client role: local="alice@example.com" remote="srv.example.com"' \
	"the cached-ticket connection is established"
news "${DLOG[C]}" | grep -q "refused client role.*srv2.example.com" &&
	fail "the hung connection ended before the other one went through"
wait_exit "$HUNG" 30 || fail "the hung connection never ended"
_untrack "$HUNG"
expect_new "${DLOG[C]}" "refused client role.*remote=\"srv2.example.com\".*(Cannot contact any KDC|timed out in the Kerberos ticket step)" \
	"the hung connection is refused with the reason"
stop_proc "$HOLE_PID"
start_kdc

step "KDC down: refused with the reason, the daemon serves on"
# A fresh TGT without the service ticket: the pool must ask the KDC.
kdestroy -c "FILE:$KRB/cc.uid$MYUID" >/dev/null 2>&1
kinit_as alice alicepw "$KRB/cc.uid$MYUID"
stop_kdc
mark "${DLOG[C]}"
start_tunnel Cd -c -p "${DSOCK[C]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 20000 >"$T/closed4.out" 2>&1 ||
	fail "KDC down: $(cat "$T/closed4.out")"
expect_new "${DLOG[C]}" "refused client role.*TLS-KDH: ticket for echo/srv.example.com@EXAMPLE.COM: .*KDC" \
	"the client names the unreachable KDC"
# Meanwhile certificates are unaffected: the server pool still answers.
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" echo srv.example.com \
	EXAMPLE.COM "$MAP" >"$T/after.out" 2>&1 ||
	fail "the server pool stopped serving: $(cat "$T/after.out")"

daemon_alive S
daemon_alive C
daemon_alive W
daemon_alive M
daemon_alive K
daemon_alive E
daemon_alive X

step "stopped while a ticket fetch hangs: a clean exit, the job dropped"
# The helper thread is still inside krb5 when the drain ends: the daemon
# must exit 0 without freeing the worker the helper will post to.
start_blackhole
ctl_on C policy set srv3.example.com client --kinds krb5
mark "${DLOG[C]}"
start_tunnel Cz -c -p "${DSOCK[C]}" -S echo -r srv3.example.com 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 30000 >"$T/closed7.out" 2>&1 &
_track $! "netutil:stop"
sleep 1
stop_proc "${DPID[C]}" 20
[ "$WAIT_STATUS" = 0 ] || fail "daemon C exited with $WAIT_STATUS while a helper job hung"
expect_new "${DLOG[C]}" "[0-9]+ helper job\(s\) still running at stop; their results are dropped" \
	"the dropped job is logged"
stop_proc "$HOLE_PID"
pass

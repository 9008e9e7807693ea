#!/bin/bash
# "Enhanced" mode (doc/kdh.md): an X.509 handshake, then mutual Kerberos
# bound to the TLS channel (tls-exporter), run by both daemons before the
# applications get their sockets, asked for by the valexp predicate K.
# Cases: certificate server + Kerberos on both sides (identities in the
# replies); the server's keytab is wrong (both sides refuse, with the
# reason); the client's Kerberos user is not the one the server asked
# for; no realm for the server's name (refused before anything is sent).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/krb5_realm.sh"

CTL_BIN=$BUILD/tools/tlspool-ctl
[ -x "$CTL_BIN" ] || fail "$CTL_BIN is not built"
MAP="EXAMPLE.COM=example.com"
MYUID=$(id -u)

make_ca
make_cert srv --dns srv.example.com --dns srv.example.net
make_realm EXAMPLE.COM example.com
start_kdc
add_user alice alicepw
add_service echo/srv.example.com "$KRB/server.keytab"
kinit_as alice alicepw "$KRB/cc.uid$MYUID"
wrong_keytab echo/srv.example.com@EXAMPLE.COM "$KRB/wrong.keytab"
start_echo

install_identity srv srv.example.com S
start_daemon -n S "kerberos_server_keytab FILE:$KRB/server.keytab" \
	"kerberos_realm_map $MAP"
start_daemon -n C "kerberos_client_credcache FILE:$KRB/cc.uid%u" \
	"kerberos_realm_map $MAP"
# Server: no client certificate, the client proves alice by Kerberos.
ctl_on S policy set srv.example.com server --client-auth none --valexp "K"
# Client: the server's certificate and then its service key.
ctl_on C policy set srv.example.com client --valexp "IT&K&"

step "certificate handshake, then channel-bound Kerberos both ways"
pool_pair
"$NETUTIL" echo-check "$TUNNEL_PORT" 100000 10000 >"$T/echo1.out" 2>&1 ||
	fail "data after the Kerberos exchange: $(cat "$T/echo1.out")"
expect_log "$logS" "connected local=srv.example.com remote=alice@example.com " \
	"the server's reply names the Kerberos client"
expect_log "$logC" "connected local=.* remote=srv.example.com " \
	"the client's reply names the server"
expect_log "${DLOG[S]}" "channel-bound Kerberos: alice@example.com \(alice@EXAMPLE.COM\)" \
	"the server logs the bound client principal"
expect_log "${DLOG[C]}" "channel-bound Kerberos: srv.example.com \(echo/srv.example.com@EXAMPLE.COM\)" \
	"the client logs the bound service principal"
expect_log "${DLOG[C]}" "established client role: .*ECDHE-(ECDSA|RSA)|established client role" \
	"client established"
grep -q "TLS-KDH ticket" "${DLOG[C]}" && fail "enhanced mode used TLS-KDH instead of a certificate handshake"
stop_proc "$TUNNEL_PID"

step "the AP-REQ is bound to the channel (kdh_peer --bind)"
KDH_PEER=$HELPERS/kdh_peer
[ -x "$KDH_PEER" ] || make -C "$HELPERS" -s kdh_peer >/dev/null 2>&1 ||
	fail "cannot build kdh_peer"
KRB5CCNAME=FILE:$KRB/cc.uid$MYUID "$KDH_PEER" "$SPORT" echo srv.example.com EXAMPLE.COM "$MAP" --bind good \
	>"$T/bind1.out" 2>&1 || fail "bind good: $(cat "$T/bind1.out")"
grep -q "^bind: ok$" "$T/bind1.out" || fail "bind good: $(cat "$T/bind1.out")"
KRB5CCNAME=FILE:$KRB/cc.uid$MYUID "$KDH_PEER" "$SPORT" echo srv.example.com EXAMPLE.COM "$MAP" --bind foreign \
	>"$T/bind2.out" 2>&1 && fail "a foreign channel's MAC was accepted: $(cat "$T/bind2.out")"
grep -q "^bind: refused (status 1)$" "$T/bind2.out" ||
	fail "bind foreign: $(cat "$T/bind2.out")"
expect_log "${DLOG[S]}" "refused server role.*K: Kerberos exchange: the AP-REQ is not bound to this TLS channel" \
	"the server names the channel mismatch"
# a refusal is never logged as a channel-bound success (with empty names)
grep -q "channel-bound Kerberos:  ()" "${DLOG[S]}" &&
	fail "the server logged its refusal as a channel-bound success"

step "server wants bob: alice's Kerberos identity is refused"
start_tunnel Sb -s -p "${DSOCK[S]}" -S echo -l srv.example.com \
	-r bob@example.com 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
start_tunnel Cb -c -p "${DSOCK[C]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$TUNNEL_PORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed1.out" 2>&1 ||
	fail "alice got through to a server expecting bob: $(cat "$T/closed1.out")"
expect_log "${DLOG[S]}" "refused server role.*validation K failed: K: Kerberos principal alice@EXAMPLE.COM is alice@example.com, not bob@example.com" \
	"the server names the principal mismatch"
stop_proc "$TUNNEL_PID"

step "wrong server keytab: both sides refuse"
install_identity srv srv.example.com W
start_daemon -n W "kerberos_server_keytab FILE:$KRB/wrong.keytab" \
	"kerberos_realm_map $MAP"
ctl_on W policy set srv.example.com server --client-auth none --valexp "K"
start_tunnel W -s -p "${DSOCK[W]}" -S echo -l srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$ECHO_PORT"
start_tunnel Cw -c -p "${DSOCK[C]}" -S echo -r srv.example.com 127.0.0.1:0 \
	"127.0.0.1:$TUNNEL_PORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed2.out" 2>&1 ||
	fail "wrong keytab: $(cat "$T/closed2.out")"
expect_log "${DLOG[W]}" "refused server role.*K: Kerberos exchange: AP-REQ refused: Request ticket server echo/srv.example.com@EXAMPLE.COM kvno 2" \
	"the server names the keytab failure"
expect_log "${DLOG[C]}" "refused client role.*K: Kerberos exchange: the server refused it" \
	"the client names the server's refusal"

step "no realm for the server's name: the client refuses before sending"
# The certificate is valid for srv.example.net, which kerberos_realm_map
# does not cover: K cannot be proven; the server sees the client leave.
ctl_on C policy set srv.example.net client --valexp "IT&K&"
start_tunnel Cn -c -p "${DSOCK[C]}" -S echo -r srv.example.net 127.0.0.1:0 \
	"127.0.0.1:$SPORT"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/closed3.out" 2>&1 ||
	fail "srv.example.net: $(cat "$T/closed3.out")"
expect_log "${DLOG[C]}" "refused client role.*rule srv.example.net: validation IT&K& failed: K: Kerberos exchange: no realm in kerberos_realm_map for the host" \
	"the client names the missing realm"
expect_log "${DLOG[S]}" "refused server role.*validation K failed: K: Kerberos exchange: " \
	"the server refuses a client that left without the exchange"

daemon_alive S
daemon_alive C
daemon_alive W
pass

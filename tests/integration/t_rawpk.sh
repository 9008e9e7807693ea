#!/bin/bash
# RFC 7250 raw public keys against real peers: the pool as client to
# gnutls-serv --rawpkkeyfile, as server to gnutls-cli --rawpkkeyfile
# (with a raw client key), pool to pool with raw keys on both sides, one
# pool the client and then the other; pins in trust.db (a wrong pin, an unpinned key, pin on
# first use with p), and the certificate-type mismatches: an X.509-only
# peer where the rule demands raw keys, and a raw-key-only peer where
# the rule allows X.509 only.  Every refusal must name its reason.
. "$(dirname "$0")/lib.sh"

CTL=$BUILD/tools/tlspool-ctl
make_ca
make_cert localhost --dns localhost

rawkey srv
rawkey other
rawkey cli

# pin_of FILE: the sha256 pin tlspool-ctl prints for a public key file.
pin_of() {
	"$CTL" rawpk pin --file "$1" | sed -n 's/^sha256 //p'
}

stop_serv() {
	stop_proc "$SERV_PID" 5
	_untrack "$SERV_PID"
}

# try NAME PORT REMOTEID [tlstunnel args]: one line through the pool
# client; 0 if it came back.
try() {
	local name=$1 port=$2 rid=$3
	shift 3
	printf 'line %s\n' "$name" | timeout 20 "$TUNNEL_BIN" -c --stdio \
		-r "$rid" "$@" "127.0.0.1:$port" >"$T/$name.out" 2>"$T/$name.err"
	grep -q "^line $name$" "$T/$name.out"
}

# refused NAME PATTERN WHAT: the daemon's log names the refusal.
refused() {
	grep -q -E -- "$2" "$DAEMON_LOG" ||
		fail "$3: the refusal is not named (want /$2/): $(grep -i -E 'refus|fail' "$DAEMON_LOG" | tail -3)"
}

SRV_PIN=$(pin_of "$PKI/srv.pub")
OTHER_PIN=$(pin_of "$PKI/other.pub")
CLI_PIN=$(pin_of "$PKI/cli.pub")
[ ${#SRV_PIN} -eq 64 ] || fail "tlspool-ctl rawpk pin printed no pin"
OSSL_PIN=$(openssl pkey -pubin -in "$PKI/srv.pub" -outform DER | sha256sum | cut -c1-64)
[ "$SRV_PIN" = "$OSSL_PIN" ] || fail "pin $SRV_PIN differs from openssl's $OSSL_PIN"
"$CTL" rawpk pin --file "$PKI/srv.pub" | grep -q -x "tlsa 3 1 1 $SRV_PIN" ||
	fail "tlspool-ctl rawpk pin prints no DANE 3 1 1 record"

install_identity localhost localhost
start_daemon

step "pool client -> gnutls-serv with a raw key, pinned for its name"
start_rawpk_serv rawserv srv "NORMAL:-CTYPE-SRV-ALL:+CTYPE-SRV-RAWPK"
ctl_on daemon policy set srv.example client --kinds rawpk
ctl_on daemon trust add-pin "$PKI/srv.pub" --for srv.example --peers servers
grep -q "set trust pin:srv.example:$SRV_PIN" "$T/ctl.out" ||
	fail "trust add-pin of a public key file: $(cat "$T/ctl.out")"
try pinned "$SERV_PORT" srv.example || fail "pinned raw key refused: $(cat "$T/pinned.err")"
grep -q "connected local= remote=srv.example" "$T/pinned.err" ||
	fail "tlstunnel does not report the remote identity: $(cat "$T/pinned.err")"
grep -q 'established client role: local="" remote="srv.example"' "$DAEMON_LOG" ||
	fail "no session logged"

step "a pin for another name does not hold: unpinned for this one"
ctl_on daemon policy set rawhost.example client --kinds rawpk
try unpinned "$SERV_PORT" rawhost.example && fail "an unpinned raw key was accepted"
refused unpinned "raw public key $SRV_PIN is not pinned for rawhost\.example" "unpinned key"

step "wrong pin: rawhost.example is pinned to another key"
ctl_on daemon trust add-pin "$OTHER_PIN" --for rawhost.example --peers servers
try wrongpin "$SERV_PORT" rawhost.example && fail "a raw key with a wrong pin was accepted"
expect_count "$DAEMON_LOG" "refused client role.*is not pinned for rawhost\.example" 2 "wrong pin refused by name"

step "a pin that vouches for clients only does not vouch for a server"
ctl_on daemon policy set peers.example client --kinds rawpk
ctl_on daemon trust add-pin "$SRV_PIN" --for peers.example --peers clients
try peerflag "$SERV_PORT" peers.example && fail "a clients-only pin vouched for a server"
refused peerflag "is not pinned for peers\.example" "clients-only pin"

step "valexp P and I: the key is bound to the identity by the pin"
ctl_on daemon policy set srv.example client --kinds rawpk --valexp 'PI&'
try valexp "$SERV_PORT" srv.example || fail "PI& refused a pinned key: $(grep refus "$DAEMON_LOG" | tail -1)"
ctl_on daemon policy set srv.example client --kinds rawpk --valexp 'T'
try anchor "$SERV_PORT" srv.example && fail "T held for a raw key"
refused anchor "validation T failed: T: a raw public key has no certificate chain to a trust anchor" "T on a raw key"
ctl_on daemon policy set srv.example client --kinds rawpk --valexp 'PR&'
try revo "$SERV_PORT" srv.example && fail "R held for a raw key"
refused revo "a raw public key has no CRL or OCSP status" "R on a raw key"

step "pin on first use (p)"
ctl_on daemon policy set tofu.example client --kinds rawpk --valexp 'pI&'
try tofu1 "$SERV_PORT" tofu.example || fail "p did not pin on first use: $(grep refus "$DAEMON_LOG" | tail -1)"
grep -q "pinned key $SRV_PIN for tofu.example on first use" "$DAEMON_LOG" ||
	fail "the first-use pin is not logged"
ctl_on daemon trust get "pin:tofu.example:$SRV_PIN"
try tofu2 "$SERV_PORT" tofu.example || fail "the pinned key was refused the second time"
stop_serv
start_rawpk_serv rawserv2 other "NORMAL:-CTYPE-SRV-ALL:+CTYPE-SRV-RAWPK"
try tofu3 "$SERV_PORT" tofu.example && fail "another key was accepted after pinning on first use"
refused tofu3 "tofu\.example is pinned to another key" "a changed key after TOFU"

step "X.509-only server where the rule demands raw keys"
stop_serv
start_gnutls_serv x509serv localhost
ctl_on daemon policy set localhost client --kinds rawpk
try x509only "$SERV_PORT" localhost && fail "an X.509 server passed a rawpk-only rule"
refused x509only "rule localhost offers raw public keys only \(policy kinds\); the server did not agree" \
	"X.509-only server, rawpk rule"
ctl_on daemon policy del localhost client
try x509ok "$SERV_PORT" localhost || fail "X.509 stays the default: $(cat "$T/x509ok.err")"
stop_serv

step "raw-key-only server where the rule allows X.509 only (the default)"
start_rawpk_serv rawonly srv "NORMAL:-CTYPE-SRV-ALL:+CTYPE-SRV-RAWPK"
ctl_on daemon trust add-pin "$SRV_PIN" --for rawonly.example --peers servers
try rawonly "$SERV_PORT" rawonly.example && fail "a raw key was negotiated without a rule allowing it"
refused rawonly "rule \(default\) offers X\.509 certificates only \(policy kinds; a server that has only a raw public key cannot agree\): TLS handshake failed" \
	"raw-key-only server, default rule"
ctl_on daemon policy set rawonly.example client --kinds x509,rawpk
try both "$SERV_PORT" rawonly.example || fail "kinds x509,rawpk refused a pinned raw key: $(grep refus "$DAEMON_LOG" | tail -1)"
stop_serv

step "pool server with a raw key -> gnutls-cli with a raw client key"
rawkey psrv
lid=${DLID[daemon]}
cp "$PKI/psrv.pub" "$lid/psrv.example.pem"
cp "$PKI/psrv.key" "$lid/psrv.example.key"
chmod 600 "$lid/psrv.example.key"
stop_proc "$DAEMON_PID" 5
_untrack "$DAEMON_PID"
DAEMON_LOG_LEVEL=debug start_daemon
grep -q "identity psrv.example loaded" "$DAEMON_LOG" || fail "the raw-key file identity did not load"
PSRV_PIN=$(pin_of "$PKI/psrv.pub")
ctl_on daemon policy set psrv.example server --kinds rawpk --client-auth required
ctl_on daemon trust add-pin "$CLI_PIN" --for cli.example --peers clients
start_echo
start_tunnel srv -s -l psrv.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
srvlog=$TUNNEL_LOG
tls_client_chat rawcli "hello raw" gnutls-cli -p "$TUNNEL_PORT" 127.0.0.1 \
	--priority "NORMAL:-CTYPE-ALL:+CTYPE-SRV-RAWPK:+CTYPE-CLI-RAWPK" \
	--rawpkkeyfile "$PKI/cli.key" --rawpkfile "$PKI/cli.pub" \
	--verify-hostname psrv.example --insecure ||
	fail "gnutls-cli got nothing back: $(tail -5 "$T/rawcli.out"; grep -i refus "$DAEMON_LOG" | tail -2)"
grep -q "Raw Public Key" "$T/rawcli.out" || fail "gnutls-cli did not see a raw public key"
expect_log "$srvlog" "connected local=psrv.example remote=cli.example " \
	"the pin names the client"

step "X.509-only client where the server's rule demands raw keys"
tls_client_chat x509cli "hello x509" gnutls-cli -p "$TUNNEL_PORT" 127.0.0.1 --insecure &&
	fail "an X.509-only client got through a rawpk-only rule"
refused x509cli "rule psrv\.example allows raw public keys only \(policy kinds\); the client accepts X\.509 certificates only from the server" \
	"X.509-only client"

step "raw-key-only client where the server's rule allows X.509 only"
start_tunnel srv2 -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
tls_client_chat rawonlycli "hello" gnutls-cli -p "$TUNNEL_PORT" 127.0.0.1 --insecure \
	--priority "NORMAL:-CTYPE-ALL:+CTYPE-SRV-RAWPK:+CTYPE-CLI-RAWPK" &&
	fail "a raw-key-only client got a raw key from an X.509 rule"
refused rawonlycli "rule \(default\) allows X\.509 certificates only \(policy kinds\); the client accepts raw public keys only from the server" \
	"raw-key-only client"

step "unpinned raw client key refused by the server"
rawkey stranger
ctl_on daemon policy set localhost server --kinds x509,rawpk --client-auth required
tls_client_chat stranger2 "hello" gnutls-cli -p "$TUNNEL_PORT" 127.0.0.1 --insecure \
	--priority "NORMAL:+CTYPE-SRV-RAWPK:-CTYPE-CLI-ALL:+CTYPE-CLI-RAWPK" \
	--rawpkkeyfile "$PKI/stranger.key" --rawpkfile "$PKI/stranger.pub" &&
	fail "an unpinned raw client key got through"
STRANGER_PIN=$(pin_of "$PKI/stranger.pub")
refused stranger2 "raw public key $STRANGER_PIN is not pinned" "unpinned client key"

daemon_alive

step "pool to pool: raw keys both ways (tlspool-ctl rawpk generate)"
# The identities are made before the daemons start (dbenv_dir defaults
# to <state_dir>/db), so both load them at once.
for d in A B; do
	mkdir -p "$T/$d.state"
	"$CTL" -d "$T/$d.state/db" rawpk generate \
		"$([ $d = A ] && echo cli.example || echo srv.example)" \
		--key "$T/$d.rawpk.key" --role "$([ $d = A ] && echo client || echo server)" \
		--algo "$([ $d = A ] && echo ed25519 || echo ecdsa)" >"$T/$d.gen.out" 2>&1 ||
		fail "tlspool-ctl rawpk generate for $d: $(cat "$T/$d.gen.out")"
done
A_PIN=$(sed -n 's/^sha256 //p' "$T/A.gen.out")
B_PIN=$(sed -n 's/^sha256 //p' "$T/B.gen.out")
[ ${#A_PIN} -eq 64 ] && [ ${#B_PIN} -eq 64 ] || fail "rawpk generate printed no pin"
[ "$(stat -c %a "$T/A.rawpk.key")" = 600 ] || fail "the generated key file is not mode 600"
start_daemon -n A
start_daemon -n B
ctl_on A rawpk pin cli.example
grep -q -x "sha256 $A_PIN" "$T/ctl.out" || fail "rawpk pin ID differs from generate's"
ctl_on A policy set srv.example client --kinds rawpk
ctl_on A trust add-pin "$B_PIN" --for srv.example --peers servers
ctl_on B policy set srv.example server --kinds rawpk --client-auth required
ctl_on B trust add-pin "$A_PIN" --for cli.example --peers clients
start_tunnel B -s -p "${DSOCK[B]}" -l srv.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
logB=$TUNNEL_LOG
portB=$TUNNEL_PORT
start_tunnel A -c -p "${DSOCK[A]}" -l cli.example -r srv.example \
	127.0.0.1:0 "127.0.0.1:$TUNNEL_PORT"
logA=$TUNNEL_LOG
"$NETUTIL" echo-check "$TUNNEL_PORT" 262144 20000 >"$T/p2p.out" 2>&1 ||
	fail "256 KiB through two pools with raw keys: $(cat "$T/p2p.out"; grep -i refus "${DLOG[A]}" "${DLOG[B]}" | tail -2)"
expect_log "$logA" "connected local=cli.example remote=srv.example " \
	"the client pool proves srv.example by pin"
expect_log "$logB" "connected local=srv.example remote=cli.example " \
	"the server pool proves cli.example by pin"

step "pool to pool, the other way: B's client to A's server"
ctl_on A rawpk generate a-srv.example --key "$T/A.srv.key" --role server
A2_PIN=$(sed -n 's/^sha256 //p' "$T/ctl.out")
ctl_on B rawpk generate b-cli.example --key "$T/B.cli.key" --role client
B2_PIN=$(sed -n 's/^sha256 //p' "$T/ctl.out")
ctl_on A policy set a-srv.example server --kinds rawpk --client-auth required
ctl_on A trust add-pin "$B2_PIN" --for b-cli.example --peers clients
ctl_on B policy set a-srv.example client --kinds rawpk
ctl_on B trust add-pin "$A2_PIN" --for a-srv.example --peers servers
# credwatch loads the new identities live
wait_log "${DLOG[A]}" "2 local identities \(2 from localid.db\)" 15 ||
	fail "pool A did not load a-srv.example"
wait_log "${DLOG[B]}" "2 local identities \(2 from localid.db\)" 15 ||
	fail "pool B did not load b-cli.example"
start_tunnel A3 -s -p "${DSOCK[A]}" -l a-srv.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
logA3=$TUNNEL_LOG
start_tunnel B3 -c -p "${DSOCK[B]}" -l b-cli.example -r a-srv.example \
	127.0.0.1:0 "127.0.0.1:$TUNNEL_PORT"
logB3=$TUNNEL_LOG
"$NETUTIL" echo-check "$TUNNEL_PORT" 65536 20000 >"$T/p2p3.out" 2>&1 ||
	fail "64 KiB the other way: $(cat "$T/p2p3.out"; grep -i refus "${DLOG[A]}" "${DLOG[B]}" | tail -2)"
expect_log "$logB3" "connected local=b-cli.example remote=a-srv.example " \
	"B's client proves a-srv.example by pin"
expect_log "$logA3" "connected local=a-srv.example remote=b-cli.example " \
	"A's server proves b-cli.example by pin"

step "pool to pool: the server's key changes, the client pool refuses"
ctl_on B rawpk generate srv.example --key "$T/B.srv2.key" --role server
SER=$(sed -n 's/^serial //p' "$T/ctl.out")
wait_log "${DLOG[B]}" "policy serial $SER: " 15 || fail "pool B did not load the new key"
start_tunnel A2 -c -p "${DSOCK[A]}" -l cli.example -r srv.example \
	127.0.0.1:0 "127.0.0.1:$portB"
"$NETUTIL" expect-closed "$TUNNEL_PORT" 10000 >"$T/p2p2.out" 2>&1 ||
	fail "a changed server key got through: $(cat "$T/p2p2.out")"
grep -q "is not pinned for srv.example" "${DLOG[A]}" ||
	fail "pool A does not name the unpinned key: $(grep -i refus "${DLOG[A]}" | tail -2)"

daemon_alive A
daemon_alive B
daemon_alive
pass

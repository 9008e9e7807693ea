#!/bin/bash
# PINENTRY: the server key lives in a softhsm2 token and the config has
# no pkcs11_pin.  Without a PIN service the identity is skipped; with
# tlspool-pin registered (PIN on its stdin) a SIGHUP loads it and
# gnutls-cli through tlstunnel -s succeeds.  On a second daemon a PIN
# service that does not answer in time and one with a wrong PIN (-P) get
# the identity skipped with the reason, while the daemon keeps serving
# its other identity.  The PIN is never in a daemon log.
. "$(dirname "$0")/lib.sh"

MODULE=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
PIN_BIN=$BUILD/tools/tlspool-pin
[ -x "$PIN_BIN" ] || fail "$PIN_BIN is not built"
[ -r "$MODULE" ] || fail "softhsm2 module $MODULE not installed (package softhsm2)"
command -v softhsm2-util >/dev/null || fail "softhsm2-util not installed"
command -v p11tool >/dev/null || fail "p11tool not installed (package gnutls-bin)"

PIN=271828
make_ca
make_cert localhost --dns localhost
make_cert other --dns other.example
make_cert client --cn "Pool Client" --dns client.example --client

step "softhsm2 token with the server key"
mkdir -p "$T/tokens"
cat >"$T/softhsm2.conf" <<-EOC
	directories.tokendir = $T/tokens
	objectstore.backend = file
	log.level = ERROR
	slots.removable = false
EOC
export SOFTHSM2_CONF=$T/softhsm2.conf
softhsm2-util --init-token --free --label pintoken --pin "$PIN" --so-pin 654321 \
	>"$T/softhsm-init.out" 2>&1 || fail "softhsm2-util --init-token: $(cat "$T/softhsm-init.out")"
GNUTLS_PIN=$PIN p11tool --provider "$MODULE" --login --write --label srvkey --id 01 \
	--load-privkey "$PKI/localhost.key" "pkcs11:token=pintoken" \
	>"$T/p11-key.out" 2>&1 || fail "p11tool key import: $(cat "$T/p11-key.out")"
export TLSPOOL_PKCS11_MODULE=$MODULE

# token_identity NAME: localhost.pem + .p11 in NAME's localid dir, and a
# file identity other.example next to it.
token_identity() {
	local lid=$T/$1.localid
	mkdir -p "$lid"
	cp "$PKI/localhost.chain.pem" "$lid/localhost.pem"
	echo "pkcs11:token=pintoken;object=srvkey;type=private" >"$lid/localhost.p11"
	install_identity other other.example "$1"
}

# start_pin NAME INPUT ARGS...: tlspool-pin for daemon NAME with stdin
# from INPUT, output in $T/pin-NAME.log; waits until the daemon has
# registered it.
start_pin() {
	local name=$1 input=$2 n
	shift 2
	n=$(grep -c "registered as the PIN service" "${DLOG[$name]}")
	"$PIN_BIN" -p "${DSOCK[$name]}" "$@" <"$input" >"$T/pin-$name.log" 2>&1 &
	PIN_PID=$!
	_track "$PIN_PID" "tlspool-pin:$name"
	_registered() {
		[ "$(grep -c "registered as the PIN service" "${DLOG[$name]}")" -gt "$n" ]
	}
	wait_until 10 _registered || fail "tlspool-pin for $name did not register: $(cat "$T/pin-$name.log")"
}

# reload NAME N: SIGHUP, wait for the reload with N identities.
reload() {
	local n
	n=$(grep -c "reloaded:" "${DLOG[$1]}")
	kill -HUP "${DPID[$1]}"
	_reloaded() { [ "$(grep -c "reloaded:" "${DLOG[$1]}")" -gt "$n" ]; }
	wait_until 30 _reloaded "$1" || fail "daemon $1: no reload within 30s"
	tail -n 1 <(grep "reloaded:" "${DLOG[$1]}") | grep -q "reloaded: $2 local identities" ||
		fail "daemon $1: reload did not give $2 identities: $(grep "reloaded:" "${DLOG[$1]}" | tail -1)"
}

# served TUNNELNAME LOCALID OK|REFUSED: gnutls-cli through tlstunnel -s.
served() {
	local out=$T/cli-$1.out
	tls_client_chat "cli-$1" "pinline-$1" gnutls-cli -p "$TUNNEL_PORT" \
		--x509cafile "$PKI/ca.pem" --verify-hostname "$2" \
		--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key" \
		127.0.0.1
}

token_identity daemon
start_echo

step "no PIN service: the token identity is skipped, the daemon starts"
start_daemon "localid_dir $T/daemon.localid"
grep -q "with 1 local identities" "$DAEMON_LOG" ||
	fail "want only the file identity: $(grep "listening on" "$DAEMON_LOG")"
grep -q "no pkcs11_pin configured and no PIN service registered" "$DAEMON_LOG" ||
	fail "the reason for skipping is not logged"

step "tlspool-pin with the right PIN (stdin), then SIGHUP: the identity loads"
mkfifo "$T/pin.in"
exec {pinw}<>"$T/pin.in"
start_pin daemon "$T/pin.in"
printf '%s\n' "$PIN" >&"$pinw"
reload daemon 2
expect_log "$T/pin-daemon.log" 'PIN for token pintoken \(identity localhost\) \[token "pintoken", SoftHSM project SoftHSM v2, serial [0-9a-fA-F]+, attempt 1' \
	"tlspool-pin shows the question with the token"
expect_log "$DAEMON_LOG" "asking for the PIN of token pintoken \(identity localhost, attempt 1\)" \
	"the daemon logs the question"
start_tunnel s -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
served s localhost || fail "gnutls-cli through the token identity: $(tail -5 "$T/cli-s.out")"
expect_log "$TUNNEL_LOG" "connected local=localhost remote=client.example" \
	"tlstunnel reports the session"
stop_proc "$TUNNEL_PID"

step "a second PIN service is refused while the first is registered"
"$PIN_BIN" -p "$DAEMON_SOCK" -q -P 1 >"$T/pin2.out" 2>&1 &
p2=$!
_track "$p2" "tlspool-pin:second"
wait_exit "$p2" 10 || fail "the second tlspool-pin is still running"
_untrack "$p2"
[ "$WAIT_STATUS" = 1 ] || fail "second tlspool-pin: status $WAIT_STATUS"
grep -q "another PIN service is registered\|Device or resource busy" "$T/pin2.out" ||
	fail "second tlspool-pin: $(cat "$T/pin2.out")"
stop_proc "$PIN_PID"
exec {pinw}>&-
expect_log "$DAEMON_LOG" "the PIN service left" "the daemon notices the service left"

step "second daemon: a PIN service that does not answer in time"
token_identity slow
start_daemon -n slow "localid_dir $T/slow.localid"
mkfifo "$T/never.in"
exec {neverw}<>"$T/never.in"
start_pin slow "$T/never.in" -t 1
reload slow 1
expect_log "${DLOG[slow]}" "no answer for token pintoken within 1000 ms" \
	"the timeout is the reason"
stop_proc "$PIN_PID"
exec {neverw}>&-

step "second daemon: a wrong PIN is skipped with the reason, the daemon serves on"
start_pin slow /dev/null -P 000000
reload slow 1
expect_log "${DLOG[slow]}" "the PIN service's PIN was rejected" \
	"the wrong PIN is the reason"
grep -q "identity localhost: " "${DLOG[slow]}" || fail "the skipped identity is not named"
start_tunnel bad -s -p "${DSOCK[slow]}" -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
served bad localhost && fail "a session was served with a wrong PIN"
expect_log "$TUNNEL_LOG" "tlstunnel: refused" "refusal with a wrong PIN"
stop_proc "$TUNNEL_PID"
start_tunnel good -s -p "${DSOCK[slow]}" -l other.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
served good other.example || fail "the file identity is not served: $(tail -5 "$T/cli-good.out")"
stop_proc "$TUNNEL_PID"
daemon_alive slow
daemon_alive daemon

step "the PIN is in no daemon log"
grep -l "$PIN" "$T"/daemon.log "${DLOG[slow]}" && fail "the PIN is in a daemon log"
grep -q "$PIN" "$T/pin-daemon.log" "$T/pin-slow.log" &&
	fail "tlspool-pin printed a PIN"
pass

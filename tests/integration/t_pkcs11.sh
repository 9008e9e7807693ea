#!/bin/bash
# PKCS#11: the server key lives in a softhsm2 token (created in the temp
# dir); the identity's .p11 file holds the key's URI, the daemon loads
# the module from TLSPOOL_PKCS11_MODULE and logs in with pkcs11_pin.
# gnutls-cli against tlstunnel -s with that identity succeeds; with a
# wrong PIN the identity does not load.
. "$(dirname "$0")/lib.sh"

MODULE=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -r "$MODULE" ] || fail "softhsm2 module $MODULE not installed (package softhsm2)"
command -v softhsm2-util >/dev/null || fail "softhsm2-util not installed"
command -v p11tool >/dev/null || fail "p11tool not installed (package gnutls-bin)"

make_ca
make_cert localhost --dns localhost
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
softhsm2-util --init-token --free --label pooltest --pin 123456 --so-pin 654321 \
	>"$T/softhsm-init.out" 2>&1 || fail "softhsm2-util --init-token: $(cat "$T/softhsm-init.out")"
export GNUTLS_PIN=123456 GNUTLS_SO_PIN=654321
p11tool --provider "$MODULE" --login --write --label srvkey --id 01 \
	--load-privkey "$PKI/localhost.key" "pkcs11:token=pooltest" \
	>"$T/p11-key.out" 2>&1 || fail "p11tool key import: $(cat "$T/p11-key.out")"
p11tool --provider "$MODULE" --login --write --label srvkey --id 01 \
	--load-certificate "$PKI/localhost.pem" "pkcs11:token=pooltest" \
	>"$T/p11-cert.out" 2>&1 || fail "p11tool cert import: $(cat "$T/p11-cert.out")"
p11tool --provider "$MODULE" --login --list-privkeys "pkcs11:token=pooltest" \
	>"$T/p11-list.out" 2>&1
grep -q "object=srvkey" "$T/p11-list.out" || fail "the key is not on the token: $(cat "$T/p11-list.out")"
unset GNUTLS_PIN GNUTLS_SO_PIN

lid=$T/daemon.localid
mkdir -p "$lid"
cp "$PKI/localhost.chain.pem" "$lid/localhost.pem"
echo "pkcs11:token=pooltest;object=srvkey;type=private" >"$lid/localhost.p11"
[ -e "$lid/localhost.key" ] && fail "a PEM key is in the localid dir"

step "daemon with TLSPOOL_PKCS11_MODULE and pkcs11_pin"
export TLSPOOL_PKCS11_MODULE=$MODULE
start_daemon "pkcs11_pin 123456"
grep -q "with 1 local identities" "$DAEMON_LOG" ||
	fail "the PKCS#11 identity did not load"
start_echo
start_tunnel s -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
tls_client_chat gnutls p11line gnutls-cli -p "$TUNNEL_PORT" \
	--x509cafile "$PKI/ca.pem" --verify-hostname localhost \
	--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key" \
	127.0.0.1 || fail "gnutls-cli through the PKCS#11 identity: $(tail -5 "$T/gnutls.out")"
expect_log "$TUNNEL_LOG" "connected local=localhost remote=client.example" \
	"tlstunnel reports the session"
tls_client_chat gnutls2 p11line2 gnutls-cli -p "$TUNNEL_PORT" \
	--x509cafile "$PKI/ca.pem" --verify-hostname localhost \
	--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key" \
	127.0.0.1 || fail "second connection through the PKCS#11 identity"
stop_proc "$TUNNEL_PID"
stop_proc "$DAEMON_PID" 15

step "wrong PIN: the identity does not load, nothing is served with it"
start_daemon -n badpin "pkcs11_pin 000000" "localid_dir $lid"
start_tunnel bad -s -p "${DSOCK[badpin]}" -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
tls_client_chat gnutls3 badpinline gnutls-cli -p "$TUNNEL_PORT" \
	--x509cafile "$PKI/ca.pem" --verify-hostname localhost \
	--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key" \
	127.0.0.1 && fail "a session was served with a wrong PIN"
expect_log "$TUNNEL_LOG" "tlstunnel: refused" "refusal with a wrong PIN"
grep -q "with 0 local identities" "${DLOG[badpin]}" || fail "the identity loaded with a wrong PIN"
grep -q -i "pin" "${DLOG[badpin]}" || fail "the daemon does not mention the PIN problem"

daemon_alive badpin
pass

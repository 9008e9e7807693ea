#!/bin/bash
# Raw public key identities whose keys live in a softhsm2 token:
# tlspool-ctl rawpk generate --pkcs11 makes the key on the token and
# stores the record, rawpk import --pkcs11 stores another identity for
# the same token key (the same pin), and the daemon (pkcs11_pin) serves
# the raw key, its key process signing, to its own client role, which
# checks it by the printed pin.
. "$(dirname "$0")/lib.sh"

CTL=$BUILD/tools/tlspool-ctl
MODULE=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -r "$MODULE" ] || fail "softhsm2 module $MODULE not installed (package softhsm2)"
command -v softhsm2-util >/dev/null || fail "softhsm2-util not installed"

step "softhsm2 token; tlspool-ctl rawpk generate --pkcs11"
mkdir -p "$T/tokens" "$T/daemon.state"
cat >"$T/softhsm2.conf" <<-EOC
	directories.tokendir = $T/tokens
	objectstore.backend = file
	log.level = ERROR
	slots.removable = false
EOC
export SOFTHSM2_CONF=$T/softhsm2.conf TLSPOOL_PKCS11_MODULE=$MODULE
softhsm2-util --init-token --free --label rawtest --pin 123456 --so-pin 654321 \
	>"$T/softhsm-init.out" 2>&1 || fail "softhsm2-util --init-token: $(cat "$T/softhsm-init.out")"
DB=$T/daemon.state/db
"$CTL" -d "$DB" rawpk generate p11.example --pkcs11 "pkcs11:token=rawtest?pin-value=123456" \
	--algo ecdsa >"$T/gen.out" 2>&1 || fail "rawpk generate --pkcs11: $(cat "$T/gen.out")"
PIN=$(sed -n 's/^sha256 //p' "$T/gen.out")
[ ${#PIN} -eq 64 ] || fail "rawpk generate --pkcs11 printed no pin: $(cat "$T/gen.out")"
"$CTL" -d "$DB" localid get p11.example --kind rawpk >"$T/get.out" 2>&1 ||
	fail "no record: $(cat "$T/get.out")"
grep -q "key=pkcs11:token=rawtest;object=p11.example;type=private" "$T/get.out" ||
	fail "the record does not name the token key: $(cat "$T/get.out")"
grep -q "pin-value" "$T/get.out" && fail "the login PIN was stored in the record"

step "rawpk import --pkcs11: the same key, the same pin"
"$CTL" -d "$DB" rawpk import p11b.example \
	--pkcs11 "pkcs11:token=rawtest;object=p11.example;type=private?pin-value=123456" \
	>"$T/imp.out" 2>&1 || fail "rawpk import --pkcs11: $(cat "$T/imp.out")"
grep -q -x "sha256 $PIN" "$T/imp.out" || fail "import printed another pin: $(cat "$T/imp.out")"
"$CTL" -d "$DB" rawpk import p11c.example \
	--pkcs11 "pkcs11:token=rawtest;object=nosuchkey;type=private?pin-value=123456" \
	>"$T/imp2.out" 2>&1 && fail "import of a missing token key succeeded"
grep -q "PKCS#11 key: " "$T/imp2.out" || fail "no reason for the missing key: $(cat "$T/imp2.out")"

step "the daemon serves the token's raw key; its client role checks the pin"
DAEMON_LOG_LEVEL=debug start_daemon "pkcs11_pin 123456"
wait_log "$DAEMON_LOG" "credentials: 2 identities \(2 from localid.db\)" 15 ||
	fail "the PKCS#11 raw-key identities did not load: $(grep -i 'p11\|error' "$DAEMON_LOG" | tail -3)"
"$CTL" -c "$DAEMON_CONF" policy set p11.example server --kinds rawpk --client-auth none >/dev/null &&
	"$CTL" -c "$DAEMON_CONF" policy set p11.example client --kinds rawpk >/dev/null &&
	"$CTL" -c "$DAEMON_CONF" trust add-pin "$PIN" --for p11.example --peers servers >/dev/null ||
	fail "tlspool-ctl policy/trust failed"
start_echo
start_tunnel s -s -l p11.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
printf 'token line\n' | timeout 20 "$TUNNEL_BIN" -c --stdio -r p11.example \
	"127.0.0.1:$TUNNEL_PORT" >"$T/c.out" 2>"$T/c.err"
grep -q "^token line$" "$T/c.out" ||
	fail "nothing through the token's raw key: $(cat "$T/c.err"; grep -i refus "$DAEMON_LOG" | tail -2)"
grep -q "connected local= remote=p11.example" "$T/c.err" || fail "the pin did not name p11.example"
daemon_alive
pass

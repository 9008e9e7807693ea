#!/bin/bash
# Configuration checks: "tlspool-daemon -t -c FILE" exits non-zero and
# names file:line for an unknown key, a bad value or a line without a
# value; an unreadable trust anchor file is an error; a good file prints
# "configuration OK"; the daemon refuses to start with a bad file.
. "$(dirname "$0")/lib.sh"

make_ca
make_cert localhost --dns localhost
install_identity localhost localhost

good=$T/good.conf
cat >"$good" <<EOC
# a comment
socket_name $T/good.sock
localid_dir $T/daemon.localid
trust_anchors $PKI/ca.pem
trust_system no
state_dir $T
daemon_pidfile $T/good.pid
log_level info
handshake_timeout 5000
EOC

# bad NAME LINE_NO EXPECTED_REGEX CONTENT
bad() {
	local name=$1 line=$2 re=$3 f=$T/$1.conf
	printf '%s\n' "$4" >"$f"
	step "$name"
	"$DAEMON_BIN" -t -c "$f" >"$T/$name.out" 2>&1
	st=$?
	sed 's/^/    /' "$T/$name.out"
	[ $st -ne 0 ] || fail "$name: -t accepted a bad configuration"
	grep -q -E -- "$f:$line: .*($re)" "$T/$name.out" ||
		fail "$name: no '$f:$line: ...$re' in the output"
	grep -q "configuration OK" "$T/$name.out" && fail "$name: says configuration OK"
}

bad unknown-key 2 "unknown key.*no_such_key" "socket_name $T/x.sock
no_such_key yes"
bad bad-bool 3 "bad value.*trust_system" "# comment
socket_name $T/x.sock
trust_system perhaps"
bad bad-number 1 "bad value.*handshake_timeout" "handshake_timeout -5"
bad bad-level 2 "bad value.*log_level" "trust_system no
log_level loud"
bad no-value 2 "no value" "trust_system no
socket_name"

step "missing file"
"$DAEMON_BIN" -t -c "$T/does-not-exist.conf" >"$T/missing.out" 2>&1 &&
	fail "-t accepted a missing file"
grep -q "does-not-exist.conf" "$T/missing.out" || fail "missing file not named: $(cat "$T/missing.out")"

step "unreadable trust anchors"
printf 'this is not PEM\n' >"$T/junk.pem"
sed "s|^trust_anchors .*|trust_anchors $T/junk.pem|" "$good" >"$T/junkanchor.conf"
"$DAEMON_BIN" -t -c "$T/junkanchor.conf" >"$T/junkanchor.out" 2>&1 &&
	fail "-t accepted a trust anchor file without certificates: $(cat "$T/junkanchor.out")"
sed 's/^/    /' "$T/junkanchor.out"

step "good configuration"
"$DAEMON_BIN" -t -c "$good" >"$T/good.out" 2>&1 || fail "-t rejected a good file: $(cat "$T/good.out")"
grep -q "configuration OK" "$T/good.out" || fail "no 'configuration OK': $(cat "$T/good.out")"
grep -q "1 local identities" "$T/good.out" || fail "the identity was not counted: $(cat "$T/good.out")"
sed 's/^/    /' "$T/good.out"
[ -e "$T/good.sock" ] && fail "-t created the socket"

step "the daemon does not start with a bad file"
timeout 10 "$DAEMON_BIN" -f -c "$T/unknown-key.conf" >"$T/badstart.log" 2>&1
st=$?
[ $st -ne 0 ] && [ $st -ne 124 ] || fail "the daemon started (or hung) with a bad file (status $st)"
grep -q "unknown-key.conf:2:" "$T/badstart.log" || fail "start failure does not name file:line"
[ -e "$T/x.sock" ] && fail "the socket was created"
pass

#!/bin/bash
# Socket activation: systemd-socket-activate holds the pool socket and
# starts the daemon on the first connection with LISTEN_FDS/LISTEN_PID,
# as tlspool.socket does.  The daemon serves on the passed socket (a
# pooled connection to gnutls-serv), leaves its file to the service
# manager when it stops, and refuses to start on a socket that is not
# its socket_name.
. "$(dirname "$0")/lib.sh"

command -v systemd-socket-activate >/dev/null ||
	fail "systemd-socket-activate is not installed (package systemd)"

make_ca
make_cert localhost --dns localhost
start_gnutls_serv serv localhost
mkdir -p "$T/daemon.localid" "$T/daemon.state"
SOCK=$T/daemon.sock
write_conf() {
	cat >"$T/daemon.conf" <<-CONF
		socket_name $SOCK
		localid_dir $T/daemon.localid
		trust_anchors $PKI/ca.pem
		trust_system no
		state_dir $T/daemon.state
		daemon_pidfile $T/daemon.pid
		log_level ${DAEMON_LOG_LEVEL:-info}
		log_stderr yes
		workers 2
	CONF
}
write_conf

# activate LISTEN-PATH LOG: the daemon behind systemd-socket-activate
activate() {
	systemd-socket-activate -l "$1" \
		-E "ASAN_OPTIONS=$ASAN_OPTIONS" -E "UBSAN_OPTIONS=$UBSAN_OPTIONS" \
		-- "$DAEMON_BIN" -f -c "$T/daemon.conf" >"$2" 2>&1 &
	ACT_PID=$!
	_track "$ACT_PID" "daemon:activated"
	wait_until 10 test -S "$1" || fail "systemd-socket-activate: no socket $1"
}

step "nothing runs until the first connection"
activate "$SOCK" "$T/daemon.log"
grep -q "listening on" "$T/daemon.log" && fail "daemon started before a connection"

step "the first PING starts the daemon on the passed socket"
timeout 20 "$PING_BIN" -p "$SOCK" >"$T/ping.out" 2>&1 ||
	fail "PING through the activated socket: $(cat "$T/ping.out")"
grep -q "facilities:.*STARTTLS" "$T/ping.out" || fail "PING: $(cat "$T/ping.out")"
expect_log "$T/daemon.log" "$SOCK: socket passed by the service manager \(fd 3\)" \
	"daemon names the passed socket"
[ "$(readlink "/proc/$ACT_PID/exe")" = "$(readlink -f "$DAEMON_BIN")" ] ||
	fail "the daemon is not the process the activator started"
# The key process (exec'd by the daemon) sees neither LISTEN_* nor the
# passed socket.
KEYPROC=$(ps -o pid= --ppid "$ACT_PID" | head -1 | tr -d ' ')
[ -n "$KEYPROC" ] || fail "no key process under the daemon"
tr '\0' '\n' <"/proc/$KEYPROC/environ" | grep -q "^LISTEN_" &&
	fail "LISTEN_* variables passed on to the key process"
PASSED=$(readlink "/proc/$ACT_PID/fd/3")
case $PASSED in socket:*) ;; *) fail "daemon fd 3 is $PASSED" ;; esac
for fd in /proc/"$KEYPROC"/fd/*; do
	[ "$(readlink "$fd")" = "$PASSED" ] &&
		fail "the key process holds the pool socket ($fd)"
done

step "a pooled connection to gnutls-serv"
export TLSPOOL_SOCKET=$SOCK
start_tunnel c -c -r localhost 127.0.0.1:0 "127.0.0.1:$SERV_PORT"
"$NETUTIL" echo-check "$TUNNEL_PORT" 4096 10000 text >"$T/echo.out" 2>&1 ||
	fail "not echoed through the pool: $(cat "$T/echo.out")"
expect_log "$TUNNEL_LOG" "tlstunnel: connected local= remote=localhost" \
	"tlstunnel reports the remote identity"

step "stopping leaves the socket file to the service manager"
stop_proc "$TUNNEL_PID"
stop_proc "$ACT_PID" 15
[ "$WAIT_STATUS" = 0 ] || fail "daemon exit status $WAIT_STATUS after SIGTERM"
[ -S "$SOCK" ] || fail "the daemon removed the socket file it was passed"
rm -f "$SOCK"

step "a passed socket that is not socket_name is refused"
activate "$T/other.sock" "$T/other.log"
timeout 20 "$PING_BIN" -p "$T/other.sock" >"$T/ping2.out" 2>&1 &&
	fail "PING answered on a socket that is not socket_name"
wait_exit "$ACT_PID" 15 || fail "daemon still runs on the wrong socket"
_untrack "$ACT_PID"
[ "$WAIT_STATUS" = 1 ] || fail "exit status $WAIT_STATUS, want 1"
expect_log "$T/other.log" "socket activation: socket_name $SOCK: No such file" \
	"refusal names socket_name"

step "... also when socket_name exists but is another socket"
rm -f "$T/other.sock"
systemd-socket-activate -l "$SOCK" true >"$T/stray.log" 2>&1 &
_track $! stray-socket
wait_until 10 test -S "$SOCK" || fail "no stray socket $SOCK"
activate "$T/other.sock" "$T/other2.log"
timeout 20 "$PING_BIN" -p "$T/other.sock" >"$T/ping3.out" 2>&1 &&
	fail "PING answered on a socket that is not socket_name"
wait_exit "$ACT_PID" 15 || fail "daemon still runs on the wrong socket"
_untrack "$ACT_PID"
[ "$WAIT_STATUS" = 1 ] || fail "exit status $WAIT_STATUS, want 1"
expect_log "$T/other2.log" "none is the listening socket $SOCK \(fd 3: bound to another path than socket_name, $T/other.sock\)" \
	"refusal names both paths"
pass

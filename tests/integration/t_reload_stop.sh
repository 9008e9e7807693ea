#!/bin/bash
# SIGHUP reloads the configuration and identities without dropping
# relayed connections: connections opened before the reload keep
# working, and a newly added identity is used after it; a reload with a
# broken file keeps the running configuration.  SIGTERM closes the
# socket at once, lets open connections finish (drain), then exits 0 and
# removes its socket and pid file.
. "$(dirname "$0")/lib.sh"

make_ca
make_cert localhost --dns localhost
make_cert newid --dns new.example
install_identity localhost localhost
start_daemon
start_echo
start_tunnel old -s -I -q -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
port_old=$TUNNEL_PORT
start_tunnel new -s -I -l new.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
port_new=$TUNNEL_PORT
log_new=$TUNNEL_LOG

# paused_clients NAME N PORT REMOTEID: many_clients that stops after its
# first round until $T/NAME.go exists; pid in MC_PID.
paused_clients() {
	"$HELPERS/many_clients" -n "$2" -b 4096 -j 2 -r "$4" -t 10000 \
		-w "$T/$1.go" 127.0.0.1 "$3" >"$T/$1.out" 2>&1 &
	MC_PID=$!
	_track "$MC_PID" "many_clients:$1"
	MC_READY=$T/$1.go.ready
	_mc_ready() { [ -e "$MC_READY" ] || ! alive "$MC_PID"; }
	wait_until 30 _mc_ready || fail "$1: first round did not finish"
	[ -e "$T/$1.go.ready" ] || fail "$1: $(cat "$T/$1.out")"
}
# resume_clients NAME: let it run round 2 and check it passed.
resume_clients() {
	touch "$T/$1.go"
	wait_exit "$MC_PID" 30 || fail "$1: second round hangs"
	_untrack "$MC_PID"
	[ "$WAIT_STATUS" = 0 ] || fail "$1: $(cat "$T/$1.out")"
	grep -q "round 2: .* correctly" "$T/$1.out" || fail "$1: no second round"
}
once() {	# once NAME PORT REMOTEID: one connection, one echo round
	timeout 30 "$HELPERS/many_clients" -n 1 -j 1 -r "$3" -t 10000 \
		127.0.0.1 "$2" >"$T/$1.out" 2>&1
}

step "connections open across SIGHUP"
paused_clients hup 5 "$port_old" localhost
once before-reload "$port_new" new.example &&
	fail "new.example served before it was added"
expect_log "$DAEMON_LOG" 'no credential for local identity "new.example"' \
	"refusal names the missing identity"

install_identity newid new.example
kill -HUP "$DAEMON_PID"
expect_log "$DAEMON_LOG" "reloaded: 2 local identities" "SIGHUP reload"
resume_clients hup
daemon_alive

step "the new identity after the reload"
once after-reload "$port_new" new.example ||
	fail "new.example not served after the reload: $(cat "$T/after-reload.out")"
expect_log "$log_new" "connected local=new.example remote=" "tunnel reports new.example"
once old-after-reload "$port_old" localhost || fail "localhost broken after the reload"

step "a reload with a broken file keeps the running configuration"
cp "$DAEMON_CONF" "$T/daemon.conf.good"
echo "no_such_key 1" >>"$DAEMON_CONF"
kill -HUP "$DAEMON_PID"
expect_log "$DAEMON_LOG" "reload failed; keeping the running configuration" "failed reload"
grep -q "daemon.conf:[0-9]*: unknown key no_such_key" "$DAEMON_LOG" ||
	fail "failed reload does not name file:line"
once after-bad-reload "$port_new" new.example || fail "identities lost after a failed reload"
cp "$T/daemon.conf.good" "$DAEMON_CONF"

step "SIGTERM drains open connections, then stops and cleans up"
paused_clients term 3 "$port_old" localhost
[ -S "$DAEMON_SOCK" ] || fail "socket missing before SIGTERM"
[ -f "$T/daemon.pid" ] || fail "pid file missing"
[ "$(cat "$T/daemon.pid")" = "$DAEMON_PID" ] || fail "pid file holds $(cat "$T/daemon.pid"), not $DAEMON_PID"
kill -TERM "$DAEMON_PID"
_sock_gone() { [ ! -e "$DAEMON_SOCK" ]; }
wait_until 10 _sock_gone || fail "the socket is still there after SIGTERM"
"$PING_BIN" -p "$DAEMON_SOCK" >/dev/null 2>&1 && fail "PING answered after SIGTERM"
alive "$DAEMON_PID" || fail "the daemon did not wait for open connections"
resume_clients term
wait_exit "$DAEMON_PID" 15 || fail "the daemon did not stop after its connections closed"
_untrack "$DAEMON_PID"
[ "$WAIT_STATUS" = 0 ] || fail "daemon exit status $WAIT_STATUS after SIGTERM"
[ -e "$DAEMON_SOCK" ] && fail "socket not removed"
[ -e "$T/daemon.pid" ] && fail "pid file not removed"
expect_log "$DAEMON_LOG" "signal 15: draining and stopping" "SIGTERM logged"
pass

#!/bin/bash
# TLS-KDH (doc/kdh.md) in the Windows daemon under wine, against a
# throwaway realm on a Linux krb5kdc on loopback: daemon S in the server
# role with a keytab file, daemon C in the client role with a credentials
# cache file (kerberos_client_credcache FILE:...), both tlspool-daemon.exe;
# pool_client.exe hands the sockets over.  Then the Linux kdh_peer (the
# Linux daemon's kdh_krb5.c, another user's cache) against S, a replayed
# AP-REQ, a realm outside S's map and a keytab the KDC never issued.
# Policy records are written with the Linux tlspool-ctl before each
# daemon starts (BerkeleyDB files are the same on both; the daemon
# recovers the environment when it opens it).
#
#   DAEMON_EXE  (default: _build/win64/windows/tlspool-daemon.exe)
#   BUILD       a Linux build with tools/tlspool-ctl and the integration
#               helpers (default: _build/main)
#   WINEPREFIX  (default: a new one in the temp dir, removed at the end)
#   KEEP_TMP=1 keeps the temp dir
#
# Prints "PASS/FAIL name" lines and "N passed, N failed"; exit 1 on any
# failure.
set -u
# shellcheck source=tests/windows/winlib.sh
. "$(dirname "$0")/winlib.sh"
win_setup kdh
CTL=$BUILD/tools/tlspool-ctl
KDH_PEER=$BUILD/tests/integration/kdh_peer
PIPE='\\.\pipe\tlspool-kdh-'$$
MAP=EXAMPLE.COM=example.com
# has FILE REGEX WHAT: pass when REGEX shows up in FILE within 10 s.
has() {
	for _ in $(seq 20); do
		tr -d '\r' <"$1" | grep -q -E -- "$2" && { ok "$3"; return 0; }
		sleep 0.5
	done
	ko "$3" "no /$2/ in $(basename "$1"): $(tail -3 "$1" | tr '\r\n' '  ')"
}

# the realm: tests/integration/krb5_realm.sh, with what it uses of lib.sh
fail() { bail "$*"; }
_track() { win_track "$1"; }
alive() { kill -0 "$1" 2>/dev/null; }
win_netutil() { [ "$1" = wait-port ] && wait_port "$2"; }
# shellcheck disable=SC2034 # krb5_realm.sh runs it
NETUTIL=win_netutil
[ -f "$DAEMON_EXE" ] || bail "no $DAEMON_EXE"
[ -x "$CTL" ] || bail "no $CTL (BUILD=$BUILD: a Linux build)"
[ -x "$KDH_PEER" ] || make -C "$BUILD/tests/integration" -s kdh_peer \
	>/dev/null 2>&1 || bail "cannot build $KDH_PEER"
# shellcheck source=tests/integration/krb5_realm.sh
. "$top/tests/integration/krb5_realm.sh"
win_build_client

# ---- the realm (Linux tools; the same file serves the Windows daemons) ----
make_realm EXAMPLE.COM example.com
add_user alice alicepw
add_user bob bobpw
add_service generic/srv.example.com "$KRB/server.keytab"
wrong_keytab generic/srv.example.com@EXAMPLE.COM "$KRB/wrong.keytab"
start_kdc
kinit_as alice alicepw "$KRB/cc.alice"
kinit_as bob bobpw "$KRB/cc.bob"
ok realm_and_tickets

# ---- the Windows daemons ----
# start_daemon NAME ROLE POLICY-ARGS... CONFIG-LINES...: writes NAME's
# policy with the Linux tlspool-ctl, then starts tlspool-daemon.exe with
# krb5 configured through KRB5_CONFIG/KRB5RCACHEDIR (Windows paths).
start_daemon() {
	local n=$1 role=$2 kinds=$3 d=$T/$1
	shift 3
	mkdir -p "$d"
	win_daemon_conf "$PIPE-$n" "$d" "kerberos_realm_map ${DMAP:-$MAP}" "$@" \
		>"$d/daemon.conf"
	win_policy "$d/db" policy set srv.example.com "$role" --kinds "$kinds" ||
		{ ko "${n}_policy" "$(cat "$d/db.ctl.out")"; return 1; }
	win_db_portable "$d/db"
	if KRB5_CONFIG=$(winpath "$KRB/krb5.conf") \
	   KRB5RCACHEDIR=$(winpath "$KRB/rcache") \
		win_start_daemon "$d/daemon.conf" "$d/daemon.log"; then
		ok "${n}_starts"
		return 0
	fi
	ko "${n}_starts" "$(tail -3 "$d/daemon.log" | tr '\r\n' '  ')"
	return 1
}
client() {	# client NAME ARGS...: pool_client.exe on daemon NAME
	local n=$1
	shift
	pool_client "$PIPE-$n" "$@"
}
# serve NAME OUT [COUNT]: pool_client.exe in the server role for
# srv.example.com on daemon NAME, echoing one line per connection (COUNT
# connections, default 1); sets SPORT and SERVE_PID.
serve() {
	SPORT=$(free_port)
	client "$1" server "$SPORT" srv.example.com ${3:+"$3"} >"$2" 2>&1 &
	SERVE_PID=$!
	win_track "$SERVE_PID"
	for _ in $(seq 100); do
		grep -q "OK listening" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
}

start_daemon S server krb5 "kerberos_server_keytab FILE:$(winpath "$KRB/server.keytab")" ||
	bail "daemon S did not start"
start_daemon C client krb5 "kerberos_client_credcache FILE:$(winpath "$KRB/cc.alice")" ||
	bail "daemon C did not start"
logS=$T/S/daemon.log logC=$T/C/daemon.log

# ---- Windows to Windows: C fetches a ticket, S accepts the AP-REQ ----
serve S "$T/srv1.out"
if client C echo "$SPORT" srv.example.com >"$T/cli1.out" 2>&1 &&
   grep -q "OK echoed hello pool" "$T/cli1.out"; then
	ok kdh_pool_to_pool
else
	ko kdh_pool_to_pool "$(tr '\r\n' '  ' <"$T/cli1.out")"
fi
wait "$SERVE_PID" 2>/dev/null
if grep -q "OK received hello pool" "$T/srv1.out"; then
	ok kdh_server_side_data
else
	ko kdh_server_side_data "$(tr '\r\n' '  ' <"$T/srv1.out")"
fi
has "$logC" "TLS-KDH ticket for generic/srv.example.com@EXAMPLE.COM as alice@EXAMPLE.COM" \
	client_fetched_ticket
has "$logS" "TLS-KDH accepted: client alice@EXAMPLE.COM, service generic/srv.example.com@EXAMPLE.COM" \
	server_accepted_apreq
if klist -c "FILE:$KRB/cc.alice" 2>/dev/null |
   grep -q "generic/srv.example.com@EXAMPLE.COM"; then
	ok ticket_stored_in_ccache
else
	ko ticket_stored_in_ccache "$(klist -c "FILE:$KRB/cc.alice" 2>&1 | tail -3)"
fi

# ---- the Linux kdh_peer (bob) against the Windows server ----
serve S "$T/srv2.out"
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" generic srv.example.com \
	EXAMPLE.COM "$MAP" >"$T/peer.out" 2>&1
if grep -q "conn 1: ok hrr=0 kx=ECDHE-PSK" "$T/peer.out"; then
	ok linux_peer_to_windows
else
	ko linux_peer_to_windows "$(cat "$T/peer.out")"
fi
has "$logS" "TLS-KDH accepted: client bob@EXAMPLE.COM" server_accepted_bob
wait "$SERVE_PID" 2>/dev/null

# ---- a replayed AP-REQ (the Windows replay cache) ----
serve S "$T/srv3.out" 2
KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" generic srv.example.com \
	EXAMPLE.COM "$MAP" --twice >"$T/replay.out" 2>&1
if grep -q "conn 1: ok" "$T/replay.out" &&
   grep -q "conn 2: failed" "$T/replay.out"; then
	ok replay_refused
else
	ko replay_refused "$(tr '\n' ' ' <"$T/replay.out")"
fi
has "$logS" "TLS-KDH: AP-REQ refused: .*[Rr]eplay" replay_reason_logged
kill "$SERVE_PID" 2>/dev/null

# ---- refusals with reasons ----
start_daemon W server krb5 "kerberos_server_keytab FILE:$(winpath "$KRB/wrong.keytab")" &&
{
	serve W "$T/srv5.out"
	if KRB5CCNAME=FILE:$KRB/cc.bob "$KDH_PEER" "$SPORT" generic \
		srv.example.com EXAMPLE.COM "$MAP" >"$T/wrongkt.out" 2>&1; then
		ko wrong_keytab_refused "accepted: $(cat "$T/wrongkt.out")"
	else
		ok wrong_keytab_refused
	fi
	has "$T/W/daemon.log" "TLS-KDH: AP-REQ refused: " wrong_keytab_reason_logged
	kill "$SERVE_PID" 2>/dev/null
}
# a client whose rule wants Kerberos for a host outside the realm map
DMAP=OTHER.ORG=other.org start_daemon M client krb5 \
	"kerberos_client_credcache FILE:$(winpath "$KRB/cc.bob")" &&
{
	serve S "$T/srv6.out"
	client M echo "$SPORT" srv.example.com >"$T/cli6.out" 2>&1
	if grep -q "^ERROR" "$T/cli6.out"; then
		ok unmapped_realm_refused
	else
		ko unmapped_realm_refused "$(tr '\r\n' '  ' <"$T/cli6.out")"
	fi
	sed 's/^/   reason: /' "$T/cli6.out" | grep reason: | grep ERROR
	kill "$SERVE_PID" 2>/dev/null
}

summary

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
top=$(cd "$(dirname "$0")/../.." && pwd)
DAEMON_EXE=${DAEMON_EXE:-$top/_build/win64/windows/tlspool-daemon.exe}
BUILD=${BUILD:-$top/_build/main}
WINE=${WINE:-$(command -v wine64 || command -v wine)}
CC=${CC_WIN:-x86_64-w64-mingw32-gcc}
CTL=$BUILD/tools/tlspool-ctl
KDH_PEER=$BUILD/tests/integration/kdh_peer
T=$(mktemp -d /tmp/t_kdh.XXXXXX)
own_prefix=
if [ -z "${WINEPREFIX:-}" ]; then
	own_prefix=$T/wine
	export WINEPREFIX=$own_prefix
fi
export WINEDEBUG=-all
KRB=$T/krb5
PIPE='\\.\pipe\tlspool-kdh-'$$
MAP=EXAMPLE.COM=example.com
passed=0 failed=0
pids=()
PATH=$PATH:/usr/sbin

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "$own_prefix" ] && wineserver -k 2>/dev/null
	[ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "PASS $1"; passed=$((passed + 1)); }
ko() {
	echo "FAIL $1${2:+: $2}"
	failed=$((failed + 1))
}
bail() { echo "$1"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
winpath() { echo "Z:$1" | sed 's|/|\\|g'; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# has FILE REGEX WHAT: pass when REGEX shows up in FILE within 10 s.
has() {
	for _ in $(seq 20); do
		tr -d '\r' <"$1" | grep -q -E -- "$2" && { ok "$3"; return 0; }
		sleep 0.5
	done
	ko "$3" "no /$2/ in $(basename "$1"): $(tail -3 "$1" | tr '\r\n' '  ')"
}

[ -f "$DAEMON_EXE" ] || bail "no $DAEMON_EXE"
[ -x "$CTL" ] || bail "no $CTL (BUILD=$BUILD: a Linux build)"
[ -x "$KDH_PEER" ] || make -C "$BUILD/tests/integration" -s kdh_peer \
	>/dev/null 2>&1 || bail "cannot build $KDH_PEER"
for b in krb5kdc kdb5_util kadmin.local kinit klist ktutil; do
	command -v $b >/dev/null || bail "no $b (krb5-kdc krb5-admin-server krb5-user)"
done
$CC -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -I"$top/windows" \
	"$top/tests/windows/pool_client.c" -o "$T/pool_client.exe" -lws2_32 ||
	bail "cannot build pool_client.exe"

# ---- the realm (Linux tools; the same file serves the Windows daemons) ----
mkdir -p "$KRB/rcache"
KDC_PORT=$(free_port)
cat >"$KRB/krb5.conf" <<EOF
[libdefaults]
	default_realm = EXAMPLE.COM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
[realms]
	EXAMPLE.COM = {
		kdc = 127.0.0.1:$KDC_PORT
	}
	OTHER.ORG = {
		kdc = 127.0.0.1:$KDC_PORT
	}
[domain_realm]
	.example.com = EXAMPLE.COM
	example.com = EXAMPLE.COM
EOF
cat >"$KRB/kdc.conf" <<EOF
[kdcdefaults]
	kdc_listen = 127.0.0.1:$KDC_PORT
	kdc_tcp_listen = 127.0.0.1:$KDC_PORT
[realms]
	EXAMPLE.COM = {
		database_name = $KRB/principal
		key_stash_file = $KRB/stash
		acl_file = $KRB/kadm5.acl
		supported_enctypes = aes256-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:$KRB/kdc.log
EOF
: >"$KRB/kadm5.acl"
export KRB5_CONFIG=$KRB/krb5.conf KRB5_KDC_PROFILE=$KRB/kdc.conf
export KRB5RCACHEDIR=$KRB/rcache KRB5CCNAME=FILE:$KRB/cc.default
kdb5_util create -s -P masterpw -r EXAMPLE.COM >"$KRB/create.out" 2>&1 ||
	bail "kdb5_util create: $(tail -2 "$KRB/create.out")"
krb5kdc -n -P "$KRB/kdc.pid" -r EXAMPLE.COM >"$KRB/krb5kdc.out" 2>&1 &
pids+=("$!")
kadm() { kadmin.local -r EXAMPLE.COM -q "$1" >>"$KRB/kadmin.out" 2>&1; }
if ! { kadm "addprinc -pw alicepw alice" && kadm "addprinc -pw bobpw bob" &&
	kadm "addprinc -randkey generic/srv.example.com" &&
	kadm "ktadd -k $KRB/server.keytab generic/srv.example.com"; }; then
	bail "kadmin.local: $(tail -2 "$KRB/kadmin.out")"
fi
printf 'addent -password -p generic/srv.example.com@EXAMPLE.COM -k 2 -e aes256-cts-hmac-sha1-96\nwrongpw\nwkt %s\nquit\n' \
	"$KRB/wrong.keytab" | ktutil >"$KRB/ktutil.out" 2>&1 ||
	bail "ktutil: $(tail -2 "$KRB/ktutil.out")"
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$KDC_PORT") 2>/dev/null && break
	sleep 0.1
done
if echo alicepw | kinit -c "FILE:$KRB/cc.alice" alice >"$KRB/kinit.out" 2>&1 &&
   echo bobpw | kinit -c "FILE:$KRB/cc.bob" bob >>"$KRB/kinit.out" 2>&1; then
	ok realm_and_tickets
else
	bail "kinit: $(tail -2 "$KRB/kinit.out") $(tail -2 "$KRB/krb5kdc.out")"
fi

# ---- the Windows daemons ----
# start_daemon NAME ROLE POLICY-ARGS... CONFIG-LINES...: writes NAME's
# policy with the Linux tlspool-ctl, then starts tlspool-daemon.exe with
# krb5 configured through KRB5_CONFIG/KRB5RCACHEDIR (Windows paths).
start_daemon() {
	local n=$1 role=$2 kinds=$3 d=$T/$1 pid
	shift 3
	mkdir -p "$d/db" "$d/localid" "$d/state"
	{
		echo "socket_name $PIPE-$n"
		echo "dbenv_dir $(winpath "$d/db")"
		echo "localid_dir $(winpath "$d/localid")"
		echo "state_dir $(winpath "$d/state")"
		echo "trust_system no"
		echo "log_level info"
		echo "log_stderr yes"
		echo "workers 2"
		echo "handshake_timeout 10000"
		echo "kerberos_realm_map ${DMAP:-$MAP}"
		for l in "$@"; do echo "$l"; done
	} >"$d/daemon.conf"
	printf 'dbenv_dir %s\ntrust_system no\n' "$d/db" >"$d/ctl.conf"
	"$CTL" -c "$d/ctl.conf" policy set srv.example.com "$role" \
		--kinds "$kinds" >"$d/ctl.out" 2>&1 ||
		{ ko "${n}_policy" "$(cat "$d/ctl.out")"; return 1; }
	# the environment's region files are per build (Linux here); the
	# daemon makes its own from the database and log files
	rm -f "$d"/db/__db.*
	KRB5_CONFIG=$(winpath "$KRB/krb5.conf") \
	KRB5RCACHEDIR=$(winpath "$KRB/rcache") \
		"$WINE" "$DAEMON_EXE" -c "$(winpath "$d/daemon.conf")" -f \
		>"$d/daemon.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for _ in $(seq 60); do
		grep -q "listening on" "$d/daemon.log" 2>/dev/null &&
			{ ok "${n}_starts"; return 0; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	ko "${n}_starts" "$(tail -3 "$d/daemon.log" | tr '\r\n' '  ')"
	return 1
}
client() {	# client NAME ARGS...: pool_client.exe on daemon NAME
	local n=$1
	shift
	timeout 60 "$WINE" "$T/pool_client.exe" "$PIPE-$n" "$@"
}
# serve NAME OUT [COUNT]: pool_client.exe in the server role for
# srv.example.com on daemon NAME, echoing one line per connection (COUNT
# connections, default 1); sets SPORT and SERVE_PID.
serve() {
	SPORT=$(free_port)
	client "$1" server "$SPORT" srv.example.com ${3:+"$3"} >"$2" 2>&1 &
	SERVE_PID=$!
	pids+=("$SERVE_PID")
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

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

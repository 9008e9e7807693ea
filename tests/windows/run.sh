#!/bin/bash
# Run the Windows client-side tests under wine.  Builds nothing.
#
#   tests/windows/run.sh STAGE [BUILD]
#
# STAGE is the staged install of the cross build (windows/build.sh prints
# it: _build/win64/stage), BUILD the build tree holding the test programs
# (default: STAGE/..).  Checks the DLL's exports and imports, runs
# tests/windows/test_winlib.exe against the staged libtlspool-0.dll and
# the real daemon (DAEMON_EXE, default _build/win64/windows/tlspool-daemon.exe:
# a test CA trusted, a gnutls-serv --echo with a leaf of it and one of
# another CA; the daemon stopped and started again when test_winlib says
# so), the staged tools against a pipe nobody serves, and tlstunnel.exe
# -c/-s through the daemon.  Needs certtool, gnutls-serv and python3.
# Uses $WINEPREFIX when set, else a private prefix that is removed at
# the end.  Prints
# "ok/FAIL ..." lines, then exactly "N passed, N failed"; exit 1 on any
# failure.
set -u
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: tests/windows/run.sh STAGE [BUILD]" >&2
	exit 2
fi
stage=$(cd "$1" && pwd)
build=$(cd "${2:-$stage/..}" && pwd)
wine=${WINE:-wine}
# shellcheck source=tests/windows/winlib.sh
. "$(dirname "$0")/winlib.sh"
win_setup winlib
objdump=${OBJDUMP:-x86_64-w64-mingw32-objdump}
WINEPATH=$(winepath -w "$stage/bin" 2>/dev/null || echo "$stage/bin")
export WINEPATH

dll=$stage/bin/libtlspool-0.dll
exports() { "$objdump" -p "$1" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
	    sed -n 's/^\s*\[ *[0-9]*\] //p' | sort; }
imports() { "$objdump" -p "$1" | sed -n 's/^\s*DLL Name: //p' | tr '[:upper:]' '[:lower:]' | sort -u; }
# Windows' own DLLs; anything else must not be needed at run time.
system_only() { ! imports "$1" | grep -vxE \
	'kernel32\.dll|msvcrt\.dll|ws2_32\.dll|advapi32\.dll|bcrypt\.dll|user32\.dll|crypt32\.dll|ncrypt\.dll|shell32\.dll|ole32\.dll|api-ms-win-.*\.dll|libtlspool-0\.dll' >&2; }
same_exports() {
	diff <(exports "$dll") <(sed -n 's/^\s*\(tlspool_[a-z_]*\).*/\1/p' "$top/windows/libtlspool.def" | sort)
}

check "staged: libtlspool-0.dll, import library, .def" \
	test -f "$dll" -a -f "$stage/lib/libtlspool.dll.a" -a -f "$stage/lib/libtlspool.def"
check "DLL exports exactly windows/libtlspool.def" same_exports
check "DLL exports the 17 symbols of debian/libtlspool0.symbols" \
	diff <(exports "$dll") <(grep -o 'tlspool_[a-z_]*' "$top/debian/libtlspool0.symbols" | sort)
for f in "$dll" "$stage/bin/tlstunnel.exe" "$stage/bin/tlspool-ping.exe"; do
	check "$(basename "$f") imports system DLLs only (and libtlspool)" system_only "$f"
done

# ---- the real daemon: a test CA, a server of it and one of another CA ----
win_localhost_pki || bail "certtool failed"
win_echo_server "$T/good.chain.pem" "$T/good.key" "$T/serv-good.log" ||
	bail "gnutls-serv did not start"
GOOD_PORT=$PORT
win_echo_server "$T/evil.chain.pem" "$T/evil.key" "$T/serv-evil.log" ||
	bail "gnutls-serv did not start"
EVIL_PORT=$PORT
[ -f "$DAEMON_EXE" ] || bail "no $DAEMON_EXE"
PIPE='\\.\pipe\tlspool-run-'$$
win_daemon_conf "$PIPE" "$T" "trust_anchors $(winpath "$T/ca.pem")" \
	>"$T/daemon.conf"
# a server identity for tlstunnel -s
cp "$T/good.chain.pem" "$T/localid/localhost.pem"
cp "$T/good.key" "$T/localid/localhost.key"
check "tlspool-daemon.exe starts" win_start_daemon "$T/daemon.conf" "$T/daemon.log"

# The test program: its own "N passed, M failed" line counts.  It says
# "SYNC stop" when the daemon is to stop (it is connected then) and
# "SYNC start" when it is to start again; it waits for $T/sync/done-*.
winlib_phase() {	# winlib_phase WHAT: wait for "SYNC WHAT", then do it
	win_wait_for "$T/winlib.out" "^SYNC $1" 120 || return 1
	if [ "$1" = stop ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	else
		win_start_daemon "$T/daemon.conf" "$T/daemon2.log" || return 1
	fi
	touch "$T/sync/done-$1"
}
exe=$build/tests/windows/.libs/test_winlib.exe
[ -f "$exe" ] || exe=$build/tests/windows/test_winlib.exe
if [ -f "$exe" ]; then
	mkdir -p "$T/sync"
	timeout 300 "$wine" "$exe" "$PIPE" "$GOOD_PORT" "$EVIL_PORT" \
		"$(winpath "$T/sync")" >"$T/winlib.out" 2>&1 &
	wpid=$!
	check "test_winlib: the daemon stopped while it is connected" winlib_phase stop
	check "test_winlib: the daemon started again" winlib_phase start
	wait "$wpid"
	out=$(tr -d '\r' <"$T/winlib.out")
	echo "$out" | grep -E '^(ok|FAIL) '
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		check "test_winlib.exe did not finish" false
		echo "$out" | tail -5 >&2
	else
		win_passed=$((win_passed + ${line%% passed*}))
		line=${line#*, }
		win_failed=$((win_failed + ${line%% failed}))
	fi
	# after the restart the library passed both sockets by handle value
	check "starttls by handle: the daemon took two socket handles" \
		test "$(grep -c 'took socket handle' "$T/daemon2.log")" -ge 2
else
	check "no test_winlib.exe in $build/tests/windows" false
fi

# The tools, against a pipe nobody serves: a clean error, no hang.
nobody='\\.\pipe\tlspool-nobody'
ping_out=$(timeout 30 "$wine" "$stage/bin/tlspool-ping.exe" -p "$nobody" 2>&1; echo "rc=$?")
check "tlspool-ping: exit 1 when nobody serves the pipe" grep -q 'rc=1$' <<<"$ping_out"
check "tlspool-ping: says it cannot reach the pool" grep -q 'cannot reach the TLS Pool' <<<"$ping_out"
tun_out=$(timeout 30 "$wine" "$stage/bin/tlstunnel.exe" -c -p "$nobody" 127.0.0.1:0 127.0.0.1:1 2>&1; echo "rc=$?")
check "tlstunnel: exit 1 when nobody serves the pipe" grep -q 'rc=1$' <<<"$tun_out"
check "tlstunnel: --help" timeout 30 "$wine" "$stage/bin/tlstunnel.exe" --help

# tlstunnel.exe through the daemon.  -c: a Linux plaintext client to
# tlstunnel's listener, through TLS to the echo server.  -s: a Linux TLS
# client (Python's ssl, a client certificate of the CA) to tlstunnel's
# listener, the daemon serving as localhost, tlstunnel connected to a
# Linux plaintext line-echo server.
tunnel_test() {	# tunnel_test -c|-s
	local mode=$1 tmp=$T/tunnel$1 target lport id tpid rc=0
	mkdir -p "$tmp"
	if [ "$mode" = -c ]; then
		target=$GOOD_PORT
	else
		python3 - "$tmp" <<'PY' &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1] + "/sport", "w").write(str(s.getsockname()[1]))
s.settimeout(60)
c, _ = s.accept(); c.settimeout(30)
got = b""
while not got.endswith(b"\n"):
	b = c.recv(64)
	if not b:
		break
	got += b
c.sendall(got)
PY
		win_track "$!"
		win_wait_for "$tmp/sport" . 10 || return 1
		target=$(cat "$tmp/sport")
	fi
	if [ "$mode" = -c ]; then
		id=(-r localhost)
	else
		id=(-l localhost)
	fi
	# (not -1: tlstunnel would exit after the handover, and the daemon
	# ends a session whose control connection closed)
	"$wine" "$stage/bin/tlstunnel.exe" "$mode" -p "$PIPE" "${id[@]}" \
		127.0.0.1:0 "127.0.0.1:$target" 2>"$tmp/tun.err" &
	tpid=$!
	win_track "$tpid"
	lport=$(win_listening_port "$tmp/tun.err" 30) || return 1
	if [ "$mode" = -c ]; then
		win_echo_line "$lport" "hello tunnel" || rc=1
	else
		win_echo_line "$lport" "hello tunnel" "$T/ca.pem" "$T/app.pem" \
			"$T/app.key" || rc=1
	fi
	kill "$tpid" 2>/dev/null
	[ "$rc" = 0 ] || cat "$tmp/tun.err" >&2
	return $rc
}
check "tlstunnel -c through the daemon: a line echoes from the TLS server" tunnel_test -c
check "tlstunnel -s through the daemon: a Linux TLS client's line echoes" tunnel_test -s

summary

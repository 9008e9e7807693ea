#!/bin/bash
# Run the Windows client-side tests under wine.  Builds nothing.
#
#   tests/windows/run.sh STAGE [BUILD]
#
# STAGE is the staged install of the cross build (windows/build.sh prints
# it: _build/win64/stage), BUILD the build tree holding the test programs
# (default: STAGE/..).  Checks the DLL's exports and imports, runs
# tests/windows/test_winlib.exe against the staged libtlspool-0.dll and
# the staged tools against a pipe nobody serves.  Uses $WINEPREFIX when
# set, else a private prefix that is removed at the end.  Prints
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

# The test programs: their own "N passed, M failed" line counts.
found=0
for exe in "$build"/tests/windows/.libs/test_*.exe; do
	[ -f "$exe" ] || continue
	found=1
	out=$(timeout 120 "$wine" "$exe" 2>&1 | tr -d '\r')
	echo "$out" | grep -E '^(ok|FAIL) '
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		check "$(basename "$exe") did not finish" false
		continue
	fi
	win_passed=$((win_passed + ${line%% passed*}))
	line=${line#*, }
	win_failed=$((win_failed + ${line%% failed}))
done
[ "$found" = 1 ] || check "no test programs in $build/tests/windows" false

# The tools, against a pipe nobody serves: a clean error, no hang.
nobody='\\.\pipe\tlspool-nobody'
ping_out=$(timeout 30 "$wine" "$stage/bin/tlspool-ping.exe" -p "$nobody" 2>&1; echo "rc=$?")
check "tlspool-ping: exit 1 when nobody serves the pipe" grep -q 'rc=1$' <<<"$ping_out"
check "tlspool-ping: says it cannot reach the pool" grep -q 'cannot reach the TLS Pool' <<<"$ping_out"
tun_out=$(timeout 30 "$wine" "$stage/bin/tlstunnel.exe" -c -p "$nobody" 127.0.0.1:0 127.0.0.1:1 2>&1; echo "rc=$?")
check "tlstunnel: exit 1 when nobody serves the pipe" grep -q 'rc=1$' <<<"$tun_out"
check "tlstunnel: --help" timeout 30 "$wine" "$stage/bin/tlstunnel.exe" --help

# tlstunnel.exe -c|-s against the fake daemon: the daemon writes "crypt"
# on the TLS side and "plain" on the plaintext side, both sockets handed
# over through the pipe.  -c: the (Linux) client that connects to
# tlstunnel's listener is the plaintext side, the (Linux) server it
# connects to the TLS side; -s the other way round.
tunnel_test() {	# tunnel_test -c|-s
	local mode=$1 fake tmp pipe sport lport fakepid tunpid rc=0
	local want_client=plain want_server=crypt
	[ "$mode" = -s ] && { want_client=crypt; want_server=plain; }
	for fake in "$build"/tests/windows/.libs/fake_daemon.exe \
		    "$build"/tests/windows/fake_daemon.exe ""; do
		[ -f "$fake" ] && break
	done
	[ -n "$fake" ] || { echo "FAIL no fake_daemon.exe" >&2; return 1; }
	tmp=$T/tunnel$mode
	mkdir -p "$tmp"
	pipe=tlspool-run-$$
	"$wine" "$fake" "$pipe" 60 >"$tmp/fake.out" 2>&1 &
	fakepid=$!
	python3 - "$tmp" <<'PY' &
import socket, sys
d = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0)); s.listen(1)
open(d + "/sport", "w").write(str(s.getsockname()[1]))
s.settimeout(60)
c, _ = s.accept(); c.settimeout(30)
open(d + "/server.got", "wb").write(c.recv(64))
PY
	win_track "$!"
	for _ in $(seq 300); do
		grep -q ready "$tmp/fake.out" 2>/dev/null && [ -s "$tmp/sport" ] && break
		sleep 0.1
	done
	sport=$(cat "$tmp/sport" 2>/dev/null)
	"$wine" "$stage/bin/tlstunnel.exe" "$mode" -1 -p "\\\\.\\pipe\\$pipe" -r peer.example \
		127.0.0.1:0 "127.0.0.1:$sport" 2>"$tmp/tun.err" &
	tunpid=$!
	lport=$(win_listening_port "$tmp/tun.err" 30)
	python3 - "$lport" >"$tmp/client.got" <<'PY' || rc=1
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
sys.stdout.write(c.recv(64).decode())
PY
	wait "$tunpid" || rc=1
	sleep 0.5
	grep -qx "$want_client" "$tmp/client.got" || rc=1
	grep -qx "$want_server" "$tmp/server.got" 2>/dev/null || rc=1
	[ "$rc" = 0 ] || { cat "$tmp/tun.err" "$tmp/fake.out" >&2; }
	kill "$fakepid" 2>/dev/null; wait "$fakepid" 2>/dev/null
	return $rc
}
check "tlstunnel -c: both sockets handed over, data on each" tunnel_test -c
check "tlstunnel -s: both sockets handed over, data on each" tunnel_test -s

summary

#!/bin/bash
# tlspool-ctl.exe under wine administers the policy database the Windows
# daemon uses: a rule it writes refuses a real handshake (pool_client.exe
# through tlspool-daemon.exe to a Linux gnutls-serv --echo); changed
# while the daemon runs, the next handshake follows it; policy list and
# explain show it; status and metrics come from the running daemon over
# its named pipe; import-dir stores a key by its Windows path; bad
# command lines fail with a message and exit 2.
#
#   CTL_EXE     tlspool-ctl.exe (default: _build/win64/windows/tlspool-ctl.exe)
#   DAEMON_EXE  the daemon (default: beside CTL_EXE)
#   WINEPREFIX  (default: a new one in the temp dir, removed at the end)
#   KEEP_TMP=1 keeps the temp dir
#
# Prints "PASS/FAIL name" lines and "N passed, N failed"; exit 1 on any
# failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
CTL_EXE=${CTL_EXE:-$top/_build/win64/windows/tlspool-ctl.exe}
DAEMON_EXE=${DAEMON_EXE:-$(dirname "$CTL_EXE")/tlspool-daemon.exe}
WINE=${WINE:-$(command -v wine64 || command -v wine)}
CC=${CC_WIN:-x86_64-w64-mingw32-gcc}
T=$(mktemp -d /tmp/t_ctl.XXXXXX)
own_prefix=
if [ -z "${WINEPREFIX:-}" ]; then
	own_prefix=$T/wine
	export WINEPREFIX=$own_prefix
fi
export WINEDEBUG=-all
PIPE='\\.\pipe\tlspool-ctl-test-'$$
passed=0 failed=0
pids=()

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
winpath() { printf 'Z:%s\n' "${1//\//\\}"; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
client() { timeout 60 "$WINE" "$T/pool_client.exe" "$PIPE" "$@"; }
# ctl NAME ARGS...: tlspool-ctl.exe with the daemon's config; output in
# $T/NAME.out (CR stripped), exit status in $T/NAME.rc.
ctl() {
	local name=$1
	shift
	timeout 60 "$WINE" "$CTL_EXE" -c "$(winpath "$T/daemon.conf")" "$@" \
		>"$T/$name.raw" 2>&1
	echo $? >"$T/$name.rc"
	tr -d '\r' <"$T/$name.raw" >"$T/$name.out"
}
# expect NAME RC PATTERN: the last ctl NAME exited RC and printed PATTERN.
expect() {
	if [ "$(cat "$T/$1.rc")" = "$2" ] && grep -qE -- "$3" "$T/$1.out"; then
		ok "$1"
	else
		ko "$1" "exit $(cat "$T/$1.rc"): $(head -5 "$T/$1.out" | tr '\n' ' ')"
	fi
}

for f in "$CTL_EXE" "$DAEMON_EXE"; do
	[ -f "$f" ] || { echo "no $f"; echo "0 passed, 1 failed"; exit 1; }
done
$CC -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -I"$top/windows" \
	"$top/tests/windows/pool_client.c" -o "$T/pool_client.exe" -lws2_32 ||
	{ echo "cannot build pool_client.exe"; echo "0 passed, 1 failed"; exit 1; }

# ---- a CA and a server certificate for localhost ----
printf 'cn = "ca"\nca\ncert_signing_key\nexpiration_days = 3\n' >"$T/ca.tmpl"
printf 'cn = "localhost"\ndns_name = "localhost"\nsigning_key\ntls_www_server\nexpiration_days = 2\n' \
	>"$T/good.tmpl"
if ! { certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/ca.key" &&
	certtool --generate-self-signed --load-privkey "$T/ca.key" \
		--template "$T/ca.tmpl" --outfile "$T/ca.pem" &&
	certtool --generate-privkey --key-type ecdsa --no-text \
		--outfile "$T/good.key" &&
	certtool --generate-certificate --load-privkey "$T/good.key" \
		--load-ca-certificate "$T/ca.pem" --load-ca-privkey "$T/ca.key" \
		--template "$T/good.tmpl" --outfile "$T/good.pem"; } >/dev/null 2>&1
then
	echo "certtool failed"; echo "0 passed, 1 failed"; exit 1
fi
cat "$T/good.pem" "$T/ca.pem" >"$T/good.chain.pem"

PORT=
for _ in 1 2 3; do
	port=$(free_port)
	gnutls-serv --echo -p "$port" --x509certfile "$T/good.chain.pem" \
		--x509keyfile "$T/good.key" >"$T/serv.log" 2>&1 &
	pids+=("$!")
	for _ in $(seq 50); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			PORT=$port
			break 2
		fi
		sleep 0.1
	done
done
[ -n "$PORT" ] || { echo "gnutls-serv did not start"; echo "0 passed, 1 failed"; exit 1; }

# ---- one config for the daemon and tlspool-ctl.exe ----
mkdir -p "$T/db" "$T/localid" "$T/state"
cat >"$T/daemon.conf" <<EOF2
socket_name $PIPE
dbenv_dir $(winpath "$T/db")
localid_dir $(winpath "$T/localid")
state_dir $(winpath "$T/state")
trust_anchors $(winpath "$T/ca.pem")
trust_system no
log_level info
log_stderr yes
workers 2
handshake_timeout 10000
EOF2

# ---- bad command lines: a message and exit 2 ----
ctl usage_unknown_command frobnicate
expect usage_unknown_command 2 "unknown command 'frobnicate'"
ctl usage_bad_role policy set localhost sideways --valexp 0
expect usage_bad_role 2 "tlspool-ctl: .*sideways"
ctl usage_user_name policy set localhost client --uids www-data
expect usage_user_name 2 "user names have no uid"
ctl status_no_daemon status
expect status_no_daemon 1 "is the daemon running"

# ---- import-dir: <id>.pem + <id>.key, the key by its absolute Windows path ----
mkdir -p "$T/import"
cp "$T/good.chain.pem" "$T/import/localhost.pem"
cp "$T/good.key" "$T/import/localhost.key"
ctl import_dir import-dir "$(winpath "$T/import")"
expect import_dir 0 "set localid localhost x509"
ctl localid_list localid list
expect localid_list 0 'localid localhost kind=x509 .*key=file:Z:'

# ---- a rule written before the daemon starts: localhost is refused ----
ctl policy_set_refuse policy set localhost client --valexp 0
expect policy_set_refuse 0 "serial"

"$WINE" "$DAEMON_EXE" -c "$(winpath "$T/daemon.conf")" -f >"$T/daemon.log" 2>&1 &
DPID=$!
pids+=("$DPID")
up=0
for _ in $(seq 60); do
	if grep -q "listening on" "$T/daemon.log" 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.5
done
if [ $up = 1 ]; then ok daemon_starts; else
	ko daemon_starts "$(tail -5 "$T/daemon.log" | tr '\n' ' ')"
	echo "$passed passed, $failed failed"
	exit 1
fi

if client refuse "$PORT" localhost >"$T/refused.out" 2>&1 &&
   grep -q "^ERROR" "$T/refused.out"; then
	ok rule_refuses_handshake
	sed -n 's/^ERROR/   reason: &/p' "$T/refused.out"
else
	ko rule_refuses_handshake "$(tr '\n' ' ' <"$T/refused.out")"
fi

ctl policy_list policy list
expect policy_list 0 "localhost.*client"
ctl explain_refuse explain --role client --remote localhost
expect explain_refuse 0 "peer must prove: 0"

# ---- the rule changed while the daemon runs: the next handshake follows ----
ctl policy_set_accept policy set localhost client --valexp T
expect policy_set_accept 0 "serial"
if client echo "$PORT" localhost >"$T/accepted.out" 2>&1 &&
   grep -q "OK echoed hello pool" "$T/accepted.out"; then
	ok changed_rule_accepts
else
	ko changed_rule_accepts "$(tr '\n' ' ' <"$T/accepted.out")"
fi
ctl explain_accept explain --role client --remote localhost
expect explain_accept 0 "peer must prove: T"

# ---- the daemon's counters over the pipe ----
ctl status status
expect status 0 "^localhost +client +1 +1 "
ctl metrics metrics
expect metrics 0 '^tlspool_handshakes_total\{rule="localhost",role="client"'

# ---- the rule removed: the secure default, and nothing listed ----
ctl policy_del policy del localhost client
expect policy_del 0 "serial"
ctl policy_list_empty policy list
if ! grep -q "localhost" "$T/policy_list_empty.out"; then
	ok policy_list_after_del
else
	ko policy_list_after_del "$(tr '\n' ' ' <"$T/policy_list_empty.out")"
fi
if client echo "$PORT" localhost >"$T/default.out" 2>&1 &&
   grep -q "OK echoed hello pool" "$T/default.out"; then
	ok secure_default_accepts
else
	ko secure_default_accepts "$(tr '\n' ' ' <"$T/default.out")"
fi

kill "$DPID" 2>/dev/null
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

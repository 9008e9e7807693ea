#!/bin/bash
# The main job on embedded defaults: build, start tlspool-daemon with no
# config file (it makes a local CA and an identity for this host on first
# start), then
#   1. a client application and a server application, both through the
#      pool, authenticate each other (tlstunnel on both ends, echo behind);
#   2. a client through the pool talks to a real gnutls-serv.
# It prints who was authenticated and what was negotiated, then stops
# everything it started; then
#   3. scripts/e2e-demo.sh: policy authored with crank, merged by shaft,
#      delivered by pulley into a second daemon (its own temp dir),
#      deciding real connections, and one rule changed and followed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
SHLIB_WHO=demo
. "$top/scripts/shlib.sh"
bash scripts/deps.sh
B=$(bash scripts/build.sh main)
D="$B/daemon/tlspool-daemon"
TT="$B/tools/tlstunnel"
T=$(mktemp -d /tmp/tlspool-demo.XXXXXX)
pids=()
trap cleanup EXIT

listening_port() {	# the port tlstunnel reported in its log
	sed -n 's/.*listening on [^ ]*:\([0-9]*\).*/\1/p' "$1" | head -n 1
}

echo "== starting tlspool-daemon on embedded defaults"
"$D" -f -l info 2>"$T/daemon.log" &
pids+=($!)
wait_for 10 "$B/tools/tlspool-ping"
"$B/tools/tlspool-ping"
host=$(hostname)
state=$( [ "$(id -u)" = 0 ] && echo /var/lib/tlspool || echo "${XDG_STATE_HOME:-$HOME/.local/state}/tlspool")
echo "local CA: $state/ca.pem; host identity: $state/localid/$host.pem"

echo
echo "== 1. pool to pool, mutually authenticated (identity $host on both ends)"
echo_port=$(free_port)
socat TCP-LISTEN:"$echo_port",bind=127.0.0.1,reuseaddr,fork EXEC:cat &
pids+=($!)
"$TT" -s -l "$host" 127.0.0.1:0 "127.0.0.1:$echo_port" 2>"$T/server.log" &
pids+=($!)
wait_for 10 grep -q "listening on" "$T/server.log"
sport=$(listening_port "$T/server.log")
reply=$(echo "hello through two pools" |
	"$TT" -c --stdio -l "$host" -r "$host" "127.0.0.1:$sport" 2>"$T/client.log")
echo "echoed: $reply"
sleep 0.2
echo "client side: $(grep -h 'connected' "$T/client.log" || cat "$T/client.log")"
echo "server side: $(grep -h 'connected' "$T/server.log" || cat "$T/server.log")"

echo
echo "== 2. client through the pool to a real gnutls-serv"
certtool --generate-privkey --key-type ecdsa --outfile "$T/serv.key" 2>/dev/null
cat >"$T/serv.tmpl" <<TMPL
cn = localhost
dns_name = localhost
tls_www_server
signing_key
expiration_days = 2
TMPL
certtool --generate-certificate --load-privkey "$T/serv.key" \
	--load-ca-certificate "$state/ca.pem" --load-ca-privkey "$state/ca.key" \
	--template "$T/serv.tmpl" --outfile "$T/serv.pem" 2>/dev/null
gport=$(free_port)
gnutls-serv --echo -p "$gport" --x509certfile "$T/serv.pem" \
	--x509keyfile "$T/serv.key" >"$T/gnutls-serv.log" 2>&1 &
pids+=($!)
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$gport"
reply=$(echo "hello gnutls-serv" |
	"$TT" -c --stdio -r localhost "127.0.0.1:$gport" 2>"$T/client2.log")
echo "echoed: $reply"
echo "client side: $(grep -h 'connected' "$T/client2.log" || cat "$T/client2.log")"

echo
echo "== negotiated (from the daemon's log)"
grep -h "established" "$T/daemon.log" | sed 's/^/  /'
echo
echo "demo: done"
echo
echo "== 3. the policy distribution chain (scripts/e2e-demo.sh)"
bash "$top/scripts/e2e-demo.sh" "$B"

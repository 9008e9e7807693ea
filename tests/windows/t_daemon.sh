#!/bin/bash
# The Windows daemon under wine: tlspool-daemon.exe serves a named pipe,
# takes a socket connected to a Linux gnutls-serv --echo as a
# WSAPROTOCOL_INFOW or as the client's own handle value (pio_ancil_type
# 2, what a client that may not open a LocalSystem service's process
# sends), validates the server against a CA made here and relays clear
# text; a server from another CA is refused with the daemon's reason;
# malformed messages and handles that are no socket get error replies and
# the daemon serves the next message and client; dane_service_ports is
# accepted.
#
#   DAEMON_EXE  the daemon (default: _build/win64/windows/tlspool-daemon.exe)
#   CTL         a Linux tlspool-ctl that writes the policy rules for the
#               fail-closed checks (default: _build/main/tools/tlspool-ctl)
#   WINEPREFIX  (default: a new one in the temp dir, removed at the end)
#   KEEP_TMP=1 keeps the temp dir
#
# Prints "PASS/FAIL name" lines and "N passed, N failed"; exit 1 on any
# failure.
set -u
# shellcheck source=tests/windows/winlib.sh
. "$(dirname "$0")/winlib.sh"
win_setup daemon
PIPE='\\.\pipe\tlspool-test-'$$
client() { pool_client "$PIPE" "$@"; }

[ -f "$DAEMON_EXE" ] || bail "no $DAEMON_EXE"
win_build_client

# ---- two CAs, a server certificate from each ----
win_localhost_pki || bail "certtool failed"

serve() {	# serve NAME: gnutls-serv --echo with NAME's chain; sets PORT
	win_echo_server "$T/$1.chain.pem" "$T/$1.key" "$T/serv-$1.log" ||
		bail "gnutls-serv did not start"
}
serve good
GOOD_PORT=$PORT
serve evil
EVIL_PORT=$PORT

# ---- the daemon ----
# Rules whose validation needs what the Windows build lacks, written by the
# Linux tlspool-ctl; BerkeleyDB's database and log files are portable, its
# region files (__db.*) are not and are made anew by the daemon.
have_rules=0
if [ -x "$CTL" ] &&
   win_policy "$T/db" policy set krb.localhost client --valexp K &&
   win_policy "$T/db" policy set krbonly.localhost client --kinds krb5; then
	have_rules=1
fi
win_db_portable "$T/db"
win_daemon_conf "$PIPE" "$T" "trust_anchors $(winpath "$T/ca.pem")" \
	>"$T/daemon.conf"
# a server identity: its key is loaded by the key process only
cp "$T/good.chain.pem" "$T/localid/localhost.pem"
cp "$T/good.key" "$T/localid/localhost.key"
if win_start_daemon "$T/daemon.conf" "$T/daemon.log"; then
	ok daemon_starts
else
	ko daemon_starts "$(tail -5 "$T/daemon.log" | tr '\n' ' ')"
	summary
	exit 1
fi

win_check ping client ping
grep -q "OK ping 20151111tlspool-daemon" "$T/ping.out" || ko ping_identity "$(cat "$T/ping.out")"

win_check starttls_echo client echo "$GOOD_PORT" localhost
grep -q "OK echoed hello pool" "$T/starttls_echo.out" ||
	ko starttls_echo_data "$(cat "$T/starttls_echo.out")"

# The same with both sockets passed as handle values (pio_ancil_type 2).
win_check starttls_echo_handle client echo_handle "$GOOD_PORT" localhost
grep -q "OK echoed hello pool" "$T/starttls_echo_handle.out" ||
	ko starttls_echo_handle_data "$(cat "$T/starttls_echo_handle.out")"
if [ "$(grep -c 'took socket handle 0x[0-9a-f]* from the client' "$T/daemon.log")" = 2 ]
then
	ok starttls_echo_handle_logged
else
	ko starttls_echo_handle_logged "$(grep -a 'socket handle' "$T/daemon.log")"
fi

win_check other_ca_refused client refuse "$EVIL_PORT" localhost
sed -n 's/^ERROR/   reason: &/p' "$T/other_ca_refused.out"

win_check wrong_name_refused client refuse "$GOOD_PORT" not-localhost.example

# Rules written by the Linux tlspool-ctl apply here: K and a Kerberos-only
# rule without any Kerberos configuration are refused with the reason
# (t_kdh has Kerberos working).
refused_for() {	# refused_for NAME REMOTEID REASON
	if client refuse "$GOOD_PORT" "$2" >"$T/$1.out" 2>&1 &&
	   grep -qF "$3" "$T/$1.out"; then
		ok "$1"
	else
		ko "$1" "$(cat "$T/$1.out")"
	fi
}
if [ $have_rules = 1 ]; then
	refused_for kdh_unconfigured_refused krb.localhost \
		"validation K failed: K: Kerberos exchange: no realm in kerberos_realm_map"
	refused_for krb5_rule_refused krbonly.localhost \
		"rule krbonly.localhost: TLS-KDH: no realm in kerberos_realm_map"
else
	ko policy_rules_written "no Linux tlspool-ctl (CTL): $(tail -1 "$T/db.ctl.out" 2>/dev/null)"
fi


# The server role: a Linux TLS client (Python's ssl, with a client
# certificate from the CA) to a socket the Windows client hands over as
# localhost; the server key signs in the key process.
server_role() {	# server_role NAME
	local SPORT CPID
	SPORT=$(free_port)
	win_background "$T/$1.out" "OK listening" client server "$SPORT" localhost
	CPID=$BGPID
	win_check "$1_tls" win_echo_line "$SPORT" "hello server" \
		"$T/ca.pem" "$T/app.pem" "$T/app.key"
	if wait "$CPID" && grep -q "OK received hello server" "$T/$1.out"; then
		ok "$1_client"
	else
		ko "$1_client" "$(tr '\n' ' ' <"$T/$1.out")"
	fi
}
server_role server_role

if grep -q "key process started" "$T/daemon.log"; then ok key_process_started
else ko key_process_started; fi

# The key process killed: the daemon sees it end, starts another and
# loads the identity's key there again.
kpid=$(sed -n 's/.*key process started (pid \([0-9]*\),.*/\1/p' "$T/daemon.log" |
	tr -d '\r' | head -1)
timeout 60 "$WINE" taskkill /f /pid "$kpid" >"$T/taskkill.out" 2>&1
win_wait_for "$T/daemon.log" "key process restarted" 20
if grep -q "key process (pid $kpid) exited" "$T/daemon.log" &&
   grep -q "key process restarted (pid [0-9]*), 1 keys loaded" "$T/daemon.log"; then
	ok key_process_restarted
else
	ko key_process_restarted "$(grep -a 'key process' "$T/daemon.log" | tail -3 | tr '\n' ' ')"
fi
server_role server_role_after_restart

for m in short badancil badinfo; do
	win_check "malformed_$m" client "$m"
	sed 's/^/   reply: /' "$T/malformed_$m.out"
done
# pio_ancil_type 2 that names no socket of the client: refused with the
# reason, and the connection goes on (pool_client pings on it).
handle_refused() {	# handle_refused MODE REASON
	if client "$1" >"$T/$1.out" 2>&1 &&
	   grep -q "^ERROR [0-9]* socket handover: $2" "$T/$1.out" &&
	   grep -q "OK then a ping" "$T/$1.out"; then
		ok "$1_refused"
	else
		ko "$1_refused" "$(tr '\n' ' ' <"$T/$1.out")"
	fi
	sed -n 's/^ERROR/   reply: &/p' "$T/$1.out"
}
handle_refused handle_file "handle 0x[0-9a-f]* is not a socket (file type 1)"
handle_refused handle_pipe "handle 0x[0-9a-f]* is not a socket (WSA error"
handle_refused handle_bogus "handle 0x7ffffff0 is not open in the client process"
handle_refused handle_pseudo "0xffffffffffffffff is not a handle value"
win_check ping_after_malformed client ping

# A client that does not read its replies holds nothing but itself: the
# next clients (one of them on its worker) are answered at once.
win_background "$T/noread.out" "OK sent" client noread
sleep 1
quick() { timeout 8 "$WINE" "$T/pool_client.exe" "$PIPE" "$@"; }
win_check ping_beside_nonreader_1 quick ping
win_check ping_beside_nonreader_2 quick ping

# ---- the client library: tlstunnel.exe -c through the daemon ----
# TLSTUNNEL_EXE and TLSPOOL_DLL (libtlspool-0.dll), when built.
TLSTUNNEL_EXE=${TLSTUNNEL_EXE:-$(dirname "$DAEMON_EXE")/../tools/.libs/tlstunnel.exe}
TLSPOOL_DLL=${TLSPOOL_DLL:-$(dirname "$DAEMON_EXE")/../lib/.libs/libtlspool-0.dll}
tunnel_echo() {	# tunnel_echo NAME: tlstunnel.exe -c, a line through it
	local lport
	"$WINE" "$T/tlstunnel.exe" -c -p "$PIPE" -r localhost 127.0.0.1:0 \
		"127.0.0.1:$GOOD_PORT" 2>"$T/$1.err" &
	win_track "$!"
	lport=$(win_listening_port "$T/$1.err")
	win_check "$1" win_echo_line "${lport:-1}" "hello tunnel"
}
if [ -f "$TLSTUNNEL_EXE" ] && [ -f "$TLSPOOL_DLL" ]; then
	cp "$TLSTUNNEL_EXE" "$TLSPOOL_DLL" "$T/"
	tunnel_echo tlstunnel_echo
	# The library made to pass sockets by handle value, as it does when
	# it may not open the daemon's process (a LocalSystem service).
	before=$(grep -c 'took socket handle' "$T/daemon.log")
	TLSPOOL_SOCKET_HANDOVER=handle tunnel_echo tlstunnel_echo_handle
	after=$(grep -c 'took socket handle' "$T/daemon.log")
	if [ "$after" -ge $((before + 2)) ]; then
		ok tlstunnel_echo_handle_used
	else
		ko tlstunnel_echo_handle_used "$before then $after handles taken"
	fi
else
	ko tlstunnel_echo "no $TLSTUNNEL_EXE or $TLSPOOL_DLL"
fi

# ---- DANE is built in (tests/windows/t_dane.sh exercises it) ----
cp "$T/daemon.conf" "$T/dane.conf"
echo "dane_service_ports https=443" >>"$T/dane.conf"
win_check dane_config_accepted \
	timeout 60 "$WINE" "$DAEMON_EXE" -t -c "$(winpath "$T/dane.conf")"

kill "$DPID" 2>/dev/null
if grep -q "malformed message" "$T/daemon.log"; then ok daemon_logs_malformed
else ko daemon_logs_malformed; fi

# ---- service mode: install, start, serve, stop (the SIGTERM path), remove ----
# The service runs a copy beside its log file (tlspool-daemon.log).
mkdir -p "$T/svc" "$T/svc/db"
cp "$DAEMON_EXE" "$T/svc/tlspool-daemon.exe"
{
	grep -v '^dbenv_dir \|^socket_name ' "$T/daemon.conf"
	echo "dbenv_dir $(winpath "$T/svc/db")"
	echo "socket_name ${PIPE}-svc"
} >"$T/svc/svc.conf"
svc() { timeout 60 "$WINE" "$@" >>"$T/svc/cmd.out" 2>&1; }
if svc "$T/svc/tlspool-daemon.exe" --install-service -c "$(winpath "$T/svc/svc.conf")"; then
	ok service_install
else
	ko service_install "$(tail -2 "$T/svc/cmd.out")"
fi
svc net start tlspool
PIPE_MAIN=$PIPE
PIPE=${PIPE_MAIN}-svc
win_check service_serves client ping
PIPE=$PIPE_MAIN
svc net stop tlspool
if win_wait_for "$T/svc/tlspool-daemon.log" \
	"stop requested: draining and stopping" 10; then
	ok service_stop_logged
else
	ko service_stop_logged "$(tail -3 "$T/svc/tlspool-daemon.log" 2>/dev/null)"
fi
if svc "$T/svc/tlspool-daemon.exe" --uninstall-service; then
	ok service_uninstall
else
	ko service_uninstall "$(tail -2 "$T/svc/cmd.out")"
fi
summary

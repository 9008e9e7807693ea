#!/bin/bash
# Private keys live only in the key process.  The daemon serves an ECDSA
# and an RSA identity whose keys are PEM files (TLS 1.3, TLS 1.2 ECDHE and
# TLS 1.2 RSA key exchange, so signing and decryption both happen); then
# gcore dumps the network-facing daemon and its key process (an ASan build
# is read from /proc/PID/mem instead, see dump_proc).  Neither the
# private scalar / exponent / primes (big- and little-endian), nor the DER
# or any PEM line of the key files may be in the daemon's core; as a
# control that the search works, each key must be found in the key
# process's core.  Then the key process is killed: relayed connections go
# on, new handshakes are refused with "key process unavailable" while it
# is down, and work again once the daemon has restarted it.
. "$(dirname "$0")/lib.sh"

command -v gcore >/dev/null || fail "gcore not installed (package gdb)"
command -v perl >/dev/null || fail "perl not installed"

# ---- key material -------------------------------------------------------

# key_field KEYFILE LABEL: that field of "certtool -k" in hex, without a
# leading zero byte.
key_field() {
	certtool -k --infile "$1" 2>/dev/null | awk -v l="$2:" '
		$0 == l { on = 1; next }
		on && /^[ \t]/ { gsub(/[ \t:]/, ""); h = h $0; next }
		on && h != "" { on = 0 }
		END { sub(/^(00)+/, "", h); print h }'
}

reverse_hex() {
	sed 's/../&\n/g' <<<"$1" | tac | tr -d '\n'
}

to_hex() {
	od -An -v -tx1 | tr -d ' \n'
}

# secret_patterns KEYFILE CERTFILE FIELD...: hex patterns, one per line,
# named: each field big- and little-endian (bignums sit in memory as
# limbs), the key file's DER and each of its PEM lines, except lines that
# hold only public key bytes found in the certificate's base64 too (the
# daemon has the certificate, that is no leak).
secret_patterns() {
	local key=$1 cert64 f h line
	cert64=$(sed '/^-----/d' "$2" | tr -d '\n')
	shift 2
	for f in "$@"; do
		h=$(key_field "$key" "$f")
		[ ${#h} -ge 32 ] || fail "no $f in $key"
		echo "${f// /-}(be) $h"
		echo "${f// /-}(le) $(reverse_hex "$h")"
	done
	echo "der $(sed '/^-----/d' "$key" | base64 -d | to_hex)"
	sed '/^-----/d' "$key" | while read -r line; do
		[ ${#line} -ge 24 ] && [[ $cert64 != *"$line"* ]] &&
			echo "pem-line $(printf '%s' "$line" | to_hex)"
	done
}

# An ASan allocator reserves terabytes of address space that gcore would
# write out as zeros; for such a build read every readable mapping that is
# not MADV_DONTDUMP from /proc/PID/mem (the bytes gcore saves) instead.
ASAN_BUILD=0
grep -q -a __asan_init "$DAEMON_BIN" && ASAN_BUILD=1

# dump_proc PID OUT: the process's memory into OUT.
dump_proc() {
	if [ "$ASAN_BUILD" = 1 ]; then
		perl -e '
			my ($pid, $out) = @ARGV;
			my (@reg, $r);
			open(my $maps, "<", "/proc/$pid/smaps") or die "smaps: $!\n";
			while (<$maps>) {
				if (/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/) {
					$r = [hex($1), hex($2), $3, $4];
					push @reg, $r;
				} elsif (/^VmFlags:.* dd/) {
					$r->[2] = "-";	# MADV_DONTDUMP (ASan shadow)
				}
			}
			open(my $mem, "<:raw", "/proc/$pid/mem") or die "mem: $!\n";
			open(my $o, ">:raw", $out) or die "$out: $!\n";
			for my $m (@reg) {
				my ($at, $end, $perm, $name) = @$m;
				next unless $perm =~ /^r/ && $name !~ /^\[v/;
				while ($at < $end && sysseek($mem, $at, 0)) {
					my $want = $end - $at > 1 << 20 ? 1 << 20 : $end - $at;
					my $n = sysread($mem, my $buf, $want);
					last unless $n;
					print $o $buf;
					$at += $n;
				}
			}' "$1" "$2" 2>"$2.log" || fail "reading the memory of $1: $(cat "$2.log")"
		return
	fi
	# never more than 4 GiB, whatever happens
	(ulimit -f 4194304; gcore -o "$2.gcore" "$1") >"$2.log" 2>&1 ||
		fail "gcore of $1: $(tail -3 "$2.log")"
	mv "$2.gcore.$1" "$2" || fail "gcore of $1 wrote no core"
}

# count_in CORE HEX...: how often each pattern occurs, one count a line.
count_in() {
	perl -e '
		my $core = shift;
		open(my $f, "<:raw", $core) or die "$core: $!\n";
		local $/; my $d = <$f>;
		for my $h (@ARGV) {
			my ($p, $n, $i) = (pack("H*", $h), 0, -1);
			$n++ while (($i = index($d, $p, $i + 1)) >= 0);
			print "$n\n";
		}' "$@"
}

# ---- identities ------------------------------------------------------------

make_ca
make_cert localhost --dns localhost
make_cert client --cn "Pool Client" --dns client.example --client

step "an RSA identity next to the ECDSA one"
cat >"$PKI/rsa.tmpl" <<-EOF
	cn = "rsa.example"
	organization = "TLS Pool Test"
	activation_date = "$(date -u -d '-1 hour' '+%Y-%m-%d %H:%M:%S')"
	expiration_days = 2
	dns_name = "rsa.example"
	signing_key
	encryption_key
	tls_www_server
EOF
certtool --generate-privkey --key-type rsa --bits 2048 --no-text \
	--outfile "$PKI/rsa.key" >/dev/null 2>&1 &&
	certtool --generate-certificate --load-privkey "$PKI/rsa.key" \
		--load-ca-certificate "$PKI/ca.pem" --load-ca-privkey "$PKI/ca.key" \
		--template "$PKI/rsa.tmpl" --outfile "$PKI/rsa.pem" \
		>"$PKI/rsa.certtool.out" 2>&1 || fail "certtool: RSA certificate"
cat "$PKI/rsa.pem" "$PKI/ca.pem" >"$PKI/rsa.chain.pem"
install_identity localhost localhost
install_identity rsa rsa.example

secret_patterns "$PKI/localhost.key" "$PKI/localhost.pem" "private key" \
	>"$T/ec.pat"
secret_patterns "$PKI/rsa.key" "$PKI/rsa.pem" "private exponent" prime1 \
	prime2 >"$T/rsa.pat"

step "the daemon and its key process"
start_daemon
expect_log "$DAEMON_LOG" "with 2 local identities" "both identities load"
kids=$(pgrep -P "$DAEMON_PID" | tr '\n' ' ')
set -- $kids
[ $# -eq 1 ] || fail "the daemon has children '$kids', want one key process"
KP=$1
[ "$(cat "/proc/$KP/comm")" = tlspool-keyproc ] ||
	fail "child $KP is $(cat "/proc/$KP/comm"), not tlspool-keyproc"
# it holds its pool connections and stdio, nothing else
for fd in /proc/$KP/fd/*; do
	n=${fd##*/}
	t=$(readlink "$fd")
	[ "$n" -le 2 ] || [[ $t == socket:* ]] ||
		fail "key process holds fd $n -> $t"
done
grep -q -E "tlspool-daemon\[[A-Z]\] key process started \(pid $KP" "$DAEMON_LOG" ||
	fail "no 'key process started' line for pid $KP"

step "handshakes that use both keys"
start_echo
start_tunnel ec -s -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
port_ec=$TUNNEL_PORT
start_tunnel rsa -s -l rsa.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
port_rsa=$TUNNEL_PORT
chat() {	# chat NAME PORT HOST PRIORITY
	tls_client_chat "$1" "line-$1" gnutls-cli -p "$2" \
		--x509cafile "$PKI/ca.pem" --verify-hostname "$3" \
		--x509certfile "$PKI/client.pem" --x509keyfile "$PKI/client.key" \
		--priority "$4" 127.0.0.1
}
chat ec13 "$port_ec" localhost "NORMAL:-VERS-ALL:+VERS-TLS1.3" ||
	fail "ECDSA, TLS 1.3: $(tail -5 "$T/ec13.out")"
chat ec12 "$port_ec" localhost "NORMAL:-VERS-ALL:+VERS-TLS1.2" ||
	fail "ECDSA, TLS 1.2: $(tail -5 "$T/ec12.out")"
chat rsa13 "$port_rsa" rsa.example "NORMAL:-VERS-ALL:+VERS-TLS1.3" ||
	fail "RSA-PSS, TLS 1.3: $(tail -5 "$T/rsa13.out")"
chat rsakx "$port_rsa" rsa.example "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA" ||
	fail "RSA key exchange, TLS 1.2: $(tail -5 "$T/rsakx.out")"
grep -q 'local="rsa.example" .*(TLS1.2)-(RSA)-' "$DAEMON_LOG" ||
	fail "the RSA key exchange was not used"

step "core dumps: the daemon holds no key bytes, the key process does"
dcore=$T/daemon.core
kcore=$T/keyproc.core
dump_proc "$DAEMON_PID" "$dcore"
dump_proc "$KP" "$kcore"
[ -s "$dcore" ] && [ -s "$kcore" ] || fail "empty dumps"
echo "dumps ($([ "$ASAN_BUILD" = 1 ] && echo /proc/PID/mem || echo gcore)):" \
	"daemon $(stat -c %s "$dcore") bytes, key process $(stat -c %s "$kcore") bytes"
daemon_alive
alive "$KP" || fail "the key process died under gcore"
for kind in ec rsa; do
	mapfile -t names < <(cut -d' ' -f1 "$T/$kind.pat")
	mapfile -t pats < <(cut -d' ' -f2 "$T/$kind.pat")
	mapfile -t in_d < <(count_in "$dcore" "${pats[@]}")
	mapfile -t in_k < <(count_in "$kcore" "${pats[@]}")
	[ ${#in_d[@]} -eq ${#pats[@]} ] && [ ${#in_k[@]} -eq ${#pats[@]} ] ||
		fail "searching the cores failed"
	found_k=0
	for i in "${!pats[@]}"; do
		[ "${in_d[$i]}" -eq 0 ] ||
			fail "$kind key: ${names[$i]} found ${in_d[$i]} times in the daemon's core"
		case ${names[$i]} in
		*'(be)'|*'(le)') [ "${in_k[$i]}" -gt 0 ] && found_k=$((found_k + 1)) ;;
		esac
		echo "$kind ${names[$i]}: daemon ${in_d[$i]}, key process ${in_k[$i]}"
	done
	[ "$found_k" -gt 0 ] ||
		fail "control: the $kind key is not in the key process's core either; the search does not work"
done
rm -f "$dcore" "$kcore"

step "the key process is killed: relayed connections go on"
restarts() { grep -c "key process restarted" "$DAEMON_LOG"; }
# wait_restart N: until the Nth restart is logged; its pid in KP.
wait_restart() {
	_nth() { [ "$(restarts)" -ge "$1" ]; }
	wait_until 15 _nth "$1" || fail "the key process was not restarted ($1)"
	KP=$(sed -n -E 's/.*key process restarted \(pid ([0-9]+)\).*/\1/p' \
		"$DAEMON_LOG" | tail -1)
	[ "$(pgrep -P "$DAEMON_PID")" = "$KP" ] ||
		fail "the daemon's child is not the restarted key process $KP"
}
start_tunnel mc -s -I -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
"$HELPERS/many_clients" -n 3 -b 4096 -j 2 -r localhost -t 10000 \
	-w "$T/mc.go" 127.0.0.1 "$TUNNEL_PORT" >"$T/mc.out" 2>&1 &
MC_PID=$!
_track "$MC_PID" "many_clients"
_mc_ready() { [ -e "$T/mc.go.ready" ] || ! alive "$MC_PID"; }
wait_until 30 _mc_ready || fail "many_clients: first round did not finish"
[ -e "$T/mc.go.ready" ] || fail "many_clients: $(cat "$T/mc.out")"
kill -KILL "$KP"
expect_log "$DAEMON_LOG" "key process \(pid $KP\) killed by signal 9; handshakes needing a key are refused" \
	"death logged"
touch "$T/mc.go"
wait_exit "$MC_PID" 30 || fail "many_clients: second round hangs"
_untrack "$MC_PID"
[ "$WAIT_STATUS" = 0 ] || fail "relayed connections broke: $(cat "$T/mc.out")"
grep -q "round 2: .* correctly" "$T/mc.out" || fail "no second round: $(cat "$T/mc.out")"
wait_restart 1
grep -q "key process restarted (pid $KP), 2 keys loaded" "$DAEMON_LOG" ||
	fail "the restarted key process did not load both keys"
chat after "$port_ec" localhost "NORMAL" || fail "no handshake after the restart"
chat after-rsa "$port_rsa" rsa.example "NORMAL" || fail "no RSA handshake after the restart"
daemon_alive

step "while it is down, handshakes needing a key are refused"
# A key process that dies young is restarted after 1 s, then 2 s, ...:
# the second quick death leaves at least 2 s without one.
kill -KILL "$KP"
wait_restart 2
kill -KILL "$KP"
expect_log "$DAEMON_LOG" "key process \(pid $KP\) killed by signal 9" "second death"
chat down "$port_ec" localhost "NORMAL" && fail "a handshake succeeded without a key process"
expect_log "$DAEMON_LOG" "identity localhost: key process unavailable" "refusal reason"
[ "$(restarts)" -eq 2 ] || fail "restarted while the test expected it down"
wait_restart 3
chat back "$port_ec" localhost "NORMAL" || fail "no handshake once it is back"
daemon_alive

step "SIGTERM: the daemon and its key process stop"
stop_proc "$DAEMON_PID" 15
[ "$WAIT_STATUS" = 0 ] || fail "daemon exit status $WAIT_STATUS"
wait_until 5 eval '! alive "$KP"' || fail "the key process outlived the daemon"
pass

#!/bin/bash
# Raw public keys (RFC 7250) delivered by pulley: a real slapd holds
# signed entries for two pools, each pool's pulley follows its own
# subtree into that pool's policy databases.  Pool A (client) gets its
# raw-key identity (SPKI + key file reference), a pin for the server's
# key bound to srv.example, and a rawpk-only rule; pool B (server) the
# same the other way round.  Then: the pool-to-pool raw-key connection
# works on what LDAP said alone; the pin deleted in LDAP makes the next
# connection fail as unpinned (by the rule's I, and with the rule
# modified to have no valexp, by the raw-key pin check); the pin back
# and a revoked-key entry for the server's key makes it fail as revoked,
# with the rule's Ir& and with no expression at all (a revoked key is
# refused whatever the rule asks); the revocation deleted lets it through
# again.  Last, an X.509 identity (chain + key reference) and an x509
# rule delivered the same way carry a pool-to-pool connection.
. "$(dirname "$0")/lib.sh"
. "$IT_DIR/slapd.sh"

[ -x "$PULLEY_BIN" ] || fail "$PULLEY_BIN is not built"
CTL=$BUILD/tools/tlspool-ctl

make_ca
make_cert localhost --dns localhost
rawkey cli
rawkey srv
chmod 600 "$PKI/cli.key" "$PKI/srv.key" "$PKI/localhost.key"
pin_of() { "$CTL" rawpk pin --file "$1" | sed -n 's/^sha256 //p'; }
CLI_PIN=$(pin_of "$PKI/cli.pub")
SRV_PIN=$(pin_of "$PKI/srv.pub")
[ ${#CLI_PIN} -eq 64 ] && [ ${#SRV_PIN} -eq 64 ] || fail "tlspool-ctl rawpk pin printed no pin"

# Entry DNs below ou=NAME,ou=policy (one subtree per pool).
lid_dn() { echo "tlsPoolIdentity=$2+tlsPoolCredentialType=$3,ou=$1,ou=policy,$SUFFIX"; }
pin_dn() { echo "tlsPoolTrustKind=pin+tlsPoolKeyHash=$2+tlsPoolIdentity=$3,ou=$1,ou=policy,$SUFFIX"; }
rev_dn() { echo "tlsPoolTrustKind=revoked+tlsPoolKeyHash=$2,ou=$1,ou=policy,$SUFFIX"; }
pol_dn() { echo "tlsPoolSelector=$2+tlsPoolSupportedRole=$3,ou=$1,ou=policy,$SUFFIX"; }
ldif() { "$PULLEY_LDIF" -s "$T/sign.seed" "$@" || fail "pulley_ldif $*"; }

# ctl NAME ARGS...: tlspool-ctl on that daemon's databases.
ctl() {
	local d=$1
	shift
	"$CTL" -c "${DCONF[$d]}" "$@" >"$T/ctl.out" 2>&1 ||
		fail "tlspool-ctl $*: $(cat "$T/ctl.out")"
}
_ctl_shows() { local d=$1 re=$2; shift 2; ctl "$d" "$@"; grep -q -E -- "$re" "$T/ctl.out"; }
_ctl_hides() { local d=$1 re=$2; shift 2; ctl "$d" "$@"; ! grep -q -E -- "$re" "$T/ctl.out"; }
# shows / hides NAME REGEX WHAT CTL-ARGS...: wait for pulley's change.
shows() {
	local d=$1 re=$2 what=$3
	shift 3
	wait_until 15 _ctl_shows "$d" "$re" "$@" ||
		fail "$what: no /$re/ in pool $d's tlspool-ctl $*: $(head -5 "$T/ctl.out")"
}
hides() {
	local d=$1 re=$2 what=$3
	shift 3
	wait_until 15 _ctl_hides "$d" "$re" "$@" ||
		fail "$what: /$re/ still in pool $d's tlspool-ctl $*"
}

# start_pulley_for NAME: a pulley following ou=NAME into daemon NAME's
# database environment; log $T/pulley-NAME.log.
declare -A PULLEY=()
start_pulley_for() {
	local n=$1 log=$T/pulley-$1.log
	write_pulley_conf "$T/$n.state/db"
	sed "s|^ldap_base .*|ldap_base ou=$n,ou=policy,$SUFFIX|" "$T/pulley.conf" \
		>"$T/pulley-$n.conf"
	"$PULLEY_BIN" -c "$T/pulley-$n.conf" >>"$log" 2>&1 &
	PULLEY[$n]=$!
	_track "${PULLEY[$n]}" "pulley:$n"
	wait_log "$log" "refresh done" 30 || fail "pulley $n: no refresh: $(tail -5 "$log")"
	alive "${PULLEY[$n]}" || fail "pulley $n exited: $(tail -5 "$log")"
}

# conn NAME PORT: 64 KiB through the two pools; 0 if it came back.
conn() {
	"$NETUTIL" echo-check "$2" 65536 20000 >"$T/$1.out" 2>&1
}
# refused NAME PORT REGEX WHAT: the connection is closed and pool A's log
# names the reason (in a line it wrote after the mark).
refused() {
	local mark want=$3
	mark=$(stat -c %s "${DLOG[A]}")
	"$NETUTIL" expect-closed "$2" 10000 >"$T/$1.out" 2>&1 ||
		fail "$4: got through: $(cat "$T/$1.out")"
	_anews() { tail -c +$((mark + 1)) "${DLOG[A]}" | grep -q -E -- "$want"; }
	wait_until 10 _anews ||
		fail "$4: no /$3/ in pool A's log: $(tail -c +$((mark + 1)) "${DLOG[A]}" | grep -i refus | tail -2)"
	tail -c +$((mark + 1)) "${DLOG[A]}" | grep -E -- "$3" | head -1 | sed 's/^/    /'
}

start_daemon -n A
start_daemon -n B
start_slapd
"$PULLEY_LDIF" -g "$T/sign.seed" >"$T/sign.pub" || fail "pulley_ldif -g failed"
printf 'dn: ou=%s,ou=policy,%s\nobjectClass: organizationalUnit\nou: %s\n\n' \
	A "$SUFFIX" A B "$SUFFIX" B >"$T/ous.ldif"
ldap_add "$T/ous.ldif"

step "signed raw-key entries for both pools in LDAP: identity, pin, rawpk rule"
PIN_A=$(pin_dn A "$SRV_PIN" srv.example)
{
	ldif "$(lid_dn A cli.example rawpk)" localid cli.example rawpk client \
		"$PKI/cli.pub" "$PKI/cli.key"
	ldif "$PIN_A" pin "$SRV_PIN" srv.example servers
	ldif "$(pol_dn A srv.example client)" policy srv.example client 'Ir&' rawpk
	ldif "$(lid_dn B srv.example rawpk)" localid srv.example rawpk server \
		"$PKI/srv.pub" "$PKI/srv.key"
	ldif "$(pin_dn B "$CLI_PIN" cli.example)" pin "$CLI_PIN" cli.example clients
	ldif "$(pol_dn B srv.example server)" policy srv.example server I rawpk required
} >"$T/initial.ldif"
ldap_add "$T/initial.ldif"
# the pin's DN names its bound identity; the entry signs it as well
grep -q "^tlsPoolIdentity: srv.example$" "$T/initial.ldif" || fail "no tlsPoolIdentity in the pin entry"

step "each pool's pulley delivers its subtree"
start_pulley_for A
start_pulley_for B
for d in A B; do
	grep -q "refresh done (3 entries, 0 deletes, 0 refused)" "$T/pulley-$d.log" ||
		fail "pulley $d: $(grep -E "refused|refresh done" "$T/pulley-$d.log")"
done
shows A "^localid cli\.example kind=rawpk roles=client .*key=file:$PKI/cli\.key certs=1 " \
	"A's raw-key identity with its key reference" localid list
shows B "^localid srv\.example kind=rawpk roles=server .*key=file:$PKI/srv\.key certs=1 " \
	"B's raw-key identity with its key reference" localid list
hides A "^localid srv\.example" "B's identity must not reach A" localid list
shows A "^trust pin:srv\.example:$SRV_PIN kind=pin peers=servers .*for=srv\.example" \
	"A's pin for the server key" trust list
shows B "^trust pin:cli\.example:$CLI_PIN kind=pin peers=clients .*for=cli\.example" \
	"B's pin for the client key" trust list
shows A "^policy srv\.example client .* kinds=rawpk .*valexp=Ir& " "A's rawpk rule" policy list
shows B "^policy srv\.example server .*client-auth=required kinds=rawpk .*valexp=I " \
	"B's rawpk rule" policy list
ctl A rawpk pin cli.example
grep -q -x "sha256 $CLI_PIN" "$T/ctl.out" || fail "A's identity holds another SPKI: $(cat "$T/ctl.out")"
wait_log "${DLOG[A]}" "1 local identities \(1 from localid\.db\)" 15 ||
	fail "pool A did not load the identity from LDAP"
wait_log "${DLOG[B]}" "1 local identities \(1 from localid\.db\)" 15 ||
	fail "pool B did not load the identity from LDAP"

step "pool to pool with raw keys on what LDAP said"
start_echo
start_tunnel B -s -p "${DSOCK[B]}" -l srv.example 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
logB=$TUNNEL_LOG
start_tunnel A -c -p "${DSOCK[A]}" -l cli.example -r srv.example \
	127.0.0.1:0 "127.0.0.1:$TUNNEL_PORT"
logA=$TUNNEL_LOG
portA=$TUNNEL_PORT
conn ok1 "$portA" ||
	fail "raw keys from LDAP: $(cat "$T/ok1.out"; grep -i refus "${DLOG[A]}" "${DLOG[B]}" | tail -2)"
expect_log "$logA" "connected local=cli\.example remote=srv\.example " \
	"pool A proves srv.example by the pin from LDAP"
expect_log "$logB" "connected local=srv\.example remote=cli\.example " \
	"pool B proves cli.example by the pin from LDAP"
grep -q 'established client role: local="cli.example" remote="srv.example" (TLS1.[23]-Raw Public Key)' "${DLOG[A]}" ||
	fail "pool A did not negotiate raw public keys"

step "the pin deleted in LDAP: pool A refuses the server's key as unpinned"
ldap_delete "$PIN_A"
hides A "pin:srv\.example:" "the deleted pin" trust list
refused unpinned "$portA" "refused client role.*rule srv\.example: validation Ir& failed: I: raw public key ${SRV_PIN:0:16}\.\.\. is not bound to srv\.example by a pin" \
	"unpinned after the delete (the rule's I)"
# without a validation expression the pin check of the raw-key path decides
ldif -m "$(pol_dn A srv.example client)" policy srv.example client '' rawpk >"$T/mod.ldif"
ldap_modify "$T/mod.ldif"
shows A "^policy srv\.example client .* kinds=rawpk .*valexp=- " "the rule without valexp" policy list
refused unpinned2 "$portA" "refused client role.*raw public key $SRV_PIN is not pinned for srv\.example \(trust\.db\)" \
	"unpinned after the delete (no valexp)"
ldif -m "$(pol_dn A srv.example client)" policy srv.example client 'Ir&' rawpk >"$T/mod2.ldif"
ldap_modify "$T/mod2.ldif"
shows A "^policy srv\.example client .* kinds=rawpk .*valexp=Ir& " "the rule back to Ir&" policy list

step "the pin back in LDAP: accepted again"
ldif "$PIN_A" pin "$SRV_PIN" srv.example servers >"$T/pin.ldif"
ldap_add "$T/pin.ldif"
shows A "pin:srv\.example:$SRV_PIN" "the pin re-added" trust list
conn ok2 "$portA" || fail "the re-added pin: $(cat "$T/ok2.out"; grep -i refus "${DLOG[A]}" | tail -1)"

step "a revoked-key entry for the server's key: refused whatever the rule asks"
ldif "$(rev_dn A "$SRV_PIN")" revoked "$SRV_PIN" >"$T/rev.ldif"
ldap_add "$T/rev.ldif"
shows A "^trust revoked:$SRV_PIN kind=revoked " "the revoked key" trust list
refused revoked "$portA" "refused client role.*the peer's raw public key ${SRV_PIN:0:16}\.\.\. is listed as revoked \(trust\.db\)" \
	"revoked key (rule Ir&)"
ldif -m "$(pol_dn A srv.example client)" policy srv.example client '' rawpk >"$T/mod3.ldif"
ldap_modify "$T/mod3.ldif"
shows A "^policy srv\.example client .* kinds=rawpk .*valexp=- " "the rule without valexp" policy list
refused revoked2 "$portA" "refused client role.*the peer's raw public key ${SRV_PIN:0:16}\.\.\. is listed as revoked \(trust\.db\)" \
	"revoked key (no expression)"

step "the revocation deleted in LDAP: accepted again"
ldap_delete "$(rev_dn A "$SRV_PIN")"
hides A "revoked:" "the deleted revocation" trust list
conn ok3 "$portA" || fail "after the revocation went: $(cat "$T/ok3.out"; grep -i refus "${DLOG[A]}" | tail -1)"

step "an X.509 identity (chain + key reference) and an x509 rule from LDAP"
{
	ldif "$(lid_dn B localhost x509)" localid localhost x509 server \
		"$PKI/localhost.chain.pem" "$PKI/localhost.key"
	ldif "$(pol_dn B localhost server)" policy localhost server '' x509 none
	ldif "$(pol_dn A localhost client)" policy localhost client 'IT&' x509
} >"$T/x509.ldif"
ldap_add "$T/x509.ldif"
shows B "^localid localhost kind=x509 roles=server .*key=file:$PKI/localhost\.key certs=2 " \
	"B's X.509 identity: chain and key reference" localid list
shows A "^policy localhost client .* kinds=x509 .*valexp=IT& " "A's x509 rule" policy list
shows B "^policy localhost server .*client-auth=none kinds=x509 " "B's x509 rule" policy list
wait_log "${DLOG[B]}" "2 local identities \(2 from localid\.db\)" 15 ||
	fail "pool B did not load the X.509 identity from LDAP"
start_tunnel B2 -s -p "${DSOCK[B]}" -l localhost 127.0.0.1:0 "127.0.0.1:$ECHO_PORT"
logB2=$TUNNEL_LOG
start_tunnel A2 -c -p "${DSOCK[A]}" -r localhost 127.0.0.1:0 "127.0.0.1:$TUNNEL_PORT"
logA2=$TUNNEL_LOG
conn x509 "$TUNNEL_PORT" ||
	fail "X.509 from LDAP: $(cat "$T/x509.out"; grep -i refus "${DLOG[A]}" "${DLOG[B]}" | tail -2)"
expect_log "$logA2" "connected local= remote=localhost " "pool A validates localhost's chain"
expect_log "$logB2" "connected local=localhost remote=" "pool B shows the chain from LDAP"
grep -q 'established client role: local="" remote="localhost" (TLS1.[23])-' "${DLOG[A]}" ||
	fail "pool A: no X.509 session with localhost: $(grep established "${DLOG[A]}" | tail -1)"

for d in A B; do
	alive "${PULLEY[$d]}" || fail "pulley $d died"
	stop_proc "${PULLEY[$d]}" 10
	[ "$WAIT_STATUS" = 0 ] || fail "pulley $d stopped with status $WAIT_STATUS"
	_untrack "${PULLEY[$d]}"
done
daemon_alive A
daemon_alive B
pass

# shaft.sh -- shaft scenarios' helpers (sourced after lib.sh and
# slapd.sh): crank subtrees ou=crankN and the merged subtree ou=merged
# in the private slapd, each crank with its own Ed25519 key.
#
# shaft_setup N: the subtrees, keys $T/crankI.seed / .pub, shaft's key
# $T/shaft.seed (mode 600) and $T/shaft.pub; write_shaft_conf
# "NAME PREC KEYFILE BASE"...: $T/shaft.conf; start_shaft / stop_shaft;
# shaft_once: one run (-1); crank_ldif I ARGS: pulley_ldif signed by
# crank I; out_dump FILE: the merged subtree as sorted LDIF, base-free.

SHAFT_BIN=$BUILD/shaft/shaft
OUT_BASE="ou=merged,$SUFFIX"
crank_base() { echo "ou=crank$1,$SUFFIX"; }

shaft_setup() {
	local i n=$1
	{
		for i in $(seq 1 "$n"); do
			printf 'dn: ou=crank%s,%s\nobjectClass: organizationalUnit\nou: crank%s\n\n' \
				"$i" "$SUFFIX" "$i"
			"$PULLEY_LDIF" -g "$T/crank$i.seed" >"$T/crank$i.pub" ||
				fail "pulley_ldif -g failed"
		done
		printf 'dn: %s\nobjectClass: organizationalUnit\nou: merged\n\n' "$OUT_BASE"
	} >"$T/shaft-bases.ldif"
	ldap_add "$T/shaft-bases.ldif"
	"$PULLEY_LDIF" -g "$T/shaft.seed" >"$T/shaft.pub" || fail "pulley_ldif -g failed"
	chmod 600 "$T/shaft.seed"
	printf '%s\n' "$ROOTPW" >"$T/rootpw"
	chmod 600 "$T/rootpw"
	mkdir -p "$T/shaft.state"
}

# write_shaft_conf "NAME PREC PUBFILE BASE"... [-- EXTRA LINE...]
write_shaft_conf() {
	local s name prec pub base
	{
		echo "# written by $TEST_NAME"
		echo "ldap_uri $SLAPD_URI"
		echo "tls none"
		echo "bind simple"
		echo "bind_dn $ROOTDN"
		echo "bind_password_file $T/rootpw"
		echo "output_base $OUT_BASE"
		echo "sign_key $T/shaft.seed"
		echo "state_dir $T/shaft.state"
		echo "retry_min 1"
		echo "retry_max 2"
		echo "log_level info"
		echo "log_stderr yes"
		while [ $# -gt 0 ] && [ "$1" != -- ]; do
			read -r name prec pub base <<<"$1"
			echo "source $name $prec $(cat "$pub") $base"
			shift
		done
		[ "${1:-}" = -- ] && shift
		for s in "$@"; do echo "$s"; done
	} >"$T/shaft.conf"
}

crank_ldif() {	# crank_ldif I [-m] DN KIND ARGS...
	local i=$1
	shift
	"$PULLEY_LDIF" -s "$T/crank$i.seed" "$@"
}

SLOG_MARK=0
smark() { SLOG_MARK=$(stat -c %s "$T/shaft.log" 2>/dev/null || echo 0); }
snews() { tail -c +$((SLOG_MARK + 1)) "$T/shaft.log" 2>/dev/null; }
_snews_has() { snews | grep -q -E -- "$1"; }
# expect_shaft REGEX WHAT: a new line of the shaft log matches.
expect_shaft() {
	wait_until 20 _snews_has "$1" || fail "$2: no /$1/ in the shaft log: $(snews | tail -5)"
}
# wait_merge: shaft wrote the output after the mark
wait_merge() { expect_shaft "output written" "${1:-a merge}"; }

shaft_once() {
	"$SHAFT_BIN" -1 -c "$T/shaft.conf" >>"$T/shaft.log" 2>&1 ||
		fail "shaft -1 failed: $(tail -5 "$T/shaft.log")"
}

start_shaft() {
	smark
	"$SHAFT_BIN" -c "$T/shaft.conf" >>"$T/shaft.log" 2>&1 &
	SHAFT_PID=$!
	_track "$SHAFT_PID" "shaft"
	wait_merge "shaft's first merge"
	alive "$SHAFT_PID" || fail "shaft exited: $(tail -5 "$T/shaft.log")"
}

stop_shaft() {
	stop_proc "$SHAFT_PID" 10
	[ "$WAIT_STATUS" = 0 ] || fail "shaft stopped with status $WAIT_STATUS: $(tail -5 "$T/shaft.log")"
}

# out_dump FILE [BASE]: the entries below BASE (default the merged
# subtree), one per paragraph, the base cut off the DN, entries sorted
# and the lines of each entry sorted after its DN (LDAP keeps neither
# attributes nor values in order); user attributes only.
out_dump() {
	local base=${2:-$OUT_BASE}
	ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -D "$ROOTDN" -w "$ROOTPW" \
		-b "$base" -s one "(objectClass=*)" >"$1.raw" 2>>"$T/ldap-client.log" ||
		fail "ldapsearch of $base failed"
	awk -v base=",$base" 'BEGIN { RS = ""; ORS = "\n\n" }
		{ sub(base "\n", "\n"); n = split($0, l, "\n")
		  for (i = 3; i <= n; i++) {	# insertion sort after the DN
			x = l[i]
			for (j = i - 1; j > 1 && l[j] > x; j--) l[j + 1] = l[j]
			l[j + 1] = x
		  }
		  out = l[1]
		  for (i = 2; i <= n; i++) out = out "\n" l[i]
		  print out }' "$1.raw" |
		awk 'BEGIN { RS = ""; ORS = "\n\n\0" } { print }' | sort -z | tr -d '\0' >"$1"
}

# out_has RDN-REGEX ATTR-LINE-REGEX: the merged entry holds the line.
out_count() { ldapsearch -LLL -x -H "$SLAPD_URI" -b "$OUT_BASE" -s one "(objectClass=*)" dn 2>/dev/null | grep -c '^dn:'; }

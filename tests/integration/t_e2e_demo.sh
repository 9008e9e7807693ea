#!/bin/bash
# scripts/e2e-demo.sh, run as the README's demo runs it (with this
# build): its output must show every step of the chain doing what it
# says -- both cranks' entries written, shaft merging 3 entries into 2
# (crank2's rule for mail.demo.test over crank1's), pulley delivering
# both rules into the daemon's database, www.demo.test accepted and
# mail.demo.test refused with the daemon naming the rule, crank1's
# changed rule (IT& -> IT&P&) planned, applied, merged, delivered and
# then obeyed by a refused connection with the reason, a measured delay
# -- and it must exit 0, stop everything it started and remove its temp
# dir.  The demo's logs are copied here, so a sanitizer build's reports
# fail the test.
. "$(dirname "$0")/lib.sh"

[ -x "$BUILD/crank/crank" ] || fail "crank is not built"
[ -x "$BUILD/shaft/shaft" ] || fail "shaft is not built"
command -v slapd >/dev/null || fail "slapd is not installed (scripts/deps.sh)"

step "run scripts/e2e-demo.sh"
E2E_LOG_DIR=$T timeout 120 bash "$TOP/scripts/e2e-demo.sh" "$BUILD" >"$T/demo.out" 2>&1
rc=$?
sed 's/^/  | /' "$T/demo.out"
[ "$rc" = 0 ] || fail "e2e-demo.sh exited with $rc"

# has WHAT REGEX: a line of the output matches (in order is checked below)
has() {
	grep -q -E -- "$2" "$T/demo.out" || fail "$1: no /$2/ in the demo's output"
}
# line_after N REGEX: the number of the first matching line after line N
line_after() {
	local k
	k=$(tail -n +$(($1 + 1)) "$T/demo.out" | grep -n -E -m 1 -- "$2" | cut -d: -f1)
	[ -n "$k" ] && echo $(($1 + k))
}

step "each step's key lines"
has "crank1 wrote" "^    added policy \.demo\.test client: ok \(tlsPoolSelector=\.demo\.test\+tlsPoolSupportedRole=client,ou=crank1,"
has "crank1 wrote" "^    added policy mail\.demo\.test client: ok \(.*,ou=crank1,"
has "crank2 wrote" "^    added policy mail\.demo\.test client: ok \(.*,ou=crank2,"
has "ACL: crank2 refused in crank1's subtree" "^    modified policy mail\.demo\.test client: FAILED: Insufficient access .*,ou=crank1,"
has "shaft merged" "^    shaft: merged 3 entries from 2 sources into 2 "
has "shaft wrote" "^    shaft: output written: 2 added, 0 modified, 0 deleted, 0 unchanged, 0 refused"
has "merged: crank1's rule" "^    policy \.demo\.test client valexp IT&$"
has "merged: crank2 wins" "^    policy mail\.demo\.test client valexp IT&Q&$"
grep -q -E "^    policy mail\.demo\.test client valexp IT&$" "$T/demo.out" &&
	fail "crank1's shadowed rule for mail.demo.test reached the merged subtree"
has "pulley delivered" "^    pulley: refresh done \(2 entries, 0 deletes, 0 refused\)"
has "daemon's database" "^    policy \.demo\.test client .* valexp=IT& uids=any$"
has "daemon's database" "^    policy mail\.demo\.test client .* valexp=IT&Q& uids=any$"
has "www accepted by crank1's rule" "^    connection to www\.demo\.test: accepted \(echoed \"hello www1\"\), daemon: rule \.demo\.test$"
has "mail refused with the reason" "^    connection to mail\.demo\.test: refused; daemon: refused client role, local=\"\" remote=\"mail\.demo\.test\": .*rule mail\.demo\.test: validation IT&Q& failed: Q: "
has "the plan" "tlsPoolValidationExpression: \"IT&\" -> \"IT&P&\""
has "the change applied" "^    modified policy \.demo\.test client: ok "
has "shaft merged the change" "^    shaft: output written: 0 added, 1 modified, 0 deleted, 1 unchanged, 0 refused"
has "pulley delivered the change" "^    daemon's database now: policy \.demo\.test client .* valexp=IT&P& uids=any$"
has "www now refused with the reason" "^    connection to www\.demo\.test: refused; daemon: refused client role, local=\"\" remote=\"www\.demo\.test\": .*rule \.demo\.test: validation IT&P& failed: P: key [0-9a-f]+\.\.\. is not pinned for www\.demo\.test"
has "the delay" "^    delay from crank apply to the first obeying handshake: [0-9]+ ms \([0-9]+ connection\(s\) tried\)$"
has "the end" "^e2e-demo: done$"

step "in that order"
prev=0
for re in "^== 1\." "^  crank2 apply:" "^== 2\." "^== 3\." "^== 4\." "^== 5\." \
	"^    modified policy \.demo\.test client: ok" "^    shaft: output written: 0 added, 1 modified" \
	"^    pulley: batch committed" "validation IT&P& failed" "^e2e-demo: done"; do
	n=$(line_after "$prev" "$re")
	[ -n "$n" ] || fail "/$re/ is missing or out of order (none after line $prev)"
	prev=$n
done
# the demo's daemon log, copied here, holds the refusals it printed
grep -q "rule \.demo\.test: validation IT&P& failed" "$T/e2e-daemon.log" ||
	fail "the daemon's log lacks the refusal the demo printed"

step "nothing left behind"
dir=$(sed -n 's/^    working in \(.*\) (removed at the end)$/\1/p' "$T/demo.out")
[ -n "$dir" ] || fail "the demo did not name its temp dir"
[ -e "$dir" ] && fail "the demo left $dir behind"
left=$(pgrep -a -f -- "$dir" || true)
[ -z "$left" ] || fail "processes left running: $left"
pass

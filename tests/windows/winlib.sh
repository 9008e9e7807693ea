# Shell helpers for the Windows tests (sourced): a private wine prefix per
# scenario, checks, and the closing "N passed, N failed" line.
export WINEARCH=win64 WINEDEBUG=-all
win_passed=0
win_failed=0

# wine_prefix_new NAME: a fresh prefix in a temp dir, removed by
# wine_prefix_end (also on exit).
wine_prefix_new() {
	WINE_TMP=$(mktemp -d "/tmp/tlspool-$1.XXXXXX")
	export WINEPREFIX="$WINE_TMP/prefix"
	trap wine_prefix_end EXIT
	wine wineboot -i >/dev/null 2>&1
	# One wineserver (and services.exe) for the whole scenario: a new one
	# per command would reload the service database from the registry
	# file between commands.
	wineserver -p
}

wine_prefix_end() {
	[ -n "${WINEPREFIX:-}" ] && wineserver -k >/dev/null 2>&1
	[ -n "${WINE_TMP:-}" ] && rm -rf "$WINE_TMP"
	WINE_TMP=
	trap - EXIT
}

check() {	# check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then
		win_passed=$((win_passed + 1)); echo "ok   $what"
	else
		win_failed=$((win_failed + 1)); echo "FAIL $what"
	fi
}

not() { ! "$@"; }

wine_reg_has() {	# wine_reg_has KEY VALUE
	wine reg query "$1" /v "$2" 2>/dev/null | grep -q "$2"
}

wine_reg_match() {	# wine_reg_match KEY VALUE REGEX
	wine reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' | grep -Eq "$3"
}

# wine_service_state NAME STATE: wait (up to 30 s) until the service is in
# STATE (RUNNING, STOPPED) as sc query reports it.
wine_service_state() {
	local i
	for i in $(seq 60); do
		wine sc query "$1" 2>/dev/null | tr -d '\r' |
			grep -Eq "STATE +: [0-9]+ +$2" && return 0
		sleep 0.5
	done
	return 1
}

# wine_reboot: end every process of the prefix (its wineserver) and start
# a new one, as a restart of Windows would.
wine_reboot() {
	wineserver -k >/dev/null 2>&1
	wineserver -w >/dev/null 2>&1
	wineserver -p
	wine wineboot -r >/dev/null 2>&1
}

# wine_service_running_or_boot NAME: running now, or after a restart
# (automatic start).  Wine's service manager sometimes refuses to start a
# service in the session that created it (ERROR_SERVICE_DATABASE_LOCKED,
# then "does not exist") until it restarts; Windows does not.
wine_service_running_or_boot() {
	wine_service_state "$1" RUNNING && return 0
	wine_reboot
	wine_service_state "$1" RUNNING
}

summary() {
	echo "$win_passed passed, $win_failed failed"
	[ "$win_failed" -eq 0 ]
}

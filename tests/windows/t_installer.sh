#!/bin/bash
# The Windows installer under wine: a silent install puts the programs, the
# library and the configuration in place and registers the service; the
# service starts and answers a ping over the pipe; a silent uninstall
# removes the service, every file and every registry value.
#   tests/windows/t_installer.sh SETUP.EXE
#   tests/windows/t_installer.sh --build STAGE   (makes STAGE/../tlspool-setup.exe first)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/winlib.sh"
if [ "${1:-}" = --build ]; then
	bash "$here/../../windows/installer.sh" "$2" "$2/../tlspool-setup.exe" || exit 1
	set -- "$2/../tlspool-setup.exe"
fi
setup=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

wine_prefix_new installer
pf="$WINEPREFIX/drive_c/Program Files/TLS Pool"
data="$WINEPREFIX/drive_c/ProgramData/tlspool"
svckey='HKLM\System\CurrentControlSet\Services\tlspool'
unkey='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\tlspool'

wine "$setup" /S
check "silent install exits 0" test $? -eq 0
for f in bin/libtlspool-0.dll bin/tlstunnel.exe bin/tlspool-ping.exe \
	sbin/tlspool-daemon.exe sbin/tlspool-ctl.exe uninstall.exe; do
	check "installed $f" test -f "$pf/$f"
done
check "development files are optional (not installed by default)" \
	test ! -e "$pf/include"
check "configuration in ProgramData" test -f "$data/tlspool.conf"
check "service registered" wine_reg_has "$svckey" ImagePath
check "service runs the installed daemon with its configuration" \
	wine_reg_match "$svckey" ImagePath 'tlspool-daemon\.exe.*-c.*tlspool\.conf'
check "uninstall entry" wine_reg_has "$unkey" UninstallString

check "the service runs (started by the installer, or at the next boot)" \
	wine_service_running_or_boot tlspool
out=$(wine "$pf/bin/tlspool-ping.exe" 2>&1)
check "ping through the service's pipe" grep -q 'tlspool-daemon' <<<"$out"
# tlspool-ctl.exe without -c: the installed configuration, its database
# and the service's pipe.
ctl="C:\\Program Files\\TLS Pool\\sbin\\tlspool-ctl.exe"
check "tlspool-ctl.exe writes a rule with the installed configuration" \
	wine "$ctl" policy set example.com client --valexp T
check "tlspool-ctl.exe lists it" grep -q 'policy example.com client' \
	<<<"$(wine "$ctl" policy list 2>&1)"
check "tlspool-ctl.exe status through the service's pipe" grep -q '^rule ' \
	<<<"$(wine "$ctl" status 2>&1)"
daemon="C:\\Program Files\\TLS Pool\\sbin\\tlspool-daemon.exe"
wine "$daemon" --stop-service >/dev/null 2>&1
check "--stop-service stops it" wine_service_state tlspool STOPPED
check "the service logs in ProgramData" \
	grep -q 'stop requested' "$data/tlspool-daemon.log"

# Keep a changed configuration over a reinstall.
echo "# changed by the administrator" >>"$data/tlspool.conf"
wine "$daemon" --start-service >/dev/null 2>&1
check "--start-service starts it again" wine_service_state tlspool RUNNING
# A reinstall over a running service (an upgrade).
wine "$setup" /S
check "reinstall over the running service exits 0" test $? -eq 0
check "service running after the reinstall" wine_service_running_or_boot tlspool
check "reinstall keeps the administrator's configuration" \
	grep -q 'changed by the administrator' "$data/tlspool.conf"

# (After a restart: see wine_service_running_or_boot.)
wine_reboot
check "service running after a restart" wine_service_state tlspool RUNNING
# The uninstaller copies itself to the temp folder, starts that copy and
# returns at once; wait (30 s at most) for the copy to finish its work.
wine "$pf/uninstall.exe" /S
check "silent uninstall starts" test $? -eq 0
for _ in $(seq 60); do
	[ -e "$pf" ] || break
	sleep 0.5
done
check "no program files left" test ! -e "$pf"
check "no configuration or data left" test ! -e "$data"
wine_reboot
check "service removed" not wine_reg_has "$svckey" ImagePath
check "uninstall entry removed" not wine_reg_has "$unkey" UninstallString

summary

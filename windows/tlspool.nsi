; tlspool.nsi -- the Windows installer of the pool.
;
; makensis -DSTAGE=<make install DESTDIR> -DVERSION=<x.y.z> -DOUTFILE=<exe>
; (windows/installer.sh does that).  Installs the daemon as the Windows
; service "tlspool", the client library (DLL), the tools and, as an option,
; the development files; the uninstaller stops and removes the service and
; every file and registry value the installer made.

Unicode true
; 64-bit stub: the installer runs on 64-bit Windows only (and under wine64).
Target amd64-unicode
!include "LogicLib.nsh"
!include "x64.nsh"
!include "Sections.nsh"

!ifndef STAGE
  !error "define STAGE: the make install DESTDIR of the mingw build"
!endif
!ifndef VERSION
  !error "define VERSION"
!endif
!ifndef OUTFILE
  !define OUTFILE "tlspool-${VERSION}-setup.exe"
!endif

!define SERVICE "tlspool"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\tlspool"
; $APPDATA is ProgramData after SetShellVarContext all.
!define DATADIR "$APPDATA\tlspool"

Name "TLS Pool ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\TLS Pool"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
ShowInstDetails show
ShowUninstDetails show

Page components
Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "The pool needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

; An upgrade replaces files a running service holds open: stop the
; service of the previous installation first (it is registered again,
; with this version's command line, below).
Section "-StopPrevious"
  ${If} ${FileExists} "$INSTDIR\sbin\tlspool-daemon.exe"
    nsExec::ExecToLog '"$INSTDIR\sbin\tlspool-daemon.exe" --stop-service'
    Pop $0
    DetailPrint "previous service stopped (exit $0)"
  ${EndIf}
SectionEnd

Section "Client library and tools" SecClient
  SectionIn RO
  SetOutPath "$INSTDIR\bin"
  File "${STAGE}\bin\*.dll"
  File "${STAGE}\bin\tlstunnel.exe"
  File "${STAGE}\bin\tlspool-ping.exe"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "TLS Pool"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
SectionEnd

Section "Daemon (Windows service)" SecDaemon
  SectionIn RO
  SetOutPath "$INSTDIR\sbin"
  File "${STAGE}\sbin\tlspool-daemon.exe"
  File "${STAGE}\sbin\tlspool-ctl.exe"
  ; The configuration is the administrator's: an existing one is kept.
  CreateDirectory "${DATADIR}\db"
  CreateDirectory "${DATADIR}\localid"
  SetOutPath "${DATADIR}"
  SetOverwrite off
  File "/oname=tlspool.conf" "${STAGE}\etc\tlspool.conf"
  SetOverwrite on
  nsExec::ExecToLog '"$INSTDIR\sbin\tlspool-daemon.exe" --install-service -c "${DATADIR}\tlspool.conf"'
  Pop $0
  ${If} $0 != 0
    DetailPrint "registering the service failed (exit $0)"
    SetErrorLevel 2
    Abort "registering the tlspool service failed (exit $0)"
  ${EndIf}
  ; Start it now (it also starts with Windows).  A service that does not
  ; start is reported, not an installation failure: its log in
  ; ${DATADIR} says why, and the configuration may need the administrator.
  nsExec::ExecToLog '"$INSTDIR\sbin\tlspool-daemon.exe" --start-service'
  Pop $0
  ${If} $0 != 0
    DetailPrint "the service did not start (exit $0): see ${DATADIR}\tlspool-daemon.log"
  ${EndIf}
SectionEnd

Section /o "Development files" SecDev
  SetOutPath "$INSTDIR\include\tlspool"
  File "${STAGE}\include\tlspool\*.h"
  SetOutPath "$INSTDIR\lib"
  File "${STAGE}\lib\libtlspool.dll.a"
  File "${STAGE}\lib\libtlspool.def"
SectionEnd

Section "Uninstall"
  nsExec::ExecToLog '"$INSTDIR\sbin\tlspool-daemon.exe" --uninstall-service'
  Pop $0
  ${If} $0 != 0
    DetailPrint "removing the service failed (exit $0)"
    SetErrorLevel 2
    Abort "removing the tlspool service failed (exit $0)"
  ${EndIf}
  Delete "$INSTDIR\sbin\tlspool-daemon.exe"
  Delete "$INSTDIR\sbin\tlspool-ctl.exe"
  RMDir "$INSTDIR\sbin"
  Delete "$INSTDIR\bin\*.dll"
  Delete "$INSTDIR\bin\tlstunnel.exe"
  Delete "$INSTDIR\bin\tlspool-ping.exe"
  RMDir "$INSTDIR\bin"
  Delete "$INSTDIR\include\tlspool\*.h"
  RMDir "$INSTDIR\include\tlspool"
  RMDir "$INSTDIR\include"
  Delete "$INSTDIR\lib\libtlspool.dll.a"
  Delete "$INSTDIR\lib\libtlspool.def"
  RMDir "$INSTDIR\lib"
  ; Configuration, credentials and policy databases go too: after the
  ; uninstaller nothing of the pool is left on the machine.
  RMDir /r "${DATADIR}"
  DeleteRegKey HKLM "${UNINSTKEY}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
SectionEnd

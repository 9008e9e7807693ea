/* service_win32 -- the service control manager's side: the dispatcher,
 * the control handler (STOP and SHUTDOWN take the daemon's stop path,
 * PARAMCHANGE reloads), and registering or removing the service.  In
 * service mode stderr, where tplog writes, is tlspool-daemon.log next to
 * the executable. */
#include "service_win32.h"

#include <winsock2.h>
#include <windows.h>

#include <io.h>
#include <stdio.h>
#include <wchar.h>

#include "tplog.h"

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;

static void set_state(DWORD state, DWORD exit_code)
{
	status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	status.dwCurrentState = state;
	status.dwControlsAccepted = state == SERVICE_RUNNING ?
		SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
		SERVICE_ACCEPT_PARAMCHANGE : 0;
	status.dwWin32ExitCode = exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : 0;
	status.dwServiceSpecificExitCode = exit_code;
	status.dwWaitHint = state == SERVICE_RUNNING ||
			    state == SERVICE_STOPPED ? 0 : 15000;
	SetServiceStatus(status_handle, &status);
}

static DWORD WINAPI handler(DWORD control, DWORD type, void *data, void *ctx)
{
	(void)type;
	(void)data;
	(void)ctx;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		set_state(SERVICE_STOP_PENDING, 0);
		daemon_win32_stop();
		return NO_ERROR;
	case SERVICE_CONTROL_PARAMCHANGE:
		daemon_win32_reload();
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	default:
		return ERROR_CALL_NOT_IMPLEMENTED;
	}
}

static void started(void)
{
	set_state(SERVICE_RUNNING, 0);
}

/* stderr appended to tlspool-daemon.log in the configuration file's
 * folder (%ProgramData%\tlspool as installed: writable by the service,
 * not under Program Files), or beside the executable without -c. */
static void log_to_file(const char *config)
{
	WCHAR path[MAX_PATH + 32];
	WCHAR *sep;
	DWORD n;

	if (config != NULL) {
		WCHAR wconf[MAX_PATH];

		if (!MultiByteToWideChar(CP_UTF8, 0, config, -1, wconf,
					 MAX_PATH))
			return;
		n = GetFullPathNameW(wconf, MAX_PATH, path, NULL);
	} else {
		n = GetModuleFileNameW(NULL, path, MAX_PATH);
	}
	if (n == 0 || n >= MAX_PATH)
		return;
	sep = wcsrchr(path, L'\\');
	wcscpy(sep != NULL ? sep + 1 : path, L"tlspool-daemon.log");
	if (_wfreopen(path, L"a", stderr) == NULL) {
		/* A service has no stderr to reopen (msvcrt fails on its
		 * handle-less stream): open the file and put its stream in
		 * stderr's place. */
		FILE *f = _wfopen(path, L"a");

		if (f == NULL)
			return;
		*stderr = *f;
	}
	setvbuf(stderr, NULL, _IONBF, 0);
	/* the key process inherits it as its stderr */
	SetStdHandle(STD_ERROR_HANDLE,
		     (HANDLE)_get_osfhandle(_fileno(stderr)));
}

static void WINAPI service_main(DWORD argc, WCHAR **argv)
{
	int rc;

	(void)argc;
	(void)argv;
	status_handle = RegisterServiceCtrlHandlerExW(SERVICE_WIN32_NAME,
						      handler, NULL);
	if (status_handle == NULL)
		return;
	set_state(SERVICE_START_PENDING, 0);
	rc = daemon_win32_run(started);
	set_state(SERVICE_STOPPED, (DWORD)rc);
}

int service_win32_dispatch(const char *config)
{
	SERVICE_TABLE_ENTRYW table[] = {
		{ (WCHAR *)SERVICE_WIN32_NAME, service_main },
		{ NULL, NULL },
	};

	log_to_file(config);
	if (!StartServiceCtrlDispatcherW(table)) {
		tplog(LOG_ERR, "--service: not started by the service control "
		      "manager (error %lu)", (unsigned long)GetLastError());
		return 1;
	}
	return 0;
}

int service_win32_install(const char *config)
{
	WCHAR exe[MAX_PATH], conf[MAX_PATH], wconf[MAX_PATH];
	WCHAR cmd[3 * MAX_PATH + 32];
	SC_HANDLE scm, svc;
	SERVICE_DESCRIPTIONW desc = {
		(WCHAR *)L"TLS Pool: TLS for applications, by policy"
	};

	if (GetModuleFileNameW(NULL, exe, MAX_PATH) == 0)
		goto fail;
	if (config != NULL) {
		if (!MultiByteToWideChar(CP_UTF8, 0, config, -1, wconf,
					 MAX_PATH) ||
		    GetFullPathNameW(wconf, MAX_PATH, conf, NULL) == 0)
			goto fail;
		_snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]),
			   L"\"%ls\" --service -c \"%ls\"", exe, conf);
	} else {
		_snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]),
			   L"\"%ls\" --service", exe);
	}
	cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
	scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE);
	if (scm == NULL)
		goto fail;
	svc = CreateServiceW(scm, SERVICE_WIN32_NAME, L"TLS Pool",
			     SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
			     SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd,
			     NULL, NULL, NULL, NULL, NULL);
	if (svc == NULL && GetLastError() == ERROR_SERVICE_EXISTS) {
		/* An upgrade: the same service, this executable. */
		svc = OpenServiceW(scm, SERVICE_WIN32_NAME,
				   SERVICE_CHANGE_CONFIG);
		if (svc != NULL &&
		    !ChangeServiceConfigW(svc, SERVICE_WIN32_OWN_PROCESS,
					  SERVICE_AUTO_START,
					  SERVICE_ERROR_NORMAL, cmd, NULL,
					  NULL, NULL, NULL, NULL, L"TLS Pool")) {
			CloseServiceHandle(svc);
			svc = NULL;
		}
	}
	if (svc == NULL) {
		CloseServiceHandle(scm);
		goto fail;
	}
	ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	fprintf(stderr, "service tlspool registered: %ls\n", cmd);
	return 0;
fail:
	fprintf(stderr, "--install-service: error %lu\n",
		(unsigned long)GetLastError());
	return 1;
}

/* Open the service for starting; a service manager still busy with a
 * service just created (locked database; wine also reports it missing
 * for a moment) is asked again for up to 30 s. */
static SC_HANDLE service_open_start(SC_HANDLE scm)
{
	SC_HANDLE svc = NULL;

	for (int i = 0; i < 60; i++) {
		svc = OpenServiceW(scm, SERVICE_WIN32_NAME,
				   SERVICE_START | SERVICE_QUERY_STATUS);
		if (svc != NULL && (StartServiceW(svc, 0, NULL) ||
		    GetLastError() == ERROR_SERVICE_ALREADY_RUNNING))
			return svc;
		if (GetLastError() != ERROR_SERVICE_DATABASE_LOCKED &&
		    GetLastError() != ERROR_SERVICE_DOES_NOT_EXIST)
			break;
		if (svc != NULL)
			CloseServiceHandle(svc);
		svc = NULL;
		Sleep(500);
	}
	if (svc != NULL) {
		DWORD err = GetLastError();

		CloseServiceHandle(svc);
		SetLastError(err);
	}
	return NULL;
}

/* The service manager and this service in it, for access; NULL (*scm
 * NULL too, the error kept) when either cannot be opened. */
static SC_HANDLE service_open(DWORD access, SC_HANDLE *scm)
{
	SC_HANDLE svc;
	DWORD err;

	*scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
	if (*scm == NULL)
		return NULL;
	svc = OpenServiceW(*scm, SERVICE_WIN32_NAME, access);
	if (svc == NULL) {
		err = GetLastError();
		CloseServiceHandle(*scm);
		*scm = NULL;
		SetLastError(err);
	}
	return svc;
}

/* Close what service_open (or OpenSCManagerW) opened, keeping the
 * error for service_report. */
static void service_close(SC_HANDLE scm, SC_HANDLE svc)
{
	DWORD err = GetLastError();

	if (svc != NULL)
		CloseServiceHandle(svc);
	if (scm != NULL)
		CloseServiceHandle(scm);
	SetLastError(err);
}

/* The command's last line: "service tlspool <done>", or the option's
 * error (and a hint); the exit status. */
static int service_report(int rc, const char *done, const char *option,
			  const char *hint)
{
	if (rc == 0)
		fprintf(stderr, "service tlspool %s\n", done);
	else
		fprintf(stderr, "%s: error %lu%s\n", option,
			(unsigned long)GetLastError(), hint);
	return rc;
}

int service_win32_start(void)
{
	SERVICE_STATUS st;
	SC_HANDLE scm, svc = NULL;
	int rc = 1;

	scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
	if (scm != NULL)
		svc = service_open_start(scm);
	/* Up to 30 s for the daemon to report running (or to give up). */
	for (int i = 0; svc != NULL && i < 300 &&
	     QueryServiceStatus(svc, &st); i++) {
		if (st.dwCurrentState == SERVICE_RUNNING) {
			rc = 0;
			break;
		}
		if (st.dwCurrentState == SERVICE_STOPPED) {
			SetLastError(st.dwWin32ExitCode);
			break;
		}
		Sleep(100);
	}
	service_close(scm, svc);
	return service_report(rc, "running", "--start-service",
			      " (its log: tlspool-daemon.log beside the "
			      "configuration)");
}

/* Ask a running service to stop and wait (15 s at most) until it has. */
static int service_stop_wait(SC_HANDLE svc)
{
	SERVICE_STATUS st;

	if (!QueryServiceStatus(svc, &st))
		return -1;
	if (st.dwCurrentState == SERVICE_STOPPED)
		return 0;
	if (!ControlService(svc, SERVICE_CONTROL_STOP, &st) &&
	    GetLastError() != ERROR_SERVICE_NOT_ACTIVE)
		return -1;
	for (int i = 0; i < 150; i++) {
		if (!QueryServiceStatus(svc, &st))
			return -1;
		if (st.dwCurrentState == SERVICE_STOPPED)
			return 0;
		Sleep(100);
	}
	SetLastError(ERROR_SERVICE_REQUEST_TIMEOUT);
	return -1;
}

int service_win32_stop(void)
{
	SC_HANDLE scm, svc;
	int rc;

	svc = service_open(SERVICE_STOP | SERVICE_QUERY_STATUS, &scm);
	rc = svc != NULL && service_stop_wait(svc) == 0 ? 0 : 1;
	service_close(scm, svc);
	return service_report(rc, "stopped", "--stop-service", "");
}

int service_win32_uninstall(void)
{
	SC_HANDLE scm, svc;
	int rc;

	svc = service_open(DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS, &scm);
	rc = svc != NULL && service_stop_wait(svc) == 0 &&
	     DeleteService(svc) ? 0 : 1;
	service_close(scm, svc);
	return service_report(rc, "removed", "--uninstall-service", "");
}

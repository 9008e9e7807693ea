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

/* stderr appended to tlspool-daemon.log beside the executable. */
static void log_to_file(void)
{
	WCHAR path[MAX_PATH + 32];
	DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
	WCHAR *dot;

	if (n == 0 || n >= MAX_PATH)
		return;
	dot = wcsrchr(path, L'.');
	if (dot == NULL)
		dot = path + n;
	wcscpy(dot, L".log");
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

int service_win32_dispatch(void)
{
	SERVICE_TABLE_ENTRYW table[] = {
		{ (WCHAR *)SERVICE_WIN32_NAME, service_main },
		{ NULL, NULL },
	};

	log_to_file();
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
	if (svc == NULL) {
		CloseServiceHandle(scm);
		goto fail;
	}
	ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	fprintf(stderr, "service tlspool installed: %ls\n", cmd);
	return 0;
fail:
	fprintf(stderr, "--install-service: error %lu\n",
		(unsigned long)GetLastError());
	return 1;
}

int service_win32_uninstall(void)
{
	SERVICE_STATUS st;
	SC_HANDLE scm, svc;
	int rc = 1;

	scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
	if (scm == NULL)
		goto out;
	svc = OpenServiceW(scm, SERVICE_WIN32_NAME,
			   DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS);
	if (svc == NULL)
		goto out_scm;
	if (ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
		for (int i = 0; i < 150 && QueryServiceStatus(svc, &st) &&
		     st.dwCurrentState != SERVICE_STOPPED; i++)
			Sleep(100);
	}
	if (DeleteService(svc))
		rc = 0;
	CloseServiceHandle(svc);
out_scm:
	CloseServiceHandle(scm);
out:
	if (rc == 0)
		fprintf(stderr, "service tlspool removed\n");
	else
		fprintf(stderr, "--uninstall-service: error %lu\n",
			(unsigned long)GetLastError());
	return rc;
}

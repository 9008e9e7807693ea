/* tlspool-daemon.exe -- the pool on Windows: console mode (-f, or any
 * start from a command line) and service mode (--service, as the service
 * control manager starts it), plus --install-service, --start-service,
 * --stop-service and --uninstall-service.
 *
 * The same modules as on Linux, and the same start-up, reload and stop
 * sequence (daemon/daemon_run.c); the platform parts are the named pipe
 * (listener_win32.c, ctlconn_win32.c), the WSAPoll workers, the key
 * process started as this executable with --key-process
 * (keyproc_win32.c) and what doc/windows.md lists as unavailable.  Stopping (Ctrl+C, closing the
 * console, SERVICE_CONTROL_STOP or _SHUTDOWN) takes the path SIGTERM
 * takes on Linux: stop accepting, let sessions drain, close what is
 * left, stop the workers.  SERVICE_CONTROL_PARAMCHANGE reloads, as
 * SIGHUP does.
 *
 * Logging: tplog to stderr; in service mode stderr is the file
 * tlspool-daemon.log next to the executable (appended).
 */
#include <winsock2.h>
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <gnutls/gnutls.h>

#include "daemon_run.h"
#include "keyproc.h"
#include "listener_win32.h"
#include "service_win32.h"
#include "tplog.h"

#define PIPE_PREFIX "\\\\.\\pipe\\"

static HANDLE stop_event, reload_event;

static void usage(FILE *f)
{
	fprintf(f, "usage: tlspool-daemon [-c CONFIG] [-f] [-t] [-l LEVEL]\n"
		"       tlspool-daemon --install-service [-c CONFIG]\n"
		"       tlspool-daemon --start-service | --stop-service\n"
		"       tlspool-daemon --uninstall-service\n"
		"  -c CONFIG  configuration file (default: embedded defaults)\n"
		"  -f         console mode (the default from a command line):\n"
		"             log to stderr, Ctrl+C stops\n"
		"  -t         check the configuration and exit\n"
		"  -l LEVEL   log level (error, warning, notice, info, debug)\n");
}

static BOOL WINAPI on_console(DWORD ev)
{
	switch (ev) {
	case CTRL_C_EVENT:
	case CTRL_BREAK_EVENT:
	case CTRL_CLOSE_EVENT:
	case CTRL_SHUTDOWN_EVENT:
		SetEvent(stop_event);
		return TRUE;
	default:
		return FALSE;
	}
}

void daemon_win32_stop(void)
{
	SetEvent(stop_event);
}

void daemon_win32_reload(void)
{
	SetEvent(reload_event);
}

/* The pipe to serve: socket_name when it names a pipe. */
static const char *pipe_name(const struct dconfig *c)
{
	if (c->socket_name != NULL &&
	    _strnicmp(c->socket_name, PIPE_PREFIX, strlen(PIPE_PREFIX)) == 0)
		return c->socket_name;
	tplog(LOG_WARNING, "socket_name %s is not a pipe name (\\\\.\\pipe\\"
	      "NAME); serving %s", c->socket_name ? c->socket_name : "(none)",
	      LISTENER_WIN32_DEFAULT_PIPE);
	return LISTENER_WIN32_DEFAULT_PIPE;
}

/* Until stopped: reloads, and the key process looked after (there is
 * no SIGCHLD: its end is seen within a second). */
static void wait_for_stop(void)
{
	HANDLE ev[2] = { stop_event, reload_event };
	ULONGLONG restart_at = 0;

	for (;;) {
		DWORD w = WaitForMultipleObjects(2, ev, FALSE, 1000);
		int delay;

		if (w == WAIT_OBJECT_0 + 1) {
			daemon_run_reload();
			continue;
		}
		if (w == WAIT_OBJECT_0) {
			tplog(LOG_NOTICE, "stop requested: draining and "
			      "stopping");
			return;
		}
		if (restart_at != 0 && GetTickCount64() < restart_at)
			continue;
		delay = restart_at != 0 ? keyproc_restart() : keyproc_reap();
		restart_at = delay > 0 ? GetTickCount64() + 1000ULL * delay
				       : 0;
	}
}

/* The key process: this executable with --key-process; one connection
 * per worker, one for the main thread (-t: that one only). */
static int start_keyproc(const struct dconfig *c, int check)
{
	WCHAR wexe[MAX_PATH];
	char exe[3 * MAX_PATH];
	SYSTEM_INFO si;
	struct keyproc_opts o = {
		.exe = exe,
		.log_level = c->log_level,
		.log_stderr = 1,
		.null_stdio = 0,
	};
	DWORD n = GetModuleFileNameW(NULL, wexe, MAX_PATH);

	GetSystemInfo(&si);
	o.conns = check ? 1 : (c->workers ? c->workers
					  : si.dwNumberOfProcessors) + 1;
	if (n == 0 || n >= MAX_PATH ||
	    !WideCharToMultiByte(CP_UTF8, 0, wexe, -1, exe, sizeof(exe), NULL,
				 NULL)) {
		tplog(LOG_ERR, "key process: cannot name this executable");
		return -ENOENT;
	}
	return keyproc_start(&o);
}

static struct daemon_run_ops ops = {
	.level_override = -1,
	.start_keyproc = start_keyproc,
};
static const char *config_path;

int daemon_win32_run(void (*started)(void))
{
	const char *pipe;
	char err[512];

	stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	reload_event = CreateEventW(NULL, FALSE, FALSE, NULL);
	if (stop_event == NULL || reload_event == NULL)
		return 1;
	if (daemon_run_load(&ops, config_path) < 0)
		return 1;
	if (daemon_run_start() < 0) {
		daemon_run_free();
		return 1;
	}
	pipe = pipe_name(daemon_run_config());
	if (listener_win32_start(pipe, err, sizeof(err)) < 0) {
		tplog(LOG_ERR, "%s", err);
		daemon_run_stop();
		daemon_run_free();
		return 1;
	}
	daemon_run_started(pipe);
	if (started != NULL)
		started();
	wait_for_stop();
	listener_win32_stop();
	daemon_run_stop();
	daemon_run_free();
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_run_args a;
	const char *path;
	int service = 0, install = 0, uninstall = 0, start = 0, stop = 0, rc;
	WSADATA wsa;

	if (argc > 1 && strcmp(argv[1], "--key-process") == 0)
		return keyproc_main(argc, argv);
	for (int i = 1; i < argc; i++) {
		int *flag = strcmp(argv[i], "--service") == 0 ? &service :
			    strcmp(argv[i], "--install-service") == 0 ? &install :
			    strcmp(argv[i], "--start-service") == 0 ? &start :
			    strcmp(argv[i], "--stop-service") == 0 ? &stop :
			    strcmp(argv[i], "--uninstall-service") == 0 ?
			    &uninstall : NULL;

		if (flag == NULL)
			continue;
		*flag = 1;
		for (int j = i; j < argc - 1; j++)
			argv[j] = argv[j + 1];
		argc--;
		i--;
	}
	rc = daemon_run_args(argc, argv, &a);
	if (rc > 0) {
		usage(stdout);
		return 0;
	}
	if (rc < 0 || install + start + stop + uninstall + service + a.check > 1) {
		usage(stderr);
		return 2;
	}
	/* -f: console mode is the default off-service */
	ops.level_override = a.level;
	path = a.path;
	if (install)
		return service_win32_install(path);
	if (start)
		return service_win32_start();
	if (stop)
		return service_win32_stop();
	if (uninstall)
		return service_win32_uninstall();
	tplog_init("tlspool-daemon", 1, LOG_NOTICE);
	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
		return 1;
	gnutls_global_init();
	config_path = path;
	if (a.check) {
		rc = daemon_run_check(&ops, path);
	} else if (service) {
		rc = service_win32_dispatch(path);
	} else {
		SetConsoleCtrlHandler(on_console, TRUE);
		rc = daemon_win32_run(NULL);
	}
	gnutls_global_deinit();
	WSACleanup();
	return rc;
}

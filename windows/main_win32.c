/* tlspool-daemon.exe -- the pool on Windows: console mode (-f, or any
 * start from a command line) and service mode (--service, as the service
 * control manager starts it), plus --install-service, --start-service,
 * --stop-service and --uninstall-service.
 *
 * The same modules as on Linux; the platform parts are the named pipe
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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <gnutls/gnutls.h>

#include "cred.h"
#include "credwatch.h"
#include "ctlconn.h"
#include "dconfig.h"
#include "keyproc.h"
#include "listener_win32.h"
#include "onthefly.h"
#include "policydb.h"
#include "priority.h"
#include "service_win32.h"
#include "session.h"
#include "tplog.h"
#include "worker.h"

#define DRAIN_MS 10000
#define PIPE_PREFIX "\\\\.\\pipe\\"

static struct dconfig cfg;
static struct policydb *pdb;
static int level_override = -1;
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

static int open_policy(const struct dconfig *c)
{
	char err[512];
	int rc;

	if (c->dbenv_dir == NULL)
		return 0;
	rc = policydb_open(&pdb, c->dbenv_dir, POLICYDB_CREATE, err,
			   sizeof(err));
	if (rc < 0) {
		tplog(LOG_ERR, "policy databases: %s", err);
		return rc;
	}
	session_set_policydb(pdb);
	return 0;
}

static int load_config(const char *path, struct dconfig *c)
{
	char err[512] = "";
	int rc = dconfig_load(c, path, err, sizeof(err));

	if (rc < 0) {
		tplog(LOG_ERR, "%s", err);
		return rc;
	}
	if (level_override >= 0)
		c->log_level = level_override;
	return 0;
}

/* Embedded defaults: a local CA and an identity for this host, made by
 * the key process so that this process never holds the generated keys. */
static int prepare_identity(struct dconfig *c, char *err, size_t errlen)
{
	char host[256];

	if (!c->generate_identity)
		return 0;
	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (c->default_localid == NULL) {
		c->default_localid = strdup(host);
		if (c->default_localid == NULL) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return keyproc_idgen(c->state_dir, c->localid_dir, host, err, errlen);
}

static int load_creds(struct dconfig *c, struct cred_store **store,
		      int make_identity)
{
	char err[512] = "";
	int rc = make_identity ? prepare_identity(c, err, sizeof(err)) : 0;

	if (rc == 0)
		rc = onthefly_configure(c, err, sizeof(err));
	if (rc == 0)
		rc = cred_store_load_db(store, c, pdb, err, sizeof(err));
	if (rc < 0)
		tplog(LOG_ERR, "%s", err);
	return rc;
}

static void forget_config(const struct dconfig *c)
{
	if (c != NULL && c != &cfg) {
		dconfig_free((struct dconfig *)c);
		free((struct dconfig *)c);
	}
}

static void reload(void)
{
	struct dconfig *n = calloc(1, sizeof(*n));
	struct cred_store *store = NULL;

	if (n == NULL || !keyproc_available() ||
	    load_config(cfg.config_file, n) < 0) {
		tplog(LOG_ERR, "reload failed; keeping the running "
		      "configuration");
		free(n);
		return;
	}
	if (load_creds(n, &store, 1) < 0) {
		tplog(LOG_ERR, "reload failed; keeping the running "
		      "configuration");
		dconfig_free(n);
		free(n);
		return;
	}
	tplog_set_level(n->log_level);
	ctlconn_set_facilities(n->facilities);
	forget_config(credwatch_apply(n, store));
	tplog(LOG_NOTICE, "reloaded: %zu local identities", cred_count(store));
	cred_store_unref(store);
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

static void drain(void)
{
	for (int waited = 0; waited < DRAIN_MS && session_count() > 0;
	     waited += 50)
		Sleep(50);
	if (session_count() > 0)
		tplog(LOG_NOTICE, "stopping with %u sessions still open",
		      session_count());
	ctlconn_close_all();
	session_end_all();
	for (int waited = 0; waited < 2000 &&
	     (session_count() > 0 || ctlconn_count() > 0); waited += 20)
		Sleep(20);
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
			reload();
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

/* The key process: this executable with --key-process. */
static int start_keyproc(const struct dconfig *c)
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

	/* one connection per worker, one for the main thread */
	GetSystemInfo(&si);
	o.conns = (c->workers ? c->workers : si.dwNumberOfProcessors) + 1;
	if (n == 0 || n >= MAX_PATH ||
	    !WideCharToMultiByte(CP_UTF8, 0, wexe, -1, exe, sizeof(exe), NULL,
				 NULL)) {
		tplog(LOG_ERR, "key process: cannot name this executable");
		return -ENOENT;
	}
	return keyproc_start(&o);
}

int daemon_win32_run(void (*started)(void))
{
	struct cred_store *store = NULL;
	char err[512];
	int rc = 1;

	stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	reload_event = CreateEventW(NULL, FALSE, FALSE, NULL);
	if (stop_event == NULL || reload_event == NULL)
		return 1;
	if (load_config(cfg.config_file, &cfg) < 0)
		return 1;
	tplog_set_level(cfg.log_level);
	if (start_keyproc(&cfg) < 0)
		goto out_cfg;
	if (open_policy(&cfg) < 0)
		goto out_keyproc;
	if (load_creds(&cfg, &store, 1) < 0)
		goto out_policy;
	ctlconn_set_facilities(cfg.facilities);
	credwatch_apply(&cfg, store);
	if (pdb != NULL && credwatch_start(pdb) < 0) {
		tplog(LOG_ERR, "cannot start the credential watcher");
		goto out_watch;
	}
	if (worker_start_all(cfg.workers) < 0) {
		tplog(LOG_ERR, "cannot start workers");
		goto out_watch;
	}
	if (listener_win32_start(pipe_name(&cfg), err, sizeof(err)) < 0) {
		tplog(LOG_ERR, "%s", err);
		goto out_workers;
	}
	tplog(LOG_NOTICE, "listening on %s with %zu local identities%s%s",
	      pipe_name(&cfg), cred_count(store),
	      cfg.default_localid ? ", default " : "",
	      cfg.default_localid ? cfg.default_localid : "");
	cred_store_unref(store);
	store = NULL;
	if (started != NULL)
		started();
	wait_for_stop();
	rc = 0;
	listener_win32_stop();
	drain();
out_workers:
	worker_stop_all();
out_watch:
	forget_config(credwatch_stop());
	session_config_clear();
	priority_clear();
	cred_store_unref(store);
out_policy:
	if (pdb != NULL)
		policydb_close(pdb);
	pdb = NULL;
out_keyproc:
	onthefly_clear();
	keyproc_stop();
out_cfg:
	dconfig_free(&cfg);
	return rc;
}

static int check_config(const char *path)
{
	struct cred_store *store;
	struct dconfig c;
	int rc;

	if (load_config(path, &c) < 0)
		return 1;
	c.workers = 1;
	rc = start_keyproc(&c);
	if (rc == 0)
		rc = load_creds(&c, &store, 0);
	if (rc == 0) {
		printf("%s: configuration OK, %zu local identities\n",
		       path ? path : "embedded defaults", cred_count(store));
		cred_store_unref(store);
	}
	onthefly_clear();
	keyproc_stop();
	dconfig_free(&c);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int foreground = 0, check = 0, service = 0, install = 0;
	int uninstall = 0, start = 0, stop = 0, opt, rc;
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
	while ((opt = getopt(argc, argv, "c:ftl:h")) != -1) {
		switch (opt) {
		case 'l':
			level_override = tplog_parse_level(optarg);
			if (level_override < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'c': path = optarg; break;
		case 'f': foreground = 1; break;
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || install + start + stop + uninstall + service + check > 1) {
		usage(stderr);
		return 2;
	}
	(void)foreground;	/* console mode is the default off-service */
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
	cfg.config_file = path ? strdup(path) : NULL;
	if (check) {
		rc = check_config(path);
	} else if (service) {
		rc = service_win32_dispatch(path);
	} else {
		SetConsoleCtrlHandler(on_console, TRUE);
		rc = daemon_win32_run(NULL);
	}
	free(cfg.config_file);
	gnutls_global_deinit();
	WSACleanup();
	return rc;
}

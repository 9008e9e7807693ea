/* tlspool-daemon -- the pool: start, reload, drain and stop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "cred.h"
#include "credwatch.h"
#include "ctlconn.h"
#include "dconfig.h"
#include "dnssec.h"
#include "keyproc.h"
#include "listener.h"
#include "onthefly.h"
#include "policydb.h"
#include "priority.h"
#include "session.h"
#include "tplog.h"
#include "worker.h"

#define DRAIN_MS 10000

static struct dconfig cfg;
static struct policydb *pdb;

/* The policy databases, when configured (created on first use). */
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
static int sigfd = -1;
static int level_override = -1;
static int ready_fd = -1;	/* start-up status to the waiting parent */

static void usage(FILE *f)
{
	fprintf(f, "usage: tlspool-daemon [-c CONFIG] [-f] [-t] [-l LEVEL]\n"
		"  -c CONFIG  configuration file (default: embedded defaults)\n"
		"  -f         stay in the foreground, log to stderr\n"
		"  -t         check the configuration and exit\n"
		"  -l LEVEL   log level (error, warning, notice, info, debug),\n"
		"             overriding log_level\n");
}

/* Embedded defaults: a local CA and an identity for this host, made by
 * the key process so that this process never holds the generated keys. */
static int prepare_identity(struct dconfig *c, char *err, size_t errlen)
{
	char host[256];

	if (!c->generate_identity)
		return 0;
	if (gethostname(host, sizeof(host) - 1) < 0)
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

static int load_config(const char *path, struct dconfig *c)
{
	char err[512] = "";
	int rc;

	rc = dconfig_load(c, path, err, sizeof(err));
	if (rc < 0) {
		tplog(LOG_ERR, "%s", err);
		return rc;
	}
	if (level_override >= 0)
		c->log_level = level_override;
	return 0;
}

/* Credentials from the files and the policy databases (keys through
 * the key process, which must run). */
static int load_creds(struct dconfig *c, struct cred_store **store,
		      int make_identity)
{
	char err[512] = "";
	int rc;

	rc = make_identity ? prepare_identity(c, err, sizeof(err)) : 0;
	if (rc == 0)	/* LOCALID_ONTHEFLY's CA, in the key process */
		rc = onthefly_configure(c, err, sizeof(err));
	if (rc == 0)
		rc = cred_store_load_db(store, c, pdb, err, sizeof(err));
	if (rc < 0)
		tplog(LOG_ERR, "%s", err);
	return rc;
}

/* Load config and credentials into *c and *store; 0 or -errno. */
static int load_all(const char *path, struct dconfig *c,
		    struct cred_store **store, int make_identity)
{
	int rc;

	rc = load_config(path, c);
	if (rc < 0)
		return rc;
	rc = load_creds(c, store, make_identity);
	if (rc < 0)
		dconfig_free(c);
	return rc;
}

/* A configuration that credwatch no longer holds: free it, unless it is
 * the start-up one (cfg), which run() frees. */
static void forget_config(const struct dconfig *c)
{
	if (c != NULL && c != &cfg) {
		dconfig_free((struct dconfig *)c);
		free((struct dconfig *)c);
	}
}

/* SIGHUP: configuration, files and databases read anew; the previous
 * ones stay in force when anything fails. */
static void reload(void)
{
	struct dconfig *n = calloc(1, sizeof(*n));
	struct cred_store *store = NULL;

	/* Without the key process no identity would load. */
	if (n == NULL || !keyproc_available() ||
	    load_all(cfg.config_file, n, &store, 1) < 0) {
		tplog(LOG_ERR, "reload failed%s; keeping the running "
		      "configuration", keyproc_available() ? "" :
		      " (key process unavailable)");
		free(n);
		return;
	}
	if (!keyproc_available()) {
		tplog(LOG_ERR, "reload failed (key process unavailable); "
		      "keeping the running configuration");
		cred_store_unref(store);
		dconfig_free(n);
		free(n);
		return;
	}
	if (strcmp(n->socket_name, cfg.socket_name) != 0)
		tplog(LOG_WARNING, "socket_name changes need a restart");
	if ((n->dbenv_dir == NULL) != (cfg.dbenv_dir == NULL) ||
	    (n->dbenv_dir && strcmp(n->dbenv_dir, cfg.dbenv_dir) != 0))
		tplog(LOG_WARNING, "dbenv_dir changes need a restart");
	tplog_set_level(n->log_level);
	ctlconn_set_facilities(n->facilities);
	forget_config(credwatch_apply(n, store));
	tplog(LOG_NOTICE, "reloaded: %zu local identities", cred_count(store));
	cred_store_unref(store);
}

/* SIGCHLD: the key process ended, restart it; SIGALRM: retry that. */
static void key_process_event(unsigned signo)
{
	int delay = signo == SIGCHLD ? keyproc_reap() : keyproc_restart();

	if (delay > 0)
		alarm((unsigned)delay);
}

static int on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload();
			continue;
		}
		if (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGALRM) {
			key_process_event(si.ssi_signo);
			continue;
		}
		tplog(LOG_NOTICE, "signal %u: draining and stopping",
		      si.ssi_signo);
		return 1;
	}
	return 0;
}

/* The key process first, then this one, to the same user and group. */
static int drop_privileges(const struct dconfig *c)
{
	struct group *gr = NULL;
	struct passwd *pw = NULL;

	if (c->daemon_group != NULL && (gr = getgrnam(c->daemon_group)) == NULL)
		goto bad_group;
	if (c->daemon_user != NULL && (pw = getpwnam(c->daemon_user)) == NULL)
		goto bad_user;
	if ((gr != NULL || pw != NULL) &&
	    keyproc_drop_privileges(pw ? pw->pw_uid : (uid_t)-1,
				    gr ? gr->gr_gid : (gid_t)-1) < 0) {
		tplog(LOG_ERR, "key process: cannot switch to daemon_user/"
		      "daemon_group");
		return -EPERM;
	}
	if (gr != NULL && (setgroups(0, NULL) < 0 || setgid(gr->gr_gid) < 0))
		goto bad_group;
	if (pw != NULL && setuid(pw->pw_uid) < 0)
		goto bad_user;
	return 0;
bad_group:
	tplog(LOG_ERR, "daemon_group %s: cannot switch", c->daemon_group);
	return -EPERM;
bad_user:
	tplog(LOG_ERR, "daemon_user %s: cannot switch", c->daemon_user);
	return -EPERM;
}

/* daemon(3), except that the parent waits for the start-up status (see
 * background_ready) and exits with it: a failed start fails the command
 * that started the daemon, with its messages on that command's stderr.
 * Forking here, before the key process is started, keeps the key
 * process a child of the daemon. */
static int background(void)
{
	char st = 1;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &st, 1) < 0 && errno == EINTR)
			;
		_exit(st);
	}
	close(p[0]);
	ready_fd = p[1];
	return setsid() < 0 ? -errno : 0;
}

/* Started: detach from the terminal and let the waiting parent exit 0. */
static void background_ready(void)
{
	char st = 0;
	int fd;

	if (ready_fd < 0)
		return;
	fd = open("/dev/null", O_RDWR);
	if (chdir("/") < 0 || fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0)
		tplog(LOG_WARNING, "detaching from the terminal: %s",
		      strerror(errno));
	if (fd > 2)
		close(fd);
	if (write(ready_fd, &st, 1) != 1)
		tplog(LOG_WARNING, "start-up status: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

/* One pool connection per worker, one for the main thread. */
static int start_keyproc(const struct dconfig *c, int foreground)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct keyproc_opts o = {
		.exe = "/proc/self/exe",
		.conns = (c->workers ? c->workers
				     : cpus > 0 ? (unsigned)cpus : 1) + 1,
		.log_level = c->log_level,
		.log_stderr = foreground || c->log_stderr,
		.null_stdio = !foreground,
	};

	return keyproc_start(&o);
}

static void write_pidfile(const char *path)
{
	FILE *f = fopen(path, "we");

	if (f == NULL) {
		tplog(LOG_WARNING, "pid file %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);	/* the key process */
	sigaddset(&set, SIGALRM);	/* its restart, delayed */
	/* Blocked before any thread starts, so only signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return sigfd < 0 ? -errno : 0;
}

static void wait_until_idle(int ms)
{
	for (int waited = 0; waited < ms &&
	     (session_count() > 0 || ctlconn_count() > 0); waited += 20)
		usleep(20000);
}

/* Let sessions finish, then end what remains, on the workers. */
static void drain(void)
{
	for (int waited = 0; waited < DRAIN_MS && session_count() > 0;
	     waited += 50)
		usleep(50000);
	if (session_count() > 0)
		tplog(LOG_NOTICE, "stopping with %u sessions still open",
		      session_count());
	ctlconn_close_all();
	session_end_all();
	wait_until_idle(2000);
}

static int run(int foreground)
{
	struct cred_store *store = NULL;
	char err[512];
	int lfd, rc = 1;

	if (load_config(cfg.config_file, &cfg) < 0)
		return 1;
	/* stderr until started (background_ready), then as configured */
	tplog_set_level(cfg.log_level);
	lfd = listener_open(&cfg, err, sizeof(err));
	if (lfd < 0) {
		tplog(LOG_ERR, "%s", err);
		goto out_cfg;
	}
	if (!foreground && (rc = background()) < 0) {
		tplog(LOG_ERR, "cannot go to the background: %s",
		      strerror(-rc));
		rc = 1;
		goto out_listener;
	}
	rc = 1;
	if (setup_signals() < 0 || start_keyproc(&cfg, foreground) < 0)
		goto out_listener;
	if (open_policy(&cfg) < 0)
		goto out_keyproc;
	if (load_creds(&cfg, &store, 1) < 0)
		goto out_policy;
	if (drop_privileges(&cfg) < 0)
		goto out_store;
	write_pidfile(cfg.pid_file);
	ctlconn_set_facilities(cfg.facilities);
	credwatch_apply(&cfg, store);
	/* identities and anchors from the databases follow them live */
	if (pdb != NULL && credwatch_start(pdb) < 0) {
		tplog(LOG_ERR, "cannot start the credential watcher");
		goto out_watch;
	}
	if (worker_start_all(cfg.workers) < 0) {
		tplog(LOG_ERR, "cannot start workers");
		goto out_watch;
	}
	tplog(LOG_NOTICE, "listening on %s with %zu local identities%s%s",
	      cfg.socket_name, cred_count(store),
	      cfg.default_localid ? ", default " : "",
	      cfg.default_localid ? cfg.default_localid : "");
	cred_store_unref(store);	/* credwatch holds the one in force */
	store = NULL;
	background_ready();
	tplog_init("tlspool-daemon", foreground || cfg.log_stderr,
		   cfg.log_level);
	rc = listener_run(lfd, sigfd, on_signal) < 0 ? 1 : 0;
	listener_close(lfd, &cfg);
	lfd = -1;
	drain();
	worker_stop_all();
	dnssec_shutdown();
out_watch:
	forget_config(credwatch_stop());
	session_config_clear();
	priority_clear();
	unlink(cfg.pid_file);
out_store:
	cred_store_unref(store);
out_policy:
	if (pdb != NULL)
		policydb_close(pdb);
	pdb = NULL;
out_keyproc:
	onthefly_clear();
	keyproc_stop();
out_listener:
	if (lfd >= 0)
		listener_close(lfd, &cfg);
out_cfg:
	dconfig_free(&cfg);
	return rc;
}

/* -t: load everything as the daemon would, then say so. */
static int check_config(const char *path)
{
	struct keyproc_opts o = { .exe = "/proc/self/exe", .conns = 1,
				  .log_stderr = 1 };
	struct cred_store *store;
	struct dconfig c;
	int rc;

	if (load_config(path, &c) < 0)
		return 1;
	o.log_level = c.log_level;
	rc = keyproc_start(&o);
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
	int foreground = 0, check = 0, opt, rc;

	if (argc > 1 && strcmp(argv[1], "--key-process") == 0)
		return keyproc_main(argc, argv);
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
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	tplog_init("tlspool-daemon", 1, LOG_NOTICE);
	gnutls_global_init();
	cfg.config_file = path ? strdup(path) : NULL;
	if (check) {
		rc = check_config(path);
		free(cfg.config_file);
		gnutls_global_deinit();
		return rc;
	}
	{
		char *p = cfg.config_file;

		rc = run(foreground);
		free(p);
	}
	gnutls_global_deinit();
	return rc;
}

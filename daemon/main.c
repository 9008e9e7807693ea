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
#include "ctlconn.h"
#include "dconfig.h"
#include "idgen.h"
#include "listener.h"
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

static void usage(FILE *f)
{
	fprintf(f, "usage: tlspool-daemon [-c CONFIG] [-f] [-t] [-l LEVEL]\n"
		"  -c CONFIG  configuration file (default: embedded defaults)\n"
		"  -f         stay in the foreground, log to stderr\n"
		"  -t         check the configuration and exit\n"
		"  -l LEVEL   log level (error, warning, notice, info, debug),\n"
		"             overriding log_level\n");
}

/* Embedded defaults: a local CA and an identity for this host. */
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
		if (c->default_localid == NULL)
			return -ENOMEM;
	}
	return idgen_ensure(c->state_dir, c->localid_dir, host, err, errlen);
}

/* Load config and credentials into *c and *store; 0 or -errno. */
static int load_all(const char *path, struct dconfig *c,
		    struct cred_store **store, int make_identity)
{
	char err[512];
	int rc;

	rc = dconfig_load(c, path, err, sizeof(err));
	if (rc < 0)
		goto fail;
	if (level_override >= 0)
		c->log_level = level_override;
	rc = make_identity ? prepare_identity(c, err, sizeof(err)) : 0;
	if (rc < 0)
		goto fail_cfg;
	rc = cred_store_load(store, c, err, sizeof(err));
	if (rc < 0)
		goto fail_cfg;
	return 0;
fail_cfg:
	dconfig_free(c);
fail:
	tplog(LOG_ERR, "%s", err);
	return rc;
}

static void reload(void)
{
	struct dconfig n;
	struct cred_store *store;

	if (load_all(cfg.config_file, &n, &store, 1) < 0) {
		tplog(LOG_ERR, "reload failed; keeping the running configuration");
		return;
	}
	if (strcmp(n.socket_name, cfg.socket_name) != 0)
		tplog(LOG_WARNING, "socket_name changes need a restart");
	if ((n.dbenv_dir == NULL) != (cfg.dbenv_dir == NULL) ||
	    (n.dbenv_dir && strcmp(n.dbenv_dir, cfg.dbenv_dir) != 0))
		tplog(LOG_WARNING, "dbenv_dir changes need a restart");
	tplog_set_level(n.log_level);
	ctlconn_set_facilities(n.facilities);
	session_set_config(&n, store);
	cred_store_unref(store);
	tplog(LOG_NOTICE, "reloaded: %zu local identities", cred_count(store));
	dconfig_free(&n);
}

static int on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload();
			continue;
		}
		tplog(LOG_NOTICE, "signal %u: draining and stopping",
		      si.ssi_signo);
		return 1;
	}
	return 0;
}

static int drop_privileges(const struct dconfig *c)
{
	if (c->daemon_group != NULL) {
		struct group *gr = getgrnam(c->daemon_group);

		if (gr == NULL || setgroups(0, NULL) < 0 ||
		    setgid(gr->gr_gid) < 0) {
			tplog(LOG_ERR, "daemon_group %s: cannot switch",
			      c->daemon_group);
			return -EPERM;
		}
	}
	if (c->daemon_user != NULL) {
		struct passwd *pw = getpwnam(c->daemon_user);

		if (pw == NULL || setuid(pw->pw_uid) < 0) {
			tplog(LOG_ERR, "daemon_user %s: cannot switch",
			      c->daemon_user);
			return -EPERM;
		}
	}
	return 0;
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
	struct cred_store *store;
	char err[512];
	int lfd, rc;

	if (load_all(cfg.config_file, &cfg, &store, 1) < 0)
		return 1;
	tplog_init("tlspool-daemon", foreground || cfg.log_stderr,
		   cfg.log_level);
	lfd = listener_open(&cfg, err, sizeof(err));
	if (lfd < 0) {
		tplog(LOG_ERR, "%s", err);
		rc = 1;
		goto out_store;
	}
	if (open_policy(&cfg) < 0 || drop_privileges(&cfg) < 0 ||
	    setup_signals() < 0) {
		rc = 1;
		goto out_listener;
	}
	if (!foreground && daemon(0, 0) < 0) {
		tplog(LOG_ERR, "daemon: %s", strerror(errno));
		rc = 1;
		goto out_listener;
	}
	write_pidfile(cfg.pid_file);
	ctlconn_set_facilities(cfg.facilities);
	session_set_config(&cfg, store);
	if (worker_start_all(cfg.workers) < 0) {
		tplog(LOG_ERR, "cannot start workers");
		rc = 1;
		goto out_pid;
	}
	tplog(LOG_NOTICE, "listening on %s with %zu local identities%s%s",
	      cfg.socket_name, cred_count(store),
	      cfg.default_localid ? ", default " : "",
	      cfg.default_localid ? cfg.default_localid : "");
	rc = listener_run(lfd, sigfd, on_signal) < 0 ? 1 : 0;
	listener_close(lfd, &cfg);
	lfd = -1;
	drain();
	worker_stop_all();
	session_config_clear();
	priority_clear();
out_pid:
	unlink(cfg.pid_file);
out_listener:
	if (lfd >= 0)
		listener_close(lfd, &cfg);
	if (pdb != NULL)
		policydb_close(pdb);
out_store:
	cred_store_unref(store);
	dconfig_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int foreground = 0, check = 0, opt, rc;

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
		struct cred_store *store;
		struct dconfig c;

		if (load_all(path, &c, &store, 0) < 0)
			return 1;
		printf("%s: configuration OK, %zu local identities\n",
		       path ? path : "embedded defaults", cred_count(store));
		cred_store_unref(store);
		dconfig_free(&c);
		return 0;
	}
	{
		char *p = cfg.config_file;

		rc = run(foreground);
		free(p);
	}
	gnutls_global_deinit();
	return rc;
}

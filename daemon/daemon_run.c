/* daemon_run -- the daemon's platform-neutral start-up, reload and stop
 * (see daemon_run.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cred.h"
#include "credwatch.h"
#include "ctlconn.h"
#include "daemon_run.h"
#include "dnssec.h"
#include "keyproc.h"
#include "onthefly.h"
#include "policydb.h"
#include "priority.h"
#include "session.h"
#include "tplog.h"
#include "worker.h"

#define DRAIN_MS 10000

static const struct daemon_run_ops *ops;
static struct dconfig cfg;
static struct policydb *pdb;
static struct cred_store *start_store;	/* until daemon_run_started */

int daemon_run_args(int argc, char **argv, struct daemon_run_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	a->level = -1;
	while ((opt = getopt(argc, argv, "c:ftl:h")) != -1) {
		switch (opt) {
		case 'l':
			a->level = tplog_parse_level(optarg);
			if (a->level < 0)
				return -1;
			break;
		case 'c': a->path = optarg; break;
		case 'f': a->foreground = 1; break;
		case 't': a->check = 1; break;
		case 'h': return 1;
		default: return -1;
		}
	}
	return optind != argc ? -1 : 0;
}

struct dconfig *daemon_run_config(void)
{
	return &cfg;
}

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

static void close_policy(void)
{
	if (pdb != NULL)
		policydb_close(pdb);
	pdb = NULL;
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
	if (ops->level_override >= 0)
		c->log_level = ops->level_override;
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
 * the start-up one (cfg), which daemon_run_free frees. */
static void forget_config(const struct dconfig *c)
{
	if (c != NULL && c != &cfg) {
		dconfig_free((struct dconfig *)c);
		free((struct dconfig *)c);
	}
}

int daemon_run_load(const struct daemon_run_ops *o, const char *path)
{
	int rc;

	ops = o;
	rc = load_config(path, &cfg);
	if (rc < 0)
		return rc;
	tplog_set_level(cfg.log_level);
	return 0;
}

void daemon_run_free(void)
{
	dconfig_free(&cfg);
}

int daemon_run_start(void)
{
	int rc;

	rc = ops->start_keyproc(&cfg, 0);
	if (rc < 0)
		return rc;
	rc = open_policy(&cfg);
	if (rc < 0)
		goto out_keyproc;
	rc = load_creds(&cfg, &start_store, 1);
	if (rc < 0)
		goto out_policy;
	if (ops->confine != NULL && (rc = ops->confine(&cfg)) < 0)
		goto out_store;
	ctlconn_set_facilities(cfg.facilities);
	credwatch_apply(&cfg, start_store);
	/* identities and anchors from the databases follow them live */
	if (pdb != NULL && (rc = credwatch_start(pdb)) < 0) {
		tplog(LOG_ERR, "cannot start the credential watcher");
		goto out_watch;
	}
	rc = worker_start_all(cfg.workers);
	if (rc < 0) {
		tplog(LOG_ERR, "cannot start workers");
		goto out_watch;
	}
	return 0;
out_watch:
	forget_config(credwatch_stop());
	session_config_clear();
	priority_clear();
out_store:
	cred_store_unref(start_store);
	start_store = NULL;
out_policy:
	close_policy();
out_keyproc:
	onthefly_clear();
	keyproc_stop();
	return rc;
}

void daemon_run_started(const char *where)
{
	tplog(LOG_NOTICE, "listening on %s with %zu local identities%s%s",
	      where, cred_count(start_store),
	      cfg.default_localid ? ", default " : "",
	      cfg.default_localid ? cfg.default_localid : "");
	cred_store_unref(start_store);	/* credwatch holds the one in force */
	start_store = NULL;
}

void daemon_run_reload(void)
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

void daemon_run_stop(void)
{
	drain();
	worker_stop_all();
	dnssec_shutdown();
	forget_config(credwatch_stop());
	session_config_clear();
	priority_clear();
	cred_store_unref(start_store);	/* stopped before started */
	start_store = NULL;
	close_policy();
	onthefly_clear();
	keyproc_stop();
}

int daemon_run_check(const struct daemon_run_ops *o, const char *path)
{
	struct cred_store *store;
	struct dconfig c;
	int rc;

	ops = o;
	if (load_config(path, &c) < 0)
		return 1;
	rc = ops->start_keyproc(&c, 1);
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

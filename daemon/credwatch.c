/* credwatch -- identities and anchors from the policy database, live.
 *
 * One lock orders every swap of the store in force: credwatch_apply
 * (SIGHUP, start) and the helper thread.  The thread builds a new store
 * without the lock and applies it only if the store it started from is
 * still the one in force.  Lock order: cw.lock, then session's.
 */
#include "credwatch.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cred.h"
#include "policydb.h"
#include "session.h"
#include "tplog.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int running, stop;
	clockid_t clock;		/* cond's: monotonic where supported */
	struct policydb *db;
	const struct dconfig *cfg;	/* in force */
	struct cred_store *store;	/* in force (a reference) */
	unsigned long refreshes;
} cw = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const struct dconfig *credwatch_apply(const struct dconfig *cfg,
				      struct cred_store *store)
{
	const struct dconfig *old;
	struct cred_store *prev;

	cred_store_ref(store);
	pthread_mutex_lock(&cw.lock);
	session_set_config(cfg, store);
	old = cw.cfg;
	prev = cw.store;
	cw.cfg = cfg;
	cw.store = store;
	pthread_mutex_unlock(&cw.lock);
	cred_store_unref(prev);
	return old;
}

/* A new store when the serial moved past base's: 0 with *out (NULL when
 * nothing changed), or -errno with err. */
static int refresh(struct cred_store *base, struct cred_store **out,
		   char *err, size_t errlen)
{
	uint64_t serial;
	int rc;

	*out = NULL;
	rc = policydb_serial(cw.db, &serial);
	if (rc == -EBADMSG)	/* reported; the next commit replaces it */
		return 0;
	if (rc < 0) {
		snprintf(err, errlen, "policy serial: %s", strerror(-rc));
		return rc;
	}
	if (serial == cred_store_serial(base))
		return 0;
	return cred_store_refresh(out, base, cw.db, err, errlen);
}

/* Put fresh in force if base still is; cw.lock held.  Returns the store
 * reference to drop. */
static struct cred_store *swap_in(struct cred_store *base,
				  struct cred_store *fresh, uint64_t ms)
{
	if (cw.stop || cw.store != base)
		return fresh;	/* replaced meanwhile: that one is newer */
	session_set_config(cw.cfg, fresh);
	cw.store = fresh;
	cw.refreshes++;
	tplog(LOG_INFO, "policy serial %" PRIu64 ": %zu local identities "
	      "(%zu from localid.db), %u trust anchors in force (read in "
	      "%" PRIu64 " ms)", cred_store_serial(fresh), cred_count(fresh),
	      cred_db_count(fresh), cred_anchor_count(fresh), ms);
	return base;
}

static void *watch(void *arg)
{
	uint64_t retry_at = 0;
	int failing = 0;

	(void)arg;
	pthread_mutex_lock(&cw.lock);
	while (!cw.stop) {
		struct cred_store *base, *fresh = NULL, *drop = NULL;
		struct timespec ts;
		uint64_t t0;
		char err[512] = "";
		int rc;

		clock_gettime(cw.clock, &ts);
		ts.tv_nsec += CREDWATCH_INTERVAL_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&cw.cond, &cw.lock, &ts);
		if (cw.stop || cw.store == NULL || now_ms() < retry_at)
			continue;
		base = cw.store;
		cred_store_ref(base);
		pthread_mutex_unlock(&cw.lock);
		t0 = now_ms();
		rc = refresh(base, &fresh, err, sizeof(err));
		if (rc < 0 && !failing)
			tplog(LOG_ERR, "credentials from the policy databases: "
			      "%s; keeping those in force, trying again", err);
		else if (rc == 0 && failing)
			tplog(LOG_NOTICE, "credentials from the policy "
			      "databases: read again");
		failing = rc < 0;
		retry_at = rc < 0 ? now_ms() + CREDWATCH_RETRY_MS : 0;
		pthread_mutex_lock(&cw.lock);
		if (fresh != NULL)
			drop = swap_in(base, fresh, now_ms() - t0);
		pthread_mutex_unlock(&cw.lock);
		/* outside the lock: freeing a store releases its keys */
		cred_store_unref(drop);
		cred_store_unref(base);
		pthread_mutex_lock(&cw.lock);
	}
	pthread_mutex_unlock(&cw.lock);
	return NULL;
}

int credwatch_start(struct policydb *db)
{
	pthread_condattr_t ca;
	int rc;

	if (db == NULL || cw.running)
		return -EINVAL;
	if (pthread_condattr_init(&ca) != 0)
		return -ENOMEM;
	/* winpthreads' conditions wait on the real-time clock only */
	cw.clock = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 ?
		   CLOCK_MONOTONIC : CLOCK_REALTIME;
	rc = pthread_cond_init(&cw.cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0)
		return -rc;
	cw.db = db;
	cw.stop = 0;
	rc = pthread_create(&cw.thread, NULL, watch, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&cw.cond);
		return -rc;
	}
	cw.running = 1;
	return 0;
}

const struct dconfig *credwatch_stop(void)
{
	const struct dconfig *cfg;
	struct cred_store *store;

	if (cw.running) {
		pthread_mutex_lock(&cw.lock);
		cw.stop = 1;
		pthread_cond_signal(&cw.cond);
		pthread_mutex_unlock(&cw.lock);
		pthread_join(cw.thread, NULL);
		pthread_cond_destroy(&cw.cond);
		cw.running = 0;
	}
	pthread_mutex_lock(&cw.lock);
	cfg = cw.cfg;
	store = cw.store;
	cw.cfg = NULL;
	cw.store = NULL;
	cw.db = NULL;
	pthread_mutex_unlock(&cw.lock);
	cred_store_unref(store);
	return cfg;
}

unsigned long credwatch_refreshes(void)
{
	unsigned long n;

	pthread_mutex_lock(&cw.lock);
	n = cw.refreshes;
	pthread_mutex_unlock(&cw.lock);
	return n;
}

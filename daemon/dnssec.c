/* dnssec -- DNSSEC-validated lookups through libunbound (see dnssec.h). */
#include "dnssec.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unbound.h>

#include "dnssec_watch.h"
#include "tplog.h"
#include "worker.h"

struct cache_ent {
	char name[DNSSEC_NAME_MAX];
	int type;
	uint64_t expires_ms;	/* 0: free */
	struct dnssec_answer a;
};

struct dns_ctx {
	struct dns_ctx *next;	/* all contexts, for dnssec_shutdown */
	struct worker *w;
	struct ub_ctx *ub;
	struct dnssec_watch *watch;	/* answers ready: ctx_ready */
	unsigned gen;		/* settings it was made from */
	unsigned pending;	/* queries not yet answered */
	int retired;		/* settings changed: free when idle */
	int processing;		/* inside ub_process: never free here */
	struct cache_ent *cache;	/* DNSSEC_CACHE_MAX */
};

struct dns_query {
	struct dns_ctx *c;
	void (*done)(void *arg, const struct dnssec_answer *a);
	void *arg;
	int type;
	char name[DNSSEC_NAME_MAX];
};

static struct {
	pthread_mutex_t lock;
	char *rootkey, *config, *forwarder;
	unsigned gen;
	struct dns_ctx *all;
} set = { .lock = PTHREAD_MUTEX_INITIALIZER, .gen = 1 };

static __thread struct dns_ctx *mine;

static char *dup_or_null(const char *s, int *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*oom = 1;
	return d;
}

static int same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	       (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int dnssec_configure(const char *rootkey, const char *config_file,
		     const char *forwarder)
{
	int oom = 0;
	char *r = dup_or_null(rootkey, &oom), *c = dup_or_null(config_file, &oom);
	char *f = dup_or_null(forwarder, &oom);

	if (oom) {
		free(r);
		free(c);
		free(f);
		return -ENOMEM;
	}
	pthread_mutex_lock(&set.lock);
	if (!same(set.rootkey, r) || !same(set.config, c) ||
	    !same(set.forwarder, f))
		set.gen++;	/* same settings: keep contexts and caches */
	free(set.rootkey);
	free(set.config);
	free(set.forwarder);
	set.rootkey = r;
	set.config = c;
	set.forwarder = f;
	pthread_mutex_unlock(&set.lock);
	return 0;
}

int dnssec_enabled(void)
{
	int on;

	pthread_mutex_lock(&set.lock);
	on = set.rootkey != NULL || set.config != NULL;
	pthread_mutex_unlock(&set.lock);
	return on;
}

const char *dnssec_security_name(enum dnssec_security sec)
{
	switch (sec) {
	case DNSSEC_SECURE: return "secure";
	case DNSSEC_INSECURE: return "insecure";
	case DNSSEC_BOGUS: return "bogus";
	default: return "failed";
	}
}

int dnssec_answer_copy(struct dnssec_answer *dst,
		       const struct dnssec_answer *src)
{
	*dst = *src;
	dst->wire = NULL;
	if (src->wire == NULL || src->wirelen == 0)
		return 0;
	dst->wire = malloc(src->wirelen);
	if (dst->wire == NULL)
		return -ENOMEM;
	memcpy(dst->wire, src->wire, src->wirelen);
	return 0;
}

void dnssec_answer_clear(struct dnssec_answer *a)
{
	free(a->wire);
	memset(a, 0, sizeof(*a));
}

/* ---- the per-worker cache ---- */

static struct cache_ent *cache_find(struct dns_ctx *c, const char *name,
				    int type)
{
	uint64_t now = worker_now_ms();

	for (unsigned i = 0; i < DNSSEC_CACHE_MAX; i++) {
		struct cache_ent *e = &c->cache[i];

		if (e->expires_ms == 0)
			continue;
		if (e->expires_ms <= now) {
			dnssec_answer_clear(&e->a);
			e->expires_ms = 0;
			continue;
		}
		if (e->type == type && strcasecmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

static void cache_put(struct dns_ctx *c, const char *name, int type,
		      const struct dnssec_answer *a)
{
	struct cache_ent *e = NULL, *oldest = &c->cache[0];
	unsigned ttl = a->ttl < DNSSEC_TTL_MAX ? a->ttl : DNSSEC_TTL_MAX;

	if (ttl == 0 || (a->sec != DNSSEC_SECURE && a->sec != DNSSEC_INSECURE))
		return;
	for (unsigned i = 0; i < DNSSEC_CACHE_MAX && e == NULL; i++) {
		if (c->cache[i].expires_ms == 0)
			e = &c->cache[i];
		else if (c->cache[i].expires_ms < oldest->expires_ms)
			oldest = &c->cache[i];
	}
	if (e == NULL)
		e = oldest;
	dnssec_answer_clear(&e->a);
	e->expires_ms = 0;
	if (dnssec_answer_copy(&e->a, a) < 0)
		return;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->type = type;
	e->expires_ms = worker_now_ms() + (uint64_t)ttl * 1000;
}

/* ---- contexts ---- */

static void ctx_free(struct dns_ctx *c)
{
	struct dns_ctx **pp;

	pthread_mutex_lock(&set.lock);
	for (pp = &set.all; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	pthread_mutex_unlock(&set.lock);
	dnssec_watch_stop(c->watch, c->w == NULL);
	if (c->ub != NULL)
		ub_ctx_delete(c->ub);
	for (unsigned i = 0; c->cache != NULL && i < DNSSEC_CACHE_MAX; i++)
		dnssec_answer_clear(&c->cache[i].a);
	free(c->cache);
	free(c);
}

/* The watch's ready call (dnssec_watch.h): 1 while answers are due. */
static int ctx_ready(void *arg)
{
	struct dns_ctx *c = arg;
	int rc;

	c->processing = 1;
	rc = ub_process(c->ub);
	c->processing = 0;
	if (rc != 0)
		tplog(LOG_WARNING, "DNSSEC: resolver: %s", ub_strerror(rc));
	if (c->retired && c->pending == 0) {
		ctx_free(c);
		return 0;
	}
	return c->pending > 0;
}

static int ub_setup(struct ub_ctx *ub, const char *rootkey,
		    const char *config, const char *fwd)
{
	int rc = ub_ctx_async(ub, 1);

	if (rc == 0 && config != NULL) {
		rc = ub_ctx_config(ub, config);
		if (rc != 0)
			tplog(LOG_ERR, "DNSSEC: resolver config %s: %s", config,
			      ub_strerror(rc));
	}
	if (rc == 0 && fwd != NULL) {
		/* A site resolver may well listen on the loopback. */
		rc = ub_ctx_set_option(ub, "do-not-query-localhost:", "no");
		if (rc == 0)
			rc = ub_ctx_set_fwd(ub, fwd);
		if (rc != 0)
			tplog(LOG_ERR, "DNSSEC: forwarder %s: %s", fwd,
			      ub_strerror(rc));
	}
	if (rc == 0 && rootkey != NULL) {
		rc = ub_ctx_add_ta_file(ub, rootkey);
		if (rc != 0)
			tplog(LOG_ERR, "DNSSEC: trust anchor %s: %s", rootkey,
			      ub_strerror(rc));
	}
	return rc == 0 ? 0 : -EINVAL;
}

static struct dns_ctx *ctx_new(struct worker *w)
{
	struct dns_ctx *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL)
		return NULL;
	c->w = w;
	c->cache = calloc(DNSSEC_CACHE_MAX, sizeof(*c->cache));
	c->ub = ub_ctx_create();
	if (c->cache == NULL || c->ub == NULL)
		goto fail;
	pthread_mutex_lock(&set.lock);
	c->gen = set.gen;
	rc = ub_setup(c->ub, set.rootkey, set.config, set.forwarder);
	if (rc == 0) {
		c->next = set.all;
		set.all = c;
	}
	pthread_mutex_unlock(&set.lock);
	if (rc < 0)
		goto fail;
	if (dnssec_watch_start(w, c->ub, ctx_ready, c, &c->watch) < 0) {
		tplog(LOG_ERR, "DNSSEC: cannot watch the resolver");
		ctx_free(c);
		return NULL;
	}
	return c;
fail:
	if (c->ub != NULL)
		ub_ctx_delete(c->ub);
	free(c->cache);
	free(c);
	return NULL;
}

static struct dns_ctx *ctx_current(struct worker *w)
{
	unsigned gen;

	pthread_mutex_lock(&set.lock);
	gen = set.gen;
	pthread_mutex_unlock(&set.lock);
	if (mine != NULL && mine->gen != gen) {
		/* A lookup may be started from an answer's callback: the
		 * context is then freed once ub_process has returned. */
		mine->retired = 1;
		if (mine->pending == 0 && !mine->processing)
			ctx_free(mine);
		mine = NULL;
	}
	if (mine == NULL)
		mine = ctx_new(w);
	return mine;
}

void dnssec_shutdown(void)
{
	struct dns_ctx *c;

	for (;;) {
		pthread_mutex_lock(&set.lock);
		c = set.all;
		pthread_mutex_unlock(&set.lock);
		if (c == NULL)
			break;
		c->w = NULL;		/* the workers are gone */
		ctx_free(c);
	}
	pthread_mutex_lock(&set.lock);
	free(set.rootkey);
	free(set.config);
	free(set.forwarder);
	set.rootkey = set.config = set.forwarder = NULL;
	pthread_mutex_unlock(&set.lock);
}

/* ---- lookups ---- */

int dnssec_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void judge(int err, struct ub_result *r, struct dnssec_answer *a)
{
	memset(a, 0, sizeof(*a));
	if (err != 0) {
		snprintf(a->why, sizeof(a->why), "%s", ub_strerror(err));
		return;
	}
	a->rcode = r->rcode;
	a->havedata = r->havedata;
	if (r->canonname != NULL && r->qname != NULL &&
	    !dnssec_name_eq(r->canonname, r->qname)) {
		snprintf(a->canon, sizeof(a->canon), "%s", r->canonname);
		if (a->canon[0] != '\0' && a->canon[strlen(a->canon) - 1] == '.')
			a->canon[strlen(a->canon) - 1] = '\0';
	}
	a->ttl = r->ttl > 0 ? (unsigned)r->ttl : 0;
	if (r->bogus) {
		a->sec = DNSSEC_BOGUS;
		snprintf(a->why, sizeof(a->why), "%s",
			 r->why_bogus ? r->why_bogus : "validation failed");
		return;
	}
	if (r->rcode != 0 && r->rcode != 3) {
		snprintf(a->why, sizeof(a->why), "rcode %d", r->rcode);
		return;		/* SERVFAIL, REFUSED: no answer */
	}
	a->sec = r->secure ? DNSSEC_SECURE : DNSSEC_INSECURE;
	if (r->answer_packet != NULL && r->answer_len > 0) {
		a->wire = malloc((size_t)r->answer_len);
		if (a->wire == NULL) {
			a->sec = DNSSEC_FAILED;
			snprintf(a->why, sizeof(a->why), "out of memory");
			return;
		}
		memcpy(a->wire, r->answer_packet, (size_t)r->answer_len);
		a->wirelen = (size_t)r->answer_len;
	}
	snprintf(a->why, sizeof(a->why), "%s",
		 r->havedata ? "records" : r->nxdomain ? "no such name"
						       : "no records");
}

static void answered(void *arg, int err, struct ub_result *r)
{
	struct dns_query *q = arg;
	struct dnssec_answer a;

	judge(err, r, &a);
	snprintf(a.qname, sizeof(a.qname), "%s", q->name);
	if (r != NULL)
		ub_resolve_free(r);
	q->c->pending--;
	tplog(a.sec == DNSSEC_SECURE || a.sec == DNSSEC_INSECURE ? LOG_INFO
								 : LOG_WARNING,
	      "DNSSEC: %s type %d: %s (%s)", q->name, q->type,
	      dnssec_security_name(a.sec), a.why);
	if (!q->c->retired)
		cache_put(q->c, q->name, q->type, &a);
	q->done(q->arg, &a);
	dnssec_answer_clear(&a);
	free(q);
}

int dnssec_lookup(struct worker *w, const char *name, int rrtype,
		  void (*done)(void *arg, const struct dnssec_answer *a),
		  void *arg, struct dnssec_answer *cached)
{
	struct dns_ctx *c = ctx_current(w);
	struct cache_ent *e;
	struct dns_query *q;
	int rc;

	if (c == NULL)
		return -EIO;
	if (strlen(name) >= DNSSEC_NAME_MAX)
		return -ENAMETOOLONG;
	e = cache_find(c, name, rrtype);
	if (e != NULL) {
		if (dnssec_answer_copy(cached, &e->a) < 0)
			return -ENOMEM;
		tplog(LOG_DEBUG, "DNSSEC: %s type %d: %s (cached)", name,
		      rrtype, dnssec_security_name(cached->sec));
		return 1;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return -ENOMEM;
	q->c = c;
	q->done = done;
	q->arg = arg;
	q->type = rrtype;
	snprintf(q->name, sizeof(q->name), "%s", name);
	rc = ub_resolve_async(c->ub, name, rrtype, 1, q, answered, NULL);
	if (rc != 0) {
		tplog(LOG_WARNING, "DNSSEC: %s: cannot ask: %s", name,
		      ub_strerror(rc));
		free(q);
		return -EIO;
	}
	c->pending++;
	dnssec_watch_asked(c->watch);
	return 0;
}

/* back_pool -- the pulleyback backend that writes the daemon's policy
 * databases (localid, disclose, trust, policy) through lib/policydb.
 *
 * Parameters: db=localid|disclose|trust|policy (required, once).
 * Variables per db (the tlsPool schema, doc/ldap-policy.md):
 *   localid:  identity, credential kind, record
 *   disclose: selector, record
 *   trust:    trust kind, key hash, record
 *   policy:   selector, role (client|server), record
 * The record is the database value exactly as doc/policy-records.md
 * describes it; it must decode strictly and agree with the key
 * attributes.  A record that does not is reported (database, key, reason)
 * and skipped: one malformed entry never stops a batch.
 *
 * add/del/reset only queue; prepare writes the queue into the host's
 * write transaction (pulleyback_host), so the records commit together
 * with pulley's cookie and the daemon sees them at once through the
 * policy serial; commit and rollback drop the queue.  A del removes a
 * record only when the database still holds exactly the deleted bytes
 * (a later add for the same key wins, whatever the order of the calls).
 * reset empties this instance's database.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pulleyback.h"
#include "policydb.h"
#include "policydb_int.h"
#include "polrec.h"

struct pool_op {
	int add;
	uint8_t *key;
	size_t keylen;
	uint8_t *rec;
	size_t reclen;
};

struct pool {
	enum policydb_which which;
	int varc;
	struct pulleyback_host host;
	int have_host;
	int reset;
	struct pool_op *ops;
	size_t nops, cap;
};

static const struct {
	const char *name;
	enum policydb_which which;
	int varc;
} dbs[] = {
	{ "localid", POLICYDB_LOCALID, 3 },
	{ "disclose", POLICYDB_DISCLOSE, 2 },
	{ "trust", POLICYDB_TRUST, 3 },
	{ "policy", POLICYDB_POLICY, 3 },
};

static void plog(struct pool *p, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void plog(struct pool *p, int level, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p != NULL && p->have_host && p->host.log != NULL)
		p->host.log(p->host.ctx, level, msg);
	else
		fprintf(stderr, "pulleyback_pool: %s\n", msg);
}

void *pulleyback_open(int argc, char **argv, int varc)
{
	struct pool *p;
	const char *db = NULL;
	int i;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "db=", 3) != 0) {
			plog(NULL, LOG_ERR, "unknown parameter '%s' "
			     "(only db=)", argv[i]);
			return NULL;
		}
		if (db != NULL) {
			plog(NULL, LOG_ERR, "parameter db given twice");
			return NULL;
		}
		db = argv[i] + 3;
	}
	if (db == NULL) {
		plog(NULL, LOG_ERR, "parameter db= is required "
		     "(localid, disclose, trust or policy)");
		return NULL;
	}
	for (k = 0; k < sizeof(dbs) / sizeof(dbs[0]); k++)
		if (strcmp(dbs[k].name, db) == 0)
			break;
	if (k == sizeof(dbs) / sizeof(dbs[0])) {
		plog(NULL, LOG_ERR, "db=%s: not localid, disclose, trust "
		     "or policy", db);
		return NULL;
	}
	if (varc != dbs[k].varc) {
		plog(NULL, LOG_ERR, "db=%s takes %d variables, the driver "
		     "gives %d", db, dbs[k].varc, varc);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->which = dbs[k].which;
	p->varc = varc;
	return p;
}

static void drop_ops(struct pool *p)
{
	size_t i;

	for (i = 0; i < p->nops; i++) {
		free(p->ops[i].key);
		free(p->ops[i].rec);
	}
	p->nops = 0;
	p->reset = 0;
}

void pulleyback_close(void *pbh)
{
	struct pool *p = pbh;

	if (p == NULL)
		return;
	drop_ops(p);
	free(p->ops);
	free(p);
}

int pulleyback_host(void *pbh, const struct pulleyback_host *host)
{
	struct pool *p = pbh;

	if (host == NULL || host->version != PULLEYBACK_API_VERSION ||
	    host->txn == NULL)
		return 0;
	p->host = *host;
	p->have_host = 1;
	return 1;
}

/* NUL-terminated copy of a variable's value; NULL if it holds a NUL or
 * is too long to be a name. */
static int get_str(uint8_t *der, char *buf, size_t cap)
{
	const uint8_t *v;
	size_t n;

	if (pulleyback_der_unwrap(der, SIZE_MAX, &v, &n) != 0 || n >= cap ||
	    memchr(v, 0, n) != NULL)
		return -1;
	memcpy(buf, v, n);
	buf[n] = 0;
	return 0;
}

/* Build key and canonical record bytes from the variables; -EBADMSG
 * with why when they do not form a valid record. */
static int make_op(struct pool *p, uint8_t **fd, struct pool_op *op,
		   char *why, size_t whylen, char *name, size_t namecap)
{
	char a[POLREC_NAME_MAX + 1], b[POLREC_NAME_MAX + 1];
	char key[POLREC_KEY_MAX + 1];
	const uint8_t *rv;
	size_t rl, kl = 0;
	int rc = -EBADMSG, kind;

	snprintf(name, namecap, "?");
	if (get_str(fd[0], a, sizeof(a)) < 0)
		return polrec_why_set(why, whylen, -EBADMSG,
				      "first key attribute is not a name");
	if (p->varc == 3 && get_str(fd[1], b, sizeof(b)) < 0)
		return polrec_why_set(why, whylen, -EBADMSG,
				      "second key attribute is not a name");
	if (p->varc == 3)
		snprintf(name, namecap, "%s %s", a, b);
	else
		snprintf(name, namecap, "%s", a);
	if (pulleyback_der_unwrap(fd[p->varc - 1], SIZE_MAX, &rv, &rl) != 0)
		return polrec_why_set(why, whylen, -EBADMSG, "bad DER value");
	op->rec = NULL;
	switch (p->which) {
	case POLICYDB_LOCALID: {
		struct polrec_localid r;

		memset(&r, 0, sizeof(r));
		kind = polrec_cred_parse(b);
		if (kind < 0) {
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "unknown credential kind");
			break;
		}
		rc = polrec_localid_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && (int)r.kind != kind)
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "record kind %s differs from "
					    "the entry's %s",
					    polrec_cred_name(r.kind), b);
		if (rc == 0 && polrec_localid_key(a, r.kind, key,
						  sizeof(key), &kl) < 0)
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "not a valid identity");
		if (rc == 0)
			rc = polrec_localid_encode(&r, &op->rec, &op->reclen,
						   why, whylen);
		polrec_localid_free(&r);
		break;
	}
	case POLICYDB_DISCLOSE: {
		struct polrec_disclose r;

		memset(&r, 0, sizeof(r));
		rc = polrec_disclose_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && !polrec_name_ok(a, strlen(a)))
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "not a valid selector");
		if (rc == 0) {
			kl = strlen(a);
			memcpy(key, a, kl + 1);
			rc = polrec_disclose_encode(&r, &op->rec, &op->reclen,
						    why, whylen);
		}
		polrec_disclose_free(&r);
		break;
	}
	case POLICYDB_TRUST: {
		struct polrec_trust r;

		memset(&r, 0, sizeof(r));
		rc = polrec_trust_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && strcmp(polrec_trust_kind_name(r.kind), a) != 0)
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "record kind %s differs from "
					    "the entry's %s",
					    polrec_trust_kind_name(r.kind), a);
		if (rc == 0 && polrec_trust_key(r.kind, b, r.bound_id, key,
						sizeof(key), &kl) < 0)
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "not a valid key hash or "
					    "bound identity");
		if (rc == 0)
			rc = polrec_trust_key_check(key, kl, &r, why, whylen);
		if (rc == 0)
			rc = polrec_trust_encode(&r, &op->rec, &op->reclen,
						 why, whylen);
		polrec_trust_free(&r);
		break;
	}
	case POLICYDB_POLICY: {
		struct polrec_policy r;
		int role = polrec_role_parse(b);

		memset(&r, 0, sizeof(r));
		if (role != (int)POLREC_ROLE_CLIENT &&
		    role != (int)POLREC_ROLE_SERVER) {
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "role must be client or server");
			break;
		}
		rc = polrec_policy_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && polrec_policy_key(a, (unsigned)role, key,
						 sizeof(key), &kl) < 0)
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "not a valid selector");
		if (rc == 0)
			rc = polrec_policy_encode(&r, &op->rec, &op->reclen,
						  why, whylen);
		polrec_policy_free(&r);
		break;
	}
	default:
		break;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		free(op->rec);
		op->rec = NULL;
		return -EBADMSG;
	}
	op->key = malloc(kl + 1);
	if (op->key == NULL) {
		free(op->rec);
		op->rec = NULL;
		return -ENOMEM;
	}
	memcpy(op->key, key, kl + 1);
	op->keylen = kl;
	return 0;
}

static int queue(struct pool *p, uint8_t **fd, int add)
{
	struct pool_op op = { .add = add };
	char why[256] = "", name[2 * POLREC_NAME_MAX + 2];
	int rc;

	rc = make_op(p, fd, &op, why, sizeof(why), name, sizeof(name));
	if (rc == -EBADMSG) {
		/* Reported once, on the add; a del of a record that never
		 * went in has nothing to undo. */
		if (add)
			plog(p, LOG_ERR, "%s '%s': record refused, skipped: %s",
			     policydb_name(p->which), name, why);
		return 1;
	}
	if (rc < 0)
		return 0;
	if (p->nops == p->cap) {
		size_t nc = p->cap ? 2 * p->cap : 16;
		struct pool_op *n = realloc(p->ops, nc * sizeof(*n));

		if (n == NULL) {
			free(op.key);
			free(op.rec);
			return 0;
		}
		p->ops = n;
		p->cap = nc;
	}
	p->ops[p->nops++] = op;
	return 1;
}

int pulleyback_add(void *pbh, uint8_t **forkdata)
{
	return queue(pbh, forkdata, 1);
}

int pulleyback_del(void *pbh, uint8_t **forkdata)
{
	return queue(pbh, forkdata, 0);
}

int pulleyback_reset(void *pbh)
{
	struct pool *p = pbh;

	drop_ops(p);
	p->reset = 1;
	return 1;
}

struct keylist {
	uint8_t **keys;
	size_t *lens;
	size_t n, cap;
};

static int collect(void *arg, const void *k, size_t kl, const void *v,
		   size_t vl)
{
	struct keylist *l = arg;

	(void)v;
	(void)vl;
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		uint8_t **nk = realloc(l->keys, nc * sizeof(*nk));
		size_t *nl;

		if (nk == NULL)
			return -ENOMEM;
		l->keys = nk;
		nl = realloc(l->lens, nc * sizeof(*nl));
		if (nl == NULL)
			return -ENOMEM;
		l->lens = nl;
		l->cap = nc;
	}
	l->keys[l->n] = malloc(kl ? kl : 1);
	if (l->keys[l->n] == NULL)
		return -ENOMEM;
	memcpy(l->keys[l->n], k, kl);
	l->lens[l->n++] = kl;
	return 0;
}

static int wipe(struct policydb_txn *t, enum policydb_which which)
{
	struct keylist l = { 0 };
	size_t i;
	int rc;

	rc = policydb_walk(t, which, NULL, 0, collect, &l);
	for (i = 0; rc == 0 && i < l.n; i++)
		rc = policydb_raw_del(t, which, l.keys[i], l.lens[i]);
	for (i = 0; i < l.n; i++)
		free(l.keys[i]);
	free(l.keys);
	free(l.lens);
	return rc == -ENOENT ? 0 : rc;
}

static int apply(struct policydb_txn *t, enum policydb_which which,
		 const struct pool_op *op)
{
	void *cur = NULL;
	size_t curlen = 0;
	int rc;

	if (op->add)
		return policydb_raw_put(t, which, op->key, op->keylen, op->rec,
					op->reclen);
	rc = policydb_raw_get(t, which, op->key, op->keylen, &cur, &curlen);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (curlen == op->reclen && memcmp(cur, op->rec, curlen) == 0)
		rc = policydb_raw_del(t, which, op->key, op->keylen);
	free(cur);
	return rc == -ENOENT ? 0 : rc;
}

int pulleyback_prepare(void *pbh)
{
	struct pool *p = pbh;
	struct policydb_txn *t;
	size_t i;
	int rc = 0;

	if (!p->have_host) {
		plog(p, LOG_ERR, "no host transaction: the pool backend "
		     "runs inside pulley only");
		return 0;
	}
	t = p->host.txn(p->host.ctx);
	if (t == NULL) {
		plog(p, LOG_ERR, "prepare outside a batch");
		return 0;
	}
	if (p->reset)
		rc = wipe(t, p->which);
	for (i = 0; rc == 0 && i < p->nops; i++)
		rc = apply(t, p->which, &p->ops[i]);
	if (rc < 0) {
		plog(p, LOG_ERR, "%s: writing the batch failed: %s",
		     policydb_name(p->which), strerror(-rc));
		return 0;
	}
	return 1;
}

int pulleyback_commit(void *pbh)
{
	drop_ops(pbh);
	return 1;
}

void pulleyback_rollback(void *pbh)
{
	drop_ops(pbh);
}

int pulleyback_collaborate(void *pbh1, void *pbh2)
{
	struct pool *a = pbh1, *b = pbh2;

	/* Every pool instance writes into the host's one transaction. */
	return a != NULL && b != NULL && a->have_host && b->have_host &&
	       a->host.txn == b->host.txn && a->host.ctx == b->host.ctx;
}

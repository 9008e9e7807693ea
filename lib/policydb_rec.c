/* policydb -- typed access to the policy records (polrec.h formats). */
#include "policydb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policydb_int.h"

#define WHYLEN 256

/* A decoded record of any database. */
union rec {
	struct polrec_localid l;
	struct polrec_disclose d;
	struct polrec_trust t;
	struct polrec_policy p;
};

static int rec_decode(enum policydb_which which, const void *v, size_t vl,
		      void *out, char *why, size_t whylen)
{
	switch (which) {
	case POLICYDB_LOCALID:
		return polrec_localid_decode(v, vl, out, why, whylen);
	case POLICYDB_DISCLOSE:
		return polrec_disclose_decode(v, vl, out, why, whylen);
	case POLICYDB_TRUST:
		return polrec_trust_decode(v, vl, out, why, whylen);
	case POLICYDB_POLICY:
		return polrec_policy_decode(v, vl, out, why, whylen);
	default:
		return -EINVAL;
	}
}

static void rec_free(enum policydb_which which, union rec *r)
{
	switch (which) {
	case POLICYDB_LOCALID:
		polrec_localid_free(&r->l);
		break;
	case POLICYDB_DISCLOSE:
		polrec_disclose_free(&r->d);
		break;
	case POLICYDB_TRUST:
		polrec_trust_free(&r->t);
		break;
	case POLICYDB_POLICY:
		polrec_policy_free(&r->p);
		break;
	default:
		break;
	}
}

static int get_rec(struct policydb_txn *txn, enum policydb_which which,
		   const void *key, size_t kl, void *out)
{
	char why[WHYLEN];
	void *v;
	size_t vl;
	int rc = policydb_raw_get(txn, which, key, kl, &v, &vl);

	if (rc < 0)
		return rc;
	rc = rec_decode(which, v, vl, out, why, sizeof(why));
	free(v);
	if (rc == -EBADMSG)
		policydb_report(txn->db, which, key, kl, why);
	return rc;
}

static int encode_rec(enum policydb_which which, const void *r, uint8_t **v,
		      size_t *vl, char *why, size_t whylen)
{
	switch (which) {
	case POLICYDB_LOCALID:
		return polrec_localid_encode(r, v, vl, why, whylen);
	case POLICYDB_DISCLOSE:
		return polrec_disclose_encode(r, v, vl, why, whylen);
	case POLICYDB_TRUST:
		return polrec_trust_encode(r, v, vl, why, whylen);
	case POLICYDB_POLICY:
		return polrec_policy_encode(r, v, vl, why, whylen);
	default:
		return -EINVAL;
	}
}

static int put_rec(struct policydb_txn *txn, enum policydb_which which,
		   const void *key, size_t kl, const void *r, char *why,
		   size_t whylen)
{
	uint8_t *v;
	size_t vl;
	int rc;

	if (!txn->write)
		return -EROFS;
	rc = encode_rec(which, r, &v, &vl, why, whylen);
	if (rc < 0)
		return rc;
	rc = policydb_raw_put(txn, which, key, kl, v, vl);
	free(v);
	return rc;
}

struct typed {
	struct policydb *db;
	enum policydb_which which;
	union {
		policydb_localid_fn l;
		policydb_disclose_fn d;
		policydb_trust_fn t;
		policydb_policy_fn p;
	} fn;
	void *ctx;
};

/* The key's name (NUL-terminated) and role/kind, or -EBADMSG. */
static int parse_key(enum policydb_which which, const void *k, size_t kl,
		     char *name, size_t cap, unsigned *sub, char *why,
		     size_t whylen)
{
	enum polrec_cred kind;
	int rc;

	switch (which) {
	case POLICYDB_LOCALID:
		rc = polrec_localid_key_parse(k, kl, name, cap, &kind, why,
					      whylen);
		*sub = (unsigned)kind;
		return rc;
	case POLICYDB_DISCLOSE:
		return polrec_disclose_key_parse(k, kl, name, cap, why, whylen);
	case POLICYDB_POLICY:
		return polrec_policy_key_parse(k, kl, name, cap, sub, why,
					       whylen);
	default:
		rc = polrec_trust_key_check(k, kl, NULL, why, whylen);
		if (rc == 0 && kl < cap) {
			memcpy(name, k, kl);
			name[kl] = '\0';
		}
		return rc == 0 && kl >= cap ? -EBADMSG : rc;
	}
}

static int typed_call(struct typed *t, const char *name, unsigned sub,
		      union rec *r)
{
	switch (t->which) {
	case POLICYDB_LOCALID:
		return t->fn.l(t->ctx, name, &r->l);
	case POLICYDB_DISCLOSE:
		return t->fn.d(t->ctx, name, &r->d);
	case POLICYDB_TRUST:
		return t->fn.t(t->ctx, name, &r->t);
	default:
		return t->fn.p(t->ctx, name, sub, &r->p);
	}
}

static int typed_visit(void *arg, const void *k, size_t kl, const void *v,
		       size_t vl)
{
	struct typed *t = arg;
	char name[POLREC_KEY_MAX + 1];
	char why[WHYLEN];
	unsigned sub = 0;
	union rec r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = parse_key(t->which, k, kl, name, sizeof(name), &sub, why,
		       sizeof(why));
	if (rc == 0)
		rc = rec_decode(t->which, v, vl, &r, why, sizeof(why));
	if (rc == 0 && t->which == POLICYDB_TRUST)
		rc = polrec_trust_key_check(k, kl, &r.t, why, sizeof(why));
	if (rc == 0 && t->which == POLICYDB_LOCALID && r.l.kind != sub) {
		snprintf(why, sizeof(why), "localid record: kind %s under a %s key",
			 polrec_cred_name(r.l.kind), polrec_cred_name(sub));
		rc = -EBADMSG;
	}
	if (rc == -EBADMSG) {
		policydb_report(t->db, t->which, k, kl, why);
		rc = 0;
	} else if (rc == 0) {
		rc = typed_call(t, name, sub, &r);
	}
	rec_free(t->which, &r);
	return rc;
}

static int typed_walk(struct policydb_txn *txn, struct typed *t,
		      const void *prefix, size_t plen)
{
	t->db = txn->db;
	return policydb_walk(txn, t->which, prefix, plen, typed_visit, t);
}

/* ---- localid ---- */

int policydb_localid_get(struct policydb_txn *txn, const char *id,
			 enum polrec_cred kind, struct polrec_localid *out)
{
	char key[POLREC_KEY_MAX + 1];
	size_t kl;

	memset(out, 0, sizeof(*out));
	if (polrec_localid_key(id, kind, key, sizeof(key), &kl) < 0)
		return -EINVAL;
	return get_rec(txn, POLICYDB_LOCALID, key, kl, out);
}

int policydb_localid_put(struct policydb_txn *txn, const char *id,
			 const struct polrec_localid *r, char *why,
			 size_t whylen)
{
	char key[POLREC_KEY_MAX + 1];
	size_t kl;

	if (polrec_localid_key(id, r->kind, key, sizeof(key), &kl) < 0) {
		snprintf(why, whylen, "not a valid identity or kind");
		return -EINVAL;
	}
	return put_rec(txn, POLICYDB_LOCALID, key, kl, r, why, whylen);
}

int policydb_localid_del(struct policydb_txn *txn, const char *id, int kind)
{
	char key[POLREC_KEY_MAX + 1];
	size_t kl;
	int found = 0, rc;

	for (int k = POLREC_CRED_X509; k <= POLREC_CRED_KRB5; k++) {
		if (kind != 0 && kind != k)
			continue;
		if (polrec_localid_key(id, (enum polrec_cred)k, key, sizeof(key),
				       &kl) < 0)
			return -EINVAL;
		rc = policydb_raw_del(txn, POLICYDB_LOCALID, key, kl);
		if (rc == 0)
			found = 1;
		else if (rc != -ENOENT)
			return rc;
	}
	return found ? 0 : -ENOENT;
}

int policydb_localid_iterate(struct policydb_txn *txn, const char *id,
			     policydb_localid_fn fn, void *ctx)
{
	struct typed t = { .which = POLICYDB_LOCALID, .fn.l = fn, .ctx = ctx };
	size_t plen = id != NULL ? strlen(id) + 1 : 0;

	if (id != NULL && !polrec_name_ok(id, plen - 1))
		return -EINVAL;
	return typed_walk(txn, &t, id, plen);
}

/* ---- disclose ---- */

static int sel_ok(const char *sel)
{
	return sel != NULL && polrec_name_ok(sel, strlen(sel));
}

int policydb_disclose_get(struct policydb_txn *txn, const char *sel,
			  struct polrec_disclose *out)
{
	memset(out, 0, sizeof(*out));
	if (!sel_ok(sel))
		return -EINVAL;
	return get_rec(txn, POLICYDB_DISCLOSE, sel, strlen(sel), out);
}

int policydb_disclose_put(struct policydb_txn *txn, const char *sel,
			  const struct polrec_disclose *r, char *why,
			  size_t whylen)
{
	if (!sel_ok(sel)) {
		snprintf(why, whylen, "not a valid selector");
		return -EINVAL;
	}
	return put_rec(txn, POLICYDB_DISCLOSE, sel, strlen(sel), r, why,
		       whylen);
}

int policydb_disclose_del(struct policydb_txn *txn, const char *sel)
{
	if (!sel_ok(sel))
		return -EINVAL;
	return policydb_raw_del(txn, POLICYDB_DISCLOSE, sel, strlen(sel));
}

int policydb_disclose_iterate(struct policydb_txn *txn,
			      policydb_disclose_fn fn, void *ctx)
{
	struct typed t = { .which = POLICYDB_DISCLOSE, .fn.d = fn, .ctx = ctx };

	return typed_walk(txn, &t, NULL, 0);
}

/* ---- trust ---- */

int policydb_trust_get(struct policydb_txn *txn, const char *key,
		       struct polrec_trust *out)
{
	char why[WHYLEN];
	size_t kl = key != NULL ? strlen(key) : 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (key == NULL || polrec_trust_key_check(key, kl, NULL, why,
						  sizeof(why)) < 0)
		return -EINVAL;
	rc = get_rec(txn, POLICYDB_TRUST, key, kl, out);
	if (rc == 0 && polrec_trust_key_check(key, kl, out, why,
					      sizeof(why)) < 0) {
		policydb_report(txn->db, POLICYDB_TRUST, key, kl, why);
		polrec_trust_free(out);
		rc = -EBADMSG;
	}
	return rc;
}

int policydb_trust_put(struct policydb_txn *txn, const char *key,
		       const struct polrec_trust *r, char *why, size_t whylen)
{
	size_t kl = key != NULL ? strlen(key) : 0;

	if (key == NULL || polrec_trust_key_check(key, kl, r, why, whylen) < 0)
		return -EINVAL;
	return put_rec(txn, POLICYDB_TRUST, key, kl, r, why, whylen);
}

int policydb_trust_del(struct policydb_txn *txn, const char *key)
{
	if (key == NULL || key[0] == '\0')
		return -EINVAL;
	return policydb_raw_del(txn, POLICYDB_TRUST, key, strlen(key));
}

int policydb_trust_iterate(struct policydb_txn *txn, const char *prefix,
			   policydb_trust_fn fn, void *ctx)
{
	struct typed t = { .which = POLICYDB_TRUST, .fn.t = fn, .ctx = ctx };

	return typed_walk(txn, &t, prefix, prefix != NULL ? strlen(prefix) : 0);
}

/* ---- policy ---- */

int policydb_policy_get(struct policydb_txn *txn, const char *sel,
			unsigned role, struct polrec_policy *out)
{
	char key[POLREC_KEY_MAX + 1];
	size_t kl;

	memset(out, 0, sizeof(*out));
	if (polrec_policy_key(sel, role, key, sizeof(key), &kl) < 0)
		return -EINVAL;
	return get_rec(txn, POLICYDB_POLICY, key, kl, out);
}

int policydb_policy_put(struct policydb_txn *txn, const char *sel,
			unsigned role, const struct polrec_policy *r,
			char *why, size_t whylen)
{
	char key[POLREC_KEY_MAX + 1];
	size_t kl;

	if (polrec_policy_key(sel, role, key, sizeof(key), &kl) < 0) {
		snprintf(why, whylen, "not a valid selector or role");
		return -EINVAL;
	}
	return put_rec(txn, POLICYDB_POLICY, key, kl, r, why, whylen);
}

int policydb_policy_del(struct policydb_txn *txn, const char *sel,
			unsigned role)
{
	char key[POLREC_KEY_MAX + 1];
	size_t kl;

	if (polrec_policy_key(sel, role, key, sizeof(key), &kl) < 0)
		return -EINVAL;
	return policydb_raw_del(txn, POLICYDB_POLICY, key, kl);
}

int policydb_policy_iterate(struct policydb_txn *txn, policydb_policy_fn fn,
			    void *ctx)
{
	struct typed t = { .which = POLICYDB_POLICY, .fn.p = fn, .ctx = ctx };

	return typed_walk(txn, &t, NULL, 0);
}

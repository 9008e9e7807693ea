/* crank_build: a checked model into encoded policy records, reading the
 * files it names (see the header). */
#include "crank_build.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "crank_files.h"
#include "credfile.h"

struct bctx {
	const struct crank_build_opts *o;
	struct crank_recs *out;
	size_t cap;
	crank_diag_fn diag;
	void *dctx;
	int errors;
};

static void bdiag(struct bctx *b, const struct crank_pos *pos,
		  const char *sev, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void bdiag(struct bctx *b, const struct crank_pos *pos,
		  const char *sev, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev[0] == 'e')
		b->errors++;
	if (b->diag != NULL)
		b->diag(b->dctx, pos, sev, msg);
}

void crank_recs_free(struct crank_recs *recs)
{
	for (size_t i = 0; i < recs->n; i++)
		free(recs->r[i].val);
	free(recs->r);
	memset(recs, 0, sizeof(*recs));
}

void crank_rec_label(enum policydb_which db, const void *key, size_t keylen,
		     char *buf, size_t len)
{
	const char *k = key;
	size_t nl = strnlen(k, keylen);

	if (nl < keylen)	/* name \0 suffix: kind or role */
		snprintf(buf, len, "%s %.*s %.*s", policydb_name(db), (int)nl, k,
			 (int)(keylen - nl - 1), k + nl + 1);
	else
		snprintf(buf, len, "%s %.*s", policydb_name(db), (int)keylen, k);
}

/* A source-relative path: relative to the file that names it. */
static void src_path(const struct crank_pos *pos, const char *path, char *out,
		     size_t len)
{
	const char *slash = pos->file ? strrchr(pos->file, '/') : NULL;

	if (path[0] == '/' || slash == NULL)
		snprintf(out, len, "%s", path);
	else
		snprintf(out, len, "%.*s/%s", (int)(slash - pos->file), pos->file,
			 path);
}

/* A host path, read under key_root. */
static void host_path(const struct bctx *b, const char *path, char *out,
		      size_t len)
{
	const char *root = b->o && b->o->key_root ? b->o->key_root : "";

	snprintf(out, len, "%s%s", root, path);
}

static int put(struct bctx *b, enum policydb_which db, const char *key,
	       size_t keylen, const void *rec, const struct crank_pos *pos)
{
	struct crank_rec *r;
	char why[256];
	int rc;

	if (b->out->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		struct crank_rec *nr = realloc(b->out->r, cap * sizeof(*nr));

		if (nr == NULL)
			return -ENOMEM;
		b->out->r = nr;
		b->cap = cap;
	}
	r = &b->out->r[b->out->n];
	memset(r, 0, sizeof(*r));
	r->db = db;
	memcpy(r->key, key, keylen);
	r->key[keylen] = '\0';
	r->keylen = keylen;
	r->pos = *pos;
	crank_rec_label(db, key, keylen, r->label, sizeof(r->label));
	switch (db) {
	case POLICYDB_LOCALID:
		rc = polrec_localid_encode(rec, &r->val, &r->vallen, why, sizeof(why));
		break;
	case POLICYDB_DISCLOSE:
		rc = polrec_disclose_encode(rec, &r->val, &r->vallen, why, sizeof(why));
		break;
	case POLICYDB_TRUST:
		rc = polrec_trust_encode(rec, &r->val, &r->vallen, why, sizeof(why));
		break;
	default:
		rc = polrec_policy_encode(rec, &r->val, &r->vallen, why, sizeof(why));
		break;
	}
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		bdiag(b, pos, "error", "%s: %s", r->label, why);
		return 0;
	}
	b->out->n++;
	return 0;
}

/* ---- identities ---- */

static int check_key(struct bctx *b, const struct crank_ident *id,
		     const uint8_t keyid[32])
{
	char path[PATH_MAX], err[PATH_MAX + 128];
	int rc;

	if (id->key == NULL)
		return 0;
	host_path(b, id->key, path, sizeof(path));
	rc = credfile_keyfile(path, keyid, "the certificate or public "
			      "key of this identity", err, sizeof(err));
	if (rc == 1)
		bdiag(b, &id->key_pos, "warning", "%s is encrypted: not checked "
		      "against the %s", path, id->kind == POLREC_CRED_X509
		      ? "certificate" : "public key");
	else if (rc < 0 && rc != -ENOMEM)
		bdiag(b, &id->key_pos, "error", "%s", err);
	return rc == -ENOMEM ? rc : 0;
}

static int build_x509(struct bctx *b, const struct crank_ident *id,
		      struct polrec_localid *r)
{
	struct credfile_chain ch = { NULL, 0 };
	char path[PATH_MAX], err[PATH_MAX + 128], w1[160], w2[160];
	uint8_t keyid[32];
	int rc;

	src_path(&id->pos, id->chain, path, sizeof(path));
	rc = credfile_chain(path, &ch, err, sizeof(err));
	if (rc < 0) {
		bdiag(b, &id->chain_pos, "error", "%s", err);
		return 1;
	}
	r->certs = calloc(ch.n, sizeof(*r->certs));
	rc = r->certs == NULL ? -ENOMEM : 0;
	for (unsigned i = 0; rc == 0 && i < ch.n; i++) {
		rc = credfile_der(ch.crts[i], &r->certs[i]);
		r->ncerts += rc == 0;
	}
	if (rc == 0 && credfile_spki_id(ch.crts[0], keyid, NULL) < 0) {
		bdiag(b, &id->chain_pos, "error", "%s: the first certificate has "
		      "no public key", path);
		rc = 1;
	}
	if (rc == 0) {
		crank_files_leaf_warnings(ch.crts[0], id->id, w1, w2, sizeof(w1));
		if (w1[0])
			bdiag(b, &id->chain_pos, "warning", "%s: %s", path, w1);
		if (w2[0])
			bdiag(b, &id->chain_pos, "warning", "%s: %s", path, w2);
		rc = check_key(b, id, keyid);
	}
	credfile_chain_free(&ch);
	return rc;
}

static int build_rawpk(struct bctx *b, const struct crank_ident *id,
		       struct polrec_localid *r)
{
	char path[PATH_MAX], err[PATH_MAX + 128];
	uint8_t keyid[32];
	int rc;

	src_path(&id->pos, id->pubkey, path, sizeof(path));
	r->certs = calloc(1, sizeof(*r->certs));
	if (r->certs == NULL)
		return -ENOMEM;
	rc = credfile_pubkey(path, &r->certs[0], keyid, err, sizeof(err));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		bdiag(b, &id->pubkey_pos, "error", "%s", err);
		return 1;
	}
	r->ncerts = 1;
	return check_key(b, id, keyid);
}

static int build_krb5(struct bctx *b, const struct crank_ident *id)
{
	char path[PATH_MAX], err[PATH_MAX + 128];

	if (id->keytab == NULL)
		return 0;
	host_path(b, id->keytab, path, sizeof(path));
	if (crank_files_keytab(path, err, sizeof(err)) < 0) {
		bdiag(b, &id->keytab_pos, "error", "%s", err);
		return 1;
	}
	return 0;
}

static int build_ident(struct bctx *b, const struct crank_ident *id)
{
	struct polrec_localid r = { 0 };
	char key[POLREC_KEY_MAX + 1];
	size_t kl;
	int rc;

	r.kind = id->kind;
	r.roles = id->roles;
	r.flags = id->disabled ? POLREC_LIDF_DISABLED : 0;
	r.uids = id->uids;
	r.nuids = id->nuids;
	if (id->key != NULL) {
		r.keyref_type = POLREC_KEYREF_FILE;
		r.keyref = (char *)id->key;
	} else if (id->pkcs11 != NULL) {
		r.keyref_type = POLREC_KEYREF_PKCS11;
		r.keyref = (char *)id->pkcs11;
	} else if (id->keytab != NULL) {
		r.keyref_type = POLREC_KEYREF_FILE;
		r.keyref = (char *)id->keytab;
	}
	rc = id->kind == POLREC_CRED_X509 ? build_x509(b, id, &r) :
	     id->kind == POLREC_CRED_RAWPK ? build_rawpk(b, id, &r) :
	     build_krb5(b, id);
	if (rc == 0 && polrec_localid_key(id->id, id->kind, key, sizeof(key),
					  &kl) < 0) {
		bdiag(b, &id->pos, "error", "identity %s does not fit a key",
		      id->id);
		rc = 1;
	}
	if (rc == 0)
		rc = put(b, POLICYDB_LOCALID, key, kl, &r, &id->pos);
	for (size_t i = 0; i < r.ncerts; i++)
		free(r.certs[i].data);
	free(r.certs);
	return rc < 0 ? rc : 0;
}

/* ---- trust ---- */

static int put_trust(struct bctx *b, const struct crank_trust *t,
		     struct polrec_trust *r, const char *hex)
{
	char key[POLREC_KEY_MAX + 1];
	size_t kl;

	if (polrec_trust_key(t->kind, hex, r->bound_id, key, sizeof(key),
			     &kl) < 0) {
		bdiag(b, &t->pos, "error", "cannot make a trust key");
		return 0;
	}
	return put(b, POLICYDB_TRUST, key, kl, r, &t->pos);
}

static int build_trust(struct bctx *b, const struct crank_trust *t)
{
	struct polrec_trust r = { 0 };
	struct credfile_chain ch = { NULL, 0 };
	char path[PATH_MAX], err[PATH_MAX + 128], hex[65];
	uint8_t id[32];
	unsigned n;
	int rc = 0;

	r.kind = t->kind;
	r.flags = t->peers;
	r.bound_id = t->for_id[0] ? (char *)t->for_id : NULL;
	if (t->file == NULL)
		return put_trust(b, t, &r, t->hex);
	src_path(&t->pos, t->file, path, sizeof(path));
	if (t->kind == POLREC_TRUST_CRL) {
		rc = credfile_crl(path, &r.der, hex, err, sizeof(err));
		if (rc == 0)
			rc = put_trust(b, t, &r, hex);
		else if (rc != -ENOMEM)
			bdiag(b, &t->file_pos, "error", "%s", err);
		free(r.der.data);
		return rc == -ENOMEM ? rc : 0;
	}
	rc = credfile_chain(path, &ch, err, sizeof(err));
	if (rc < 0) {
		bdiag(b, &t->file_pos, "error", "%s", err);
		return 0;
	}
	/* anchors: every certificate; pins and revoked keys: the first */
	n = t->kind == POLREC_TRUST_ANCHOR ? ch.n : 1;
	if (n < ch.n)
		bdiag(b, &t->file_pos, "warning", "%s holds %u certificates; "
		      "only the first is %s", path, ch.n,
		      t->kind == POLREC_TRUST_PIN ? "pinned" : "revoked");
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		if (credfile_spki_id(ch.crts[i], id, hex) < 0) {
			bdiag(b, &t->file_pos, "error", "%s: certificate %u has no "
			      "public key", path, i + 1);
			break;
		}
		rc = credfile_der(ch.crts[i], &r.der);
		if (rc == 0)
			rc = put_trust(b, t, &r, hex);
		free(r.der.data);
		r.der.data = NULL;
	}
	credfile_chain_free(&ch);
	return rc;
}

/* ---- disclose and policy ---- */

static int build_disclose(struct bctx *b, const struct crank_disclose *d)
{
	struct polrec_disclose r = { d->ids, d->nids };

	return put(b, POLICYDB_DISCLOSE, d->sel, strlen(d->sel), &r, &d->pos);
}

static int build_rule(struct bctx *b, const struct crank_rule *p)
{
	struct polrec_policy r = { 0 };
	char key[POLREC_KEY_MAX + 1];
	gnutls_priority_t prio;
	const char *errpos = NULL;
	size_t kl;
	int rc;

	if (p->priority != NULL) {
		rc = gnutls_priority_init(&prio, p->priority, &errpos);
		if (rc < 0) {
			size_t plen = strlen(p->priority);
			struct crank_pos pos = crank_tok_pos(p->priority_tok,
				errpos >= p->priority && errpos <= p->priority + plen
				? (size_t)(errpos - p->priority) : 0);

			bdiag(b, &pos, "error", "priority '%s': %s near '%s'",
			      p->priority, gnutls_strerror(rc),
			      errpos ? errpos : "");
			return 0;
		}
		gnutls_priority_deinit(prio);
	}
	r.min_version = p->min_version;
	r.max_version = p->max_version;
	r.client_auth = p->client_auth;
	r.kinds = p->kinds;
	r.priority = (char *)p->priority;
	r.valexp = (char *)p->valexp;
	r.uids = p->uids;
	r.nuids = p->nuids;
	if (polrec_policy_key(p->sel, p->role, key, sizeof(key), &kl) < 0) {
		bdiag(b, &p->pos, "error", "selector %s does not fit a key", p->sel);
		return 0;
	}
	return put(b, POLICYDB_POLICY, key, kl, &r, &p->pos);
}

/* ---- order and contradictions in the files ---- */

static int rec_cmp(const void *a, const void *b)
{
	const struct crank_rec *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c;

	if (x->db != y->db)
		return x->db < y->db ? -1 : 1;
	c = memcmp(x->key, y->key, n);
	if (c != 0)
		return c;
	return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

/* The hash of a trust key ("anchor:HEX", "pin:ID:HEX", "revoked:HEX"),
 * or NULL for a CRL. */
static const char *trust_hex(const struct crank_rec *r)
{
	if (r->db != POLICYDB_TRUST || strncmp(r->key, "crl:", 4) == 0 ||
	    r->keylen < 64)
		return NULL;
	return r->key + r->keylen - 64;
}

static int hex_cmp(const void *a, const void *b)
{
	const struct crank_rec *x = *(const struct crank_rec *const *)a;
	const struct crank_rec *y = *(const struct crank_rec *const *)b;
	int c = memcmp(trust_hex(x), trust_hex(y), 64);

	return c ? c : (x < y ? -1 : x > y);
}

/* The same key twice; a key both revoked and trusted.  The records are
 * sorted by key, and the trust keys are grouped by hash here, so this
 * stays n log n. */
static int trust_conflicts(struct bctx *b)
{
	struct crank_recs *o = b->out;
	const struct crank_rec **h = calloc(o->n + 1, sizeof(*h));
	size_t nh = 0;

	if (h == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < o->n; i++) {
		if (i > 0 && rec_cmp(&o->r[i], &o->r[i - 1]) == 0)
			bdiag(b, &o->r[i].pos, "error", "%s: the same key as at "
			      "%s:%u:%u", o->r[i].label, o->r[i - 1].pos.file,
			      o->r[i - 1].pos.line, o->r[i - 1].pos.col);
		if (trust_hex(&o->r[i]) != NULL)
			h[nh++] = &o->r[i];
	}
	if (nh > 1)
		qsort(h, nh, sizeof(*h), hex_cmp);
	for (size_t i = 0, j; i < nh; i = j) {
		const struct crank_rec *rev = NULL;

		for (j = i; j < nh && memcmp(trust_hex(h[j]), trust_hex(h[i]), 64) == 0; j++)
			if (strncmp(h[j]->key, "revoked:", 8) == 0)
				rev = h[j];
		for (size_t k = i; rev != NULL && k < j; k++)
			if (strncmp(h[k]->key, "revoked:", 8) != 0)
				bdiag(b, &h[k]->pos, "error", "%s: this key is "
				      "revoked at %s:%u:%u", h[k]->label,
				      rev->pos.file, rev->pos.line, rev->pos.col);
	}
	free(h);
	return 0;
}

int crank_build(const struct crank_model *m, const struct crank_build_opts *o,
		struct crank_recs *out, crank_diag_fn diag, void *ctx)
{
	struct bctx b = { o, out, 0, diag, ctx, 0 };
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; rc == 0 && i < m->nidents; i++)
		if (!m->idents[i].bad)
			rc = build_ident(&b, &m->idents[i]);
	for (size_t i = 0; rc == 0 && i < m->ndiscl; i++)
		if (!m->discl[i].bad)
			rc = build_disclose(&b, &m->discl[i]);
	for (size_t i = 0; rc == 0 && i < m->ntrust; i++)
		if (!m->trust[i].bad)
			rc = build_trust(&b, &m->trust[i]);
	for (size_t i = 0; rc == 0 && i < m->nrules; i++)
		if (!m->rules[i].bad)
			rc = build_rule(&b, &m->rules[i]);
	if (rc < 0) {
		crank_recs_free(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->r, out->n, sizeof(*out->r), rec_cmp);
	if (trust_conflicts(&b) < 0) {
		crank_recs_free(out);
		return -ENOMEM;
	}
	return b.errors;
}

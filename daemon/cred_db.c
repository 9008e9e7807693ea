/* cred_db -- the database part of a credential store, the merge with the
 * file identities, and the store's trust lists.
 *
 * The records are read in one snapshot transaction (with the policy
 * serial they belong to) and copied; the keys are loaded after the
 * transaction ended, so a slow key never holds a snapshot open.  A
 * record whose chain and key reference equal those of prev's identity of
 * the same name reuses prev's credential: only new and changed records
 * cost a round trip to the key process.
 */
#include "cred_int.h"
#include "keyproc.h"
#include "policydb.h"
#include "rawpk.h"
#include "tplog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>

struct dbid {
	char *name;
	unsigned roles;
	uint32_t *uids;
	size_t nuids;
	struct cred_shared *sh;		/* reused from prev, or built */
	struct polrec_localid rec;	/* to build: certs and key ref only */
	int off;			/* disabled: hides the name only */
};

struct dbanchor {
	char *key;			/* "anchor:HEX", for messages */
	uint32_t flags;			/* POLREC_TRUSTF_* */
	gnutls_datum_t der;
};

struct snap {
	const struct cred_store *prev;
	struct dbid *ids;
	size_t n, cap;
	struct dbanchor *anch;
	size_t na, capa;
	uint64_t serial;
};

static void dbid_clear(struct dbid *d)
{
	free(d->name);
	free(d->uids);
	cred_shared_unref(d->sh);
	polrec_localid_free(&d->rec);
	memset(d, 0, sizeof(*d));
}

static void snap_free(struct snap *sn)
{
	for (size_t i = 0; i < sn->n; i++)
		dbid_clear(&sn->ids[i]);
	free(sn->ids);
	for (size_t i = 0; i < sn->na; i++) {
		free(sn->anch[i].key);
		free(sn->anch[i].der.data);
	}
	free(sn->anch);
}

static void *dup_mem(const void *p, size_t len)
{
	void *q = malloc(len ? len : 1);

	if (q != NULL && len > 0)
		memcpy(q, p, len);
	return q;
}

/* prev's credential for id, when its chain and key reference equal r's
 * (a reference is taken), else NULL. */
static struct cred_shared *reusable(const struct cred_store *prev,
				    const char *id,
				    const struct polrec_localid *r)
{
	const struct cred_identity *old = cred_find(prev, id);
	struct cred_shared *sh = old ? old->sh : NULL;
	gnutls_datum_t raw;

	if (sh == NULL || !old->from_db || sh->keyref == NULL ||
	    sh->rawpk != (r->kind == POLREC_CRED_RAWPK) ||
	    sh->keyref_type != (int)r->keyref_type ||
	    strcmp(sh->keyref, r->keyref) != 0 || sh->ncerts != r->ncerts)
		return NULL;
	for (unsigned i = 0; i < sh->ncerts; i++) {
		if (gnutls_certificate_get_crt_raw(sh->cred, 0, i, &raw) < 0 ||
		    raw.size != r->certs[i].len ||
		    memcmp(raw.data, r->certs[i].data, raw.size) != 0)
			return NULL;
	}
	atomic_fetch_add_explicit(&sh->refs, 1, memory_order_relaxed);
	return sh;
}

/* The parts of r needed to build the credential later. */
static int copy_rec(struct polrec_localid *dst, const struct polrec_localid *r)
{
	dst->kind = r->kind;
	dst->keyref_type = r->keyref_type;
	dst->keyref = strdup(r->keyref);
	dst->certs = calloc(r->ncerts, sizeof(*dst->certs));
	if (dst->keyref == NULL || dst->certs == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < r->ncerts; i++) {
		dst->certs[i].data = dup_mem(r->certs[i].data, r->certs[i].len);
		if (dst->certs[i].data == NULL)
			return -ENOMEM;
		dst->certs[i].len = r->certs[i].len;
		dst->ncerts = i + 1;
	}
	return 0;
}

static struct dbid *dbid_new(struct snap *sn, const char *id)
{
	struct dbid *d, *grown;

	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? sn->cap * 2 : 16;

		grown = realloc(sn->ids, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		sn->ids = grown;
		sn->cap = cap;
	}
	d = &sn->ids[sn->n++];
	memset(d, 0, sizeof(*d));
	d->name = strdup(id);
	return d->name != NULL ? d : NULL;
}

static int on_localid(void *ctx, const char *id, const struct polrec_localid *r)
{
	struct snap *sn = ctx;
	const char *kn = polrec_cred_name(r->kind);
	struct dbid *d;

	if (r->kind != POLREC_CRED_X509 && r->kind != POLREC_CRED_RAWPK) {
		tplog(LOG_DEBUG, "localid.db %s %s: only x509 and rawpk "
		      "identities are served here", id, kn);
		return 0;
	}
	if (strlen(id) > CRED_NAME_MAX) {
		tplog(LOG_ERR, "localid.db %s %s: name longer than %d bytes; "
		      "skipped", id, kn, CRED_NAME_MAX);
		return 0;
	}
	/* Keys sort by kind name, so a name's rawpk record comes right
	 * before its x509 one; one credential per name: x509 wins. */
	if (sn->n > 0 && strcmp(sn->ids[sn->n - 1].name, id) == 0) {
		tplog(LOG_NOTICE, "localid.db %s: x509 and rawpk records; the "
		      "x509 one is served", id);
		dbid_clear(&sn->ids[--sn->n]);
	}
	d = dbid_new(sn, id);
	if (d == NULL)
		return -ENOMEM;
	if (r->flags & POLREC_LIDF_DISABLED) {
		tplog(LOG_DEBUG, "localid.db %s %s: disabled", id, kn);
		d->off = 1;
		return 0;
	}
	d->roles = r->roles;
	if (r->nuids > 0) {
		d->uids = dup_mem(r->uids, r->nuids * sizeof(*r->uids));
		if (d->uids == NULL)
			return -ENOMEM;
		d->nuids = r->nuids;
	}
	d->sh = reusable(sn->prev, id, r);
	return d->sh != NULL ? 0 : copy_rec(&d->rec, r);
}

static int on_anchor(void *ctx, const char *key, const struct polrec_trust *r)
{
	struct snap *sn = ctx;
	struct dbanchor *a, *grown;

	if (r->kind != POLREC_TRUST_ANCHOR || r->der.len == 0)
		return 0;
	if (sn->na == sn->capa) {
		size_t cap = sn->capa ? sn->capa * 2 : 8;

		grown = realloc(sn->anch, cap * sizeof(*grown));
		if (grown == NULL)
			return -ENOMEM;
		sn->anch = grown;
		sn->capa = cap;
	}
	a = &sn->anch[sn->na++];
	a->flags = r->flags;
	a->key = strdup(key);
	a->der.data = dup_mem(r->der.data, r->der.len);
	a->der.size = (unsigned)r->der.len;
	return a->key == NULL || a->der.data == NULL ? -ENOMEM : 0;
}

/* Everything in one snapshot. */
static int read_db(struct snap *sn, struct policydb *db, char *err,
		   size_t errlen)
{
	struct policydb_txn *txn = NULL;
	int rc;

	rc = policydb_begin(db, &txn, 0);
	if (rc < 0) {
		cred_seterr(err, errlen, "policy databases: %s", strerror(-rc));
		return rc;
	}
	rc = policydb_txn_serial(txn, &sn->serial);
	if (rc == -EBADMSG)	/* reported; the next commit replaces it */
		rc = 0;
	if (rc == 0)
		rc = policydb_localid_iterate(txn, NULL, on_localid, sn);
	if (rc == 0)
		rc = policydb_trust_iterate(txn, "anchor:", on_anchor, sn);
	policydb_abort(txn);
	if (rc < 0)
		cred_seterr(err, errlen, "policy databases: reading identities "
			    "and anchors: %s", strerror(-rc));
	return rc;
}

/* ---- building database identities ---------------------------------- */

static int import_chain(const struct dbid *d, gnutls_pcert_st **out)
{
	gnutls_pcert_st *pc = gnutls_calloc(d->rec.ncerts, sizeof(*pc));
	gnutls_x509_crt_t leaf = NULL;
	char what[CRED_NAME_MAX + 32];
	unsigned n = 0;
	int rc = pc ? 0 : GNUTLS_E_MEMORY_ERROR;

	for (; rc == 0 && n < d->rec.ncerts; n++) {
		gnutls_datum_t der = { d->rec.certs[n].data,
				       (unsigned)d->rec.certs[n].len };

		rc = d->rec.kind == POLREC_CRED_RAWPK
			? rawpk_pcert(&pc[n], &der)
			: gnutls_pcert_import_x509_raw(&pc[n], &der,
						       GNUTLS_X509_FMT_DER, 0);
		if (rc < 0)
			tplog(LOG_ERR, "localid.db %s %s: %s %u: %s; skipped",
			      d->name, polrec_cred_name(d->rec.kind),
			      d->rec.kind == POLREC_CRED_RAWPK ? "public key"
			      : "certificate", n + 1, gnutls_strerror(rc));
		else if (n == 0 && d->rec.kind == POLREC_CRED_X509 &&
			 gnutls_x509_crt_init(&leaf) == 0 &&
			 gnutls_x509_crt_import(leaf, &der,
						GNUTLS_X509_FMT_DER) == 0) {
			snprintf(what, sizeof(what), "localid.db %s x509",
				 d->name);
			cred_check_validity(what, leaf);
		}
	}
	if (leaf != NULL)
		gnutls_x509_crt_deinit(leaf);
	if (rc < 0) {
		for (unsigned i = 0; i + 1 < n; i++)
			gnutls_pcert_deinit(&pc[i]);
		gnutls_free(pc);
		return rc;
	}
	*out = pc;
	return 0;
}

/* 0; 1 when skipped (logged); KEYPROC_E_UNAVAILABLE. */
static int build_one(const struct cred_files *f, struct dbid *d)
{
	const struct polrec_localid *r = &d->rec;
	int file = r->keyref_type == POLREC_KEYREF_FILE;
	gnutls_pcert_st *pc = NULL;
	gnutls_privkey_t pk = NULL;
	int rc;

	if (import_chain(d, &pc) < 0)
		return 1;
	rc = file ? keyproc_privkey_file(d->name, r->keyref, &pk)
		  : keyproc_privkey_url(d->name, r->keyref, f->pin, &pk);
	if (rc < 0) {
		for (size_t i = 0; i < r->ncerts; i++)
			gnutls_pcert_deinit(&pc[i]);
		gnutls_free(pc);
	} else {
		rc = cred_shared_make(pc, (unsigned)r->ncerts, pk, &d->sh);
	}
	if (rc == KEYPROC_E_UNAVAILABLE)
		return rc;
	if (rc < 0) {	/* a URI may hold a pin-value: never logged */
		tplog(LOG_ERR, "localid.db %s %s: key %s: %s; skipped",
		      d->name, polrec_cred_name(r->kind),
		      file ? r->keyref : "(PKCS#11 URI)",
		      keyproc_strerror(rc));
		return 1;
	}
	d->sh->keyref_type = (int)r->keyref_type;
	d->sh->keyref = r->keyref;	/* taken over */
	d->rec.keyref = NULL;
	return 0;
}

static int build_ids(const struct cred_files *f, struct snap *sn, char *err,
		     size_t errlen)
{
	for (size_t i = 0; i < sn->n; i++) {
		struct dbid *d = &sn->ids[i];
		int rc;

		if (d->sh != NULL || d->off)
			continue;
		rc = build_one(f, d);
		if (rc == KEYPROC_E_UNAVAILABLE) {
			cred_seterr(err, errlen, "localid.db %s x509: key "
				    "process unavailable", d->name);
			return -EAGAIN;
		}
		polrec_localid_free(&d->rec);
	}
	return 0;
}

/* ---- the merge -------------------------------------------------------- */

static void take_db(struct cred_identity *dst, struct dbid *d, int shadows)
{
	memset(dst, 0, sizeof(*dst));
	dst->name = d->name;
	dst->cred = d->sh->cred;
	dst->rawpk = d->sh->rawpk;
	dst->roles = d->roles;
	dst->uids = d->uids;
	dst->nuids = d->nuids;
	dst->from_db = 1;
	dst->shadows = shadows;
	dst->sh = d->sh;
	d->name = NULL;
	d->uids = NULL;
	d->sh = NULL;
}

static void take_file(struct cred_identity *dst, const struct cred_identity *f)
{
	*dst = *f;	/* the name stays the file part's */
	atomic_fetch_add_explicit(&f->sh->refs, 1, memory_order_relaxed);
}

static int dbid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dbid *)a)->name,
		      ((const struct dbid *)b)->name);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file identity that a disabled or unusable record hides: logged when
 * prev did not hide it already. */
static void hide(struct cred_store *s, const struct cred_store *prev,
		 struct dbid *d)
{
	if (prev == NULL || prev->nhidden == 0 ||
	    bsearch(&d->name, prev->hidden, prev->nhidden,
		    sizeof(*prev->hidden), name_cmp) == NULL)
		tplog(LOG_NOTICE, "identity %s: the %s localid.db record hides "
		      "the file in localid_dir", d->name,
		      d->off ? "disabled" : "unusable");
	s->hidden[s->nhidden++] = d->name;	/* in name order */
	d->name = NULL;
}

/* A file identity that a database identity replaces: logged when prev
 * did not replace it already. */
static void shadow(const struct cred_store *prev, const char *name)
{
	const struct cred_identity *old = cred_find(prev, name);

	if (old == NULL || !old->shadows)
		tplog(LOG_NOTICE, "identity %s: localid.db replaces the file "
		      "in localid_dir", name);
}

/* Files and database identities, sorted.  A name in localid.db is the
 * database's: its identity replaces the file's, and a disabled or
 * unusable record leaves the name without identity (fail closed). */
static int merge(struct cred_store *s, const struct cred_store *prev,
		 struct snap *sn)
{
	const struct cred_files *f = s->files;
	size_t i = 0, j = 0;

	s->ids = calloc(f->n + sn->n + 1, sizeof(*s->ids));
	s->hidden = calloc(sn->n + 1, sizeof(*s->hidden));
	if (s->ids == NULL || s->hidden == NULL)
		return -ENOMEM;
	if (sn->n > 1)
		qsort(sn->ids, sn->n, sizeof(*sn->ids), dbid_cmp);
	while (i < f->n || j < sn->n) {
		struct dbid *d = j < sn->n ? &sn->ids[j] : NULL;
		int c = i >= f->n ? 1 : d == NULL ? -1
			: strcmp(f->ids[i].name, d->name);

		if (c < 0) {
			take_file(&s->ids[s->n++], &f->ids[i++]);
			continue;
		}
		j++;
		if (c == 0)
			i++;
		if (d->sh == NULL) {	/* disabled or skipped */
			if (c == 0)
				hide(s, prev, d);
			continue;
		}
		if (c == 0)
			shadow(prev, d->name);
		take_db(&s->ids[s->n++], d, c == 0);
		s->ndb++;
	}
	return 0;
}

/* ---- trust lists -------------------------------------------------------- */

/* 1 added, 0 not a certificate, or a GnuTLS error. */
static int add_der(gnutls_x509_trust_list_t tl, const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	int rc = gnutls_x509_crt_init(&crt);

	if (rc < 0)
		return rc;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return 0;
	}
	if (gnutls_x509_trust_list_add_cas(tl, &crt, 1, 0) != 1) {
		gnutls_x509_crt_deinit(crt);
		return GNUTLS_E_MEMORY_ERROR;
	}
	return 1;
}

/* One list: files, system store, and the database anchors for mask
 * (0: every one).  Unusable database anchors are logged by the first
 * list only (mask 0). */
static int build_list(struct cred_store *s, int which, unsigned mask,
		      const struct snap *sn, char *err, size_t errlen)
{
	const struct cred_files *f = s->files;
	gnutls_x509_trust_list_t tl = NULL;
	int rc = gnutls_x509_trust_list_init(&tl, 0);

	if (rc < 0)
		goto gnutls_err;
	s->trust[which] = tl;
	for (size_t i = 0; i < f->nanchors; i++) {
		rc = add_der(tl, &f->anchors[i]);
		if (rc <= 0)
			goto gnutls_err;
		s->anchors[which]++;
	}
	if (f->system) {
		rc = gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
		if (rc < 0) {
			cred_seterr(err, errlen, "system trust store: %s",
				    gnutls_strerror(rc));
			return -EINVAL;
		}
		s->anchors[which] += (unsigned)rc;
	}
	for (size_t i = 0; i < sn->na; i++) {
		if (mask != 0 && !(sn->anch[i].flags & mask))
			continue;
		rc = add_der(tl, &sn->anch[i].der);
		if (rc < 0)
			goto gnutls_err;
		if (rc == 0 && mask == 0)
			tplog(LOG_ERR, "trust.db %s: not a certificate; "
			      "skipped", sn->anch[i].key);
		s->anchors[which] += (unsigned)rc;
	}
	return 0;
gnutls_err:
	cred_seterr(err, errlen, "trust list: %s",
		    gnutls_strerror(rc < 0 ? rc : GNUTLS_E_MEMORY_ERROR));
	return -ENOMEM;
}

static int build_trust(struct cred_store *s, const struct snap *sn, char *err,
		       size_t errlen)
{
	int split = 0, rc;

	for (size_t i = 0; i < sn->na; i++)
		split |= (sn->anch[i].flags & POLREC_TRUSTF_MASK) !=
			 POLREC_TRUSTF_MASK;
	rc = build_list(s, CRED_TL_ALL, 0, sn, err, errlen);
	if (rc == 0 && split)
		rc = build_list(s, CRED_TL_CLIENTS, POLREC_TRUSTF_CLIENTS, sn,
				err, errlen);
	if (rc == 0 && split)
		rc = build_list(s, CRED_TL_SERVERS, POLREC_TRUSTF_SERVERS, sn,
				err, errlen);
	if (rc < 0 || split)
		return rc;
	for (int i = CRED_TL_CLIENTS; i < CRED_TL_N; i++) {
		s->trust[i] = s->trust[CRED_TL_ALL];
		s->anchors[i] = s->anchors[CRED_TL_ALL];
	}
	return 0;
}

int cred_assemble(struct cred_store *s, const struct cred_store *prev,
		  struct policydb *db, char *err, size_t errlen)
{
	struct snap sn;
	size_t nanch;
	int rc = 0;

	memset(&sn, 0, sizeof(sn));
	sn.prev = prev;
	if (db != NULL) {
		s->have_db = 1;
		rc = read_db(&sn, db, err, errlen);
		if (rc == 0)
			rc = build_ids(s->files, &sn, err, errlen);
		s->serial = sn.serial;
	}
	if (rc == 0)
		rc = build_trust(s, &sn, err, errlen);
	if (rc == 0)
		rc = merge(s, prev, &sn);
	if (rc == -ENOMEM)
		cred_seterr(err, errlen, "credential store: out of memory");
	nanch = sn.na;
	snap_free(&sn);
	if (rc < 0)
		return rc;
	if (s->anchors[CRED_TL_ALL] == 0 &&
	    (prev == NULL || prev->anchors[CRED_TL_ALL] != 0))
		tplog(LOG_WARNING, "no trust anchors configured: every peer "
		      "certificate will be refused");
	tplog(prev ? LOG_DEBUG : LOG_INFO, "credentials: %zu identities "
	      "(%zu from localid.db), %u trust anchors (%zu from trust.db)%s",
	      s->n, s->ndb,
	      s->anchors[CRED_TL_ALL], nanch,
	      s->have_db ? "" : ", no policy databases");
	return 0;
}

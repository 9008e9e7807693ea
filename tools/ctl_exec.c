/* tlspool-ctl: apply changes in one transaction, show records.
 *
 * Output is one line per record, "<db> <key words> name=value ...", with
 * every byte outside printable ASCII, space and backslash written as
 * \xHH, so it stays one line and greppable. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRIES 5

static void put_esc(FILE *out, const char *s)
{
	if (s == NULL || *s == '\0') {
		fputc('-', out);
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '\\')
			fputc(*p, out);
		else
			fprintf(out, "\\x%02x", *p);
	}
}

static void put_uids(FILE *out, const uint32_t *u, size_t n)
{
	fputs(" uids=", out);
	if (n == 0)
		fputs("any", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%u", i ? "," : "", (unsigned)u[i]);
}

/* ---- one line per record ---- */

struct show {
	FILE *out;
	size_t count;
	int corrupt;
};

static int show_localid(void *ctx, const char *id,
			const struct polrec_localid *r)
{
	struct show *s = ctx;
	char hex[65];

	fputs("localid ", s->out);
	put_esc(s->out, id);
	fprintf(s->out, " kind=%s roles=%s flags=%s key=",
		polrec_cred_name(r->kind), polrec_role_name(r->roles),
		(r->flags & POLREC_LIDF_DISABLED) ? "disabled" : "-");
	if (r->keyref_type == POLREC_KEYREF_FILE)
		fputs("file:", s->out);
	put_esc(s->out, r->keyref);
	fprintf(s->out, " certs=%zu", r->ncerts);
	if (r->kind == POLREC_CRED_X509 && r->ncerts > 0 &&
	    ctl_der_spki_hex(&r->certs[0], hex) == 0)
		fprintf(s->out, " leaf-spki=%s", hex);
	put_uids(s->out, r->uids, r->nuids);
	fputc('\n', s->out);
	s->count++;
	return 0;
}

static int show_disclose(void *ctx, const char *sel,
			 const struct polrec_disclose *r)
{
	struct show *s = ctx;

	fputs("disclose ", s->out);
	put_esc(s->out, sel);
	fputs(" ids=", s->out);
	if (r->nids == 0)
		fputc('-', s->out);
	for (size_t i = 0; i < r->nids; i++) {
		if (i > 0)
			fputc(',', s->out);
		put_esc(s->out, r->ids[i]);
	}
	fputc('\n', s->out);
	s->count++;
	return 0;
}

static int show_trust(void *ctx, const char *key, const struct polrec_trust *r)
{
	struct show *s = ctx;
	static const char *const peers[] = { "-", "clients", "servers", "both" };

	fputs("trust ", s->out);
	put_esc(s->out, key);
	fprintf(s->out, " kind=%s peers=%s valexp=",
		polrec_trust_kind_name(r->kind), peers[r->flags & 3]);
	put_esc(s->out, r->valexp);
	fputs(" for=", s->out);
	put_esc(s->out, r->bound_id);
	fprintf(s->out, " der=%zu\n", r->der.len);
	s->count++;
	return 0;
}

static int show_policy(void *ctx, const char *sel, unsigned role,
		       const struct polrec_policy *r)
{
	struct show *s = ctx;
	char kinds[32];

	fputs("policy ", s->out);
	put_esc(s->out, sel);
	fprintf(s->out, " %s min=%s max=%s client-auth=%s kinds=%s priority=",
		polrec_role_name(role), polrec_version_name(r->min_version),
		polrec_version_name(r->max_version),
		polrec_cauth_name(r->client_auth),
		polrec_kinds_format(r->kinds, kinds, sizeof(kinds)));
	put_esc(s->out, r->priority);
	fputs(" valexp=", s->out);
	put_esc(s->out, r->valexp);
	put_uids(s->out, r->uids, r->nuids);
	fputc('\n', s->out);
	s->count++;
	return 0;
}

static void on_corrupt(void *ctx, enum policydb_which which, const void *key,
		       size_t keylen, const char *why)
{
	struct show *s = ctx;
	const unsigned char *k = key;

	fprintf(stderr, "tlspool-ctl: corrupt %s record ", policydb_name(which));
	for (size_t i = 0; i < keylen; i++) {
		if (k[i] > 0x20 && k[i] < 0x7f && k[i] != '\\')
			fputc(k[i], stderr);
		else
			fprintf(stderr, "\\x%02x", k[i]);
	}
	fprintf(stderr, " skipped: %s\n", why);
	s->corrupt = 1;
}

/* A single record by key (get); -ENOENT when absent. */
static int show_one(struct policydb_txn *txn, const struct ctl_cmd *c,
		    struct show *s)
{
	union {
		struct polrec_disclose d;
		struct polrec_trust t;
		struct polrec_policy p;
	} r;
	int rc;

	switch (c->db) {
	case POLICYDB_DISCLOSE:
		rc = policydb_disclose_get(txn, c->name, &r.d);
		if (rc == 0) {
			show_disclose(s, c->name, &r.d);
			polrec_disclose_free(&r.d);
		}
		return rc;
	case POLICYDB_TRUST:
		rc = policydb_trust_get(txn, c->name, &r.t);
		if (rc == 0) {
			show_trust(s, c->name, &r.t);
			polrec_trust_free(&r.t);
		}
		return rc;
	default:
		rc = policydb_policy_get(txn, c->name, c->role, &r.p);
		if (rc == 0) {
			show_policy(s, c->name, c->role, &r.p);
			polrec_policy_free(&r.p);
		}
		return rc;
	}
}

struct kind_filter {
	struct show *s;
	int kind;		/* 0: every kind */
};

static int only_kind(void *ctx, const char *id, const struct polrec_localid *r)
{
	struct kind_filter *f = ctx;

	if (f->kind != 0 && (int)r->kind != f->kind)
		return 0;
	return show_localid(f->s, id, r);
}

static int show_in(struct policydb_txn *txn, const struct ctl_cmd *c,
		   struct show *s)
{
	struct kind_filter f = { s, c->kind };

	if (c->db == POLICYDB_LOCALID)
		return policydb_localid_iterate(txn, c->op == CTL_GET ? c->name
								       : NULL,
						only_kind, &f);
	if (c->op == CTL_GET)
		return show_one(txn, c, s);
	switch (c->db) {
	case POLICYDB_DISCLOSE:
		return policydb_disclose_iterate(txn, show_disclose, s);
	case POLICYDB_TRUST:
		return policydb_trust_iterate(txn, NULL, show_trust, s);
	default:
		return policydb_policy_iterate(txn, show_policy, s);
	}
}

int ctl_show(struct policydb *db, const struct ctl_cmd *c, int *corrupt,
	     char *err, size_t errlen)
{
	struct show s = { stdout, 0, 0 };
	struct policydb_txn *txn;
	int rc;

	policydb_set_corrupt_cb(db, on_corrupt, &s);
	rc = policydb_begin(db, &txn, 0);
	if (rc == 0) {
		rc = show_in(txn, c, &s);
		policydb_abort(txn);
	}
	policydb_set_corrupt_cb(db, NULL, NULL);
	*corrupt = s.corrupt;
	if (rc == -EBADMSG)
		rc = 0;		/* reported by on_corrupt */
	if (rc == 0 && c->op == CTL_GET && s.count == 0 && !s.corrupt)
		rc = -ENOENT;
	if (rc == -ENOENT)
		snprintf(err, errlen, "no %s record for %s%s%s",
			 policydb_name(c->db), c->name,
			 c->db == POLICYDB_POLICY ? " " : "",
			 c->db == POLICYDB_POLICY ? polrec_role_name(c->role)
						  : "");
	else if (rc < 0)
		snprintf(err, errlen, "reading %s: %s", policydb_name(c->db),
			 strerror(-rc));
	return rc;
}

/* ---- changes ---- */

static int apply_one(struct policydb_txn *txn, const struct ctl_action *a,
		     char *err, size_t errlen)
{
	int rc;

	if (!a->del)
		rc = policydb_raw_put(txn, a->db, a->key, a->keylen, a->val,
				      a->vallen);
	else if (a->db == POLICYDB_LOCALID)
		rc = policydb_localid_del(txn, a->key, a->localid_kind);
	else
		rc = policydb_raw_del(txn, a->db, a->key, a->keylen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "%s: no such record", a->label);
	else if (rc < 0)
		snprintf(err, errlen, "%s: %s", a->label, strerror(-rc));
	return rc;
}

static int apply_all(struct policydb *db, const struct ctl_actions *acts,
		     char *err, size_t errlen)
{
	struct policydb_txn *txn;
	int rc = policydb_begin(db, &txn, 1);

	if (rc < 0) {
		snprintf(err, errlen, "cannot begin a transaction: %s",
			 strerror(-rc));
		return rc;
	}
	for (size_t i = 0; rc == 0 && i < acts->n; i++)
		rc = apply_one(txn, &acts->a[i], err, errlen);
	if (rc < 0) {
		policydb_abort(txn);
		return rc;
	}
	rc = policydb_commit(txn);
	if (rc < 0)
		snprintf(err, errlen, "commit failed: %s", strerror(-rc));
	return rc;
}

int ctl_apply(struct policydb *db, const struct ctl_actions *acts, char *err,
	      size_t errlen)
{
	uint64_t serial = 0;
	int rc, tries = 0;

	do
		rc = apply_all(db, acts, err, errlen);
	while (rc == -EDEADLK && ++tries < RETRIES);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < acts->n; i++)
		printf("%s %s\n", acts->a[i].del ? "del" : "set", acts->a[i].label);
	if (policydb_serial(db, &serial) == 0)
		printf("serial %llu\n", (unsigned long long)serial);
	return 0;
}

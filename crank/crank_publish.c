/* crank plan / crank apply: the difference between the source and the
 * crank's subtree, and writing it (crank(1)). */
#include <errno.h>
#include <ldap.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>

#include "crank_conf.h"
#include "crank_describe.h"
#include "crank_entry.h"
#include "crank_main.h"
#include "pldap.h"

enum op { OP_NONE, OP_ADD, OP_MODIFY, OP_REPLACE, OP_DELETE };

struct change {
	enum op op;
	const struct crank_entry *have, *want;
	char changed[CRANK_ENTRY_ATTRS][48];
	int nchanged;
};

struct state {
	struct crank_conf conf;
	uint8_t sk[64], pk[32];
	struct crank_loaded src;
	struct crank_entry *want, *have;
	size_t nwant, nhave;
	struct change *ch;
	size_t nch;
	LDAP *ld;
	const struct crank_report *r;
};

static void report_error(const struct state *s, const char *msg)
{
	if (s->r->error != NULL)
		s->r->error(s->r->ctx, msg);
}

static void ldap_fail(struct state *s, const char *what, int rc)
{
	char *diag = NULL, msg[1400];

	ldap_get_option(s->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(msg, sizeof(msg), "%s: %s%s%s", what, ldap_err2string(rc),
		 diag && *diag ? ": " : "", diag && *diag ? diag : "");
	ldap_memfree(diag);
	report_error(s, msg);
}

/* ---- reading the subtree ---- */

static int read_entry(LDAP *ld, LDAPMessage *m, struct crank_entry *e)
{
	BerElement *ber = NULL;
	char *dn = ldap_get_dn(ld, m), *a;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->dn = dn ? strdup(dn) : NULL;
	ldap_memfree(dn);
	if (e->dn == NULL)
		return -ENOMEM;
	for (a = ldap_first_attribute(ld, m, &ber); rc == 0 && a != NULL;
	     a = ldap_next_attribute(ld, m, ber)) {
		struct berval **bv = ldap_get_values_len(ld, m, a);
		size_t n = bv ? (size_t)ldap_count_values_len(bv) : 0;
		struct crank_val *v = calloc(n ? n : 1, sizeof(*v));

		if (v == NULL)
			rc = -ENOMEM;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			v[i].data = (uint8_t *)bv[i]->bv_val;
			v[i].len = bv[i]->bv_len;
		}
		if (rc == 0)
			rc = crank_entry_add_attr(e, a, v, n);
		free(v);
		ldap_value_free_len(bv);
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	if (rc == 0)
		rc = crank_entry_key(e);
	return rc;
}

static int read_subtree(struct state *s)
{
	char *attrs[] = { "*", NULL };
	LDAPMessage *res = NULL, *m;
	int rc = ldap_search_ext_s(s->ld, s->conf.ldap.ldap_base,
				   LDAP_SCOPE_ONELEVEL, "(objectClass=*)", attrs,
				   0, NULL, NULL, NULL, LDAP_NO_LIMIT, &res);
	size_t n;

	if (rc != LDAP_SUCCESS) {
		char what[600];

		snprintf(what, sizeof(what), "reading %s", s->conf.ldap.ldap_base);
		ldap_fail(s, what, rc);
		ldap_msgfree(res);
		return -EIO;
	}
	n = (size_t)ldap_count_entries(s->ld, res);
	s->have = calloc(n ? n : 1, sizeof(*s->have));
	if (s->have == NULL) {
		ldap_msgfree(res);
		return -ENOMEM;
	}
	rc = 0;
	for (m = ldap_first_entry(s->ld, res); rc == 0 && m != NULL;
	     m = ldap_next_entry(s->ld, m)) {
		rc = read_entry(s->ld, m, &s->have[s->nhave]);
		s->nhave++;
	}
	ldap_msgfree(res);
	return rc;
}

/* ---- the difference ---- */

static int key_cmp(const struct crank_entry *x, const struct crank_entry *y)
{
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c;

	if (x->db != y->db)
		return x->db < y->db ? -1 : 1;
	c = memcmp(x->key, y->key, n);
	return c ? c : (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/* Keyed entries first, in key order (the order of the records). */
static int have_cmp(const void *a, const void *b)
{
	const struct crank_entry *x = a, *y = b;

	if (x->keyed != y->keyed)
		return x->keyed ? -1 : 1;
	return x->keyed ? key_cmp(x, y) : 0;
}

static int find_cmp(const void *k, const void *e)
{
	const struct crank_entry *x = k, *y = e;

	return y->keyed ? key_cmp(x, y) : -1;
}

static const struct crank_entry *find(const struct crank_entry *arr, size_t n,
				      const struct crank_entry *k)
{
	return n ? bsearch(k, arr, n, sizeof(*arr), find_cmp) : NULL;
}

/* The entry of have that stands for want's key: of several with that
 * key (another DN, a copy of an older signed version), the one at
 * want's DN, else the first.  The others are deleted. */
static const struct crank_entry *pick(const struct crank_entry *arr, size_t n,
				      const struct crank_entry *w)
{
	const struct crank_entry *f = find(arr, n, w), *e;

	if (f == NULL)
		return NULL;
	while (f > arr && f[-1].keyed && key_cmp(&f[-1], w) == 0)
		f--;
	for (e = f; e < arr + n && e->keyed && key_cmp(e, w) == 0; e++)
		if (strcasecmp(e->dn, w->dn) == 0)
			return e;
	return f;
}

static int plan(struct state *s)
{
	s->ch = calloc(s->nwant + s->nhave + 1, sizeof(*s->ch));
	if (s->ch == NULL)
		return -ENOMEM;
	if (s->nhave > 1)
		qsort(s->have, s->nhave, sizeof(*s->have), have_cmp);
	/* deletes first: a key whose entry is written differently (another
	 * DN spelling) is then free for its add */
	for (size_t i = 0; i < s->nhave; i++) {
		const struct crank_entry *h = &s->have[i];

		const struct crank_entry *w = h->keyed ? find(s->want, s->nwant, h)
						       : NULL;

		if (h->is_policy &&
		    (w == NULL || pick(s->have, s->nhave, w) != h))
			s->ch[s->nch++] = (struct change){ .op = OP_DELETE, .have = h };
	}
	for (size_t j = 0; j < s->nwant; j++) {
		struct change *c = &s->ch[s->nch++];

		c->want = &s->want[j];
		c->have = pick(s->have, s->nhave, c->want);
		if (c->have == NULL) {
			c->op = OP_ADD;
			continue;
		}
		c->nchanged = crank_entry_diff(c->have, c->want, c->changed,
					       CRANK_ENTRY_ATTRS);
		c->op = c->nchanged < 0 ? OP_REPLACE :
			c->nchanged > 0 ? OP_MODIFY : OP_NONE;
	}
	return 0;
}

/* ---- output ---- */

static void val_text(const struct crank_attr *a, char *buf, size_t cap)
{
	size_t off = 0;

	buf[0] = '\0';
	if (a == NULL || a->nvals == 0) {
		snprintf(buf, cap, "(none)");
		return;
	}
	for (size_t i = 0; i < a->nvals && off < cap; i++) {
		int text = a->vals[i].len > 0, n;

		for (size_t k = 0; k < a->vals[i].len; k++)
			text &= a->vals[i].data[k] >= 0x20 && a->vals[i].data[k] < 0x7f;
		if (text)
			n = snprintf(buf + off, cap - off, "%s\"%.*s\"", i ? ", " : "",
				     (int)a->vals[i].len,
				     (const char *)a->vals[i].data);
		else
			n = snprintf(buf + off, cap - off, "%s%zu bytes",
				     i ? ", " : "", a->vals[i].len);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static const char *const op_names[] = { "", "add", "modify", "replace",
					"delete" };

static void show_change(const struct state *s, const struct change *c)
{
	const struct crank_entry *e = c->want ? c->want : c->have;
	struct crank_report_attr ra[CRANK_ENTRY_ATTRS];
	char vals[CRANK_ENTRY_ATTRS][2][512];
	char was[1024] = "(none)", now[1024] = "";
	int n = c->op == OP_MODIFY ? c->nchanged : 0, rec = 0;

	for (int i = 0; i < n && i < CRANK_ENTRY_ATTRS; i++) {
		val_text(crank_entry_attr(c->have, c->changed[i]), vals[i][0],
			 sizeof(vals[i][0]));
		val_text(crank_entry_attr(c->want, c->changed[i]), vals[i][1],
			 sizeof(vals[i][1]));
		ra[i] = (struct crank_report_attr){ c->changed[i], vals[i][0],
						    vals[i][1] };
		rec |= strcasecmp(c->changed[i], "tlsPoolPolicyRecord") == 0;
	}
	if (rec) {
		const struct crank_attr *h =
			crank_entry_attr(c->have, "tlsPoolPolicyRecord");
		const struct crank_attr *w =
			crank_entry_attr(c->want, "tlsPoolPolicyRecord");

		if (h != NULL && h->nvals == 1)
			crank_describe(c->want->db, h->vals[0].data,
				       h->vals[0].len, was, sizeof(was));
		crank_describe(c->want->db, w->vals[0].data, w->vals[0].len,
			       now, sizeof(now));
	}
	if (s->r->change != NULL)
		s->r->change(s->r->ctx, op_names[c->op], e->label,
			     c->have ? c->have->dn : c->want->dn, ra, n,
			     rec ? was : NULL, rec ? now : NULL);
}

/* ---- writing ---- */

static LDAPMod **mods_for(const struct crank_entry *e, const struct change *c)
{
	size_t n = c ? (size_t)c->nchanged : e->nattrs, k = 0;
	LDAPMod **mods = calloc(n + 1, sizeof(*mods));

	if (mods == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const struct crank_attr *a = c ? crank_entry_attr(e, c->changed[i])
					       : &e->attrs[i];
		LDAPMod *m = calloc(1, sizeof(*m));
		size_t nv = a ? a->nvals : 0;

		if (m == NULL)
			goto nomem;
		mods[k++] = m;
		m->mod_op = (c == NULL ? LDAP_MOD_ADD : a ? LDAP_MOD_REPLACE
							   : LDAP_MOD_DELETE) |
			    LDAP_MOD_BVALUES;
		m->mod_type = a ? a->type : (char *)c->changed[i];
		if (nv == 0)
			continue;
		m->mod_bvalues = calloc(nv + 1, sizeof(*m->mod_bvalues));
		if (m->mod_bvalues == NULL)
			goto nomem;
		for (size_t j = 0; j < nv; j++) {
			struct berval *bv = calloc(1, sizeof(*bv));

			if (bv == NULL)
				goto nomem;
			bv->bv_val = (char *)a->vals[j].data;
			bv->bv_len = a->vals[j].len;
			m->mod_bvalues[j] = bv;
		}
	}
	return mods;
nomem:
	for (size_t i = 0; i < k; i++) {
		for (size_t j = 0; mods[i]->mod_bvalues && mods[i]->mod_bvalues[j]; j++)
			free(mods[i]->mod_bvalues[j]);
		free(mods[i]->mod_bvalues);
		free(mods[i]);
	}
	free(mods);
	return NULL;
}

static void mods_free(LDAPMod **mods)
{
	for (size_t i = 0; mods && mods[i]; i++) {
		for (size_t j = 0; mods[i]->mod_bvalues && mods[i]->mod_bvalues[j]; j++)
			free(mods[i]->mod_bvalues[j]);
		free(mods[i]->mod_bvalues);
		free(mods[i]);
	}
	free(mods);
}

static int write_one(struct state *s, const struct change *c)
{
	LDAPMod **mods = NULL;
	int rc = LDAP_SUCCESS;

	if (c->op == OP_DELETE || c->op == OP_REPLACE)
		rc = ldap_delete_ext_s(s->ld, c->have->dn, NULL, NULL);
	if (rc == LDAP_SUCCESS && c->op != OP_DELETE) {
		mods = mods_for(c->want, c->op == OP_MODIFY ? c : NULL);
		if (mods == NULL)
			rc = LDAP_NO_MEMORY;
		else if (c->op == OP_MODIFY)
			rc = ldap_modify_ext_s(s->ld, c->have->dn, mods, NULL, NULL);
		else
			rc = ldap_add_ext_s(s->ld, c->want->dn, mods, NULL, NULL);
	}
	mods_free(mods);
	return rc;
}

static int apply(struct state *s)
{
	static const char *const done[] = { "", "added", "modified", "replaced",
					    "deleted" };
	unsigned count[5] = { 0 }, failed = 0;

	for (size_t i = 0; i < s->nch; i++) {
		const struct change *c = &s->ch[i];
		const struct crank_entry *e = c->want ? c->want : c->have;
		char msg[1400];
		int rc;

		if (c->op == OP_NONE) {
			count[OP_NONE]++;
			continue;
		}
		rc = write_one(s, c);
		if (rc == LDAP_SUCCESS) {
			count[c->op]++;
		} else {
			char *diag = NULL;

			failed++;
			ldap_get_option(s->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
			snprintf(msg, sizeof(msg), "%s%s%s", ldap_err2string(rc),
				 diag && *diag ? ": " : "",
				 diag && *diag ? diag : "");
			ldap_memfree(diag);
		}
		if (s->r->result != NULL)
			s->r->result(s->r->ctx, done[c->op], e->label,
				     c->have ? c->have->dn : c->want->dn,
				     rc == LDAP_SUCCESS ? NULL : msg);
	}
	if (s->r->summary != NULL)
		s->r->summary(s->r->ctx, 1, count, failed);
	return failed ? CRANK_EXIT_PARTIAL : CRANK_EXIT_OK;
}

static int show_plan(const struct state *s)
{
	unsigned count[5] = { 0 };
	char pk[65];

	sodium_bin2hex(pk, sizeof(pk), s->pk, sizeof(s->pk));
	if (s->r->plan_head != NULL)
		s->r->plan_head(s->r->ctx, s->conf.ldap.ldap_base, pk);
	for (size_t i = 0; i < s->nhave; i++)
		if (!s->have[i].is_policy && s->r->leave != NULL)
			s->r->leave(s->r->ctx, s->have[i].dn);
	for (size_t i = 0; i < s->nch; i++) {
		count[s->ch[i].op]++;
		if (s->ch[i].op != OP_NONE)
			show_change(s, &s->ch[i]);
	}
	if (s->r->summary != NULL)
		s->r->summary(s->r->ctx, 0, count, 0);
	return CRANK_EXIT_OK;
}

/* ---- the command ---- */

static int connect_read(struct state *s)
{
	char err[1024];

	if (pldap_connect(&s->conf.ldap, &s->ld, err, sizeof(err)) < 0) {
		report_error(s, err);
		return CRANK_EXIT_LDAP;
	}
	return read_subtree(s) < 0 ? CRANK_EXIT_LDAP : CRANK_EXIT_OK;
}

static int prepare(struct state *s, const char *source,
		   const struct crank_build_opts *o, const char *config)
{
	char err[1024];
	int rc;

	if (crank_conf_load(&s->conf, config, err, sizeof(err)) < 0 ||
	    crank_conf_signing_key(s->conf.signing_key, s->sk, s->pk, err,
				   sizeof(err)) < 0) {
		report_error(s, err);
		return CRANK_EXIT_USAGE;
	}
	if (crank_load_report(source, NULL, 0, o, &s->src, s->r) < 0)
		return CRANK_EXIT_SOURCE;
	s->want = calloc(s->src.recs.n + 1, sizeof(*s->want));
	if (s->want == NULL)
		return CRANK_EXIT_SOURCE;
	for (size_t i = 0; i < s->src.recs.n; i++) {
		if (crank_entry_from_rec(&s->src.recs.r[i], s->conf.ldap.ldap_base,
					 s->sk, &s->want[i], err, sizeof(err)) < 0) {
			report_error(s, err);
			return CRANK_EXIT_SOURCE;
		}
		s->nwant++;
	}
	rc = connect_read(s);
	if (rc != CRANK_EXIT_OK)
		return rc;
	return plan(s) < 0 ? CRANK_EXIT_SOURCE : CRANK_EXIT_OK;
}

static void state_free(struct state *s)
{
	if (s->ld != NULL)
		ldap_unbind_ext_s(s->ld, NULL, NULL);
	for (size_t i = 0; i < s->nwant; i++)
		crank_entry_free(&s->want[i]);
	for (size_t i = 0; i < s->nhave; i++)
		crank_entry_free(&s->have[i]);
	free(s->want);
	free(s->have);
	free(s->ch);
	crank_loaded_free(&s->src);
	crank_conf_free(&s->conf);
	sodium_memzero(s->sk, sizeof(s->sk));
}

int crank_publish_report(const char *source, const struct crank_build_opts *o,
			 const char *config, int do_apply,
			 const struct crank_report *r)
{
	struct state s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.r = r;
	if (sodium_init() < 0) {
		report_error(&s, "cannot initialise libsodium");
		return CRANK_EXIT_SOURCE;
	}
	rc = prepare(&s, source, o, config);
	if (rc == CRANK_EXIT_OK)
		rc = do_apply ? apply(&s) : show_plan(&s);
	state_free(&s);
	return rc;
}

int crank_publish(const char *source, const struct crank_build_opts *o,
		  const char *config, int do_apply)
{
	return crank_publish_report(source, o, config, do_apply,
				    &crank_report_print);
}

int crank_publish_list(const char *config, const struct crank_report *r)
{
	struct state s;
	char err[1024];
	int rc;

	memset(&s, 0, sizeof(s));
	s.r = r;
	if (crank_conf_load(&s.conf, config, err, sizeof(err)) < 0) {
		report_error(&s, err);
		rc = CRANK_EXIT_USAGE;
		goto out;
	}
	rc = connect_read(&s);
	if (rc != CRANK_EXIT_OK)
		goto out;
	if (s.nhave > 1)
		qsort(s.have, s.nhave, sizeof(*s.have), have_cmp);
	for (size_t i = 0; i < s.nhave && r->entry != NULL; i++) {
		const struct crank_entry *e = &s.have[i];
		const struct crank_attr *rec =
			crank_entry_attr(e, "tlsPoolPolicyRecord");
		const struct crank_attr *ve =
			crank_entry_attr(e, "tlsPoolValidationExpression");
		char desc[1024] = "", vx[512] = "";

		if (e->keyed && rec != NULL && rec->nvals == 1)
			crank_describe(e->db, rec->vals[0].data, rec->vals[0].len,
				       desc, sizeof(desc));
		if (ve != NULL && ve->nvals == 1)
			snprintf(vx, sizeof(vx), "%.*s", (int)ve->vals[0].len,
				 (const char *)ve->vals[0].data);
		r->entry(r->ctx, e->dn, e->keyed ? e->label : "", e->is_policy,
			 desc, vx);
	}
out:
	state_free(&s);
	return rc;
}

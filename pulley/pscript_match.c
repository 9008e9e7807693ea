/* pscript_match -- what one generator yields for one entry: the DN is
 * split into RDNs (RFC 4514, escapes undone, binary safe), the RDN
 * pattern is matched from the entry upwards, attribute items select
 * values, and the records are the product of the multi-valued
 * variables.  Also evaluates conditions over bound values. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pscript_int.h"

struct ps_ava {
	const char *type;		/* lower-case, NUL-terminated */
	const uint8_t *val;
	size_t vlen;
	int used;
};

struct ps_rdn {
	size_t start;			/* offset of the RDN in the DN string */
	size_t nava;
	struct ps_ava *ava;
};

struct ps_dn {
	const char *str;
	size_t len;
	size_t nrdn;
	struct ps_rdn *rdn;
	struct ps_ava *ava;		/* all AVAs, the RDNs point into it */
	uint8_t *buf;			/* unescaped types and values */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parse one value at s[*pos]; unescaped bytes go to *o. */
static int dn_value(const char *s, size_t n, size_t *pos, uint8_t **o)
{
	size_t i = *pos, keep = 0;
	uint8_t *start = *o, *w = *o;

	while (i < n && s[i] == ' ')
		i++;
	while (i < n && s[i] != ',' && s[i] != '+' && s[i] != ';') {
		if (s[i] == '\\') {
			int h, l;

			if (i + 1 >= n)
				return -EINVAL;
			h = hexval((unsigned char)s[i + 1]);
			l = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (h >= 0 && l >= 0) {
				*w++ = (uint8_t)(h << 4 | l);
				i += 3;
			} else if (strchr(" \"#+,;<=>\\", s[i + 1]) != NULL &&
				   s[i + 1] != '\0') {
				*w++ = (uint8_t)s[i + 1];
				i += 2;
			} else {
				return -EINVAL;
			}
			keep = (size_t)(w - start);
			continue;
		}
		*w++ = (uint8_t)s[i++];
		if (s[i - 1] != ' ')
			keep = (size_t)(w - start);
	}
	*pos = i;
	*o = start + keep;		/* unescaped trailing spaces dropped */
	return 0;
}

int ps_dn_parse(const char *s, struct ps_dn **out)
{
	size_t n = strlen(s), pos = 0, maxava = 1;
	struct ps_dn *dn = calloc(1, sizeof(*dn));
	uint8_t *o;
	int rc = -ENOMEM;

	*out = NULL;
	if (dn == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		maxava += s[i] == '=';
	dn->str = s;
	dn->len = n;
	dn->ava = calloc(maxava, sizeof(*dn->ava));
	dn->rdn = calloc(maxava, sizeof(*dn->rdn));
	dn->buf = malloc(2 * n + 2 * maxava + 1);
	if (dn->ava == NULL || dn->rdn == NULL || dn->buf == NULL)
		goto fail;
	o = dn->buf;
	rc = -EINVAL;
	size_t na = 0;

	while (n > 0) {
		struct ps_rdn *r = &dn->rdn[dn->nrdn++];

		while (pos < n && s[pos] == ' ')
			pos++;
		r->start = pos;
		r->ava = &dn->ava[na];
		for (;;) {
			struct ps_ava *a = &dn->ava[na];
			char *t = (char *)o;

			while (pos < n && s[pos] == ' ')
				pos++;
			while (pos < n && (isalnum((unsigned char)s[pos]) ||
					   s[pos] == '-' || s[pos] == '.'))
				*o++ = (uint8_t)tolower((unsigned char)s[pos++]);
			if ((char *)o == t)
				goto fail;
			*o++ = '\0';
			while (pos < n && s[pos] == ' ')
				pos++;
			if (pos >= n || s[pos] != '=' || na + 1 > maxava)
				goto fail;
			pos++;
			a->type = t;
			a->val = o;
			if (dn_value(s, n, &pos, &o) < 0)
				goto fail;
			a->vlen = (size_t)(o - a->val);
			na++;
			r->nava++;
			if (pos < n && s[pos] == '+') {
				pos++;
				continue;
			}
			break;
		}
		if (pos >= n)
			break;
		pos++;			/* ',' or ';' */
		if (pos >= n)
			goto fail;	/* a trailing separator */
	}
	*out = dn;
	return 0;
fail:
	ps_dn_free(dn);
	return rc;
}

void ps_dn_free(struct ps_dn *dn)
{
	if (dn == NULL)
		return;
	free(dn->ava);
	free(dn->rdn);
	free(dn->buf);
	free(dn);
}

/* ---- generators ---- */

static int same_type(const char *have, const char *want)
{
	size_t n = strcspn(have, ";");

	return strlen(want) == n && strncasecmp(have, want, n) == 0;
}

static int same_val(const uint8_t *a, size_t alen, const uint8_t *b,
		    size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* The values of attribute type (options ignored, all of them). */
static int attr_values(const struct pscript_entry *e, const char *type,
		       struct pscript_value **vals, size_t *n)
{
	size_t total = 0, k = 0;

	for (size_t i = 0; i < e->nattrs; i++)
		if (e->attrs[i].type != NULL && same_type(e->attrs[i].type, type))
			total += e->attrs[i].nvals;
	*n = total;
	*vals = NULL;
	if (total == 0)
		return 0;
	*vals = malloc(total * sizeof(**vals));
	if (*vals == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < e->nattrs; i++)
		if (e->attrs[i].type != NULL && same_type(e->attrs[i].type, type))
			for (size_t j = 0; j < e->attrs[i].nvals; j++)
				(*vals)[k++] = e->attrs[i].vals[j];
	return 0;
}

/* Match the RDN pattern; the DN-bound slots get their value in fixed[]. */
static int match_dn(const struct ps_gen *g, const struct ps_dn *dn,
		    struct pscript_value *fixed, size_t slot)
{
	if (g->nstep == 0 && !g->has_rest)
		return 1;
	if (dn == NULL || dn->nrdn < g->nstep ||
	    (!g->has_rest && dn->nrdn != g->nstep))
		return 0;
	for (size_t k = 0; k < g->nstep; k++) {
		struct ps_rdn *r = &dn->rdn[k];

		if (r->nava != g->step[k].nitem)
			return 0;
		for (size_t j = 0; j < r->nava; j++)
			r->ava[j].used = 0;
		for (size_t j = 0; j < g->step[k].nitem; j++) {
			const struct ps_item *it = &g->step[k].item[j];
			struct ps_ava *a = NULL;

			for (size_t m = 0; m < r->nava && a == NULL; m++)
				if (!r->ava[m].used &&
				    strcmp(r->ava[m].type, it->type) == 0)
					a = &r->ava[m];
			if (a == NULL)
				return 0;
			a->used = 1;
			if (!it->t.is_var) {
				if (!same_val(a->val, a->vlen, it->t.data, it->t.len))
					return 0;
				continue;
			}
			fixed[slot++] = (struct pscript_value){ a->val, a->vlen };
		}
	}
	if (g->has_rest) {
		size_t off = dn->nrdn > g->nstep ? dn->rdn[g->nstep].start : dn->len;

		fixed[slot] = (struct pscript_value){
			(const uint8_t *)dn->str + off, dn->len - off };
	}
	return 1;
}

int ps_gen_match(const struct ps_gen *g, const struct ps_dn *dn,
		 const struct pscript_entry *e, struct ps_recs *out)
{
	struct pscript_value *fixed = calloc(g->nvars + 1, sizeof(*fixed));
	struct pscript_value **lists = calloc(g->nattr + 1, sizeof(*lists));
	size_t *nl = calloc(g->nattr + 1, sizeof(*nl));
	size_t *idx = calloc(g->nattr + 1, sizeof(*idx));
	size_t nattrvar = 0, nrec = 1;
	int rc = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (fixed == NULL || lists == NULL || nl == NULL || idx == NULL)
		goto out;
	for (size_t i = 0; i < g->nattr; i++) {
		const struct ps_item *it = &g->attr[i];
		int hit = 0;

		if ((rc = attr_values(e, it->type, &lists[i], &nl[i])) < 0)
			goto out;
		rc = 0;
		if (nl[i] == 0)
			goto out;	/* no such attribute: no match */
		if (it->t.is_var) {
			nattrvar++;
			if (nrec > PSCRIPT_MAX_RECORDS / nl[i]) {
				rc = -E2BIG;
				goto out;
			}
			nrec *= nl[i];
			continue;
		}
		for (size_t j = 0; j < nl[i] && !hit; j++)
			hit = same_val(lists[i][j].data, lists[i][j].len,
				       it->t.data, it->t.len);
		if (!hit)
			goto out;
	}
	if (!match_dn(g, dn, fixed, nattrvar)) {
		rc = 0;
		goto out;
	}
	out->vals = calloc(nrec * g->nvars + 1, sizeof(*out->vals));
	if (out->vals == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t r = 0; r < nrec; r++) {
		struct pscript_value *rec = &out->vals[r * g->nvars];
		size_t slot = 0;

		memcpy(rec, fixed, g->nvars * sizeof(*rec));
		for (size_t i = 0; i < g->nattr; i++)
			if (g->attr[i].t.is_var)
				rec[slot++] = lists[i][idx[i]];
		/* next combination, last attribute fastest */
		for (size_t i = g->nattr; i-- > 0;) {
			if (!g->attr[i].t.is_var)
				continue;
			if (++idx[i] < nl[i])
				break;
			idx[i] = 0;
		}
	}
	out->nrec = nrec;
	rc = 0;
out:
	for (size_t i = 0; lists != NULL && i < g->nattr; i++)
		free(lists[i]);
	free(lists);
	free(nl);
	free(idx);
	free(fixed);
	return rc;
}

void ps_recs_free(struct ps_recs *r)
{
	free(r->vals);
	r->vals = NULL;
	r->nrec = 0;
}

/* ---- conditions ---- */

static struct pscript_value term_val(const struct ps_term *t,
				     const struct pscript_value *vals)
{
	if (t->is_var)
		return vals[t->var];
	return (struct pscript_value){ t->data, t->len };
}

int ps_cond_eval(const struct ps_cond *c, const struct pscript_value *vals)
{
	switch (c->op) {
	case PS_EQ:
	case PS_NE: {
		struct pscript_value a = term_val(&c->a, vals);
		struct pscript_value b = term_val(&c->b, vals);
		int eq = same_val(a.data, a.len, b.data, b.len);

		return c->op == PS_EQ ? eq : !eq;
	}
	case PS_AND:
		for (size_t i = 0; i < c->nsub; i++)
			if (!ps_cond_eval(&c->sub[i], vals))
				return 0;
		return 1;
	case PS_OR:
		for (size_t i = 0; i < c->nsub; i++)
			if (ps_cond_eval(&c->sub[i], vals))
				return 1;
		return 0;
	case PS_NOT:
		return !ps_cond_eval(&c->sub[0], vals);
	}
	return 0;
}

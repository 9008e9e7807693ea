/* pscript_compile -- semantic checks, canonical form, identity and the
 * accessors of a compiled PulleyScript. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "pscript_int.h"

#define IDENTITY_TAG "pulleyscript/1\n"

struct checker {
	struct pscript *s;
	pscript_error_fn err;
	void *ctx;
	int nerr;
	int oom;
};

static void cerr(struct checker *c, unsigned line, unsigned col,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void cerr(struct checker *c, unsigned line, unsigned col,
		 const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->nerr++;
	if (c->err != NULL)
		c->err(c->ctx, line, col, msg);
}

/* ---- variables ---- */

static int find_var(const struct pscript *s, const char *name)
{
	for (size_t i = 0; i < s->nvars; i++)
		if (strcmp(s->vars[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Where variable v was bound, for the error message. */
static void bound_at(const struct pscript *s, unsigned v, unsigned *line,
		     unsigned *col)
{
	const struct ps_gen *g = &s->gen[s->vars[v].gen];
	unsigned slot = 0, want = s->vars[v].slot;

	*line = g->line;
	*col = g->col;
	for (size_t i = 0; i < g->nattr; i++)
		if (g->attr[i].t.is_var && slot++ == want)
			*col = g->attr[i].t.col;
	for (size_t i = 0; i < g->nstep; i++)
		for (size_t j = 0; j < g->step[i].nitem; j++)
			if (g->step[i].item[j].t.is_var && slot++ == want)
				*col = g->step[i].item[j].t.col;
	if (g->has_rest && slot == want)
		*col = g->rest.col;
}

static void bind_term(struct checker *c, struct ps_term *t, unsigned gi)
{
	struct pscript *s = c->s;
	struct ps_gen *g = &s->gen[gi];
	int v;
	unsigned *gv;
	struct ps_var *nv;

	if (!t->is_var)
		return;
	v = find_var(s, t->name);
	if (v >= 0) {
		unsigned l, col;

		bound_at(s, (unsigned)v, &l, &col);
		cerr(c, t->line, t->col, "variable '%s' is already bound at "
		     "line %u column %u: each variable is bound by exactly one "
		     "generator, relate two with a condition '(x = y)'",
		     t->name, l, col);
		return;
	}
	if (s->nvars >= PSCRIPT_MAX_VARS) {
		cerr(c, t->line, t->col, "more than %d variables",
		     PSCRIPT_MAX_VARS);
		return;
	}
	nv = realloc(s->vars, (s->nvars + 1) * sizeof(*nv));
	gv = realloc(g->vars, (g->nvars + 1) * sizeof(*gv));
	if (nv != NULL)
		s->vars = nv;
	if (gv != NULL)
		g->vars = gv;
	if (nv == NULL || gv == NULL ||
	    (nv[s->nvars].name = strdup(t->name)) == NULL) {
		c->oom = 1;
		return;
	}
	nv[s->nvars].gen = (int)gi;
	nv[s->nvars].slot = (unsigned)g->nvars;
	t->var = (unsigned)s->nvars;
	gv[g->nvars++] = (unsigned)s->nvars++;
}

/* Every variable a generator names is bound by it, in record order:
 * attribute items, then RDN steps from the entry up, then '@rest'. */
static void check_gens(struct checker *c)
{
	struct pscript *s = c->s;

	if (s->ngen > PSCRIPT_MAX_GENS) {
		cerr(c, s->gen[PSCRIPT_MAX_GENS].line, 1,
		     "more than %d generators", PSCRIPT_MAX_GENS);
		return;
	}
	for (size_t gi = 0; gi < s->ngen; gi++) {
		struct ps_gen *g = &s->gen[gi];

		if (strcmp(g->world, "world") != 0)
			cerr(c, g->world_line, g->world_col, "unknown source "
			     "'%s': generators draw from 'world' (the synced "
			     "directory)", g->world);
		for (size_t i = 0; i < g->nattr; i++)
			bind_term(c, &g->attr[i].t, (unsigned)gi);
		for (size_t i = 0; i < g->nstep; i++)
			for (size_t j = 0; j < g->step[i].nitem; j++)
				bind_term(c, &g->step[i].item[j].t, (unsigned)gi);
		if (g->has_rest)
			bind_term(c, &g->rest, (unsigned)gi);
	}
}

/* Resolve a variable used in a condition or a driver; 1 if resolved. */
static int use_term(struct checker *c, struct ps_term *t, const char *where)
{
	int v;

	if (!t->is_var)
		return 0;
	v = find_var(c->s, t->name);
	if (v < 0) {
		cerr(c, t->line, t->col, "variable '%s' in %s is not bound by "
		     "any generator", t->name, where);
		return 0;
	}
	t->var = (unsigned)v;
	return 1;
}

static int check_cond(struct checker *c, struct ps_cond *k)
{
	int nvar = 0;

	if (k->op == PS_EQ || k->op == PS_NE) {
		use_term(c, &k->a, "a condition");
		use_term(c, &k->b, "a condition");
		return k->a.is_var + k->b.is_var;
	}
	for (size_t i = 0; i < k->nsub; i++)
		nvar += check_cond(c, &k->sub[i]);
	return nvar;
}

static void check_conds(struct checker *c)
{
	for (size_t i = 0; i < c->s->ncond; i++) {
		struct ps_cond *k = &c->s->cond[i];

		if (check_cond(c, k) == 0)
			cerr(c, k->line, k->col, "the condition names no "
			     "variable: it is always true or always false");
	}
}

static void check_drivers(struct checker *c)
{
	struct pscript *s = c->s;

	for (size_t di = 0; di < s->ndriver; di++) {
		struct ps_driver *d = &s->driver[di];

		d->varname = calloc(d->nvars, sizeof(*d->varname));
		if (d->varname == NULL) {
			c->oom = 1;
			return;
		}
		for (size_t i = 0; i < d->nvars; i++) {
			d->varname[i] = d->out[i].name;
			use_term(c, &d->out[i], "a driver");
			for (size_t j = 0; j < i; j++)
				if (strcmp(d->out[j].name, d->out[i].name) == 0)
					cerr(c, d->line, d->out[i].col,
					     "driver '%s' outputs '%s' twice",
					     d->name, d->out[i].name);
		}
	}
	if (s->ndriver == 0)
		cerr(c, 1, 1, "no driver line ('vars -> name (...)'): the "
		     "script would output nothing");
}

/* ---- canonical form and identity ---- */

static void canon_bytes(struct ps_buf *b, const uint8_t *d, size_t n)
{
	ps_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char x[5];

		if (d[i] < 0x20 || d[i] >= 0x7f || d[i] == '"' || d[i] == '\\') {
			snprintf(x, sizeof(x), "\\x%02x", d[i]);
			ps_buf_add(b, x, 4);
		} else {
			ps_buf_add(b, &d[i], 1);
		}
	}
	ps_buf_add(b, "\"", 1);
}

static void canon_term(struct ps_buf *b, const struct ps_term *t)
{
	if (t->is_var)
		ps_buf_str(b, t->name);
	else
		canon_bytes(b, t->data, t->len);
}

static void canon_items(struct ps_buf *b, const struct ps_item *it, size_t n,
			const char *op)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			ps_buf_add(b, "+", 1);
		ps_buf_str(b, it[i].type);
		ps_buf_str(b, op);
		canon_term(b, &it[i].t);
	}
}

void ps_canon_gen(struct ps_buf *b, const struct ps_gen *g)
{
	int sep = 0;

	ps_buf_str(b, "G ");
	if (g->nattr > 0) {
		canon_items(b, g->attr, g->nattr, ":");
		sep = 1;
	}
	for (size_t i = 0; i < g->nstep; i++, sep = 1) {
		if (sep)
			ps_buf_add(b, ",", 1);
		canon_items(b, g->step[i].item, g->step[i].nitem, "=");
	}
	if (g->has_rest) {
		if (sep)
			ps_buf_add(b, ",", 1);
		ps_buf_add(b, "@", 1);
		ps_buf_str(b, g->rest.name);
	}
	ps_buf_str(b, "<-");
	ps_buf_str(b, g->world);
}

static void canon_cond(struct ps_buf *b, const struct ps_cond *c)
{
	static const char *const ops[] = { "=", "!=", "&", "|", "!" };

	ps_buf_add(b, "(", 1);
	if (c->op == PS_EQ || c->op == PS_NE) {
		canon_term(b, &c->a);
		ps_buf_str(b, ops[c->op]);
		canon_term(b, &c->b);
	} else {
		ps_buf_str(b, ops[c->op]);
		for (size_t i = 0; i < c->nsub; i++)
			canon_cond(b, &c->sub[i]);
	}
	ps_buf_add(b, ")", 1);
}

void ps_canon_cond(struct ps_buf *b, const struct ps_cond *c)
{
	ps_buf_str(b, "C ");
	canon_cond(b, c);
}

void ps_canon_driver(struct ps_buf *b, const struct ps_driver *d)
{
	ps_buf_str(b, "D ");
	for (size_t i = 0; i < d->nvars; i++) {
		if (i > 0)
			ps_buf_add(b, ",", 1);
		ps_buf_str(b, d->out[i].name);
	}
	ps_buf_str(b, "->");
	ps_buf_str(b, d->name);
	ps_buf_add(b, "(", 1);
	for (size_t i = 0; i < d->nparams; i++) {
		const char *eq = strchr(d->param[i], '=');

		if (i > 0)
			ps_buf_add(b, ",", 1);
		ps_buf_add(b, d->param[i], (size_t)(eq - d->param[i]) + 1);
		canon_bytes(b, (const uint8_t *)eq + 1, strlen(eq + 1));
	}
	ps_buf_add(b, ")", 1);
}

struct cline {
	char *text;
	unsigned line;
	uint8_t *id;			/* where the line's key goes, or NULL */
};

static int cline_cmp(const void *a, const void *b)
{
	const struct cline *x = a, *y = b;
	int r = strcmp(x->text, y->text);

	return r != 0 ? r : (x->line > y->line) - (x->line < y->line);
}

static int hash(const void *d, size_t n, uint8_t out[32])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, d, n, out) < 0 ? -EIO : 0;
}

/* Identity over the sorted canonical lines; the key of each generator
 * and driver from its own canonical line; duplicate lines refused. */
static int make_identity(struct checker *c)
{
	struct pscript *s = c->s;
	size_t n = s->ngen + s->ncond + s->ndriver, k = 0;
	struct cline *cl = calloc(n ? n : 1, sizeof(*cl));
	struct ps_buf all = { 0 };
	int rc = -ENOMEM;

	if (cl == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ps_buf b = { 0 };

		if (i < s->ngen) {
			ps_canon_gen(&b, &s->gen[i]);
			cl[k].line = s->gen[i].line;
			cl[k].id = s->gen[i].id;
		} else if (i < s->ngen + s->ncond) {
			ps_canon_cond(&b, &s->cond[i - s->ngen]);
			cl[k].line = s->cond[i - s->ngen].line;
		} else {
			struct ps_driver *d = &s->driver[i - s->ngen - s->ncond];

			ps_canon_driver(&b, d);
			cl[k].line = d->line;
			cl[k].id = d->id;
		}
		if (b.oom)
			goto out;
		cl[k++].text = b.p;
	}
	qsort(cl, n, sizeof(*cl), cline_cmp);
	ps_buf_str(&all, IDENTITY_TAG);
	for (size_t i = 0; i < n; i++) {
		uint8_t h[32];

		if (i > 0 && strcmp(cl[i].text, cl[i - 1].text) == 0) {
			if (cl[i].text[0] != 'C')
				cerr(c, cl[i].line, 1, "the same line as line %u",
				     cl[i - 1].line);
			continue;	/* a repeated condition changes nothing */
		}
		ps_buf_str(&all, cl[i].text);
		ps_buf_add(&all, "\n", 1);
		if (cl[i].id != NULL) {
			if ((rc = hash(cl[i].text, strlen(cl[i].text), h)) < 0)
				goto out;
			memcpy(cl[i].id, h, 8);
		}
	}
	if (all.oom)
		goto out;
	rc = hash(all.p, all.len, s->identity);
out:
	for (size_t i = 0; i < n; i++)
		free(cl[i].text);
	free(cl);
	free(all.p);
	return rc;
}

/* ---- attributes for the search request ---- */

static int collect_attrs(struct pscript *s)
{
	for (size_t gi = 0; gi < s->ngen; gi++) {
		for (size_t i = 0; i < s->gen[gi].nattr; i++) {
			const char *t = s->gen[gi].attr[i].type;
			char **a;
			int dup = 0;

			for (size_t j = 0; j < s->nattrs && !dup; j++)
				dup = strcmp(s->attrs[j], t) == 0;
			if (dup)
				continue;
			a = realloc(s->attrs, (s->nattrs + 1) * sizeof(*a));
			if (a == NULL)
				return -ENOMEM;
			s->attrs = a;
			if ((a[s->nattrs] = strdup(t)) == NULL)
				return -ENOMEM;
			s->nattrs++;
		}
	}
	return 0;
}

/* ---- errors, delivered in the order of the text ---- */

struct cerror {
	unsigned line, col, seq;
	char *msg;
};

struct collect {
	struct cerror *v;
	size_t n, cap;
	int oom;
};

static void collect_err(void *ctx, unsigned line, unsigned col,
			const char *msg)
{
	struct collect *c = ctx;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct cerror *n = realloc(c->v, cap * sizeof(*n));

		if (n == NULL) {
			c->oom = 1;
			return;
		}
		c->v = n;
		c->cap = cap;
	}
	c->v[c->n] = (struct cerror){ line, col, (unsigned)c->n, strdup(msg) };
	if (c->v[c->n].msg == NULL)
		c->oom = 1;
	else
		c->n++;
}

static int cerror_cmp(const void *a, const void *b)
{
	const struct cerror *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void deliver(struct collect *c, pscript_error_fn err, void *ctx)
{
	if (c->n > 0)
		qsort(c->v, c->n, sizeof(*c->v), cerror_cmp);
	for (size_t i = 0; i < c->n; i++) {
		if (err != NULL)
			err(ctx, c->v[i].line, c->v[i].col, c->v[i].msg);
		free(c->v[i].msg);
	}
	free(c->v);
}

/* ---- public ---- */

int pscript_compile(const char *text, size_t len, struct pscript **out,
		    pscript_error_fn err, void *ctx)
{
	struct pscript *s = calloc(1, sizeof(*s));
	struct collect col = { 0 };
	struct checker c = { .s = s, .err = collect_err, .ctx = &col };
	int rc;

	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	rc = ps_parse(s, text != NULL ? text : "", text != NULL ? len : 0,
		      collect_err, &col);
	if (rc < 0)
		goto fail;
	c.nerr = rc;
	check_gens(&c);
	if (!c.oom)
		check_conds(&c);
	if (!c.oom)
		check_drivers(&c);
	if (c.oom) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = make_identity(&c)) < 0)
		goto fail;
	if (c.nerr > 0) {
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = collect_attrs(s)) < 0 || (rc = ps_plan_build(s)) < 0)
		goto fail;
	deliver(&col, err, ctx);
	*out = s;
	return 0;
fail:
	if (col.oom && rc == -EINVAL)
		rc = -ENOMEM;
	deliver(&col, err, ctx);
	pscript_free(s);
	return rc;
}

void pscript_free(struct pscript *s)
{
	if (s == NULL)
		return;
	ps_plan_free(s);
	ps_parse_free(s);
	for (size_t i = 0; i < s->nvars; i++)
		free(s->vars[i].name);
	free(s->vars);
	for (size_t i = 0; i < s->nattrs; i++)
		free(s->attrs[i]);
	free(s->attrs);
	free(s);
}

void pscript_identity(const struct pscript *s, uint8_t out[32])
{
	memcpy(out, s->identity, 32);
}

size_t pscript_nattrs(const struct pscript *s)
{
	return s->nattrs;
}

const char *pscript_attr(const struct pscript *s, size_t i)
{
	return i < s->nattrs ? s->attrs[i] : NULL;
}

size_t pscript_ndrivers(const struct pscript *s)
{
	return s->ndriver;
}

const char *pscript_driver_name(const struct pscript *s, size_t d)
{
	return d < s->ndriver ? s->driver[d].name : NULL;
}

size_t pscript_driver_nvars(const struct pscript *s, size_t d)
{
	return d < s->ndriver ? s->driver[d].nvars : 0;
}

const char *pscript_driver_var(const struct pscript *s, size_t d, size_t v)
{
	return d < s->ndriver && v < s->driver[d].nvars ?
	       s->driver[d].varname[v] : NULL;
}

size_t pscript_driver_nparams(const struct pscript *s, size_t d)
{
	return d < s->ndriver ? s->driver[d].nparams : 0;
}

const char *pscript_driver_param(const struct pscript *s, size_t d, size_t p)
{
	return d < s->ndriver && p < s->driver[d].nparams ?
	       s->driver[d].param[p] : NULL;
}

/* pscript_parse -- lexer and parser of PulleyScript (doc/pulleyscript.md).
 *
 * One statement per line; '#' starts a comment.  A line is tokenised
 * whole, then parsed by its kind: a condition starts with '(', a
 * generator holds "<-", a driver holds "->".  An error stops the line
 * (it is reported with line and column) and parsing goes on with the
 * next line, so that every bad line is reported. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pscript_int.h"

enum tok {
	T_WORD, T_STR, T_COLON, T_EQ, T_NE, T_PLUS, T_COMMA, T_AT,
	T_LARROW, T_RARROW, T_LPAR, T_RPAR, T_AND, T_OR, T_NOT, T_END
};

static const char *const tok_names[] = {
	"a name", "a string", "':'", "'='", "'!='", "'+'", "','", "'@'",
	"'<-'", "'->'", "'('", "')'", "'&'", "'|'", "'!'", "the end of the line"
};

struct token {
	enum tok t;
	unsigned col;
	const char *p;			/* T_WORD: text; T_STR: quoted text */
	size_t len;
};

struct parser {
	struct pscript *s;
	pscript_error_fn err;
	void *ctx;
	unsigned line;
	int nerr;
	int oom;
	int too_long;			/* reported once */
	struct token *tok;
	size_t ntok, cap, pos;
};

static void perr(struct parser *p, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, unsigned col, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->nerr++;
	if (p->err != NULL)
		p->err(p->ctx, p->line, col, msg);
}

/* ---- growing buffer, shared with the canonical printers ---- */

void ps_buf_add(struct ps_buf *b, const void *data, size_t len)
{
	if (b->oom)
		return;
	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 64) + len;
		char *n = realloc(b->p, cap);

		if (n == NULL) {
			b->oom = 1;
			return;
		}
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void ps_buf_str(struct ps_buf *b, const char *s)
{
	ps_buf_add(b, s, strlen(s));
}

/* ---- lexer ---- */

static int is_word(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

static int push_tok(struct parser *p, enum tok t, unsigned col,
		    const char *s, size_t len)
{
	if (p->ntok == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct token *n = realloc(p->tok, cap * sizeof(*n));

		if (n == NULL) {
			p->oom = 1;
			return -ENOMEM;
		}
		p->tok = n;
		p->cap = cap;
	}
	p->tok[p->ntok++] = (struct token){ t, col, s, len };
	return 0;
}

/* Length of the quoted string at s (with its quotes), or 0 after
 * reporting an error. */
static size_t lex_string(struct parser *p, const char *s, size_t n,
			 unsigned col)
{
	size_t i = 1;

	while (i < n && s[i] != '"') {
		if (s[i] == '\\') {
			if (i + 1 >= n)
				break;
			if (s[i + 1] == 'x') {
				if (i + 3 >= n || !isxdigit((unsigned char)s[i + 2]) ||
				    !isxdigit((unsigned char)s[i + 3])) {
					perr(p, col + (unsigned)i,
					     "bad escape: \\x needs two hex digits");
					return 0;
				}
				i += 4;
				continue;
			}
			if (s[i + 1] != '"' && s[i + 1] != '\\') {
				perr(p, col + (unsigned)i,
				     "bad escape: only \\\", \\\\ and \\xHH");
				return 0;
			}
			i += 2;
			continue;
		}
		i++;
	}
	if (i >= n) {
		perr(p, col, "unterminated string");
		return 0;
	}
	return i + 1;
}

/* Tokenise one line (without its newline).  0, or -1 after an error. */
static int lex_line(struct parser *p, const char *s, size_t n)
{
	size_t i = 0;

	p->ntok = 0;
	p->pos = 0;
	while (i < n) {
		unsigned col = (unsigned)i + 1;
		unsigned char c = (unsigned char)s[i];
		enum tok t;
		size_t len = 1;

		if (c == '#')
			break;
		if (c == ' ' || c == '\t' || c == '\r') {
			i++;
			continue;
		}
		if (c == '"') {
			len = lex_string(p, s + i, n - i, col);
			if (len == 0)
				return -1;
			t = T_STR;
		} else if (is_word(c) && !(c == '-' && i + 1 < n && s[i + 1] == '>')) {
			while (i + len < n && is_word((unsigned char)s[i + len]) &&
			       !(s[i + len] == '-' && i + len + 1 < n &&
				 s[i + len + 1] == '>'))
				len++;
			t = T_WORD;
		} else if (c == '<' && i + 1 < n && s[i + 1] == '-') {
			t = T_LARROW, len = 2;
		} else if (c == '-' && i + 1 < n && s[i + 1] == '>') {
			t = T_RARROW, len = 2;
		} else if (c == '!' && i + 1 < n && s[i + 1] == '=') {
			t = T_NE, len = 2;
		} else {
			const char *ops = ":=+,@()&|!";
			const char *o = c != '\0' ? strchr(ops, c) : NULL;
			static const enum tok map[] = {
				T_COLON, T_EQ, T_PLUS, T_COMMA, T_AT, T_LPAR,
				T_RPAR, T_AND, T_OR, T_NOT
			};

			if (o == NULL) {
				if (c >= 0x21 && c < 0x7f)
					perr(p, col, "unexpected character '%c'", c);
				else
					perr(p, col, "unexpected byte 0x%02x", c);
				return -1;
			}
			t = map[o - ops];
		}
		if (push_tok(p, t, col, s + i, len) < 0)
			return -1;
		i += len;
	}
	return push_tok(p, T_END, (unsigned)n + 1, s + n, 0) < 0 ? -1 : 0;
}

/* ---- token helpers ---- */

static struct token *peek(struct parser *p)
{
	return &p->tok[p->pos];
}

static struct token *next(struct parser *p)
{
	struct token *t = &p->tok[p->pos];

	if (t->t != T_END)
		p->pos++;
	return t;
}

static int expect(struct parser *p, enum tok t, const char *what)
{
	struct token *k = peek(p);

	if (k->t == t) {
		next(p);
		return 0;
	}
	perr(p, k->col, "expected %s, found %s", what, tok_names[k->t]);
	return -1;
}

static char *word_dup(struct parser *p, const struct token *k, int lower)
{
	char *w = malloc(k->len + 1);

	if (w == NULL) {
		p->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < k->len; i++)
		w[i] = lower ? (char)tolower((unsigned char)k->p[i]) : k->p[i];
	w[k->len] = '\0';
	return w;
}

static int is_ident(const struct token *k)
{
	if (k->t != T_WORD || !(isalpha((unsigned char)k->p[0]) || k->p[0] == '_'))
		return 0;
	for (size_t i = 0; i < k->len; i++)
		if (!isalnum((unsigned char)k->p[i]) && k->p[i] != '_')
			return 0;
	return 1;
}

/* An attribute type: a descriptor (letter, then letters, digits, '-')
 * or a numeric OID. */
static int is_attrtype(const struct token *k)
{
	int oid = isdigit((unsigned char)k->p[0]);

	if (k->t != T_WORD)
		return 0;
	if (!oid && !isalpha((unsigned char)k->p[0]))
		return 0;
	for (size_t i = 0; i < k->len; i++) {
		unsigned char c = (unsigned char)k->p[i];

		if (oid ? !(isdigit(c) || (c == '.' && i + 1 < k->len &&
					   k->p[i + 1] != '.'))
			: !(isalnum(c) || c == '-'))
			return 0;
	}
	return 1;
}

static int unquote(struct parser *p, const struct token *k, uint8_t **out,
		   size_t *outlen)
{
	uint8_t *d = malloc(k->len);
	size_t o = 0;

	if (d == NULL) {
		p->oom = 1;
		return -1;
	}
	for (size_t i = 1; i + 1 < k->len; i++) {
		if (k->p[i] == '\\' && k->p[i + 1] == 'x') {
			char hx[3] = { k->p[i + 2], k->p[i + 3], '\0' };

			d[o++] = (uint8_t)strtoul(hx, NULL, 16);
			i += 3;
		} else if (k->p[i] == '\\') {
			d[o++] = (uint8_t)k->p[++i];
		} else {
			d[o++] = (uint8_t)k->p[i];
		}
	}
	*out = d;
	*outlen = o;
	return 0;
}

/* A variable or a constant. */
static int parse_term(struct parser *p, struct ps_term *t, int allow_const)
{
	struct token *k = peek(p);

	memset(t, 0, sizeof(*t));
	t->line = p->line;
	t->col = k->col;
	if (k->t == T_STR && allow_const) {
		next(p);
		t->is_var = 0;
		return unquote(p, k, &t->data, &t->len);
	}
	if (is_ident(k)) {
		next(p);
		t->is_var = 1;
		t->name = word_dup(p, k, 0);
		return t->name == NULL ? -1 : 0;
	}
	perr(p, k->col, "expected %s, found %s",
	     allow_const ? "a variable or a string" : "a variable",
	     k->t == T_WORD ? "a name that is not a variable" : tok_names[k->t]);
	return -1;
}

void ps_term_free(struct ps_term *t)
{
	free(t->name);
	free(t->data);
	t->name = NULL;
	t->data = NULL;
}

/* ---- generators ---- */

static void gen_free(struct ps_gen *g)
{
	for (size_t i = 0; i < g->nattr; i++) {
		free(g->attr[i].type);
		ps_term_free(&g->attr[i].t);
	}
	free(g->attr);
	for (size_t i = 0; i < g->nstep; i++) {
		for (size_t j = 0; j < g->step[i].nitem; j++) {
			free(g->step[i].item[j].type);
			ps_term_free(&g->step[i].item[j].t);
		}
		free(g->step[i].item);
	}
	free(g->step);
	ps_term_free(&g->rest);
	free(g->world);
	free(g->vars);
	free(g->indexed);
}

static int add_item(struct parser *p, struct ps_item **arr, size_t *n,
		    const struct ps_item *it)
{
	struct ps_item *a = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (a == NULL) {
		p->oom = 1;
		return -1;
	}
	a[(*n)++] = *it;
	*arr = a;
	return 0;
}

/* One part: "@var", or items joined by '+'; *kind is ':' or '='. */
static int parse_part(struct parser *p, struct ps_gen *g, size_t partno)
{
	int kind = 0, first = 1;

	if (peek(p)->t == T_AT) {
		next(p);
		if (parse_term(p, &g->rest, 0) < 0)
			return -1;
		g->has_rest = 1;
		if (peek(p)->t != T_LARROW) {
			perr(p, peek(p)->col,
			     "'@%s' binds the rest of the DN: it must be the "
			     "last part before '<-'", g->rest.name);
			return -1;
		}
		return 0;
	}
	for (;;) {
		struct token *ty = peek(p), *op;
		struct ps_item it = { 0 };

		if (!is_attrtype(ty)) {
			perr(p, ty->col, "expected an attribute type, found %s",
			     ty->t == T_WORD ? "a malformed name" : tok_names[ty->t]);
			return -1;
		}
		next(p);
		op = next(p);
		if (op->t != T_COLON && op->t != T_EQ) {
			perr(p, op->col, "expected ':' (attribute value) or '=' "
			     "(RDN value) after '%.*s', found %s",
			     (int)ty->len, ty->p, tok_names[op->t]);
			return -1;
		}
		if (kind != 0 && kind != (op->t == T_COLON ? ':' : '=')) {
			perr(p, op->col, "attribute values (':') and RDN values "
			     "('=') cannot be joined by '+' in one part");
			return -1;
		}
		kind = op->t == T_COLON ? ':' : '=';
		if (kind == ':' && (partno > 0 || g->nstep > 0)) {
			perr(p, op->col, "attribute values (':') belong in the "
			     "first part, before the DN's RDNs");
			return -1;
		}
		it.type = word_dup(p, ty, 1);
		if (it.type == NULL)
			return -1;
		if (parse_term(p, &it.t, 1) < 0) {
			free(it.type);
			return -1;
		}
		if (kind == ':') {
			if (add_item(p, &g->attr, &g->nattr, &it) < 0)
				goto fail_item;
		} else {
			struct ps_step *st;

			if (first) {
				st = realloc(g->step, (g->nstep + 1) * sizeof(*st));
				if (st == NULL) {
					p->oom = 1;
					goto fail_item;
				}
				g->step = st;
				g->step[g->nstep++] = (struct ps_step){ 0 };
			}
			st = &g->step[g->nstep - 1];
			if (add_item(p, &st->item, &st->nitem, &it) < 0)
				goto fail_item;
		}
		first = 0;
		if (peek(p)->t != T_PLUS)
			return 0;
		next(p);
		continue;
fail_item:
		free(it.type);
		ps_term_free(&it.t);
		return -1;
	}
}

static int parse_gen(struct parser *p)
{
	struct ps_gen g = { 0 }, *arr;
	struct token *w;

	g.line = p->line;
	g.col = peek(p)->col;
	for (size_t part = 0;; part++) {
		if (parse_part(p, &g, part) < 0)
			goto fail;
		if (peek(p)->t == T_LARROW)
			break;
		if (expect(p, T_COMMA, "',' or '<-'") < 0)
			goto fail;
	}
	next(p);
	w = peek(p);
	if (!is_ident(w)) {
		perr(p, w->col, "expected the source after '<-', found %s",
		     tok_names[w->t]);
		goto fail;
	}
	next(p);
	g.world = word_dup(p, w, 0);
	g.world_line = p->line;
	g.world_col = w->col;
	if (g.world == NULL || expect(p, T_END, "the end of the generator") < 0)
		goto fail;
	arr = realloc(p->s->gen, (p->s->ngen + 1) * sizeof(*arr));
	if (arr == NULL) {
		p->oom = 1;
		goto fail;
	}
	p->s->gen = arr;
	arr[p->s->ngen++] = g;
	return 0;
fail:
	gen_free(&g);
	return -1;
}

/* ---- conditions ---- */

void ps_cond_free(struct ps_cond *c)
{
	ps_term_free(&c->a);
	ps_term_free(&c->b);
	for (size_t i = 0; i < c->nsub; i++)
		ps_cond_free(&c->sub[i]);
	free(c->sub);
	c->sub = NULL;
	c->nsub = 0;
}

static int parse_cond(struct parser *p, struct ps_cond *c, unsigned depth)
{
	struct token *k;

	memset(c, 0, sizeof(*c));
	c->line = p->line;
	c->col = peek(p)->col;
	if (expect(p, T_LPAR, "'('") < 0)
		return -1;
	if (depth >= PSCRIPT_MAX_COND_DEPTH) {
		perr(p, c->col, "condition nested deeper than %d",
		     PSCRIPT_MAX_COND_DEPTH);
		return -1;
	}
	k = peek(p);
	if (k->t == T_AND || k->t == T_OR || k->t == T_NOT) {
		next(p);
		c->op = k->t == T_AND ? PS_AND : k->t == T_OR ? PS_OR : PS_NOT;
		while (peek(p)->t == T_LPAR) {
			struct ps_cond *n = realloc(c->sub, (c->nsub + 1) *
						   sizeof(*n));

			if (n == NULL) {
				p->oom = 1;
				return -1;
			}
			c->sub = n;
			if (parse_cond(p, &c->sub[c->nsub], depth + 1) < 0) {
				ps_cond_free(&c->sub[c->nsub]);
				return -1;
			}
			c->nsub++;
		}
		if (c->nsub == 0 || (c->op == PS_NOT && c->nsub != 1)) {
			perr(p, k->col, c->op == PS_NOT ?
			     "'!' takes exactly one condition" :
			     "'%c' needs at least one condition",
			     c->op == PS_AND ? '&' : '|');
			return -1;
		}
		return expect(p, T_RPAR, "')'");
	}
	if (parse_term(p, &c->a, 1) < 0)
		return -1;
	k = next(p);
	if (k->t != T_EQ && k->t != T_NE) {
		perr(p, k->col, "expected '=' or '!=', found %s", tok_names[k->t]);
		return -1;
	}
	c->op = k->t == T_EQ ? PS_EQ : PS_NE;
	if (parse_term(p, &c->b, 1) < 0)
		return -1;
	return expect(p, T_RPAR, "')'");
}

static int parse_cond_line(struct parser *p)
{
	struct ps_cond c, *arr;

	if (parse_cond(p, &c, 0) < 0 ||
	    expect(p, T_END, "the end of the condition") < 0)
		goto fail;
	arr = realloc(p->s->cond, (p->s->ncond + 1) * sizeof(*arr));
	if (arr == NULL) {
		p->oom = 1;
		goto fail;
	}
	p->s->cond = arr;
	arr[p->s->ncond++] = c;
	return 0;
fail:
	ps_cond_free(&c);
	return -1;
}

/* ---- drivers ---- */

static void driver_free(struct ps_driver *d)
{
	for (size_t i = 0; i < d->nvars; i++)
		ps_term_free(&d->out[i]);
	free(d->out);
	free(d->varname);
	for (size_t i = 0; i < d->nparams; i++)
		free(d->param[i]);
	free(d->param);
	free(d->param_col);
	free(d->name);
}

static int parse_param(struct parser *p, struct ps_driver *d)
{
	struct token *n = peek(p), *v;
	uint8_t *val = NULL;
	size_t vlen, nlen;
	char **pa;
	unsigned *pc;

	if (!is_ident(n)) {
		perr(p, n->col, "expected a parameter name, found %s",
		     tok_names[n->t]);
		return -1;
	}
	next(p);
	if (expect(p, T_EQ, "'=' after the parameter name") < 0)
		return -1;
	v = peek(p);
	if (v->t != T_STR) {
		perr(p, v->col, "expected a quoted parameter value, found %s",
		     tok_names[v->t]);
		return -1;
	}
	next(p);
	if (unquote(p, v, &val, &vlen) < 0)
		return -1;
	if (memchr(val, '\0', vlen) != NULL) {
		perr(p, v->col, "a parameter value cannot hold a NUL byte");
		free(val);
		return -1;
	}
	for (size_t i = 0; i < d->nparams; i++) {
		if (strncmp(d->param[i], n->p, n->len) == 0 &&
		    d->param[i][n->len] == '=') {
			perr(p, n->col, "parameter '%.*s' given twice",
			     (int)n->len, n->p);
			free(val);
			return -1;
		}
	}
	pa = realloc(d->param, (d->nparams + 1) * sizeof(*pa));
	if (pa != NULL)
		d->param = pa;
	pc = realloc(d->param_col, (d->nparams + 1) * sizeof(*pc));
	if (pc != NULL)
		d->param_col = pc;
	nlen = n->len;
	if (pa == NULL || pc == NULL ||
	    (pa[d->nparams] = malloc(nlen + vlen + 2)) == NULL) {
		p->oom = 1;
		free(val);
		return -1;
	}
	memcpy(pa[d->nparams], n->p, nlen);
	pa[d->nparams][nlen] = '=';
	memcpy(pa[d->nparams] + nlen + 1, val, vlen);
	pa[d->nparams][nlen + 1 + vlen] = '\0';
	pc[d->nparams++] = n->col;
	free(val);
	return 0;
}

static int parse_driver(struct parser *p)
{
	struct ps_driver d = { 0 }, *arr;
	struct token *n;

	d.line = p->line;
	d.col = peek(p)->col;
	for (;;) {
		struct ps_term t, *o;

		if (parse_term(p, &t, 0) < 0)
			goto fail;
		o = realloc(d.out, (d.nvars + 1) * sizeof(*o));
		if (o == NULL) {
			ps_term_free(&t);
			p->oom = 1;
			goto fail;
		}
		d.out = o;
		o[d.nvars++] = t;
		if (peek(p)->t == T_RARROW)
			break;
		if (expect(p, T_COMMA, "',' or '->'") < 0)
			goto fail;
	}
	next(p);
	n = peek(p);
	if (n->t != T_WORD) {
		perr(p, n->col, "expected the driver name after '->', found %s",
		     tok_names[n->t]);
		goto fail;
	}
	next(p);
	if ((d.name = word_dup(p, n, 0)) == NULL)
		goto fail;
	if (peek(p)->t == T_LPAR) {
		next(p);
		while (peek(p)->t != T_RPAR) {
			if (d.nparams > 0 && expect(p, T_COMMA, "',' or ')'") < 0)
				goto fail;
			if (parse_param(p, &d) < 0)
				goto fail;
		}
		next(p);
	}
	if (expect(p, T_END, "the end of the driver line") < 0)
		goto fail;
	arr = realloc(p->s->driver, (p->s->ndriver + 1) * sizeof(*arr));
	if (arr == NULL) {
		p->oom = 1;
		goto fail;
	}
	p->s->driver = arr;
	arr[p->s->ndriver++] = d;
	return 0;
fail:
	driver_free(&d);
	return -1;
}

/* ---- lines ---- */

static void parse_line(struct parser *p, const char *s, size_t n)
{
	int has_l = 0, has_r = 0;

	if (lex_line(p, s, n) < 0 || p->tok[0].t == T_END)
		return;
	if (p->s->ngen + p->s->ncond + p->s->ndriver >= PSCRIPT_MAX_LINES) {
		if (!p->too_long)
			perr(p, 1, "more than %d statements", PSCRIPT_MAX_LINES);
		p->too_long = 1;
		return;
	}
	for (size_t i = 0; i < p->ntok; i++) {
		has_l |= p->tok[i].t == T_LARROW;
		has_r |= p->tok[i].t == T_RARROW;
	}
	if (p->tok[0].t == T_LPAR)
		parse_cond_line(p);
	else if (has_l && has_r)
		perr(p, p->tok[0].col,
		     "a line is a generator ('<-') or a driver ('->'), not both");
	else if (has_l)
		parse_gen(p);
	else if (has_r)
		parse_driver(p);
	else
		perr(p, p->tok[0].col, "not a generator ('... <- world'), "
		     "a condition ('(...)') or a driver ('... -> name')");
}

int ps_parse(struct pscript *s, const char *text, size_t len,
	     pscript_error_fn err, void *ctx)
{
	struct parser p = { .s = s, .err = err, .ctx = ctx };
	size_t i = 0;

	while (i < len && !p.oom) {
		size_t e = i;

		while (e < len && text[e] != '\n')
			e++;
		p.line++;
		parse_line(&p, text + i, e - i);
		i = e + 1;
	}
	free(p.tok);
	return p.oom ? -ENOMEM : p.nerr;
}

void ps_parse_free(struct pscript *s)
{
	for (size_t i = 0; i < s->ngen; i++)
		gen_free(&s->gen[i]);
	free(s->gen);
	for (size_t i = 0; i < s->ncond; i++)
		ps_cond_free(&s->cond[i]);
	free(s->cond);
	for (size_t i = 0; i < s->ndriver; i++)
		driver_free(&s->driver[i]);
	free(s->driver);
}

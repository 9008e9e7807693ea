/* crank_src: lexer and parser of the policy source syntax (see the
 * header).  No keyword is interpreted here. */
#include "crank_src.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum tok_type { T_WORD, T_STRING, T_OPEN, T_CLOSE };

struct ltok {
	enum tok_type type;
	char *text;
	struct crank_pos pos;
};

struct parser {
	struct crank_src *src;
	const char *file;
	crank_diag_fn diag;
	void *ctx;
	int errors;
	int nomem;
	struct crank_item *open;	/* block being read, or NULL */
	struct crank_pos open_pos;
};

static void perr(struct parser *p, const struct crank_pos *pos,
		 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, const struct crank_pos *pos,
		 const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->diag != NULL)
		p->diag(p->ctx, pos, "error", msg);
}

struct crank_pos crank_tok_pos(const struct crank_tok *t, size_t off)
{
	struct crank_pos pos = t->pos;
	size_t len = strlen(t->text);

	pos.col += t->quoted ? 1 : 0;
	for (size_t i = 0; i < off && i < len; i++) {
		unsigned char c = (unsigned char)t->text[i];

		if ((c & 0xc0) != 0x80)
			pos.col++;
		if (t->quoted && (c == '"' || c == '\\'))
			pos.col++;
	}
	return pos;
}

void crank_pos_format(const struct crank_pos *pos, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%u:%u", pos->file ? pos->file : "-", pos->line,
		 pos->col);
}

static void tok_free(struct crank_tok *t)
{
	free(t->text);
	t->text = NULL;
}

static void stmt_free(struct crank_stmt *s)
{
	tok_free(&s->kw);
	for (size_t i = 0; i < s->nargs; i++)
		tok_free(&s->args[i]);
	free(s->args);
	memset(s, 0, sizeof(*s));
}

void crank_src_free(struct crank_src *src)
{
	for (size_t i = 0; i < src->nitems; i++) {
		stmt_free(&src->items[i].head);
		for (size_t j = 0; j < src->items[i].nset; j++)
			stmt_free(&src->items[i].set[j]);
		free(src->items[i].set);
	}
	free(src->items);
	for (size_t i = 0; i < src->nfiles; i++)
		free(src->files[i]);
	free(src->files);
	memset(src, 0, sizeof(*src));
}

/* ---- lexer: one line into tokens ---- */

static void ltoks_free(struct ltok *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].text);
}

/* Free the tokens of a line given up on. */
static int lex_fail(struct ltok *toks, size_t n)
{
	ltoks_free(toks, n);
	return -1;
}


static int is_word_byte(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '"' && c != '{' && c != '}' &&
	       c != '#';
}

/* Lex [s, e) of line ln into toks (cap CRANK_SRC_MAXARGS + 4).  Returns
 * the token count, -1 after a reported error, -ENOMEM. */
static int lex_line(struct parser *p, const char *s, const char *e,
		    unsigned ln, struct ltok *toks, size_t cap)
{
	const char *c = s;
	unsigned col = 1;
	size_t n = 0;
	char buf[CRANK_SRC_MAXTOK + 1];

	while (c < e) {
		unsigned char b = (unsigned char)*c;
		struct crank_pos pos = { p->file, ln, col };
		size_t bl = 0;

		if (b == ' ' || b == '\t' || (b == '\r' && c + 1 == e)) {
			c++, col++;
			continue;
		}
		if (b == '#')
			break;
		if (b < ' ' || b == 0x7f) {
			perr(p, &pos, "control character 0x%02x", b);
			return lex_fail(toks, n);
		}
		if (n == cap) {
			perr(p, &pos, "more than %d arguments on a line",
			     CRANK_SRC_MAXARGS);
			return lex_fail(toks, n);
		}
		toks[n].pos = pos;
		if (b == '{' || b == '}') {
			toks[n].type = b == '{' ? T_OPEN : T_CLOSE;
			toks[n++].text = NULL;
			c++, col++;
			continue;
		}
		if (b == '"') {
			c++, col++;
			for (;;) {
				struct crank_pos here = { p->file, ln, col };

				if (c == e) {
					perr(p, &pos, "string not closed on "
					     "this line");
					return lex_fail(toks, n);
				}
				b = (unsigned char)*c;
				if (b == '"')
					break;
				if (b < ' ' || b == 0x7f) {
					perr(p, &here, "control character "
					     "0x%02x in a string", b);
					return lex_fail(toks, n);
				}
				if (b == '\\') {
					if (c + 1 == e || (c[1] != '"' && c[1] != '\\')) {
						perr(p, &here, "only \\\" and "
						     "\\\\ are escapes");
						return lex_fail(toks, n);
					}
					c++, col++;
					b = (unsigned char)*c;
				}
				if (bl == CRANK_SRC_MAXTOK) {
					perr(p, &pos, "string longer than %d "
					     "bytes", CRANK_SRC_MAXTOK);
					return lex_fail(toks, n);
				}
				buf[bl++] = (char)b;
				if ((b & 0xc0) != 0x80)
					col++;
				c++;
			}
			c++, col++;
			toks[n].type = T_STRING;
		} else {
			while (c < e && (is_word_byte((unsigned char)*c))) {
				if (bl == CRANK_SRC_MAXTOK) {
					perr(p, &pos, "word longer than %d "
					     "bytes", CRANK_SRC_MAXTOK);
					return lex_fail(toks, n);
				}
				buf[bl++] = *c;
				if (((unsigned char)*c & 0xc0) != 0x80)
					col++;
				c++;
			}
			if (c < e && *c == '"') {
				struct crank_pos here = { p->file, ln, col };

				perr(p, &here, "a string must be separated "
				     "from the word before it");
				return lex_fail(toks, n);
			}
			toks[n].type = T_WORD;
		}
		buf[bl] = '\0';
		toks[n].text = strdup(buf);
		if (toks[n].text == NULL)
			return lex_fail(toks, n), -ENOMEM;
		n++;
	}
	return (int)n;
}

/* ---- parser ---- */

/* Take toks[from, to) (words and strings only) into st; moves texts. */
static int take_stmt(struct parser *p, struct ltok *t, size_t from, size_t to,
		     struct crank_stmt *st)
{
	memset(st, 0, sizeof(*st));
	if (t[from].type != T_WORD) {
		perr(p, &t[from].pos, "a line starts with a keyword, not a %s",
		     t[from].type == T_STRING ? "string" : "brace");
		return -1;
	}
	for (size_t i = from + 1; i < to; i++)
		if (t[i].type == T_OPEN || t[i].type == T_CLOSE) {
			perr(p, &t[i].pos, "unexpected '%c'",
			     t[i].type == T_OPEN ? '{' : '}');
			return -1;
		}
	if (to - from > 1) {
		st->args = calloc(to - from - 1, sizeof(*st->args));
		if (st->args == NULL)
			return -ENOMEM;
	}
	st->kw.text = t[from].text;
	st->kw.pos = t[from].pos;
	t[from].text = NULL;
	for (size_t i = from + 1; i < to; i++) {
		struct crank_tok *a = &st->args[st->nargs++];

		a->text = t[i].text;
		a->quoted = t[i].type == T_STRING;
		a->pos = t[i].pos;
		t[i].text = NULL;
	}
	return 0;
}

static int add_setting(struct parser *p, struct ltok *t, size_t from,
		       size_t to)
{
	struct crank_item *it = p->open;
	struct crank_stmt st, *ns;
	int rc = take_stmt(p, t, from, to, &st);

	if (rc < 0)
		return rc;
	ns = realloc(it->set, (it->nset + 1) * sizeof(*ns));
	if (ns == NULL) {
		stmt_free(&st);
		return -ENOMEM;
	}
	it->set = ns;
	it->set[it->nset++] = st;
	return 0;
}

static int add_item(struct parser *p, struct ltok *t, size_t from, size_t to,
		    struct crank_item **out)
{
	struct crank_src *src = p->src;
	struct crank_item *ni;
	struct crank_stmt st;
	int rc = take_stmt(p, t, from, to, &st);

	if (rc < 0)
		return rc;
	ni = realloc(src->items, (src->nitems + 1) * sizeof(*ni));
	if (ni == NULL) {
		stmt_free(&st);
		return -ENOMEM;
	}
	src->items = ni;
	memset(&ni[src->nitems], 0, sizeof(*ni));
	ni[src->nitems].head = st;
	*out = &ni[src->nitems++];
	return 0;
}

static int top_line(struct parser *p, struct ltok *t, size_t n);

/* Inside a block: "}", "setting", "setting }".  A '{' means that the
 * block lacks its '}': say so and read the line as a new item. */
static int block_line(struct parser *p, struct ltok *t, size_t n)
{
	size_t end = n;
	int close = t[n - 1].type == T_CLOSE;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (t[i].type == T_OPEN) {
			perr(p, &p->open_pos, "block not closed before the "
			     "next block at line %u", t[i].pos.line);
			p->open = NULL;
			return top_line(p, t, n);
		}
	if (close)
		end--;
	if (end > 0)
		rc = add_setting(p, t, 0, end);
	if (close)
		p->open = NULL;
	return rc == -ENOMEM ? rc : 0;
}

/* At the top: "head", "head {", "head { }", "head { setting }". */
static int top_line(struct parser *p, struct ltok *t, size_t n)
{
	size_t open = 0, close = 0;
	struct crank_item *it = NULL;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (t[i].type == T_OPEN && open == 0)
			open = i;
		else if (t[i].type == T_CLOSE && close == 0)
			close = i;
	}
	if (t[0].type == T_CLOSE) {
		perr(p, &t[0].pos, "'}' without an open block");
		return 0;
	}
	if (close != 0 && (open == 0 || close != n - 1)) {
		perr(p, &t[close].pos, "unexpected '}'");
		return 0;
	}
	rc = add_item(p, t, 0, open ? open : n, &it);
	if (rc < 0 || open == 0)
		return rc == -ENOMEM ? rc : 0;
	it->has_block = 1;
	p->open = it;
	p->open_pos = t[open].pos;
	if (open + 1 < n)
		return block_line(p, t + open + 1, n - open - 1);
	return 0;
}

static int add_file(struct crank_src *src, const char *file)
{
	char **nf = realloc(src->files, (src->nfiles + 1) * sizeof(*nf));

	if (nf == NULL)
		return -ENOMEM;
	src->files = nf;
	nf[src->nfiles] = strdup(file);
	if (nf[src->nfiles] == NULL)
		return -ENOMEM;
	src->nfiles++;
	return 0;
}

int crank_src_parse(struct crank_src *src, const char *file,
		    const char *text, size_t len, crank_diag_fn diag,
		    void *ctx)
{
	struct parser p = { src, NULL, diag, ctx, 0, 0, NULL, { 0 } };
	struct ltok *toks = NULL;
	const size_t cap = CRANK_SRC_MAXARGS + 4;
	const char *s = text, *end = text + len;
	unsigned ln = 0;
	int rc = add_file(src, file);

	if (rc < 0)
		return rc;
	p.file = src->files[src->nfiles - 1];
	toks = calloc(cap, sizeof(*toks));
	if (toks == NULL)
		return -ENOMEM;
	while (s < end) {
		const char *e = memchr(s, '\n', (size_t)(end - s));
		int n;

		if (e == NULL)
			e = end;
		ln++;
		n = lex_line(&p, s, e, ln, toks, cap);
		if (n == -ENOMEM) {
			rc = n;
			break;
		}
		if (n > 0) {
			rc = p.open ? block_line(&p, toks, (size_t)n)
				    : top_line(&p, toks, (size_t)n);
			ltoks_free(toks, (size_t)n);
			if (rc < 0)
				break;
		}
		s = e + 1;
	}
	free(toks);
	if (rc == 0 && p.open != NULL)
		perr(&p, &p.open_pos, "block not closed at the end of the file");
	return rc < 0 ? rc : p.errors;
}

/* ---- files ---- */

static int load_file(struct crank_src *src, const char *path,
		     crank_diag_fn diag, void *ctx)
{
	struct crank_pos pos = { path, 0, 0 };
	char *buf = NULL, msg[256];
	size_t len = 0, cap = 0;
	FILE *f = fopen(path, "rb");
	int rc;

	if (f == NULL)
		goto fail;
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nb = cap > (64u << 20) ? NULL
						     : realloc(buf, cap ? cap * 2 : 8192);
			if (nb == NULL) {
				errno = cap > (64u << 20) ? EFBIG : ENOMEM;
				goto fail;
			}
			buf = nb;
			cap = cap ? cap * 2 : 8192;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	rc = crank_src_parse(src, path, buf, len, diag, ctx);
	free(buf);
	return rc;
fail:
	rc = -errno;
	snprintf(msg, sizeof(msg), "cannot read: %s", strerror(errno));
	if (diag != NULL)
		diag(ctx, &pos, "error", msg);
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

static int crank_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 6 && e->d_name[0] != '.' &&
	       strcmp(e->d_name + n - 6, ".crank") == 0;
}

static int byte_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int crank_src_load(struct crank_src *src, const char *path,
		   crank_diag_fn diag, void *ctx)
{
	struct crank_pos pos = { path, 0, 0 };
	struct dirent **names = NULL;
	struct stat st;
	char msg[300];
	int n, rc = 0, errors = 0;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return load_file(src, path, diag, ctx);
	n = scandir(path, &names, crank_name, byte_order);
	if (n < 0) {
		rc = -errno;
		snprintf(msg, sizeof(msg), "cannot read the directory: %s",
			 strerror(errno));
		if (diag != NULL)
			diag(ctx, &pos, "error", msg);
		return rc;
	}
	if (n == 0 && diag != NULL) {
		diag(ctx, &pos, "error", "no *.crank files in this directory");
		errors = 1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];

		if (rc >= 0) {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
			rc = load_file(src, full, diag, ctx);
			if (rc > 0)
				errors += rc;
		}
		free(names[i]);
	}
	free(names);
	return rc < 0 ? rc : errors;
}

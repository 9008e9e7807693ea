/* crank_rules: items of a policy source as text (crank_rules.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crank_rules.h"

static int add(char **s, size_t *n, size_t *cap, const char *p, size_t k)
{
	if (*n + k + 1 > *cap) {
		size_t c = *cap ? *cap : 64;
		char *q;

		while (c < *n + k + 1)
			c *= 2;
		q = realloc(*s, c);
		if (q == NULL)
			return -ENOMEM;
		*s = q;
		*cap = c;
	}
	memcpy(*s + *n, p, k);
	*n += k;
	(*s)[*n] = '\0';
	return 0;
}

static int tok_id(char **s, size_t *n, size_t *cap, const struct crank_tok *t)
{
	int rc = 0;

	if (*n > 0)
		rc = add(s, n, cap, " ", 1);
	if (!t->quoted)
		return rc ? rc : add(s, n, cap, t->text, strlen(t->text));
	rc = rc ? rc : add(s, n, cap, "\"", 1);
	for (const char *c = t->text; rc == 0 && *c; c++) {
		if (*c == '"' || *c == '\\')
			rc = add(s, n, cap, "\\", 1);
		if (rc == 0)
			rc = add(s, n, cap, c, 1);
	}
	return rc ? rc : add(s, n, cap, "\"", 1);
}

static int make_id(const struct crank_item *it, char **id)
{
	size_t n = 0, cap = 0;
	int rc = tok_id(id, &n, &cap, &it->head.kw);

	for (size_t i = 0; rc == 0 && i < it->head.nargs; i++)
		rc = tok_id(id, &n, &cap, &it->head.args[i]);
	return rc;
}

/* The end of the line at off: after its '\n', or len. */
static size_t line_end(const char *text, size_t len, size_t off)
{
	const char *lf = memchr(text + off, '\n', len - off);

	return lf ? (size_t)(lf - text) + 1 : len;
}

/* The end of the item starting at off: the line of the '}' closing
 * its block, found as the lexer does (strings, comments). */
static size_t item_end(const char *text, size_t len, size_t off, int block)
{
	int str = 0, opened = 0;

	if (!block)
		return line_end(text, len, off);
	for (size_t i = off; i < len; i++) {
		char c = text[i];

		if (str) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '"' || c == '\n')
				str = 0;
		} else if (c == '"') {
			str = 1;
		} else if (c == '#') {
			i = line_end(text, len, i) - 1;
		} else if (c == '{') {
			opened = 1;
		} else if (c == '}' && opened) {
			return line_end(text, len, i);
		}
	}
	return len;
}

int crank_rules_list(const char *file, const char *text, size_t len,
		     struct crank_rules *rs, crank_diag_fn diag, void *ctx)
{
	struct crank_src src;
	size_t *lines = NULL, nlines = 1;
	int rc;

	memset(rs, 0, sizeof(*rs));
	memset(&src, 0, sizeof(src));
	rc = crank_src_parse(&src, file, text, len, diag, ctx);
	if (rc != 0) {
		rc = rc < 0 ? rc : -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	lines = malloc(nlines * sizeof(*lines));
	rs->r = calloc(src.nitems + 1, sizeof(*rs->r));
	if (lines == NULL || rs->r == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	lines[0] = 0;
	for (size_t i = 0, k = 1; i < len; i++)
		if (text[i] == '\n')
			lines[k++] = i + 1;
	for (size_t i = 0; i < src.nitems; i++) {
		const struct crank_item *it = &src.items[i];
		struct crank_rule_text *r = &rs->r[rs->n];

		if (it->head.kw.pos.line == 0 || it->head.kw.pos.line > nlines) {
			rc = -EINVAL;
			goto out;
		}
		r->line = it->head.kw.pos.line;
		r->start = lines[r->line - 1];
		r->end = item_end(text, len, r->start, it->has_block);
		rc = make_id(it, &r->id);
		if (rc < 0)
			goto out;
		rs->n++;
	}
out:
	free(lines);
	crank_src_free(&src);
	if (rc < 0)
		crank_rules_free(rs);
	return rc;
}

void crank_rules_free(struct crank_rules *rs)
{
	for (size_t i = 0; rs->r != NULL && i < rs->n; i++)
		free(rs->r[i].id);
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

long crank_rules_find(const struct crank_rules *rs, const char *id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].id, id) == 0)
			return (long)i;
	return -1;
}

int crank_rules_edit(const char *file, const char *text, size_t len,
		     const char *id, const char *item, char **out,
		     size_t *outlen, char *err, size_t errlen,
		     crank_diag_fn diag, void *ctx)
{
	struct crank_rules rs, one;
	size_t ilen = item ? strlen(item) : 0, n = 0, cap = 0, start, end;
	long at = -1;
	int rc;

	*out = NULL;
	*outlen = 0;
	memset(&one, 0, sizeof(one));
	rc = crank_rules_list(file, text, len, &rs, diag, ctx);
	if (rc < 0) {
		snprintf(err, errlen, "the source has syntax errors");
		return rc;
	}
	if (id != NULL && (at = crank_rules_find(&rs, id)) < 0) {
		snprintf(err, errlen, "no rule \"%s\" in the source", id);
		rc = -ENOENT;
		goto out;
	}
	if (item != NULL) {
		rc = crank_rules_list("(the rule)", item, ilen, &one, diag, ctx);
		if (rc < 0 || one.n != 1) {
			snprintf(err, errlen, rc < 0 ? "the rule has syntax errors"
				 : "give exactly one rule (%zu found)", one.n);
			rc = rc == -ENOMEM ? rc : -EINVAL;
			goto out;
		}
		for (size_t i = 0; i < rs.n; i++)
			if ((long)i != at && strcmp(rs.r[i].id, one.r[0].id) == 0) {
				snprintf(err, errlen, "rule \"%s\" exists already "
					 "(line %u)", one.r[0].id, rs.r[i].line);
				rc = -EEXIST;
				goto out;
			}
	}
	start = at >= 0 ? rs.r[at].start : len;
	end = at >= 0 ? rs.r[at].end : len;
	rc = add(out, &n, &cap, "", 0);
	if (rc == 0)
		rc = add(out, &n, &cap, text, start);
	if (rc == 0 && at < 0 && n > 0 && (*out)[n - 1] != '\n')
		rc = add(out, &n, &cap, "\n", 1);
	if (rc == 0 && item != NULL)
		rc = add(out, &n, &cap, item, ilen);
	if (rc == 0 && item != NULL && ilen > 0 && item[ilen - 1] != '\n')
		rc = add(out, &n, &cap, "\n", 1);
	if (rc == 0)
		rc = add(out, &n, &cap, text + end, len - end);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*outlen = n;
out:
	crank_rules_free(&one);
	crank_rules_free(&rs);
	return rc;
}

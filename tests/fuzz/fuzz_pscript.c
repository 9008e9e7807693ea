/* libFuzzer target for the PulleyScript compiler (pulley/pscript_parse.c,
 * pscript_compile.c, pscript_plan.c).
 *
 * Input: the script text, not NUL-terminated.  Checked:
 *  - the result is 0 with a script and no error reported, or -EINVAL with
 *    no script and at least one error; every error names a line of the
 *    text (or line 1 for a script-wide error) and a column at most one
 *    past the end of that line, and gives a message; errors come in the
 *    order of the text;
 *  - a compiled script has consistent accessors (names, variables,
 *    "name=value" parameters, attribute types in lower case);
 *  - compiling again gives the same identity, and so does the text with
 *    its lines in reverse order (the identity ignores line order);
 *  - if the first line is "#dn:DN" (a comment to the compiler), DN is
 *    parsed as an RFC 4514 DN, and every generator is matched against an
 *    entry with that DN and two values for each attribute the script
 *    reads: a match yields records whose values lie in the entry or the
 *    DN, "@rest" binds a suffix of the DN, and a refused entry is refused
 *    for too many bindings only. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pscript.h"
#include "pscript_int.h"
#include "fuzz_require.h"

#define MAXIN 4096

struct seen {
	const uint8_t *text;
	size_t len;
	unsigned nerr;
	unsigned last_line, last_col;
};

/* Length of line number line (1-based) of the text, or -1. */
static long line_len(const uint8_t *t, size_t n, unsigned line)
{
	unsigned l = 1;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || t[i] == '\n') {
			if (l == line)
				return (long)(i - start);
			l++;
			start = i + 1;
		}
	}
	return -1;
}

static void on_err(void *ctx, unsigned line, unsigned col, const char *msg)
{
	struct seen *s = ctx;
	long ll;

	REQUIRE(msg != NULL && msg[0] != '\0');
	REQUIRE(line >= 1 && col >= 1);
	ll = line_len(s->text, s->len, line);
	REQUIRE(ll >= 0 || line == 1);
	REQUIRE(ll < 0 || (long)col <= ll + 1);
	/* in the order of the text */
	REQUIRE(line > s->last_line ||
		(line == s->last_line && col >= s->last_col));
	s->last_line = line;
	s->last_col = col;
	s->nerr++;
}

static void check_script(const struct pscript *s)
{
	for (size_t i = 0; i < pscript_nattrs(s); i++) {
		const char *a = pscript_attr(s, i);

		REQUIRE(a != NULL && a[0] != '\0');
		for (const char *p = a; *p; p++)
			REQUIRE(!isupper((unsigned char)*p));
	}
	REQUIRE(pscript_attr(s, pscript_nattrs(s)) == NULL);
	REQUIRE(pscript_ndrivers(s) > 0);
	for (size_t d = 0; d < pscript_ndrivers(s); d++) {
		REQUIRE(pscript_driver_name(s, d) != NULL);
		REQUIRE(pscript_driver_nvars(s, d) > 0);
		for (size_t v = 0; v < pscript_driver_nvars(s, d); v++)
			REQUIRE(pscript_driver_var(s, d, v) != NULL);
		REQUIRE(pscript_driver_var(s, d, pscript_driver_nvars(s, d)) == NULL);
		for (size_t p = 0; p < pscript_driver_nparams(s, d); p++)
			REQUIRE(strchr(pscript_driver_param(s, d, p), '=') != NULL);
	}
	REQUIRE(pscript_driver_name(s, pscript_ndrivers(s)) == NULL);
}

/* The text with its lines in reverse order. */
static uint8_t *reverse_lines(const uint8_t *t, size_t n)
{
	uint8_t *r = malloc(n + 2);
	size_t o = 0, end = n;

	if (r == NULL)
		return NULL;
	while (1) {
		size_t start = end;

		while (start > 0 && t[start - 1] != '\n')
			start--;
		memcpy(r + o, t + start, end - start);
		o += end - start;
		if (start == 0)
			break;
		r[o++] = '\n';
		end = start - 1;
	}
	REQUIRE(o == n);
	return r;
}

static int inside(const struct pscript_value *v, const void *base,
		  size_t len)
{
	const uint8_t *b = base;

	return v->len == 0 ||
	       (v->data >= b && v->data + v->len <= b + len);
}

static void match_all(const struct pscript *s, const char *dn)
{
	static const uint8_t vals[2][2] = { "a", "b" };
	struct pscript_value v[2] = { { vals[0], 1 }, { vals[1], 1 } };
	struct pscript_attr *at = calloc(s->nattrs + 1, sizeof(*at));
	struct pscript_entry e = { .dn = dn, .nattrs = s->nattrs, .attrs = at };
	struct ps_dn *pd = NULL;
	size_t dlen = strlen(dn);
	int rc = ps_dn_parse(dn, &pd);

	REQUIRE(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	REQUIRE((rc == 0) == (pd != NULL));
	if (at == NULL || rc != 0)
		goto out;
	for (size_t i = 0; i < s->nattrs; i++)
		at[i] = (struct pscript_attr){ s->attrs[i], 2, v };
	for (size_t g = 0; g < s->ngen; g++) {
		const struct ps_gen *gen = &s->gen[g];
		struct ps_recs r;

		rc = ps_gen_match(gen, pd, &e, &r);
		REQUIRE(rc == 0 || rc == -E2BIG || rc == -ENOMEM);
		if (rc != 0) {
			REQUIRE(r.nrec == 0);
			continue;
		}
		REQUIRE(r.nrec <= PSCRIPT_MAX_RECORDS);
		for (size_t k = 0; k < r.nrec * gen->nvars; k++) {
			const struct pscript_value *x = &r.vals[k];

			REQUIRE(inside(x, vals, sizeof(vals)) ||
				inside(x, dn, dlen) || x->len <= dlen);
		}
		if (gen->has_rest && r.nrec > 0) {
			const struct pscript_value *x = &r.vals[gen->nvars - 1];

			REQUIRE(inside(x, dn, dlen) || x->len == 0);
			REQUIRE(x->len == 0 ||
				(const char *)x->data + x->len == dn + dlen);
		}
		ps_recs_free(&r);
	}
out:
	ps_dn_free(pd);
	free(at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen seen = { data, size, 0, 0, 0 };
	struct pscript *s = NULL, *s2 = NULL;
	uint8_t id[32], id2[32], *rev;
	int rc;

	if (size > MAXIN)
		return 0;
	rc = pscript_compile((const char *)data, size, &s, on_err, &seen);
	if (rc == -ENOMEM)
		return 0;
	if (rc != 0) {
		REQUIRE(rc == -EINVAL && s == NULL && seen.nerr > 0);
		return 0;
	}
	REQUIRE(s != NULL && seen.nerr == 0);
	check_script(s);
	pscript_identity(s, id);
	REQUIRE(pscript_compile((const char *)data, size, &s2, NULL, NULL) == 0);
	pscript_identity(s2, id2);
	REQUIRE(memcmp(id, id2, 32) == 0);
	pscript_free(s2);
	rev = reverse_lines(data, size);
	if (rev != NULL) {
		rc = pscript_compile((const char *)rev, size, &s2, NULL, NULL);
		REQUIRE(rc == 0 || rc == -ENOMEM);
		if (rc == 0) {
			pscript_identity(s2, id2);
			REQUIRE(memcmp(id, id2, 32) == 0);
			pscript_free(s2);
		}
		free(rev);
	}
	if (size > 4 && memcmp(data, "#dn:", 4) == 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t n = (nl != NULL ? (size_t)(nl - data) : size) - 4;
		char *dn = malloc(n + 1);

		if (dn != NULL) {
			memcpy(dn, data + 4, n);
			dn[n] = '\0';
			match_all(s, dn);
			free(dn);
		}
	}
	pscript_free(s);
	return 0;
}

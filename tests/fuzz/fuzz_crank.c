/* libFuzzer target for the crank policy source: syntax (crank_src) and
 * meaning (crank_model), with no file opened.  Checked:
 *  - both stages return the number of errors they reported;
 *  - every diagnostic and every token points inside the text (line
 *    1..lines, column 1..length of the line + 1);
 *  - a token holds no byte the syntax forbids unquoted;
 *  - every item of the model that has no error carries canonical names
 *    that parse again to themselves, sorted unique uids, and min-version
 *    not above max-version.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crank_model.h"
#include "crank_src.h"

#define REQUIRE(cond)                                                     \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",  \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

struct text {
	const uint8_t *data;
	size_t len;
	unsigned lines;
	int errors;
};

/* Columns in line ln (1-based): characters + 1. */
static unsigned line_cols(const struct text *t, unsigned ln)
{
	size_t i = 0;
	unsigned cur = 1, cols = 1;

	while (i < t->len && cur < ln)
		if (t->data[i++] == '\n')
			cur++;
	for (; i < t->len && t->data[i] != '\n'; i++)
		if ((t->data[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}

static void check_pos(const struct text *t, const struct crank_pos *p)
{
	REQUIRE(p->line >= 1 && p->line <= t->lines);
	REQUIRE(p->col >= 1 && p->col <= line_cols(t, p->line));
}

static void diag(void *ctx, const struct crank_pos *pos, const char *sev,
		 const char *msg)
{
	struct text *t = ctx;

	REQUIRE(msg != NULL && msg[0] != '\0');
	check_pos(t, pos);
	if (strcmp(sev, "error") == 0)
		t->errors++;
	else
		REQUIRE(strcmp(sev, "warning") == 0);
}

static void check_tok(const struct text *t, const struct crank_tok *k)
{
	check_pos(t, &k->pos);
	REQUIRE(strlen(k->text) <= CRANK_SRC_MAXTOK);
	if (!k->quoted)
		REQUIRE(k->text[0] != '\0' && strpbrk(k->text, " \"{}#") == NULL);
}

static void check_sel(const char *s)
{
	struct donai_selector sel;
	char buf[DONAI_BUFSIZE], why[128];

	REQUIRE(donai_selector_parse(s, &sel, why, sizeof(why)) == 0);
	REQUIRE(donai_selector_format(&sel, buf, sizeof(buf)) >= 0);
	REQUIRE(strcmp(buf, s) == 0);
}

static void check_uids(const uint32_t *u, size_t n)
{
	for (size_t i = 1; i < n; i++)
		REQUIRE(u[i - 1] < u[i]);
}

static void check_model(const struct crank_model *m)
{
	for (size_t i = 0; i < m->nidents; i++)
		if (!m->idents[i].bad) {
			check_sel(m->idents[i].id);
			check_uids(m->idents[i].uids, m->idents[i].nuids);
			REQUIRE(m->idents[i].roles >= 1 && m->idents[i].roles <= 3);
		}
	for (size_t i = 0; i < m->ndiscl; i++)
		if (!m->discl[i].bad) {
			check_sel(m->discl[i].sel);
			for (size_t j = 0; j < m->discl[i].nids; j++)
				check_sel(m->discl[i].ids[j]);
		}
	for (size_t i = 0; i < m->ntrust; i++)
		if (!m->trust[i].bad)
			REQUIRE((m->trust[i].file != NULL) != (m->trust[i].hex[0] != '\0'));
	for (size_t i = 0; i < m->nrules; i++)
		if (!m->rules[i].bad) {
			const struct crank_rule *r = &m->rules[i];

			check_sel(r->sel);
			check_uids(r->uids, r->nuids);
			REQUIRE(!r->min_version || !r->max_version ||
				r->min_version <= r->max_version);
			REQUIRE(r->role == 1 || r->role == 2);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text t = { data, size, 1, 0 };
	struct crank_src src = { 0 };
	struct crank_model m;
	int rc;

	if (size > 65536)
		return 0;
	for (size_t i = 0; i < size; i++)
		t.lines += data[i] == '\n';
	rc = crank_src_parse(&src, "f", (const char *)data, size, diag, &t);
	if (rc == -ENOMEM)
		goto out;
	REQUIRE(rc == t.errors);
	for (size_t i = 0; i < src.nitems; i++) {
		check_tok(&t, &src.items[i].head.kw);
		for (size_t j = 0; j < src.items[i].head.nargs; j++)
			check_tok(&t, &src.items[i].head.args[j]);
		for (size_t k = 0; k < src.items[i].nset; k++) {
			check_tok(&t, &src.items[i].set[k].kw);
			for (size_t j = 0; j < src.items[i].set[k].nargs; j++)
				check_tok(&t, &src.items[i].set[k].args[j]);
		}
	}
	t.errors = 0;
	rc = crank_model_build(&src, &m, diag, &t);
	if (rc >= 0) {
		REQUIRE(rc == t.errors);
		check_model(&m);
		crank_model_free(&m);
	}
out:
	crank_src_free(&src);
	return 0;
}

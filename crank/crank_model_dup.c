/* crank_model_dup: contradictions between the items of a source: the
 * same identity and kind, disclose selector or rule (selector and role)
 * twice, and disclosed identities without the client role.  Found by
 * sorting, so large sources stay fast. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crank_model_int.h"

struct dupkey {
	const char *name;
	unsigned sub;		/* kind or role */
	size_t idx;		/* order in the source */
	const struct crank_pos *pos;
};

static int dupkey_cmp(const void *a, const void *b)
{
	const struct dupkey *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (x->sub != y->sub)
		return x->sub < y->sub ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Report every key given again after its first definition; sorting
 * keeps this n log n for large sources.  0 or -ENOMEM. */
static int dups(struct ctx *c, struct dupkey *k, size_t n, const char *what)
{
	size_t first = 0;

	if (n > 1)
		qsort(k, n, sizeof(*k), dupkey_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(k[i].name, k[first].name) != 0 || k[i].sub != k[first].sub) {
			first = i;
			continue;
		}
		if (strcmp(what, "identity") == 0)
			err(c, k[i].pos, "identity %s %s is already defined at "
			    "%s:%u:%u", k[i].name,
			    polrec_cred_name((enum polrec_cred)k[i].sub),
			    k[first].pos->file, k[first].pos->line,
			    k[first].pos->col);
		else if (strcmp(what, "disclose") == 0)
			err(c, k[i].pos, "disclose %s is already defined at "
			    "%s:%u:%u", k[i].name, k[first].pos->file,
			    k[first].pos->line, k[first].pos->col);
		else
			err(c, k[i].pos, "a policy for %s in the %s role is "
			    "already defined at %s:%u:%u", k[i].name,
			    polrec_role_name(k[i].sub), k[first].pos->file,
			    k[first].pos->line, k[first].pos->col);
	}
	free(k);
	return 0;
}

/* id is disclosed at pos; byid: the identities sorted by name. */
static void disclosed(struct ctx *c, const struct crank_model *m,
		      const struct dupkey *byid, const char *id,
		      const struct crank_pos *pos)
{
	size_t lo = 0, hi = m->nidents;
	unsigned roles = 0, found = 0;

	while (lo < hi) {	/* the first entry not below id */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(byid[mid].name, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < m->nidents && strcmp(byid[lo].name, id) == 0; lo++) {
		const struct crank_ident *r = &m->idents[byid[lo].idx];

		found = 1;
		if (!r->disabled)
			roles |= r->roles;
	}
	if (!found)
		warn(c, pos, "%s is not an identity of this source", id);
	else if (!(roles & POLREC_ROLE_CLIENT))
		err(c, pos, "%s is disclosed (shown as a client) but no enabled "
		    "identity of it has the client role", id);
}

int crank_model_contradictions(struct ctx *c, const struct crank_model *m)
{
	size_t most = m->nidents > m->ndiscl ? m->nidents : m->ndiscl;
	struct dupkey *k;
	size_t n;

	if (m->nrules > most)
		most = m->nrules;
#define DUPS(arr, cnt, field, subexpr, what)				\
	do {								\
		k = calloc(most + 1, sizeof(*k));			\
		if (k == NULL)						\
			return -ENOMEM;					\
		n = 0;							\
		for (size_t i = 0; i < (cnt); i++)			\
			if ((arr)[i].field[0] != '\0')			\
				k[n++] = (struct dupkey){ (arr)[i].field,	\
					(unsigned)(subexpr), i, &(arr)[i].pos }; \
		dups(c, k, n, what);					\
	} while (0)
	DUPS(m->idents, m->nidents, id, m->idents[i].kind, "identity");
	DUPS(m->discl, m->ndiscl, sel, 0, "disclose");
	DUPS(m->rules, m->nrules, sel, m->rules[i].role, "policy");
#undef DUPS
	/* a disclosed identity is shown in the client role */
	k = calloc(m->nidents + 1, sizeof(*k));
	if (k == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->nidents; i++)
		k[i] = (struct dupkey){ m->idents[i].id, 0, i, &m->idents[i].pos };
	if (m->nidents > 1)
		qsort(k, m->nidents, sizeof(*k), dupkey_cmp);
	for (size_t i = 0; i < m->ndiscl; i++)
		for (size_t x = 0; x < m->discl[i].nids; x++)
			disclosed(c, m, k, m->discl[i].ids[x],
				  &m->discl[i].id_pos[x]);
	free(k);
	return 0;
}


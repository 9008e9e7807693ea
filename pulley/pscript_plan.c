/* pscript_plan -- which generators and conditions feed each driver, and
 * in which order the runtime joins them when one generator changes.
 *
 * A driver needs the generators that bind its variables, plus every
 * generator tied to those by a condition, transitively (a condition
 * ranges over the product of all the generators it names).  When the
 * records of one generator change, the runtime walks the others in the
 * order planned here: a generator that an equality '(x = y)' (a condition
 * line, or a conjunct of '&') ties to a variable already bound, or to a
 * constant, is looked up through an index on that slot; the others are
 * scanned.  Each condition is tested at the first step where all its
 * variables are bound. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pscript_int.h"

static void cond_gens(const struct pscript *s, const struct ps_cond *c,
		      uint8_t *mask)
{
	if (c->op == PS_EQ || c->op == PS_NE) {
		if (c->a.is_var)
			mask[s->vars[c->a.var].gen] = 1;
		if (c->b.is_var)
			mask[s->vars[c->b.var].gen] = 1;
		return;
	}
	for (size_t i = 0; i < c->nsub; i++)
		cond_gens(s, &c->sub[i], mask);
}

static int find_lookup(const struct pscript *s, const struct ps_cond *c,
		       unsigned h, const uint8_t *bound, int *slot,
		       const struct ps_term **key)
{
	if (c->op == PS_AND) {
		for (size_t i = 0; i < c->nsub; i++)
			if (find_lookup(s, &c->sub[i], h, bound, slot, key))
				return 1;
		return 0;
	}
	if (c->op != PS_EQ)
		return 0;
	for (int side = 0; side < 2; side++) {
		const struct ps_term *x = side ? &c->b : &c->a;
		const struct ps_term *y = side ? &c->a : &c->b;

		if (!x->is_var || s->vars[x->var].gen != (int)h)
			continue;
		if (y->is_var && (s->vars[y->var].gen == (int)h ||
				  !bound[s->vars[y->var].gen]))
			continue;
		*slot = (int)s->vars[x->var].slot;
		*key = y;
		return 1;
	}
	return 0;
}

struct dctx {
	const struct pscript *s;
	size_t ncond;			/* conditions of the driver */
	const struct ps_cond **cond;
	uint8_t **cmask;		/* their generators */
};

/* Conditions that become decidable once gen is bound as well. */
static int assign_conds(struct dctx *x, struct ps_jstep *st,
			const uint8_t *bound, uint8_t *done)
{
	for (size_t i = 0; i < x->ncond; i++) {
		int ready = !done[i];

		for (size_t g = 0; g < x->s->ngen && ready; g++)
			if (x->cmask[i][g] && !bound[g])
				ready = 0;
		if (!ready)
			continue;
		const struct ps_cond **n = realloc(st->cond, (st->ncond + 1) *
						   sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		st->cond = n;
		n[st->ncond++] = x->cond[i];
		done[i] = 1;
	}
	return 0;
}

static int shares_cond(const struct dctx *x, unsigned h, const uint8_t *bound)
{
	for (size_t i = 0; i < x->ncond; i++) {
		if (!x->cmask[i][h])
			continue;
		for (size_t g = 0; g < x->s->ngen; g++)
			if (x->cmask[i][g] && bound[g])
				return 1;
	}
	return 0;
}

static int plan_one(struct dctx *x, const struct ps_dplan *dp, unsigned start,
		    struct ps_plan *pl, uint8_t *bound, uint8_t *done)
{
	struct pscript *s = (struct pscript *)x->s;

	memset(bound, 0, s->ngen);
	memset(done, 0, x->ncond ? x->ncond : 1);
	pl->start = start;
	pl->step = calloc(dp->ngen, sizeof(*pl->step));
	if (pl->step == NULL)
		return -ENOMEM;
	for (size_t k = 0; k < dp->ngen; k++) {
		struct ps_jstep *st = &pl->step[k];
		int pick = -1;

		st->slot = -1;
		if (k == 0)
			pick = (int)start;
		for (size_t i = 0; i < dp->ngen && pick < 0; i++) {
			unsigned h = dp->gen[i];

			for (size_t c = 0; c < x->ncond && !bound[h] && pick < 0; c++)
				if (find_lookup(s, x->cond[c], h, bound, &st->slot,
						&st->key))
					pick = (int)h;
		}
		for (size_t i = 0; i < dp->ngen && pick < 0; i++)
			if (!bound[dp->gen[i]] && shares_cond(x, dp->gen[i], bound))
				pick = (int)dp->gen[i];
		for (size_t i = 0; i < dp->ngen && pick < 0; i++)
			if (!bound[dp->gen[i]])
				pick = (int)dp->gen[i];
		st->gen = (unsigned)pick;
		bound[pick] = 1;
		pl->nstep++;
		if (st->slot >= 0)
			s->gen[pick].indexed[st->slot] = 1;
		if (assign_conds(x, st, bound, done) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int plan_driver(struct pscript *s, const struct ps_driver *d,
		       struct ps_dplan *dp)
{
	struct dctx x = { .s = s };
	uint8_t **masks = calloc(s->ncond + 1, sizeof(*masks));
	uint8_t *in = calloc(s->ngen + 1, 1), *bound = calloc(s->ngen + 1, 1);
	uint8_t *done = calloc(s->ncond + 1, 1);
	int rc = -ENOMEM, changed = 1;

	x.cond = calloc(s->ncond + 1, sizeof(*x.cond));
	x.cmask = calloc(s->ncond + 1, sizeof(*x.cmask));
	if (masks == NULL || in == NULL || bound == NULL || done == NULL ||
	    x.cond == NULL || x.cmask == NULL)
		goto out;
	for (size_t i = 0; i < s->ncond; i++) {
		if ((masks[i] = calloc(s->ngen + 1, 1)) == NULL)
			goto out;
		cond_gens(s, &s->cond[i], masks[i]);
	}
	for (size_t i = 0; i < d->nvars; i++)
		in[s->vars[d->out[i].var].gen] = 1;
	while (changed) {
		changed = 0;
		for (size_t i = 0; i < s->ncond; i++) {
			int hit = 0;

			for (size_t g = 0; g < s->ngen && !hit; g++)
				hit = masks[i][g] && in[g];
			for (size_t g = 0; g < s->ngen && hit; g++) {
				if (masks[i][g] && !in[g]) {
					in[g] = 1;
					changed = 1;
				}
			}
		}
	}
	for (size_t i = 0; i < s->ncond; i++) {
		int hit = 0;

		for (size_t g = 0; g < s->ngen && !hit; g++)
			hit = masks[i][g] && in[g];
		if (hit) {
			x.cmask[x.ncond] = masks[i];
			x.cond[x.ncond++] = &s->cond[i];
		}
	}
	dp->gen = calloc(s->ngen + 1, sizeof(*dp->gen));
	dp->plan = calloc(s->ngen + 1, sizeof(*dp->plan));
	if (dp->gen == NULL || dp->plan == NULL)
		goto out;
	for (size_t g = 0; g < s->ngen; g++) {
		if (in[g]) {
			dp->gen[dp->ngen++] = (unsigned)g;
			s->gen[g].used = 1;
		}
	}
	for (size_t i = 0; i < dp->ngen; i++)
		if ((rc = plan_one(&x, dp, dp->gen[i], &dp->plan[i], bound,
				   done)) < 0)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; masks != NULL && i < s->ncond; i++)
		free(masks[i]);
	free(masks);
	free(x.cmask);
	free(x.cond);
	free(in);
	free(bound);
	free(done);
	return rc;
}

int ps_plan_build(struct pscript *s)
{
	s->dplan = calloc(s->ndriver + 1, sizeof(*s->dplan));
	if (s->dplan == NULL)
		return -ENOMEM;
	for (size_t g = 0; g < s->ngen; g++)
		if ((s->gen[g].indexed = calloc(s->gen[g].nvars + 1, 1)) == NULL)
			return -ENOMEM;
	for (size_t d = 0; d < s->ndriver; d++)
		if (plan_driver(s, &s->driver[d], &s->dplan[d]) < 0)
			return -ENOMEM;
	return 0;
}

void ps_plan_free(struct pscript *s)
{
	if (s->dplan == NULL)
		return;
	for (size_t d = 0; d < s->ndriver; d++) {
		struct ps_dplan *dp = &s->dplan[d];

		for (size_t i = 0; i < dp->ngen && dp->plan != NULL; i++) {
			for (size_t k = 0; k < dp->plan[i].nstep; k++)
				free(dp->plan[i].step[k].cond);
			free(dp->plan[i].step);
		}
		free(dp->gen);
		free(dp->plan);
	}
	free(s->dplan);
	s->dplan = NULL;
}

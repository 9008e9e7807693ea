/* pscript_run -- the incremental runtime of a compiled PulleyScript.
 *
 * Each entry holds, per generator, the records it yielded.  When an
 * entry changes, each generator whose records change goes through two
 * steps: the old records are joined (per driver that uses the generator)
 * with what the store holds of the driver's other generators and
 * retracted (count -1), and then removed; the new records are joined the
 * same way and counted (+1), and then stored.  Doing one generator at a
 * time against the current store counts each tuple of the product
 * exactly once, also when one entry feeds several generators of a join.
 * The changes of one call are summed per output tuple, then applied to
 * the reference counts: the driver sees "del" for each count that fell
 * to 0, then "add" for each that rose from 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tplog.h"
#include "pscript_int.h"

struct delta {
	uint8_t *key;			/* driver id, then the tuple */
	size_t len;
	size_t drv;
	long n;
};

struct deltas {
	struct delta *v;
	size_t n, cap;
};

struct join {
	struct pscript_run *rt;
	DB_TXN *txn;
	size_t d;
	const struct ps_plan *pl;
	struct pscript_value *vals;	/* per variable of the script */
	long sign;
	struct deltas *acc;
};

struct frame {
	struct join *j;
	size_t k;			/* the step being iterated */
};

static int join_from(struct join *j, size_t k);

static int add_delta(struct join *j)
{
	const struct ps_driver *dr = &j->rt->s->driver[j->d];
	struct deltas *a = j->acc;
	struct pscript_value *v = calloc(dr->nvars + 1, sizeof(*v));
	struct delta *x;
	size_t len;

	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < dr->nvars; i++)
		v[i] = j->vals[dr->out[i].var];
	len = PS_ID + ps_rec_size(v, dr->nvars);
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct delta *n = realloc(a->v, cap * sizeof(*n));

		if (n == NULL)
			goto oom;
		a->v = n;
		a->cap = cap;
	}
	x = &a->v[a->n];
	if ((x->key = malloc(len)) == NULL)
		goto oom;
	memcpy(x->key, dr->id, PS_ID);
	ps_rec_encode(v, dr->nvars, x->key + PS_ID);
	x->len = len;
	x->drv = j->d;
	x->n = j->sign;
	a->n++;
	free(v);
	return 0;
oom:
	free(v);
	return -ENOMEM;
}

static int conds_hold(const struct ps_jstep *st, const struct pscript_value *v)
{
	for (size_t i = 0; i < st->ncond; i++)
		if (!ps_cond_eval(st->cond[i], v))
			return 0;
	return 1;
}

/* A stored record of the step's generator: bind it and go deeper. */
static int on_rec(void *ctx, const uint8_t *rec, size_t len)
{
	struct frame *f = ctx;
	struct join *j = f->j;
	const struct ps_jstep *st = &j->pl->step[f->k];
	const struct ps_gen *g = &j->rt->s->gen[st->gen];
	struct pscript_value *v = calloc(g->nvars + 1, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	if (ps_rec_decode(rec, len, v, g->nvars) < 0) {
		tplog(LOG_ERR, "pscript: bad stored record (state corrupt)");
		free(v);
		return -EIO;
	}
	for (size_t i = 0; i < g->nvars; i++)
		j->vals[g->vars[i]] = v[i];
	free(v);
	if (!conds_hold(st, j->vals))
		return 0;
	return join_from(j, f->k + 1);
}

static int join_from(struct join *j, size_t k)
{
	const struct ps_jstep *st;
	struct frame f = { j, k };

	if (k == j->pl->nstep)
		return add_delta(j);
	st = &j->pl->step[k];
	if (st->slot < 0)
		return ps_store_scan(j->rt, j->txn, j->rt->s->gen[st->gen].id,
				     on_rec, &f);
	if (st->key->is_var)
		return ps_store_lookup(j->rt, j->txn, j->rt->s->gen[st->gen].id,
				       (unsigned)st->slot, &j->vals[st->key->var],
				       on_rec, &f);
	struct pscript_value c = { st->key->data, st->key->len };

	return ps_store_lookup(j->rt, j->txn, j->rt->s->gen[st->gen].id,
			       (unsigned)st->slot, &c, on_rec, &f);
}

/* The tuples that records recs of generator g make with the store, for
 * every driver that uses g, counted with sign. */
static int join_recs(struct pscript_run *rt, DB_TXN *txn, unsigned g,
		     const struct pscript_value *recs, size_t nrec, long sign,
		     struct deltas *acc)
{
	const struct pscript *s = rt->s;
	const struct ps_gen *gen = &s->gen[g];
	struct join j = { .rt = rt, .txn = txn, .sign = sign, .acc = acc };
	int rc = 0;

	j.vals = calloc(s->nvars + 1, sizeof(*j.vals));
	if (j.vals == NULL)
		return -ENOMEM;
	for (size_t d = 0; d < s->ndriver && rc == 0; d++) {
		const struct ps_dplan *dp = &s->dplan[d];

		j.d = d;
		j.pl = NULL;
		for (size_t i = 0; i < dp->ngen; i++)
			if (dp->gen[i] == g)
				j.pl = &dp->plan[i];
		if (j.pl == NULL)
			continue;
		for (size_t r = 0; r < nrec && rc == 0; r++) {
			for (size_t i = 0; i < gen->nvars; i++)
				j.vals[gen->vars[i]] = recs[r * gen->nvars + i];
			if (conds_hold(&j.pl->step[0], j.vals))
				rc = join_from(&j, 1);
		}
	}
	free(j.vals);
	return rc;
}

/* ---- what an entry holds ---- */

struct held {
	size_t nrec;			/* per generator of the script */
	struct pscript_value *vals;	/* decoded old records */
	uint8_t **raw;			/* their stored bytes */
	size_t *rawlen;
};

static void held_free(struct held *h, size_t ngen)
{
	for (size_t g = 0; h != NULL && g < ngen; g++) {
		for (size_t r = 0; r < h[g].nrec && h[g].raw != NULL; r++)
			free(h[g].raw[r]);
		free(h[g].raw);
		free(h[g].rawlen);
		free(h[g].vals);
	}
	free(h);
}

/* Load the records the entry uuid holds now. */
static int held_load(struct pscript_run *rt, DB_TXN *txn, const uint8_t *uuid,
		     struct held **out)
{
	const struct pscript *s = rt->s;
	struct held *h = calloc(s->ngen + 1, sizeof(*h));
	uint8_t *ev = NULL, k[PS_ID + PS_UUID + 4];
	size_t elen;
	int rc;

	*out = h;
	if (h == NULL)
		return -ENOMEM;
	rc = ps_store_get(rt->entry, txn, uuid, PS_UUID, &ev, &elen);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = -EIO;
	if (elen % (PS_ID + 4) != 0)
		goto corrupt;
	for (size_t o = 0; o < elen; o += PS_ID + 4) {
		int g = -1;
		size_t n = ps_get32(ev + o + PS_ID);

		for (size_t i = 0; i < s->ngen && g < 0; i++)
			if (memcmp(s->gen[i].id, ev + o, PS_ID) == 0)
				g = (int)i;
		if (g < 0 || n == 0 || n > PSCRIPT_MAX_RECORDS || h[g].nrec)
			goto corrupt;
		const struct ps_gen *gen = &s->gen[g];

		h[g].raw = calloc(n, sizeof(*h[g].raw));
		h[g].rawlen = calloc(n, sizeof(*h[g].rawlen));
		h[g].vals = calloc(n * gen->nvars + 1, sizeof(*h[g].vals));
		if (h[g].raw == NULL || h[g].rawlen == NULL || h[g].vals == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		h[g].nrec = n;
		memcpy(k, gen->id, PS_ID);
		memcpy(k + PS_ID, uuid, PS_UUID);
		for (size_t r = 0; r < n; r++) {
			ps_put32(k + PS_ID + PS_UUID, (uint32_t)r);
			rc = ps_store_get(rt->rec, txn, k, sizeof(k), &h[g].raw[r],
					  &h[g].rawlen[r]);
			if (rc == -ENOENT)
				goto corrupt;
			if (rc < 0)
				goto out;
			if (ps_rec_decode(h[g].raw[r], h[g].rawlen[r],
					  &h[g].vals[r * gen->nvars], gen->nvars) < 0)
				goto corrupt;
		}
	}
	rc = 0;
	goto out;
corrupt:
	tplog(LOG_ERR, "pscript: the state of an entry is corrupt (another "
	      "script's state, or damage); a reset is needed");
	rc = -EIO;
out:
	free(ev);
	return rc;
}

static int same_recs(const struct held *h, const struct ps_recs *n,
		     size_t nvars)
{
	if (h->nrec != n->nrec)
		return 0;
	for (size_t i = 0; i < h->nrec * nvars; i++)
		if (h->vals[i].len != n->vals[i].len ||
		    (h->vals[i].len > 0 &&
		     memcmp(h->vals[i].data, n->vals[i].data, h->vals[i].len) != 0))
			return 0;
	return 1;
}

/* ---- applying the counted changes ---- */

static int delta_cmp(const void *a, const void *b)
{
	const struct delta *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->key, y->key, n);

	return r != 0 ? r : (x->len > y->len) - (x->len < y->len);
}

static int emit(struct pscript_run *rt, const struct delta *x, int add,
		pscript_output_fn out, void *ctx)
{
	size_t nv = rt->s->driver[x->drv].nvars;
	struct pscript_value *v = calloc(nv + 1, sizeof(*v));
	int rc;

	if (v == NULL)
		return -ENOMEM;
	rc = ps_rec_decode(x->key + PS_ID, x->len - PS_ID, v, nv);
	if (rc == 0 && out != NULL)
		rc = out(ctx, x->drv, add, v, nv);
	free(v);
	return rc;
}

static int apply(struct pscript_run *rt, DB_TXN *txn, struct deltas *a,
		 pscript_output_fn out, void *ctx)
{
	size_t m = 0;
	int rc = 0;

	if (a->n == 0)
		return 0;
	qsort(a->v, a->n, sizeof(*a->v), delta_cmp);
	for (size_t i = 0; i < a->n; i++) {	/* merge equal tuples */
		if (m > 0 && delta_cmp(&a->v[m - 1], &a->v[i]) == 0) {
			a->v[m - 1].n += a->v[i].n;
			free(a->v[i].key);
			a->v[i].key = NULL;
		} else {
			a->v[m++] = a->v[i];
		}
	}
	a->n = m;
	for (size_t i = 0; i < a->n && rc == 0; i++) {
		struct delta *x = &a->v[i];
		uint8_t *cv = NULL, cb[4];
		size_t cl;
		long old = 0, now;

		if (x->n == 0)
			continue;
		rc = ps_store_get(rt->out, txn, x->key, x->len, &cv, &cl);
		if (rc == 0 && cl == 4)
			old = (long)ps_get32(cv);
		else if (rc == 0 || rc != -ENOENT)
			rc = rc == 0 ? -EIO : rc;
		else
			rc = 0;
		free(cv);
		if (rc < 0)
			break;
		now = old + x->n;
		if (now < 0 || now > (long)UINT32_MAX) {
			tplog(LOG_ERR, "pscript: reference count out of range "
			      "(state corrupt)");
			rc = -EIO;
			break;
		}
		ps_put32(cb, (uint32_t)now);
		rc = now == 0 ? ps_store_del(rt->out, txn, x->key, x->len)
			      : ps_store_put(rt->out, txn, x->key, x->len, cb, 4);
		/* remember the transition in n: -1 del, +1 add, 0 none */
		x->n = old == 0 && now > 0 ? 1 : old > 0 && now == 0 ? -1 : 0;
	}
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < a->n && rc == 0; i++)
			if (a->v[i].n == (pass == 0 ? -1 : 1))
				rc = emit(rt, &a->v[i], pass, out, ctx);
	return rc;
}

static void deltas_free(struct deltas *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].key);
	free(a->v);
}

/* ---- one entry changes ---- */

static int store_new(struct pscript_run *rt, DB_TXN *txn, const uint8_t *uuid,
		     const struct ps_gen *gen, const struct ps_recs *n)
{
	int rc = 0;

	for (size_t r = 0; r < n->nrec && rc == 0; r++) {
		const struct pscript_value *v = &n->vals[r * gen->nvars];
		size_t len = ps_rec_size(v, gen->nvars);
		uint8_t *b = malloc(len + 1);

		if (b == NULL)
			return -ENOMEM;
		ps_rec_encode(v, gen->nvars, b);
		rc = ps_store_rec_put(rt, txn, gen, uuid, (uint32_t)r, b, len);
		free(b);
	}
	return rc;
}

/* The entry uuid now yields nr[g] (all empty for a delete). */
static int change(struct pscript_run *rt, DB_TXN *txn, const uint8_t *uuid,
		  const struct ps_recs *nr, pscript_output_fn out, void *ctx)
{
	const struct pscript *s = rt->s;
	struct held *h = NULL;
	struct deltas acc = { 0 };
	uint8_t *ev = malloc(s->ngen * (PS_ID + 4) + 1);
	size_t elen = 0;
	int rc = ev == NULL ? -ENOMEM : held_load(rt, txn, uuid, &h);

	for (size_t g = 0; g < s->ngen && rc == 0; g++) {
		static const struct ps_recs none;
		const struct ps_recs *n = nr != NULL ? &nr[g] : &none;
		const struct ps_gen *gen = &s->gen[g];

		if (!gen->used)
			continue;
		if (!same_recs(&h[g], n, gen->nvars)) {
			if (h[g].nrec > 0)
				rc = join_recs(rt, txn, (unsigned)g, h[g].vals,
					       h[g].nrec, -1, &acc);
			for (size_t r = 0; r < h[g].nrec && rc == 0; r++)
				rc = ps_store_rec_del(rt, txn, gen, uuid,
						      (uint32_t)r, h[g].raw[r],
						      h[g].rawlen[r]);
			if (rc == 0 && n->nrec > 0)
				rc = join_recs(rt, txn, (unsigned)g, n->vals,
					       n->nrec, 1, &acc);
			if (rc == 0)
				rc = store_new(rt, txn, uuid, gen, n);
		}
		if (n->nrec > 0) {
			memcpy(ev + elen, gen->id, PS_ID);
			ps_put32(ev + elen + PS_ID, (uint32_t)n->nrec);
			elen += PS_ID + 4;
		}
	}
	if (rc == 0 && elen > 0)
		rc = ps_store_put(rt->entry, txn, uuid, PS_UUID, ev, elen);
	else if (rc == 0 && (rc = ps_store_del(rt->entry, txn, uuid,
					       PS_UUID)) == -ENOENT)
		rc = 0;
	if (rc == 0)
		rc = apply(rt, txn, &acc, out, ctx);
	deltas_free(&acc);
	held_free(h, s->ngen);
	free(ev);
	return rc;
}

int pscript_run_entry(struct pscript_run *rt, DB_TXN *txn,
		      const struct pscript_entry *e, pscript_output_fn out,
		      void *ctx)
{
	const struct pscript *s;
	struct ps_recs *nr;
	struct ps_dn *dn = NULL;
	int rc;

	if (rt == NULL || e == NULL || e->dn == NULL ||
	    (e->nattrs > 0 && e->attrs == NULL))
		return -EINVAL;
	for (size_t i = 0; i < e->nattrs; i++) {
		const struct pscript_attr *a = &e->attrs[i];

		if (a->nvals > 0 && a->vals == NULL)
			return -EINVAL;
		for (size_t j = 0; j < a->nvals; j++)
			if (a->vals[j].len > 0 && a->vals[j].data == NULL)
				return -EINVAL;
	}
	s = rt->s;
	rc = ps_dn_parse(e->dn, &dn);
	if (rc == -EINVAL) {
		tplog(LOG_WARNING, "pscript: entry \"%s\" refused: the DN is "
		      "not a valid RFC 4514 string", e->dn);
		return rc;
	}
	if (rc < 0)
		return rc;
	nr = calloc(s->ngen + 1, sizeof(*nr));
	if (nr == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t g = 0; g < s->ngen && rc == 0; g++) {
		if (!s->gen[g].used)
			continue;
		rc = ps_gen_match(&s->gen[g], dn, e, &nr[g]);
		if (rc == -E2BIG) {
			tplog(LOG_WARNING, "pscript: entry \"%s\" refused: the "
			      "generator at line %u yields more than %d "
			      "bindings for it", e->dn, s->gen[g].line,
			      PSCRIPT_MAX_RECORDS);
			rc = -EINVAL;
		}
	}
	/* Nothing was written so far: a refused entry leaves the state as
	 * it was and the transaction usable. */
	if (rc == 0)
		rc = change(rt, txn, e->uuid, nr, out, ctx);
out:
	for (size_t g = 0; nr != NULL && g < s->ngen; g++)
		ps_recs_free(&nr[g]);
	free(nr);
	ps_dn_free(dn);
	return rc;
}

int pscript_run_delete(struct pscript_run *rt, DB_TXN *txn,
		       const uint8_t uuid[16], pscript_output_fn out,
		       void *ctx)
{
	if (rt == NULL || uuid == NULL)
		return -EINVAL;
	return change(rt, txn, uuid, NULL, out, ctx);
}

int pscript_run_reset(struct pscript_run *rt, DB_TXN *txn)
{
	return rt == NULL ? -EINVAL : ps_store_truncate(rt, txn);
}

int pscript_run_uuids(struct pscript_run *rt, DB_TXN *txn,
		      pscript_uuid_fn fn, void *ctx)
{
	return rt == NULL || fn == NULL ? -EINVAL
					: ps_store_uuids(rt, txn, fn, ctx);
}

/* ---- open and close ---- */

static const char identity_key[] = "identity";

int pscript_run_open(struct pscript_run **out, const struct pscript *s,
		     DB_ENV *env, DB_TXN *txn, const char *prefix,
		     int *reset_needed)
{
	struct pscript_run *rt;
	uint8_t *id = NULL;
	size_t idlen = 0;
	int rc;

	*out = NULL;
	if (s == NULL || env == NULL || reset_needed == NULL)
		return -EINVAL;
	*reset_needed = 0;
	rt = calloc(1, sizeof(*rt));
	if (rt == NULL)
		return -ENOMEM;
	rt->s = s;
	rt->env = env;
	if ((rc = ps_store_open(rt, txn, prefix)) < 0)
		goto fail;
	rc = ps_store_get(rt->meta, txn, identity_key, sizeof(identity_key) - 1,
			  &id, &idlen);
	if (rc < 0 && rc != -ENOENT)
		goto fail;
	if (rc == -ENOENT || idlen != 32 || memcmp(id, s->identity, 32) != 0) {
		if (rc == 0)
			tplog(LOG_NOTICE, "pscript: the script changed: its "
			      "state in %s.db is emptied for a resync", prefix);
		*reset_needed = 1;
		if ((rc = ps_store_truncate(rt, txn)) < 0 ||
		    (rc = ps_store_put(rt->meta, txn, identity_key,
				       sizeof(identity_key) - 1, s->identity,
				       32)) < 0)
			goto fail;
	}
	free(id);
	*out = rt;
	return 0;
fail:
	free(id);
	ps_store_close(rt);
	free(rt);
	return rc;
}

void pscript_run_close(struct pscript_run *rt)
{
	if (rt == NULL)
		return;
	ps_store_close(rt);
	free(rt);
}

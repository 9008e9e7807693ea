/* pscript_store -- the runtime's state in BerkeleyDB, in the caller's
 * environment and transaction (layout in pscript_int.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tplog.h"
#include "pscript_int.h"

#define MAXKEY (PS_ID + PS_UUID + 4)

void ps_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t ps_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

size_t ps_rec_size(const struct pscript_value *v, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += 4 + v[i].len;
	return len;
}

void ps_rec_encode(const struct pscript_value *v, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		ps_put32(out, (uint32_t)v[i].len);
		if (v[i].len > 0)
			memcpy(out + 4, v[i].data, v[i].len);
		out += 4 + v[i].len;
	}
}

int ps_rec_decode(const uint8_t *p, size_t len, struct pscript_value *v,
		  size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t l;

		if (len - o < 4)
			return -EIO;
		l = ps_get32(p + o);
		o += 4;
		if (len - o < l)
			return -EIO;
		v[i] = (struct pscript_value){ p + o, l };
		o += l;
	}
	return o == len ? 0 : -EIO;
}

int ps_store_err(int ret, const char *what)
{
	switch (ret) {
	case 0:
		return 0;
	case DB_NOTFOUND:
		return -ENOENT;
	case DB_LOCK_DEADLOCK:
	case DB_LOCK_NOTGRANTED:
		tplog(LOG_DEBUG, "pscript: %s: %s", what, db_strerror(ret));
		return -EDEADLK;
	case ENOMEM:
		tplog(LOG_ERR, "pscript: %s: %s", what, db_strerror(ret));
		return -ENOMEM;
	default:
		tplog(LOG_ERR, "pscript: %s: %s", what, db_strerror(ret));
		return -EIO;
	}
}

static void dbt_in(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)p;
	d->size = (u_int32_t)len;
}

static void dbt_out(DBT *d)
{
	memset(d, 0, sizeof(*d));
	d->flags = DB_DBT_REALLOC;
}

/* ---- open and close ---- */

static int open_one(DB_ENV *env, DB_TXN *txn, DB **db, const char *prefix,
		    const char *name, int dup)
{
	char file[256], sub[256];
	int ret;

	if ((size_t)snprintf(file, sizeof(file), "%s.db", prefix) >= sizeof(file) ||
	    (size_t)snprintf(sub, sizeof(sub), "%s.%s", prefix, name) >= sizeof(sub))
		return -EINVAL;
	ret = db_create(db, env, 0);
	if (ret == 0 && dup)
		ret = (*db)->set_flags(*db, DB_DUP | DB_DUPSORT);
	if (ret == 0)
		ret = (*db)->open(*db, txn, file, sub, DB_BTREE,
				  DB_CREATE | (txn == NULL ? DB_AUTO_COMMIT : 0),
				  0600);
	if (ret != 0) {
		tplog(LOG_ERR, "pscript: cannot open %s in %s: %s", sub, file,
		      db_strerror(ret));
		return ret == DB_LOCK_DEADLOCK ? -EDEADLK : -EIO;
	}
	return 0;
}

int ps_store_open(struct pscript_run *rt, DB_TXN *txn, const char *prefix)
{
	int rc;

	if (prefix == NULL || prefix[0] == '\0' || strchr(prefix, '/') != NULL)
		return -EINVAL;
	if ((rc = open_one(rt->env, txn, &rt->meta, prefix, "meta", 0)) < 0 ||
	    (rc = open_one(rt->env, txn, &rt->entry, prefix, "entry", 0)) < 0 ||
	    (rc = open_one(rt->env, txn, &rt->rec, prefix, "rec", 0)) < 0 ||
	    (rc = open_one(rt->env, txn, &rt->idx, prefix, "idx", 1)) < 0 ||
	    (rc = open_one(rt->env, txn, &rt->out, prefix, "out", 0)) < 0)
		return rc;
	return 0;
}

void ps_store_close(struct pscript_run *rt)
{
	DB **dbs[] = { &rt->out, &rt->idx, &rt->rec, &rt->entry, &rt->meta };

	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if (*dbs[i] != NULL)
			(*dbs[i])->close(*dbs[i], 0);
		*dbs[i] = NULL;
	}
}

/* ---- single records ---- */

int ps_store_get(DB *db, DB_TXN *txn, const void *key, size_t klen,
		 uint8_t **val, size_t *vlen)
{
	DBT k, v;
	int ret;

	dbt_in(&k, key, klen);
	dbt_out(&v);
	ret = db->get(db, txn, &k, &v, 0);
	if (ret != 0) {
		free(v.data);
		*val = NULL;
		*vlen = 0;
		return ret == DB_NOTFOUND ? -ENOENT : ps_store_err(ret, "get");
	}
	*val = v.data;
	*vlen = v.size;
	return 0;
}

int ps_store_put(DB *db, DB_TXN *txn, const void *key, size_t klen,
		 const void *val, size_t vlen)
{
	DBT k, v;

	dbt_in(&k, key, klen);
	dbt_in(&v, val, vlen);
	return ps_store_err(db->put(db, txn, &k, &v, 0), "put");
}

int ps_store_del(DB *db, DB_TXN *txn, const void *key, size_t klen)
{
	DBT k;
	int ret;

	dbt_in(&k, key, klen);
	ret = db->del(db, txn, &k, 0);
	return ret == DB_NOTFOUND ? -ENOENT : ps_store_err(ret, "del");
}

int ps_store_truncate(struct pscript_run *rt, DB_TXN *txn)
{
	DB *dbs[] = { rt->entry, rt->rec, rt->idx, rt->out };
	u_int32_t count;

	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		int rc = ps_store_err(dbs[i]->truncate(dbs[i], txn, &count, 0),
				      "truncate");

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- records and their index ---- */

static size_t rec_key(uint8_t *k, const uint8_t *gen, const uint8_t *uuid,
		      uint32_t n)
{
	memcpy(k, gen, PS_ID);
	memcpy(k + PS_ID, uuid, PS_UUID);
	ps_put32(k + PS_ID + PS_UUID, n);
	return PS_ID + PS_UUID + 4;
}

/* Index key of slot's value in rec; NULL on a bad record or no memory. */
static uint8_t *idx_key(const struct ps_gen *g, unsigned slot,
			const struct pscript_value *v, size_t *klen)
{
	uint8_t *k = malloc(PS_ID + 2 + v->len + 1);

	if (k == NULL)
		return NULL;
	memcpy(k, g->id, PS_ID);
	k[PS_ID] = (uint8_t)(slot >> 8);
	k[PS_ID + 1] = (uint8_t)slot;
	if (v->len > 0)
		memcpy(k + PS_ID + 2, v->data, v->len);
	*klen = PS_ID + 2 + v->len;
	return k;
}

static int rec_index(struct pscript_run *rt, DB_TXN *txn,
		     const struct ps_gen *g, const uint8_t *ref,
		     const uint8_t *rec, size_t len, int add)
{
	struct pscript_value *v = calloc(g->nvars + 1, sizeof(*v));
	int rc = -ENOMEM;

	if (v == NULL)
		return -ENOMEM;
	if (ps_rec_decode(rec, len, v, g->nvars) < 0) {
		rc = -EIO;
		goto out;
	}
	for (unsigned s = 0; s < g->nvars; s++) {
		size_t klen;
		uint8_t *k;
		DBT kd, dd;
		DBC *c = NULL;
		int ret;

		if (!g->indexed[s])
			continue;
		if ((k = idx_key(g, s, &v[s], &klen)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		dbt_in(&kd, k, klen);
		dbt_in(&dd, ref, PS_UUID + 4);
		if (add) {
			ret = rt->idx->put(rt->idx, txn, &kd, &dd, 0);
		} else {
			ret = rt->idx->cursor(rt->idx, txn, &c, 0);
			if (ret == 0)
				ret = c->get(c, &kd, &dd, DB_GET_BOTH);
			if (ret == 0)
				ret = c->del(c, 0);
			if (c != NULL)
				c->close(c);
			if (ret == DB_NOTFOUND) {
				tplog(LOG_ERR, "pscript: index entry missing "
				      "(state corrupt)");
				ret = EIO;
			}
		}
		free(k);
		if ((rc = ps_store_err(ret, "index")) < 0)
			goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

int ps_store_rec_put(struct pscript_run *rt, DB_TXN *txn,
		     const struct ps_gen *g, const uint8_t uuid[16], uint32_t n,
		     const uint8_t *rec, size_t len)
{
	uint8_t k[MAXKEY];
	size_t klen = rec_key(k, g->id, uuid, n);
	int rc = ps_store_put(rt->rec, txn, k, klen, rec, len);

	return rc < 0 ? rc : rec_index(rt, txn, g, k + PS_ID, rec, len, 1);
}

int ps_store_rec_del(struct pscript_run *rt, DB_TXN *txn,
		     const struct ps_gen *g, const uint8_t uuid[16], uint32_t n,
		     const uint8_t *rec, size_t len)
{
	uint8_t k[MAXKEY];
	size_t klen = rec_key(k, g->id, uuid, n);
	int rc = ps_store_del(rt->rec, txn, k, klen);

	if (rc == -ENOENT) {
		tplog(LOG_ERR, "pscript: record missing (state corrupt)");
		return -EIO;
	}
	return rc < 0 ? rc : rec_index(rt, txn, g, k + PS_ID, rec, len, 0);
}

int ps_store_scan(struct pscript_run *rt, DB_TXN *txn, const uint8_t *gen,
		  ps_rec_fn fn, void *ctx)
{
	DBC *c = NULL;
	DBT k, v;
	uint8_t start[PS_ID];
	int ret, rc = 0;

	memcpy(start, gen, PS_ID);
	dbt_out(&k);
	dbt_out(&v);
	k.data = malloc(PS_ID);
	if (k.data == NULL)
		return -ENOMEM;
	memcpy(k.data, start, PS_ID);
	k.size = PS_ID;
	ret = rt->rec->cursor(rt->rec, txn, &c, 0);
	if (ret == 0)
		ret = c->get(c, &k, &v, DB_SET_RANGE);
	while (ret == 0 && rc == 0) {
		if (k.size < PS_ID || memcmp(k.data, start, PS_ID) != 0)
			break;
		rc = fn(ctx, v.data, v.size);
		if (rc == 0)
			ret = c->get(c, &k, &v, DB_NEXT);
	}
	if (rc == 0 && ret != 0 && ret != DB_NOTFOUND)
		rc = ps_store_err(ret, "scan");
	if (c != NULL)
		c->close(c);
	free(k.data);
	free(v.data);
	return rc;
}

int ps_store_lookup(struct pscript_run *rt, DB_TXN *txn, const uint8_t *gen,
		    unsigned slot, const struct pscript_value *value,
		    ps_rec_fn fn, void *ctx)
{
	struct ps_gen g = { 0 };
	DBC *c = NULL;
	DBT k, d, rv;
	size_t klen;
	uint8_t *key, rk[MAXKEY];
	int ret, rc = 0;

	memcpy(g.id, gen, PS_ID);
	if ((key = idx_key(&g, slot, value, &klen)) == NULL)
		return -ENOMEM;
	dbt_in(&k, key, klen);
	dbt_out(&d);
	dbt_out(&rv);
	ret = rt->idx->cursor(rt->idx, txn, &c, 0);
	if (ret == 0)
		ret = c->get(c, &k, &d, DB_SET);
	while (ret == 0 && rc == 0) {
		DBT rkd;

		if (d.size != PS_UUID + 4) {
			tplog(LOG_ERR, "pscript: bad index entry (state corrupt)");
			rc = -EIO;
			break;
		}
		memcpy(rk, gen, PS_ID);
		memcpy(rk + PS_ID, d.data, PS_UUID + 4);
		dbt_in(&rkd, rk, sizeof(rk));
		ret = rt->rec->get(rt->rec, txn, &rkd, &rv, 0);
		if (ret == DB_NOTFOUND) {
			tplog(LOG_ERR, "pscript: indexed record missing "
			      "(state corrupt)");
			rc = -EIO;
			break;
		}
		if (ret != 0)
			break;
		rc = fn(ctx, rv.data, rv.size);
		if (rc == 0)
			ret = c->get(c, &k, &d, DB_NEXT_DUP);
	}
	if (rc == 0 && ret != 0 && ret != DB_NOTFOUND)
		rc = ps_store_err(ret, "lookup");
	if (c != NULL)
		c->close(c);
	free(key);
	free(d.data);
	free(rv.data);
	return rc;
}

int ps_store_uuids(struct pscript_run *rt, DB_TXN *txn, pscript_uuid_fn fn,
		   void *ctx)
{
	DBC *c = NULL;
	DBT k, v;
	uint8_t *list = NULL;
	size_t n = 0, cap = 0;
	int ret, rc = 0;

	/* Read the whole list first: fn may change the entries. */
	dbt_out(&k);
	dbt_out(&v);
	ret = rt->entry->cursor(rt->entry, txn, &c, 0);
	if (ret == 0)
		ret = c->get(c, &k, &v, DB_FIRST);
	while (ret == 0) {
		if (k.size == PS_UUID) {
			if (n == cap) {
				uint8_t *nl;

				cap = cap ? cap * 2 : 256;
				nl = realloc(list, cap * PS_UUID);
				if (nl == NULL) {
					rc = -ENOMEM;
					break;
				}
				list = nl;
			}
			memcpy(list + n++ * PS_UUID, k.data, PS_UUID);
		}
		ret = c->get(c, &k, &v, DB_NEXT);
	}
	if (rc == 0 && ret != 0 && ret != DB_NOTFOUND)
		rc = ps_store_err(ret, "uuids");
	if (c != NULL)
		c->close(c);
	free(k.data);
	free(v.data);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = fn(ctx, list + i * PS_UUID);
	free(list);
	return rc;
}

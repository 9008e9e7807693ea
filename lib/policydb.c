/* policydb -- the transactional BerkeleyDB environment holding policy. */
#include "policydb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "paths.h"
#include "tplog.h"
#include "policydb_int.h"

#define CACHE_BYTES (8u << 20)
#define LOCKS_MAX 250000u
#define WHYLEN 256

static const char *const db_names[POLICYDB_NDB] = {
	"localid", "disclose", "trust", "policy", "meta"
};
static const char serial_key[] = "serial";

const char *policydb_name(enum policydb_which which)
{
	return (unsigned)which < POLICYDB_NDB ? db_names[which] : "unknown";
}

int policydb_map_err(int ret)
{
	switch (ret) {
	case 0:
		return 0;
	case DB_NOTFOUND:
	case DB_KEYEMPTY:
		return -ENOENT;
	case DB_KEYEXIST:
		return -EEXIST;
	case DB_LOCK_DEADLOCK:
		return -EDEADLK;
	case DB_LOCK_NOTGRANTED:
		return -EAGAIN;
	default:
		return ret > 0 ? -ret : -EIO;
	}
}

static void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	tplog(LOG_INFO, "%s: %s", pfx != NULL ? pfx : "policydb", msg);
}

/* Printable form of a raw key: NUL and other odd bytes as \xHH. */
static void esc_key(const void *key, size_t len, char *buf, size_t cap)
{
	const unsigned char *k = key;
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < cap; i++) {
		if (k[i] > 0x20 && k[i] < 0x7f && k[i] != '\\')
			buf[o++] = (char)k[i];
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", k[i]);
	}
	buf[o] = '\0';
}

static void default_corrupt(void *ctx, enum policydb_which which,
			    const void *key, size_t keylen, const char *why)
{
	char k[POLREC_KEY_MAX * 4 + 8];

	(void)ctx;
	esc_key(key, keylen, k, sizeof(k));
	tplog(LOG_WARNING, "policydb: %s record %s is corrupt, skipped: %s",
	      policydb_name(which), k, why);
}

void policydb_report(struct policydb *db, enum policydb_which which,
		   const void *key, size_t keylen, const char *why)
{
	db->corrupt(db->corrupt_ctx, which, key, keylen, why);
}

void policydb_set_corrupt_cb(struct policydb *db, policydb_corrupt_fn fn,
			     void *ctx)
{
	db->corrupt = fn != NULL ? fn : default_corrupt;
	db->corrupt_ctx = fn != NULL ? ctx : NULL;
}

/* ---- open and close ---- */

static int check_dir(const char *dir, unsigned flags, char *err,
		     size_t errlen)
{
	struct stat st;
	int rc;

	if (flags & POLICYDB_CREATE) {
		rc = paths_mkdir_p(dir, 0700);
		if (rc < 0)
			snprintf(err, errlen, "cannot create %s: %s", dir,
				 strerror(-rc));
		return rc;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "no policy database environment at %s",
			 dir);
		return -ENOENT;
	}
	return 0;
}

static int open_env(struct policydb *db, const char *dir, char *err,
		    size_t errlen)
{
	const u_int32_t envflags = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
				   DB_INIT_LOG | DB_INIT_MPOOL | DB_THREAD |
				   DB_RECOVER | DB_REGISTER;
	int ret = db_env_create(&db->env, 0);

	if (ret != 0)
		goto fail;
	db->env->set_errcall(db->env, bdb_errcall);
	db->env->set_errpfx(db->env, "policydb");
	if ((ret = db->env->set_cachesize(db->env, 0, CACHE_BYTES, 1)) != 0 ||
	    (ret = db->env->set_lk_detect(db->env, DB_LOCK_DEFAULT)) != 0 ||
	    /* pulley applies a whole SyncRepl refresh (100,000 entries and
	     * more) in one transaction: one lock per page it writes */
	    (ret = db->env->set_lk_max_locks(db->env, LOCKS_MAX)) != 0 ||
	    (ret = db->env->set_lk_max_objects(db->env, LOCKS_MAX)) != 0 ||
	    (ret = db->env->log_set_config(db->env, DB_LOG_AUTO_REMOVE, 1)) != 0)
		goto fail;
	ret = db->env->open(db->env, dir, envflags, 0600);
	if (ret == 0)
		return 0;
fail:
	snprintf(err, errlen, "cannot open the policy environment %s: %s", dir,
		 db_strerror(ret));
	return policydb_map_err(ret);
}

static int open_dbs(struct policydb *db, const char *dir, char *err,
		    size_t errlen)
{
	u_int32_t of = DB_AUTO_COMMIT | DB_THREAD | DB_MULTIVERSION;
	char file[32];
	int ret = 0;

	if (db->flags & POLICYDB_CREATE)
		of |= DB_CREATE;
	else if (db->flags & POLICYDB_READONLY)
		of |= DB_RDONLY;
	for (int i = 0; i < POLICYDB_NDB; i++) {
		snprintf(file, sizeof(file), "%s.db", db_names[i]);
		ret = db_create(&db->dbs[i], db->env, 0);
		if (ret == 0)
			ret = db->dbs[i]->open(db->dbs[i], NULL, file, NULL,
					       DB_BTREE, of, 0600);
		if (ret != 0) {
			snprintf(err, errlen, "cannot open %s/%s: %s", dir, file,
				 ret == ENOENT ? "missing (nothing was ever "
						 "written here)"
					       : db_strerror(ret));
			return policydb_map_err(ret);
		}
	}
	return 0;
}

int policydb_open(struct policydb **out, const char *dir, unsigned flags,
		  char *err, size_t errlen)
{
	struct policydb *db;
	int rc;

	*out = NULL;
	if (dir == NULL || dir[0] == '\0') {
		snprintf(err, errlen, "no policy database directory given");
		return -EINVAL;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	db->flags = flags;
	policydb_set_corrupt_cb(db, NULL, NULL);
	rc = check_dir(dir, flags, err, errlen);
	if (rc < 0)
		goto fail_free;
	rc = open_env(db, dir, err, errlen);
	if (rc < 0)
		goto fail_close;
	rc = open_dbs(db, dir, err, errlen);
	if (rc < 0)
		goto fail_close;
	*out = db;
	return 0;
fail_close:
	policydb_close(db);
	return rc;
fail_free:
	free(db);
	return rc;
}

void policydb_close(struct policydb *db)
{
	if (db == NULL)
		return;
	if (db->env != NULL && !(db->flags & POLICYDB_READONLY) &&
	    db->dbs[POLICYDB_NDB - 1] != NULL)
		db->env->txn_checkpoint(db->env, 0, 0, 0);
	for (int i = POLICYDB_NDB - 1; i >= 0; i--)
		if (db->dbs[i] != NULL)
			db->dbs[i]->close(db->dbs[i], 0);
	if (db->env != NULL)
		db->env->close(db->env, 0);
	free(db);
}

/* ---- raw access ---- */

void policydb_dbt_set(DBT *d, const void *data, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)data;
	d->size = (u_int32_t)len;
}

int policydb_raw_get(struct policydb_txn *txn, enum policydb_which which,
		     const void *key, size_t keylen, void **val, size_t *vallen)
{
	DB *d;
	DBT k, v;
	int ret;

	*val = NULL;
	*vallen = 0;
	if ((unsigned)which >= POLICYDB_NDB || keylen > UINT32_MAX)
		return -EINVAL;
	d = txn->db->dbs[which];
	policydb_dbt_set(&k, key, keylen);
	policydb_dbt_set(&v, NULL, 0);
	v.flags = DB_DBT_MALLOC;
	ret = d->get(d, txn->t, &k, &v, 0);
	if (ret != 0)
		return policydb_map_err(ret);
	*val = v.data;
	*vallen = v.size;
	return 0;
}

/* A put (val != NULL) or a delete in a write transaction. */
static int raw_change(struct policydb_txn *txn, enum policydb_which which,
		      const void *key, size_t keylen, const void *val,
		      size_t vallen)
{
	DB *d;
	DBT k, v;
	int ret;

	if (!txn->write)
		return -EROFS;
	if ((unsigned)which >= POLICYDB_NDB || keylen == 0 ||
	    keylen > POLREC_KEY_MAX || vallen > UINT32_MAX)
		return -EINVAL;
	d = txn->db->dbs[which];
	policydb_dbt_set(&k, key, keylen);
	policydb_dbt_set(&v, val, vallen);
	ret = val != NULL ? d->put(d, txn->t, &k, &v, 0)
			  : d->del(d, txn->t, &k, 0);
	if (ret == 0)
		txn->dirty = 1;
	return policydb_map_err(ret);
}

int policydb_raw_put(struct policydb_txn *txn, enum policydb_which which,
		     const void *key, size_t keylen, const void *val,
		     size_t vallen)
{
	return raw_change(txn, which, key, keylen, val != NULL ? val : "",
			  vallen);
}

int policydb_raw_del(struct policydb_txn *txn, enum policydb_which which,
		     const void *key, size_t keylen)
{
	return raw_change(txn, which, key, keylen, NULL, 0);
}

/* ---- transactions and the serial ---- */

int policydb_begin(struct policydb *db, struct policydb_txn **out, int write)
{
	struct policydb_txn *txn;
	int ret;

	*out = NULL;
	if (write && (db->flags & POLICYDB_READONLY))
		return -EROFS;
	txn = calloc(1, sizeof(*txn));
	if (txn == NULL)
		return -ENOMEM;
	txn->db = db;
	txn->write = write != 0;
	ret = db->env->txn_begin(db->env, NULL, &txn->t,
				 write ? 0 : DB_TXN_SNAPSHOT);
	if (ret != 0) {
		free(txn);
		return policydb_map_err(ret);
	}
	*out = txn;
	return 0;
}

int policydb_txn_serial(struct policydb_txn *txn, uint64_t *serial)
{
	char why[WHYLEN];
	void *v;
	size_t vl;
	int rc;

	*serial = 0;
	rc = policydb_raw_get(txn, POLICYDB_META, serial_key,
			      sizeof(serial_key) - 1, &v, &vl);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = polrec_serial_decode(v, vl, serial, why, sizeof(why));
	free(v);
	if (rc == -EBADMSG)
		policydb_report(txn->db, POLICYDB_META, serial_key,
		       sizeof(serial_key) - 1, why);
	return rc;
}

/* Once per committed write transaction.  A corrupt serial is replaced
 * by one derived from the clock, so readers still see a change. */
static int bump_serial(struct policydb_txn *txn)
{
	uint8_t buf[POLREC_SERIAL_LEN];
	uint64_t serial;
	int rc = policydb_txn_serial(txn, &serial);

	if (rc == -EBADMSG)
		serial = (uint64_t)time(NULL) << 20;
	else if (rc < 0)
		return rc;
	polrec_serial_encode(serial + 1, buf);
	return policydb_raw_put(txn, POLICYDB_META, serial_key,
				sizeof(serial_key) - 1, buf, sizeof(buf));
}

int policydb_commit(struct policydb_txn *txn)
{
	int rc = 0, ret;

	if (txn->write && txn->dirty)
		rc = bump_serial(txn);
	if (rc < 0) {
		policydb_abort(txn);
		return rc;
	}
	ret = txn->t->commit(txn->t, 0);
	free(txn);
	return policydb_map_err(ret);
}

void policydb_abort(struct policydb_txn *txn)
{
	if (txn == NULL)
		return;
	txn->t->abort(txn->t);
	free(txn);
}

int policydb_serial(struct policydb *db, uint64_t *serial)
{
	struct policydb_txn *txn;
	int rc = policydb_begin(db, &txn, 0);

	*serial = 0;
	if (rc < 0)
		return rc;
	rc = policydb_txn_serial(txn, serial);
	policydb_abort(txn);
	return rc;
}

/* ---- iteration ---- */

int policydb_walk(struct policydb_txn *txn, enum policydb_which which,
		  const void *prefix, size_t plen, policydb_raw_fn fn,
		  void *arg)
{
	DB *d = txn->db->dbs[which];
	DBC *c;
	DBT k, v;
	u_int32_t op = plen ? DB_SET_RANGE : DB_FIRST;
	int ret, rc = 0;

	ret = d->cursor(d, txn->t, &c, 0);
	if (ret != 0)
		return policydb_map_err(ret);
	policydb_dbt_set(&k, NULL, 0);
	policydb_dbt_set(&v, NULL, 0);
	k.flags = v.flags = DB_DBT_REALLOC;
	if (plen > 0) {
		k.data = malloc(plen);
		if (k.data == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(k.data, prefix, plen);
		k.size = (u_int32_t)plen;
	}
	while ((ret = c->get(c, &k, &v, op)) == 0) {
		op = DB_NEXT;
		if (plen && (k.size < plen || memcmp(k.data, prefix, plen) != 0))
			break;
		rc = fn(arg, k.data, k.size, v.data, v.size);
		if (rc != 0)
			break;
	}
	if (rc == 0 && ret != 0 && ret != DB_NOTFOUND)
		rc = policydb_map_err(ret);
out:
	c->close(c);
	free(k.data);
	free(v.data);
	return rc;
}

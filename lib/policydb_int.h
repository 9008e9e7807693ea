/* policydb internals shared by policydb.c and policydb_rec.c. */
#ifndef TP_POLICYDB_INT_H
#define TP_POLICYDB_INT_H

#include <db.h>
#include <stddef.h>

#include "policydb.h"

struct policydb {
	DB_ENV *env;
	DB *dbs[POLICYDB_NDB];
	unsigned flags;
	policydb_corrupt_fn corrupt;
	void *corrupt_ctx;
};

struct policydb_txn {
	struct policydb *db;
	DB_TXN *t;
	int write;
	int dirty;		/* something was written: bump the serial */
};

int policydb_map_err(int ret);
void policydb_dbt_set(DBT *d, const void *data, size_t len);
/* Through the corrupt callback. */
void policydb_report(struct policydb *db, enum policydb_which which,
		     const void *key, size_t keylen, const char *why);

typedef int (*policydb_raw_fn)(void *arg, const void *k, size_t kl,
			       const void *v, size_t vl);
/* Every record whose key starts with prefix (plen 0: all), in key
 * order; a non-zero return of fn stops and is returned. */
int policydb_walk(struct policydb_txn *txn, enum policydb_which which,
		  const void *prefix, size_t plen, policydb_raw_fn fn,
		  void *arg);

#endif

/* policydb -- the transactional BerkeleyDB environment holding policy.
 *
 * One environment (dbenv_dir) with five B-tree databases: localid.db,
 * disclose.db, trust.db, policy.db, meta.db; record formats in polrec.h
 * and doc/policy-records.md.  Writers (tlspool-ctl, pulley) change them
 * in transactions; every committed write transaction increments the
 * policy serial (meta "serial") exactly once, in the same transaction.
 * Readers (the daemon) use snapshot transactions (MVCC): they never
 * block writers nor wait for them, and see one committed state until
 * they begin a new transaction.
 *
 * The environment is opened with DB_REGISTER | DB_RECOVER: recovery runs
 * only when a process died while using it, so a writer starting while
 * the daemon runs does not disturb it.  BerkeleyDB allows one open
 * environment handle per process with DB_REGISTER: open it once and
 * share it (it is thread safe; a transaction belongs to one thread).
 *
 * A stored record that does not decode is reported through the corrupt
 * callback (default: a warning in the log) with its database and key,
 * and skipped by iteration; it is never fatal.
 */
#ifndef TP_POLICYDB_H
#define TP_POLICYDB_H

#include <stddef.h>
#include <stdint.h>

#include "polrec.h"

#define POLICYDB_READONLY 0x1u	/* write transactions are refused */
#define POLICYDB_CREATE 0x2u	/* create the directory, environment and
				 * databases when missing */

enum policydb_which {
	POLICYDB_LOCALID = 0,
	POLICYDB_DISCLOSE,
	POLICYDB_TRUST,
	POLICYDB_POLICY,
	POLICYDB_META,
	POLICYDB_NDB
};

struct policydb;
struct policydb_txn;

/* key/keylen: the raw key of the record; why: what is wrong with it. */
typedef void (*policydb_corrupt_fn)(void *ctx, enum policydb_which which,
				    const void *key, size_t keylen,
				    const char *why);

/* 0 or -errno with a message in err. */
int policydb_open(struct policydb **db, const char *dir, unsigned flags,
		  char *err, size_t errlen);
/* Aborts nothing: every transaction must be finished first. */
void policydb_close(struct policydb *db);
void policydb_set_corrupt_cb(struct policydb *db, policydb_corrupt_fn fn,
			     void *ctx);
const char *policydb_name(enum policydb_which which);	/* "localid" */

/* write = 0: a snapshot read transaction.  write = 1: -EROFS on a
 * READONLY handle.  Commit and abort free the transaction. */
int policydb_begin(struct policydb *db, struct policydb_txn **txn, int write);
int policydb_commit(struct policydb_txn *txn);
void policydb_abort(struct policydb_txn *txn);

/* The policy serial (0 when nothing was ever committed).  The _txn form
 * reads it in a transaction; policydb_serial runs its own short snapshot
 * transaction: cheap enough to call on every new handshake. */
int policydb_txn_serial(struct policydb_txn *txn, uint64_t *serial);
int policydb_serial(struct policydb *db, uint64_t *serial);

/* Results of gets and iteration: 0, -ENOENT when absent, -EBADMSG for
 * a corrupt record (already reported through the corrupt callback),
 * -EDEADLK when a write transaction lost a deadlock (abort, retry),
 * other -errno.  Records from get are the caller's (polrec_*_free).
 * Iteration callbacks get records owned by the iteration, valid for the
 * call; a non-zero return stops and is returned. */

/* localid: one record per identity and credential kind. */
int policydb_localid_get(struct policydb_txn *txn, const char *id,
			 enum polrec_cred kind, struct polrec_localid *out);
int policydb_localid_put(struct policydb_txn *txn, const char *id,
			 const struct polrec_localid *r, char *why,
			 size_t whylen);
/* kind 0: every kind.  -ENOENT when nothing was there. */
int policydb_localid_del(struct policydb_txn *txn, const char *id, int kind);
typedef int (*policydb_localid_fn)(void *ctx, const char *id,
				   const struct polrec_localid *r);
/* id NULL: all identities; else that identity's records (every kind). */
int policydb_localid_iterate(struct policydb_txn *txn, const char *id,
			     policydb_localid_fn fn, void *ctx);

int policydb_disclose_get(struct policydb_txn *txn, const char *sel,
			  struct polrec_disclose *out);
int policydb_disclose_put(struct policydb_txn *txn, const char *sel,
			  const struct polrec_disclose *r, char *why,
			  size_t whylen);
int policydb_disclose_del(struct policydb_txn *txn, const char *sel);
typedef int (*policydb_disclose_fn)(void *ctx, const char *sel,
				    const struct polrec_disclose *r);
int policydb_disclose_iterate(struct policydb_txn *txn,
			      policydb_disclose_fn fn, void *ctx);

/* key: see polrec_trust_key; put checks that key and record agree. */
int policydb_trust_get(struct policydb_txn *txn, const char *key,
		       struct polrec_trust *out);
int policydb_trust_put(struct policydb_txn *txn, const char *key,
		       const struct polrec_trust *r, char *why, size_t whylen);
int policydb_trust_del(struct policydb_txn *txn, const char *key);
typedef int (*policydb_trust_fn)(void *ctx, const char *key,
				 const struct polrec_trust *r);
/* prefix NULL: everything; else keys starting with prefix ("pin:x:"). */
int policydb_trust_iterate(struct policydb_txn *txn, const char *prefix,
			   policydb_trust_fn fn, void *ctx);

/* role: POLREC_ROLE_CLIENT or POLREC_ROLE_SERVER. */
int policydb_policy_get(struct policydb_txn *txn, const char *sel,
			unsigned role, struct polrec_policy *out);
int policydb_policy_put(struct policydb_txn *txn, const char *sel,
			unsigned role, const struct polrec_policy *r,
			char *why, size_t whylen);
int policydb_policy_del(struct policydb_txn *txn, const char *sel,
			unsigned role);
typedef int (*policydb_policy_fn)(void *ctx, const char *sel, unsigned role,
				  const struct polrec_policy *r);
int policydb_policy_iterate(struct policydb_txn *txn, policydb_policy_fn fn,
			    void *ctx);

/* Raw access, for meta entries other than "serial" (pulley cookies) and
 * for tests.  get: *val is malloc'ed.  A raw put or del counts as a
 * change (the serial is bumped at commit). */
int policydb_raw_get(struct policydb_txn *txn, enum policydb_which which,
		     const void *key, size_t keylen, void **val,
		     size_t *vallen);
int policydb_raw_put(struct policydb_txn *txn, enum policydb_which which,
		     const void *key, size_t keylen, const void *val,
		     size_t vallen);
int policydb_raw_del(struct policydb_txn *txn, enum policydb_which which,
		     const void *key, size_t keylen);

#endif

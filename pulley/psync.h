/* psync -- pulley's SyncRepl consumer: RFC 4533 refreshAndPersist via
 * libldap's ldap_sync_*, entries through the PulleyScript runtime into
 * the pulleyback backends, one BerkeleyDB transaction per batch holding
 * the data, the PulleyScript state and the cookie (doc/pulley.8,
 * "State and transactions").
 */
#ifndef TP_PSYNC_H
#define TP_PSYNC_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "pback.h"
#include "pconf.h"
#include "policydb.h"
#include "pscript.h"
#include "puuidset.h"

struct psync_stats {
	unsigned long batches, entries, deletes, refused, rollbacks;
};

struct psync {
	const struct pconf *cf;
	struct pscript *ps;
	struct policydb *db;
	struct pscript_run *rt;
	struct pback *backs;
	size_t nbacks;
	char cookie_key[96];
	uint8_t *cookie;		/* last committed cookie, or NULL */
	size_t cookielen;
	int need_reset;			/* next batch starts with a reset */
	/* the batch in progress */
	struct policydb_txn *txn;
	int failed;			/* an error: abort, do not commit */
	const char *cur_dn;		/* entry being applied, for messages */
	/* refresh bookkeeping: UUIDs presented or added */
	struct puuidset seen;
	int present_done;
	struct psync_stats st;
	volatile sig_atomic_t *stop;
};

/* Open the policy env, the script's runtime state and the backends;
 * read the saved cookie.  0 or -errno (logged). */
int psync_open(struct psync *p, const struct pconf *cf, struct pscript *ps,
	       volatile sig_atomic_t *stop);
void psync_close(struct psync *p);

/* One connection: bind, refresh, then persist until the connection is
 * lost, a batch fails or *stop is set (once = 1: return after the
 * refresh).  0 when stopped or done, -ECONNRESET / -ECONNREFUSED etc.
 * when the caller should back off and call again; -EAGAIN to call again
 * at once (the server asked for a full refresh). */
int psync_session(struct psync *p, int once);

#endif

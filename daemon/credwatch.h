/* credwatch -- identities and anchors from the policy database, live.
 *
 * The credentials in force (a cred_store, with the configuration they
 * came with) are put in place through credwatch_apply, which hands them
 * to new sessions (session_set_config); sessions keep the store they
 * started with.  A helper thread compares the policy serial
 * (policydb_serial: one short snapshot transaction) with the serial the
 * store in force was read at, every CREDWATCH_INTERVAL_MS.  When it
 * changed, the thread builds a new store with cred_store_refresh (the
 * file part and every unchanged credential are reused, so only new or
 * changed keys cost a round trip to the key process) and applies it,
 * unless credwatch_apply put another store in place meanwhile (a SIGHUP
 * reload, which read the database itself).  No worker ever waits for it.
 *
 * Bound: a committed change to localid.db or trust.db is used by
 * handshakes that start at most CREDWATCH_INTERVAL_MS plus the time of
 * one refresh after the commit (reading the records, plus loading the
 * keys of new or changed identities: a few milliseconds for a handful of
 * identities; it grows with the size of localid.db, which is read whole).
 * A failed refresh (key process unavailable, database error) keeps the
 * store in force, is logged once, and is tried again after
 * CREDWATCH_RETRY_MS.
 */
#ifndef TP_CREDWATCH_H
#define TP_CREDWATCH_H

struct cred_store;
struct dconfig;
struct policydb;

#define CREDWATCH_INTERVAL_MS 20
#define CREDWATCH_RETRY_MS 1000

/* Put cfg and store in force for new sessions and as the base of the
 * next refresh (store gets a reference; cfg must stay valid until it is
 * returned by a later call or credwatch_stop).  Returns the
 * configuration in force before (NULL the first time), for the caller to
 * free.  Any thread. */
const struct dconfig *credwatch_apply(const struct dconfig *cfg,
				      struct cred_store *store);

/* Start the thread watching db (after the first credwatch_apply).
 * 0 or -errno. */
int credwatch_start(struct policydb *db);
/* Stop the thread (when running) and drop the store reference.  Returns
 * the configuration in force (NULL if none), for the caller to free. */
const struct dconfig *credwatch_stop(void);

/* How many stores the thread applied (for tests and logs). */
unsigned long credwatch_refreshes(void);

#endif

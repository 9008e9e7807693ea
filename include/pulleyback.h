/* pulleyback.h -- the plugin API between pulley and its backends.
 *
 * A backend is a shared object (installed in $(pkglibdir), file name
 * "pulleyback_NAME.so") that pulley loads with dlopen for every driver
 * line "v1, v2 -> NAME (p1="x", p2="y")" of its PulleyScript.  One
 * driver line gives one instance (one pulleyback_open).
 *
 * argv convention (strict): argv[0] is the backend name NAME; argv[1..]
 * are the driver line's parameters, each "name=value" exactly as the
 * script wrote it (quotes removed, no escapes), in script order; argc
 * counts argv[0]; argv[argc] is NULL.  A backend refuses (open returns
 * NULL) an unknown parameter name, a repeated one, a missing required
 * one, or a varc it cannot handle, and says why through the host log.
 *
 * Values: every forked value is one DER OCTET STRING (tag 0x04, definite
 * length in the shortest form) holding the raw LDAP attribute value,
 * binary safe.  add and del get forkdata[0..varc-1], in the order of the
 * driver line's variables.  pulleyback_der_unwrap reads one.
 *
 * Transactions: pulley runs the backends of a sync batch as a two-phase
 * commit.  Between two commit/rollback points it calls add/del/reset any
 * number of times; then prepare on every instance; if all prepares
 * succeed it commits its own state (cookie, PulleyScript state) and then
 * calls commit on every instance; if any prepare fails (or its own commit
 * fails) it calls rollback on every instance.  After prepare returned 1
 * the backend must be able to commit: commit never fails for a reason
 * it could have foreseen in prepare.
 *
 * Host transaction: a backend that writes into pulley's own BerkeleyDB
 * environment (the pool backend) cannot open a second handle on it in
 * the same process.  It exports pulleyback_host; pulley calls it once
 * after open with the host's services.  Its prepare writes into the
 * host's current write transaction, so its data commits atomically with
 * the cookie; its commit and rollback only drop what it buffered.
 *
 * Return values: open gives a handle or NULL; the others give 1 for
 * success and 0 for failure (the SteamWorks convention); close and the
 * void calls cannot fail.
 */
#ifndef PULLEYBACK_H
#define PULLEYBACK_H

#include <stddef.h>
#include <stdint.h>

#define PULLEYBACK_API_VERSION 1

struct pulleyback_host {
	unsigned version;		/* PULLEYBACK_API_VERSION */
	void *ctx;
	/* The policy environment's current write transaction (a struct
	 * policydb_txn *), or NULL outside a batch. */
	void *(*txn)(void *ctx);
	/* Log through the host (syslog levels: LOG_ERR ... LOG_DEBUG). */
	void (*log)(void *ctx, int level, const char *msg);
};

/* Required symbols. */
void *pulleyback_open(int argc, char **argv, int varc);
void pulleyback_close(void *pbh);
int pulleyback_add(void *pbh, uint8_t **forkdata);
int pulleyback_del(void *pbh, uint8_t **forkdata);
int pulleyback_reset(void *pbh);
int pulleyback_prepare(void *pbh);
int pulleyback_commit(void *pbh);
void pulleyback_rollback(void *pbh);
/* 1 when the two instances (of the same backend) can share one
 * transaction, so pulley need not run them as separate participants;
 * 0 otherwise.  Pulley still calls prepare/commit on both. */
int pulleyback_collaborate(void *pbh1, void *pbh2);

/* Optional symbol: the host services (see above).  1 or 0. */
int pulleyback_host(void *pbh, const struct pulleyback_host *host);

/* Read one DER OCTET STRING at der (at most cap bytes readable; use
 * SIZE_MAX when the value is trusted to be well formed, as those pulley
 * hands over are).  0 with *val and *len pointing into der, or -1 when it is
 * not a well-formed OCTET STRING of the shortest length form. */
static inline int pulleyback_der_unwrap(const uint8_t *der, size_t cap,
					const uint8_t **val, size_t *len)
{
	size_t n, hdr, i, nb;

	if (cap < 2 || der[0] != 0x04)
		return -1;
	if (der[1] < 0x80) {
		n = der[1];
		hdr = 2;
	} else {
		nb = der[1] & 0x7f;
		if (nb == 0 || nb > sizeof(size_t) || cap - 2 < nb ||
		    der[2] == 0)
			return -1;
		n = 0;
		for (i = 0; i < nb; i++)
			n = (n << 8) | der[2 + i];
		if (n < 0x80)
			return -1;
		hdr = 2 + nb;
	}
	if (cap - hdr < n)
		return -1;
	*val = der + hdr;
	*len = n;
	return 0;
}

#endif

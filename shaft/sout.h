/* sout -- shaft's output: the merged subtree, one entry per record key
 * directly below output_base, each signed with shaft's key over the
 * same canonical form (doc/ldap-policy.md).  Only entries whose content
 * changed are written; entries no merge result has any more are
 * deleted. */
#ifndef TP_SOUT_H
#define TP_SOUT_H

#include <ldap.h>
#include <stddef.h>
#include <stdint.h>

#include "sconf.h"
#include "smerge.h"

struct sout_cur;

struct sout_stats {
	unsigned long added, modified, deleted, unchanged, errors;
};

struct sout {
	const struct sconf *cf;
	uint8_t pk[32], sk[64];
	LDAP *ld;			/* NULL: not connected */
	struct sout_cur *cur;		/* what the subtree holds, by key */
	size_t ncur;
	/* BLAKE2b digests of (canonical form, signature) of the entries
	 * shaft wrote or verified, sorted; kept in state_dir so that a
	 * restart need not verify its own signatures again */
	uint8_t *known;
	size_t nknown;
	int known_synced;		/* the file matches the subtree */
	size_t nread_known;		/* entries read and found known */
};

/* Read shaft's key (a 32-byte seed file, not readable by group or
 * others) and the digests of what it wrote.  0 or -errno with err. */
int sout_init(struct sout *o, const struct sconf *cf, char *err,
	      size_t errlen);
void sout_fini(struct sout *o);

/* Connect and read the subtree as it is.  0 or -errno (logged). */
int sout_connect(struct sout *o);

/* Make the subtree hold exactly the winners (sorted by key, as
 * smerge_run gives them).  0, or -errno when the connection failed
 * (then sout_connect again); single entries the server refuses are
 * logged with their DN and counted in st->errors. */
int sout_apply(struct sout *o, const struct smerge_in *const *w, size_t n,
	       struct sout_stats *st);

#endif

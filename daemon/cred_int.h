/* cred_int -- the credential store's insides, shared by cred.c (files,
 * the store), cred_db.c (the database part) and cred_verify.c only. */
#ifndef TP_CRED_INT_H
#define TP_CRED_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <gnutls/abstract.h>

#include "cred.h"

#define CRED_NAME_MAX 127	/* identity names the daemon can serve */

/* One loaded credential (chain + key handle), shared by every store
 * that uses it: a refresh reuses it while its record is unchanged. */
struct cred_shared {
	atomic_uint refs;
	gnutls_certificate_credentials_t cred;
	int keyref_type;	/* database: POLREC_KEYREF_*; files: 0 */
	char *keyref;		/* database: the key reference */
	unsigned ncerts;	/* certificates in the chain */
	int rawpk;		/* one raw public key, no chain */
};

/* What comes from files: read at start and on SIGHUP only, shared by the
 * stores refreshed from the database in between. */
struct cred_files {
	atomic_uint refs;
	struct cred_identity *ids;	/* sorted by name */
	size_t n, cap;
	gnutls_datum_t *anchors;	/* trust_anchors, DER */
	size_t nanchors;
	int system;			/* trust_system */
	char *pin;			/* PKCS#11 user PIN, or NULL */
};

enum { CRED_TL_ALL, CRED_TL_CLIENTS, CRED_TL_SERVERS, CRED_TL_N };

struct cred_store {
	atomic_uint refs;
	struct cred_files *files;
	struct cred_identity *ids;	/* files and database, sorted */
	size_t n, ndb;
	char **hidden;		/* names of file identities that disabled
				 * or unusable records hide, sorted */
	size_t nhidden;
	int have_db;
	uint64_t serial;		/* of the database snapshot */
	/* every anchor, those for client peers, those for server peers;
	 * the three are one list when no anchor is limited to one role */
	gnutls_x509_trust_list_t trust[CRED_TL_N];
	unsigned anchors[CRED_TL_N];
	gnutls_certificate_credentials_t anon;
};

/* cred.c */
void cred_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A shared credential for chain pc[0..n) and key pk, which it takes
 * over (freed on failure too).  0 or a GnuTLS error. */
int cred_shared_make(gnutls_pcert_st *pc, unsigned n, gnutls_privkey_t pk,
		     struct cred_shared **out);
void cred_shared_unref(struct cred_shared *sh);
/* Warn when the leaf is expired or not yet valid. */
void cred_check_validity(const char *what, gnutls_x509_crt_t leaf);
void cred_files_unref(struct cred_files *f);
int cred_id_cmp(const void *a, const void *b);

/* cred_db.c: fill s (whose files are set) from the files and, with db,
 * the database; prev (may be NULL) lends unchanged credentials.  0 or
 * -errno with err. */
int cred_assemble(struct cred_store *s, const struct cred_store *prev,
		  struct policydb *db, char *err, size_t errlen);

#endif

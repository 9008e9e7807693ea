/* crank_build -- read the files a policy model names and encode its
 * records (lib/polrec), exactly as tlspool-ctl would store them.
 *
 * Certificates, public keys, anchors and CRLs are files of the source
 * (a relative path is relative to the file that names it); their bytes
 * go into the records.  Private keys and keytabs are named by their
 * absolute path on the hosts and never leave the host: the records hold
 * the path.  They are read here only to check them (readable, parse, the
 * key belongs to the certificate or public key), under key_root when
 * given (the directory where the hosts' files are staged).
 *
 * Checked here: every file readable and parsable, key and certificate
 * match, GnuTLS priority strings, and the contradictions that show only
 * in the files: the same trust key twice, a key both trusted (anchor or
 * pin) and revoked.  Warnings: a certificate outside its validity, a
 * leaf that does not name its identity, an encrypted key that cannot
 * be checked.
 */
#ifndef CRANK_BUILD_H
#define CRANK_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "crank_model.h"
#include "policydb.h"

#define CRANK_LABEL_MAX (POLREC_KEY_MAX + 48)

struct crank_rec {
	enum policydb_which db;
	char key[POLREC_KEY_MAX + 1];	/* may hold a NUL; NUL-terminated */
	size_t keylen;
	uint8_t *val;			/* encoded record */
	size_t vallen;
	char label[CRANK_LABEL_MAX];	/* "policy @.example.com client" */
	struct crank_pos pos;		/* item it comes from */
};

struct crank_recs {
	struct crank_rec *r;		/* sorted by database, then key */
	size_t n;
};

struct crank_build_opts {
	const char *key_root;		/* NULL or "": keys read where named */
};

/* Returns the number of errors (reported through diag), or -ENOMEM.
 * out holds the records that built (all of them when 0). */
int crank_build(const struct crank_model *m, const struct crank_build_opts *o,
		struct crank_recs *out, crank_diag_fn diag, void *ctx);
void crank_recs_free(struct crank_recs *recs);

/* The record's label for a database key, as in out->label. */
void crank_rec_label(enum policydb_which db, const void *key, size_t keylen,
		     char *buf, size_t len);

#endif

/* trust_key -- trust.db records about one public key.  See trust_key.h. */
#include "trust_key.h"

#include <errno.h>

#include "policydb.h"
#include "polrec.h"

int trust_key_pinned(struct policydb_txn *txn, const char *hex,
		     const char *id, unsigned peer_flags)
{
	struct polrec_trust r = { 0 };
	char key[POLREC_KEY_MAX];
	size_t klen;
	int ok;

	if (polrec_trust_key(POLREC_TRUST_PIN, hex, id, key, sizeof(key),
			     &klen) < 0)
		return 0;
	ok = policydb_trust_get(txn, key, &r) == 0 &&
	     (peer_flags == 0 ||
	      (r.kind == POLREC_TRUST_PIN && (r.flags & peer_flags)));
	polrec_trust_free(&r);
	return ok;
}

int trust_key_revoked(struct policydb *db, const char *hex)
{
	struct policydb_txn *txn;
	struct polrec_trust r = { 0 };
	char key[POLREC_KEY_MAX];
	size_t klen;
	int rc = -ENOENT;

	if (db == NULL || policydb_begin(db, &txn, 0) < 0)
		return 0;
	if (polrec_trust_key(POLREC_TRUST_REVOKED, hex, NULL, key,
			     sizeof(key), &klen) == 0)
		rc = policydb_trust_get(txn, key, &r);
	policydb_abort(txn);
	polrec_trust_free(&r);
	return rc == 0;
}

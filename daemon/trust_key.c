/* trust_key -- trust.db records about one public key.  See trust_key.h. */
#include "trust_key.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

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

	if (db == NULL)
		return 0;
	rc = policydb_begin(db, &txn, 0);
	if (rc < 0)
		return rc;
	rc = polrec_trust_key(POLREC_TRUST_REVOKED, hex, NULL, key,
			      sizeof(key), &klen);
	if (rc == 0)
		rc = policydb_trust_get(txn, key, &r);
	policydb_abort(txn);
	polrec_trust_free(&r);
	if (rc == -ENOENT)
		return 0;
	return rc == 0 ? 1 : rc;
}

/* SHA-256 in hex of the SubjectPublicKeyInfo of one presented
 * credential: a certificate (DER) or, for a raw key, the SPKI itself. */
static int presented_hex(const gnutls_datum_t *d, int rawpk, char hex[65])
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pk = NULL;
	gnutls_datum_t der = { NULL, 0 };
	unsigned char h[32];
	int rc = -EBADMSG;

	if (rawpk) {
		der = *d;
	} else {
		if (gnutls_x509_crt_init(&crt) < 0 ||
		    gnutls_pubkey_init(&pk) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		if (gnutls_x509_crt_import(crt, d, GNUTLS_X509_FMT_DER) < 0 ||
		    gnutls_pubkey_import_x509(pk, crt, 0) < 0 ||
		    gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &der) < 0)
			goto out;
	}
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, h) < 0)
		goto out;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	rc = 0;
out:
	if (!rawpk)
		gnutls_free(der.data);
	if (pk != NULL)
		gnutls_pubkey_deinit(pk);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

int trust_key_presented_revoked(struct policydb *db, gnutls_session_t tls,
				char *why, size_t whylen)
{
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(tls, &n);
	int rawpk = gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_PEERS) ==
		    GNUTLS_CRT_RAWPK;
	char hex[65];
	int rc;

	if (db == NULL || chain == NULL)
		return 0;
	for (unsigned i = 0; i < n && (i == 0 || !rawpk); i++) {
		if (presented_hex(&chain[i], rawpk, hex) < 0)
			continue;
		rc = trust_key_revoked(db, hex);
		if (rc == 0)
			continue;
		if (rc < 0)
			snprintf(why, whylen, "trust.db: cannot tell whether "
				 "key %.16s... is revoked: %s", hex,
				 strerror(-rc));
		else
			snprintf(why, whylen, "the peer's %s key %.16s... is "
				 "listed as revoked (trust.db)", rawpk ?
				 "raw public" : i == 0 ? "certificate" :
				 "issuer certificate's", hex);
		return -EACCES;
	}
	return 0;
}

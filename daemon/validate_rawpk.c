/* validate_rawpk -- the predicates for a peer's raw public key. */
#include "validate_rawpk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policydb.h"
#include "rawpk.h"
#include "trust_key.h"
#include "validate.h"

#define NO_CHAIN "a raw public key has no certificate chain"

static unsigned peer_flag(int peer_server)
{
	return peer_server ? POLREC_TRUSTF_SERVERS : POLREC_TRUSTF_CLIENTS;
}

int validate_rawpk_pins(struct policydb *db, const char *hex, const char *id,
			int peer_server, int *bound, int *any)
{
	struct policydb_txn *txn;
	int rc;

	*bound = *any = 0;
	if (db == NULL)
		return -ENOENT;
	rc = policydb_begin(db, &txn, 0);
	if (rc < 0)
		return rc;
	*bound = id != NULL && id[0] != '\0' &&
		 trust_key_pinned(txn, hex, id, peer_flag(peer_server));
	*any = trust_key_pinned(txn, hex, NULL, peer_flag(peer_server));
	policydb_abort(txn);
	return 0;
}

struct bound_scan {
	const char *hex;
	unsigned flag;
	char *out;
	size_t outlen;
};

static int bound_seen(void *ctx, const char *key, const struct polrec_trust *r)
{
	struct bound_scan *b = ctx;
	size_t kl = strlen(key);

	if (b->out[0] != '\0' || r->kind != POLREC_TRUST_PIN ||
	    r->bound_id == NULL || r->bound_id[0] == '\0' ||
	    !(r->flags & b->flag) || kl < RAWPK_HEX_LEN ||
	    strcmp(key + kl - RAWPK_HEX_LEN, b->hex) != 0)
		return 0;
	snprintf(b->out, b->outlen, "%s", r->bound_id);
	return 0;
}

int validate_rawpk_bound_id(struct policydb *db, const char *hex,
			    int peer_server, char *out, size_t outlen)
{
	struct bound_scan b = { hex, peer_flag(peer_server), out, outlen };
	struct policydb_txn *txn;
	int rc;

	out[0] = '\0';
	if (db == NULL)
		return -ENOENT;
	rc = policydb_begin(db, &txn, 0);
	if (rc < 0)
		return rc;
	rc = policydb_trust_iterate(txn, "pin:", bound_seen, &b);
	policydb_abort(txn);
	return rc;
}

/* I i: the key is bound to the remote identity by a pin (a pin for any
 * identity binds it to whatever identity was asked for).  Without a
 * requested identity (server role), the identity a bound pin names.
 * DANE (TLSA 3 1 x for the remote identity's name) is the other way to
 * bind a raw key: the dane branch's SPKI matcher joins here. */
static int p_identity(const struct validate_rawpk *r, int user, char *proven,
		      size_t plen, char *why, size_t len)
{
	const char *id = r->remoteid;
	int bound = 0, any = 0;

	if (user && (strchr(id, '@') == NULL || id[0] == '@')) {
		snprintf(why, len, "the remote identity \"%s\" has no user part",
			 id);
		return 0;
	}
	if (id[0] == '\0') {
		if (validate_rawpk_bound_id(r->db, r->hex, !r->server, proven,
					    plen) == 0 && proven[0] != '\0')
			return 1;
		snprintf(why, len, "raw public key %.16s... is not pinned to "
			 "any identity", r->hex);
		return 0;
	}
	if (validate_rawpk_pins(r->db, r->hex, id, !r->server, &bound,
				&any) < 0) {
		snprintf(why, len, "no policy database for pins");
		return 0;
	}
	/* U: the user must be named by the pin itself */
	if (bound || (any && !user)) {
		snprintf(proven, plen, "%s", id);
		return 1;
	}
	snprintf(why, len, "raw public key %.16s... is not bound to %s by a "
		 "pin", r->hex, id);
	return 0;
}

/* R r: no CRL or OCSP names a raw key; only trust.db's revoked keys do.
 * R wants a positive status, which a raw key cannot have. */
static int p_revocation(const struct validate_rawpk *r, int unknown_ok,
			char *why, size_t len)
{
	int rc = trust_key_revoked(r->db, r->hex);

	if (rc != 0) {
		snprintf(why, len, rc < 0 ? "trust.db cannot tell whether the "
			 "peer's raw public key is revoked" : "the peer's raw "
			 "public key is listed as revoked");
		return 0;
	}
	if (unknown_ok)
		return 1;
	snprintf(why, len, "a raw public key has no CRL or OCSP status");
	return 0;
}

static int p_level(const struct validate_rawpk *r, gnutls_sec_param_t need,
		   char *why, size_t len)
{
	gnutls_pk_algorithm_t pk = GNUTLS_PK_UNKNOWN;
	unsigned bits = 0;

	if (rawpk_key_params(r->spki, &pk, &bits) < 0) {
		snprintf(why, len, "the raw public key does not parse");
		return 0;
	}
	return validate_level(r->tls, pk, bits, need, why, len);
}

int validate_rawpk_predicate(const struct validate_rawpk *r, char letter,
			     char *proven, size_t plen, char *why, size_t len)
{
	proven[0] = '\0';
	switch (letter) {
	case 'I':
	case 'i': return p_identity(r, 0, proven, plen, why, len);
	case 'U': return p_identity(r, 1, proven, plen, why, len);
	case 'T':
	case 't':
		snprintf(why, len, NO_CHAIN " to a trust anchor");
		return 0;
	case 'E':
		snprintf(why, len, "a raw public key has no extended key usage");
		return 0;
	case 'e': return 1;	/* no key purpose that could contradict */
	case 'R': return p_revocation(r, 0, why, len);
	case 'r': return p_revocation(r, 1, why, len);
	case 'O':
	case 'o':
		snprintf(why, len, "a raw public key has no OCSP responder");
		return 0;
	case 'L': return p_level(r, GNUTLS_SEC_PARAM_HIGH, why, len);
	case 'l': return p_level(r, GNUTLS_SEC_PARAM_MEDIUM, why, len);
	/* D d: DANE-EE TLSA 3 1 x on the bare SPKI is evaluated where the
	 * certificates' D is (validate.c p_dane), which must let a raw key
	 * through and match chain[0] as an SPKI (dane_match_spki). */
	case 'D': case 'd':
	case 'P': case 'p':
	case 'F': case 'f':
	case 'S': case 's':
	case 'C': case 'c':
	case 'Q': case 'q':
		return VALIDATE_RAWPK_COMMON;
	default:
		snprintf(why, len, "predicate %c is not evaluated here", letter);
		return -EINVAL;
	}
}

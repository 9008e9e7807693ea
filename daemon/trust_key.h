/* trust_key -- trust.db records about one public key, named by the
 * SHA-256 of its SubjectPublicKeyInfo in hex: its pins (P p, I i for a
 * raw key) and whether it is listed as revoked (R r).  Shared by the
 * certificate predicates (validate.c) and the raw-key ones
 * (validate_rawpk.c), which key their records the same way.
 */
#ifndef TP_TRUST_KEY_H
#define TP_TRUST_KEY_H

#include <stddef.h>
#include <gnutls/gnutls.h>

struct policydb;
struct policydb_txn;

/* 1 when trust.db holds a pin for hex bound to id (NULL: the pin for
 * any identity), else 0.  With peer_flags 0 any record under that key
 * counts; otherwise only a pin whose flags include one of peer_flags
 * (POLREC_TRUSTF_SERVERS / _CLIENTS: the peer's role). */
int trust_key_pinned(struct policydb_txn *txn, const char *hex,
		     const char *id, unsigned peer_flags);

/* 1 when trust.db lists hex as revoked; 0 when it does not or there is
 * no database; -errno when it cannot be read or the record does not
 * decode (callers refuse: a revocation must not be lost to an error). */
int trust_key_revoked(struct policydb *db, const char *hex);

/* Every key the peer presented (each certificate of its chain, or its
 * raw public key) against trust.db's revoked keys: -EACCES with the
 * reason when one is listed, else 0.  Checked on every handshake,
 * whatever the rule's expression says: an administrator's revocation is
 * never overridden by a rule that did not ask for R. */
int trust_key_presented_revoked(struct policydb *db, gnutls_session_t tls,
				char *why, size_t whylen);

#endif

/* validate_rawpk -- what the validation predicates mean for a peer that
 * showed an RFC 7250 raw public key instead of a certificate chain
 * (doc/validation.md, "Raw public keys").
 *
 * A raw key carries no name, no issuer, no key purpose and no revocation
 * source: it is authenticated by a pin in trust.db (the SHA-256 of its
 * SubjectPublicKeyInfo) or, with DANE, by a TLSA 3 1 x record.  The
 * predicates that look at a certificate either mean the raw-key analogue
 * or are false with a reason; none holds without checking something.
 */
#ifndef TP_VALIDATE_RAWPK_H
#define TP_VALIDATE_RAWPK_H

#include <stddef.h>
#include <gnutls/gnutls.h>

struct policydb;

struct validate_rawpk {
	gnutls_session_t tls;
	int server;			/* local role */
	const char *remoteid;		/* requested remote identity or "" */
	struct policydb *db;		/* pins, revoked keys; or NULL */
	const gnutls_datum_t *spki;	/* the peer's key, DER */
	const char *hex;		/* its SHA-256, 64 hex digits */
};

/* validate_rawpk_predicate: the letter means for a raw key what it means
 * for a certificate (F f S s C c Q q; P p, whose pins are keyed by the
 * SPKI either way; D d, DANE-EE 3 1 x on the SPKI): evaluate it where
 * the certificates' predicates are. */
#define VALIDATE_RAWPK_COMMON 2

/* 1 holds (an identity it proves, if any, in proven), 0 does not (reason
 * in why), VALIDATE_RAWPK_COMMON, or -EINVAL for an unknown letter. */
int validate_rawpk_predicate(const struct validate_rawpk *r, char letter,
			     char *proven, size_t plen, char *why, size_t len);

/* Pins for the key (hex) that vouch for a peer in its role (peer_server
 * 1: the peer is a TLS server): *bound when one is bound to id (id may
 * be "" or NULL: none), *any when one holds for any identity.  0, or
 * -ENOENT without a database, or -errno. */
int validate_rawpk_pins(struct policydb *db, const char *hex, const char *id,
			int peer_server, int *bound, int *any);

/* The identity a pin binds the key to (the first, in key order) into
 * out, "" when none does.  0 or -errno. */
int validate_rawpk_bound_id(struct policydb *db, const char *hex,
			    int peer_server, char *out, size_t outlen);

#endif

/* dane -- TLSA records (RFC 6698, RFC 7671, names from RFC 7218): decode
 * them from a DNS answer and match a peer's certificate chain or bare
 * public key against them.
 *
 * Matching is our own, not gnutls-dane's (which, in 3.7.9, accepts for
 * DANE-TA a chain in which the matched certificate is not on the leaf's
 * issuing path):
 *   DANE-EE(3)  the leaf's SPKI (selector 1) or whole DER (0) matches;
 *               names and validity dates are not looked at.
 *   DANE-TA(2)  a certificate of the presented chain after the leaf (or,
 *               for Cert/Full records, the record's own certificate)
 *               matches; the chain up to it must verify with that
 *               certificate as the only trust anchor, and the leaf must
 *               be valid for the host name and the purpose.
 *   PKIX-EE(1)  the leaf matches, and the chain passes the usual PKIX
 *               validation to the configured anchors, with the name.
 *   PKIX-TA(0)  a CA certificate on the PKIX-validated path matches
 *               (the chain up to it verifies with it as the only anchor),
 *               and the chain passes PKIX validation with the name.
 * Matching types Full(0), SHA2-256(1), SHA2-512(2).  Records with other
 * usages, selectors or matching types, or with a digest of the wrong
 * length, are unusable and skipped; any usable record that matches
 * authenticates.
 */
#ifndef TP_DANE_H
#define TP_DANE_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

struct cred_store;

#define DANE_RECORDS_MAX 64
#define DANE_DATA_MAX 2048

enum { DANE_PKIX_TA = 0, DANE_PKIX_EE, DANE_DANE_TA, DANE_DANE_EE };
enum { DANE_SEL_CERT = 0, DANE_SEL_SPKI };
enum { DANE_MT_FULL = 0, DANE_MT_SHA256, DANE_MT_SHA512 };

struct dane_tlsa {
	uint8_t usage, selector, mtype;
	size_t len;
	uint8_t *data;		/* malloc */
};

struct dane_rrset {
	size_t n;
	struct dane_tlsa rec[DANE_RECORDS_MAX];
};

/* Outcome of matching. */
enum dane_verdict {
	DANE_NOMATCH = 0,	/* usable records, none matches */
	DANE_MATCH,
	DANE_UNUSABLE,		/* no usable record at all */
};

/* ---- decoding (pure; fuzzed) ---- */

/* The TLSA records in the answer section of a DNS response (wire form),
 * whatever their owner (a CNAME chain leads to them).  0 with *out
 * filled (free it with dane_rrset_free; n may be 0), -EBADMSG for a
 * packet that does not parse or a malformed TLSA record, -E2BIG for more
 * than DANE_RECORDS_MAX records or data over DANE_DATA_MAX bytes; the
 * reason in why. */
int dane_parse_answer(const uint8_t *wire, size_t len,
		      struct dane_rrset *out, char *why, size_t whylen);
void dane_rrset_free(struct dane_rrset *rs);

/* Whether one record can be used at all (known parameters, digest of
 * the right length). */
int dane_usable(const struct dane_tlsa *r);

/* "3 1 1 ab12..." (data shortened to 16 hex digits) for messages. */
void dane_describe(const struct dane_tlsa *r, char *buf, size_t len);

/* ---- matching ---- */

/* A bare SubjectPublicKeyInfo (a raw public key peer, RFC 7250): only
 * DANE-EE SPKI records are usable. */
enum dane_verdict dane_match_spki(const struct dane_rrset *rs,
				  const uint8_t *spki, size_t len,
				  char *why, size_t whylen);

/* A certificate chain (DER, leaf first) for host, the peer acting for
 * purpose (GNUTLS_KP_TLS_WWW_SERVER/CLIENT); creds are the configured
 * anchors for PKIX-TA/EE (NULL: those records cannot match).  On
 * DANE_MATCH why says which record matched; otherwise why it did not. */
enum dane_verdict dane_match_chain(const struct dane_rrset *rs,
				   const gnutls_datum_t *chain, unsigned n,
				   const char *host, const char *purpose,
				   const struct cred_store *creds,
				   char *why, size_t whylen);

/* dane_service_ports (tlspool.conf): "SERVICE=PORT" entries separated by
 * spaces or commas.  The port that service's TLSA records are published
 * under, or 0 when the map does not name it; -EINVAL with why when the
 * map is malformed (service NULL: check the whole map). */
int dane_service_port(const char *map, const char *service, char *why,
		      size_t whylen);

#endif

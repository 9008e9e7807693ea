/* session_rawpk -- raw public keys (RFC 7250) in a session: which
 * certificate types a rule lets the handshake negotiate, the peer's
 * offer, refusals that name the mismatch, and the default validation of
 * a peer's raw key by pin.
 *
 * Policy: a rule (policy record) offers raw public keys only when its
 * kinds name rawpk explicitly; kinds 0 ("any") and the defaults offer
 * X.509 only.  kinds x509,rawpk offers both (X.509 preferred), kinds
 * rawpk alone demands raw keys in both directions.
 */
#ifndef TP_SESSION_RAWPK_H
#define TP_SESSION_RAWPK_H

#include <stddef.h>
#include <gnutls/gnutls.h>

struct session;

/* Certificate types, as bits. */
#define RAWPK_T_X509 0x1u
#define RAWPK_T_RAWPK 0x2u

/* The types a policy kinds value allows (RAWPK_T_*). */
unsigned session_rawpk_allowed(unsigned kinds);

/* Append the certificate-type priorities for kinds to the priority text
 * in buf (nothing for X.509 only): the peer may use every type kinds
 * allows; this side offers only its identity's type when local is 0
 * (X.509) or 1 (raw key), every allowed type when it is -1 (no or an
 * unknown identity).  server: the local role.  0 or -ENOSPC. */
int session_rawpk_priority(unsigned kinds, int local, int server, char *buf,
			   size_t len);
/* The kind of the local identity s->localid names: 1 raw key, 0 X.509,
 * -1 none or not (yet) known. */
int session_rawpk_local(const struct session *s);

/* Set up a fresh GnuTLS session: in the server role, watch the
 * ClientHello for the certificate types the client offers. */
void session_rawpk_setup(struct session *s);

/* Does the local identity's kind fit the rule?  0, or -EACCES with the
 * reason in s->why. */
int session_rawpk_check_identity(struct session *s);

/* After a failed handshake: a reason naming the certificate-type
 * mismatch (1, in why), or 0 when the failure is not about it. */
int session_rawpk_explain(struct session *s, int rc, char *why, size_t len);

/* After the handshake: the negotiated types must be allowed.  0 or
 * -EACCES with the reason. */
int session_rawpk_check_negotiated(struct session *s, char *why, size_t len);

/* The secure default for a peer that showed a raw key (no rule
 * expression): a pin in trust.db bound to the remote identity, or one
 * for any identity; in the server role without a requested remote
 * identity, the identity a bound pin names (else none).  Fills
 * s->remoteid.  0 or -EACCES with the reason. */
int session_rawpk_validate(struct session *s, const gnutls_datum_t *spki,
			   char *why, size_t len);

/* gnutls_session_get_desc (gnutls_free it), without the "-X.509" that
 * GNUTLS_ENABLE_RAWPK adds to sessions that use no raw key. */
char *session_rawpk_desc(gnutls_session_t tls);

#endif

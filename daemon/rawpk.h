/* rawpk -- RFC 7250 raw public keys: the bare SubjectPublicKeyInfo that
 * stands in for a certificate, its pin and its DANE record.
 *
 * Pure helpers (no key process, no database): the credential store
 * (cred.c, cred_db.c) builds raw-key identities with them, the session
 * (session_rawpk.c) and validation (validate_rawpk.c) compute pins with
 * them, and tlspool-ctl prints pins and TLSA records with them.
 *
 * A pin is the SHA-256 of the DER SubjectPublicKeyInfo in lower-case
 * hex, as trust.db keys ("pin:ID:HEX") and DANE 3 1 1 use it.
 */
#ifndef TP_RAWPK_H
#define TP_RAWPK_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#define RAWPK_HEX_LEN 64

/* Does this PEM text hold a raw key identity, i.e. a "PUBLIC KEY" block
 * and no "CERTIFICATE" block?  1 or 0. */
int rawpk_pem_is_pubkey(const gnutls_datum_t *pem);

/* The DER SubjectPublicKeyInfo from a PEM "PUBLIC KEY" block or DER
 * (fmt GNUTLS_X509_FMT_PEM / _DER), checked to parse as a public key;
 * out->data is gnutls_malloc'ed.  0 or -EBADMSG. */
int rawpk_spki_import(const gnutls_datum_t *in, gnutls_x509_crt_fmt_t fmt,
		      gnutls_datum_t *out);

/* The SPKI of a public key; out->data gnutls_malloc'ed.  0 or -EBADMSG. */
int rawpk_spki_of_pubkey(gnutls_pubkey_t pk, gnutls_datum_t *out);

/* SHA-256 of a DER SPKI as 64 hex digits (NUL-terminated); the SPKI must
 * parse.  0 or -EBADMSG. */
int rawpk_pin_hex(const gnutls_datum_t *spki, char hex[RAWPK_HEX_LEN + 1]);

/* The DANE record for the key: "3 1 1 HEX" (usage DANE-EE, selector
 * SPKI, matching SHA-256).  0, -EBADMSG or -ENOSPC. */
int rawpk_tlsa_311(const gnutls_datum_t *spki, char *out, size_t len);

/* A pcert of type GNUTLS_CRT_RAWPK for the SPKI (for
 * gnutls_certificate_set_key).  0 or a GnuTLS error. */
int rawpk_pcert(gnutls_pcert_st *pc, const gnutls_datum_t *spki);

/* Does the private key belong to the SPKI?  A signature made with pk
 * (a round trip to the key process for its keys) must verify with the
 * public key.  0, GNUTLS_E_CERTIFICATE_KEY_MISMATCH or another GnuTLS
 * error. */
int rawpk_check_key(const gnutls_datum_t *spki, gnutls_privkey_t pk);

/* The key's algorithm and size, for security-level checks.  0 or
 * -EBADMSG. */
int rawpk_key_params(const gnutls_datum_t *spki, gnutls_pk_algorithm_t *pk,
		     unsigned *bits);

#endif

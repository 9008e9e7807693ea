/* credfile -- read and check credential files: certificate chains,
 * public keys, private keys (only to check that they belong to their
 * certificate or public key), CRLs.  Shared by crank and tlspool-ctl.
 * Messages go to err and name the file; the functions return 0 or
 * -errno. */
#ifndef CREDFILE_H
#define CREDFILE_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "polrec.h"

struct credfile_chain {
	gnutls_x509_crt_t *crts;
	unsigned n;
};

/* snprintf fmt into err; returns rc. */
int credfile_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* n bytes as lower-case hex into out (2n + 1 bytes). */
void credfile_hex(const uint8_t *b, size_t n, char *out);
/* The whole file (gnutls_free it); -ENOENT names the file. */
int credfile_load(const char *path, gnutls_datum_t *data, char *err,
		  size_t errlen);
/* PEM (one or more certificates) or one DER certificate; 1..16. */
int credfile_chain(const char *path, struct credfile_chain *ch, char *err,
		   size_t errlen);
void credfile_chain_free(struct credfile_chain *ch);
/* DER of a certificate (malloc'ed into b->data). */
int credfile_der(gnutls_x509_crt_t crt, struct polrec_blob *b);
/* SHA-256 of a certificate's SubjectPublicKeyInfo: raw and (when hex
 * is not NULL) hex. */
int credfile_spki_id(gnutls_x509_crt_t crt, uint8_t id[32], char hex[65]);
/* A PEM or DER public key, or a certificate (its key): the DER
 * SubjectPublicKeyInfo (malloc'ed) and its SHA-256. */
int credfile_pubkey(const char *path, struct polrec_blob *spki,
		    uint8_t id[32], char *err, size_t errlen);
/* The PEM private key at path must have the public key id; whose names
 * the owner of id in the message ("%s does not belong to <whose>").
 * 0, 1 when it is encrypted (not checked), or -errno. */
int credfile_keyfile(const char *path, const uint8_t id[32],
		     const char *whose, char *err, size_t errlen);
/* A PEM or DER CRL: its DER (malloc'ed) and the SHA-256 (hex) of its
 * issuer DN. */
int credfile_crl(const char *path, struct polrec_blob *der, char hex[65],
		 char *err, size_t errlen);

#endif

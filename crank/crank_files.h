/* crank_files -- read and check the files a policy source names:
 * certificate chains, public keys, private keys (only to check that they
 * belong to their certificate), CRLs and keytabs.  Messages go to err
 * and name the file. */
#ifndef CRANK_FILES_H
#define CRANK_FILES_H

#include <stddef.h>
#include <stdint.h>

#include <gnutls/x509.h>

#include "polrec.h"

struct crank_chain {
	gnutls_x509_crt_t *crts;
	unsigned n;
};

/* PEM (one or more certificates) or one DER certificate; 1..16. */
int crank_files_chain(const char *path, struct crank_chain *ch, char *err,
		      size_t errlen);
void crank_files_chain_free(struct crank_chain *ch);
/* DER of a certificate (malloc'ed into b->data). */
int crank_files_der(gnutls_x509_crt_t crt, struct polrec_blob *b);
/* SHA-256 of a certificate's SubjectPublicKeyInfo: raw and hex. */
int crank_files_spki_id(gnutls_x509_crt_t crt, uint8_t id[32], char hex[65]);
/* A PEM or DER public key, or a certificate (its key): the DER
 * SubjectPublicKeyInfo (malloc'ed) and its SHA-256. */
int crank_files_pubkey(const char *path, struct polrec_blob *spki,
		       uint8_t id[32], char *err, size_t errlen);
/* The PEM private key at path must have the public key id.  0, 1 when
 * it is encrypted (not checked), or -errno. */
int crank_files_keyfile(const char *path, const uint8_t id[32], char *err,
			size_t errlen);
/* A PEM or DER CRL: its DER and the SHA-256 (hex) of its issuer DN. */
int crank_files_crl(const char *path, struct polrec_blob *der, char hex[65],
		    char *err, size_t errlen);
/* A keytab that MIT krb5 reads and that holds at least one key. */
int crank_files_keytab(const char *path, char *err, size_t errlen);
/* Warnings about a leaf for identity id: validity, name.  Writes
 * up to two messages (empty when none) into w1, w2. */
void crank_files_leaf_warnings(gnutls_x509_crt_t leaf, const char *id,
			       char *w1, char *w2, size_t len);

#endif

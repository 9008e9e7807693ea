/* credfile: certificate, key, CRL and public-key files (see the header). */
#include "credfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

int credfile_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

void credfile_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int credfile_load(const char *path, gnutls_datum_t *data, char *err,
		  size_t errlen)
{
	int rc = gnutls_load_file(path, data);

	if (rc < 0)
		return credfile_fail(err, errlen, -ENOENT,
				     "%s: cannot read: %s", path,
				     errno ? strerror(errno) : gnutls_strerror(rc));
	return 0;
}

void credfile_chain_free(struct credfile_chain *ch)
{
	for (unsigned i = 0; i < ch->n; i++)
		gnutls_x509_crt_deinit(ch->crts[i]);
	gnutls_free(ch->crts);
	ch->crts = NULL;
	ch->n = 0;
}

int credfile_chain(const char *path, struct credfile_chain *ch, char *err,
		   size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 };
	int rc = credfile_load(path, &data, err, errlen);

	memset(ch, 0, sizeof(*ch));
	if (rc < 0)
		return rc;
	rc = gnutls_x509_crt_list_import2(&ch->crts, &ch->n, &data,
					  GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0)
		rc = gnutls_x509_crt_list_import2(&ch->crts, &ch->n, &data,
						  GNUTLS_X509_FMT_DER, 0);
	gnutls_free(data.data);
	if (rc < 0 || ch->n == 0)
		return credfile_fail(err, errlen, -EINVAL,
				     "%s: no certificate: %s", path,
				     rc < 0 ? gnutls_strerror(rc) : "empty");
	if (ch->n > POLREC_CHAIN_MAX) {
		credfile_chain_free(ch);
		return credfile_fail(err, errlen, -EINVAL,
				     "%s: more than %d certificates",
				     path, POLREC_CHAIN_MAX);
	}
	return 0;
}

int credfile_der(gnutls_x509_crt_t crt, struct polrec_blob *b)
{
	gnutls_datum_t d;

	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d) < 0)
		return -EINVAL;
	b->data = malloc(d.size);
	if (b->data != NULL)
		memcpy(b->data, d.data, d.size);
	b->len = d.size;
	gnutls_free(d.data);
	return b->data != NULL ? 0 : -ENOMEM;
}

int credfile_spki_id(gnutls_x509_crt_t crt, uint8_t id[32], char hex[65])
{
	size_t n = 32;

	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &n) < 0 ||
	    n != 32)
		return -EINVAL;
	if (hex != NULL)
		credfile_hex(id, 32, hex);
	return 0;
}

int credfile_pubkey(const char *path, struct polrec_blob *spki,
		    uint8_t id[32], char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 }, der = { NULL, 0 };
	gnutls_pubkey_t pk = NULL;
	gnutls_x509_crt_t crt = NULL;
	size_t n = 32;
	int rc = credfile_load(path, &data, err, errlen);

	if (rc < 0)
		return rc;
	rc = gnutls_pubkey_init(&pk);
	if (rc == 0 && gnutls_pubkey_import(pk, &data, GNUTLS_X509_FMT_PEM) < 0 &&
	    gnutls_pubkey_import(pk, &data, GNUTLS_X509_FMT_DER) < 0) {
		/* a certificate will do: its key */
		rc = gnutls_x509_crt_init(&crt);
		if (rc == 0 && gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_PEM) < 0)
			rc = gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_DER);
		if (rc == 0)
			rc = gnutls_pubkey_import_x509(pk, crt, 0);
	}
	if (rc == 0)
		rc = gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &der);
	if (rc == 0)
		rc = gnutls_pubkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256, id, &n);
	if (rc < 0) {
		rc = credfile_fail(err, errlen, -EINVAL,
				   "%s: not a public key or a "
				   "certificate: %s", path, gnutls_strerror(rc));
		goto out;
	}
	spki->data = malloc(der.size);
	if (spki->data == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(spki->data, der.data, der.size);
	spki->len = der.size;
out:
	gnutls_free(der.data);
	gnutls_free(data.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (pk != NULL)
		gnutls_pubkey_deinit(pk);
	return rc;
}

int credfile_keyfile(const char *path, const uint8_t id[32],
		     const char *whose, char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 };
	gnutls_x509_privkey_t key = NULL;
	uint8_t a[32];
	size_t an = sizeof(a);
	int rc = credfile_load(path, &data, err, errlen);

	if (rc < 0)
		return rc;
	rc = gnutls_x509_privkey_init(&key);
	if (rc == 0)
		rc = gnutls_x509_privkey_import2(key, &data, GNUTLS_X509_FMT_PEM,
						 NULL, 0);
	if (rc == GNUTLS_E_DECRYPTION_FAILED) {
		rc = 1;
		goto out;
	}
	if (rc < 0) {
		rc = credfile_fail(err, errlen, -EINVAL,
				   "%s: not a PEM private key: %s",
				   path, gnutls_strerror(rc));
		goto out;
	}
	if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, a,
					   &an) < 0 || an != 32 ||
	    memcmp(a, id, 32) != 0)
		rc = credfile_fail(err, errlen, -EINVAL,
				   "%s does not belong to %s", path,
				   whose);
out:
	/* the key bytes never outlive this function */
	if (data.data != NULL) {
		gnutls_memset(data.data, 0, data.size);
		gnutls_free(data.data);
	}
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

int credfile_crl(const char *path, struct polrec_blob *out, char hex[65],
		 char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 }, der = { NULL, 0 }, dn = { NULL, 0 };
	gnutls_x509_crl_t crl = NULL;
	uint8_t h[32];
	int rc = credfile_load(path, &data, err, errlen);

	if (rc < 0)
		return rc;
	rc = gnutls_x509_crl_init(&crl);
	if (rc == 0 && gnutls_x509_crl_import(crl, &data, GNUTLS_X509_FMT_PEM) < 0)
		rc = gnutls_x509_crl_import(crl, &data, GNUTLS_X509_FMT_DER);
	if (rc == 0)
		rc = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_DER, &der);
	if (rc == 0)
		rc = gnutls_x509_crl_get_raw_issuer_dn(crl, &dn);
	if (rc == 0)
		rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, dn.data, dn.size, h);
	if (rc < 0) {
		rc = credfile_fail(err, errlen, -EINVAL,
				   "%s: not a CRL: %s", path,
				   gnutls_strerror(rc));
		goto out;
	}
	credfile_hex(h, sizeof(h), hex);
	out->data = malloc(der.size);
	if (out->data == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(out->data, der.data, der.size);
	out->len = der.size;
out:
	gnutls_free(data.data);
	gnutls_free(der.data);
	gnutls_free(dn.data);
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	return rc;
}

/* rawpk -- raw public keys: SPKI import, pins and TLSA records. */
#include "rawpk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

static int contains(const gnutls_datum_t *d, const char *needle)
{
	size_t nl = strlen(needle);

	if (d->data == NULL || d->size < nl)
		return 0;
	for (size_t i = 0; i + nl <= d->size; i++)
		if (memcmp(d->data + i, needle, nl) == 0)
			return 1;
	return 0;
}

int rawpk_pem_is_pubkey(const gnutls_datum_t *pem)
{
	return contains(pem, "-----BEGIN PUBLIC KEY-----") &&
	       !contains(pem, "-----BEGIN CERTIFICATE-----");
}

int rawpk_spki_of_pubkey(gnutls_pubkey_t pk, gnutls_datum_t *out)
{
	out->data = NULL;
	out->size = 0;
	if (gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, out) < 0) {
		gnutls_free(out->data);
		out->data = NULL;
		return -EBADMSG;
	}
	return 0;
}

int rawpk_spki_import(const gnutls_datum_t *in, gnutls_x509_crt_fmt_t fmt,
		      gnutls_datum_t *out)
{
	gnutls_pubkey_t pk;
	int rc = -EBADMSG;

	out->data = NULL;
	out->size = 0;
	if (in == NULL || in->data == NULL || in->size == 0)
		return -EBADMSG;
	if (gnutls_pubkey_init(&pk) < 0)
		return -ENOMEM;
	/* a PEM file must hold the block we mean, not a certificate */
	if ((fmt != GNUTLS_X509_FMT_PEM || rawpk_pem_is_pubkey(in)) &&
	    gnutls_pubkey_import(pk, in, fmt) == 0)
		rc = rawpk_spki_of_pubkey(pk, out);
	gnutls_pubkey_deinit(pk);
	return rc;
}

static int parses(const gnutls_datum_t *spki)
{
	gnutls_pubkey_t pk;
	int ok;

	if (spki == NULL || spki->data == NULL || spki->size == 0 ||
	    gnutls_pubkey_init(&pk) < 0)
		return 0;
	ok = gnutls_pubkey_import(pk, spki, GNUTLS_X509_FMT_DER) == 0;
	gnutls_pubkey_deinit(pk);
	return ok;
}

int rawpk_pin_hex(const gnutls_datum_t *spki, char hex[RAWPK_HEX_LEN + 1])
{
	unsigned char h[32];

	hex[0] = '\0';
	if (!parses(spki) ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, spki->data, spki->size, h) < 0)
		return -EBADMSG;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	return 0;
}

int rawpk_tlsa_311(const gnutls_datum_t *spki, char *out, size_t len)
{
	char hex[RAWPK_HEX_LEN + 1];
	int n;

	if (rawpk_pin_hex(spki, hex) < 0)
		return -EBADMSG;
	n = snprintf(out, len, "3 1 1 %s", hex);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int rawpk_pcert(gnutls_pcert_st *pc, const gnutls_datum_t *spki)
{
	memset(pc, 0, sizeof(*pc));
	if (!parses(spki))
		return GNUTLS_E_PK_INVALID_PUBKEY;
	return gnutls_pcert_import_rawpk_raw(pc, spki, GNUTLS_X509_FMT_DER,
					     0, 0);
}

int rawpk_key_params(const gnutls_datum_t *spki, gnutls_pk_algorithm_t *pk,
		     unsigned *bits)
{
	gnutls_pubkey_t k;
	int rc;

	if (spki == NULL || spki->data == NULL || gnutls_pubkey_init(&k) < 0)
		return -EBADMSG;
	rc = gnutls_pubkey_import(k, spki, GNUTLS_X509_FMT_DER);
	if (rc == 0) {
		*bits = 0;
		rc = gnutls_pubkey_get_pk_algorithm(k, bits);
		if (rc >= 0) {
			*pk = (gnutls_pk_algorithm_t)rc;
			rc = 0;
		}
	}
	gnutls_pubkey_deinit(k);
	return rc < 0 ? -EBADMSG : 0;
}

int rawpk_check_key(const gnutls_datum_t *spki, gnutls_privkey_t pk)
{
	static const char msg[] = "raw public key check";
	gnutls_datum_t data = { (unsigned char *)msg, sizeof(msg) - 1 };
	gnutls_datum_t sig = { NULL, 0 };
	gnutls_digest_algorithm_t hash = GNUTLS_DIG_SHA256;
	gnutls_sign_algorithm_t algo;
	gnutls_pubkey_t pub;
	int rc = gnutls_pubkey_init(&pub);

	if (rc < 0)
		return rc;
	rc = gnutls_pubkey_import(pub, spki, GNUTLS_X509_FMT_DER);
	if (rc < 0)
		goto out;
	rc = gnutls_pubkey_get_preferred_hash_algorithm(pub, &hash, NULL);
	if (rc < 0)
		goto out;
	algo = gnutls_pk_to_sign(gnutls_pubkey_get_pk_algorithm(pub, NULL),
				 hash);
	if (algo == GNUTLS_SIGN_UNKNOWN) {
		rc = GNUTLS_E_UNKNOWN_PK_ALGORITHM;
		goto out;
	}
	rc = gnutls_privkey_sign_data2(pk, algo, 0, &data, &sig);
	if (rc < 0)
		goto out;
	rc = gnutls_pubkey_verify_data2(pub, algo, 0, &data, &sig) < 0
	     ? GNUTLS_E_CERTIFICATE_KEY_MISMATCH : 0;
out:
	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	return rc;
}

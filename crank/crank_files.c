/* crank_files: certificate, key, CRL and keytab files (see the header). */
#include "crank_files.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <krb5.h>

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int load(const char *path, gnutls_datum_t *data, char *err,
		size_t errlen)
{
	int rc = gnutls_load_file(path, data);

	if (rc < 0)
		return fail(err, errlen, -ENOENT, "%s: cannot read: %s", path,
			    errno ? strerror(errno) : gnutls_strerror(rc));
	return 0;
}

void crank_files_chain_free(struct crank_chain *ch)
{
	for (unsigned i = 0; i < ch->n; i++)
		gnutls_x509_crt_deinit(ch->crts[i]);
	gnutls_free(ch->crts);
	ch->crts = NULL;
	ch->n = 0;
}

int crank_files_chain(const char *path, struct crank_chain *ch, char *err,
		      size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 };
	int rc = load(path, &data, err, errlen);

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
		return fail(err, errlen, -EINVAL, "%s: no certificate: %s", path,
			    rc < 0 ? gnutls_strerror(rc) : "empty");
	if (ch->n > POLREC_CHAIN_MAX) {
		crank_files_chain_free(ch);
		return fail(err, errlen, -EINVAL, "%s: more than %d certificates",
			    path, POLREC_CHAIN_MAX);
	}
	return 0;
}

int crank_files_der(gnutls_x509_crt_t crt, struct polrec_blob *b)
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

int crank_files_spki_id(gnutls_x509_crt_t crt, uint8_t id[32], char hex[65])
{
	size_t n = 32;

	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id, &n) < 0 ||
	    n != 32)
		return -EINVAL;
	if (hex != NULL)
		to_hex(id, 32, hex);
	return 0;
}

int crank_files_pubkey(const char *path, struct polrec_blob *spki,
		       uint8_t id[32], char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 }, der = { NULL, 0 };
	gnutls_pubkey_t pk = NULL;
	gnutls_x509_crt_t crt = NULL;
	size_t n = 32;
	int rc = load(path, &data, err, errlen);

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
		rc = fail(err, errlen, -EINVAL, "%s: not a public key or a "
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

int crank_files_keyfile(const char *path, const uint8_t id[32], char *err,
			size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 };
	gnutls_x509_privkey_t key = NULL;
	uint8_t a[32];
	size_t an = sizeof(a);
	int rc = load(path, &data, err, errlen);

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
		rc = fail(err, errlen, -EINVAL, "%s: not a PEM private key: %s",
			  path, gnutls_strerror(rc));
		goto out;
	}
	if (gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, a,
					   &an) < 0 || an != 32 ||
	    memcmp(a, id, 32) != 0)
		rc = fail(err, errlen, -EINVAL, "%s does not belong to the "
			  "certificate or public key of this identity", path);
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

int crank_files_crl(const char *path, struct polrec_blob *out, char hex[65],
		    char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 }, der = { NULL, 0 }, dn = { NULL, 0 };
	gnutls_x509_crl_t crl = NULL;
	uint8_t h[32];
	int rc = load(path, &data, err, errlen);

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
		rc = fail(err, errlen, -EINVAL, "%s: not a CRL: %s", path,
			  gnutls_strerror(rc));
		goto out;
	}
	to_hex(h, sizeof(h), hex);
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

int crank_files_keytab(const char *path, char *err, size_t errlen)
{
	krb5_context ctx = NULL;
	krb5_keytab kt = NULL;
	krb5_kt_cursor cur;
	krb5_keytab_entry ent;
	char name[4200];
	krb5_error_code kr;
	FILE *f = fopen(path, "rb");
	int rc = 0, started = 0;

	if (f == NULL)
		return fail(err, errlen, -errno, "%s: cannot read: %s", path,
			    strerror(errno));
	fclose(f);
	snprintf(name, sizeof(name), "FILE:%s", path);
	kr = krb5_init_context(&ctx);
	if (kr != 0)
		return fail(err, errlen, -EIO, "krb5: cannot initialise: %d", kr);
	kr = krb5_kt_resolve(ctx, name, &kt);
	if (kr == 0 && (kr = krb5_kt_start_seq_get(ctx, kt, &cur)) == 0)
		started = 1;
	if (kr == 0)
		kr = krb5_kt_next_entry(ctx, kt, &ent, &cur);
	if (kr == 0)
		krb5_free_keytab_entry_contents(ctx, &ent);
	if (kr != 0) {
		const char *msg = krb5_get_error_message(ctx, kr);

		rc = fail(err, errlen, -EINVAL, "%s: not a keytab with a key: %s",
			  path, kr == KRB5_KT_END ? "no entries" : msg);
		krb5_free_error_message(ctx, msg);
	}
	if (started)
		krb5_kt_end_seq_get(ctx, kt, &cur);
	if (kt != NULL)
		krb5_kt_close(ctx, kt);
	krb5_free_context(ctx);
	return rc;
}

void crank_files_leaf_warnings(gnutls_x509_crt_t leaf, const char *id,
			       char *w1, char *w2, size_t len)
{
	time_t now = time(NULL);
	time_t nb = gnutls_x509_crt_get_activation_time(leaf);
	time_t na = gnutls_x509_crt_get_expiration_time(leaf);
	const char *at = strchr(id, '@');
	int ok;

	w1[0] = w2[0] = '\0';
	if (nb != (time_t)-1 && now < nb)
		snprintf(w1, len, "the certificate is not valid yet");
	else if (na != (time_t)-1 && now > na)
		snprintf(w1, len, "the certificate has expired");
	ok = at != NULL ? gnutls_x509_crt_check_email(leaf, id, 0) ||
			  gnutls_x509_crt_check_hostname2(leaf, at + 1, 0)
			: gnutls_x509_crt_check_hostname2(leaf, id, 0);
	if (!ok)
		snprintf(w2, len, "the certificate does not name %s", id);
}

/* pkcs11_none -- PKCS#11 in the Windows build: GnuTLS is built without
 * p11-kit there, so the three gnutls_pkcs11_* calls the key process makes
 * (and the one tlspool-ctl makes) answer GNUTLS_E_UNIMPLEMENTED_FEATURE
 * (logged or printed where they are made):
 * a pkcs11: URI identity does not load; file keys are unaffected. */
#include <stddef.h>

#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>

int gnutls_pkcs11_init(unsigned int flags, const char *deprecated_config_file)
{
	(void)flags;
	(void)deprecated_config_file;
	return GNUTLS_E_UNIMPLEMENTED_FEATURE;
}

int gnutls_pkcs11_add_provider(const char *name, const char *params)
{
	(void)name;
	(void)params;
	return GNUTLS_E_UNIMPLEMENTED_FEATURE;
}

int gnutls_pkcs11_token_get_info(const char *url,
				 gnutls_pkcs11_token_info_t ttype,
				 void *output, size_t *output_size)
{
	(void)url;
	(void)ttype;
	(void)output;
	(void)output_size;
	return GNUTLS_E_UNIMPLEMENTED_FEATURE;
}

/* tlspool-ctl rawpk generate --pkcs11 (tools/ctl_rawpk.c). */
int gnutls_pkcs11_privkey_generate3(const char *url,
				    gnutls_pk_algorithm_t pk,
				    unsigned int bits, const char *label,
				    const gnutls_datum_t *cid,
				    gnutls_x509_crt_fmt_t fmt,
				    gnutls_datum_t *pubkey,
				    unsigned int key_usage,
				    unsigned int flags)
{
	(void)url;
	(void)pk;
	(void)bits;
	(void)label;
	(void)cid;
	(void)fmt;
	(void)pubkey;
	(void)key_usage;
	(void)flags;
	return GNUTLS_E_UNIMPLEMENTED_FEATURE;
}

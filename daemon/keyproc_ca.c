/* keyproc_ca -- the on-the-fly CA (LOCALID_ONTHEFLY), in the key process.
 *
 * CA_SETUP loads the CA certificate and key (tls_onthefly_signcert and
 * tls_onthefly_signkey, PEM) and, the first time in this key process,
 * makes the leaf key: ECDSA P-256, never written anywhere, in the key
 * table under the handle the daemon chose so that it signs like any
 * other key.  A later setup (a reload) replaces the CA and keeps the
 * leaf key.  CA_ISSUE makes a certificate for a name on the leaf key:
 * SAN dNSName, or rfc822Name for user@domain; TLS server and client;
 * valid from ONTHEFLY_BACKDATE_S ago for the lifetime asked (at most
 * MAX_LIFETIME_S, never beyond the CA's end).
 */
#include "idgen.h"
#include "keyproc.h"
#include "keyproc_int.h"
#include "tplog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#define BACKDATE_S (5 * 60)
#define MAX_LIFETIME_S (7 * 24 * 60 * 60)
#define NAME_MAX_LEN 127

static struct {
	pthread_mutex_t lock;
	gnutls_x509_crt_t crt;		/* the CA */
	gnutls_privkey_t key;
	gnutls_digest_algorithm_t dig;
	gnutls_pubkey_t leaf;		/* the leaf key's public half */
	uint32_t leaf_handle;
} ca = { .lock = PTHREAD_MUTEX_INITIALIZER };

void kp_ca_clear(void)
{
	pthread_mutex_lock(&ca.lock);
	if (ca.crt != NULL)
		gnutls_x509_crt_deinit(ca.crt);
	gnutls_privkey_deinit(ca.key);
	gnutls_pubkey_deinit(ca.leaf);
	ca.crt = NULL;
	ca.key = NULL;
	ca.leaf = NULL;
	ca.leaf_handle = 0;
	pthread_mutex_unlock(&ca.lock);
}

/* ---- setup ----------------------------------------------------------------- */

static int load_key(const char *path, gnutls_privkey_t *key)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc;

	rc = gnutls_load_file(path, &d);
	if (rc >= 0)
		rc = gnutls_privkey_init(key);
	if (rc >= 0) {
		rc = gnutls_privkey_import_x509_raw(*key, &d,
						    GNUTLS_X509_FMT_PEM, NULL, 0);
		if (rc < 0) {
			gnutls_privkey_deinit(*key);
			*key = NULL;
		}
	}
	if (d.data != NULL) {
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
	}
	return rc;
}

/* The key must be the certificate's, and the certificate a CA's. */
static int check_ca(gnutls_x509_crt_t crt, gnutls_privkey_t key,
		    const char *cert_path, gnutls_digest_algorithm_t *dig)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);
	unsigned critical = 0, usage = 0;
	gnutls_pubkey_t pub = NULL;
	int rc;

	rc = gnutls_pubkey_init(&pub);
	if (rc >= 0)
		rc = gnutls_pubkey_import_privkey(pub, key, 0, 0);
	if (rc >= 0)
		rc = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, b,
					      &blen);
	if (rc >= 0 && gnutls_pubkey_get_preferred_hash_algorithm(pub, dig,
								   NULL) < 0)
		*dig = GNUTLS_DIG_SHA256;
	gnutls_pubkey_deinit(pub);
	if (rc >= 0)
		rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a,
						&alen);
	if (rc < 0)
		return rc;
	if (alen != blen || memcmp(a, b, alen) != 0) {
		tplog(LOG_ERR, "on-the-fly CA: the key does not belong to %s",
		      cert_path);
		return GNUTLS_E_CERTIFICATE_KEY_MISMATCH;
	}
	if (gnutls_x509_crt_get_basic_constraints(crt, &critical, NULL,
						  NULL) != 1) {
		tplog(LOG_ERR, "on-the-fly CA: %s is not a CA certificate",
		      cert_path);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (gnutls_x509_crt_get_key_usage(crt, &usage, &critical) >= 0 &&
	    !(usage & GNUTLS_KEY_KEY_CERT_SIGN)) {
		tplog(LOG_ERR, "on-the-fly CA: %s may not sign certificates "
		      "(key usage)", cert_path);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return 0;
}

/* The leaf key, made once per key process and kept in the key table. */
static int make_leaf(uint32_t handle)
{
	gnutls_privkey_t pk = NULL;
	gnutls_pubkey_t pub = NULL;
	int rc;

	if (ca.leaf != NULL)
		return 0;
	rc = gnutls_privkey_init(&pk);
	if (rc >= 0)
		rc = gnutls_privkey_generate(
			pk, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc >= 0)
		rc = gnutls_pubkey_init(&pub);
	if (rc >= 0)
		rc = gnutls_pubkey_import_privkey(pub, pk, 0, 0);
	if (rc < 0)
		goto fail;
	rc = kp_key_add(handle, pk);	/* takes pk, also on failure */
	pk = NULL;
	if (rc < 0)
		goto fail;
	ca.leaf = pub;
	ca.leaf_handle = handle;
	return 0;
fail:
	gnutls_privkey_deinit(pk);
	gnutls_pubkey_deinit(pub);
	return rc;
}

int kp_ca_setup(struct kp_in *in, struct kp_out *out)
{
	char cert[KP_MAX_STR + 1], keyp[KP_MAX_STR + 1];
	uint32_t handle = kp_get_u32(in);
	gnutls_x509_crt_t crt = NULL;
	gnutls_privkey_t key = NULL;
	gnutls_datum_t der = { NULL, 0 };
	gnutls_digest_algorithm_t dig = GNUTLS_DIG_SHA256;
	unsigned bits = 0;
	int rc;

	kp_get_str(in, cert, sizeof(cert));
	kp_get_str(in, keyp, sizeof(keyp));
	if (in->err || in->off != in->len || handle == 0)
		return GNUTLS_E_INVALID_REQUEST;
	rc = idgen_crt_load(cert, &crt);
	if (rc < 0) {
		tplog(LOG_ERR, "on-the-fly CA: %s: %s", cert,
		      gnutls_strerror(rc));
		return rc;
	}
	rc = load_key(keyp, &key);
	if (rc < 0)
		tplog(LOG_ERR, "on-the-fly CA: %s: %s", keyp,
		      gnutls_strerror(rc));
	if (rc >= 0)
		rc = check_ca(crt, key, cert, &dig);
	if (rc >= 0)
		rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
	if (rc < 0)
		goto out;
	pthread_mutex_lock(&ca.lock);
	rc = make_leaf(handle);
	if (rc >= 0) {
		if (ca.crt != NULL)
			gnutls_x509_crt_deinit(ca.crt);
		gnutls_privkey_deinit(ca.key);
		ca.crt = crt;
		ca.key = key;
		ca.dig = dig;
		crt = NULL;
		key = NULL;
		kp_put_u32(out, ca.leaf_handle);
		kp_put_u32(out, (uint32_t)gnutls_pubkey_get_pk_algorithm(ca.leaf,
									  &bits));
		kp_put_u32(out, bits);
		kp_put(out, der.data, der.size);
	}
	pthread_mutex_unlock(&ca.lock);
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_privkey_deinit(key);
	gnutls_free(der.data);
	return rc < 0 ? rc : 0;
}

/* ---- issue ----------------------------------------------------------------- */

static int set_names(gnutls_x509_crt_t crt, const char *name)
{
	int rc;

	rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
					   name, (unsigned)strlen(name));
	if (rc < 0)
		return rc;
	return gnutls_x509_crt_set_subject_alt_name(
		crt, strchr(name, '@') ? GNUTLS_SAN_RFC822NAME
				       : GNUTLS_SAN_DNSNAME,
		name, (unsigned)strlen(name), GNUTLS_FSAN_SET);
}

static int set_serial_and_ids(gnutls_x509_crt_t crt)
{
	unsigned char serial[16], kid[64];
	size_t kidlen = sizeof(kid);
	int rc;

	rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	if (rc < 0)
		return rc;
	serial[0] &= 0x7f;		/* positive */
	if (serial[0] == 0)
		serial[0] = 0x42;	/* and minimally encoded */
	rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	if (rc >= 0)
		rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid,
						&kidlen);
	if (rc >= 0)
		rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen);
	kidlen = sizeof(kid);
	if (rc >= 0 && gnutls_x509_crt_get_subject_key_id(ca.crt, kid, &kidlen,
							   NULL) >= 0)
		rc = gnutls_x509_crt_set_authority_key_id(crt, kid, kidlen);
	return rc;
}

/* ca.lock held. */
static int make_cert(const char *name, uint32_t lifetime,
		     gnutls_x509_crt_t *out)
{
	time_t now = time(NULL), end = now + (time_t)lifetime;
	time_t ca_end = gnutls_x509_crt_get_expiration_time(ca.crt);
	gnutls_x509_crt_t crt;
	int rc;

	if (ca_end != (time_t)-1 && ca_end < end)
		end = ca_end;	/* never outlive the issuer */
	if (end <= now) {
		tplog(LOG_ERR, "on-the-fly CA: the CA certificate has expired");
		return GNUTLS_E_EXPIRED;
	}
	rc = gnutls_x509_crt_init(&crt);
	if (rc < 0)
		return rc;
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_pubkey(crt, ca.leaf)) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - BACKDATE_S)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, end)) < 0 ||
	    (rc = set_names(crt, name)) < 0 ||
	    (rc = set_serial_and_ids(crt)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		     crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		     crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		     crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0 ||
	    (rc = gnutls_x509_crt_privkey_sign(crt, ca.crt, ca.key, ca.dig,
					       0)) < 0) {
		gnutls_x509_crt_deinit(crt);
		return rc;
	}
	*out = crt;
	return 0;
}

static int is_ip(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	       inet_pton(AF_INET6, name, buf) == 1;
}

int kp_ca_issue(struct kp_in *in, struct kp_out *out)
{
	char name[NAME_MAX_LEN + 1];
	uint32_t lifetime;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t der = { NULL, 0 };
	int rc;

	kp_get_str(in, name, sizeof(name));
	lifetime = kp_get_u32(in);
	if (in->err || in->off != in->len || lifetime == 0 ||
	    lifetime > MAX_LIFETIME_S || !idgen_name_ok(name) || is_ip(name))
		return GNUTLS_E_INVALID_REQUEST;
	pthread_mutex_lock(&ca.lock);
	rc = ca.crt == NULL ? GNUTLS_E_INSUFFICIENT_CREDENTIALS
			    : make_cert(name, lifetime, &crt);
	pthread_mutex_unlock(&ca.lock);
	if (rc < 0)
		return rc;
	rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0)
		return rc;
	kp_put(out, der.data, der.size);
	gnutls_free(der.data);
	tplog(LOG_DEBUG, "on-the-fly certificate issued for %s", name);
	return 0;
}

/* onthefly -- LOCALID_ONTHEFLY credentials from the key process's CA.
 *
 * One lock covers the configuration and the cache; an issuance (one
 * round trip to the key process for the certificate, one for GnuTLS's
 * key check) runs under it, so two sessions for a new name never issue
 * twice.
 */
#include "onthefly.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "cred.h"
#include "dconfig.h"
#include "idgen.h"
#include "keyproc.h"
#include "tplog.h"

#define NEEDS_CONFIG "LOCALID_ONTHEFLY needs tls_onthefly_signcert and " \
		     "tls_onthefly_signkey"

struct onthefly_cred {
	atomic_uint refs;
	struct cred_identity id;	/* name and credential are ours */
	time_t renew;			/* issue anew from then on */
	unsigned gen;			/* the key process it was made for */
	uint64_t used;			/* for least-recently-used eviction */
};

static struct {
	pthread_mutex_t lock;
	char *cert, *key;		/* NULL: not configured */
	struct keyproc_ca ca;
	unsigned gen;			/* keyproc_generation of ca; 0 none */
	struct onthefly_cred *cache[ONTHEFLY_CACHE_MAX];
	size_t n;
	uint64_t tick;
} otf = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- credentials ---------------------------------------------------------- */

void onthefly_release(struct onthefly_cred *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	gnutls_certificate_free_credentials(c->id.cred);
	free(c->id.name);
	free(c);
}

const struct cred_identity *onthefly_identity(const struct onthefly_cred *c)
{
	return &c->id;
}

/* Lock held. */
static void cache_clear(void)
{
	for (size_t i = 0; i < otf.n; i++)
		onthefly_release(otf.cache[i]);
	otf.n = 0;
}

/* Lock held. */
static void ca_forget(void)
{
	cache_clear();
	gnutls_free(otf.ca.ca_der.data);
	memset(&otf.ca, 0, sizeof(otf.ca));
	otf.gen = 0;
}

/* Leaf and CA as pcerts, the leaf key bound to the credential; renew
 * at three quarters of the leaf's life. */
static int build(const gnutls_datum_t *leaf, gnutls_certificate_credentials_t *out,
		 time_t *renew)
{
	gnutls_pcert_st pc[2];
	gnutls_privkey_t pk = NULL;
	gnutls_certificate_credentials_t c = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned n = 0;
	int rc;

	rc = gnutls_x509_crt_init(&crt);
	if (rc >= 0)
		rc = gnutls_x509_crt_import(crt, leaf, GNUTLS_X509_FMT_DER);
	if (rc >= 0) {
		time_t from = gnutls_x509_crt_get_activation_time(crt);
		time_t to = gnutls_x509_crt_get_expiration_time(crt);

		*renew = from + (to - from) / 4 * 3;
	}
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (rc >= 0 && (rc = gnutls_pcert_import_x509_raw(
				&pc[0], leaf, GNUTLS_X509_FMT_DER, 0)) >= 0)
		n = 1;
	if (rc >= 0 && (rc = gnutls_pcert_import_x509_raw(
				&pc[1], &otf.ca.ca_der, GNUTLS_X509_FMT_DER,
				0)) >= 0)
		n = 2;
	if (rc >= 0)
		rc = keyproc_ca_leaf_key(&otf.ca, &pk);
	if (rc >= 0)
		rc = gnutls_certificate_allocate_credentials(&c);
	if (rc >= 0) {
		/* takes the pcerts and pk, and checks that they match */
		rc = gnutls_certificate_set_key(c, NULL, 0, pc, 2, pk);
		if (rc >= 0) {
			*out = c;
			return 0;
		}
	}
	for (unsigned i = 0; i < n; i++)
		gnutls_pcert_deinit(&pc[i]);
	gnutls_privkey_deinit(pk);
	gnutls_certificate_free_credentials(c);
	return rc;
}

/* Lock held: a new credential for name, with the cache's and the
 * caller's references, in the cache. */
static int issue(const char *name, struct onthefly_cred **out, char *why,
		 size_t whylen)
{
	struct onthefly_cred *c = calloc(1, sizeof(*c));
	gnutls_datum_t der = { NULL, 0 };
	size_t slot = otf.n;
	int rc = GNUTLS_E_MEMORY_ERROR;

	if (c == NULL || (c->id.name = strdup(name)) == NULL)
		goto fail;
	rc = keyproc_ca_issue(name, ONTHEFLY_LIFETIME_S, &der);
	if (rc >= 0)
		rc = build(&der, &c->id.cred, &c->renew);
	gnutls_free(der.data);
	if (rc < 0)
		goto fail;
	c->id.roles = CRED_ROLE_BOTH;
	c->gen = otf.gen;
	c->used = ++otf.tick;
	atomic_init(&c->refs, 2);
	for (size_t i = 0; i < otf.n; i++)
		if (strcmp(otf.cache[i]->id.name, name) == 0)
			slot = i;
	if (slot == ONTHEFLY_CACHE_MAX) {	/* full: the oldest goes */
		slot = 0;
		for (size_t i = 1; i < otf.n; i++)
			if (otf.cache[i]->used < otf.cache[slot]->used)
				slot = i;
	}
	if (slot < otf.n)
		onthefly_release(otf.cache[slot]);
	else
		otf.n++;
	otf.cache[slot] = c;
	*out = c;
	tplog(LOG_INFO, "on-the-fly certificate for %s issued", name);
	return 0;
fail:
	snprintf(why, whylen, "LOCALID_ONTHEFLY: no certificate for \"%s\": %s",
		 name, keyproc_strerror(rc));
	if (c != NULL)
		free(c->id.name);
	free(c);
	return -EIO;
}

/* Lock held: the CA in the key process as it is now (a restarted one
 * has lost it).  0 or -errno with why. */
static int ca_current(char *why, size_t whylen)
{
	struct keyproc_ca ca;
	int rc;

	if (otf.gen == keyproc_generation())
		return 0;
	rc = keyproc_ca_setup(otf.cert, otf.key, &ca);
	if (rc < 0) {
		snprintf(why, whylen, "LOCALID_ONTHEFLY: the CA does not load "
			 "in the key process: %s", keyproc_strerror(rc));
		return -EIO;
	}
	ca_forget();
	otf.ca = ca;
	otf.gen = keyproc_generation();
	tplog(LOG_NOTICE, "on-the-fly CA set up again in the restarted key "
	      "process");
	return 0;
}

static int name_ok(const char *name)
{
	unsigned char buf[16];

	return idgen_name_ok(name) && inet_pton(AF_INET, name, buf) != 1 &&
	       inet_pton(AF_INET6, name, buf) != 1;
}

int onthefly_get(const char *name, struct onthefly_cred **out, char *why,
		 size_t whylen)
{
	time_t now = time(NULL);
	int rc = 0;

	*out = NULL;
	if (!name_ok(name)) {
		snprintf(why, whylen, "LOCALID_ONTHEFLY: no certificate can be "
			 "made for \"%.128s\"", name);
		return -EINVAL;
	}
	pthread_mutex_lock(&otf.lock);
	if (otf.cert == NULL) {
		snprintf(why, whylen, NEEDS_CONFIG);
		rc = -ENOTSUP;
		goto out;
	}
	rc = ca_current(why, whylen);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < otf.n; i++) {
		struct onthefly_cred *c = otf.cache[i];

		if (strcmp(c->id.name, name) == 0 && c->gen == otf.gen &&
		    now < c->renew) {
			atomic_fetch_add(&c->refs, 1);
			c->used = ++otf.tick;
			*out = c;
			goto out;
		}
	}
	rc = issue(name, out, why, whylen);
out:
	pthread_mutex_unlock(&otf.lock);
	return rc;
}

/* ---- configuration -------------------------------------------------------- */

int onthefly_enabled(void)
{
	int on;

	pthread_mutex_lock(&otf.lock);
	on = otf.cert != NULL;
	pthread_mutex_unlock(&otf.lock);
	return on;
}

void onthefly_clear(void)
{
	pthread_mutex_lock(&otf.lock);
	ca_forget();
	free(otf.cert);
	free(otf.key);
	otf.cert = otf.key = NULL;
	pthread_mutex_unlock(&otf.lock);
}

int onthefly_configure(const struct dconfig *cfg, char *err, size_t errlen)
{
	const char *cert = cfg->tls_onthefly_signcert;
	const char *key = cfg->tls_onthefly_signkey;
	struct keyproc_ca ca;
	char *c2, *k2;
	int rc;

	if (cert == NULL && key == NULL) {
		onthefly_clear();
		return 0;
	}
	if (cert == NULL || key == NULL) {
		snprintf(err, errlen, "tls_onthefly_signcert and "
			 "tls_onthefly_signkey go together");
		return -EINVAL;
	}
	rc = keyproc_ca_setup(cert, key, &ca);
	if (rc < 0) {
		snprintf(err, errlen, "tls_onthefly_signcert %s / "
			 "tls_onthefly_signkey %s: %s", cert, key,
			 keyproc_strerror(rc));
		return rc == KEYPROC_E_UNAVAILABLE ? -EPIPE : -EINVAL;
	}
	c2 = strdup(cert);
	k2 = strdup(key);
	if (c2 == NULL || k2 == NULL) {
		free(c2);
		free(k2);
		gnutls_free(ca.ca_der.data);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&otf.lock);
	ca_forget();
	free(otf.cert);
	free(otf.key);
	otf.cert = c2;
	otf.key = k2;
	otf.ca = ca;
	otf.gen = keyproc_generation();
	pthread_mutex_unlock(&otf.lock);
	tplog(LOG_INFO, "on-the-fly CA %s ready", cert);
	return 0;
}

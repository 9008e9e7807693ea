/* cred -- local identities (certificate chain + key) and trust anchors.
 *
 * Identities come from localid_dir: <identity>.pem holds the chain (leaf
 * first); the key is <identity>.key (PEM) or <identity>.p11 (one line, a
 * PKCS#11 URI).  Keys are loaded by the key process (keyproc), which must
 * be running: this process holds the chain and a handle to the key only,
 * and never opens a .key file or a PKCS#11 object itself.  Trust anchors come from trust_anchors (PEM file or
 * directory of PEM files) and, with trust_system, the system store.
 * A store is immutable once loaded and shared by all workers; SIGHUP
 * loads a new one and swaps it in (reference counted).
 */
#ifndef TP_CRED_H
#define TP_CRED_H

#include <stddef.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct dconfig;
struct cred_store;

struct cred_identity {
	char *name;				/* e.g. "host.example.com" */
	gnutls_certificate_credentials_t cred;	/* chain + key, no trust */
};

/* Load everything; a broken identity file is logged and skipped, a broken
 * trust anchor file is an error.  0 or -errno with a message in err. */
int cred_store_load(struct cred_store **out, const struct dconfig *cfg,
		    char *err, size_t errlen);
void cred_store_ref(struct cred_store *s);
void cred_store_unref(struct cred_store *s);

/* Identity by exact name, or NULL. */
const struct cred_identity *cred_find(const struct cred_store *s,
				      const char *name);
/* Credentials without a certificate (client that shows no identity). */
gnutls_certificate_credentials_t cred_anonymous(const struct cred_store *s);
size_t cred_count(const struct cred_store *s);
/* The store's trust anchors (owned by the store, read-only once loaded)
 * and how many certificates they hold. */
gnutls_x509_trust_list_t cred_trust_list(const struct cred_store *s);
unsigned cred_anchor_count(const struct cred_store *s);

/* Verify a peer chain against the trust anchors and, when name is not
 * NULL, that the leaf is valid for name (DNS name, or user@domain as an
 * e-mail address; with domain_ok also the domain of user@domain).
 * purpose: GNUTLS_KP_TLS_WWW_SERVER or _CLIENT.  Returns 0, or -EACCES
 * with the reason in why. */
int cred_verify_peer(const struct cred_store *s,
		     const gnutls_datum_t *chain, unsigned n,
		     const char *name, int domain_ok, const char *purpose,
		     char *why, size_t whylen);

/* Is the leaf valid for name?  A DNS name (or IP) by hostname rules;
 * user@domain as an e-mail address, or with domain_ok its domain. */
int cred_leaf_matches(gnutls_x509_crt_t leaf, const char *name,
		      int domain_ok);

/* The identity a certificate proves: the first rfc822Name (user@domain),
 * else the first dNSName, else the CN.  0 or -ENOENT. */
int cred_cert_identity(const gnutls_datum_t *der, char *out, size_t outlen);

#endif

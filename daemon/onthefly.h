/* onthefly -- LOCALID_ONTHEFLY: certificates for the requested name,
 * signed on the fly by a local CA whose key lives in the key process.
 *
 * With tls_onthefly_signcert and tls_onthefly_signkey configured
 * (onthefly_configure, main thread, at start and on reload), the key
 * process loads the CA and makes a fresh leaf key (ECDSA P-256) once per
 * start of the key process; neither key ever enters this process.  A
 * STARTTLS with PIOF_STARTTLS_LOCALID_ONTHEFLY whose local identity has
 * no configured credential gets one from onthefly_get: a certificate
 * for the name (SAN dNSName, or rfc822Name for user@domain; TLS server
 * and client) valid from 5 minutes ago for ONTHEFLY_LIFETIME_S (never
 * beyond the CA), chain leaf + CA, signing through the key process.
 * Certificates are cached per name and reused until three quarters of
 * their life have passed; at most ONTHEFLY_CACHE_MAX names are kept
 * (the least recently used goes first).  A restarted key process has
 * another leaf key: the CA is set up there again on first use and the
 * cache starts afresh.
 */
#ifndef TP_ONTHEFLY_H
#define TP_ONTHEFLY_H

#include <stddef.h>

#define ONTHEFLY_LIFETIME_S (24 * 60 * 60)
#define ONTHEFLY_CACHE_MAX 256

struct dconfig;
struct cred_identity;
struct onthefly_cred;

/* Take cfg's tls_onthefly_* (both set: load the CA in the key process;
 * neither: off).  On failure the previous setting stays.  0 or -errno
 * with a message in err. */
int onthefly_configure(const struct dconfig *cfg, char *err, size_t errlen);
/* Is a CA configured? */
int onthefly_enabled(void);

/* A credential for name, referenced (onthefly_release it): from the
 * cache, or one round trip to the key process (any thread, also a
 * worker).  0, or -errno with the reason in why. */
int onthefly_get(const char *name, struct onthefly_cred **out, char *why,
		 size_t whylen);
/* Its identity (name, credential; roles both, any uid). */
const struct cred_identity *onthefly_identity(const struct onthefly_cred *c);
void onthefly_release(struct onthefly_cred *c);

/* Forget the CA and the cache (at stop, before keyproc_stop). */
void onthefly_clear(void);

#endif

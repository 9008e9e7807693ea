/* kdh_map -- Kerberos realms and principals as DoNAI identities, and the
 * TLS-KDH pre-shared key derivation (doc/kdh.md).
 *
 * The realm map (config key kerberos_realm_map) is a list of
 * "REALM=domain" entries separated by spaces or commas, e.g.
 *   EXAMPLE.COM=example.com OTHER.ORG=other.org
 * A realm may appear once; a domain once.  A realm speaks for its domain
 * and every subdomain of it; a realm that is not in the map speaks for
 * nothing, so its principals are refused.
 *
 * Principal -> DoNAI (kdh_map_principal):
 *   user@REALM            -> user@domain   (one component, a DoNAI user)
 *   host/name@REALM       -> name          (name is the domain or inside it)
 * Anything else (other services, three or more components, an unmapped
 * realm, a name outside the realm's domain) is refused with the reason.
 *
 * Host -> realm (kdh_map_realm_for_host): the realm whose domain is the
 * longest suffix (on a label boundary) of the host name.
 *
 * Nothing here talks to krb5; everything is pure and unit tested.
 */
#ifndef TP_KDH_MAP_H
#define TP_KDH_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "donai.h"

#define KDH_MAP_MAX 32		/* entries */
#define KDH_REALM_MAX 128	/* characters of a realm name */
#define KDH_PSK_LEN 32		/* bytes of the derived PSK */
/* The KDF's label (HKDF-Expand info, followed by the enctype). */
#define KDH_KDF_LABEL "tlspool TLS-KDH psk_dhe_ke v1"

struct kdh_map_entry {
	char realm[KDH_REALM_MAX];
	char domain[DONAI_BUFSIZE];	/* lower case */
};

struct kdh_map {
	struct kdh_map_entry e[KDH_MAP_MAX];
	unsigned n;
};

/* Parse text (may be NULL or empty: an empty map).  0, or -EINVAL with
 * "entry N: reason" in why. */
int kdh_map_parse(const char *text, struct kdh_map *m, char *why,
		  size_t whylen);

/* The domain realm speaks for, or NULL. */
const char *kdh_map_domain(const struct kdh_map *m, const char *realm);

/* The realm for host name host, or NULL. */
const char *kdh_map_realm_for_host(const struct kdh_map *m, const char *host);

/* Map a principal given as its components and realm to a DoNAI in out
 * (DONAI_BUFSIZE suffices).  0, or -EACCES with the reason in why. */
int kdh_map_principal(const struct kdh_map *m, const char *const *comp,
		      unsigned ncomp, const char *realm, char *out,
		      size_t outlen, char *why, size_t whylen);

/* kerberos_client_credcache: "%u" in tmpl becomes uid ("%%" a '%';
 * any other '%' is kept).  0, or -ENAMETOOLONG when it does not fit. */
int kdh_ccache_expand(const char *tmpl, unsigned uid, char *out, size_t len);

/* The PSK from the authenticator subkey: HKDF-SHA256 with an empty salt
 * over the key bytes, expanded with info = KDH_KDF_LABEL || enctype (4
 * bytes, big endian) to KDH_PSK_LEN bytes.  0 or -EIO. */
int kdh_kdf(int32_t enctype, const uint8_t *key, size_t keylen,
	    uint8_t out[KDH_PSK_LEN]);

#endif

/* cred -- local identities (certificate chain + key) and trust anchors.
 *
 * Two sources, merged into one immutable store:
 *
 * - Files (read at start and on SIGHUP only): localid_dir holds
 *   <identity>.pem with the chain (leaf first), or a single PEM
 *   "PUBLIC KEY" for a raw public key identity, and the key as
 *   <identity>.key (PEM) or <identity>.p11 (one line, a PKCS#11 URI);
 *   trust_anchors (PEM file or directory of PEM files) and, with
 *   trust_system, the system store.  A file identity may be used in both
 *   roles by every uid.
 * - The policy database (read in one snapshot transaction at start, on
 *   SIGHUP and whenever the policy serial changed, see credwatch.h):
 *   localid.db x509 and rawpk records that are not DISABLED (chain, or
 *   for rawpk the SubjectPublicKeyInfo, from the record,
 *   key by its key reference: a PEM file path or a PKCS#11 URI), with
 *   their roles and uids, and trust.db anchors ("anchor:" records).
 *   A name in localid.db belongs to the database: its identity replaces
 *   a file identity of that name (logged once), and a disabled or
 *   unusable record leaves the name without identity (fail closed).  A
 *   record that does not decode, whose certificates do not parse or
 *   whose key does not load is logged with its key and skipped; it is
 *   never fatal.  krb5 records are not used here.
 *   A name holds one credential: when it has both an x509 and a rawpk
 *   record, the x509 record is served and the rawpk one is logged and
 *   ignored.
 *
 * Keys are loaded by the key process (keyproc), which must be running:
 * this process holds the chain and a handle to the key only, and never
 * opens a key file or a PKCS#11 object itself.  A store is immutable once
 * loaded and shared by all workers (reference counted); a new one is
 * swapped in for new sessions (session_set_config), while sessions keep
 * the store they started with.  A refresh from the database reuses every
 * credential whose record did not change (same chain and key reference),
 * so it loads only new or changed keys.
 *
 * Anchor peer flags: an anchor from trust.db vouches for the peers its
 * record names (CLIENTS, SERVERS or both).  Verification that names a
 * key purpose (cred_verify_peer with GNUTLS_KP_TLS_WWW_SERVER or _CLIENT,
 * as the secure default does) and cred_verify_chain use only the anchors
 * for that peer role; cred_verify_peer without a purpose and
 * cred_trust_list use every anchor.  File and system anchors vouch for
 * both.
 */
#ifndef TP_CRED_H
#define TP_CRED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct dconfig;
struct cred_store;
struct cred_shared;
struct policydb;

/* Roles an identity may be shown in (the POLREC_ROLE_* values). */
#define CRED_ROLE_CLIENT 0x1u
#define CRED_ROLE_SERVER 0x2u
#define CRED_ROLE_BOTH 0x3u

struct cred_identity {
	char *name;				/* e.g. "host.example.com" */
	gnutls_certificate_credentials_t cred;	/* chain + key, no trust */
	int rawpk;		/* cred holds a raw public key (RFC 7250)
				 * instead of a chain: see rawpk.h */
	unsigned roles;				/* CRED_ROLE_* */
	const uint32_t *uids;	/* requesters that may use it; none: any */
	size_t nuids;
	int from_db;		/* localid.db, else localid_dir */
	int shadows;		/* from_db, replacing a file identity */
	struct cred_shared *sh;	/* private: the shared credential */
};

/* Files only (no database).  A broken identity file is logged and
 * skipped, a broken trust anchor file is an error.  0 or -errno with a
 * message in err. */
int cred_store_load(struct cred_store **out, const struct dconfig *cfg,
		    char *err, size_t errlen);
/* Files and, when db is not NULL, the database (see above).  -EAGAIN
 * when the key process was unavailable for a database key. */
int cred_store_load_db(struct cred_store **out, const struct dconfig *cfg,
		       struct policydb *db, char *err, size_t errlen);
/* A new store with prev's file part and the database as it is now,
 * reusing prev's credentials of unchanged records.  0, -EAGAIN (key
 * process unavailable: try again later) or -errno, message in err. */
int cred_store_refresh(struct cred_store **out, const struct cred_store *prev,
		       struct policydb *db, char *err, size_t errlen);
/* The policy serial the store's database part was read at (0 without). */
uint64_t cred_store_serial(const struct cred_store *s);
void cred_store_ref(struct cred_store *s);
void cred_store_unref(struct cred_store *s);

/* Identity by exact name, or NULL. */
const struct cred_identity *cred_find(const struct cred_store *s,
				      const char *name);
/* May uid use id in this role (server_role 1: local server)?  0, or
 * -EACCES with the reason ("local identity X may not be used by uid U")
 * in why. */
int cred_identity_allowed(const struct cred_identity *id, int server_role,
			  uid_t uid, char *why, size_t len);
/* Credentials without a certificate (client that shows no identity). */
gnutls_certificate_credentials_t cred_anonymous(const struct cred_store *s);
size_t cred_count(const struct cred_store *s);
/* How many identities came from the database. */
size_t cred_db_count(const struct cred_store *s);
/* The store's trust anchors, every one (owned by the store, read-only
 * once loaded) and how many certificates they hold. */
gnutls_x509_trust_list_t cred_trust_list(const struct cred_store *s);
unsigned cred_anchor_count(const struct cred_store *s);
/* The anchors that vouch for a peer in that role (peer_server 1: the
 * peer is a TLS server) and how many there are (count may be NULL). */
gnutls_x509_trust_list_t cred_trust_list_for(const struct cred_store *s,
					     int peer_server, unsigned *count);

/* Verify a peer chain against the trust anchors and, when name is not
 * NULL, that the leaf is valid for name (DNS name, or user@domain as an
 * e-mail address; with domain_ok also the domain of user@domain).
 * purpose: GNUTLS_KP_TLS_WWW_SERVER or _CLIENT (which also picks the
 * anchors for that peer role), or NULL (every anchor).  Returns 0, or
 * -EACCES with the reason in why. */
int cred_verify_peer(const struct cred_store *s,
		     const gnutls_datum_t *chain, unsigned n,
		     const char *name, int domain_ok, const char *purpose,
		     char *why, size_t whylen);
/* The chain alone (no name, no key purpose) against the anchors that
 * vouch for the peer's role (peer_server 1: the peer is a TLS server).
 * 0 or -EACCES with the reason in why. */
int cred_verify_chain(const struct cred_store *s,
		      const gnutls_datum_t *chain, unsigned n, int peer_server,
		      char *why, size_t whylen);

/* Is the leaf valid for name?  A DNS name (or IP) by hostname rules;
 * user@domain as an e-mail address, or with domain_ok its domain. */
int cred_leaf_matches(gnutls_x509_crt_t leaf, const char *name,
		      int domain_ok);

/* The identity a certificate proves: the first rfc822Name (user@domain),
 * else the first dNSName, else the CN.  0 or -ENOENT. */
int cred_cert_identity(const gnutls_datum_t *der, char *out, size_t outlen);

#endif

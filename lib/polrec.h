/* polrec -- policy record formats: pure encoders and strict decoders.
 *
 * One record format per database of the policy environment (localid,
 * disclose, trust, policy, meta "serial"); doc/policy-records.md is the
 * reference for the bytes.  Every value starts with a format version
 * byte and a record type byte.  Decoders trust no length: anything
 * malformed, truncated, followed by trailing bytes, non-canonical or of
 * an unknown newer version gives -EBADMSG with the reason in why.
 * Encoders check the record the same way (-EINVAL), so nothing is
 * written that a reader would refuse; encode(decode(x)) == x.
 *
 * No BerkeleyDB here: this is what the fuzz target exercises.
 */
#ifndef TP_POLREC_H
#define TP_POLREC_H

#include <stddef.h>
#include <stdint.h>

#define POLREC_VERSION 1		/* format written by this code */

#define POLREC_NAME_MAX 255		/* identity, selector, key text */
#define POLREC_TEXT_MAX 4096		/* priority, valexp, key reference */
#define POLREC_CERT_MAX 65536		/* one DER certificate */
#define POLREC_CHAIN_MAX 16		/* certificates in a chain */
#define POLREC_BLOB_MAX (16u << 20)	/* CRL */
#define POLREC_UIDS_MAX 256
#define POLREC_IDS_MAX 256		/* identities in a disclose list */
#define POLREC_KEY_MAX 512		/* any database key */

/* Credential kinds.  Only x509 is usable by the daemon today. */
enum polrec_cred {
	POLREC_CRED_X509 = 1,
	POLREC_CRED_RAWPK = 2,
	POLREC_CRED_KRB5 = 3,
};
#define POLREC_KIND_BIT(k) (1u << ((unsigned)(k) - 1))
#define POLREC_KINDS_ALL 0x7u

#define POLREC_ROLE_CLIENT 0x1u
#define POLREC_ROLE_SERVER 0x2u
#define POLREC_ROLE_BOTH 0x3u

struct polrec_blob {
	uint8_t *data;
	size_t len;
};

/* ---- localid: key = identity "\0" kind name ("x509", ...) ---- */

enum polrec_keyref {
	POLREC_KEYREF_NONE = 0,		/* krb5 only */
	POLREC_KEYREF_PKCS11 = 1,	/* "pkcs11:..." URI */
	POLREC_KEYREF_FILE = 2,		/* absolute path of a PEM key file */
};

#define POLREC_LIDF_DISABLED 0x1u	/* kept, but never offered */
#define POLREC_LIDF_MASK 0x1u

struct polrec_localid {
	enum polrec_cred kind;
	unsigned roles;			/* POLREC_ROLE_* , not 0 */
	uint32_t flags;			/* POLREC_LIDF_* */
	enum polrec_keyref keyref_type;
	char *keyref;			/* NULL with POLREC_KEYREF_NONE */
	struct polrec_blob *certs;	/* leaf first; rawpk: one SPKI */
	size_t ncerts;
	uint32_t *uids;			/* ascending; none: any uid */
	size_t nuids;
};

/* ---- disclose: key = remote selector ---- */

struct polrec_disclose {
	char **ids;			/* local identities, in order */
	size_t nids;			/* 0: show no identity */
};

/* ---- trust: key = "anchor:HEX", "pin:ID:HEX", "revoked:HEX",
 * "crl:HEX" (HEX: 64 lower-case hex digits, SHA-256 of the
 * SubjectPublicKeyInfo, or of the issuer DN for a CRL; ID may be
 * empty for a pin that holds for any identity) ---- */

enum polrec_trust_kind {
	POLREC_TRUST_ANCHOR = 1,
	POLREC_TRUST_PIN = 2,
	POLREC_TRUST_REVOKED = 3,	/* revoked key */
	POLREC_TRUST_CRL = 4,
};

/* Anchors and pins: which peers they may vouch for (at least one). */
#define POLREC_TRUSTF_CLIENTS 0x1u
#define POLREC_TRUSTF_SERVERS 0x2u
#define POLREC_TRUSTF_MASK 0x3u

struct polrec_trust {
	enum polrec_trust_kind kind;
	uint32_t flags;
	char *valexp;			/* NULL: none */
	char *bound_id;			/* pins only; NULL: any identity */
	struct polrec_blob der;		/* certificate or CRL; may be empty
					 * for pins and revoked keys */
};

/* ---- policy: key = selector "\0" role ("client" / "server") ---- */

enum polrec_client_auth {
	POLREC_CAUTH_DEFAULT = 0,	/* the role's secure default */
	POLREC_CAUTH_NONE = 1,
	POLREC_CAUTH_OPTIONAL = 2,
	POLREC_CAUTH_REQUIRED = 3,
};

#define POLREC_TLS10 0x0301
#define POLREC_TLS11 0x0302
#define POLREC_TLS12 0x0303
#define POLREC_TLS13 0x0304

struct polrec_policy {
	uint16_t min_version;		/* POLREC_TLS1x, 0: no bound */
	uint16_t max_version;
	enum polrec_client_auth client_auth;
	unsigned kinds;			/* POLREC_KIND_BIT set; 0: any */
	char *priority;			/* GnuTLS priority; NULL: default */
	char *valexp;			/* required validation; NULL: none */
	uint32_t *uids;			/* ascending; none: any uid */
	size_t nuids;
};

/* Encoders: *out is malloc'ed (free it).  0, -EINVAL with why, or
 * -ENOMEM.  Decoders: 0 or -EBADMSG with why, or -ENOMEM; the record
 * owns its memory until *_free (which accepts a zeroed record). */
int polrec_localid_encode(const struct polrec_localid *r, uint8_t **out,
			  size_t *outlen, char *why, size_t whylen);
int polrec_localid_decode(const void *buf, size_t len,
			  struct polrec_localid *r, char *why, size_t whylen);
void polrec_localid_free(struct polrec_localid *r);

int polrec_disclose_encode(const struct polrec_disclose *r, uint8_t **out,
			   size_t *outlen, char *why, size_t whylen);
int polrec_disclose_decode(const void *buf, size_t len,
			   struct polrec_disclose *r, char *why,
			   size_t whylen);
void polrec_disclose_free(struct polrec_disclose *r);

int polrec_trust_encode(const struct polrec_trust *r, uint8_t **out,
			size_t *outlen, char *why, size_t whylen);
int polrec_trust_decode(const void *buf, size_t len, struct polrec_trust *r,
			char *why, size_t whylen);
void polrec_trust_free(struct polrec_trust *r);

int polrec_policy_encode(const struct polrec_policy *r, uint8_t **out,
			 size_t *outlen, char *why, size_t whylen);
int polrec_policy_decode(const void *buf, size_t len, struct polrec_policy *r,
			 char *why, size_t whylen);
void polrec_policy_free(struct polrec_policy *r);

/* meta "serial": fixed POLREC_SERIAL_LEN bytes. */
#define POLREC_SERIAL_LEN 10
void polrec_serial_encode(uint64_t serial, uint8_t out[POLREC_SERIAL_LEN]);
int polrec_serial_decode(const void *buf, size_t len, uint64_t *serial,
			 char *why, size_t whylen);

/* ---- keys ---- */

/* A name (identity, selector): 1..POLREC_NAME_MAX bytes, none of them
 * NUL, space, a control character or DEL.  1 if so, else 0. */
int polrec_name_ok(const char *s, size_t len);

/* Internal to polrec.c and polrec_key.c: put the reason for a refusal
 * into why (when why is there and has room) and return rc; or empty why. */
int polrec_why_set(char *why, size_t whylen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void polrec_why_clear(char *why, size_t whylen);

/* Build a key into buf (cap bytes); *keylen gets its length (keys hold
 * no terminating NUL, but buf is NUL-terminated).  0 or -EINVAL. */
int polrec_localid_key(const char *id, enum polrec_cred kind, char *buf,
		       size_t cap, size_t *keylen);
int polrec_policy_key(const char *sel, unsigned role, char *buf, size_t cap,
		      size_t *keylen);
/* kind: ANCHOR/PIN/REVOKED: hex is the SPKI hash; CRL: issuer hash.
 * bound_id only for pins (NULL or "": any identity). */
int polrec_trust_key(enum polrec_trust_kind kind, const char *hex,
		     const char *bound_id, char *buf, size_t cap,
		     size_t *keylen);

/* Split keys; name gets a NUL-terminated copy (namecap >=
 * POLREC_NAME_MAX + 1).  0 or -EBADMSG with why. */
int polrec_localid_key_parse(const void *key, size_t len, char *name,
			     size_t namecap, enum polrec_cred *kind,
			     char *why, size_t whylen);
int polrec_policy_key_parse(const void *key, size_t len, char *name,
			    size_t namecap, unsigned *role, char *why,
			    size_t whylen);
/* A disclose key is the selector itself. */
int polrec_disclose_key_parse(const void *key, size_t len, char *name,
			      size_t namecap, char *why, size_t whylen);
/* Check that a trust key is well formed and fits the record (kind,
 * bound identity).  r may be NULL to check the key alone. */
int polrec_trust_key_check(const void *key, size_t len,
			   const struct polrec_trust *r, char *why,
			   size_t whylen);

/* ---- names for humans, tools and logs ---- */

const char *polrec_cred_name(enum polrec_cred k);	/* "x509" ... */
int polrec_cred_parse(const char *s);			/* kind or -EINVAL */
const char *polrec_role_name(unsigned roles);	/* client|server|both */
int polrec_role_parse(const char *s);		/* mask or -EINVAL */
const char *polrec_trust_kind_name(enum polrec_trust_kind k);
const char *polrec_cauth_name(enum polrec_client_auth a);
int polrec_cauth_parse(const char *s);
const char *polrec_version_name(uint16_t v);	/* "TLS1.2", "any" */
int polrec_version_parse(const char *s);	/* 0x0303 ... or -EINVAL */
/* "x509,rawpk" (order fixed) into buf; "any" for 0. */
const char *polrec_kinds_format(unsigned kinds, char *buf, size_t cap);
int polrec_kinds_parse(const char *s, unsigned *kinds);

#endif

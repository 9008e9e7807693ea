/* polrec -- policy record keys and the names of record fields. */
#include "polrec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The reason helpers of polrec.c (see polrec.h). */
#define why_set polrec_why_set
#define why_clear polrec_why_clear

static size_t slen(const char *s)
{
	return s == NULL ? 0 : strlen(s);
}

/* ---- keys ---- */

static const char *const cred_names[] = { NULL, "x509", "rawpk", "krb5" };

static int put_key(char *buf, size_t cap, size_t *keylen, const char *a,
		   size_t alen, const char *b)
{
	size_t blen = strlen(b);
	size_t n = alen + 1 + blen;

	if (n > POLREC_KEY_MAX || n + 1 > cap)
		return -EINVAL;
	memcpy(buf, a, alen);
	buf[alen] = '\0';
	memcpy(buf + alen + 1, b, blen);
	buf[n] = '\0';
	*keylen = n;
	return 0;
}

int polrec_localid_key(const char *id, enum polrec_cred kind, char *buf,
		       size_t cap, size_t *keylen)
{
	if (id == NULL || !polrec_name_ok(id, strlen(id)) ||
	    kind < POLREC_CRED_X509 || kind > POLREC_CRED_KRB5)
		return -EINVAL;
	return put_key(buf, cap, keylen, id, strlen(id), cred_names[kind]);
}

int polrec_policy_key(const char *sel, unsigned role, char *buf, size_t cap,
		      size_t *keylen)
{
	if (sel == NULL || !polrec_name_ok(sel, strlen(sel)) ||
	    (role != POLREC_ROLE_CLIENT && role != POLREC_ROLE_SERVER))
		return -EINVAL;
	return put_key(buf, cap, keylen, sel, strlen(sel),
		       polrec_role_name(role));
}

/* key = name "\0" suffix; copies name out and returns the suffix. */
static int split_key(const void *key, size_t len, char *name, size_t namecap,
		     const char **suffix, size_t *suflen, const char *db,
		     char *why, size_t whylen)
{
	const char *k = key;
	const char *nul = k == NULL ? NULL : memchr(k, '\0', len);
	size_t nlen = nul == NULL ? len : (size_t)(nul - k);

	if (k == NULL || len > POLREC_KEY_MAX || !polrec_name_ok(k, nlen) ||
	    nlen + 1 > namecap)
		return why_set(why, whylen, -EBADMSG,
			       "%s key: the name is not valid", db);
	memcpy(name, k, nlen);
	name[nlen] = '\0';
	if (suffix == NULL)
		return 0;
	if (nul == NULL)
		return why_set(why, whylen, -EBADMSG,
			       "%s key: no NUL before the suffix", db);
	*suffix = nul + 1;
	*suflen = len - nlen - 1;
	return 0;
}

static int suffix_is(const char *s, size_t len, const char *want)
{
	return want != NULL && strlen(want) == len && memcmp(s, want, len) == 0;
}

int polrec_localid_key_parse(const void *key, size_t len, char *name,
			     size_t namecap, enum polrec_cred *kind,
			     char *why, size_t whylen)
{
	const char *suf;
	size_t sl;
	int rc = split_key(key, len, name, namecap, &suf, &sl, "localid", why,
			   whylen);

	if (rc < 0)
		return rc;
	for (int k = POLREC_CRED_X509; k <= POLREC_CRED_KRB5; k++)
		if (suffix_is(suf, sl, cred_names[k])) {
			*kind = (enum polrec_cred)k;
			why_clear(why, whylen);
			return 0;
		}
	return why_set(why, whylen, -EBADMSG,
		       "localid key: unknown credential kind suffix");
}

int polrec_policy_key_parse(const void *key, size_t len, char *name,
			    size_t namecap, unsigned *role, char *why,
			    size_t whylen)
{
	const char *suf;
	size_t sl;
	int rc = split_key(key, len, name, namecap, &suf, &sl, "policy", why,
			   whylen);

	if (rc < 0)
		return rc;
	why_clear(why, whylen);
	if (suffix_is(suf, sl, "client"))
		*role = POLREC_ROLE_CLIENT;
	else if (suffix_is(suf, sl, "server"))
		*role = POLREC_ROLE_SERVER;
	else
		return why_set(why, whylen, -EBADMSG,
			       "policy key: role is not client or server");
	return 0;
}

int polrec_disclose_key_parse(const void *key, size_t len, char *name,
			      size_t namecap, char *why, size_t whylen)
{
	if (key != NULL && memchr(key, '\0', len) != NULL)
		return why_set(why, whylen, -EBADMSG,
			       "disclose key: NUL inside the selector");
	why_clear(why, whylen);
	return split_key(key, len, name, namecap, NULL, NULL, "disclose", why,
			 whylen);
}

static const char *const trust_prefix[] = { NULL, "anchor:", "pin:",
					    "revoked:", "crl:" };

static int hex_ok(const char *s, size_t len)
{
	if (len != 64)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int polrec_trust_key(enum polrec_trust_kind kind, const char *hex,
		     const char *bound_id, char *buf, size_t cap,
		     size_t *keylen)
{
	size_t bl = slen(bound_id);
	int n;

	if (kind < POLREC_TRUST_ANCHOR || kind > POLREC_TRUST_CRL ||
	    hex == NULL || !hex_ok(hex, strlen(hex)) ||
	    (bl > 0 && (kind != POLREC_TRUST_PIN ||
			!polrec_name_ok(bound_id, bl))))
		return -EINVAL;
	if (kind == POLREC_TRUST_PIN)
		n = snprintf(buf, cap, "pin:%s:%s", bl ? bound_id : "", hex);
	else
		n = snprintf(buf, cap, "%s%s", trust_prefix[kind], hex);
	if (n < 0 || (size_t)n >= cap)
		return -EINVAL;
	*keylen = (size_t)n;
	return 0;
}

int polrec_trust_key_check(const void *key, size_t len,
			   const struct polrec_trust *r, char *why,
			   size_t whylen)
{
	const char *k = key;
	int kind = 0;
	size_t pl = 0, idlen = 0;

	for (int i = POLREC_TRUST_ANCHOR; k != NULL && i <= POLREC_TRUST_CRL; i++)
		if (len >= strlen(trust_prefix[i]) &&
		    memcmp(k, trust_prefix[i], strlen(trust_prefix[i])) == 0) {
			kind = i;
			pl = strlen(trust_prefix[i]);
		}
	if (kind == 0 || len > POLREC_KEY_MAX || len < pl + 64 ||
	    !hex_ok(k + len - 64, 64))
		return why_set(why, whylen, -EBADMSG, "trust key: not KIND:[ID:]HEX "
			       "with 64 lower-case hex digits");
	if (kind == POLREC_TRUST_PIN) {
		if (len < pl + 65 || k[len - 65] != ':')
			return why_set(why, whylen, -EBADMSG,
				       "trust key: a pin key is pin:[ID]:HEX");
		idlen = len - pl - 65;
		if (idlen > 0 && !polrec_name_ok(k + pl, idlen))
			return why_set(why, whylen, -EBADMSG,
				       "trust key: the pin's identity is not valid");
	} else if (len != pl + 64) {
		return why_set(why, whylen, -EBADMSG,
			       "trust key: junk between kind and hash");
	}
	if (r != NULL && (int)r->kind != kind)
		return why_set(why, whylen, -EBADMSG,
			       "trust key: kind %s does not match the record's %s",
			       polrec_trust_kind_name(kind),
			       polrec_trust_kind_name(r->kind));
	if (r != NULL && (slen(r->bound_id) != idlen ||
			  (idlen && memcmp(r->bound_id, k + pl, idlen) != 0)))
		return why_set(why, whylen, -EBADMSG,
			       "trust key: identity does not match the record's");
	why_clear(why, whylen);
	return 0;
}

/* ---- names ---- */

const char *polrec_cred_name(enum polrec_cred k)
{
	return k >= POLREC_CRED_X509 && k <= POLREC_CRED_KRB5 ? cred_names[k]
							      : "unknown";
}

/* The index of s among names[lo..hi], or -EINVAL. */
static int name_find(const char *const *names, int lo, int hi, const char *s)
{
	for (int i = lo; s != NULL && i <= hi; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -EINVAL;
}

int polrec_cred_parse(const char *s)
{
	return name_find(cred_names, POLREC_CRED_X509, POLREC_CRED_KRB5, s);
}

static const char *const role_names[] = { "none", "client", "server",
					  "both" };

const char *polrec_role_name(unsigned roles)
{
	return roles <= 3 ? role_names[roles] : "unknown";
}

int polrec_role_parse(const char *s)
{
	return name_find(role_names, 1, 3, s);
}

const char *polrec_trust_kind_name(enum polrec_trust_kind k)
{
	static const char *const names[] = { NULL, "anchor", "pin", "revoked",
					     "crl" };

	return k >= POLREC_TRUST_ANCHOR && k <= POLREC_TRUST_CRL ? names[k]
								 : "unknown";
}

static const char *const cauth_names[] = { "default", "none", "optional",
					   "required" };

const char *polrec_cauth_name(enum polrec_client_auth a)
{
	return (unsigned)a <= POLREC_CAUTH_REQUIRED ? cauth_names[a] : "unknown";
}

int polrec_cauth_parse(const char *s)
{
	return name_find(cauth_names, 0, POLREC_CAUTH_REQUIRED, s);
}

static const char *const version_names[] = { "TLS1.0", "TLS1.1", "TLS1.2",
					     "TLS1.3" };

const char *polrec_version_name(uint16_t v)
{
	if (v == 0)
		return "any";
	return v >= POLREC_TLS10 && v <= POLREC_TLS13
		       ? version_names[v - POLREC_TLS10] : "unknown";
}

int polrec_version_parse(const char *s)
{
	int i = name_find(version_names, 0, 3, s);

	if (i >= 0)
		return POLREC_TLS10 + i;
	if (s != NULL && strcmp(s, "any") == 0)
		return 0;
	return -EINVAL;
}

const char *polrec_kinds_format(unsigned kinds, char *buf, size_t cap)
{
	size_t off = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (kinds == 0)
		snprintf(buf, cap, "any");
	for (int k = POLREC_CRED_X509; k <= POLREC_CRED_KRB5; k++) {
		if (!(kinds & POLREC_KIND_BIT(k)) || off >= cap)
			continue;
		off += (size_t)snprintf(buf + off, cap - off, "%s%s",
					off ? "," : "", cred_names[k]);
	}
	return buf;
}

int polrec_kinds_parse(const char *s, unsigned *kinds)
{
	unsigned out = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	if (strcmp(s, "any") == 0) {
		*kinds = 0;
		return 0;
	}
	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		int k = -EINVAL;

		for (int i = POLREC_CRED_X509; i <= POLREC_CRED_KRB5; i++)
			if (strlen(cred_names[i]) == n &&
			    strncmp(s, cred_names[i], n) == 0)
				k = i;
		if (k < 0)
			return -EINVAL;
		out |= POLREC_KIND_BIT(k);
		s += n;
		if (*s == ',' && *++s == '\0')
			return -EINVAL;
	}
	*kinds = out;
	return 0;
}

/* polrec -- policy record formats: pure encoders and strict decoders. */
#include "polrec.h"
#include "paths.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_LOCALID = 'L', T_DISCLOSE = 'D', T_TRUST = 'T', T_POLICY = 'P',
       T_SERIAL = 'S' };

/* The reason helpers are shared with polrec_key.c (see polrec.h). */
#define why_set polrec_why_set
#define why_clear polrec_why_clear

int polrec_why_set(char *why, size_t whylen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

void polrec_why_clear(char *why, size_t whylen)
{
	if (why != NULL && whylen > 0)
		why[0] = '\0';
}

/* ---- text rules ---- */

int polrec_name_ok(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len > POLREC_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Free text (priority, valexp, key reference): no control bytes. */
static int text_ok(const char *s, size_t len)
{
	if (len > POLREC_TEXT_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Outer DER TLV: a SEQUENCE whose definite, minimal length covers the
 * blob exactly. */
static int der_ok(const uint8_t *d, size_t len)
{
	size_t hdr = 2, body = 0;

	if (len < 2 || d[0] != 0x30)
		return 0;
	if (d[1] < 0x80) {
		body = d[1];
	} else {
		size_t n = d[1] & 0x7f;

		if (n == 0 || n > 4 || len < 2 + n || d[2] == 0)
			return 0;
		for (size_t i = 0; i < n; i++)
			body = body << 8 | d[2 + i];
		if (body < 0x80)
			return 0;
		hdr += n;
	}
	return hdr + body == len;
}

static int uids_ok(const uint32_t *u, size_t n)
{
	if (n > POLREC_UIDS_MAX || (n > 0 && u == NULL))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (u[i] <= u[i - 1])
			return 0;
	return 1;
}

static size_t slen(const char *s)
{
	return s == NULL ? 0 : strlen(s);
}

/* ---- writer ---- */

struct wr {
	uint8_t *buf;
	size_t len, cap;
	int err;
};

static void wr_put(struct wr *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *nb;

		while (cap < w->len + n)
			cap *= 2;
		nb = realloc(w->buf, cap);
		if (nb == NULL) {
			w->err = -ENOMEM;
			return;
		}
		w->buf = nb;
		w->cap = cap;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void wr_be(struct wr *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	wr_put(w, b, n);
}

static void wr_str(struct wr *w, const char *s)
{
	wr_be(w, slen(s), 2);
	wr_put(w, s, slen(s));
}

static void wr_blob(struct wr *w, const struct polrec_blob *b)
{
	wr_be(w, b->len, 4);
	wr_put(w, b->data, b->len);
}

static void wr_uids(struct wr *w, const uint32_t *u, size_t n)
{
	wr_be(w, n, 2);
	for (size_t i = 0; i < n; i++)
		wr_be(w, u[i], 4);
}

static int wr_done(struct wr *w, uint8_t **out, size_t *outlen)
{
	if (w->err) {
		free(w->buf);
		return w->err;
	}
	*out = w->buf;
	*outlen = w->len;
	return 0;
}

/* ---- reader ---- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	const char *rec;
	char *why;
	size_t whylen;
};

static int rd_fail(struct rd *r, const char *what, const char *problem)
{
	return why_set(r->why, r->whylen, -EBADMSG, "%s record: %s %s at byte %zu",
		       r->rec, what, problem, r->off);
}

static int rd_be(struct rd *r, size_t n, uint64_t *v, const char *what)
{
	if (r->len - r->off < n)
		return rd_fail(r, what, "truncated");
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v = *v << 8 | r->p[r->off + i];
	r->off += n;
	return 0;
}

/* A u16-length string; empty gives NULL.  name: identity rules. */
static int rd_str(struct rd *r, int name, char **out, const char *what)
{
	uint64_t n;
	const char *s;
	int rc = rd_be(r, 2, &n, what);

	*out = NULL;
	if (rc < 0 || n == 0)
		return rc;
	if (r->len - r->off < n)
		return rd_fail(r, what, "truncated");
	s = (const char *)r->p + r->off;
	if (name ? !polrec_name_ok(s, n) : !text_ok(s, n))
		return rd_fail(r, what, "has a forbidden character or length");
	*out = strndup(s, n);
	if (*out == NULL)
		return -ENOMEM;
	r->off += n;
	return 0;
}

static int rd_blob(struct rd *r, size_t max, struct polrec_blob *b,
		   const char *what)
{
	uint64_t n;
	int rc = rd_be(r, 4, &n, what);

	if (rc < 0)
		return rc;
	if (n > max)
		return rd_fail(r, what, "is too long");
	if (r->len - r->off < n)
		return rd_fail(r, what, "truncated");
	b->len = n;
	if (n > 0) {
		b->data = malloc(n);
		if (b->data == NULL)
			return -ENOMEM;
		memcpy(b->data, r->p + r->off, n);
	}
	r->off += n;
	return 0;
}

static int rd_uids(struct rd *r, uint32_t **u, size_t *n)
{
	uint64_t cnt, v;
	int rc = rd_be(r, 2, &cnt, "uid count");

	if (rc < 0)
		return rc;
	if (cnt > POLREC_UIDS_MAX)
		return rd_fail(r, "uid count", "is too large");
	if (r->len - r->off < cnt * 4)
		return rd_fail(r, "uid list", "truncated");
	if (cnt > 0 && (*u = calloc(cnt, sizeof(**u))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		rd_be(r, 4, &v, "uid");
		(*u)[i] = (uint32_t)v;
		if (i > 0 && (*u)[i] <= (*u)[i - 1])
			return rd_fail(r, "uid list", "is not strictly ascending");
	}
	*n = cnt;
	return 0;
}

static int rd_header(struct rd *r, int type)
{
	uint64_t v, t;

	if (rd_be(r, 1, &v, "version") < 0)
		return -EBADMSG;
	if (v == 0)
		return why_set(r->why, r->whylen, -EBADMSG,
			       "%s record: format version 0 is invalid", r->rec);
	if (v > POLREC_VERSION)
		return why_set(r->why, r->whylen, -EBADMSG,
			       "%s record: format version %u is newer than this "
			       "program understands (%u)", r->rec, (unsigned)v,
			       POLREC_VERSION);
	if (rd_be(r, 1, &t, "type") < 0)
		return -EBADMSG;
	if (t != (uint64_t)type)
		return why_set(r->why, r->whylen, -EBADMSG,
			       "%s record: type byte 0x%02x, expected '%c'",
			       r->rec, (unsigned)t, type);
	return 0;
}

static int rd_end(struct rd *r)
{
	if (r->off != r->len)
		return why_set(r->why, r->whylen, -EBADMSG,
			       "%s record: %zu bytes of trailing garbage at "
			       "byte %zu", r->rec, r->len - r->off, r->off);
	return 0;
}

static void rd_init(struct rd *r, const void *buf, size_t len,
		    const char *rec, char *why, size_t whylen)
{
	r->p = buf;
	r->len = buf == NULL ? 0 : len;
	r->off = 0;
	r->rec = rec;
	r->why = why;
	r->whylen = whylen;
	why_clear(why, whylen);
}

/* ---- localid ---- */

static int localid_check(const struct polrec_localid *r, char *why,
			 size_t whylen)
{
	size_t kl = slen(r->keyref);

	if (r->kind < POLREC_CRED_X509 || r->kind > POLREC_CRED_KRB5)
		return why_set(why, whylen, -EINVAL, "unknown credential kind %d",
			       (int)r->kind);
	if (r->roles == 0 || (r->roles & ~POLREC_ROLE_BOTH))
		return why_set(why, whylen, -EINVAL, "bad roles 0x%x", r->roles);
	if (r->flags & ~POLREC_LIDF_MASK)
		return why_set(why, whylen, -EINVAL, "unknown flags 0x%x",
			       (unsigned)r->flags);
	if (!text_ok(r->keyref ? r->keyref : "", kl))
		return why_set(why, whylen, -EINVAL, "bad key reference text");
	switch (r->keyref_type) {
	case POLREC_KEYREF_NONE:
		if (kl != 0 || r->kind != POLREC_CRED_KRB5)
			return why_set(why, whylen, -EINVAL,
				       "a key reference is required");
		break;
	case POLREC_KEYREF_PKCS11:
		if (strncmp(r->keyref ? r->keyref : "", "pkcs11:", 7) != 0)
			return why_set(why, whylen, -EINVAL,
				       "PKCS#11 key reference is not a pkcs11: URI");
		break;
	case POLREC_KEYREF_FILE:
		if (kl < 2 || !paths_is_absolute(r->keyref))
			return why_set(why, whylen, -EINVAL,
				       "key file reference is not an absolute path");
		break;
	default:
		return why_set(why, whylen, -EINVAL, "unknown key reference type %d",
			       (int)r->keyref_type);
	}
	if (r->kind == POLREC_CRED_X509 &&
	    (r->ncerts < 1 || r->ncerts > POLREC_CHAIN_MAX))
		return why_set(why, whylen, -EINVAL,
			       "x509 needs 1 to %d certificates, not %zu",
			       POLREC_CHAIN_MAX, r->ncerts);
	if (r->kind == POLREC_CRED_RAWPK && r->ncerts != 1)
		return why_set(why, whylen, -EINVAL, "rawpk needs one public key");
	if (r->kind == POLREC_CRED_KRB5 && r->ncerts != 0)
		return why_set(why, whylen, -EINVAL, "krb5 carries no certificates");
	for (size_t i = 0; i < r->ncerts; i++)
		if (r->certs[i].len > POLREC_CERT_MAX ||
		    !der_ok(r->certs[i].data, r->certs[i].len))
			return why_set(why, whylen, -EINVAL,
				       "certificate %zu is not one DER SEQUENCE",
				       i + 1);
	if (!uids_ok(r->uids, r->nuids))
		return why_set(why, whylen, -EINVAL,
			       "uid list is too long or not strictly ascending");
	return 0;
}

int polrec_localid_encode(const struct polrec_localid *r, uint8_t **out,
			  size_t *outlen, char *why, size_t whylen)
{
	struct wr w = { 0 };
	int rc = localid_check(r, why, whylen);

	if (rc < 0)
		return rc;
	wr_be(&w, POLREC_VERSION, 1);
	wr_be(&w, T_LOCALID, 1);
	wr_be(&w, r->kind, 1);
	wr_be(&w, r->roles, 1);
	wr_be(&w, r->flags, 4);
	wr_be(&w, r->keyref_type, 1);
	wr_str(&w, r->keyref);
	wr_be(&w, r->ncerts, 1);
	for (size_t i = 0; i < r->ncerts; i++)
		wr_blob(&w, &r->certs[i]);
	wr_uids(&w, r->uids, r->nuids);
	return wr_done(&w, out, outlen);
}

static int localid_fields(struct rd *d, struct polrec_localid *r)
{
	uint64_t kind, roles, flags, kt, n;
	int rc;

	if ((rc = rd_header(d, T_LOCALID)) < 0 ||
	    (rc = rd_be(d, 1, &kind, "kind")) < 0 ||
	    (rc = rd_be(d, 1, &roles, "roles")) < 0 ||
	    (rc = rd_be(d, 4, &flags, "flags")) < 0 ||
	    (rc = rd_be(d, 1, &kt, "key reference type")) < 0)
		return rc;
	r->kind = (enum polrec_cred)kind;
	r->roles = (unsigned)roles;
	r->flags = (uint32_t)flags;
	r->keyref_type = (enum polrec_keyref)kt;
	if ((rc = rd_str(d, 0, &r->keyref, "key reference")) < 0 ||
	    (rc = rd_be(d, 1, &n, "certificate count")) < 0)
		return rc;
	if (n > POLREC_CHAIN_MAX)
		return rd_fail(d, "certificate count", "is too large");
	if (n > 0 && (r->certs = calloc(n, sizeof(*r->certs))) == NULL)
		return -ENOMEM;
	r->ncerts = n;
	for (size_t i = 0; i < n; i++)
		if ((rc = rd_blob(d, POLREC_CERT_MAX, &r->certs[i],
				  "certificate")) < 0)
			return rc;
	if ((rc = rd_uids(d, &r->uids, &r->nuids)) < 0)
		return rc;
	return rd_end(d);
}

/* Run fields, then the semantic check; -EINVAL from it becomes
 * -EBADMSG with the record name in front. */
static int decode_tail(int rc, const char *rec, char *why, size_t whylen)
{
	char tmp[200];

	if (rc != -EINVAL)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s", why != NULL && whylen > 0 ? why : "");
	return why_set(why, whylen, -EBADMSG, "%s record: %s", rec, tmp);
}

int polrec_localid_decode(const void *buf, size_t len,
			  struct polrec_localid *r, char *why, size_t whylen)
{
	struct rd d;
	int rc;

	memset(r, 0, sizeof(*r));
	rd_init(&d, buf, len, "localid", why, whylen);
	rc = localid_fields(&d, r);
	if (rc == 0)
		rc = decode_tail(localid_check(r, why, whylen), "localid", why,
				 whylen);
	if (rc < 0)
		polrec_localid_free(r);
	return rc;
}

void polrec_localid_free(struct polrec_localid *r)
{
	for (size_t i = 0; r->certs != NULL && i < r->ncerts; i++)
		free(r->certs[i].data);
	free(r->certs);
	free(r->keyref);
	free(r->uids);
	memset(r, 0, sizeof(*r));
}

/* ---- disclose ---- */

static int disclose_check(const struct polrec_disclose *r, char *why,
			  size_t whylen)
{
	if (r->nids > POLREC_IDS_MAX)
		return why_set(why, whylen, -EINVAL, "more than %d identities",
			       POLREC_IDS_MAX);
	for (size_t i = 0; i < r->nids; i++) {
		if (!polrec_name_ok(r->ids[i], slen(r->ids[i])))
			return why_set(why, whylen, -EINVAL,
				       "identity %zu is not a valid name", i + 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->ids[i], r->ids[j]) == 0)
				return why_set(why, whylen, -EINVAL,
					       "identity %zu repeats %zu", i + 1,
					       j + 1);
	}
	return 0;
}

int polrec_disclose_encode(const struct polrec_disclose *r, uint8_t **out,
			   size_t *outlen, char *why, size_t whylen)
{
	struct wr w = { 0 };
	int rc = disclose_check(r, why, whylen);

	if (rc < 0)
		return rc;
	wr_be(&w, POLREC_VERSION, 1);
	wr_be(&w, T_DISCLOSE, 1);
	wr_be(&w, r->nids, 2);
	for (size_t i = 0; i < r->nids; i++)
		wr_str(&w, r->ids[i]);
	return wr_done(&w, out, outlen);
}

static int disclose_fields(struct rd *d, struct polrec_disclose *r)
{
	uint64_t n;
	int rc;

	if ((rc = rd_header(d, T_DISCLOSE)) < 0 ||
	    (rc = rd_be(d, 2, &n, "identity count")) < 0)
		return rc;
	if (n > POLREC_IDS_MAX || n * 3 > d->len - d->off)
		return rd_fail(d, "identity count", "is too large");
	if (n > 0 && (r->ids = calloc(n, sizeof(*r->ids))) == NULL)
		return -ENOMEM;
	r->nids = n;
	for (size_t i = 0; i < n; i++) {
		if ((rc = rd_str(d, 1, &r->ids[i], "identity")) < 0)
			return rc;
		if (r->ids[i] == NULL)
			return rd_fail(d, "identity", "is empty");
	}
	return rd_end(d);
}

int polrec_disclose_decode(const void *buf, size_t len,
			   struct polrec_disclose *r, char *why, size_t whylen)
{
	struct rd d;
	int rc;

	memset(r, 0, sizeof(*r));
	rd_init(&d, buf, len, "disclose", why, whylen);
	rc = disclose_fields(&d, r);
	if (rc == 0)
		rc = decode_tail(disclose_check(r, why, whylen), "disclose", why,
				 whylen);
	if (rc < 0)
		polrec_disclose_free(r);
	return rc;
}

void polrec_disclose_free(struct polrec_disclose *r)
{
	for (size_t i = 0; r->ids != NULL && i < r->nids; i++)
		free(r->ids[i]);
	free(r->ids);
	memset(r, 0, sizeof(*r));
}

/* ---- trust ---- */

static int trust_check(const struct polrec_trust *r, char *why, size_t whylen)
{
	int ca = r->kind == POLREC_TRUST_ANCHOR || r->kind == POLREC_TRUST_PIN;
	size_t max = r->kind == POLREC_TRUST_CRL ? POLREC_BLOB_MAX
						 : POLREC_CERT_MAX;

	if (r->kind < POLREC_TRUST_ANCHOR || r->kind > POLREC_TRUST_CRL)
		return why_set(why, whylen, -EINVAL, "unknown trust kind %d",
			       (int)r->kind);
	if (ca && (r->flags == 0 || (r->flags & ~POLREC_TRUSTF_MASK)))
		return why_set(why, whylen, -EINVAL,
			       "flags 0x%x: name clients, servers or both",
			       (unsigned)r->flags);
	if (!ca && r->flags != 0)
		return why_set(why, whylen, -EINVAL, "flags 0x%x on a %s",
			       (unsigned)r->flags, polrec_trust_kind_name(r->kind));
	if (!text_ok(r->valexp ? r->valexp : "", slen(r->valexp)))
		return why_set(why, whylen, -EINVAL, "bad validation expression text");
	if (r->bound_id != NULL &&
	    (r->kind != POLREC_TRUST_PIN ||
	     !polrec_name_ok(r->bound_id, strlen(r->bound_id))))
		return why_set(why, whylen, -EINVAL,
			       "a bound identity must be a valid name on a pin");
	if (r->der.len == 0 && (r->kind == POLREC_TRUST_ANCHOR ||
				r->kind == POLREC_TRUST_CRL))
		return why_set(why, whylen, -EINVAL, "%s without DER data",
			       polrec_trust_kind_name(r->kind));
	if (r->der.len > 0 && (r->der.len > max ||
			       !der_ok(r->der.data, r->der.len)))
		return why_set(why, whylen, -EINVAL,
			       "DER data is not one DER SEQUENCE");
	return 0;
}

int polrec_trust_encode(const struct polrec_trust *r, uint8_t **out,
			size_t *outlen, char *why, size_t whylen)
{
	struct wr w = { 0 };
	int rc = trust_check(r, why, whylen);

	if (rc < 0)
		return rc;
	wr_be(&w, POLREC_VERSION, 1);
	wr_be(&w, T_TRUST, 1);
	wr_be(&w, r->kind, 1);
	wr_be(&w, r->flags, 4);
	wr_str(&w, r->valexp);
	wr_str(&w, r->bound_id);
	wr_blob(&w, &r->der);
	return wr_done(&w, out, outlen);
}

static int trust_fields(struct rd *d, struct polrec_trust *r)
{
	uint64_t kind, flags;
	int rc;

	if ((rc = rd_header(d, T_TRUST)) < 0 ||
	    (rc = rd_be(d, 1, &kind, "kind")) < 0 ||
	    (rc = rd_be(d, 4, &flags, "flags")) < 0)
		return rc;
	r->kind = (enum polrec_trust_kind)kind;
	r->flags = (uint32_t)flags;
	if ((rc = rd_str(d, 0, &r->valexp, "validation expression")) < 0 ||
	    (rc = rd_str(d, 1, &r->bound_id, "bound identity")) < 0 ||
	    (rc = rd_blob(d, POLREC_BLOB_MAX, &r->der, "DER data")) < 0)
		return rc;
	return rd_end(d);
}

int polrec_trust_decode(const void *buf, size_t len, struct polrec_trust *r,
			char *why, size_t whylen)
{
	struct rd d;
	int rc;

	memset(r, 0, sizeof(*r));
	rd_init(&d, buf, len, "trust", why, whylen);
	rc = trust_fields(&d, r);
	if (rc == 0)
		rc = decode_tail(trust_check(r, why, whylen), "trust", why,
				 whylen);
	if (rc < 0)
		polrec_trust_free(r);
	return rc;
}

void polrec_trust_free(struct polrec_trust *r)
{
	free(r->valexp);
	free(r->bound_id);
	free(r->der.data);
	memset(r, 0, sizeof(*r));
}

/* ---- policy ---- */

static int version_ok(unsigned v)
{
	return v == 0 || (v >= POLREC_TLS10 && v <= POLREC_TLS13);
}

static int policy_check(const struct polrec_policy *r, char *why,
			size_t whylen)
{
	if (!version_ok(r->min_version) || !version_ok(r->max_version))
		return why_set(why, whylen, -EINVAL, "unknown TLS version");
	if (r->min_version && r->max_version &&
	    r->min_version > r->max_version)
		return why_set(why, whylen, -EINVAL,
			       "minimum version above maximum version");
	if ((unsigned)r->client_auth > POLREC_CAUTH_REQUIRED)
		return why_set(why, whylen, -EINVAL, "unknown client-auth %d",
			       (int)r->client_auth);
	if (r->kinds & ~POLREC_KINDS_ALL)
		return why_set(why, whylen, -EINVAL, "unknown credential kinds");
	if (!text_ok(r->priority ? r->priority : "", slen(r->priority)) ||
	    !text_ok(r->valexp ? r->valexp : "", slen(r->valexp)))
		return why_set(why, whylen, -EINVAL,
			       "bad priority or validation expression text");
	if (!uids_ok(r->uids, r->nuids))
		return why_set(why, whylen, -EINVAL,
			       "uid list is too long or not strictly ascending");
	return 0;
}

int polrec_policy_encode(const struct polrec_policy *r, uint8_t **out,
			 size_t *outlen, char *why, size_t whylen)
{
	struct wr w = { 0 };
	int rc = policy_check(r, why, whylen);

	if (rc < 0)
		return rc;
	wr_be(&w, POLREC_VERSION, 1);
	wr_be(&w, T_POLICY, 1);
	wr_be(&w, r->min_version, 2);
	wr_be(&w, r->max_version, 2);
	wr_be(&w, r->client_auth, 1);
	wr_be(&w, r->kinds, 1);
	wr_str(&w, r->priority);
	wr_str(&w, r->valexp);
	wr_uids(&w, r->uids, r->nuids);
	return wr_done(&w, out, outlen);
}

static int policy_fields(struct rd *d, struct polrec_policy *r)
{
	uint64_t lo, hi, ca, kinds;
	int rc;

	if ((rc = rd_header(d, T_POLICY)) < 0 ||
	    (rc = rd_be(d, 2, &lo, "minimum version")) < 0 ||
	    (rc = rd_be(d, 2, &hi, "maximum version")) < 0 ||
	    (rc = rd_be(d, 1, &ca, "client-auth")) < 0 ||
	    (rc = rd_be(d, 1, &kinds, "kinds")) < 0)
		return rc;
	r->min_version = (uint16_t)lo;
	r->max_version = (uint16_t)hi;
	r->client_auth = (enum polrec_client_auth)ca;
	r->kinds = (unsigned)kinds;
	if ((rc = rd_str(d, 0, &r->priority, "priority")) < 0 ||
	    (rc = rd_str(d, 0, &r->valexp, "validation expression")) < 0 ||
	    (rc = rd_uids(d, &r->uids, &r->nuids)) < 0)
		return rc;
	return rd_end(d);
}

int polrec_policy_decode(const void *buf, size_t len, struct polrec_policy *r,
			 char *why, size_t whylen)
{
	struct rd d;
	int rc;

	memset(r, 0, sizeof(*r));
	rd_init(&d, buf, len, "policy", why, whylen);
	rc = policy_fields(&d, r);
	if (rc == 0)
		rc = decode_tail(policy_check(r, why, whylen), "policy", why,
				 whylen);
	if (rc < 0)
		polrec_policy_free(r);
	return rc;
}

void polrec_policy_free(struct polrec_policy *r)
{
	free(r->priority);
	free(r->valexp);
	free(r->uids);
	memset(r, 0, sizeof(*r));
}

/* ---- meta serial ---- */

void polrec_serial_encode(uint64_t serial, uint8_t out[POLREC_SERIAL_LEN])
{
	out[0] = POLREC_VERSION;
	out[1] = T_SERIAL;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(serial >> (8 * (7 - i)));
}

int polrec_serial_decode(const void *buf, size_t len, uint64_t *serial,
			 char *why, size_t whylen)
{
	struct rd d;
	int rc;

	rd_init(&d, buf, len, "serial", why, whylen);
	if ((rc = rd_header(&d, T_SERIAL)) < 0 ||
	    (rc = rd_be(&d, 8, serial, "serial")) < 0)
		return rc;
	return rd_end(&d);
}

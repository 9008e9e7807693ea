/* smerge -- shaft's merge rule (see smerge.h and doc/shaft.md). */
#include "smerge.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "psign.h"

#define DOMAIN_LEN (sizeof(PSIGN_DOMAIN))	/* with its NUL */
#define VAL_MAX 256

static void why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static size_t get32(const uint8_t *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	       p[3];
}

int smerge_next_attr(const uint8_t *c, size_t len, size_t *pos,
		     struct smerge_attr *a)
{
	size_t i = *pos, t, n, v;

	if (i == 0) {
		if (len < DOMAIN_LEN ||
		    memcmp(c, PSIGN_DOMAIN, DOMAIN_LEN) != 0)
			return -EBADMSG;
		i = DOMAIN_LEN;
	}
	if (i == len) {
		*pos = i;
		return 0;
	}
	for (t = i; t < len && c[t] != 0; t++)
		;
	if (t == i || t + 5 > len)
		return -EBADMSG;
	a->type = (const char *)c + i;
	a->typelen = t - i;
	a->nvals = get32(c + t + 1);
	a->p = c + t + 5;
	i = t + 5;
	for (n = 0; n < a->nvals; n++) {
		if (len - i < 4)
			return -EBADMSG;
		v = get32(c + i);
		if (len - i - 4 < v)
			return -EBADMSG;
		i += 4 + v;
	}
	a->end = c + i;
	*pos = i;
	return 1;
}

int smerge_attr_val(const struct smerge_attr *a, size_t i,
		    const uint8_t **v, size_t *vlen)
{
	const uint8_t *p = a->p;
	size_t n;

	if (i >= a->nvals)
		return -EBADMSG;
	for (n = 0; n < i; n++)
		p += 4 + get32(p);
	*vlen = get32(p);
	*v = p + 4;
	return 0;
}

/* The attribute named type (lower case): 1 found, 0 absent, -EBADMSG. */
static int find_attr(const uint8_t *c, size_t len, const char *type,
		     struct smerge_attr *out)
{
	size_t pos = 0, tl = strlen(type);
	struct smerge_attr a;
	int rc;

	while ((rc = smerge_next_attr(c, len, &pos, &a)) == 1)
		if (a.typelen == tl && memcmp(a.type, type, tl) == 0) {
			*out = a;
			return 1;
		}
	return rc;
}

int smerge_value(const uint8_t *c, size_t len, const char *type,
		 char *buf, size_t cap)
{
	struct smerge_attr a;
	const uint8_t *v;
	size_t vl;
	int rc = find_attr(c, len, type, &a);

	if (rc <= 0)
		return rc;
	if (a.nvals != 1)
		return -EBADMSG;
	smerge_attr_val(&a, 0, &v, &vl);
	if (vl >= cap || memchr(v, 0, vl) != NULL)
		return -EBADMSG;
	memcpy(buf, v, vl);
	buf[vl] = 0;
	return 1;
}

/* Exactly one value of a key attribute: printable text, no NUL. */
static int one_val(const uint8_t *c, size_t len, const char *type,
		   const char *name, int optional, const uint8_t **v,
		   size_t *vl, char *why, size_t whylen)
{
	struct smerge_attr a;
	size_t i;
	int rc = find_attr(c, len, type, &a);

	if (rc < 0) {
		why_set(why, whylen, "not a canonical entry");
		return rc;
	}
	if (rc == 0 && optional) {
		*v = NULL;
		*vl = 0;
		return 0;
	}
	if (rc == 0 || a.nvals != 1) {
		why_set(why, whylen, "%s: %s value", name,
			rc == 0 || a.nvals == 0 ? "no" : "more than one");
		return -EBADMSG;
	}
	smerge_attr_val(&a, 0, v, vl);
	if (*vl == 0 || *vl > VAL_MAX) {
		why_set(why, whylen, "%s: empty or longer than %d bytes", name,
			VAL_MAX);
		return -EBADMSG;
	}
	for (i = 0; i < *vl; i++)
		if ((*v)[i] < 0x20 || (*v)[i] == 0x7f) {
			why_set(why, whylen, "%s: a control character", name);
			return -EBADMSG;
		}
	return 0;
}

static int val_is(const uint8_t *v, size_t vl, const char *s)
{
	return vl == strlen(s) && strncasecmp((const char *)v, s, vl) == 0;
}

struct kbuf {
	uint8_t key[SMERGE_KEY_MAX];
	size_t keylen;
	char *rdn;		/* NULL: not wanted */
};

/* Key part: ASCII lower case, NUL terminated. */
static void key_add(struct kbuf *k, const uint8_t *v, size_t vl)
{
	size_t i;

	for (i = 0; i < vl; i++)
		k->key[k->keylen++] = (v[i] >= 'A' && v[i] <= 'Z')
					      ? (uint8_t)(v[i] + 32) : v[i];
	k->key[k->keylen++] = 0;
}

/* One RFC 4514 attribute value assertion, appended to k->rdn. */
static void rdn_add(struct kbuf *k, const char *type, const uint8_t *v,
		    size_t vl)
{
	char *o;
	size_t i;

	if (k->rdn == NULL)
		return;
	o = k->rdn + strlen(k->rdn);
	if (o != k->rdn)
		*o++ = '+';
	o += sprintf(o, "%s=", type);
	for (i = 0; i < vl; i++) {
		uint8_t b = v[i];

		if (b < 0x20 || b >= 0x7f)
			o += sprintf(o, "\\%02x", b);
		else if (strchr(",+\"\\<>;=", b) != NULL ||
			 (i == 0 && (b == ' ' || b == '#')) ||
			 (i + 1 == vl && b == ' '))
			o += sprintf(o, "\\%c", b);
		else
			*o++ = (char)b;
	}
	*o = 0;
}

static const char *const class_names[] = {
	NULL, "tlsPoolLocalUserCredential", "tlsPoolIdentityDisclosure",
	"tlsPoolTrustedIssuer", "tlsPoolValidationRequirements",
};

static const char *const tkind_names[] = {
	NULL, "anchor", "pin", "revoked", "crl",
};

static int build(const uint8_t *c, size_t len, struct smerge_key *sk,
		 struct kbuf *k, char *why, size_t whylen)
{
	const uint8_t *v1, *v2, *v3;
	size_t l1, l2, l3, i;
	struct smerge_attr oc;
	int rc, cls = 0, t;

	memset(sk, 0, sizeof(*sk));
	k->keylen = 0;
	if (k->rdn != NULL)
		k->rdn[0] = 0;
	rc = find_attr(c, len, "objectclass", &oc);
	if (rc <= 0) {
		why_set(why, whylen, rc < 0 ? "not a canonical entry"
					    : "no objectClass");
		return -EBADMSG;
	}
	for (i = 0; i < oc.nvals; i++) {
		smerge_attr_val(&oc, i, &v1, &l1);
		for (t = SMERGE_LOCALID; t <= SMERGE_POLICY; t++)
			if (val_is(v1, l1, class_names[t])) {
				if (cls != 0 && cls != t) {
					why_set(why, whylen, "two tlsPool "
						"object classes");
					return -EBADMSG;
				}
				cls = t;
			}
	}
	if (cls == 0) {
		why_set(why, whylen, "not a tlsPool policy entry (object "
			"class)");
		return -EBADMSG;
	}
	sk->cls = (enum smerge_class)cls;
	k->key[k->keylen++] = (uint8_t)('0' + cls);
	k->key[k->keylen++] = 0;
	switch (sk->cls) {
	case SMERGE_LOCALID:
		if ((rc = one_val(c, len, "tlspoolidentity", "tlsPoolIdentity",
				  0, &v1, &l1, why, whylen)) < 0 ||
		    (rc = one_val(c, len, "tlspoolcredentialtype",
				  "tlsPoolCredentialType", 0, &v2, &l2, why,
				  whylen)) < 0)
			return rc;
		key_add(k, v1, l1);
		key_add(k, v2, l2);
		rdn_add(k, "tlsPoolIdentity", v1, l1);
		rdn_add(k, "tlsPoolCredentialType", v2, l2);
		break;
	case SMERGE_DISCLOSE:
		if ((rc = one_val(c, len, "tlspoolselector", "tlsPoolSelector",
				  0, &v1, &l1, why, whylen)) < 0)
			return rc;
		key_add(k, v1, l1);
		rdn_add(k, "tlsPoolSelector", v1, l1);
		break;
	case SMERGE_POLICY:
		if ((rc = one_val(c, len, "tlspoolselector", "tlsPoolSelector",
				  0, &v1, &l1, why, whylen)) < 0 ||
		    (rc = one_val(c, len, "tlspoolsupportedrole",
				  "tlsPoolSupportedRole", 0, &v2, &l2, why,
				  whylen)) < 0)
			return rc;
		if (!val_is(v2, l2, "client") && !val_is(v2, l2, "server")) {
			why_set(why, whylen, "tlsPoolSupportedRole: not client "
				"or server");
			return -EBADMSG;
		}
		key_add(k, v1, l1);
		key_add(k, v2, l2);
		rdn_add(k, "tlsPoolSelector", v1, l1);
		rdn_add(k, "tlsPoolSupportedRole", v2, l2);
		break;
	case SMERGE_TRUST:
		if ((rc = one_val(c, len, "tlspooltrustkind",
				  "tlsPoolTrustKind", 0, &v1, &l1, why,
				  whylen)) < 0 ||
		    (rc = one_val(c, len, "tlspoolkeyhash", "tlsPoolKeyHash",
				  0, &v2, &l2, why, whylen)) < 0 ||
		    (rc = one_val(c, len, "tlspoolidentity", "tlsPoolIdentity",
				  1, &v3, &l3, why, whylen)) < 0)
			return rc;
		for (t = SMERGE_T_ANCHOR; t <= SMERGE_T_CRL; t++)
			if (val_is(v1, l1, tkind_names[t]))
				break;
		if (t > SMERGE_T_CRL) {
			why_set(why, whylen, "tlsPoolTrustKind: not anchor, "
				"pin, revoked or crl");
			return -EBADMSG;
		}
		sk->tkind = (enum smerge_tkind)t;
		if (l2 != 64) {
			why_set(why, whylen, "tlsPoolKeyHash: not 64 hex "
				"digits");
			return -EBADMSG;
		}
		for (i = 0; i < 64; i++) {
			uint8_t b = v2[i];

			if (b >= 'A' && b <= 'F')
				b += 32;
			if (!((b >= '0' && b <= '9') || (b >= 'a' && b <= 'f'))) {
				why_set(why, whylen, "tlsPoolKeyHash: not 64 "
					"hex digits");
				return -EBADMSG;
			}
			sk->hash[i] = (char)b;
		}
		sk->hash[64] = 0;
		key_add(k, (const uint8_t *)tkind_names[t],
			strlen(tkind_names[t]));
		key_add(k, (const uint8_t *)sk->hash, 64);
		rdn_add(k, "tlsPoolTrustKind", v1, l1);
		rdn_add(k, "tlsPoolKeyHash", v2, l2);
		/* only a pin is bound to an identity (its key's ID) */
		if (sk->tkind == SMERGE_T_PIN && v3 != NULL) {
			key_add(k, v3, l3);
			rdn_add(k, "tlsPoolIdentity", v3, l3);
		}
		break;
	}
	return 0;
}

int smerge_key(const uint8_t *c, size_t len, struct smerge_key *sk,
	       char *why, size_t whylen)
{
	struct kbuf k;
	int rc;

	k.rdn = NULL;
	rc = build(c, len, sk, &k, why, whylen);
	if (rc < 0)
		return rc;
	sk->key = malloc(k.keylen);
	if (sk->key == NULL)
		return -ENOMEM;
	memcpy(sk->key, k.key, k.keylen);
	sk->keylen = k.keylen;
	return 0;
}

void smerge_key_free(struct smerge_key *k)
{
	free(k->key);
	k->key = NULL;
	k->keylen = 0;
}

int smerge_rdn(const uint8_t *c, size_t len, char *rdn)
{
	struct smerge_key sk;
	struct kbuf k;

	k.rdn = rdn;
	return build(c, len, &sk, &k, NULL, 0);
}

int smerge_keycmp(const struct smerge_key *a, const struct smerge_key *b)
{
	size_t n = a->keylen < b->keylen ? a->keylen : b->keylen;
	int r = memcmp(a->key, b->key, n);

	if (r != 0)
		return r;
	return a->keylen < b->keylen ? -1 : a->keylen > b->keylen;
}

static int bytecmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	int r = memcmp(a, b, al < bl ? al : bl);

	if (r != 0)
		return r;
	return al < bl ? -1 : al > bl;
}

/* Key, then precedence (highest first), then the bytes: a total order,
 * so the winner of a key never depends on the input order. */
static int cmp_in(const void *pa, const void *pb)
{
	const struct smerge_in *a = *(const struct smerge_in *const *)pa;
	const struct smerge_in *b = *(const struct smerge_in *const *)pb;
	int r = smerge_keycmp(&a->k, &b->k);

	if (r != 0)
		return r;
	if (a->prec != b->prec)
		return a->prec > b->prec ? -1 : 1;
	return bytecmp(a->canon, a->canonlen, b->canon, b->canonlen);
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(*(const char *const *)a, *(const char *const *)b, 64);
}

static int hash_in(const char **set, size_t n, const char *h)
{
	return n > 0 && bsearch(&h, set, n, sizeof(*set), cmp_hash) != NULL;
}

int smerge_run(const struct smerge_in *in, size_t n,
	       const struct smerge_in ***out, size_t *nout)
{
	const struct smerge_in **v = NULL;
	const char **revoked = NULL, **pinned = NULL;
	size_t i, nr = 0, np = 0, k = 0;
	int rc = -ENOMEM;

	*out = NULL;
	*nout = 0;
	v = calloc(n ? n : 1, sizeof(*v));
	revoked = calloc(n ? n : 1, sizeof(*revoked));
	pinned = calloc(n ? n : 1, sizeof(*pinned));
	if (v == NULL || revoked == NULL || pinned == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		v[i] = &in[i];
		if (in[i].k.cls != SMERGE_TRUST)
			continue;
		if (in[i].k.tkind == SMERGE_T_REVOKED)
			revoked[nr++] = in[i].k.hash;
		else if (in[i].k.tkind == SMERGE_T_PIN)
			pinned[np++] = in[i].k.hash;
	}
	qsort(v, n, sizeof(*v), cmp_in);
	qsort(revoked, nr, sizeof(*revoked), cmp_hash);
	qsort(pinned, np, sizeof(*pinned), cmp_hash);
	for (i = 0; i < n; i++) {
		const struct smerge_in *e = v[i];

		/* the first of a key is its winner */
		if (i > 0 && smerge_keycmp(&v[i - 1]->k, &e->k) == 0)
			continue;
		if (e->k.cls == SMERGE_TRUST) {
			/* a revocation wins over an anchor and a pin of the
			 * same key; a pin wins over an anchor */
			if (e->k.tkind == SMERGE_T_ANCHOR &&
			    (hash_in(revoked, nr, e->k.hash) ||
			     hash_in(pinned, np, e->k.hash)))
				continue;
			if (e->k.tkind == SMERGE_T_PIN &&
			    hash_in(revoked, nr, e->k.hash))
				continue;
		}
		v[k++] = e;
	}
	*out = v;
	*nout = k;
	v = NULL;
	rc = 0;
out:
	free(v);
	free(revoked);
	free(pinned);
	return rc;
}

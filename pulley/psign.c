/* psign -- canonical entry form and Ed25519 signatures. */
#include "psign.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TYPE_MAX 128

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

/* Lower-case type without options into buf; 0 or -1 if too long. */
static int norm_type(const char *t, char *buf)
{
	size_t i;

	for (i = 0; t[i] && t[i] != ';'; i++) {
		if (i + 1 >= TYPE_MAX)
			return -1;
		buf[i] = (t[i] >= 'A' && t[i] <= 'Z') ? (char)(t[i] + 32)
						      : t[i];
	}
	buf[i] = 0;
	return 0;
}

static int signed_type(const char *lc)
{
	return strcmp(lc, "objectclass") == 0 ||
	       (strncmp(lc, "tlspool", 7) == 0 &&
		strcmp(lc, PSIGN_SIG_ATTR) != 0);
}

static int cmp_val(const void *a, const void *b)
{
	const struct pscript_value *x = *(const struct pscript_value *const *)a;
	const struct pscript_value *y = *(const struct pscript_value *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->data, y->data, n) : 0;

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

struct sel {
	char type[TYPE_MAX];
	const struct pscript_attr *a;
};

static int cmp_sel(const void *a, const void *b)
{
	return strcmp(((const struct sel *)a)->type,
		      ((const struct sel *)b)->type);
}

static void put32(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int psign_canon(const struct pscript_attr *attrs, size_t nattrs,
		uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
	struct sel *s = NULL;
	const struct pscript_value **vp = NULL;
	size_t ns = 0, i, j, total, maxv = 0, o;
	uint8_t *buf = NULL;
	int rc = 0;

	s = calloc(nattrs ? nattrs : 1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	total = sizeof(PSIGN_DOMAIN);
	for (i = 0; i < nattrs; i++) {
		char lc[TYPE_MAX];

		if (norm_type(attrs[i].type, lc) < 0) {
			/* too long to sign: left out only if it could not
			 * be a signed one (fail closed) */
			if (strncasecmp(attrs[i].type, "tlspool", 7) != 0 &&
			    strncasecmp(attrs[i].type, "objectclass", 11) != 0)
				continue;
			why_set(why, whylen, "attribute type %.40s... too long",
				attrs[i].type);
			rc = -EBADMSG;
			goto out;
		}
		if (!signed_type(lc))
			continue;
		strcpy(s[ns].type, lc);
		s[ns++].a = &attrs[i];
		total += strlen(lc) + 1 + 4;
		for (j = 0; j < attrs[i].nvals; j++)
			total += 4 + attrs[i].vals[j].len;
		if (attrs[i].nvals > maxv)
			maxv = attrs[i].nvals;
	}
	qsort(s, ns, sizeof(*s), cmp_sel);
	for (i = 1; i < ns; i++)
		if (strcmp(s[i].type, s[i - 1].type) == 0) {
			why_set(why, whylen, "attribute %s given twice",
				s[i].type);
			rc = -EBADMSG;
			goto out;
		}
	buf = malloc(total);
	vp = calloc(maxv ? maxv : 1, sizeof(*vp));
	if (buf == NULL || vp == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(buf, PSIGN_DOMAIN, sizeof(PSIGN_DOMAIN));
	o = sizeof(PSIGN_DOMAIN);
	for (i = 0; i < ns; i++) {
		size_t tl = strlen(s[i].type) + 1;

		memcpy(buf + o, s[i].type, tl);
		o += tl;
		put32(buf + o, s[i].a->nvals);
		o += 4;
		for (j = 0; j < s[i].a->nvals; j++)
			vp[j] = &s[i].a->vals[j];
		qsort(vp, s[i].a->nvals, sizeof(*vp), cmp_val);
		for (j = 0; j < s[i].a->nvals; j++) {
			put32(buf + o, vp[j]->len);
			o += 4;
			if (vp[j]->len)
				memcpy(buf + o, vp[j]->data, vp[j]->len);
			o += vp[j]->len;
		}
	}
	*out = buf;
	*outlen = o;
	buf = NULL;
out:
	free(buf);
	free(vp);
	free(s);
	return rc;
}

int psign_verify(const struct pscript_attr *attrs, size_t nattrs,
		 const uint8_t pk[32], char *why, size_t whylen)
{
	const struct pscript_value *sig = NULL;
	uint8_t *c = NULL;
	size_t cl, i;
	int rc, nsig = 0;

	for (i = 0; i < nattrs; i++) {
		char lc[TYPE_MAX];

		if (norm_type(attrs[i].type, lc) == 0 &&
		    strcmp(lc, PSIGN_SIG_ATTR) == 0) {
			nsig += (int)attrs[i].nvals;
			if (attrs[i].nvals > 0)
				sig = &attrs[i].vals[0];
		}
	}
	if (nsig == 0) {
		why_set(why, whylen, "no tlsPoolSignature");
		return -EBADMSG;
	}
	if (nsig > 1) {
		why_set(why, whylen, "more than one tlsPoolSignature");
		return -EBADMSG;
	}
	if (sig->len != crypto_sign_BYTES) {
		why_set(why, whylen, "tlsPoolSignature is %zu bytes, not %d",
			sig->len, crypto_sign_BYTES);
		return -EBADMSG;
	}
	rc = psign_canon(attrs, nattrs, &c, &cl, why, whylen);
	if (rc < 0)
		return rc;
	if (crypto_sign_verify_detached(sig->data, c, cl, pk) != 0) {
		why_set(why, whylen, "signature does not verify against the "
			"configured key");
		rc = -EBADMSG;
	}
	free(c);
	return rc;
}

int psign_sign(const struct pscript_attr *attrs, size_t nattrs,
	       const uint8_t sk[64], uint8_t sig[64])
{
	uint8_t *c = NULL;
	size_t cl;
	int rc;

	rc = psign_canon(attrs, nattrs, &c, &cl, NULL, 0);
	if (rc < 0)
		return rc;
	crypto_sign_detached(sig, NULL, c, cl, sk);
	free(c);
	return 0;
}

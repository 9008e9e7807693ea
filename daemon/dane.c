/* dane -- TLSA records: decoding and our own matching (see dane.h). */
#include "dane.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ldns/ldns.h>

#include "cred.h"

/* ---- decoding ---- */

void dane_rrset_free(struct dane_rrset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->rec[i].data);
	rs->n = 0;
}

static int take_rr(const ldns_rr *rr, struct dane_tlsa *t, char *why,
		   size_t whylen)
{
	const ldns_rdf *f[4];

	if (ldns_rr_rd_count(rr) != 4) {
		snprintf(why, whylen, "TLSA record with %zu fields",
			 ldns_rr_rd_count(rr));
		return -EBADMSG;
	}
	for (int i = 0; i < 4; i++)
		f[i] = ldns_rr_rdf(rr, (size_t)i);
	if (ldns_rdf_size(f[0]) != 1 || ldns_rdf_size(f[1]) != 1 ||
	    ldns_rdf_size(f[2]) != 1 || ldns_rdf_size(f[3]) == 0) {
		snprintf(why, whylen, "malformed TLSA record");
		return -EBADMSG;
	}
	if (ldns_rdf_size(f[3]) > DANE_DATA_MAX) {
		snprintf(why, whylen, "TLSA data of %zu bytes",
			 ldns_rdf_size(f[3]));
		return -E2BIG;
	}
	t->usage = ldns_rdf_data(f[0])[0];
	t->selector = ldns_rdf_data(f[1])[0];
	t->mtype = ldns_rdf_data(f[2])[0];
	t->len = ldns_rdf_size(f[3]);
	t->data = malloc(t->len);
	if (t->data == NULL)
		return -ENOMEM;
	memcpy(t->data, ldns_rdf_data(f[3]), t->len);
	return 0;
}

int dane_parse_answer(const uint8_t *wire, size_t len,
		      struct dane_rrset *out, char *why, size_t whylen)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	int rc = 0;

	out->n = 0;
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
		snprintf(why, whylen, "the DNS answer does not parse");
		return -EBADMSG;
	}
	ans = ldns_pkt_answer(pkt);
	for (size_t i = 0; ans != NULL && i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TLSA ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		if (out->n == DANE_RECORDS_MAX) {
			snprintf(why, whylen, "more than %d TLSA records",
				 DANE_RECORDS_MAX);
			rc = -E2BIG;
			break;
		}
		rc = take_rr(rr, &out->rec[out->n], why, whylen);
		if (rc < 0)
			break;
		out->n++;
	}
	ldns_pkt_free(pkt);
	if (rc < 0)
		dane_rrset_free(out);
	return rc;
}

int dane_usable(const struct dane_tlsa *r)
{
	if (r->usage > DANE_DANE_EE || r->selector > DANE_SEL_SPKI)
		return 0;
	switch (r->mtype) {
	case DANE_MT_FULL: return r->len > 0;
	case DANE_MT_SHA256: return r->len == 32;
	case DANE_MT_SHA512: return r->len == 64;
	default: return 0;
	}
}

void dane_describe(const struct dane_tlsa *r, char *buf, size_t len)
{
	char hex[17];
	size_t i;

	for (i = 0; i < r->len && i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", r->data[i]);
	hex[2 * i] = '\0';
	snprintf(buf, len, "%u %u %u %s%s", r->usage, r->selector, r->mtype,
		 hex, r->len > 8 ? "..." : "");
}

/* ---- matching ---- */

static int digest_matches(const struct dane_tlsa *r, const uint8_t *d,
			  size_t len)
{
	uint8_t h[64];

	switch (r->mtype) {
	case DANE_MT_FULL:
		return r->len == len && memcmp(r->data, d, len) == 0;
	case DANE_MT_SHA256:
		return gnutls_hash_fast(GNUTLS_DIG_SHA256, d, len, h) == 0 &&
		       memcmp(h, r->data, 32) == 0;
	case DANE_MT_SHA512:
		return gnutls_hash_fast(GNUTLS_DIG_SHA512, d, len, h) == 0 &&
		       memcmp(h, r->data, 64) == 0;
	default:
		return 0;
	}
}

static int cert_spki(gnutls_x509_crt_t c, gnutls_datum_t *spki)
{
	gnutls_pubkey_t pk;
	int rc = -EBADMSG;

	spki->data = NULL;
	if (gnutls_pubkey_init(&pk) < 0)
		return -ENOMEM;
	if (gnutls_pubkey_import_x509(pk, c, 0) == 0 &&
	    gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, spki) == 0)
		rc = 0;
	gnutls_pubkey_deinit(pk);
	return rc;
}

/* Whether r matches certificate der (c its parsed form). */
static int cert_matches(const struct dane_tlsa *r, const gnutls_datum_t *der,
			gnutls_x509_crt_t c)
{
	gnutls_datum_t spki;
	int m;

	if (r->selector == DANE_SEL_CERT)
		return digest_matches(r, der->data, der->size);
	if (cert_spki(c, &spki) < 0)
		return 0;
	m = digest_matches(r, spki.data, spki.size);
	gnutls_free(spki.data);
	return m;
}

enum dane_verdict dane_match_spki(const struct dane_rrset *rs,
				  const uint8_t *spki, size_t len,
				  char *why, size_t whylen)
{
	int usable = 0;
	char d[64];

	for (size_t i = 0; i < rs->n; i++) {
		const struct dane_tlsa *r = &rs->rec[i];

		if (!dane_usable(r) || r->usage != DANE_DANE_EE ||
		    r->selector != DANE_SEL_SPKI)
			continue;
		usable = 1;
		if (digest_matches(r, spki, len)) {
			dane_describe(r, d, sizeof(d));
			snprintf(why, whylen, "TLSA %s matches the key", d);
			return DANE_MATCH;
		}
	}
	snprintf(why, whylen, usable ? "no TLSA record matches the key"
				     : "no usable TLSA record for a bare key "
				       "(only 3 1 x applies)");
	return usable ? DANE_NOMATCH : DANE_UNUSABLE;
}

struct chainv {
	const gnutls_datum_t *der;
	gnutls_x509_crt_t *crt;
	unsigned n;
	const char *host, *purpose;
	const struct cred_store *creds;
};

/* Verify the first n certificates of the chain with ta as the only
 * anchor, for the host name and purpose. */
static int path_to(const struct chainv *cv, unsigned n, gnutls_x509_crt_t ta)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t copy;
	gnutls_datum_t der;
	gnutls_typed_vdata_st vd[2];
	unsigned status = 1, nvd = 0;
	int ok = 0;

	if (gnutls_x509_trust_list_init(&tl, 0) < 0)
		return 0;
	if (gnutls_x509_crt_export2(ta, GNUTLS_X509_FMT_DER, &der) < 0)
		goto out;
	if (gnutls_x509_crt_init(&copy) < 0) {
		gnutls_free(der.data);
		goto out;
	}
	if (gnutls_x509_crt_import(copy, &der, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_trust_list_add_cas(tl, &copy, 1, 0) != 1) {
		gnutls_x509_crt_deinit(copy);
		gnutls_free(der.data);
		goto out;
	}
	gnutls_free(der.data);
	if (cv->host != NULL) {
		vd[nvd].type = GNUTLS_DT_DNS_HOSTNAME;
		vd[nvd].data = (unsigned char *)cv->host;
		vd[nvd++].size = 0;
	}
	if (cv->purpose != NULL) {
		vd[nvd].type = GNUTLS_DT_KEY_PURPOSE_OID;
		vd[nvd].data = (unsigned char *)cv->purpose;
		vd[nvd++].size = 0;
	}
	if (gnutls_x509_trust_list_verify_crt2(tl, cv->crt, n, vd, nvd, 0,
					       &status, NULL) == 0 &&
	    status == 0)
		ok = 1;
out:
	gnutls_x509_trust_list_deinit(tl, 1);
	return ok;
}

/* A TA-usage record: some certificate after the leaf, or the record's
 * own certificate, matches and anchors the leaf's path. */
static int ta_matches(const struct chainv *cv, const struct dane_tlsa *r)
{
	for (unsigned i = 1; i < cv->n; i++)
		if (cert_matches(r, &cv->der[i], cv->crt[i]) &&
		    path_to(cv, i, cv->crt[i]))
			return 1;
	if (r->selector == DANE_SEL_CERT && r->mtype == DANE_MT_FULL) {
		gnutls_x509_crt_t c;
		gnutls_datum_t d = { r->data, (unsigned)r->len };
		int ok = 0;

		if (gnutls_x509_crt_init(&c) < 0)
			return 0;
		if (gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_DER) == 0)
			ok = path_to(cv, cv->n, c);
		gnutls_x509_crt_deinit(c);
		return ok;
	}
	return 0;
}

/* PKIX-TA may name the configured anchor the peer did not send. */
static int anchor_matches(const struct chainv *cv, const struct dane_tlsa *r)
{
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t a = NULL;
	gnutls_datum_t der;
	int ok = 0;

	tl = cred_trust_list(cv->creds);
	if (tl == NULL || gnutls_x509_trust_list_get_issuer(tl,
				cv->crt[cv->n - 1], &a, GNUTLS_TL_GET_COPY) < 0)
		return 0;
	if (gnutls_x509_crt_export2(a, GNUTLS_X509_FMT_DER, &der) == 0) {
		ok = cert_matches(r, &der, a) && path_to(cv, cv->n, a);
		gnutls_free(der.data);
	}
	gnutls_x509_crt_deinit(a);
	return ok;
}

static int record_matches(const struct chainv *cv, const struct dane_tlsa *r,
			  int *pkix, char *pwhy, size_t pwhylen)
{
	int m;

	switch (r->usage) {
	case DANE_DANE_EE:
		return cert_matches(r, &cv->der[0], cv->crt[0]);
	case DANE_DANE_TA:
		return ta_matches(cv, r);
	default:
		break;
	}
	/* PKIX-EE and PKIX-TA: the record narrows, PKIX still decides. */
	m = r->usage == DANE_PKIX_EE ? cert_matches(r, &cv->der[0], cv->crt[0])
		: ta_matches(cv, r) || (cv->creds && anchor_matches(cv, r));
	if (!m || cv->creds == NULL)
		return 0;
	if (*pkix < 0)
		*pkix = cred_verify_peer(cv->creds, cv->der, cv->n, cv->host, 0,
					 cv->purpose, pwhy, pwhylen) == 0;
	return *pkix;
}

enum dane_verdict dane_match_chain(const struct dane_rrset *rs,
				   const gnutls_datum_t *chain, unsigned n,
				   const char *host, const char *purpose,
				   const struct cred_store *creds,
				   char *why, size_t whylen)
{
	struct chainv cv = { .der = chain, .n = 0, .host = host,
			     .purpose = purpose, .creds = creds };
	enum dane_verdict v = DANE_UNUSABLE;
	int pkix = -1;
	char d[64], pwhy[96] = "";

	snprintf(why, whylen, "no usable TLSA record");
	if (n == 0)
		return DANE_UNUSABLE;
	cv.crt = calloc(n, sizeof(*cv.crt));
	if (cv.crt == NULL)
		return DANE_NOMATCH;
	for (; cv.n < n; cv.n++)
		if (gnutls_x509_crt_init(&cv.crt[cv.n]) < 0 ||
		    gnutls_x509_crt_import(cv.crt[cv.n], &chain[cv.n],
					   GNUTLS_X509_FMT_DER) < 0) {
			if (cv.crt[cv.n] != NULL)
				gnutls_x509_crt_deinit(cv.crt[cv.n]);
			break;
		}
	if (cv.n == 0) {
		snprintf(why, whylen, "the peer's certificate does not parse");
		v = DANE_NOMATCH;
		goto out;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct dane_tlsa *r = &rs->rec[i];

		if (!dane_usable(r))
			continue;
		v = DANE_NOMATCH;
		if (record_matches(&cv, r, &pkix, pwhy, sizeof(pwhy))) {
			dane_describe(r, d, sizeof(d));
			snprintf(why, whylen, "TLSA %s matches", d);
			v = DANE_MATCH;
			goto out;
		}
	}
	if (v == DANE_NOMATCH)
		snprintf(why, whylen, "no TLSA record matches the chain%s%s",
			 pkix == 0 ? "; PKIX: " : "", pkix == 0 ? pwhy : "");
out:
	for (unsigned i = 0; i < cv.n; i++)
		gnutls_x509_crt_deinit(cv.crt[i]);
	free(cv.crt);
	return v;
}

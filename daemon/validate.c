/* validate -- a policy rule's validation expression on a handshake. */
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#include "cred.h"
#include "ocsp_fetch.h"
#include "policydb.h"
#include "polsel.h"
#include "rawpk.h"
#include "tplog.h"
#include "trust_key.h"
#include "validate_rawpk.h"
#include "valexp.h"

struct vctx {
	const struct validate_input *in;
	const gnutls_datum_t *chain;
	unsigned n;
	gnutls_x509_crt_t leaf;		/* NULL: the peer showed none */
	int rawpk;			/* chain[0] is a raw public key */
	char spki[2 * 32 + 1];		/* SHA-256 of the leaf's SPKI, hex */
	char proven[128];		/* identity some predicate proved */
};

#define NO_CERT "the peer presented no certificate"

static void prove(struct vctx *v, const char *id)
{
	if (v->proven[0] == '\0')
		snprintf(v->proven, sizeof(v->proven), "%s", id);
}

static int hex_sha256(const gnutls_datum_t *d, char out[65])
{
	unsigned char h[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, d->data, d->size, h) < 0)
		return -EIO;
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
	return 0;
}

static int leaf_spki(gnutls_x509_crt_t leaf, char out[65])
{
	gnutls_pubkey_t pk;
	gnutls_datum_t der = { NULL, 0 };
	int rc = -EIO;

	if (gnutls_pubkey_init(&pk) < 0)
		return -ENOMEM;
	if (gnutls_pubkey_import_x509(pk, leaf, 0) == 0 &&
	    gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &der) == 0)
		rc = hex_sha256(&der, out);
	gnutls_free(der.data);
	gnutls_pubkey_deinit(pk);
	return rc;
}

/* ---- identity: I i U ---- */

static int p_identity(struct vctx *v, int domain_ok, char *why, size_t len)
{
	const char *want = v->in->remoteid;
	char id[128];

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	if (want[0] != '\0') {
		if (cred_leaf_matches(v->leaf, want, domain_ok)) {
			prove(v, want);
			return 1;
		}
		snprintf(why, len, "the certificate is not valid for %s", want);
		return 0;
	}
	if (cred_cert_identity(&v->chain[0], id, sizeof(id)) < 0) {
		snprintf(why, len, "the certificate names no identity");
		return 0;
	}
	prove(v, id);
	return 1;
}

static int p_user(struct vctx *v, char *why, size_t len)
{
	const char *want = v->in->remoteid;

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	if (strchr(want, '@') == NULL || want[0] == '@') {
		snprintf(why, len, "the remote identity \"%s\" has no user part",
			 want);
		return 0;
	}
	if (!gnutls_x509_crt_check_email(v->leaf, want, 0)) {
		snprintf(why, len, "the certificate does not name user %s", want);
		return 0;
	}
	prove(v, want);
	return 1;
}

/* ---- trust: T t E e ---- */

static const char *peer_purpose(const struct vctx *v)
{
	return v->in->server ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER;
}

static int p_anchor(struct vctx *v, int self_ok, char *why, size_t len)
{
	unsigned status = 0;

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	/* Only anchors that may vouch for a peer in this role. */
	if (cred_verify_chain(v->in->creds, v->chain, v->n, !v->in->server,
			      why, len) == 0)
		return 1;
	if (!self_ok || v->n != 1 ||
	    !gnutls_x509_crt_check_issuer(v->leaf, v->leaf))
		return 0;
	if (gnutls_x509_crt_verify(v->leaf, &v->leaf, 1,
				   GNUTLS_VERIFY_DISABLE_CA_SIGN, &status) < 0 ||
	    status != 0) {
		snprintf(why, len, "self-signed certificate does not verify");
		return 0;
	}
	return 1;
}

static int p_purpose(struct vctx *v, int absent_ok, char *why, size_t len)
{
	const char *want = peer_purpose(v);
	int seen = 0;

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	for (unsigned i = 0;; i++) {
		char oid[128];
		size_t sz = sizeof(oid);
		int rc = gnutls_x509_crt_get_key_purpose_oid(v->leaf, i, oid,
							     &sz, NULL);

		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (rc < 0)
			continue;
		seen = 1;
		if (strcmp(oid, want) == 0 || strcmp(oid, GNUTLS_KP_ANY) == 0)
			return 1;
	}
	if (!seen && absent_ok)
		return 1;
	snprintf(why, len, seen ? "extended key usage lacks %s"
				: "no extended key usage (%s required)", want);
	return 0;
}

/* ---- pins: P p ---- */

struct pin_scan {
	int any;
};

static int pin_seen(void *ctx, const char *key, const struct polrec_trust *r)
{
	(void)key;
	if (r->kind == POLREC_TRUST_PIN)
		((struct pin_scan *)ctx)->any = 1;
	return 0;
}

/* Trust on first use: record the key as this identity's pin. */
static int pin_write(struct vctx *v, char *why, size_t len)
{
	struct polrec_trust r = { .kind = POLREC_TRUST_PIN };
	struct policydb_txn *txn;
	char key[POLREC_KEY_MAX];
	size_t klen;
	int rc;

	r.flags = v->in->server ? POLREC_TRUSTF_CLIENTS : POLREC_TRUSTF_SERVERS;
	r.bound_id = (char *)v->in->remoteid;
	if (polrec_trust_key(POLREC_TRUST_PIN, v->spki, v->in->remoteid, key,
			     sizeof(key), &klen) < 0 ||
	    policydb_begin(v->in->db, &txn, 1) < 0) {
		snprintf(why, len, "cannot record a pin for %s", v->in->remoteid);
		return 0;
	}
	rc = policydb_trust_put(txn, key, &r, why, len);
	if (rc == 0)
		rc = policydb_commit(txn);
	else
		policydb_abort(txn);
	if (rc < 0) {
		snprintf(why, len, "cannot record a pin for %s: %s",
			 v->in->remoteid, strerror(-rc));
		return 0;
	}
	tplog(LOG_NOTICE, "pinned key %s for %s on first use", v->spki,
	      v->in->remoteid);
	return 1;
}

static int p_pin(struct vctx *v, int tofu, char *why, size_t len)
{
	const char *id = v->in->remoteid;
	struct policydb_txn *txn;
	struct pin_scan scan = { 0 };
	char prefix[POLREC_KEY_MAX];
	/* a pin vouches only for peers in the roles its flags name */
	unsigned role = v->in->server ? POLREC_TRUSTF_CLIENTS
				      : POLREC_TRUSTF_SERVERS;
	int bound, any;

	if (v->leaf == NULL && !v->rawpk)
		return snprintf(why, len, NO_CERT), 0;
	if (v->in->db == NULL || policydb_begin(v->in->db, &txn, 0) < 0)
		return snprintf(why, len, "no policy database for pins"), 0;
	bound = id[0] != '\0' && trust_key_pinned(txn, v->spki, id, role);
	any = trust_key_pinned(txn, v->spki, NULL, role);
	snprintf(prefix, sizeof(prefix), "pin:%s:", id);
	if (!bound && !any && tofu && id[0] != '\0')
		policydb_trust_iterate(txn, prefix, pin_seen, &scan);
	policydb_abort(txn);
	if (bound)
		prove(v, id);
	if (bound || any)
		return 1;
	if (!tofu || id[0] == '\0') {
		snprintf(why, len, "key %.16s... is not pinned%s%s", v->spki,
			 id[0] ? " for " : "", id);
		return 0;
	}
	if (scan.any) {
		snprintf(why, len, "%s is pinned to another key", id);
		return 0;
	}
	if (!pin_write(v, why, len))
		return 0;
	prove(v, id);
	return 1;
}

/* ---- revocation: R r ---- */

enum revo { REVO_UNKNOWN, REVO_GOOD, REVO_REVOKED };

/* The issuer certificate from the chain, when the peer sent it. */
static gnutls_x509_crt_t chain_issuer(struct vctx *v)
{
	gnutls_x509_crt_t c;

	if (v->n < 2 || gnutls_x509_crt_init(&c) < 0)
		return NULL;
	if (gnutls_x509_crt_import(c, &v->chain[1], GNUTLS_X509_FMT_DER) < 0 ||
	    !gnutls_x509_crt_check_issuer(v->leaf, c)) {
		gnutls_x509_crt_deinit(c);
		return NULL;
	}
	return c;
}

/* A CRL from trust.db for the leaf's issuer, signed by that issuer. */
static enum revo crl_status(struct vctx *v, gnutls_x509_crt_t issuer)
{
	struct policydb_txn *txn;
	struct polrec_trust r = { 0 };
	gnutls_datum_t dn;
	gnutls_x509_crl_t crl = NULL;
	char hex[65], key[POLREC_KEY_MAX];
	size_t klen;
	unsigned status = 1;
	enum revo res = REVO_UNKNOWN;

	if (v->in->db == NULL || issuer == NULL ||
	    gnutls_x509_crt_get_raw_issuer_dn(v->leaf, &dn) < 0)
		return REVO_UNKNOWN;
	if (hex_sha256(&dn, hex) < 0 ||
	    polrec_trust_key(POLREC_TRUST_CRL, hex, NULL, key, sizeof(key),
			     &klen) < 0 ||
	    policydb_begin(v->in->db, &txn, 0) < 0)
		goto out;
	if (policydb_trust_get(txn, key, &r) == 0 && r.der.len > 0 &&
	    gnutls_x509_crl_init(&crl) == 0) {
		gnutls_datum_t d = { r.der.data, (unsigned)r.der.len };

		if (gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_DER) == 0 &&
		    gnutls_x509_crl_verify(crl, &issuer, 1, 0, &status) == 0 &&
		    status == 0)
			res = gnutls_x509_crt_check_revocation(v->leaf, &crl, 1)
				? REVO_REVOKED : REVO_GOOD;
	}
	policydb_abort(txn);
out:
	if (crl != NULL)
		gnutls_x509_crl_deinit(crl);
	polrec_trust_free(&r);
	gnutls_free(dn.data);
	return res;
}

/* A stapled OCSP response (client role), signed by the issuer. */
static enum revo ocsp_status(struct vctx *v, gnutls_x509_crt_t issuer)
{
	gnutls_datum_t raw;
	gnutls_ocsp_resp_t resp;
	unsigned verify = 1, cert_status = 0;
	time_t next = 0;
	enum revo res = REVO_UNKNOWN;

	if (issuer == NULL ||
	    gnutls_ocsp_status_request_get(v->in->tls, &raw) < 0 ||
	    gnutls_ocsp_resp_init(&resp) < 0)
		return REVO_UNKNOWN;
	if (gnutls_ocsp_resp_import(resp, &raw) == 0 &&
	    gnutls_ocsp_resp_check_crt(resp, 0, v->leaf) == 0 &&
	    gnutls_ocsp_resp_verify_direct(resp, issuer, &verify, 0) == 0 &&
	    verify == 0 &&
	    gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL,
					&cert_status, NULL, &next, NULL,
					NULL) == 0) {
		if (cert_status == GNUTLS_OCSP_CERT_REVOKED)
			res = REVO_REVOKED;
		else if (cert_status == GNUTLS_OCSP_CERT_GOOD &&
			 (next == (time_t)-1 || next > time(NULL)))
			res = REVO_GOOD;
	}
	gnutls_ocsp_resp_deinit(resp);
	return res;
}

static int p_revocation(struct vctx *v, int unknown_ok, char *why, size_t len)
{
	gnutls_x509_crt_t issuer;
	enum revo crl, ocsp;

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	if (trust_key_revoked(v->in->db, v->spki) != 0) {
		snprintf(why, len, "the peer's key is listed as revoked, or "
			 "trust.db cannot be read");
		return 0;
	}
	issuer = chain_issuer(v);
	crl = crl_status(v, issuer);
	ocsp = v->in->server ? REVO_UNKNOWN : ocsp_status(v, issuer);
	if (issuer != NULL)
		gnutls_x509_crt_deinit(issuer);
	if (crl == REVO_REVOKED || ocsp == REVO_REVOKED) {
		snprintf(why, len, "the certificate is revoked (%s)",
			 crl == REVO_REVOKED ? "CRL" : "OCSP staple");
		return 0;
	}
	if (crl == REVO_GOOD || ocsp == REVO_GOOD || unknown_ok)
		return 1;
	snprintf(why, len, "no current CRL or OCSP staple for the certificate");
	return 0;
}

/* ---- online check: O o (the asking is in ocsp_fetch.c) ---- */

/* The leaf's issuer: from the peer's chain, else from the anchors. */
static gnutls_x509_crt_t find_issuer(struct vctx *v)
{
	gnutls_x509_crt_t c = chain_issuer(v);
	gnutls_x509_trust_list_t tl;

	if (c != NULL || v->in->creds == NULL)
		return c;
	tl = cred_trust_list(v->in->creds);
	if (tl == NULL || gnutls_x509_trust_list_get_issuer(tl, v->leaf, &c,
						GNUTLS_TL_GET_COPY) < 0)
		return NULL;
	return c;
}

/* The stored answer, or one known without asking; -EINPROGRESS with
 * in->ocsp_query filled when the responder must be asked first. */
static int p_online(struct vctx *v, int soft, char *why, size_t len)
{
	const struct ocsp_result *r = v->in->ocsp;
	struct ocsp_query scratch, *q = v->in->ocsp_query;
	struct ocsp_result here;
	gnutls_x509_crt_t issuer;
	int rc;

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	if (r == NULL) {
		issuer = find_issuer(v);
		rc = ocsp_fetch_prepare(v->leaf, issuer, q ? q : &scratch,
					&here);
		if (issuer != NULL)
			gnutls_x509_crt_deinit(issuer);
		if (rc < 0)
			return snprintf(why, len, "out of memory"), rc;
		if (rc > 0 && q != NULL) {
			snprintf(why, len, "waiting for %s", q->url);
			return -EINPROGRESS;
		}
		if (rc > 0) {
			ocsp_query_clear(&scratch);
			here.verdict = OCSP_UNAVAILABLE;
			snprintf(here.why, sizeof(here.why), "the responder "
				 "cannot be asked here");
		}
		r = &here;
	}
	snprintf(why, len, "%s", r->why);
	if (r->verdict == OCSP_GOOD)
		return 1;
	if (r->verdict != OCSP_UNAVAILABLE || !soft)
		return 0;
	tplog(LOG_NOTICE, "rule %s: o holds for %s without an OCSP answer: %s",
	      v->in->rule[0] ? v->in->rule : "(default)",
	      v->in->remoteid[0] ? v->in->remoteid : "the peer", r->why);
	return 1;
}

/* ---- DANE: D d (validate_dane.c) ---- */

static int p_dane(struct vctx *v, int strict, char *why, size_t len)
{
	char host[128] = "";
	int rc;

	if (v->leaf == NULL && !v->rawpk)	/* a raw key: 3 1 x only */
		return snprintf(why, len, NO_CERT), 0;
	rc = validate_dane(v->in, v->chain, v->n, strict, host, sizeof(host),
			   why, len);
	if (rc == 1)
		prove(v, host);
	return rc;
}

/* ---- global directory: G g (validate_gdir.c) ---- */

static int p_gdir(struct vctx *v, int relaxed, char *why, size_t len)
{
	char id[128] = "";
	int rc;

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	rc = validate_gdir(v->in, v->chain, v->n, relaxed, id, sizeof(id),
			   why, len);
	if (rc == 1)
		prove(v, id);
	return rc;
}

/* ---- the session: F f L l Q q S s C c ---- */

static int p_forward_secrecy(struct vctx *v, char *why, size_t len)
{
	gnutls_kx_algorithm_t kx = gnutls_kx_get(v->in->tls);

	if (gnutls_protocol_get_version(v->in->tls) >= GNUTLS_TLS1_3 &&
	    gnutls_group_get(v->in->tls) != 0)
		return 1;	/* TLS 1.3 with an (EC)DHE group */
	switch (kx) {
	case GNUTLS_KX_ECDHE_RSA:
	case GNUTLS_KX_ECDHE_ECDSA:
	case GNUTLS_KX_DHE_RSA:
	case GNUTLS_KX_DHE_DSS:
	case GNUTLS_KX_ECDHE_PSK:
	case GNUTLS_KX_DHE_PSK:
		return 1;
	default:
		snprintf(why, len, "key exchange %s is not ephemeral",
			 gnutls_kx_get_name(kx) ? gnutls_kx_get_name(kx) : "?");
		return 0;
	}
}

int validate_level(gnutls_session_t tls, gnutls_pk_algorithm_t pk,
		   unsigned bits, gnutls_sec_param_t need, char *why,
		   size_t len)
{
	size_t keylen = gnutls_cipher_get_key_size(gnutls_cipher_get(tls));

	if (gnutls_pk_bits_to_sec_param(pk, bits) < need) {
		snprintf(why, len, "peer key %s-%u is weaker than %s",
			 gnutls_pk_get_name(pk), bits,
			 gnutls_sec_param_get_name(need));
		return 0;
	}
	if (keylen * 8 < (need >= GNUTLS_SEC_PARAM_HIGH ? 128u : 112u)) {
		snprintf(why, len, "cipher %s is weaker than %s",
			 gnutls_cipher_get_name(gnutls_cipher_get(tls)),
			 gnutls_sec_param_get_name(need));
		return 0;
	}
	return 1;
}

/* Security bits of the peer's key, the cipher and the group together. */
static int p_level(struct vctx *v, gnutls_sec_param_t need, char *why,
		   size_t len)
{
	unsigned bits = 0;
	gnutls_pk_algorithm_t pk;

	if (v->leaf == NULL)
		return snprintf(why, len, NO_CERT), 0;
	pk = (gnutls_pk_algorithm_t)gnutls_x509_crt_get_pk_algorithm(v->leaf,
								      &bits);
	return validate_level(v->in->tls, pk, bits, need, why, len);
}

static int p_post_quantum(char *why, size_t len)
{
	snprintf(why, len, "GnuTLS %s offers no post-quantum key exchange",
		 gnutls_check_version(NULL));
	return 0;
}

static int p_role(struct vctx *v, int server, char *why, size_t len)
{
	if (v->in->server == server)
		return 1;
	snprintf(why, len, "the local role is %s",
		 v->in->server ? "server" : "client");
	return 0;
}

/* A raw public key: validate_rawpk.h says what each letter means. */
static int rawpk_predicate(struct vctx *v, char letter, char *why, size_t len)
{
	const gnutls_datum_t *spki = &v->chain[0];
	struct validate_rawpk r = { v->in->tls, v->in->server, v->in->remoteid,
				    v->in->db, spki, v->spki };
	char id[128];
	int rc = validate_rawpk_predicate(&r, letter, id, sizeof(id), why, len);

	if (rc == 1 && id[0] != '\0')
		prove(v, id);
	return rc;
}

static int predicate(void *ctx, char letter, char *why, size_t len)
{
	struct vctx *v = ctx;
	int rc;

	if (letter == 'K')
		return validate_kdh_k(v->in, v->proven, sizeof(v->proven), why,
				      len);
	if (v->in->kdh_peer != NULL) {
		rc = validate_kdh(v->in, letter, v->proven, sizeof(v->proven),
				  why, len);
		if (rc != VALIDATE_KDH_GENERIC)
			return rc;
	}
	rc = v->rawpk ? rawpk_predicate(v, letter, why, len)
		      : VALIDATE_RAWPK_COMMON;
	if (rc != VALIDATE_RAWPK_COMMON)
		return rc;
	switch (letter) {
	case 'I': return p_identity(v, 0, why, len);
	case 'i': return p_identity(v, 1, why, len);
	case 'U': return p_user(v, why, len);
	case 'T': return p_anchor(v, 0, why, len);
	case 't': return p_anchor(v, 1, why, len);
	case 'E': return p_purpose(v, 0, why, len);
	case 'e': return p_purpose(v, 1, why, len);
	case 'P': return p_pin(v, 0, why, len);
	case 'p': return p_pin(v, 1, why, len);
	case 'R': return p_revocation(v, 0, why, len);
	case 'r': return p_revocation(v, 1, why, len);
	case 'D':
	case 'd': return p_dane(v, letter == 'D', why, len);
	case 'G':
	case 'g': return p_gdir(v, letter == 'g', why, len);
	case 'O': return p_online(v, 0, why, len);
	case 'o': return p_online(v, 1, why, len);
	case 'F':
	case 'f': return p_forward_secrecy(v, why, len);
	case 'L': return p_level(v, GNUTLS_SEC_PARAM_HIGH, why, len);
	case 'l': return p_level(v, GNUTLS_SEC_PARAM_MEDIUM, why, len);
	case 'Q':
	case 'q': return p_post_quantum(why, len);
	case 'S':
	case 's': return p_role(v, 1, why, len);
	case 'C':
	case 'c': return p_role(v, 0, why, len);
	default:
		snprintf(why, len, "predicate %c is not evaluated here", letter);
		return -EINVAL;
	}
}

static int import_leaf(struct vctx *v)
{
	v->chain = gnutls_certificate_get_peers(v->in->tls, &v->n);
	if (v->chain == NULL || v->n == 0)
		return 0;
	if (gnutls_certificate_type_get2(v->in->tls, GNUTLS_CTYPE_PEERS) ==
	    GNUTLS_CRT_RAWPK) {
		v->rawpk = 1;
		return rawpk_pin_hex(&v->chain[0], v->spki) < 0 ? -EBADMSG : 0;
	}
	if (gnutls_x509_crt_init(&v->leaf) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(v->leaf, &v->chain[0],
				   GNUTLS_X509_FMT_DER) < 0 ||
	    leaf_spki(v->leaf, v->spki) < 0) {
		gnutls_x509_crt_deinit(v->leaf);
		v->leaf = NULL;
		return -EBADMSG;
	}
	return 0;
}

int validate_rule(const struct validate_input *in, char *remoteid_out,
		  size_t remoteid_len, char *why, size_t whylen)
{
	struct vctx v = { .in = in };
	struct valexp *e = NULL;
	char failed[256], err[128];
	size_t pos;
	int rc;

	rc = import_leaf(&v);
	if (rc < 0) {
		snprintf(why, whylen, "rule %s: unusable peer certificate",
			 in->rule);
		return -EACCES;
	}
	rc = valexp_compile(in->valexp, POLSEL_PREDICATES, &e, err,
			    sizeof(err), &pos);
	if (rc == 0)
		rc = valexp_eval(e, predicate, &v, failed, sizeof(failed));
	else
		snprintf(failed, sizeof(failed), "%s", err);
	valexp_free(e);
	if (v.leaf != NULL)
		gnutls_x509_crt_deinit(v.leaf);
	if (rc == -EINPROGRESS)
		return rc;	/* ask the OCSP responder or DNS, then again */
	if (rc != 1) {
		snprintf(why, whylen, "rule %s: validation %s failed: %s",
			 in->rule[0] ? in->rule : "(default)", in->valexp,
			 failed);
		return -EACCES;
	}
	snprintf(remoteid_out, remoteid_len, "%s", v.proven);
	return 0;
}

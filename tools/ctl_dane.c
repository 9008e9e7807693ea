/* ctl_dane -- "tlspool-ctl dane --local ID [--port N]": the TLSA records
 * to publish for a local identity, built with ldns.
 *
 * The chain is the identity's X.509 record in localid.db, else
 * <localid_dir>/<ID>.pem.  Printed: _<port>._tcp.<ID>. TLSA 3 1 1 (the
 * SHA-256 of the leaf's SubjectPublicKeyInfo) and, when the chain holds
 * more than the leaf, 2 1 1 for its last certificate (the trust anchor
 * the server must then send in its chain).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ldns/ldns.h>

#include "ctl.h"
#include "dconfig.h"

#define CHAIN_MAX 16

struct dchain {
	gnutls_datum_t der[CHAIN_MAX];
	unsigned n;
};

static void dchain_free(struct dchain *c)
{
	for (unsigned i = 0; i < c->n; i++)
		gnutls_free(c->der[i].data);
	c->n = 0;
}

static int chain_from_db(struct policydb *db, const char *id,
			 struct dchain *c)
{
	struct policydb_txn *txn;
	struct polrec_localid r = { 0 };
	int rc;

	if (db == NULL || policydb_begin(db, &txn, 0) < 0)
		return -ENOENT;
	rc = policydb_localid_get(txn, id, POLREC_CRED_X509, &r);
	policydb_abort(txn);
	for (size_t i = 0; rc == 0 && i < r.ncerts && c->n < CHAIN_MAX; i++) {
		c->der[c->n].data = gnutls_malloc(r.certs[i].len);
		if (c->der[c->n].data == NULL) {
			rc = -ENOMEM;
			break;
		}
		memcpy(c->der[c->n].data, r.certs[i].data, r.certs[i].len);
		c->der[c->n++].size = (unsigned)r.certs[i].len;
	}
	polrec_localid_free(&r);
	return rc == 0 && c->n == 0 ? -ENOENT : rc;
}

static int chain_from_file(const char *dir, const char *id, struct dchain *c)
{
	char path[4096];
	gnutls_datum_t pem = { NULL, 0 };
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "%s/%s.pem", dir, id);
	if (gnutls_load_file(path, &pem) < 0)
		return -ENOENT;
	if (gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM,
					 0) < 0)
		n = 0;
	for (unsigned i = 0; i < n; i++) {
		if (c->n < CHAIN_MAX &&
		    gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_DER,
					    &c->der[c->n]) == 0)
			c->n++;
		gnutls_x509_crt_deinit(crts[i]);
	}
	gnutls_free(crts);
	gnutls_free(pem.data);
	if (c->n > 0)
		rc = 0;
	return rc;
}

/* The record text, through ldns; 0 or -EINVAL. */
static int print_tlsa(const char *owner, unsigned usage,
		      const gnutls_datum_t *cert)
{
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t pk;
	gnutls_datum_t spki = { NULL, 0 };
	unsigned char h[32];
	char text[512], *out;
	ldns_rr *rr = NULL;
	int rc = -EINVAL;

	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_pubkey_init(&pk) < 0) {
		gnutls_x509_crt_deinit(crt);
		return -ENOMEM;
	}
	if (gnutls_x509_crt_import(crt, cert, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_pubkey_import_x509(pk, crt, 0) < 0 ||
	    gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &spki) < 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data, spki.size, h) < 0)
		goto out;
	int len = snprintf(text, sizeof(text), "%s 3600 IN TLSA %u 1 1 ",
			   owner, usage);
	for (int i = 0; i < 32; i++)
		len += snprintf(text + len, sizeof(text) - (size_t)len, "%02x",
				h[i]);
	if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) !=
	    LDNS_STATUS_OK)
		goto out;
	out = ldns_rr2str(rr);
	if (out != NULL) {
		fputs(out, stdout);	/* ends in a newline */
		free(out);
		rc = 0;
	}
	ldns_rr_free(rr);
out:
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pk);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

int ctl_dane(struct policydb *db, const struct dconfig *cfg, int argc,
	     char **argv)
{
	static const struct option opts[] = {
		{ "local", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *id = NULL;
	unsigned long port = 443;
	struct dchain c = { .n = 0 };
	char owner[300], *end;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			id = optarg;
			break;
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end != '\0' || port == 0 || port > 65535)
				id = NULL, optind = argc + 1;
			break;
		default:
			optind = argc + 1;
		}
		if (optind > argc)
			break;
	}
	if (id == NULL || optind != argc || strchr(id, '/') != NULL ||
	    strchr(id, '@') != NULL || strlen(id) > 200) {
		fprintf(stderr, "usage: tlspool-ctl dane --local HOSTNAME "
			"[--port N]\n");
		return CTL_EXIT_USAGE;
	}
	rc = chain_from_db(db, id, &c);
	if (rc == -ENOENT)
		rc = chain_from_file(cfg->localid_dir, id, &c);
	if (rc < 0) {
		fprintf(stderr, "tlspool-ctl: no X.509 local identity %s "
			"(localid.db or %s/%s.pem)\n", id, cfg->localid_dir, id);
		return CTL_EXIT_FAIL;
	}
	snprintf(owner, sizeof(owner), "_%lu._tcp.%s%s", port, id,
		 id[strlen(id) - 1] == '.' ? "" : ".");
	rc = print_tlsa(owner, 3, &c.der[0]);
	if (rc == 0 && c.n > 1)
		rc = print_tlsa(owner, 2, &c.der[c.n - 1]);
	else if (rc == 0)
		fprintf(stderr, "tlspool-ctl: the chain of %s holds only the "
			"leaf: no 2 1 1 record\n", id);
	dchain_free(&c);
	if (rc < 0) {
		fprintf(stderr, "tlspool-ctl: cannot build the TLSA record of "
			"%s\n", id);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* ctl_rawpk -- tlspool-ctl rawpk: parse, build, print. */
#include "ctl_rawpk.h"
#include "ctl_plat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>

#include "credfile.h"
#include "donai.h"
#include "rawpk.h"

#define URI_MAX 2048

/* the message helper is credfile's */
#define fail credfile_fail

void ctl_rawpk_usage(FILE *out)
{
	fprintf(out,
		"  rawpk generate ID (--key FILE | --pkcs11 TOKEN-URI [--label L]) "
		"[--algo ed25519|ecdsa|rsa] [--role client|server|both] [--uids N,...]\n"
		"  rawpk import ID (--key FILE | --pkcs11 KEY-URI) "
		"[--role client|server|both] [--uids N,...]\n"
		"  rawpk pin ID | rawpk pin --file FILE.pem\n");
}

/* ---- parsing ---- */

static int parse_uids(struct ctl_rawpk_cmd *c, const char *s, char *err,
		      size_t errlen)
{
	const char *p = s;

	c->nuids = 0;
	while (*p != '\0') {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9')
			return fail(err, errlen, -EINVAL, "--uids: \"%s\" is not "
				    "a list of numbers", s);
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || v > UINT32_MAX - 1 || (*end != ',' && *end))
			return fail(err, errlen, -EINVAL, "--uids: bad uid in "
				    "\"%s\"", s);
		if (c->nuids == POLREC_UIDS_MAX)
			return fail(err, errlen, -EINVAL, "--uids: more than %d",
				    POLREC_UIDS_MAX);
		if (c->nuids > 0 && v <= c->uids[c->nuids - 1])
			return fail(err, errlen, -EINVAL, "--uids: list them "
				    "ascending, once each");
		c->uids[c->nuids++] = (uint32_t)v;
		p = *end == ',' && end[1] != '\0' ? end + 1 : end;
		if (*end == ',' && end[1] == '\0')
			return fail(err, errlen, -EINVAL, "--uids: trailing comma");
	}
	return c->nuids ? 0 : fail(err, errlen, -EINVAL, "--uids: empty");
}

static int parse_option(struct ctl_rawpk_cmd *c, const char *opt,
			const char *v, char *err, size_t errlen)
{
	if (strcmp(opt, "--key") == 0 && c->op != CTL_RAWPK_PIN)
		c->keyfile = v;
	else if (strcmp(opt, "--pkcs11") == 0 && c->op != CTL_RAWPK_PIN) {
		if (strncmp(v, "pkcs11:", 7) != 0)
			return fail(err, errlen, -EINVAL, "--pkcs11 wants a "
				    "pkcs11: URI");
		c->pkcs11 = v;
	} else if (strcmp(opt, "--label") == 0 && c->op == CTL_RAWPK_GENERATE) {
		if (v[0] == '\0' || strpbrk(v, ";?/%") != NULL)
			return fail(err, errlen, -EINVAL, "--label: 1 or more "
				    "characters, none of ; ? / %%");
		c->label = v;
	} else if (strcmp(opt, "--algo") == 0 && c->op == CTL_RAWPK_GENERATE) {
		if (strcmp(v, "ed25519") == 0)
			c->algo = CTL_RAWPK_ED25519;
		else if (strcmp(v, "ecdsa") == 0)
			c->algo = CTL_RAWPK_ECDSA;
		else if (strcmp(v, "rsa") == 0)
			c->algo = CTL_RAWPK_RSA;
		else
			return fail(err, errlen, -EINVAL, "--algo is ed25519, "
				    "ecdsa or rsa");
	} else if (strcmp(opt, "--role") == 0 && c->op != CTL_RAWPK_PIN) {
		c->roles = strcmp(v, "client") == 0 ? POLREC_ROLE_CLIENT
			 : strcmp(v, "server") == 0 ? POLREC_ROLE_SERVER
			 : strcmp(v, "both") == 0 ? POLREC_ROLE_BOTH : 0;
		if (c->roles == 0)
			return fail(err, errlen, -EINVAL, "--role is client, "
				    "server or both");
	} else if (strcmp(opt, "--uids") == 0 && c->op != CTL_RAWPK_PIN) {
		return parse_uids(c, v, err, errlen);
	} else if (strcmp(opt, "--file") == 0 && c->op == CTL_RAWPK_PIN) {
		c->file = v;
	} else {
		return fail(err, errlen, -EINVAL, "rawpk: option %s is not "
			    "known here", opt);
	}
	return 0;
}

static int parse_id(struct ctl_rawpk_cmd *c, const char *s, char *err,
		    size_t errlen)
{
	struct donai d;
	char why[128];

	if (donai_parse(s, &d, why, sizeof(why)) < 0 ||
	    donai_format(&d, c->id, sizeof(c->id)) < 0)
		return fail(err, errlen, -EINVAL, "rawpk: \"%s\" is not an "
			    "identity (user@domain or domain)", s);
	return 0;
}

int ctl_rawpk_parse(int argc, char **argv, struct ctl_rawpk_cmd *c,
		    char *err, size_t errlen)
{
	int i = 1, rc;

	memset(c, 0, sizeof(*c));
	if (argc < 1)
		return fail(err, errlen, -EINVAL, "rawpk: generate, import or "
			    "pin");
	if (strcmp(argv[0], "generate") == 0)
		c->op = CTL_RAWPK_GENERATE;
	else if (strcmp(argv[0], "import") == 0)
		c->op = CTL_RAWPK_IMPORT;
	else if (strcmp(argv[0], "pin") == 0)
		c->op = CTL_RAWPK_PIN;
	else
		return fail(err, errlen, -EINVAL, "rawpk: unknown operation "
			    "\"%s\" (generate, import or pin)", argv[0]);
	if (i < argc && strncmp(argv[i], "--", 2) != 0) {
		rc = parse_id(c, argv[i++], err, errlen);
		if (rc < 0)
			return rc;
	}
	for (; i < argc; i += 2) {
		if (strncmp(argv[i], "--", 2) != 0)
			return fail(err, errlen, -EINVAL, "rawpk: unexpected "
				    "argument \"%s\"", argv[i]);
		if (i + 1 >= argc)
			return fail(err, errlen, -EINVAL, "rawpk: %s needs a "
				    "value", argv[i]);
		rc = parse_option(c, argv[i], argv[i + 1], err, errlen);
		if (rc < 0)
			return rc;
	}
	if (c->op == CTL_RAWPK_PIN)
		return (c->id[0] != '\0') == (c->file != NULL)
		       ? fail(err, errlen, -EINVAL, "rawpk pin: an identity or "
			      "--file, one of them") : 0;
	if (c->id[0] == '\0')
		return fail(err, errlen, -EINVAL, "rawpk %s: which identity?",
			    argv[0]);
	if ((c->keyfile != NULL) == (c->pkcs11 != NULL))
		return fail(err, errlen, -EINVAL, "rawpk %s: --key or --pkcs11, "
			    "one of them", argv[0]);
	return 0;
}

/* ---- keys ---- */

static int spki_out(gnutls_pubkey_t pub, uint8_t **spki, size_t *len)
{
	gnutls_datum_t d;

	if (rawpk_spki_of_pubkey(pub, &d) < 0)
		return -EINVAL;
	*spki = malloc(d.size);
	if (*spki != NULL)
		memcpy(*spki, d.data, d.size);
	*len = d.size;
	gnutls_free(d.data);
	return *spki ? 0 : -ENOMEM;
}

static int privkey_spki(gnutls_privkey_t pk, uint8_t **spki, size_t *len)
{
	gnutls_pubkey_t pub;
	int rc = gnutls_pubkey_init(&pub);

	if (rc < 0)
		return -ENOMEM;
	rc = gnutls_pubkey_import_privkey(pub, pk, 0, 0) < 0 ? -EINVAL
		: spki_out(pub, spki, len);
	gnutls_pubkey_deinit(pub);
	return rc;
}

static int keyfile_spki(const char *path, uint8_t **spki, size_t *len,
			char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 };
	gnutls_privkey_t pk = NULL;
	int rc = credfile_load(path, &data, err, errlen);

	if (rc < 0)
		return rc;
	rc = gnutls_privkey_init(&pk);
	if (rc == 0)
		rc = gnutls_privkey_import_x509_raw(pk, &data,
						    GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_memset(data.data, 0, data.size);
	gnutls_free(data.data);
	if (rc < 0)
		rc = fail(err, errlen, -EINVAL, "%s: not an unencrypted PEM "
			  "private key: %s", path, gnutls_strerror(rc));
	else if (privkey_spki(pk, spki, len) < 0)
		rc = fail(err, errlen, -EINVAL, "%s: no public key", path);
	if (pk != NULL)
		gnutls_privkey_deinit(pk);
	return rc;
}

static int pkcs11_setup(char *err, size_t errlen)
{
	const char *mod = getenv("TLSPOOL_PKCS11_MODULE");
	int rc;

	if (mod == NULL || mod[0] == '\0')
		return 0;	/* GnuTLS loads p11-kit's modules */
	rc = gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL);
	if (rc >= 0)
		rc = gnutls_pkcs11_add_provider(mod, NULL);
	return rc < 0 ? fail(err, errlen, -EIO, "PKCS#11 module %s: %s", mod,
			     gnutls_strerror(rc)) : 0;
}

static int url_spki(const char *uri, uint8_t **spki, size_t *len, char *err,
		    size_t errlen)
{
	gnutls_privkey_t pk = NULL;
	int rc = pkcs11_setup(err, errlen);

	if (rc < 0)
		return rc;
	rc = gnutls_privkey_init(&pk);
	if (rc == 0)
		rc = gnutls_privkey_import_url(pk, uri, 0);
	if (rc < 0)	/* the URI may hold a pin-value: not shown */
		rc = fail(err, errlen, -EINVAL, "PKCS#11 key: %s",
			  gnutls_strerror(rc));
	else if (privkey_spki(pk, spki, len) < 0)
		rc = fail(err, errlen, -EINVAL, "PKCS#11 key: no public key");
	if (pk != NULL)
		gnutls_privkey_deinit(pk);
	return rc;
}

static void algo_params(enum ctl_rawpk_algo a, gnutls_pk_algorithm_t *pk,
			unsigned *bits)
{
	switch (a) {
	case CTL_RAWPK_ECDSA:
		*pk = GNUTLS_PK_ECDSA;
		*bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1);
		break;
	case CTL_RAWPK_RSA:
		*pk = GNUTLS_PK_RSA;
		*bits = 3072;
		break;
	default:
		*pk = GNUTLS_PK_EDDSA_ED25519;
		*bits = GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_ED25519);
		break;
	}
}

/* A new key in a new file (0600, never over an existing one). */
static int generate_file(const struct ctl_rawpk_cmd *c, char *err,
			 size_t errlen)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	gnutls_pk_algorithm_t pk;
	unsigned bits;
	int fd = -1, rc;

	algo_params(c->algo, &pk, &bits);
	rc = gnutls_x509_privkey_init(&key);
	if (rc == 0)
		rc = gnutls_x509_privkey_generate2(key, pk, bits, 0, NULL, 0);
	if (rc == 0)
		rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM,
						       NULL, GNUTLS_PKCS_PLAIN,
						       &pem);
	if (rc < 0) {
		rc = fail(err, errlen, -EIO, "key generation: %s",
			  gnutls_strerror(rc));
		goto out;
	}
	fd = open(c->keyfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, pem.data, pem.size) != (ssize_t)pem.size ||
	    fsync(fd) < 0) {
		rc = fail(err, errlen, -errno, "%s: %s", c->keyfile,
			  strerror(errno));
		if (fd >= 0)
			unlink(c->keyfile);
	}
out:
	if (fd >= 0)
		close(fd);
	if (pem.data != NULL) {
		gnutls_memset(pem.data, 0, pem.size);
		gnutls_free(pem.data);
	}
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

/* The token URI without its query (a pin-value stays out of the
 * record), with the new key's object and type. */
static int key_uri(const char *token, const char *label, char *out,
		   size_t len)
{
	size_t tl = strcspn(token, "?");
	int n;

	while (tl > 7 && token[tl - 1] == ';')
		tl--;
	n = snprintf(out, len, "%.*s%sobject=%s;type=private", (int)tl, token,
		     tl > 7 ? ";" : "", label);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static int generate_token(const struct ctl_rawpk_cmd *c, char *uri,
			  size_t urilen, uint8_t **spki, size_t *len,
			  char *err, size_t errlen)
{
	const char *label = c->label ? c->label : c->id;
	gnutls_datum_t pub = { NULL, 0 };
	gnutls_pubkey_t pk = NULL;
	gnutls_pk_algorithm_t algo;
	unsigned bits;
	int rc = pkcs11_setup(err, errlen);

	if (rc < 0)
		return rc;
	if (strpbrk(label, ";?/%") != NULL)
		return fail(err, errlen, -EINVAL, "label \"%s\": use --label",
			    label);
	if (key_uri(c->pkcs11, label, uri, urilen) < 0)
		return fail(err, errlen, -ENOSPC, "PKCS#11 URI too long");
	algo_params(c->algo, &algo, &bits);
	rc = gnutls_pkcs11_privkey_generate3(c->pkcs11, algo, bits, label,
					     NULL, GNUTLS_X509_FMT_DER, &pub, 0,
					     GNUTLS_PKCS11_OBJ_FLAG_LOGIN |
					     GNUTLS_PKCS11_OBJ_FLAG_MARK_PRIVATE |
					     GNUTLS_PKCS11_OBJ_FLAG_MARK_SENSITIVE);
	if (rc < 0)
		return fail(err, errlen, -EIO, "key generation on the token: %s",
			    gnutls_strerror(rc));
	rc = gnutls_pubkey_init(&pk);
	if (rc == 0)
		rc = gnutls_pubkey_import(pk, &pub, GNUTLS_X509_FMT_DER);
	rc = rc < 0 ? fail(err, errlen, -EIO, "the token's public key: %s",
			   gnutls_strerror(rc))
		    : spki_out(pk, spki, len);
	if (pk != NULL)
		gnutls_pubkey_deinit(pk);
	gnutls_free(pub.data);
	return rc;
}

/* ---- the record ---- */

static int put_record(const struct ctl_rawpk_cmd *c, struct ctl_actions *acts,
		      enum polrec_keyref type, const char *ref,
		      const uint8_t *spki, size_t len, char *err,
		      size_t errlen)
{
	struct polrec_blob blob = { (uint8_t *)spki, len };
	struct polrec_localid r = { 0 };
	char key[POLREC_KEY_MAX + 1], label[CTL_NAMELEN + 32];
	size_t kl;
	int rc;

	r.kind = POLREC_CRED_RAWPK;
	r.roles = c->roles ? c->roles : POLREC_ROLE_BOTH;
	r.keyref_type = type;
	r.keyref = (char *)ref;
	r.certs = &blob;
	r.ncerts = 1;
	r.uids = (uint32_t *)c->uids;
	r.nuids = c->nuids;
	snprintf(label, sizeof(label), "localid %s rawpk", c->id);
	rc = polrec_localid_key(c->id, POLREC_CRED_RAWPK, key, sizeof(key), &kl);
	if (rc < 0)
		return fail(err, errlen, rc, "%s: %s", label, strerror(-rc));
	return ctl_action_put(acts, POLICYDB_LOCALID, key, kl, label, &r, err,
			      errlen);
}

int ctl_rawpk_build(const struct ctl_rawpk_cmd *c, struct ctl_actions *acts,
		    uint8_t **spki, size_t *spkilen, char *err, size_t errlen)
{
	char ref[URI_MAX > PATH_MAX ? URI_MAX : PATH_MAX];
	int rc = 0;

	*spki = NULL;
	if (c->keyfile != NULL) {
		if (c->op == CTL_RAWPK_GENERATE)
			rc = generate_file(c, err, errlen);
		if (rc == 0)
			rc = keyfile_spki(c->keyfile, spki, spkilen, err, errlen);
		if (rc == 0 &&
		    (rc = ctl_plat_abspath(c->keyfile, ref, sizeof(ref))) < 0)
			rc = fail(err, errlen, rc, "%s: %s", c->keyfile,
				  strerror(-rc));
	} else if (c->op == CTL_RAWPK_GENERATE) {
		rc = generate_token(c, ref, sizeof(ref), spki, spkilen, err,
				    errlen);
	} else {
		if (strlen(c->pkcs11) >= sizeof(ref))
			return fail(err, errlen, -ENOSPC, "PKCS#11 URI too long");
		snprintf(ref, sizeof(ref), "%s", c->pkcs11);
		rc = url_spki(c->pkcs11, spki, spkilen, err, errlen);
	}
	if (rc == 0)
		rc = put_record(c, acts, c->keyfile ? POLREC_KEYREF_FILE
				: POLREC_KEYREF_PKCS11, ref, *spki, *spkilen,
				err, errlen);
	gnutls_memset(ref, 0, sizeof(ref));	/* may hold a pin-value */
	if (rc < 0) {
		free(*spki);
		*spki = NULL;
	}
	return rc;
}

int ctl_rawpk_file_spki(const char *path, uint8_t **spki, size_t *spkilen,
			char *err, size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 }, der = { NULL, 0 };
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	int rc = credfile_load(path, &data, err, errlen);

	if (rc < 0)
		return rc;
	if (rawpk_pem_is_pubkey(&data)) {
		rc = rawpk_spki_import(&data, GNUTLS_X509_FMT_PEM, &der);
	} else {
		rc = gnutls_x509_crt_init(&crt) < 0 ||
		     gnutls_pubkey_init(&pub) < 0 ||
		     gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_PEM) < 0 ||
		     gnutls_pubkey_import_x509(pub, crt, 0) < 0
		     ? -EINVAL : rawpk_spki_of_pubkey(pub, &der);
	}
	gnutls_free(data.data);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (rc < 0)
		return fail(err, errlen, -EINVAL, "%s: neither a PEM public key "
			    "nor a PEM certificate", path);
	*spki = malloc(der.size);
	if (*spki != NULL)
		memcpy(*spki, der.data, der.size);
	*spkilen = der.size;
	gnutls_free(der.data);
	return *spki ? 0 : -ENOMEM;
}

int ctl_rawpk_file_pin(const char *path, char hex[65], char *err,
		       size_t errlen)
{
	gnutls_datum_t data = { NULL, 0 }, der = { NULL, 0 };
	int rc = credfile_load(path, &data, err, errlen);

	if (rc < 0)
		return rc;
	rc = 0;
	if (rawpk_pem_is_pubkey(&data)) {
		rc = rawpk_spki_import(&data, GNUTLS_X509_FMT_PEM, &der) == 0 &&
		     rawpk_pin_hex(&der, hex) == 0 ? 1
		     : fail(err, errlen, -EINVAL, "%s: the public key does "
			    "not parse", path);
	}
	gnutls_free(der.data);
	gnutls_free(data.data);
	return rc;
}

int ctl_rawpk_db_spki(struct policydb *db, const char *id, uint8_t **spki,
		      size_t *spkilen, char *err, size_t errlen)
{
	struct polrec_localid r = { 0 };
	struct policydb_txn *txn;
	int rc = policydb_begin(db, &txn, 0);

	if (rc < 0)
		return fail(err, errlen, rc, "cannot begin a transaction: %s",
			    strerror(-rc));
	rc = policydb_localid_get(txn, id, POLREC_CRED_RAWPK, &r);
	policydb_abort(txn);
	if (rc == 0 && r.ncerts == 1) {
		*spki = malloc(r.certs[0].len);
		if (*spki == NULL)
			rc = -ENOMEM;
		else
			memcpy(*spki, r.certs[0].data, r.certs[0].len);
		*spkilen = r.certs[0].len;
	} else if (rc == 0) {
		rc = -EBADMSG;
	}
	polrec_localid_free(&r);
	if (rc < 0)
		return fail(err, errlen, rc, "localid %s rawpk: %s", id,
			    rc == -ENOENT ? "no such record" : strerror(-rc));
	return 0;
}

int ctl_rawpk_print_pin(FILE *out, const uint8_t *spki, size_t len)
{
	gnutls_datum_t d = { (unsigned char *)spki, (unsigned)len };
	char hex[RAWPK_HEX_LEN + 1], tlsa[RAWPK_HEX_LEN + 8];

	if (rawpk_pin_hex(&d, hex) < 0 ||
	    rawpk_tlsa_311(&d, tlsa, sizeof(tlsa)) < 0)
		return -EINVAL;
	fprintf(out, "sha256 %s\ntlsa %s\n", hex, tlsa);
	return 0;
}

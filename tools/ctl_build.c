/* tlspool-ctl: turn a parsed command into encoded records, reading the
 * certificate, key and CRL files it names.  Key bytes are read only to
 * check that a key file fits its certificate; they never leave here. */
#include "ctl.h"
#include "ctl_plat.h"
#include "ctl_rawpk.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "credfile.h"
#include "donai.h"

/* the message helper is credfile's */
#define fail credfile_fail

/* ---- certificates ---- */

int ctl_der_spki_hex(const struct polrec_blob *der, char hex[65])
{
	gnutls_datum_t d = { der->data, (unsigned)der->len };
	gnutls_x509_crt_t crt;
	uint8_t id[32];
	int rc = gnutls_x509_crt_init(&crt);

	if (rc < 0)
		return -ENOMEM;
	rc = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
	rc = rc < 0 ? -EINVAL : credfile_spki_id(crt, id, hex);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* The key file must be a private key for the leaf.  An encrypted key
 * cannot be checked here (the daemon asks for its PIN): a warning. */
static int check_keyfile(const char *path, gnutls_x509_crt_t leaf, char *err,
			 size_t errlen)
{
	const char *whose = "the first certificate of the chain";
	uint8_t id[32];
	int rc;

	if (credfile_spki_id(leaf, id, NULL) < 0)
		return fail(err, errlen, -EINVAL, "%s does not belong to %s",
			    path, whose);
	rc = credfile_keyfile(path, id, whose, err, errlen);
	if (rc == 1)
		fprintf(stderr, "tlspool-ctl: warning: %s is encrypted; not "
			"checked against the certificate\n", path);
	return rc < 0 ? rc : 0;
}

/* ---- actions ---- */

static struct ctl_action *add(struct ctl_actions *acts)
{
	struct ctl_action *a;

	if (acts->n == acts->cap) {
		size_t cap = acts->cap ? acts->cap * 2 : 8;
		struct ctl_action *na = realloc(acts->a, cap * sizeof(*na));

		if (na == NULL)
			return NULL;
		acts->a = na;
		acts->cap = cap;
	}
	a = &acts->a[acts->n++];
	memset(a, 0, sizeof(*a));
	return a;
}

void ctl_actions_free(struct ctl_actions *acts)
{
	for (size_t i = 0; i < acts->n; i++)
		free(acts->a[i].val);
	free(acts->a);
	memset(acts, 0, sizeof(*acts));
}

int ctl_action_put(struct ctl_actions *acts, enum policydb_which db,
		   const char *key, size_t keylen, const char *label,
		   const void *rec, char *err, size_t errlen)
{
	struct ctl_action *a = add(acts);
	char why[256] = "";
	int rc;

	if (a == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	a->db = db;
	memcpy(a->key, key, keylen);
	a->keylen = keylen;
	snprintf(a->label, sizeof(a->label), "%s", label);
	switch (db) {
	case POLICYDB_LOCALID:
		rc = polrec_localid_encode(rec, &a->val, &a->vallen, why, sizeof(why));
		break;
	case POLICYDB_DISCLOSE:
		rc = polrec_disclose_encode(rec, &a->val, &a->vallen, why, sizeof(why));
		break;
	case POLICYDB_TRUST:
		rc = polrec_trust_encode(rec, &a->val, &a->vallen, why, sizeof(why));
		break;
	default:
		rc = polrec_policy_encode(rec, &a->val, &a->vallen, why, sizeof(why));
		break;
	}
	if (rc < 0) {
		acts->n--;
		return fail(err, errlen, rc, "%s: %s", label,
			    why[0] ? why : strerror(-rc));
	}
	return 0;
}

static int add_del(struct ctl_actions *acts, const struct ctl_cmd *c,
		   char *err, size_t errlen)
{
	struct ctl_action *a = add(acts);
	int rc = 0;

	if (a == NULL)
		return fail(err, errlen, -ENOMEM, "out of memory");
	a->db = c->db;
	a->del = 1;
	if (c->db == POLICYDB_POLICY) {
		rc = polrec_policy_key(c->name, c->role, a->key, sizeof(a->key),
				       &a->keylen);
		snprintf(a->label, sizeof(a->label), "policy %s %s", c->name,
			 polrec_role_name(c->role));
	} else {
		a->keylen = strlen(c->name);
		memcpy(a->key, c->name, a->keylen + 1);
		a->localid_kind = c->kind;
		snprintf(a->label, sizeof(a->label), "%s %s%s%s",
			 policydb_name(c->db), c->name, c->kind ? " " : "",
			 c->kind ? polrec_cred_name(c->kind) : "");
	}
	if (rc < 0)
		acts->n--;
	return rc < 0 ? fail(err, errlen, rc, "bad key") : 0;
}

/* A localid x509 record for id from chain + (key file | URI). */
static int build_localid(struct ctl_actions *acts, const char *id,
			 const char *chainfile, const char *keyfile,
			 const char *uri, const struct ctl_cmd *c, char *err,
			 size_t errlen)
{
	struct polrec_blob certs[POLREC_CHAIN_MAX];
	struct polrec_localid r = { 0 };
	struct credfile_chain ch;
	char keypath[PATH_MAX], key[POLREC_KEY_MAX + 1], label[CTL_NAMELEN + 32];
	size_t kl;
	int rc = credfile_chain(chainfile, &ch, err, errlen);

	if (rc < 0)
		return rc;
	memset(certs, 0, sizeof(certs));
	if (keyfile != NULL) {
		rc = check_keyfile(keyfile, ch.crts[0], err, errlen);
		if (rc == 0 &&
		    (rc = ctl_plat_abspath(keyfile, keypath, sizeof(keypath))) < 0)
			rc = fail(err, errlen, rc, "%s: %s", keyfile,
				  strerror(-rc));
	}
	for (unsigned i = 0; rc == 0 && i < ch.n; i++)
		rc = credfile_der(ch.crts[i], &certs[i]);
	if (rc < 0)
		goto out;
	r.kind = POLREC_CRED_X509;
	r.roles = c->roles ? c->roles : POLREC_ROLE_BOTH;
	r.keyref_type = keyfile ? POLREC_KEYREF_FILE : POLREC_KEYREF_PKCS11;
	r.keyref = keyfile ? keypath : (char *)uri;
	r.certs = certs;
	r.ncerts = ch.n;
	r.uids = (uint32_t *)c->uids;
	r.nuids = c->nuids;
	rc = polrec_localid_key(id, POLREC_CRED_X509, key, sizeof(key), &kl);
	if (rc < 0) {
		rc = fail(err, errlen, rc, "bad identity %s", id);
		goto out;
	}
	snprintf(label, sizeof(label), "localid %s x509", id);
	rc = ctl_action_put(acts, POLICYDB_LOCALID, key, kl, label, &r, err, errlen);
out:
	for (unsigned i = 0; i < ch.n; i++)
		free(certs[i].data);
	credfile_chain_free(&ch);
	return rc;
}

/* ---- import-dir: <id>.pem with <id>.key or <id>.p11 ---- */

static int read_uri(const char *path, char *uri, size_t cap, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fgets(uri, (int)cap, f) == NULL)
		uri[0] = '\0';
	fclose(f);
	uri[strcspn(uri, "\r\n")] = '\0';
	if (strncmp(uri, "pkcs11:", 7) != 0)
		return fail(err, errlen, -EINVAL, "%s: first line is not a pkcs11: "
			    "URI", path);
	return 0;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static int import_one(struct ctl_actions *acts, const struct ctl_cmd *c,
		      const char *name, char *err, size_t errlen)
{
	char pem[PATH_MAX], keyf[PATH_MAX], p11[PATH_MAX], uri[POLREC_TEXT_MAX];
	char id[CTL_NAMELEN], why[128];
	size_t nl = strlen(name) - 4;
	struct donai d;
	int hk, hp, rc;

	snprintf(id, sizeof(id), "%.*s", (int)nl, name);
	if (donai_parse(id, &d, why, sizeof(why)) < 0)
		return fail(err, errlen, -EINVAL, "%s/%s: '%s' is not an identity: "
			    "%s", c->dir, name, id, why);
	donai_format(&d, id, sizeof(id));
	if ((size_t)snprintf(pem, sizeof(pem), "%s/%s", c->dir, name) >= sizeof(pem) ||
	    (size_t)snprintf(keyf, sizeof(keyf), "%s/%.*s.key", c->dir, (int)nl, name) >= sizeof(keyf) ||
	    (size_t)snprintf(p11, sizeof(p11), "%s/%.*s.p11", c->dir, (int)nl, name) >= sizeof(p11))
		return fail(err, errlen, -ENAMETOOLONG, "%s: path too long", name);
	hk = exists(keyf);
	hp = exists(p11);
	if (hk == hp)
		return fail(err, errlen, -EINVAL, "%s: %s", pem,
			    hk ? "both a .key and a .p11 file" : "no .key or .p11 file");
	if (hp && (rc = read_uri(p11, uri, sizeof(uri), err, errlen)) < 0)
		return rc;
	return build_localid(acts, id, pem, hk ? keyf : NULL, hp ? uri : NULL,
			     c, err, errlen);
}

static int pem_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".pem") == 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The <identity>.pem names in dir, sorted (opendir/readdir: scandir is
 * not on every platform).  The count, or -errno. */
static int pem_names(const char *dir, char ***out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, **nn;
	int n = 0, rc = 0;

	if (d == NULL)
		return -errno;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (!pem_name(e->d_name))
			continue;
		nn = realloc(names, (size_t)(n + 1) * sizeof(*names));
		if (nn == NULL || (nn[n] = strdup(e->d_name)) == NULL)
			rc = -ENOMEM;
		if (nn != NULL)
			names = nn;
		if (rc == 0)
			n++;
	}
	closedir(d);
	if (rc < 0) {
		while (n > 0)
			free(names[--n]);
		free(names);
		return rc;
	}
	if (n > 0)
		qsort(names, (size_t)n, sizeof(*names), cmp_name);
	*out = names;
	return n;
}

static int build_import(struct ctl_actions *acts, const struct ctl_cmd *c,
			char *err, size_t errlen)
{
	char **names = NULL;
	int n = pem_names(c->dir, &names), rc = 0;

	if (n < 0)
		return fail(err, errlen, n, "%s: %s", c->dir, strerror(-n));
	if (n == 0)
		rc = fail(err, errlen, -ENOENT, "%s: no <identity>.pem files",
			  c->dir);
	for (int i = 0; i < n; i++) {
		if (rc == 0)
			rc = import_one(acts, c, names[i], err, errlen);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* ---- trust ---- */

static int put_trust(struct ctl_actions *acts, const struct polrec_trust *r,
		     const char *hex, char *err, size_t errlen)
{
	char key[POLREC_KEY_MAX + 1], label[POLREC_KEY_MAX + 16];
	size_t kl;
	int rc = polrec_trust_key(r->kind, hex, r->bound_id, key, sizeof(key),
				  &kl);

	if (rc < 0)
		return fail(err, errlen, rc, "cannot make a trust key");
	snprintf(label, sizeof(label), "trust %s", key);
	return ctl_action_put(acts, POLICYDB_TRUST, key, kl, label, r, err, errlen);
}

/* Anchors: every certificate in the file.  Pins and revocations: the
 * first certificate, or only the hash. */
static int build_trust_certs(struct ctl_actions *acts, const struct ctl_cmd *c,
			     char *err, size_t errlen)
{
	struct polrec_trust r = { 0 };
	struct credfile_chain ch = { NULL, 0 };
	uint8_t id[32];
	char hex[65];
	unsigned n;
	int rc = 0;

	r.kind = c->op == CTL_ADD_ANCHOR ? POLREC_TRUST_ANCHOR :
		 c->op == CTL_ADD_PIN ? POLREC_TRUST_PIN : POLREC_TRUST_REVOKED;
	if (r.kind != POLREC_TRUST_REVOKED) {
		r.flags = c->peers ? c->peers : POLREC_TRUSTF_MASK;
		r.valexp = (char *)c->valexp;
	}
	if (c->for_id[0] != '\0')
		r.bound_id = (char *)c->for_id;
	if (c->file == NULL)
		return put_trust(acts, &r, c->hex, err, errlen);
	/* a raw public key (PEM PUBLIC KEY) pins or revokes by its hash */
	if (r.kind != POLREC_TRUST_ANCHOR &&
	    (rc = ctl_rawpk_file_pin(c->file, hex, err, errlen)) != 0)
		return rc < 0 ? rc : put_trust(acts, &r, hex, err, errlen);
	rc = credfile_chain(c->file, &ch, err, errlen);
	n = r.kind == POLREC_TRUST_ANCHOR ? ch.n : 1;
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		if (credfile_spki_id(ch.crts[i], id, hex) < 0) {
			rc = fail(err, errlen, -EINVAL, "%s: certificate %u: no "
				  "public key", c->file, i + 1);
			break;
		}
		rc = credfile_der(ch.crts[i], &r.der);
		if (rc == 0)
			rc = put_trust(acts, &r, hex, err, errlen);
		free(r.der.data);
		r.der.data = NULL;
	}
	credfile_chain_free(&ch);
	return rc;
}

static int build_crl(struct ctl_actions *acts, const struct ctl_cmd *c,
		     char *err, size_t errlen)
{
	struct polrec_trust r = { .kind = POLREC_TRUST_CRL };
	char hex[65];
	int rc = credfile_crl(c->file, &r.der, hex, err, errlen);

	if (rc == 0)
		rc = put_trust(acts, &r, hex, err, errlen);
	free(r.der.data);
	return rc;
}

/* ---- disclose and policy ---- */

static int build_disclose(struct ctl_actions *acts, const struct ctl_cmd *c,
			  char *err, size_t errlen)
{
	struct polrec_disclose r = { c->ids, c->nids };
	char label[CTL_NAMELEN + 16];

	snprintf(label, sizeof(label), "disclose %s", c->name);
	return ctl_action_put(acts, POLICYDB_DISCLOSE, c->name, strlen(c->name), label,
		       &r, err, errlen);
}

static int build_policy(struct ctl_actions *acts, const struct ctl_cmd *c,
			char *err, size_t errlen)
{
	struct polrec_policy r = { 0 };
	char key[POLREC_KEY_MAX + 1], label[CTL_NAMELEN + 32];
	gnutls_priority_t prio;
	const char *errpos = NULL;
	size_t kl;
	int rc;

	if (c->priority != NULL && c->priority[0] != '\0') {
		rc = gnutls_priority_init(&prio, c->priority, &errpos);
		if (rc < 0)
			return fail(err, errlen, -EINVAL, "--priority '%s': %s near "
				    "'%s'", c->priority, gnutls_strerror(rc),
				    errpos ? errpos : "");
		gnutls_priority_deinit(prio);
		r.priority = (char *)c->priority;
	}
	r.min_version = c->min_version;
	r.max_version = c->max_version;
	r.client_auth = (enum polrec_client_auth)c->client_auth;
	r.kinds = c->kinds;
	r.valexp = (char *)c->valexp;
	r.uids = (uint32_t *)c->uids;
	r.nuids = c->nuids;
	rc = polrec_policy_key(c->name, c->role, key, sizeof(key), &kl);
	if (rc < 0)
		return fail(err, errlen, rc, "bad selector %s", c->name);
	snprintf(label, sizeof(label), "policy %s %s", c->name,
		 polrec_role_name(c->role));
	return ctl_action_put(acts, POLICYDB_POLICY, key, kl, label, &r, err, errlen);
}

int ctl_build(const struct ctl_cmd *c, struct ctl_actions *out, char *err,
	      size_t errlen)
{
	switch (c->op) {
	case CTL_DEL:
		return add_del(out, c, err, errlen);
	case CTL_IMPORT_DIR:
		return build_import(out, c, err, errlen);
	case CTL_ADD_ANCHOR:
	case CTL_ADD_PIN:
	case CTL_REVOKE:
		return build_trust_certs(out, c, err, errlen);
	case CTL_ADD_CRL:
		return build_crl(out, c, err, errlen);
	case CTL_SET:
		if (c->db == POLICYDB_LOCALID)
			return build_localid(out, c->name, c->chain, c->keyfile,
					     c->pkcs11, c, err, errlen);
		if (c->db == POLICYDB_DISCLOSE)
			return build_disclose(out, c, err, errlen);
		return build_policy(out, c, err, errlen);
	default:
		return fail(err, errlen, -EINVAL, "not a change");
	}
}

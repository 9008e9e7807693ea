/* cred -- local identities (certificate chain + key) and trust anchors.
 *
 * A store is built once and never changed afterwards, so workers share it
 * without locks; the reference count decides when the last user is gone.
 * Identities are kept sorted by name, so lookup is a binary search however
 * many there are.  This file reads the files (localid_dir, trust_anchors)
 * and owns the store; cred_db.c adds the database and builds the trust
 * lists.
 */
#include "cred_int.h"
#include "dconfig.h"
#include "keyproc.h"
#include "rawpk.h"
#include "tplog.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>

#define URI_MAX 4096

void cred_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);

	return len > sl && strcmp(s + len - sl, suffix) == 0;
}

/* Identity names: no '/', no leading '.', no control bytes, 1..127. */
static int name_sane(const char *name, size_t len)
{
	if (len == 0 || len > CRED_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- PKCS#11 URIs --------------------------------------------------- */

/* First line of a .p11 file: a pkcs11: URI.  0 or a GnuTLS error. */
static int read_uri(const char *path, char *uri, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t len;
	int rc = 0;

	if (f == NULL)
		return GNUTLS_E_FILE_ERROR;
	if (fgets(uri, (int)size, f) == NULL) {
		rc = GNUTLS_E_FILE_ERROR;
		goto out;
	}
	len = strlen(uri);
	if (len > 0 && uri[len - 1] != '\n' && !feof(f)) {
		rc = GNUTLS_E_INVALID_REQUEST;	/* line too long */
		goto out;
	}
	while (len > 0 && (uri[len - 1] == '\n' || uri[len - 1] == '\r' ||
			   uri[len - 1] == ' ' || uri[len - 1] == '\t'))
		uri[--len] = '\0';
	if (strncmp(uri, "pkcs11:", 7) != 0)
		rc = GNUTLS_E_INVALID_REQUEST;
out:
	fclose(f);
	return rc;
}
/* ---- identities -------------------------------------------------------- */

void cred_check_validity(const char *what, gnutls_x509_crt_t leaf)
{
	time_t now = time(NULL);

	if (gnutls_x509_crt_get_expiration_time(leaf) < now)
		tplog(LOG_WARNING, "%s: certificate expired", what);
	else if (gnutls_x509_crt_get_activation_time(leaf) > now)
		tplog(LOG_WARNING, "%s: certificate not yet valid", what);
}

/* A PEM "PUBLIC KEY" instead of a chain: one raw-key pcert. */
static int load_rawpk(const gnutls_datum_t *pem, gnutls_pcert_st **out,
		      unsigned *nout)
{
	gnutls_datum_t spki = { NULL, 0 };
	gnutls_pcert_st *pc = gnutls_malloc(sizeof(*pc));
	int rc = pc ? 0 : GNUTLS_E_MEMORY_ERROR;

	if (rc == 0 && rawpk_spki_import(pem, GNUTLS_X509_FMT_PEM, &spki) < 0)
		rc = GNUTLS_E_PK_INVALID_PUBKEY;
	if (rc == 0)
		rc = rawpk_pcert(pc, &spki);
	gnutls_free(spki.data);
	if (rc < 0) {
		gnutls_free(pc);
		return rc;
	}
	*out = pc;
	*nout = 1;
	return 0;
}

/* Parse the chain ourselves: it gives a clear error for a broken file
 * (and GnuTLS 3.7 leaks memory when the credential functions meet a
 * malformed PEM), and the leaf's validity is checked here: an expired or
 * not yet valid leaf is logged but still loads.  The chain comes back as
 * pcerts for gnutls_certificate_set_key. */
static int load_chain(const char *name, const char *pem,
		      gnutls_pcert_st **out, unsigned *nout)
{
	gnutls_datum_t data = { NULL, 0 };
	gnutls_x509_crt_t *list = NULL;
	gnutls_pcert_st *pc = NULL;
	char what[CRED_NAME_MAX + 16];
	unsigned n = 0;
	int rc;

	rc = gnutls_load_file(pem, &data);
	if (rc < 0)
		return rc;
	if (rawpk_pem_is_pubkey(&data)) {	/* a raw public key identity */
		rc = load_rawpk(&data, out, nout);
		gnutls_free(data.data);
		return rc;
	}
	rc = gnutls_x509_crt_list_import2(&list, &n, &data,
					  GNUTLS_X509_FMT_PEM, 0);
	gnutls_free(data.data);
	if (rc < 0)
		return rc;
	snprintf(what, sizeof(what), "identity %s", name);
	cred_check_validity(what, list[0]);
	pc = gnutls_malloc(n * sizeof(*pc));
	rc = pc ? gnutls_pcert_import_x509_list(pc, list, &n, 0)
		: GNUTLS_E_MEMORY_ERROR;
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(list[i]);
	gnutls_free(list);
	if (rc < 0) {
		gnutls_free(pc);
		return rc;
	}
	*out = pc;
	*nout = n;
	return 0;
}

static void pcerts_free(gnutls_pcert_st *pc, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_pcert_deinit(&pc[i]);
	gnutls_free(pc);
}

/* The private key stays in the key process: this is a handle to it. */
static int load_key(const struct cred_files *f, const char *name,
		    const char *key, const char *p11, int have_key,
		    gnutls_privkey_t *pk)
{
	char uri[URI_MAX];
	int rc;

	if (have_key)
		return keyproc_privkey_file(name, key, pk);
	rc = read_uri(p11, uri, sizeof(uri));
	if (rc == 0)
		rc = keyproc_privkey_url(name, uri, f->pin, pk);
	gnutls_memset(uri, 0, sizeof(uri));	/* may hold a pin-value */
	return rc;
}

/* GnuTLS checks here, with a signature, that the key fits the
 * certificate. */
int cred_shared_make(gnutls_pcert_st *pc, unsigned n, gnutls_privkey_t pk,
		     struct cred_shared **out)
{
	gnutls_certificate_credentials_t c = NULL;
	struct cred_shared *sh = calloc(1, sizeof(*sh));
	int rc;

	rc = sh ? gnutls_certificate_allocate_credentials(&c)
		: GNUTLS_E_MEMORY_ERROR;
	/* GnuTLS checks a certificate's key, not a raw key's */
	if (rc == 0 && n > 0 && pc[0].type == GNUTLS_CRT_RAWPK)
		rc = rawpk_check_key(&pc[0].cert, pk);
	if (rc == 0)
		rc = gnutls_certificate_set_key(c, NULL, 0, pc, (int)n, pk);
	if (rc < 0) {
		for (unsigned i = 0; i < n; i++)
			gnutls_pcert_deinit(&pc[i]);
		gnutls_privkey_deinit(pk);
		if (c != NULL)
			gnutls_certificate_free_credentials(c);
		free(sh);
	} else {
		atomic_init(&sh->refs, 1);
		sh->cred = c;
		sh->ncerts = n;
		sh->rawpk = pc[0].type == GNUTLS_CRT_RAWPK;
		*out = sh;
	}
	gnutls_free(pc);	/* set_key keeps a copy of the array */
	return rc;
}

void cred_shared_unref(struct cred_shared *sh)
{
	if (sh == NULL ||
	    atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) != 1)
		return;
	gnutls_certificate_free_credentials(sh->cred);
	if (sh->keyref != NULL) {
		gnutls_memset(sh->keyref, 0, strlen(sh->keyref));
		free(sh->keyref);
	}
	free(sh);
}

/* Build the credential for one identity; 0, or a GnuTLS error (logged by
 * the caller), or 1 when the identity is skipped for another reason that
 * was logged here. */
static int build_identity(const struct cred_files *f, const char *dir,
			  const char *name, struct cred_shared **out)
{
	char pem[4096], key[4096], p11[4096];
	gnutls_pcert_st *pc = NULL;
	gnutls_privkey_t pk = NULL;
	unsigned n = 0;
	int have_key, have_p11, rc;

	if ((size_t)snprintf(pem, sizeof(pem), "%s/%s.pem", dir, name) >=
		    sizeof(pem) ||
	    (size_t)snprintf(key, sizeof(key), "%s/%s.key", dir, name) >=
		    sizeof(key) ||
	    (size_t)snprintf(p11, sizeof(p11), "%s/%s.p11", dir, name) >=
		    sizeof(p11)) {
		tplog(LOG_ERR, "identity %s: path too long", name);
		return 1;
	}
	have_key = file_exists(key);
	have_p11 = file_exists(p11);
	if (have_key == have_p11) {
		tplog(LOG_ERR, "identity %s: %s", name,
		      have_key ? "both a .key and a .p11 file, refusing to guess"
			       : "no .key or .p11 file");
		return 1;
	}
	rc = load_chain(name, pem, &pc, &n);
	if (rc < 0)
		return rc;
	rc = load_key(f, name, key, p11, have_key, &pk);
	if (rc < 0) {
		pcerts_free(pc, n);
		return rc;
	}
	return cred_shared_make(pc, n, pk, out);
}

static int add_identity(struct cred_files *f, const char *dir,
			const char *name)
{
	struct cred_shared *sh = NULL;
	struct cred_identity *grown, *id;
	char *copy;
	int rc;

	rc = build_identity(f, dir, name, &sh);
	if (rc < 0) {
		tplog(LOG_ERR, "identity %s: %s", name, keyproc_strerror(rc));
		return 0;
	}
	if (rc > 0)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;

		grown = realloc(f->ids, cap * sizeof(*grown));
		if (grown == NULL)
			goto nomem;
		f->ids = grown;
		f->cap = cap;
	}
	copy = strdup(name);
	if (copy == NULL)
		goto nomem;
	id = &f->ids[f->n++];
	memset(id, 0, sizeof(*id));
	id->name = copy;
	id->cred = sh->cred;
	id->rawpk = sh->rawpk;
	id->roles = CRED_ROLE_BOTH;
	id->sh = sh;
	tplog(LOG_DEBUG, "identity %s loaded", name);
	return 0;
nomem:
	cred_shared_unref(sh);
	return -ENOMEM;
}

int cred_id_cmp(const void *a, const void *b)
{
	const struct cred_identity *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Control bytes in a file name are shown as '?', never written raw. */
static void log_bad_name(const char *file)
{
	char shown[64];
	size_t i;

	for (i = 0; file[i] != '\0' && i + 1 < sizeof(shown); i++)
		shown[i] = ((unsigned char)file[i] < 0x20 ||
			    file[i] == 0x7f) ? '?' : file[i];
	shown[i] = '\0';
	tplog(LOG_ERR, "identity file %s%s: bad name (at most %d bytes, no "
	      "leading dot or control characters)", shown,
	      file[i] != '\0' ? "..." : "", CRED_NAME_MAX);
}

static int load_identities(struct cred_files *f, const char *dir, char *err,
			   size_t errlen)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		cred_seterr(err, errlen, "localid_dir %s: %s", dir,
			    strerror(-rc));
		return rc;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char name[CRED_NAME_MAX + 1];

		if (!has_suffix(e->d_name, len, ".pem"))
			continue;
		len -= 4;
		if (!name_sane(e->d_name, len)) {
			if (e->d_name[0] != '.')
				log_bad_name(e->d_name);
			continue;
		}
		memcpy(name, e->d_name, len);
		name[len] = '\0';
		rc = add_identity(f, dir, name);
		if (rc < 0) {
			cred_seterr(err, errlen, "identity %s: %s", name,
				    strerror(-rc));
			break;
		}
	}
	closedir(d);
	if (rc == 0 && f->n > 1)
		qsort(f->ids, f->n, sizeof(*f->ids), cred_id_cmp);
	return rc;
}

/* ---- trust anchors from files ------------------------------------------ */

/* The files are parsed into a scratch list (the checks and messages of
 * GnuTLS's own loader) and kept as DER: each store builds its lists from
 * them, together with the system store and the database's anchors. */
static int add_anchor_file(gnutls_x509_trust_list_t tl, const char *path,
			   char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (stat(path, &st) < 0) {
		rc = -errno;
		cred_seterr(err, errlen, "trust anchors %s: %s", path,
			    strerror(-rc));
		return rc;
	}
	rc = gnutls_x509_trust_list_add_trust_file(tl, path, NULL,
						   GNUTLS_X509_FMT_PEM, 0, 0);
	if (rc < 0) {
		cred_seterr(err, errlen, "trust anchors %s: %s", path,
			    gnutls_strerror(rc));
		return -EINVAL;
	}
	if (rc == 0) {
		cred_seterr(err, errlen,
			    "trust anchors %s: no certificate found", path);
		return -EINVAL;
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.pem and *.crt in dir, in name order; any broken one fails. */
static int add_anchor_dir(gnutls_x509_trust_list_t tl, const char *dir,
			  char *err, size_t errlen)
{
	char **names = NULL, **grown, path[4096];
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		cred_seterr(err, errlen, "trust anchors %s: %s", dir,
			    strerror(-rc));
		return rc;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || !(has_suffix(e->d_name, len, ".pem") ||
					     has_suffix(e->d_name, len, ".crt")))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL)
				goto nomem;
			names = grown;
		}
		names[n] = strdup(e->d_name);
		if (names[n] == NULL)
			goto nomem;
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), str_cmp);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     names[i]) >= sizeof(path)) {
			cred_seterr(err, errlen,
				    "trust anchors %s/%s: path too long", dir,
				    names[i]);
			rc = -ENAMETOOLONG;
			break;
		}
		rc = add_anchor_file(tl, path, err, errlen);
	}
	goto out;
nomem:
	rc = -ENOMEM;
	cred_seterr(err, errlen, "trust anchors %s: out of memory", dir);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* The scratch list's certificates as DER into f->anchors. */
static int keep_anchors(struct cred_files *f, gnutls_x509_trust_list_t tl,
			char *err, size_t errlen)
{
	gnutls_x509_trust_list_iter_t it = NULL;
	gnutls_datum_t *grown;
	gnutls_x509_crt_t crt;
	size_t cap = 0;
	int rc = 0;

	while (rc == 0 &&
	       gnutls_x509_trust_list_iter_get_ca(tl, &it, &crt) == 0) {
		if (f->nanchors == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(f->anchors, cap * sizeof(*grown));
			if (grown == NULL) {
				rc = GNUTLS_E_MEMORY_ERROR;
				gnutls_x509_crt_deinit(crt);
				break;
			}
			f->anchors = grown;
		}
		rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER,
					     &f->anchors[f->nanchors]);
		if (rc == 0)
			f->nanchors++;
		gnutls_x509_crt_deinit(crt);
	}
	gnutls_x509_trust_list_iter_deinit(it);
	if (rc < 0) {
		cred_seterr(err, errlen, "trust anchors: %s",
			    gnutls_strerror(rc));
		return -ENOMEM;
	}
	return 0;
}

static int load_anchors(struct cred_files *f, const struct dconfig *cfg,
			char *err, size_t errlen)
{
	gnutls_x509_trust_list_t tl = NULL;
	struct stat st;
	int rc;

	f->system = cfg->trust_system;
	if (cfg->trust_anchors == NULL || cfg->trust_anchors[0] == '\0')
		return 0;
	if (stat(cfg->trust_anchors, &st) < 0) {
		rc = -errno;
		cred_seterr(err, errlen, "trust anchors %s: %s",
			    cfg->trust_anchors, strerror(-rc));
		return rc;
	}
	rc = gnutls_x509_trust_list_init(&tl, 0);
	if (rc < 0) {
		cred_seterr(err, errlen, "trust list: %s", gnutls_strerror(rc));
		return -ENOMEM;
	}
	rc = S_ISDIR(st.st_mode)
		     ? add_anchor_dir(tl, cfg->trust_anchors, err, errlen)
		     : add_anchor_file(tl, cfg->trust_anchors, err, errlen);
	if (rc == 0)
		rc = keep_anchors(f, tl, err, errlen);
	gnutls_x509_trust_list_deinit(tl, 1);
	return rc;
}

/* ---- the store ---------------------------------------------------------- */

void cred_files_unref(struct cred_files *f)
{
	if (f == NULL ||
	    atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < f->n; i++) {
		cred_shared_unref(f->ids[i].sh);
		free(f->ids[i].name);
	}
	free(f->ids);
	for (size_t i = 0; i < f->nanchors; i++)
		gnutls_free(f->anchors[i].data);
	free(f->anchors);
	if (f->pin != NULL) {
		gnutls_memset(f->pin, 0, strlen(f->pin));
		free(f->pin);
	}
	free(f);
}

static int files_load(struct cred_files **out, const struct dconfig *cfg,
		      char *err, size_t errlen)
{
	struct cred_files *f = calloc(1, sizeof(*f));
	int rc = 0;

	if (f == NULL)
		goto nomem;
	atomic_init(&f->refs, 1);
	if (cfg->pkcs11_pin != NULL) {
		f->pin = strdup(cfg->pkcs11_pin);
		if (f->pin == NULL)
			goto nomem;
	}
	rc = load_anchors(f, cfg, err, errlen);
	if (rc == 0 && cfg->localid_dir != NULL && cfg->localid_dir[0] != '\0')
		rc = load_identities(f, cfg->localid_dir, err, errlen);
	if (rc < 0) {
		cred_files_unref(f);
		return rc;
	}
	*out = f;
	return 0;
nomem:
	cred_files_unref(f);
	cred_seterr(err, errlen, "credential store: out of memory");
	return -ENOMEM;
}

static void store_free(struct cred_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		cred_shared_unref(s->ids[i].sh);
		if (s->ids[i].from_db) {
			free(s->ids[i].name);
			free((uint32_t *)s->ids[i].uids);
		}
	}
	free(s->ids);
	for (size_t i = 0; i < s->nhidden; i++)
		free(s->hidden[i]);
	free(s->hidden);
	for (int i = 0; i < CRED_TL_N; i++) {
		int dup = 0;

		for (int j = 0; j < i; j++)
			dup |= s->trust[j] == s->trust[i];
		if (s->trust[i] != NULL && !dup)
			gnutls_x509_trust_list_deinit(s->trust[i], 1);
	}
	if (s->anon != NULL)
		gnutls_certificate_free_credentials(s->anon);
	cred_files_unref(s->files);
	free(s);
}

/* A store on files f (whose reference it takes over). */
static int store_build(struct cred_store **out, struct cred_files *f,
		       const struct cred_store *prev, struct policydb *db,
		       char *err, size_t errlen)
{
	struct cred_store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL) {
		cred_files_unref(f);
		cred_seterr(err, errlen, "credential store: out of memory");
		return -ENOMEM;
	}
	atomic_init(&s->refs, 1);
	s->files = f;
	rc = gnutls_certificate_allocate_credentials(&s->anon);
	if (rc < 0) {
		cred_seterr(err, errlen, "anonymous credentials: %s",
			    gnutls_strerror(rc));
		rc = -ENOMEM;
		goto fail;
	}
	rc = cred_assemble(s, prev, db, err, errlen);
	if (rc < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	store_free(s);
	return rc;
}

int cred_store_load_db(struct cred_store **out, const struct dconfig *cfg,
		       struct policydb *db, char *err, size_t errlen)
{
	struct cred_files *f = NULL;
	int rc;

	*out = NULL;
	rc = files_load(&f, cfg, err, errlen);
	if (rc < 0)
		return rc;
	return store_build(out, f, NULL, db, err, errlen);
}

int cred_store_load(struct cred_store **out, const struct dconfig *cfg,
		    char *err, size_t errlen)
{
	return cred_store_load_db(out, cfg, NULL, err, errlen);
}

int cred_store_refresh(struct cred_store **out, const struct cred_store *prev,
		       struct policydb *db, char *err, size_t errlen)
{
	*out = NULL;
	if (prev == NULL) {
		cred_seterr(err, errlen, "no credential store to refresh");
		return -EINVAL;
	}
	atomic_fetch_add_explicit(&prev->files->refs, 1, memory_order_relaxed);
	return store_build(out, prev->files, prev, db, err, errlen);
}

uint64_t cred_store_serial(const struct cred_store *s)
{
	return s ? s->serial : 0;
}

void cred_store_ref(struct cred_store *s)
{
	if (s != NULL)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void cred_store_unref(struct cred_store *s)
{
	if (s == NULL)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		store_free(s);
}

const struct cred_identity *cred_find(const struct cred_store *s,
				      const char *name)
{
	struct cred_identity key;

	if (s == NULL || name == NULL || s->n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = (char *)name;
	return bsearch(&key, s->ids, s->n, sizeof(*s->ids), cred_id_cmp);
}

int cred_identity_allowed(const struct cred_identity *id, int server_role,
			  uid_t uid, char *why, size_t len)
{
	unsigned want = server_role ? CRED_ROLE_SERVER : CRED_ROLE_CLIENT;
	size_t lo = 0, hi;

	if (id == NULL) {
		cred_seterr(why, len, "no local identity");
		return -EACCES;
	}
	if (!(id->roles & want)) {
		cred_seterr(why, len, "local identity %s may not be used as "
			    "a %s (its role is %s)", id->name,
			    server_role ? "server" : "client",
			    server_role ? "client" : "server");
		return -EACCES;
	}
	if (id->nuids == 0)
		return 0;
	hi = id->nuids;		/* the uids are strictly ascending */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (id->uids[mid] == (uint32_t)uid)
			return 0;
		if (id->uids[mid] < (uint32_t)uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	cred_seterr(why, len, "local identity %s may not be used by uid %lu",
		    id->name, (unsigned long)uid);
	return -EACCES;
}

gnutls_certificate_credentials_t cred_anonymous(const struct cred_store *s)
{
	return s ? s->anon : NULL;
}

size_t cred_count(const struct cred_store *s)
{
	return s ? s->n : 0;
}

size_t cred_db_count(const struct cred_store *s)
{
	return s ? s->ndb : 0;
}

gnutls_x509_trust_list_t cred_trust_list(const struct cred_store *s)
{
	return s ? s->trust[CRED_TL_ALL] : NULL;
}

unsigned cred_anchor_count(const struct cred_store *s)
{
	return s ? s->anchors[CRED_TL_ALL] : 0;
}

gnutls_x509_trust_list_t cred_trust_list_for(const struct cred_store *s,
					     int peer_server, unsigned *count)
{
	int i = peer_server ? CRED_TL_SERVERS : CRED_TL_CLIENTS;

	if (count != NULL)
		*count = s ? s->anchors[i] : 0;
	return s ? s->trust[i] : NULL;
}

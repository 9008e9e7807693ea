/* cred -- local identities (certificate chain + key) and trust anchors.
 *
 * A store is built once by cred_store_load and never changed afterwards,
 * so workers share it without locks; the reference count decides when
 * the last user is gone.  Identities are kept sorted by name, so lookup
 * is a binary search however many there are.
 */
#include "cred.h"
#include "dconfig.h"
#include "keyproc.h"
#include "tplog.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>

#define NAME_MAX_LEN 127
#define URI_MAX 4096

struct cred_store {
	atomic_uint refs;
	struct cred_identity *ids;	/* sorted by name */
	size_t n, cap;
	gnutls_x509_trust_list_t trust;
	unsigned anchors;
	gnutls_certificate_credentials_t anon;
	char *pin;			/* PKCS#11 user PIN, or NULL */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
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
	if (len == 0 || len > NAME_MAX_LEN || name[0] == '.')
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
	unsigned n = 0;
	time_t now = time(NULL);
	int rc;

	rc = gnutls_load_file(pem, &data);
	if (rc < 0)
		return rc;
	rc = gnutls_x509_crt_list_import2(&list, &n, &data,
					  GNUTLS_X509_FMT_PEM, 0);
	gnutls_free(data.data);
	if (rc < 0)
		return rc;
	if (gnutls_x509_crt_get_expiration_time(list[0]) < now)
		tplog(LOG_WARNING, "identity %s: certificate expired", name);
	else if (gnutls_x509_crt_get_activation_time(list[0]) > now)
		tplog(LOG_WARNING, "identity %s: certificate not yet valid",
		      name);
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
static int load_key(struct cred_store *s, const char *name, const char *key,
		    const char *p11, int have_key, gnutls_privkey_t *pk)
{
	char uri[URI_MAX];
	int rc;

	if (have_key)
		return keyproc_privkey_file(name, key, pk);
	rc = read_uri(p11, uri, sizeof(uri));
	if (rc == 0)
		rc = keyproc_privkey_url(name, uri, s->pin, pk);
	gnutls_memset(uri, 0, sizeof(uri));	/* may hold a pin-value */
	return rc;
}

/* The credential with chain and key; on failure both are freed.  GnuTLS
 * checks here, with a signature, that the key fits the certificate. */
static int make_cred(gnutls_pcert_st *pc, unsigned n, gnutls_privkey_t pk,
		     gnutls_certificate_credentials_t *out)
{
	gnutls_certificate_credentials_t c = NULL;
	int rc;

	rc = gnutls_certificate_allocate_credentials(&c);
	if (rc == 0)
		rc = gnutls_certificate_set_key(c, NULL, 0, pc, (int)n, pk);
	if (rc < 0) {
		for (unsigned i = 0; i < n; i++)
			gnutls_pcert_deinit(&pc[i]);
		gnutls_privkey_deinit(pk);
		gnutls_certificate_free_credentials(c);
	} else {
		*out = c;
	}
	gnutls_free(pc);	/* set_key keeps a copy of the array */
	return rc;
}

/* Build the credential for one identity; 0, or a GnuTLS error (logged by
 * the caller), or 1 when the identity is skipped for another reason that
 * was logged here. */
static int build_identity(struct cred_store *s, const char *dir,
			  const char *name,
			  gnutls_certificate_credentials_t *out)
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
	rc = load_key(s, name, key, p11, have_key, &pk);
	if (rc < 0) {
		pcerts_free(pc, n);
		return rc;
	}
	return make_cred(pc, n, pk, out);
}

static int add_identity(struct cred_store *s, const char *dir,
			const char *name)
{
	gnutls_certificate_credentials_t c = NULL;
	struct cred_identity *grown;
	char *copy;
	int rc;

	rc = build_identity(s, dir, name, &c);
	if (rc < 0) {
		tplog(LOG_ERR, "identity %s: %s", name, keyproc_strerror(rc));
		return 0;
	}
	if (rc > 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		grown = realloc(s->ids, cap * sizeof(*grown));
		if (grown == NULL)
			goto nomem;
		s->ids = grown;
		s->cap = cap;
	}
	copy = strdup(name);
	if (copy == NULL)
		goto nomem;
	s->ids[s->n].name = copy;
	s->ids[s->n].cred = c;
	s->n++;
	tplog(LOG_DEBUG, "identity %s loaded", name);
	return 0;
nomem:
	gnutls_certificate_free_credentials(c);
	return -ENOMEM;
}

static int id_cmp(const void *a, const void *b)
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
	      file[i] != '\0' ? "..." : "", NAME_MAX_LEN);
}

static int load_identities(struct cred_store *s, const char *dir, char *err,
			   size_t errlen)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		seterr(err, errlen, "localid_dir %s: %s", dir, strerror(-rc));
		return rc;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		char name[NAME_MAX_LEN + 1];

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
		rc = add_identity(s, dir, name);
		if (rc < 0) {
			seterr(err, errlen, "identity %s: %s", name,
			       strerror(-rc));
			break;
		}
	}
	closedir(d);
	if (rc == 0 && s->n > 1)
		qsort(s->ids, s->n, sizeof(*s->ids), id_cmp);
	return rc;
}

/* ---- trust anchors ---------------------------------------------------- */

static int add_anchor_file(struct cred_store *s, const char *path,
			   char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (stat(path, &st) < 0) {
		rc = -errno;
		seterr(err, errlen, "trust anchors %s: %s", path,
		       strerror(-rc));
		return rc;
	}
	rc = gnutls_x509_trust_list_add_trust_file(s->trust, path, NULL,
						   GNUTLS_X509_FMT_PEM, 0, 0);
	if (rc < 0) {
		seterr(err, errlen, "trust anchors %s: %s", path,
		       gnutls_strerror(rc));
		return -EINVAL;
	}
	if (rc == 0) {
		seterr(err, errlen, "trust anchors %s: no certificate found",
		       path);
		return -EINVAL;
	}
	s->anchors += (unsigned)rc;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.pem and *.crt in dir, in name order; any broken one fails. */
static int add_anchor_dir(struct cred_store *s, const char *dir, char *err,
			  size_t errlen)
{
	char **names = NULL, **grown, path[4096];
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		seterr(err, errlen, "trust anchors %s: %s", dir, strerror(-rc));
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
			seterr(err, errlen, "trust anchors %s/%s: path too long",
			       dir, names[i]);
			rc = -ENAMETOOLONG;
			break;
		}
		rc = add_anchor_file(s, path, err, errlen);
	}
	goto out;
nomem:
	rc = -ENOMEM;
	seterr(err, errlen, "trust anchors %s: out of memory", dir);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static int load_anchors(struct cred_store *s, const struct dconfig *cfg,
			char *err, size_t errlen)
{
	struct stat st;
	int rc;

	rc = gnutls_x509_trust_list_init(&s->trust, 0);
	if (rc < 0) {
		seterr(err, errlen, "trust list: %s", gnutls_strerror(rc));
		return -ENOMEM;
	}
	if (cfg->trust_anchors != NULL && cfg->trust_anchors[0] != '\0') {
		if (stat(cfg->trust_anchors, &st) < 0) {
			rc = -errno;
			seterr(err, errlen, "trust anchors %s: %s",
			       cfg->trust_anchors, strerror(-rc));
			return rc;
		}
		rc = S_ISDIR(st.st_mode)
			     ? add_anchor_dir(s, cfg->trust_anchors, err, errlen)
			     : add_anchor_file(s, cfg->trust_anchors, err,
					       errlen);
		if (rc < 0)
			return rc;
	}
	if (cfg->trust_system) {
		rc = gnutls_x509_trust_list_add_system_trust(s->trust, 0, 0);
		if (rc < 0) {
			seterr(err, errlen, "system trust store: %s",
			       gnutls_strerror(rc));
			return -EINVAL;
		}
		s->anchors += (unsigned)rc;
	}
	if (s->anchors == 0)
		tplog(LOG_WARNING, "no trust anchors configured: every peer "
		      "certificate will be refused");
	return 0;
}

/* ---- the store ---------------------------------------------------------- */

static void store_free(struct cred_store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		gnutls_certificate_free_credentials(s->ids[i].cred);
		free(s->ids[i].name);
	}
	free(s->ids);
	if (s->trust != NULL)
		gnutls_x509_trust_list_deinit(s->trust, 1);
	if (s->anon != NULL)
		gnutls_certificate_free_credentials(s->anon);
	if (s->pin != NULL) {
		gnutls_memset(s->pin, 0, strlen(s->pin));
		free(s->pin);
	}
	free(s);
}

int cred_store_load(struct cred_store **out, const struct dconfig *cfg,
		    char *err, size_t errlen)
{
	struct cred_store *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		seterr(err, errlen, "credential store: out of memory");
		return -ENOMEM;
	}
	atomic_init(&s->refs, 1);
	if (cfg->pkcs11_pin != NULL) {
		s->pin = strdup(cfg->pkcs11_pin);
		if (s->pin == NULL) {
			rc = -ENOMEM;
			seterr(err, errlen, "credential store: out of memory");
			goto fail;
		}
	}
	rc = gnutls_certificate_allocate_credentials(&s->anon);
	if (rc < 0) {
		seterr(err, errlen, "anonymous credentials: %s",
		       gnutls_strerror(rc));
		rc = -ENOMEM;
		goto fail;
	}
	rc = load_anchors(s, cfg, err, errlen);
	if (rc < 0)
		goto fail;
	if (cfg->localid_dir != NULL && cfg->localid_dir[0] != '\0') {
		rc = load_identities(s, cfg->localid_dir, err, errlen);
		if (rc < 0)
			goto fail;
	}
	tplog(LOG_INFO, "credentials: %zu identities, %u trust anchors", s->n,
	      s->anchors);
	*out = s;
	return 0;
fail:
	store_free(s);
	return rc;
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
	key.name = (char *)name;
	key.cred = NULL;
	return bsearch(&key, s->ids, s->n, sizeof(*s->ids), id_cmp);
}

gnutls_certificate_credentials_t cred_anonymous(const struct cred_store *s)
{
	return s ? s->anon : NULL;
}

size_t cred_count(const struct cred_store *s)
{
	return s ? s->n : 0;
}

gnutls_x509_trust_list_t cred_trust_list(const struct cred_store *s)
{
	return s ? s->trust : NULL;
}

unsigned cred_anchor_count(const struct cred_store *s)
{
	return s ? s->anchors : 0;
}

/* idgen -- first-start local CA and host identity for embedded defaults.
 *
 * Files are never overwritten: what exists is kept, what is missing is
 * made.  A key without its certificate gets a certificate for that key; a
 * certificate without its key is an error.  Keys go to disk first, so a
 * crash between the two writes is repaired by the next run.
 */
#include "idgen.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#define DAY (24 * 60 * 60)
#define CA_DAYS (10 * 365 + 2)
#define LEAF_DAYS 365
#define NAME_MAX_LEN 127

struct ca {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
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

/* Same rules as identity names in cred, restricted to characters that
 * make sense in a DNS name or e-mail address. */
static int name_sane(const char *name)
{
	size_t len = strlen(name);
	const char *at = strchr(name, '@');

	if (len == 0 || len > NAME_MAX_LEN || name[0] == '.')
		return 0;
	if (at != NULL && (at == name || at[1] == '\0' ||
			   strchr(at + 1, '@') != NULL || at[1] == '.'))
		return 0;
	for (const char *p = name; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == '_' || c == '@' || c == '+'))
			return 0;
	}
	return 1;
}

int idgen_name_ok(const char *name)
{
	return name != NULL && name_sane(name);
}

static int join(char *buf, size_t size, const char *dir, const char *name,
		const char *ext)
{
	int n = snprintf(buf, size, "%s/%s%s", dir, name, ext);

	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

/* 1 exists, 0 missing, -errno for anything else. */
static int exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Write through a temp file in the same directory, fsync, rename, and
 * fsync the directory.  The temp name starts with a dot, so the identity
 * loader never picks it up. */
static int write_atomic(const char *path, const void *data, size_t len,
			unsigned mode)
{
	char tmp[4200], dir[4096];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int fd, dfd, rc;

	if (slash == NULL || dlen >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	if (dlen == 0)
		strcpy(dir, "/");
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir,
			     slash + 1) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	rc = fchmod(fd, mode) < 0 ? -errno : 0;
	if (rc == 0)
		rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int gnutls_to_errno(int grc)
{
	switch (grc) {
	case GNUTLS_E_MEMORY_ERROR:
		return -ENOMEM;
	case GNUTLS_E_FILE_ERROR:
		return -EIO;
	default:
		return -EINVAL;
	}
}

/* ---- keys --------------------------------------------------------------- */

static int key_generate(gnutls_x509_privkey_t *key)
{
	int rc = gnutls_x509_privkey_init(key);

	if (rc < 0)
		return rc;
	rc = gnutls_x509_privkey_generate(
		*key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
	}
	return rc;
}

static int key_load(const char *path, gnutls_x509_privkey_t *key, char *err,
		    size_t errlen)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc;

	rc = gnutls_load_file(path, &d);
	if (rc < 0)
		goto fail;
	rc = gnutls_x509_privkey_init(key);
	if (rc < 0)
		goto fail;
	rc = gnutls_x509_privkey_import2(*key, &d, GNUTLS_X509_FMT_PEM, NULL,
					 GNUTLS_PKCS_PLAIN);
	if (rc < 0) {
		gnutls_x509_privkey_deinit(*key);
		*key = NULL;
		goto fail;
	}
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	return 0;
fail:
	seterr(err, errlen, "%s: %s", path, gnutls_strerror(rc));
	if (d.data != NULL) {
		gnutls_memset(d.data, 0, d.size);
		gnutls_free(d.data);
	}
	return gnutls_to_errno(rc);
}

static int key_save(const char *path, gnutls_x509_privkey_t key, char *err,
		    size_t errlen)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc;

	rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
					       GNUTLS_PKCS_PLAIN, &d);
	if (rc < 0) {
		seterr(err, errlen, "%s: %s", path, gnutls_strerror(rc));
		return gnutls_to_errno(rc);
	}
	rc = write_atomic(path, d.data, d.size, 0600);
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	if (rc < 0)
		seterr(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

/* ---- certificates ------------------------------------------------------- */

static int set_common(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		      const char *cn, time_t not_after)
{
	unsigned char serial[16], kid[64];
	size_t kidlen = sizeof(kid);
	time_t now = time(NULL);
	int rc;

	rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	if (rc < 0)
		return rc;
	serial[0] &= 0x7f;		/* positive */
	if (serial[0] == 0)
		serial[0] = 0x42;	/* and minimally encoded */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, not_after)) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt,
						GNUTLS_OID_X520_COMMON_NAME, 0,
						cn, (unsigned)strlen(cn))) < 0)
		return rc;
	rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid,
					&kidlen);
	if (rc < 0)
		return rc;
	return gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen);
}

static int ca_make_crt(gnutls_x509_privkey_t key, gnutls_x509_crt_t *out)
{
	unsigned char r[4];
	char cn[64];
	gnutls_x509_crt_t crt;
	int rc;

	rc = gnutls_rnd(GNUTLS_RND_NONCE, r, sizeof(r));
	if (rc < 0)
		return rc;
	/* A distinct subject per CA, so anchors from two hosts never share
	 * a name. */
	snprintf(cn, sizeof(cn), "TLS Pool local CA %02x%02x%02x%02x", r[0],
		 r[1], r[2], r[3]);
	rc = gnutls_x509_crt_init(&crt);
	if (rc < 0)
		return rc;
	if ((rc = set_common(crt, key, cn,
			     time(NULL) + (time_t)CA_DAYS * DAY)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		     crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0 ||
	    (rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256,
					0)) < 0) {
		gnutls_x509_crt_deinit(crt);
		return rc;
	}
	*out = crt;
	return 0;
}

static int add_san(gnutls_x509_crt_t crt, gnutls_x509_subject_alt_name_t t,
		   const char *v)
{
	return gnutls_x509_crt_set_subject_alt_name(crt, t, v,
						    (unsigned)strlen(v),
						    GNUTLS_FSAN_APPEND);
}

static int leaf_make_crt(const struct ca *ca, gnutls_x509_privkey_t key,
			 const char *name, int localhost,
			 gnutls_x509_crt_t *out)
{
	time_t not_after = time(NULL) + (time_t)LEAF_DAYS * DAY;
	time_t ca_end = gnutls_x509_crt_get_expiration_time(ca->crt);
	unsigned char akid[64];
	size_t akidlen = sizeof(akid);
	const char *at = strchr(name, '@');
	gnutls_x509_crt_t crt;
	int rc;

	if (ca_end != (time_t)-1 && ca_end < not_after)
		not_after = ca_end;	/* never outlive the issuer */
	rc = gnutls_x509_crt_init(&crt);
	if (rc < 0)
		return rc;
	if ((rc = set_common(crt, key, name, not_after)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(
		     crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		     crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_purpose_oid(
		     crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0)
		goto fail;
	if (at != NULL) {
		if ((rc = add_san(crt, GNUTLS_SAN_RFC822NAME, name)) < 0 ||
		    (rc = add_san(crt, GNUTLS_SAN_DNSNAME, at + 1)) < 0)
			goto fail;
	} else {
		if ((rc = add_san(crt, GNUTLS_SAN_DNSNAME, name)) < 0)
			goto fail;
		if (localhost && strcmp(name, "localhost") != 0 &&
		    (rc = add_san(crt, GNUTLS_SAN_DNSNAME, "localhost")) < 0)
			goto fail;
	}
	if (gnutls_x509_crt_get_subject_key_id(ca->crt, akid, &akidlen,
					       NULL) >= 0 &&
	    (rc = gnutls_x509_crt_set_authority_key_id(crt, akid, akidlen)) < 0)
		goto fail;
	rc = gnutls_x509_crt_sign2(crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0);
	if (rc < 0)
		goto fail;
	*out = crt;
	return 0;
fail:
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* PEM of one or two certificates, concatenated, written 0644. */
static int crt_save(const char *path, gnutls_x509_crt_t a,
		    gnutls_x509_crt_t b, char *err, size_t errlen)
{
	gnutls_datum_t pa = { NULL, 0 }, pb = { NULL, 0 };
	unsigned char *all = NULL;
	int rc;

	rc = gnutls_x509_crt_export2(a, GNUTLS_X509_FMT_PEM, &pa);
	if (rc >= 0 && b != NULL)
		rc = gnutls_x509_crt_export2(b, GNUTLS_X509_FMT_PEM, &pb);
	if (rc < 0) {
		seterr(err, errlen, "%s: %s", path, gnutls_strerror(rc));
		rc = gnutls_to_errno(rc);
		goto out;
	}
	all = malloc((size_t)pa.size + pb.size);
	if (all == NULL) {
		rc = -ENOMEM;
		seterr(err, errlen, "%s: out of memory", path);
		goto out;
	}
	memcpy(all, pa.data, pa.size);
	if (pb.size > 0)
		memcpy(all + pa.size, pb.data, pb.size);
	rc = write_atomic(path, all, (size_t)pa.size + pb.size, 0644);
	if (rc < 0)
		seterr(err, errlen, "%s: %s", path, strerror(-rc));
out:
	free(all);
	gnutls_free(pa.data);
	gnutls_free(pb.data);
	return rc;
}

int idgen_crt_load(const char *path, gnutls_x509_crt_t *crt)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc;

	rc = gnutls_load_file(path, &d);
	if (rc >= 0)
		rc = gnutls_x509_crt_init(crt);
	if (rc >= 0) {
		rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM);
		if (rc < 0) {
			gnutls_x509_crt_deinit(*crt);
			*crt = NULL;
		}
	}
	gnutls_free(d.data);
	return rc;
}

static int crt_load(const char *path, gnutls_x509_crt_t *crt, char *err,
		    size_t errlen)
{
	int rc = idgen_crt_load(path, crt);

	if (rc < 0) {
		seterr(err, errlen, "%s: %s", path, gnutls_strerror(rc));
		return gnutls_to_errno(rc);
	}
	return 0;
}

/* ---- CA and leaves ------------------------------------------------------ */

static void ca_free(struct ca *ca)
{
	if (ca->crt != NULL)
		gnutls_x509_crt_deinit(ca->crt);
	if (ca->key != NULL)
		gnutls_x509_privkey_deinit(ca->key);
	ca->crt = NULL;
	ca->key = NULL;
}

static int key_matches_crt(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
	unsigned char a[64], b[64];
	size_t alen = sizeof(a), blen = sizeof(b);

	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a,
				       &alen) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b,
					   &blen) < 0)
		return 0;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Load the CA from state_dir; with create, make whatever is missing. */
static int ca_obtain(const char *state_dir, int create, struct ca *ca,
		     char *err, size_t errlen)
{
	char pem[4096], key[4096];
	int have_pem, have_key, rc;

	ca->crt = NULL;
	ca->key = NULL;
	if (join(pem, sizeof(pem), state_dir, "ca", ".pem") < 0 ||
	    join(key, sizeof(key), state_dir, "ca", ".key") < 0) {
		seterr(err, errlen, "%s: path too long", state_dir);
		return -ENAMETOOLONG;
	}
	have_pem = exists(pem);
	have_key = exists(key);
	if (have_pem < 0 || have_key < 0) {
		rc = have_pem < 0 ? have_pem : have_key;
		seterr(err, errlen, "%s: %s", have_pem < 0 ? pem : key,
		       strerror(-rc));
		return rc;
	}
	if (have_pem && !have_key) {
		seterr(err, errlen, "%s exists but %s is missing", pem, key);
		return -ENOENT;
	}
	if (!have_key && !create) {
		seterr(err, errlen, "no local CA in %s (ca.pem, ca.key)",
		       state_dir);
		return -ENOENT;
	}
	if (have_key) {
		rc = key_load(key, &ca->key, err, errlen);
		if (rc < 0)
			return rc;
	} else {
		rc = key_generate(&ca->key);
		if (rc < 0) {
			seterr(err, errlen, "CA key: %s", gnutls_strerror(rc));
			return gnutls_to_errno(rc);
		}
		rc = key_save(key, ca->key, err, errlen);
		if (rc < 0)
			goto fail;
	}
	if (have_pem) {
		rc = crt_load(pem, &ca->crt, err, errlen);
		if (rc < 0)
			goto fail;
		if (!key_matches_crt(ca->crt, ca->key)) {
			seterr(err, errlen, "%s does not match %s", key, pem);
			rc = -EINVAL;
			goto fail;
		}
		return 0;
	}
	rc = ca_make_crt(ca->key, &ca->crt);
	if (rc < 0) {
		seterr(err, errlen, "CA certificate: %s", gnutls_strerror(rc));
		rc = gnutls_to_errno(rc);
		goto fail;
	}
	rc = crt_save(pem, ca->crt, NULL, err, errlen);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	ca_free(ca);
	return rc;
}

/* Make <name>.pem (leaf + CA) and <name>.key in dir.  exclusive: an
 * existing identity is an error (-EEXIST); otherwise it is kept. */
static int leaf_obtain(const struct ca *ca, const char *dir, const char *name,
		       int localhost, int exclusive, char *err, size_t errlen)
{
	char pem[4096], key[4096], p11[4096];
	gnutls_x509_privkey_t k = NULL;
	gnutls_x509_crt_t crt = NULL;
	int have_pem, have_key, have_p11, rc;

	if (join(pem, sizeof(pem), dir, name, ".pem") < 0 ||
	    join(key, sizeof(key), dir, name, ".key") < 0 ||
	    join(p11, sizeof(p11), dir, name, ".p11") < 0) {
		seterr(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	have_pem = exists(pem);
	have_key = exists(key);
	have_p11 = exists(p11);
	if (have_pem < 0 || have_key < 0 || have_p11 < 0) {
		seterr(err, errlen, "identity %s in %s: cannot stat", name,
		       dir);
		return -EIO;
	}
	if (have_pem) {
		if (exclusive) {
			seterr(err, errlen, "%s already exists", pem);
			return -EEXIST;
		}
		if (!have_key && !have_p11) {
			seterr(err, errlen, "%s exists without %s", pem, key);
			return -ENOENT;
		}
		return 0;
	}
	if (have_p11) {
		seterr(err, errlen, "%s exists; make its certificate with "
		       "the token's tools", p11);
		return -EEXIST;
	}
	if (have_key) {
		rc = key_load(key, &k, err, errlen);
		if (rc < 0)
			return rc;
	} else {
		rc = key_generate(&k);
		if (rc < 0) {
			seterr(err, errlen, "key for %s: %s", name,
			       gnutls_strerror(rc));
			return gnutls_to_errno(rc);
		}
		rc = key_save(key, k, err, errlen);
		if (rc < 0)
			goto out;
	}
	rc = leaf_make_crt(ca, k, name, localhost, &crt);
	if (rc < 0) {
		seterr(err, errlen, "certificate for %s: %s", name,
		       gnutls_strerror(rc));
		rc = gnutls_to_errno(rc);
		goto out;
	}
	rc = crt_save(pem, crt, ca->crt, err, errlen);
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(k);
	return rc;
}

static int prepare(const char *state_dir, const char *localid_dir,
		   const char *name, char *err, size_t errlen)
{
	int rc;

	if (state_dir == NULL || localid_dir == NULL || name == NULL) {
		seterr(err, errlen, "idgen: missing directory or name");
		return -EINVAL;
	}
	if (!name_sane(name)) {
		seterr(err, errlen, "bad identity name '%.*s': letters, "
		       "digits, . - _ + and one @, at most %d bytes, no "
		       "leading dot", NAME_MAX_LEN, name, NAME_MAX_LEN);
		return -EINVAL;
	}
	rc = paths_mkdir_p(state_dir, 0700);
	if (rc < 0) {
		seterr(err, errlen, "%s: %s", state_dir, strerror(-rc));
		return rc;
	}
	rc = paths_mkdir_p(localid_dir, 0700);
	if (rc < 0)
		seterr(err, errlen, "%s: %s", localid_dir, strerror(-rc));
	return rc;
}

int idgen_ensure(const char *state_dir, const char *localid_dir,
		 const char *hostname, char *err, size_t errlen)
{
	struct ca ca;
	int rc;

	rc = prepare(state_dir, localid_dir, hostname, err, errlen);
	if (rc < 0)
		return rc;
	rc = ca_obtain(state_dir, 1, &ca, err, errlen);
	if (rc < 0)
		return rc;
	rc = leaf_obtain(&ca, localid_dir, hostname, 1, 0, err, errlen);
	ca_free(&ca);
	return rc;
}

int idgen_issue(const char *state_dir, const char *localid_dir,
		const char *name, char *err, size_t errlen)
{
	struct ca ca;
	int rc;

	rc = prepare(state_dir, localid_dir, name, err, errlen);
	if (rc < 0)
		return rc;
	rc = ca_obtain(state_dir, 0, &ca, err, errlen);
	if (rc < 0)
		return rc;
	rc = leaf_obtain(&ca, localid_dir, name, 0, 1, err, errlen);
	ca_free(&ca);
	return rc;
}

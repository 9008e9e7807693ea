/* Unit tests for idgen: first-start CA and host identity. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* nftw */
#endif
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "idgen.h"
#include "tplog.h"

struct env {
	char dir[256];
	char state[320];
	char ids[320];
	char err[512];
};

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_idgen.XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	/* nested, so idgen has to create both levels */
	snprintf(e->state, sizeof(e->state), "%s/state/tlspool", e->dir);
	snprintf(e->ids, sizeof(e->ids), "%s/state/tlspool/localid", e->dir);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

static void path_of(char *buf, size_t size, const char *dir,
		    const char *name)
{
	assert_true((size_t)snprintf(buf, size, "%s/%s", dir, name) < size);
}

static unsigned mode_of(const char *dir, const char *name)
{
	char p[512];
	struct stat st;

	if (name != NULL)
		path_of(p, sizeof(p), dir, name);
	else
		snprintf(p, sizeof(p), "%s", dir);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

/* All certificates of a PEM file; the caller deinits them. */
static unsigned load_crts(const char *dir, const char *name,
			  gnutls_x509_crt_t **out)
{
	char p[512];
	gnutls_datum_t d;
	unsigned n = 0;

	path_of(p, sizeof(p), dir, name);
	assert_int_equal(gnutls_load_file(p, &d), 0);
	assert_int_equal(gnutls_x509_crt_list_import2(out, &n, &d,
						      GNUTLS_X509_FMT_PEM, 0),
			 0);
	gnutls_free(d.data);
	return n;
}

static void free_crts(gnutls_x509_crt_t *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(l[i]);
	gnutls_free(l);
}

/* Is name among the SANs of the given type? */
static int has_san(gnutls_x509_crt_t crt, unsigned type, const char *name)
{
	char buf[256];

	for (unsigned seq = 0;; seq++) {
		size_t len = sizeof(buf);
		int t = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf,
							     &len, NULL);

		if (t < 0)
			return 0;
		if ((unsigned)t == type && strcmp(buf, name) == 0)
			return 1;
	}
}

static unsigned san_count(gnutls_x509_crt_t crt)
{
	char buf[256];
	unsigned n = 0;

	for (;;) {
		size_t len = sizeof(buf);

		if (gnutls_x509_crt_get_subject_alt_name(crt, n, buf, &len,
							 NULL) < 0)
			return n;
		n++;
	}
}

static int has_purpose(gnutls_x509_crt_t crt, const char *oid)
{
	char buf[128];

	for (unsigned i = 0;; i++) {
		size_t len = sizeof(buf);

		if (gnutls_x509_crt_get_key_purpose_oid(crt, i, buf, &len,
							NULL) < 0)
			return 0;
		if (strcmp(buf, oid) == 0)
			return 1;
	}
}

static void read_all(const char *dir, const char *name, gnutls_datum_t *d)
{
	char p[512];

	path_of(p, sizeof(p), dir, name);
	assert_int_equal(gnutls_load_file(p, d), 0);
}

static int same_file(const char *dir, const char *name,
		     const gnutls_datum_t *before)
{
	gnutls_datum_t now;
	int same;

	read_all(dir, name, &now);
	same = now.size == before->size &&
	       memcmp(now.data, before->data, now.size) == 0;
	gnutls_free(now.data);
	return same;
}

static void test_ensure_creates(void **state)
{
	struct env *e = *state;
	gnutls_x509_crt_t *ca, *chain;
	gnutls_x509_trust_list_t tl;
	unsigned nca, nchain, critical = 0, status = 99, usage = 0;
	time_t now = time(NULL);
	int pathlen = -5;

	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	assert_int_equal(mode_of(e->state, NULL), 0700);
	assert_int_equal(mode_of(e->ids, NULL), 0700);
	assert_int_equal(mode_of(e->state, "ca.key"), 0600);
	assert_int_equal(mode_of(e->ids, "host.example.key"), 0600);
	assert_int_equal(mode_of(e->ids, "host.example.pem") & 0077, 0044);

	nca = load_crts(e->state, "ca.pem", &ca);
	assert_int_equal(nca, 1);
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(
				 ca[0], &critical, NULL, &pathlen),
			 1);
	assert_int_equal(pathlen, 0);
	assert_true(gnutls_x509_crt_get_key_usage(ca[0], &usage, NULL) >= 0);
	assert_true(usage & GNUTLS_KEY_KEY_CERT_SIGN);
	assert_int_equal(gnutls_x509_crt_get_pk_algorithm(ca[0], NULL),
			 GNUTLS_PK_ECDSA);
	assert_true(gnutls_x509_crt_get_activation_time(ca[0]) <= now - 3500);
	assert_true(gnutls_x509_crt_get_expiration_time(ca[0]) >=
		    now + 3650L * 86400);

	nchain = load_crts(e->ids, "host.example.pem", &chain);
	assert_int_equal(nchain, 2);
	assert_int_equal(gnutls_x509_crt_equals(chain[1], ca[0]), 1);
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(
				 chain[0], NULL, NULL, NULL),
			 0);
	usage = 0;
	assert_true(gnutls_x509_crt_get_key_usage(chain[0], &usage, NULL) >= 0);
	assert_int_equal(usage, GNUTLS_KEY_DIGITAL_SIGNATURE);
	assert_true(has_purpose(chain[0], GNUTLS_KP_TLS_WWW_SERVER));
	assert_true(has_purpose(chain[0], GNUTLS_KP_TLS_WWW_CLIENT));
	assert_true(has_san(chain[0], GNUTLS_SAN_DNSNAME, "host.example"));
	assert_true(has_san(chain[0], GNUTLS_SAN_DNSNAME, "localhost"));
	assert_int_equal(san_count(chain[0]), 2);
	assert_true(gnutls_x509_crt_get_activation_time(chain[0]) <=
		    now - 3500);
	assert_true(gnutls_x509_crt_get_expiration_time(chain[0]) >=
		    now + 364L * 86400);
	assert_true(gnutls_x509_crt_get_expiration_time(chain[0]) <=
		    now + 366L * 86400);

	/* the chain verifies against the CA */
	assert_int_equal(gnutls_x509_trust_list_init(&tl, 0), 0);
	assert_int_equal(gnutls_x509_trust_list_add_cas(tl, ca, 1, 0), 1);
	gnutls_free(ca);	/* certificates now belong to tl */
	assert_int_equal(gnutls_x509_trust_list_verify_crt(tl, chain, nchain,
							   0, &status, NULL),
			 0);
	assert_int_equal(status, 0);
	gnutls_x509_trust_list_deinit(tl, 1);
	free_crts(chain, nchain);
}

static void test_ensure_keeps_files(void **state)
{
	struct env *e = *state;
	gnutls_datum_t ca, cakey, pem, key;
	struct stat before, after;
	char p[512];

	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	read_all(e->state, "ca.pem", &ca);
	read_all(e->state, "ca.key", &cakey);
	read_all(e->ids, "host.example.pem", &pem);
	read_all(e->ids, "host.example.key", &key);
	path_of(p, sizeof(p), e->ids, "host.example.pem");
	assert_int_equal(stat(p, &before), 0);

	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_true(same_file(e->state, "ca.pem", &ca));
	assert_true(same_file(e->state, "ca.key", &cakey));
	assert_true(same_file(e->ids, "host.example.pem", &pem));
	assert_true(same_file(e->ids, "host.example.key", &key));

	/* a second host name uses the same CA */
	assert_int_equal(idgen_ensure(e->state, e->ids, "other.example",
				      e->err, sizeof(e->err)), 0);
	assert_true(same_file(e->state, "ca.pem", &ca));
	gnutls_free(ca.data);
	gnutls_free(cakey.data);
	gnutls_free(pem.data);
	gnutls_free(key.data);
}

/* A key whose certificate is missing (crash between the writes) gets a
 * certificate for that same key. */
static void test_ensure_repairs_missing_cert(void **state)
{
	struct env *e = *state;
	gnutls_datum_t key, pem;
	gnutls_certificate_credentials_t c;
	char p[512], k[512];

	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	read_all(e->ids, "host.example.key", &key);
	read_all(e->ids, "host.example.pem", &pem);
	path_of(p, sizeof(p), e->ids, "host.example.pem");
	path_of(k, sizeof(k), e->ids, "host.example.key");
	assert_int_equal(unlink(p), 0);

	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	assert_true(same_file(e->ids, "host.example.key", &key));
	assert_false(same_file(e->ids, "host.example.pem", &pem));
	/* GnuTLS checks that key and certificate match */
	assert_int_equal(gnutls_certificate_allocate_credentials(&c), 0);
	assert_true(gnutls_certificate_set_x509_key_file2(
			    c, p, k, GNUTLS_X509_FMT_PEM, NULL, 0) >= 0);
	gnutls_certificate_free_credentials(c);
	gnutls_free(key.data);
	gnutls_free(pem.data);
}

static void test_ensure_refuses_cert_without_key(void **state)
{
	struct env *e = *state;
	gnutls_datum_t ca;
	char p[512];

	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	read_all(e->state, "ca.pem", &ca);
	path_of(p, sizeof(p), e->state, "ca.key");
	assert_int_equal(unlink(p), 0);
	e->err[0] = '\0';
	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), -ENOENT);
	assert_non_null(strstr(e->err, "ca.key is missing"));
	assert_true(same_file(e->state, "ca.pem", &ca));	/* untouched */
	gnutls_free(ca.data);

	path_of(p, sizeof(p), e->ids, "host.example.key");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(idgen_issue(e->state, e->ids, "x.example", e->err,
				     sizeof(e->err)), -ENOENT);
}

static void test_ca_key_mismatch(void **state)
{
	struct env *e = *state;
	char other[400], a[512], b[512];

	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	snprintf(other, sizeof(other), "%s/other", e->dir);
	assert_int_equal(idgen_ensure(other, e->ids, "host.example", e->err,
				      sizeof(e->err)), 0);
	path_of(a, sizeof(a), other, "ca.key");
	path_of(b, sizeof(b), e->state, "ca.key");
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(idgen_issue(e->state, e->ids, "x.example", e->err,
				     sizeof(e->err)), -EINVAL);
	assert_non_null(strstr(e->err, "does not match"));
}

static void test_issue(void **state)
{
	struct env *e = *state;
	gnutls_x509_crt_t *host, *alice, *svc;
	unsigned char s1[32], s2[32];
	size_t l1 = sizeof(s1), l2 = sizeof(s2);
	unsigned nh, na, ns;
	char cn[128];
	size_t cnlen = sizeof(cn);

	assert_int_equal(idgen_issue(e->state, e->ids, "svc.example", e->err,
				     sizeof(e->err)), -ENOENT);
	assert_non_null(strstr(e->err, "no local CA"));
	assert_int_equal(idgen_ensure(e->state, e->ids, "host.example",
				      e->err, sizeof(e->err)), 0);
	assert_int_equal(idgen_issue(e->state, e->ids, "svc.example", e->err,
				     sizeof(e->err)), 0);
	assert_int_equal(idgen_issue(e->state, e->ids, "alice@example.com",
				     e->err, sizeof(e->err)), 0);
	assert_int_equal(idgen_issue(e->state, e->ids, "svc.example", e->err,
				     sizeof(e->err)), -EEXIST);
	assert_int_equal(mode_of(e->ids, "alice@example.com.key"), 0600);

	nh = load_crts(e->ids, "host.example.pem", &host);
	ns = load_crts(e->ids, "svc.example.pem", &svc);
	na = load_crts(e->ids, "alice@example.com.pem", &alice);
	assert_int_equal(ns, 2);
	assert_int_equal(na, 2);
	assert_true(has_san(svc[0], GNUTLS_SAN_DNSNAME, "svc.example"));
	assert_int_equal(san_count(svc[0]), 1);
	assert_true(has_san(alice[0], GNUTLS_SAN_RFC822NAME,
			    "alice@example.com"));
	assert_true(has_san(alice[0], GNUTLS_SAN_DNSNAME, "example.com"));
	assert_int_equal(san_count(alice[0]), 2);
	assert_int_equal(gnutls_x509_crt_get_dn_by_oid(
				 alice[0], GNUTLS_OID_X520_COMMON_NAME, 0, 0,
				 cn, &cnlen),
			 0);
	assert_string_equal(cn, "alice@example.com");
	/* random 16-byte serials */
	assert_int_equal(gnutls_x509_crt_get_serial(host[0], s1, &l1), 0);
	assert_int_equal(gnutls_x509_crt_get_serial(svc[0], s2, &l2), 0);
	assert_int_equal(l1, 16);
	assert_int_equal(l2, 16);
	assert_memory_not_equal(s1, s2, 16);
	assert_int_equal(gnutls_x509_crt_equals(host[1], svc[1]), 1);
	free_crts(host, nh);
	free_crts(svc, ns);
	free_crts(alice, na);
}

static void test_bad_names(void **state)
{
	struct env *e = *state;
	static const char *bad[] = { "", ".hidden", "a/b", "../x", "a b",
				     "a@b@c", "@example.com", "user@",
				     "x\n.example", "semi;colon" };
	char longname[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(idgen_ensure(e->state, e->ids, bad[i], e->err,
					      sizeof(e->err)),
				 -EINVAL);
	memset(longname, 'a', 128);
	longname[128] = '\0';
	assert_int_equal(idgen_ensure(e->state, e->ids, longname, e->err,
				      sizeof(e->err)), -EINVAL);
	longname[127] = '\0';
	assert_int_equal(idgen_ensure(e->state, e->ids, longname, e->err,
				      sizeof(e->err)), 0);
	assert_int_equal(idgen_ensure(NULL, e->ids, "h", e->err,
				      sizeof(e->err)), -EINVAL);
}

/* A file where a directory should be: an error, not a crash (works for
 * root too, unlike a read-only directory). */
static void test_blocked_dir(void **state)
{
	struct env *e = *state;
	char file[400], p[512];
	FILE *f;

	snprintf(file, sizeof(file), "%s/plainfile", e->dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	path_of(p, sizeof(p), file, "state");
	assert_int_equal(idgen_ensure(p, e->ids, "h", e->err, sizeof(e->err)),
			 -ENOTDIR);
	assert_non_null(strstr(e->err, "plainfile"));
	assert_int_equal(idgen_ensure(e->state, p, "h", e->err,
				      sizeof(e->err)), -ENOTDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ensure_creates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ensure_keeps_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_ensure_repairs_missing_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ensure_refuses_cert_without_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_key_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blocked_dir, setup,
						teardown),
	};

	tplog_init("test_idgen", 1, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

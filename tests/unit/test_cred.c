/* Unit tests for cred: identity loading, trust anchors, peer verification,
 * certificate identities, PKCS#11 keys on a softhsm2 token.
 *
 * Everything is generated per test in a temp dir: a CA and identities with
 * idgen, hostile certificates with certtool (gnutls-bin).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cred.h"
#include "dconfig.h"
#include "idgen.h"
#include "keyproc.h"
#include "tplog.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define USER_PIN "s3cr3t-PIN"

struct env {
	char dir[256];
	char state[320];	/* the trusted CA */
	char boot[320];		/* idgen_ensure's host identity */
	char ids[320];		/* localid_dir under test */
	char work[320];		/* certtool scratch */
	char ca_pem[400];
	char ca_key[400];
	char err[512];
	char why[1024];
	struct dconfig cfg;
	struct cred_store *store;
};

/* ---- helpers ---------------------------------------------------------- */

/* The keys live in a key process (forked: this test is single-threaded
 * when it starts one), which inherits the environment and stderr. */
static int kp_start(void)
{
	struct keyproc_opts o = { .conns = 2, .log_level = LOG_ERR,
				  .log_stderr = 1 };

	return keyproc_start(&o);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void xmkdir(const char *p)
{
	assert_int_equal(mkdir(p, 0700), 0);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	if (e == NULL)
		return -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_cred.XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(e->boot, sizeof(e->boot), "%s/boot", e->dir);
	snprintf(e->ids, sizeof(e->ids), "%s/ids", e->dir);
	snprintf(e->work, sizeof(e->work), "%s/work", e->dir);
	snprintf(e->ca_pem, sizeof(e->ca_pem), "%s/ca.pem", e->state);
	snprintf(e->ca_key, sizeof(e->ca_key), "%s/ca.key", e->state);
	if (mkdir(e->work, 0700) < 0)
		return -1;
	if (idgen_ensure(e->state, e->boot, "boot.example", err,
			 sizeof(err)) < 0) {
		fprintf(stderr, "idgen_ensure: %s\n", err);
		return -1;
	}
	e->cfg.localid_dir = e->ids;
	e->cfg.trust_anchors = e->ca_pem;
	*state = e;
	return kp_start() < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	cred_store_unref(e->store);
	keyproc_stop();
	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

/* Run a shell command; its output goes to work/cmd.log, shown on failure. */
static void sh(struct env *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sh(struct env *e, const char *fmt, ...)
{
	char cmd[4096], full[4600], show[600];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "( %s ) >%s/cmd.log 2>&1", cmd, e->work);
	rc = system(full);
	if (rc != 0) {
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
		snprintf(show, sizeof(show), "cat %s/cmd.log >&2", e->work);
		if (system(show) != 0)
			fprintf(stderr, "(no log)\n");
	}
	assert_int_equal(rc, 0);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void issue(struct env *e, const char *name)
{
	assert_int_equal(idgen_issue(e->state, e->ids, name, e->err,
				     sizeof(e->err)), 0);
}

static void load(struct env *e)
{
	cred_store_unref(e->store);
	e->store = NULL;
	e->err[0] = '\0';
	if (cred_store_load(&e->store, &e->cfg, e->err, sizeof(e->err)) != 0)
		fprintf(stderr, "cred_store_load: %s\n", e->err);
	assert_non_null(e->store);
}

/* The certificates of a PEM file as DER. */
struct chain {
	gnutls_datum_t der[20];
	unsigned n;
};

static void chain_load(struct chain *c, const char *path)
{
	gnutls_x509_crt_t *list;
	gnutls_datum_t pem;
	unsigned n = 0;

	assert_int_equal(gnutls_load_file(path, &pem), 0);
	assert_int_equal(gnutls_x509_crt_list_import2(&list, &n, &pem,
						      GNUTLS_X509_FMT_PEM, 0),
			 0);
	gnutls_free(pem.data);
	assert_true(n > 0 && n + c->n <= 20);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(gnutls_x509_crt_export2(list[i],
							 GNUTLS_X509_FMT_DER,
							 &c->der[c->n + i]),
				 0);
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	c->n += n;
}

static void chain_free(struct chain *c)
{
	for (unsigned i = 0; i < c->n; i++)
		gnutls_free(c->der[i].data);
	c->n = 0;
}

static void id_chain(struct env *e, struct chain *c, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.pem", e->ids, name);
	memset(c, 0, sizeof(*c));
	chain_load(c, p);
}

/* A certificate made by certtool from template text, signed by
 * ca_pem/ca_key (the trusted CA when NULL).  Writes work/<tag>.key and
 * work/<tag>.crt; extra goes on certtool's command line. */
static void certtool_cert(struct env *e, const char *tag, const char *tmpl,
			  const char *ca_pem, const char *ca_key,
			  const char *extra)
{
	char t[512];

	snprintf(t, sizeof(t), "%s/%s.tmpl", e->work, tag);
	write_file(t, tmpl);
	sh(e, "certtool --generate-privkey --key-type=ecdsa --outfile %s/%s.key"
	      " && certtool --generate-certificate --load-privkey %s/%s.key"
	      " --load-ca-certificate %s --load-ca-privkey %s --template %s"
	      " --outfile %s/%s.crt %s",
	   e->work, tag, e->work, tag, ca_pem ? ca_pem : e->ca_pem,
	   ca_key ? ca_key : e->ca_key, t, e->work, tag, extra ? extra : "");
}

/* work/<tag>.crt followed by the CA that signed it (trusted CA if NULL). */
static void tool_chain(struct env *e, struct chain *c, const char *tag,
		       const char *ca_pem)
{
	char p[512];

	memset(c, 0, sizeof(*c));
	snprintf(p, sizeof(p), "%s/%s.crt", e->work, tag);
	chain_load(c, p);
	chain_load(c, ca_pem ? ca_pem : e->ca_pem);
}

static int verify(struct env *e, const struct chain *c, const char *name,
		  int domain_ok, const char *purpose)
{
	e->why[0] = '\0';
	return cred_verify_peer(e->store, c->der, c->n, name, domain_ok,
				purpose, e->why, sizeof(e->why));
}

static void assert_refused(struct env *e, int rc, const char *reason)
{
	if (rc != -EACCES || strstr(e->why, reason) == NULL)
		fprintf(stderr, "expected refusal with \"%s\", got %d: %s\n",
			reason, rc, e->why);
	assert_int_equal(rc, -EACCES);
	assert_non_null(strstr(e->why, reason));
}

/* Capture what tplog writes to stderr while fn runs.  The file is only
 * appended to (a key process started during a capture keeps writing to
 * it); capture_end returns what was added since capture_start. */
static int saved_stderr = -1;
static off_t capture_from;

static void capture_start(struct env *e)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/log.txt", e->work);
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fd >= 0 && saved_stderr >= 0);
	capture_from = lseek(fd, 0, SEEK_END);
	dup2(fd, 2);
	close(fd);
}

static char *capture_end(struct env *e)
{
	char p[512];
	gnutls_datum_t d;
	char *s;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	snprintf(p, sizeof(p), "%s/log.txt", e->work);
	assert_int_equal(gnutls_load_file(p, &d), 0);
	assert_true(capture_from >= 0 && (size_t)capture_from <= d.size);
	s = strndup((const char *)d.data + capture_from,
		    d.size - (size_t)capture_from);
	gnutls_free(d.data);
	assert_non_null(s);
	return s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL;
	     p = strstr(p + 1, needle))
		n++;
	return n;
}

static void copy(struct env *e, const char *from, const char *to)
{
	sh(e, "cp '%s/%s' '%s/%s'", e->ids, from, e->ids, to);
}

/* ---- loading ------------------------------------------------------------ */

static void test_load_identities(void **state)
{
	struct env *e = *state;
	const struct cred_identity *id;
	char p[512], longname[200], who[256];
	gnutls_datum_t der;
	char *log;

	issue(e, "a.example");
	issue(e, "b.example");
	issue(e, "alice@example.com");
	/* broken ones */
	snprintf(p, sizeof(p), "%s/garbage.pem", e->ids);
	write_file(p, "-----BEGIN CERTIFICATE-----\nnot base64 !!\n"
		      "-----END CERTIFICATE-----\n");
	copy(e, "a.example.key", "garbage.key");
	sh(e, "cp %s/a.example.pem %s/trailing.pem && printf -- '%s' >> "
	      "%s/trailing.pem && cp %s/a.example.key %s/trailing.key",
	   e->ids, e->ids, "-----BEGIN CERTIFICATE-----\\nMIIB!!\\n"
	   "-----END CERTIFICATE-----\\n", e->ids, e->ids, e->ids);
	snprintf(p, sizeof(p), "%s/empty.pem", e->ids);
	write_file(p, "");
	copy(e, "a.example.key", "empty.key");
	copy(e, "a.example.pem", "mixed.pem");
	copy(e, "b.example.key", "mixed.key");
	copy(e, "a.example.pem", "nokey.pem");
	copy(e, "a.example.pem", ".hidden.pem");
	copy(e, "a.example.key", ".hidden.key");
	copy(e, "a.example.pem", "both.pem");
	copy(e, "a.example.key", "both.key");
	snprintf(p, sizeof(p), "%s/both.p11", e->ids);
	write_file(p, "pkcs11:token=x;object=y;type=private\n");
	copy(e, "a.example.key", "orphan.key");
	memset(longname, 'x', 128);
	longname[128] = '\0';
	sh(e, "cp %s/a.example.pem %s/%s.pem && cp %s/a.example.key %s/%s.key",
	   e->ids, e->ids, longname, e->ids, e->ids, longname);
	snprintf(p, sizeof(p), "%s/evil\nname.pem", e->ids);
	write_file(p, "");
	snprintf(p, sizeof(p), "%s/unreadable.pem", e->ids);
	assert_int_equal(symlink("/nonexistent/x.pem", p), 0);
	copy(e, "a.example.key", "unreadable.key");

	capture_start(e);
	load(e);
	log = capture_end(e);

	assert_int_equal(cred_count(e->store), 3);
	assert_int_equal(cred_anchor_count(e->store), 1);
	assert_non_null(cred_anonymous(e->store));
	assert_non_null(cred_trust_list(e->store));
	for (int i = 0; i < 3; i++) {
		static const char *names[] = { "a.example", "b.example",
					       "alice@example.com" };

		id = cred_find(e->store, names[i]);
		assert_non_null(id);
		assert_string_equal(id->name, names[i]);
		assert_non_null(id->cred);
		/* the credential holds that identity's certificate */
		assert_int_equal(gnutls_certificate_get_crt_raw(id->cred, 0, 0,
								&der),
				 0);
		assert_int_equal(cred_cert_identity(&der, who, sizeof(who)), 0);
		assert_string_equal(who, names[i]);
	}
	assert_null(cred_find(e->store, "A.EXAMPLE"));
	assert_null(cred_find(e->store, "unknown.example"));
	assert_null(cred_find(e->store, "garbage"));
	assert_null(cred_find(e->store, "mixed"));
	assert_null(cred_find(e->store, "trailing"));
	assert_null(cred_find(e->store, "empty"));
	assert_null(cred_find(e->store, "nokey"));
	assert_null(cred_find(e->store, "both"));
	assert_null(cred_find(e->store, ".hidden"));
	assert_null(cred_find(e->store, longname));
	assert_null(cred_find(e->store, ""));
	assert_null(cred_find(e->store, NULL));

	/* each broken identity is named in the log with GnuTLS's reason */
	assert_non_null(strstr(log, "identity garbage: "));
	assert_non_null(strstr(log, "identity mixed: "));
	assert_non_null(strstr(log, "identity mixed: The certificate and "
				    "the given key do not match"));
	assert_non_null(strstr(log, "identity nokey: no .key or .p11 file"));
	assert_non_null(strstr(log, "identity both: both a .key and a .p11"));
	assert_non_null(strstr(log, "identity unreadable: "));
	assert_non_null(strstr(log, "identity trailing: Base64"));
	assert_non_null(strstr(log, "identity empty: "));
	assert_non_null(strstr(log, "identity file xxxxxxxxxx"));
	assert_non_null(strstr(log, "identity file evil?name.pem: bad name"));
	assert_null(strstr(log, "hidden"));
	free(log);
}

static void test_expired_identity_loads(void **state)
{
	struct env *e = *state;
	char *log;

	xmkdir(e->ids);
	certtool_cert(e, "old", "cn = old.example\ndns_name = old.example\n"
				"tls_www_server\nsigning_key\n"
				"activation_date = \"2019-01-01 00:00:00\"\n"
				"expiration_date = \"2020-01-01 00:00:00\"\n",
		      NULL, NULL, NULL);
	sh(e, "cp %s/old.crt %s/old.example.pem && cp %s/old.key "
	      "%s/old.example.key", e->work, e->ids, e->work, e->ids);
	tplog_set_level(LOG_WARNING);
	capture_start(e);
	load(e);
	log = capture_end(e);
	tplog_set_level(LOG_ERR);
	assert_int_equal(cred_count(e->store), 1);
	assert_non_null(cred_find(e->store, "old.example"));
	assert_non_null(strstr(log, "identity old.example: certificate "
				    "expired"));
	free(log);
}

static void test_empty_and_missing_localid_dir(void **state)
{
	struct env *e = *state;
	struct cred_store *s = NULL;

	/* missing directory: an error naming it */
	assert_int_equal(cred_store_load(&s, &e->cfg, e->err, sizeof(e->err)),
			 -ENOENT);
	assert_null(s);
	assert_non_null(strstr(e->err, e->ids));
	/* empty directory and no directory: no identities, not an error */
	xmkdir(e->ids);
	load(e);
	assert_int_equal(cred_count(e->store), 0);
	assert_null(cred_find(e->store, "boot.example"));
	e->cfg.localid_dir = NULL;
	load(e);
	assert_int_equal(cred_count(e->store), 0);
	assert_non_null(cred_anonymous(e->store));
}

static void test_refcount(void **state)
{
	struct env *e = *state;
	struct cred_store *s;

	issue(e, "a.example");
	load(e);
	s = e->store;
	cred_store_ref(s);
	cred_store_ref(s);
	cred_store_unref(s);
	cred_store_unref(s);
	/* still alive: the setup's reference remains (ASan checks the rest) */
	assert_non_null(cred_find(s, "a.example"));
	cred_store_unref(NULL);
	cred_store_ref(NULL);
	assert_int_equal(cred_count(NULL), 0);
	assert_null(cred_find(NULL, "a.example"));
}

/* Many identities: loading scales and every one is found by name. */
static void test_many_identities(void **state)
{
	struct env *e = *state;
	enum { N = 1000 };
	char src[512], dst[512], name[64];

	issue(e, "seed.example");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "id%04d.example", (i * 7919) % N);
		snprintf(src, sizeof(src), "%s/seed.example.pem", e->ids);
		snprintf(dst, sizeof(dst), "%s/%s.pem", e->ids, name);
		assert_int_equal(link(src, dst), 0);
		snprintf(src, sizeof(src), "%s/seed.example.key", e->ids);
		snprintf(dst, sizeof(dst), "%s/%s.key", e->ids, name);
		assert_int_equal(link(src, dst), 0);
	}
	load(e);
	assert_int_equal(cred_count(e->store), N + 1);
	for (int i = 0; i < N; i++) {
		const struct cred_identity *id;

		snprintf(name, sizeof(name), "id%04d.example", i);
		id = cred_find(e->store, name);
		assert_non_null(id);
		assert_string_equal(id->name, name);
	}
	assert_non_null(cred_find(e->store, "seed.example"));
	assert_null(cred_find(e->store, "id1000.example"));
	assert_null(cred_find(e->store, "id0000.exampl"));
}

/* ---- trust anchors ------------------------------------------------------ */

static void test_anchor_errors(void **state)
{
	struct env *e = *state;
	struct cred_store *s = NULL;
	char p[512];

	xmkdir(e->ids);
	/* missing file */
	snprintf(p, sizeof(p), "%s/missing.pem", e->work);
	e->cfg.trust_anchors = p;
	assert_int_equal(cred_store_load(&s, &e->cfg, e->err, sizeof(e->err)),
			 -ENOENT);
	assert_null(s);
	assert_non_null(strstr(e->err, "missing.pem"));
	/* garbage */
	snprintf(p, sizeof(p), "%s/garbage.pem", e->work);
	write_file(p, "-----BEGIN CERTIFICATE-----\nAAAA!!\n"
		      "-----END CERTIFICATE-----\n");
	assert_int_equal(cred_store_load(&s, &e->cfg, e->err, sizeof(e->err)),
			 -EINVAL);
	assert_null(s);
	assert_non_null(strstr(e->err, "garbage.pem"));
	/* a file without any certificate */
	snprintf(p, sizeof(p), "%s/empty.pem", e->work);
	write_file(p, "nothing here\n");
	assert_int_equal(cred_store_load(&s, &e->cfg, e->err, sizeof(e->err)),
			 -EINVAL);
	assert_null(s);
	assert_non_null(strstr(e->err, "empty.pem"));
	/* a directory with one broken file among good ones */
	snprintf(p, sizeof(p), "%s/anchors", e->work);
	xmkdir(p);
	sh(e, "cp %s %s/anchors/a.pem && cp %s/garbage.pem %s/anchors/b.crt",
	   e->ca_pem, e->work, e->work, e->work);
	assert_int_equal(cred_store_load(&s, &e->cfg, e->err, sizeof(e->err)),
			 -EINVAL);
	assert_null(s);
	assert_non_null(strstr(e->err, "b.crt"));
}

static void test_anchor_dir(void **state)
{
	struct env *e = *state;
	char p[512], other[400];
	struct chain c;

	snprintf(other, sizeof(other), "%s/other", e->dir);
	assert_int_equal(idgen_ensure(other, e->ids, "o.example", e->err,
				      sizeof(e->err)), 0);
	issue(e, "a.example");
	snprintf(p, sizeof(p), "%s/anchors", e->work);
	xmkdir(p);
	/* .pem and .crt count; other names and dot files do not */
	sh(e, "cp %s %s/anchors/mine.pem && cp %s/ca.pem %s/anchors/other.crt"
	      " && echo junk > %s/anchors/README && echo junk > "
	      "%s/anchors/.x.pem", e->ca_pem, e->work, other, e->work, e->work,
	   e->work);
	e->cfg.trust_anchors = p;
	load(e);
	assert_int_equal(cred_anchor_count(e->store), 2);
	id_chain(e, &c, "a.example");
	assert_int_equal(verify(e, &c, "a.example", 0,
				GNUTLS_KP_TLS_WWW_SERVER), 0);
	chain_free(&c);
	id_chain(e, &c, "o.example");
	assert_int_equal(verify(e, &c, "o.example", 0,
				GNUTLS_KP_TLS_WWW_SERVER), 0);
	chain_free(&c);
	/* an empty directory: zero anchors, allowed, everything refused */
	snprintf(p, sizeof(p), "%s/none", e->work);
	xmkdir(p);
	e->cfg.trust_anchors = p;
	load(e);
	assert_int_equal(cred_anchor_count(e->store), 0);
	id_chain(e, &c, "a.example");
	assert_refused(e, verify(e, &c, "a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "no trust anchors configured");
	chain_free(&c);
}

static void test_no_anchors(void **state)
{
	struct env *e = *state;
	struct chain c;

	issue(e, "a.example");
	e->cfg.trust_anchors = NULL;
	load(e);
	assert_int_equal(cred_anchor_count(e->store), 0);
	assert_int_equal(cred_count(e->store), 1);
	id_chain(e, &c, "a.example");
	assert_refused(e, verify(e, &c, "a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "no trust anchors configured");
	assert_refused(e, verify(e, &c, NULL, 0, NULL),
		       "no trust anchors configured");
	chain_free(&c);
}

static void test_system_trust(void **state)
{
	struct env *e = *state;
	struct chain c;

	issue(e, "a.example");
	e->cfg.trust_system = 1;
	load(e);
	if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
		assert_true(cred_anchor_count(e->store) > 1);
	id_chain(e, &c, "a.example");
	assert_int_equal(verify(e, &c, "a.example", 0,
				GNUTLS_KP_TLS_WWW_SERVER), 0);
	chain_free(&c);
}

/* ---- verification -------------------------------------------------------- */

static void test_verify_good(void **state)
{
	struct env *e = *state;
	struct chain c;

	issue(e, "a.example");
	load(e);
	id_chain(e, &c, "a.example");
	assert_int_equal(c.n, 2);
	assert_int_equal(verify(e, &c, "a.example", 0,
				GNUTLS_KP_TLS_WWW_SERVER), 0);
	assert_string_equal(e->why, "");
	assert_int_equal(verify(e, &c, "A.Example", 0,
				GNUTLS_KP_TLS_WWW_CLIENT), 0);
	assert_int_equal(verify(e, &c, NULL, 0, NULL), 0);
	/* the leaf alone is enough: its issuer is the anchor */
	c.n = 1;
	assert_int_equal(verify(e, &c, "a.example", 0,
				GNUTLS_KP_TLS_WWW_SERVER), 0);
	c.n = 2;
	/* extra certificates after the leaf are tolerated */
	{
		char other[400], p[512];
		gnutls_datum_t t;

		snprintf(other, sizeof(other), "%s/other", e->dir);
		assert_int_equal(idgen_ensure(other, e->work, "o.example",
					      e->err, sizeof(e->err)), 0);
		snprintf(p, sizeof(p), "%s/ca.pem", other);
		chain_load(&c, p);	/* leaf, CA, unrelated CA */
		t = c.der[1];
		c.der[1] = c.der[2];
		c.der[2] = t;		/* leaf, unrelated CA, CA */
		assert_int_equal(verify(e, &c, "a.example", 0,
					GNUTLS_KP_TLS_WWW_SERVER), 0);
		/* but the leaf must come first */
		t = c.der[0];
		c.der[0] = c.der[2];
		c.der[2] = t;
		assert_refused(e, verify(e, &c, "a.example", 0,
					 GNUTLS_KP_TLS_WWW_SERVER),
			       "name mismatch: certificate for CN=TLS Pool "
			       "local CA ");
	}
	chain_free(&c);
}

static void test_verify_wrong_name(void **state)
{
	struct env *e = *state;
	struct chain c;

	issue(e, "a.example");
	load(e);
	id_chain(e, &c, "a.example");
	assert_refused(e, verify(e, &c, "x.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "name mismatch: certificate for a.example does not "
		       "match x.example");
	assert_null(strstr(e->why, "untrusted"));
	assert_refused(e, verify(e, &c, "a.example.evil", 0, NULL),
		       "name mismatch");
	assert_refused(e, verify(e, &c, "", 0, NULL), "empty name");
	chain_free(&c);

	/* several SANs are all listed */
	certtool_cert(e, "multi", "cn = multi\ndns_name = a.example\n"
				  "dns_name = b.example\ntls_www_server\n"
				  "signing_key\nexpiration_days = 30\n",
		      NULL, NULL, NULL);
	load(e);
	tool_chain(e, &c, "multi", NULL);
	assert_refused(e, verify(e, &c, "x.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "name mismatch: certificate for a.example, b.example "
		       "does not match x.example");
	assert_int_equal(verify(e, &c, "b.example", 0,
				GNUTLS_KP_TLS_WWW_SERVER), 0);
	chain_free(&c);
}

static void test_verify_untrusted(void **state)
{
	struct env *e = *state;
	char other[400];
	struct chain c;

	snprintf(other, sizeof(other), "%s/other", e->dir);
	assert_int_equal(idgen_ensure(other, e->ids, "a.example", e->err,
				      sizeof(e->err)), 0);
	load(e);
	id_chain(e, &c, "a.example");
	assert_refused(e, verify(e, &c, "a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "untrusted chain: signer not found");
	assert_null(strstr(e->why, "name mismatch"));
	/* a self-signed leaf */
	chain_free(&c);
	sh(e, "certtool --generate-privkey --key-type=ecdsa --outfile "
	      "%s/self.key", e->work);
	snprintf(other, sizeof(other), "%s/self.tmpl", e->work);
	write_file(other, "cn = a.example\ndns_name = a.example\n"
			  "tls_www_server\nsigning_key\nexpiration_days = 9\n");
	sh(e, "certtool --generate-self-signed --load-privkey %s/self.key "
	      "--template %s --outfile %s/self.crt", e->work, other, e->work);
	memset(&c, 0, sizeof(c));
	snprintf(other, sizeof(other), "%s/self.crt", e->work);
	chain_load(&c, other);
	assert_refused(e, verify(e, &c, "a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "untrusted chain");
	chain_free(&c);
}

static void test_verify_expired(void **state)
{
	struct env *e = *state;
	struct chain c;

	xmkdir(e->ids);
	certtool_cert(e, "old", "cn = old.example\ndns_name = old.example\n"
				"tls_www_server\nsigning_key\n"
				"activation_date = \"2019-01-01 00:00:00\"\n"
				"expiration_date = \"2020-01-01 00:00:00\"\n",
		      NULL, NULL, NULL);
	certtool_cert(e, "future", "cn = new.example\ndns_name = new.example\n"
				   "tls_www_server\nsigning_key\n"
				   "activation_date = \"2099-01-01 00:00:00\"\n"
				   "expiration_date = \"2100-01-01 00:00:00\"\n",
		      NULL, NULL, NULL);
	load(e);
	tool_chain(e, &c, "old", NULL);
	assert_refused(e, verify(e, &c, "old.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "certificate expired");
	chain_free(&c);
	tool_chain(e, &c, "future", NULL);
	assert_refused(e, verify(e, &c, "new.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "certificate not yet valid");
	chain_free(&c);
}

static void test_verify_purpose_and_algorithm(void **state)
{
	struct env *e = *state;
	struct chain c;

	xmkdir(e->ids);
	certtool_cert(e, "cli", "cn = cli.example\ndns_name = cli.example\n"
				"tls_www_client\nsigning_key\n"
				"expiration_days = 30\n", NULL, NULL, NULL);
	certtool_cert(e, "sha1", "cn = sha1.example\ndns_name = sha1.example\n"
				 "tls_www_server\nsigning_key\n"
				 "expiration_days = 30\n", NULL, NULL,
		      "--hash SHA1");
	load(e);
	tool_chain(e, &c, "cli", NULL);
	assert_int_equal(verify(e, &c, "cli.example", 0,
				GNUTLS_KP_TLS_WWW_CLIENT), 0);
	assert_refused(e, verify(e, &c, "cli.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "key purpose mismatch: not valid for TLS server");
	chain_free(&c);
	tool_chain(e, &c, "sha1", NULL);
	assert_refused(e, verify(e, &c, "sha1.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "insecure algorithm");
	chain_free(&c);
}

/* A leaf signed by another leaf (not a CA) is not trusted. */
static void test_verify_signer_not_ca(void **state)
{
	struct env *e = *state;
	char pem[512], key[512];
	struct chain c;

	issue(e, "a.example");
	snprintf(pem, sizeof(pem), "%s/a.example.pem", e->ids);
	snprintf(key, sizeof(key), "%s/a.example.key", e->ids);
	certtool_cert(e, "sub", "cn = sub.example\ndns_name = sub.example\n"
				"tls_www_server\nsigning_key\n"
				"expiration_days = 30\n", pem, key, NULL);
	load(e);
	memset(&c, 0, sizeof(c));
	snprintf(key, sizeof(key), "%s/sub.crt", e->work);
	chain_load(&c, key);
	chain_load(&c, pem);	/* a.example + CA */
	assert_refused(e, verify(e, &c, "sub.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "untrusted chain");
	chain_free(&c);
}

static void test_verify_email(void **state)
{
	struct env *e = *state;
	struct chain c;

	issue(e, "alice@example.com");
	issue(e, "a.example");
	load(e);
	id_chain(e, &c, "alice@example.com");
	assert_int_equal(verify(e, &c, "alice@example.com", 0,
				GNUTLS_KP_TLS_WWW_CLIENT), 0);
	assert_int_equal(verify(e, &c, "alice@example.com", 1,
				GNUTLS_KP_TLS_WWW_CLIENT), 0);
	assert_refused(e, verify(e, &c, "bob@example.com", 0,
				 GNUTLS_KP_TLS_WWW_CLIENT),
		       "name mismatch: certificate for alice@example.com, "
		       "example.com does not match bob@example.com");
	/* domain_ok: the domain part may match a dNSName */
	assert_int_equal(verify(e, &c, "bob@example.com", 1,
				GNUTLS_KP_TLS_WWW_CLIENT), 0);
	assert_refused(e, verify(e, &c, "bob@other.example", 1,
				 GNUTLS_KP_TLS_WWW_CLIENT),
		       "name mismatch");
	assert_refused(e, verify(e, &c, "alice@", 1, NULL), "name mismatch");
	/* and the plain domain is a DNS name of this certificate */
	assert_int_equal(verify(e, &c, "example.com", 0, NULL), 0);
	chain_free(&c);

	/* a host certificate does not prove a user, unless domain_ok */
	id_chain(e, &c, "a.example");
	assert_refused(e, verify(e, &c, "user@a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "name mismatch");
	assert_int_equal(verify(e, &c, "user@a.example", 1,
				GNUTLS_KP_TLS_WWW_SERVER), 0);
	chain_free(&c);
}

static void test_verify_garbage(void **state)
{
	struct env *e = *state;
	unsigned char junk[300];
	gnutls_datum_t one;
	unsigned full;
	struct chain c;

	issue(e, "a.example");
	load(e);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 37 + 11);
	one.data = junk;
	one.size = sizeof(junk);
	e->why[0] = '\0';
	assert_refused(e, cred_verify_peer(e->store, &one, 1, "a.example", 0,
					   GNUTLS_KP_TLS_WWW_SERVER, e->why,
					   sizeof(e->why)),
		       "unparsable certificate 0");
	/* a truncated certificate */
	id_chain(e, &c, "a.example");
	full = c.der[0].size;
	c.der[0].size = full / 2;
	assert_refused(e, verify(e, &c, "a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "unparsable certificate 0");
	c.der[0].size = full - 1;
	assert_refused(e, verify(e, &c, "a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "unparsable certificate 0");
	c.der[0].size = full;
	/* a good leaf followed by junk */
	gnutls_free(c.der[1].data);
	c.der[1].data = gnutls_malloc(sizeof(junk));
	memcpy(c.der[1].data, junk, sizeof(junk));
	c.der[1].size = sizeof(junk);
	assert_refused(e, verify(e, &c, "a.example", 0,
				 GNUTLS_KP_TLS_WWW_SERVER),
		       "unparsable certificate 1");
	/* one flipped byte in the signature */
	c.n = 1;
	c.der[0].data[c.der[0].size - 3] ^= 0x55;
	assert_int_equal(verify(e, &c, "a.example", 0,
				GNUTLS_KP_TLS_WWW_SERVER), -EACCES);
	c.n = 2;
	chain_free(&c);
	/* a tiny reason buffer and no buffer still refuse */
	id_chain(e, &c, "a.example");
	assert_int_equal(cred_verify_peer(e->store, c.der, c.n, "x.example", 0,
					  NULL, e->why, 8), -EACCES);
	assert_int_equal(strlen(e->why), 7);
	assert_int_equal(cred_verify_peer(e->store, c.der, c.n, "x.example", 0,
					  NULL, NULL, 0), -EACCES);
	chain_free(&c);
}

static void test_verify_empty(void **state)
{
	struct env *e = *state;
	gnutls_datum_t none = { NULL, 0 };
	gnutls_datum_t many[17];
	struct chain c;

	issue(e, "a.example");
	load(e);
	assert_refused(e, cred_verify_peer(e->store, NULL, 0, "a.example", 0,
					   NULL, e->why, sizeof(e->why)),
		       "empty chain");
	assert_refused(e, cred_verify_peer(e->store, &none, 0, "a.example", 0,
					   NULL, e->why, sizeof(e->why)),
		       "empty chain");
	assert_refused(e, cred_verify_peer(e->store, &none, 1, "a.example", 0,
					   NULL, e->why, sizeof(e->why)),
		       "empty certificate 0");
	id_chain(e, &c, "a.example");
	for (int i = 0; i < 17; i++)
		many[i] = c.der[i % 2];
	assert_refused(e, cred_verify_peer(e->store, many, 17, "a.example", 0,
					   NULL, e->why, sizeof(e->why)),
		       "chain too long");
	assert_refused(e, cred_verify_peer(NULL, c.der, c.n, "a.example", 0,
					   NULL, e->why, sizeof(e->why)),
		       "no trust anchors configured");
	chain_free(&c);
}

/* One store shared by many threads: lookups, verifications and
 * references at once (run under ThreadSanitizer/ASan to see more). */
struct shared {
	struct env *e;
	struct chain *c;
	int failures;
};

static void *hammer(void *arg)
{
	struct shared *sh = arg;
	char why[256];

	for (int i = 0; i < 100; i++) {
		cred_store_ref(sh->e->store);
		if (cred_find(sh->e->store, "a.example") == NULL ||
		    cred_verify_peer(sh->e->store, sh->c->der, sh->c->n,
				     "a.example", 0, GNUTLS_KP_TLS_WWW_SERVER,
				     why, sizeof(why)) != 0 ||
		    cred_verify_peer(sh->e->store, sh->c->der, sh->c->n,
				     "b.example", 0, GNUTLS_KP_TLS_WWW_SERVER,
				     why, sizeof(why)) != -EACCES)
			__atomic_add_fetch(&sh->failures, 1, __ATOMIC_RELAXED);
		cred_store_unref(sh->e->store);
	}
	return NULL;
}

static void test_shared_by_threads(void **state)
{
	struct env *e = *state;
	struct shared sh = { e, NULL, 0 };
	pthread_t th[8];
	struct chain c;

	issue(e, "a.example");
	load(e);
	id_chain(e, &c, "a.example");
	sh.c = &c;
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &sh), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(sh.failures, 0);
	chain_free(&c);
}

/* ---- cred_cert_identity --------------------------------------------------- */

static void tool_identity(struct env *e, const char *tag, const char *tmpl,
			  int want_rc, const char *want)
{
	struct chain c;
	char out[256] = "";

	certtool_cert(e, tag, tmpl, NULL, NULL, NULL);
	tool_chain(e, &c, tag, NULL);
	assert_int_equal(cred_cert_identity(&c.der[0], out, sizeof(out)),
			 want_rc);
	if (want != NULL)
		assert_string_equal(out, want);
	chain_free(&c);
}

static void test_cert_identity(void **state)
{
	struct env *e = *state;
	struct chain c;
	char out[256];
	gnutls_datum_t junk = { (unsigned char *)"\x30\x03\x02\x01\x01", 5 };

	issue(e, "a.example");
	issue(e, "alice@example.com");
	id_chain(e, &c, "a.example");
	assert_int_equal(cred_cert_identity(&c.der[0], out, sizeof(out)), 0);
	assert_string_equal(out, "a.example");
	/* the CA has only a CN */
	assert_int_equal(cred_cert_identity(&c.der[1], out, sizeof(out)), 0);
	assert_non_null(strstr(out, "TLS Pool local CA "));
	/* too small */
	assert_int_equal(cred_cert_identity(&c.der[0], out, 9), -ENOSPC);
	assert_int_equal(cred_cert_identity(&c.der[0], out, 10), 0);
	chain_free(&c);
	id_chain(e, &c, "alice@example.com");
	assert_int_equal(cred_cert_identity(&c.der[0], out, sizeof(out)), 0);
	assert_string_equal(out, "alice@example.com");
	chain_free(&c);

	/* rfc822Name wins over a dNSName listed first; domain lowercased */
	tool_identity(e, "mail", "cn = whoever\ndns_name = Z.Example\n"
				 "email = Bob@Example.COM\n"
				 "expiration_days = 9\n",
		      0, "Bob@example.com");
	tool_identity(e, "dns", "cn = whoever\ndns_name = WWW.Example.ORG\n"
				"dns_name = b.example\nexpiration_days = 9\n",
		      0, "www.example.org");
	tool_identity(e, "cn", "cn = CN.Example.Org\nexpiration_days = 9\n",
		      0, "cn.example.org");
	tool_identity(e, "person", "cn = John Doe\nexpiration_days = 9\n", 0,
		      "John Doe");
	tool_identity(e, "noname", "organization = Nameless\n"
				   "expiration_days = 9\n", -ENOENT, NULL);
	assert_int_equal(cred_cert_identity(&junk, out, sizeof(out)), -EINVAL);
	assert_int_equal(cred_cert_identity(NULL, out, sizeof(out)), -EINVAL);
}

/* ---- handshakes with loaded credentials ---------------------------------- */

struct server {
	gnutls_session_t s;
	int rc;
};

static void *server_run(void *arg)
{
	struct server *sv = arg;

	do {
		sv->rc = gnutls_handshake(sv->s);
	} while (sv->rc < 0 && !gnutls_error_is_fatal(sv->rc));
	return NULL;
}

/* Handshake over a socketpair with server credential srv; verify what the
 * client saw with cred_verify_peer for name. */
static void handshake_verify(struct env *e,
			     gnutls_certificate_credentials_t srv,
			     const char *name)
{
	gnutls_session_t cli;
	const gnutls_datum_t *peers;
	unsigned npeers = 0;
	struct server sv;
	pthread_t th;
	int sp[2], rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(gnutls_init(&sv.s, GNUTLS_SERVER), 0);
	assert_int_equal(gnutls_set_default_priority(sv.s), 0);
	assert_int_equal(gnutls_credentials_set(sv.s, GNUTLS_CRD_CERTIFICATE,
						srv), 0);
	gnutls_transport_set_int(sv.s, sp[0]);
	assert_int_equal(gnutls_init(&cli, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_set_default_priority(cli), 0);
	assert_int_equal(gnutls_credentials_set(cli, GNUTLS_CRD_CERTIFICATE,
						cred_anonymous(e->store)), 0);
	assert_int_equal(gnutls_server_name_set(cli, GNUTLS_NAME_DNS, name,
						strlen(name)), 0);
	gnutls_transport_set_int(cli, sp[1]);
	assert_int_equal(pthread_create(&th, NULL, server_run, &sv), 0);
	do {
		rc = gnutls_handshake(cli);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		shutdown(sp[1], SHUT_RDWR);
	pthread_join(th, NULL);
	if (rc < 0 || sv.rc < 0)
		fprintf(stderr, "handshake: client %s, server %s\n",
			gnutls_strerror(rc), gnutls_strerror(sv.rc));
	assert_int_equal(rc, 0);
	assert_int_equal(sv.rc, 0);
	peers = gnutls_certificate_get_peers(cli, &npeers);
	assert_non_null(peers);
	assert_int_equal(npeers, 2);
	assert_int_equal(cred_verify_peer(e->store, peers, npeers, name, 0,
					  GNUTLS_KP_TLS_WWW_SERVER, e->why,
					  sizeof(e->why)), 0);
	assert_refused(e, cred_verify_peer(e->store, peers, npeers,
					   "other.example", 0,
					   GNUTLS_KP_TLS_WWW_SERVER, e->why,
					   sizeof(e->why)),
		       "name mismatch");
	gnutls_deinit(cli);
	gnutls_deinit(sv.s);
	close(sp[0]);
	close(sp[1]);
}

static void test_handshake(void **state)
{
	struct env *e = *state;

	issue(e, "a.example");
	load(e);
	handshake_verify(e, cred_find(e->store, "a.example")->cred,
			 "a.example");
}

/* ---- PKCS#11 ------------------------------------------------------------- */

static int test_pin(void *userdata, int attempt, const char *url,
		    const char *label, unsigned flags, char *pin, size_t max)
{
	(void)url;
	(void)label;
	(void)flags;
	if (attempt > 0 || strlen(userdata) >= max)
		return -1;
	strcpy(pin, userdata);
	return 0;
}

/* Sign with the token's key directly and check the identity's
 * certificate verifies it: the loaded chain belongs to that key. */
static void sign_check(const struct cred_identity *id, const char *uri)
{
	gnutls_datum_t data = { (unsigned char *)"to be signed", 12 };
	gnutls_datum_t sig = { NULL, 0 }, der;
	gnutls_privkey_t key;
	gnutls_pubkey_t pub;

	assert_int_equal(gnutls_privkey_init(&key), 0);
	gnutls_privkey_set_pin_function(key, test_pin, (void *)USER_PIN);
	assert_int_equal(gnutls_privkey_import_url(key, uri, 0), 0);
	assert_int_equal(gnutls_privkey_sign_data(key, GNUTLS_DIG_SHA256, 0,
						  &data, &sig), 0);
	assert_int_equal(gnutls_certificate_get_crt_raw(id->cred, 0, 0, &der),
			 0);
	assert_int_equal(gnutls_pubkey_init(&pub), 0);
	assert_int_equal(gnutls_pubkey_import_x509_raw(pub, &der,
						       GNUTLS_X509_FMT_DER, 0),
			 0);
	assert_true(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256,
					       0, &data, &sig) >= 0);
	data.data = (unsigned char *)"something else";
	data.size = 14;
	assert_true(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256,
					       0, &data, &sig) < 0);
	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(key);
}

static void test_pkcs11_identity(void **state)
{
	struct env *e = *state;
	static const char uri[] = "pkcs11:token=test;object=idkey;type=private";
	char conf[400], tokens[400], p[512], text[1200];
	const struct cred_identity *id;
	char *log;

	/* these must exist: a missing tool is a failure, not a skip */
	assert_int_equal(access(SOFTHSM_MODULE, R_OK), 0);
	sh(e, "command -v softhsm2-util && command -v p11tool");

	snprintf(tokens, sizeof(tokens), "%s/tokens", e->dir);
	xmkdir(tokens);
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", e->dir);
	snprintf(text, sizeof(text), "directories.tokendir = %s\n"
		 "objectstore.backend = file\nlog.level = ERROR\n", tokens);
	write_file(conf, text);
	assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0);
	assert_int_equal(setenv("TLSPOOL_PKCS11_MODULE", SOFTHSM_MODULE, 1), 0);
	sh(e, "softhsm2-util --init-token --free --label test --pin %s "
	      "--so-pin 5678", USER_PIN);

	issue(e, "hsm.example");
	issue(e, "wrongkey.example");
	issue(e, "missing.example");
	issue(e, "plain.example");
	sh(e, "GNUTLS_PIN=%s p11tool --provider %s --login --write "
	      "--load-privkey %s/hsm.example.key --label idkey "
	      "'pkcs11:token=test'", USER_PIN, SOFTHSM_MODULE, e->ids);
	/* the key now lives only on the token */
	snprintf(p, sizeof(p), "%s/hsm.example.key", e->ids);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/hsm.example.p11", e->ids);
	snprintf(text, sizeof(text), "%s\n", uri);
	write_file(p, text);
	/* a token key that does not belong to the certificate */
	snprintf(p, sizeof(p), "%s/wrongkey.example.key", e->ids);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/wrongkey.example.p11", e->ids);
	write_file(p, text);
	/* a URI naming nothing */
	snprintf(p, sizeof(p), "%s/missing.example.key", e->ids);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/missing.example.p11", e->ids);
	write_file(p, "pkcs11:token=test;object=nosuch;type=private\n");

	/* wrong PIN: the token identities are skipped, the rest loads */
	e->cfg.pkcs11_pin = "0000-wrong";
	capture_start(e);
	/* a key process that sees the module and logs into the capture */
	cred_store_unref(e->store);
	e->store = NULL;
	keyproc_stop();
	assert_int_equal(kp_start(), 0);
	load(e);
	log = capture_end(e);
	assert_int_equal(cred_count(e->store), 1);
	assert_non_null(cred_find(e->store, "plain.example"));
	assert_null(cred_find(e->store, "hsm.example"));
	assert_non_null(strstr(log, "identity hsm.example: "));
	assert_null(strstr(log, "0000-wrong"));
	/* three identities on the token, but one wrong login only */
	assert_int_equal(count(log, "PIN rejected, not trying it again"), 1);
	assert_int_equal(count(log, "PIN was rejected before"), 2);
	free(log);
	/* and a reload with the same wrong PIN does not try it at all */
	capture_start(e);
	load(e);
	log = capture_end(e);
	assert_int_equal(cred_count(e->store), 1);
	assert_int_equal(count(log, "PIN rejected, not trying it again"), 0);
	assert_int_equal(count(log, "PIN was rejected before"), 3);
	free(log);

	/* the right PIN */
	e->cfg.pkcs11_pin = USER_PIN;
	capture_start(e);
	load(e);
	log = capture_end(e);
	assert_int_equal(cred_count(e->store), 2);
	id = cred_find(e->store, "hsm.example");
	assert_non_null(id);
	assert_null(cred_find(e->store, "wrongkey.example"));
	assert_null(cred_find(e->store, "missing.example"));
	assert_non_null(strstr(log, "identity wrongkey.example: "));
	assert_non_null(strstr(log, "identity missing.example: "));
	assert_null(strstr(log, USER_PIN));
	free(log);

	sign_check(id, uri);
	/* and the credential works in a real handshake */
	handshake_verify(e, id->cred, "hsm.example");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_load_identities),
		T(test_expired_identity_loads),
		T(test_empty_and_missing_localid_dir),
		T(test_refcount),
		T(test_many_identities),
		T(test_anchor_errors),
		T(test_anchor_dir),
		T(test_no_anchors),
		T(test_system_trust),
		T(test_verify_good),
		T(test_verify_wrong_name),
		T(test_verify_untrusted),
		T(test_verify_expired),
		T(test_verify_purpose_and_algorithm),
		T(test_verify_signer_not_ca),
		T(test_verify_email),
		T(test_verify_garbage),
		T(test_verify_empty),
		T(test_shared_by_threads),
		T(test_cert_identity),
		T(test_handshake),
		T(test_pkcs11_identity),
	};
#undef T

	tplog_init("test_cred", 1, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

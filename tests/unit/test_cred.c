/* Unit tests for cred: identity loading and trust anchors.
 *
 * Everything is generated per test in a temp dir (cred_fixture.c): a CA
 * and identities with idgen, hostile certificates with certtool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred_fixture.h"

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "idgen.h"
#include "keyproc.h"
#include "tplog.h"

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

	fx_capture_start(&e->cap, e->log);
	load(e);
	log = fx_capture_end(&e->cap, e->log);

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
	fx_capture_start(&e->cap, e->log);
	load(e);
	log = fx_capture_end(&e->cap, e->log);
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
	};
#undef T

	tplog_init("test_cred", 1, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

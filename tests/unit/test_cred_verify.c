/* Unit tests for cred: peer verification, certificate identities and
 * handshakes with loaded credentials (fixture: cred_fixture.c).
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

static void test_handshake(void **state)
{
	struct env *e = *state;

	issue(e, "a.example");
	load(e);
	handshake_verify(e, cred_find(e->store, "a.example")->cred,
			 "a.example");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
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
	};
#undef T

	tplog_init("test_cred_verify", 1, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

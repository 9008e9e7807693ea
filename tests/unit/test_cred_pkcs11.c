/* Unit tests for cred: PKCS#11 keys on a softhsm2 token (softhsm2-util,
 * p11tool at test time; fixture: cred_fixture.c).
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

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define USER_PIN "s3cr3t-PIN"

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
	fx_capture_start(&e->cap, e->log);
	/* a key process that sees the module and logs into the capture */
	cred_store_unref(e->store);
	e->store = NULL;
	keyproc_stop();
	assert_int_equal(fx_keyproc_start(2), 0);
	load(e);
	log = fx_capture_end(&e->cap, e->log);
	assert_int_equal(cred_count(e->store), 1);
	assert_non_null(cred_find(e->store, "plain.example"));
	assert_null(cred_find(e->store, "hsm.example"));
	assert_non_null(strstr(log, "identity hsm.example: "));
	assert_null(strstr(log, "0000-wrong"));
	/* three identities on the token, but one wrong login only */
	assert_int_equal(fx_count(log, "PIN rejected, not trying it again"), 1);
	assert_int_equal(fx_count(log, "PIN was rejected before"), 2);
	free(log);
	/* and a reload with the same wrong PIN does not try it at all */
	fx_capture_start(&e->cap, e->log);
	load(e);
	log = fx_capture_end(&e->cap, e->log);
	assert_int_equal(cred_count(e->store), 1);
	assert_int_equal(fx_count(log, "PIN rejected, not trying it again"), 0);
	assert_int_equal(fx_count(log, "PIN was rejected before"), 3);
	free(log);

	/* the right PIN */
	e->cfg.pkcs11_pin = USER_PIN;
	fx_capture_start(&e->cap, e->log);
	load(e);
	log = fx_capture_end(&e->cap, e->log);
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
		T(test_pkcs11_identity),
	};
#undef T

	tplog_init("test_cred_pkcs11", 1, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for PIN questions from the key process (LOAD_URL_ASK and
 * PIN_NEED: daemon/keyproc_pin.c, keyproc.c, keyproc_key.c) and the PIN
 * service's bounds (daemon/pinentry.c).
 *
 * A softhsm2 token made per run holds an ECDSA key; a fake PIN source
 * stands in for the PIN service.  The right PIN loads the key and the
 * question names the token; a wrong PIN is tried on the token once and
 * the source is asked again with the attempt counter; no source, an
 * empty answer or a configured PIN never reach the token twice; a
 * restarted key process gets the PIN that worked without asking; other
 * threads sign through the key process while a PIN is being asked.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "fixture.h"
#include "keyproc.h"
#include "pinentry.h"
#include "tplog.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define USER_PIN "1234"
#define URI "pkcs11:token=pintest;object=pinkey;type=private"

static char dir[256];
static gnutls_pubkey_t pub;
static const gnutls_datum_t msg = { (unsigned char *)"pin test", 8 };

/* ---- the fake PIN source ------------------------------------------------ */

struct seen {
	unsigned attempt;
	int wrong;
	char identity[64], label[40], manuf[40], model[24], serial[24];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const char *answers[4];		/* per question; NULL: no PIN */
	unsigned calls;
	struct seen seen[8];
	int wait_signers;		/* hold the answer until they are done */
	int signers_done;
	int signers_done_at_answer;
} fake = { .lock = PTHREAD_MUTEX_INITIALIZER,
	    .cond = PTHREAD_COND_INITIALIZER };

static int fake_source(const struct keyproc_pin_request *q, char *pin,
		       size_t size)
{
	const char *a;
	struct seen *s;

	pthread_mutex_lock(&fake.lock);
	s = &fake.seen[fake.calls % 8];
	s->attempt = q->attempt;
	s->wrong = q->wrong;
	snprintf(s->identity, sizeof(s->identity), "%s", q->identity);
	snprintf(s->label, sizeof(s->label), "%s", q->label);
	snprintf(s->manuf, sizeof(s->manuf), "%s", q->manufacturer);
	snprintf(s->model, sizeof(s->model), "%s", q->model);
	snprintf(s->serial, sizeof(s->serial), "%s", q->serial);
	a = fake.answers[fake.calls < 4 ? fake.calls : 3];
	fake.calls++;
	if (fake.wait_signers) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		while (fake.signers_done < 2 &&
		       pthread_cond_timedwait(&fake.cond, &fake.lock,
					      &until) == 0)
			;
		fake.signers_done_at_answer = fake.signers_done;
	}
	pthread_mutex_unlock(&fake.lock);
	if (a == NULL)
		return -1;
	snprintf(pin, size, "%s", a);
	return 0;
}

static void fake_reset(const char *a0, const char *a1, const char *a2)
{
	pthread_mutex_lock(&fake.lock);
	memset(fake.seen, 0, sizeof(fake.seen));
	fake.answers[0] = a0;
	fake.answers[1] = a1;
	fake.answers[2] = a2;
	fake.answers[3] = NULL;
	fake.calls = 0;
	fake.wait_signers = 0;
	fake.signers_done = 0;
	fake.signers_done_at_answer = 0;
	pthread_mutex_unlock(&fake.lock);
	keyproc_set_pin_source(fake_source);
}

/* ---- helpers ------------------------------------------------------------ */

/* A fresh key process: the token is not logged in there. */
static int restart_keyproc(unsigned conns)
{
	keyproc_stop();
	return fx_keyproc_start(conns);
}

static int load_pub(void)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/tok.pem", dir);
	return fx_load_pub(p, &pub);
}

static int group_setup(void **state)
{
	char p[600];
	FILE *f;

	(void)state;
	if (fx_mkdtemp(dir, sizeof(dir), "test_keyproc_pin") < 0 ||
	    access(SOFTHSM_MODULE, R_OK) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/softhsm2.conf", dir);
	f = fopen(p, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = "
		"file\nlog.level = ERROR\n", dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", p, 1);
	setenv("TLSPOOL_PKCS11_MODULE", SOFTHSM_MODULE, 1);
	snprintf(p, sizeof(p), "%s/t.tmpl", dir);
	f = fopen(p, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "cn = tok.example\nsigning_key\nexpiration_days = 2\n");
	fclose(f);
	if (fx_sh(dir, "mkdir %s/tokens && softhsm2-util --init-token --free "
		  "--label pintest --pin %s --so-pin 5678", dir,
		  USER_PIN) != 0 ||
	    fx_sh(dir, "certtool --generate-privkey --key-type ecdsa "
		  "--outfile %s/tok.key && certtool --generate-self-signed "
		  "--load-privkey %s/tok.key --template %s --outfile "
		  "%s/tok.pem && certtool --generate-privkey --key-type ecdsa "
		  "--outfile %s/file.key", dir, dir, p, dir, dir) != 0 ||
	    fx_sh(dir, "GNUTLS_PIN=%s p11tool --provider %s --login --write "
		  "--load-privkey %s/tok.key --label pinkey "
		  "'pkcs11:token=pintest'", USER_PIN, SOFTHSM_MODULE,
		  dir) != 0) {
		fprintf(stderr, "token setup failed (see %s/cmd.log)\n", dir);
		return -1;
	}
	return load_pub() < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	keyproc_set_pin_source(NULL);
	keyproc_stop();
	gnutls_pubkey_deinit(pub);
	fx_rmtree(dir);
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	keyproc_set_pin_source(NULL);
	return restart_keyproc(3);
}

static void sign_verify(gnutls_privkey_t key)
{
	gnutls_datum_t sig = { NULL, 0 };

	assert_int_equal(gnutls_privkey_sign_data2(key, GNUTLS_SIGN_ECDSA_SHA256,
						   0, &msg, &sig), 0);
	assert_int_equal(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256,
						    0, &msg, &sig), 0);
	gnutls_free(sig.data);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_no_source(void **state)
{
	gnutls_privkey_t key = NULL;

	(void)state;
	assert_false(keyproc_has_pin_source());
	assert_true(keyproc_privkey_url("t", URI, NULL, &key) < 0);
	assert_null(key);
	assert_true(keyproc_available());
}

static void test_right_pin(void **state)
{
	gnutls_privkey_t key = NULL;

	(void)state;
	fake_reset(USER_PIN, NULL, NULL);
	assert_int_equal(keyproc_privkey_url("tok.example", URI, NULL, &key), 0);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(fake.seen[0].attempt, 1);
	assert_false(fake.seen[0].wrong);
	assert_string_equal(fake.seen[0].identity, "tok.example");
	assert_string_equal(fake.seen[0].label, "pintest");
	assert_string_equal(fake.seen[0].manuf, "SoftHSM project");
	assert_string_equal(fake.seen[0].model, "SoftHSM v2");
	assert_true(fake.seen[0].serial[0] != '\0');
	sign_verify(key);
	gnutls_privkey_deinit(key);
}

/* A wrong PIN reaches the token once; asked again, the source gets the
 * attempt counter and "wrong"; the same PIN again is not sent. */
static void test_wrong_pin(void **state)
{
	gnutls_privkey_t key = NULL;

	(void)state;
	fake_reset("9999", "9999", "9999");
	assert_true(keyproc_privkey_url("t", URI, NULL, &key) < 0);
	assert_null(key);
	assert_int_equal(fake.calls, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(fake.seen[i].attempt, i + 1);
	assert_false(fake.seen[0].wrong);
	assert_true(fake.seen[1].wrong);
	assert_true(fake.seen[2].wrong);
	assert_true(keyproc_available());
	/* a corrected PIN works in the same key process */
	fake_reset(USER_PIN, NULL, NULL);
	assert_int_equal(keyproc_privkey_url("t", URI, NULL, &key), 0);
	sign_verify(key);
	gnutls_privkey_deinit(key);
}

static void test_empty_answer(void **state)
{
	gnutls_privkey_t key = NULL;

	(void)state;
	fake_reset(NULL, USER_PIN, NULL);
	assert_true(keyproc_privkey_url("t", URI, NULL, &key) < 0);
	assert_int_equal(fake.calls, 1);	/* no PIN: given up at once */
	assert_true(keyproc_available());
}

static void test_configured_pin_not_asked(void **state)
{
	gnutls_privkey_t key = NULL;

	(void)state;
	fake_reset(USER_PIN, NULL, NULL);
	assert_int_equal(keyproc_privkey_url("t", URI, USER_PIN, &key), 0);
	assert_int_equal(fake.calls, 0);
	sign_verify(key);
	gnutls_privkey_deinit(key);
}

/* The PIN that worked comes back to a restarted key process without a
 * question. */
static void test_wrong_then_right_and_restart(void **state)
{
	gnutls_privkey_t key = NULL;
	pid_t old;

	(void)state;
	fake_reset("4321", USER_PIN, NULL);
	assert_int_equal(keyproc_privkey_url("t", URI, NULL, &key), 0);
	assert_int_equal(fake.calls, 2);
	assert_int_equal(fake.seen[1].attempt, 2);
	assert_true(fake.seen[1].wrong);
	old = keyproc_pid();
	assert_int_equal(kill(old, SIGKILL), 0);
	for (int i = 0; i < 500 && keyproc_pid() == old; i++) {
		if (keyproc_reap() > 0)
			assert_int_equal(keyproc_restart(), 0);
		if (keyproc_pid() == old)
			usleep(10000);
	}
	assert_true(keyproc_available());
	assert_int_equal(fake.calls, 2);
	sign_verify(key);
	gnutls_privkey_deinit(key);
}

static void *signer(void *arg)
{
	gnutls_privkey_t key = arg;
	gnutls_datum_t sig;

	for (int i = 0; i < 20; i++) {
		sig.data = NULL;
		if (gnutls_privkey_sign_data2(key, GNUTLS_SIGN_ECDSA_SHA256, 0,
					      &msg, &sig) == 0)
			gnutls_free(sig.data);
	}
	pthread_mutex_lock(&fake.lock);
	fake.signers_done++;
	pthread_cond_broadcast(&fake.cond);
	pthread_mutex_unlock(&fake.lock);
	return NULL;
}

struct loader {
	gnutls_privkey_t key;
	int rc;
};

static void *loader_run(void *arg)
{
	struct loader *l = arg;

	l->rc = keyproc_privkey_url("t", URI, NULL, &l->key);
	return NULL;
}

/* With two connections, one held by a load that waits for its PIN, two
 * signers share the other: the PIN source holds its answer until both
 * are done (or 5 s), so a signer stuck behind the PIN would show. */
static void test_signers_not_blocked(void **state)
{
	char p[512];
	gnutls_privkey_t fk = NULL;
	struct loader l = { NULL, -1 };
	pthread_t lt, st[2];
	int done;

	(void)state;
	assert_int_equal(restart_keyproc(2), 0);
	snprintf(p, sizeof(p), "%s/file.key", dir);
	assert_int_equal(keyproc_privkey_file("file", p, &fk), 0);
	fake_reset(USER_PIN, NULL, NULL);
	fake.wait_signers = 1;
	assert_int_equal(pthread_create(&lt, NULL, loader_run, &l), 0);
	for (int i = 0; i < 5000; i++) {	/* until the question came */
		pthread_mutex_lock(&fake.lock);
		done = fake.calls > 0;
		pthread_mutex_unlock(&fake.lock);
		if (done)
			break;
		usleep(1000);
	}
	assert_int_equal(pthread_create(&st[0], NULL, signer, fk), 0);
	assert_int_equal(pthread_create(&st[1], NULL, signer, fk), 0);
	pthread_join(st[0], NULL);
	pthread_join(st[1], NULL);
	pthread_join(lt, NULL);
	assert_int_equal(fake.signers_done_at_answer, 2);
	assert_int_equal(l.rc, 0);
	sign_verify(l.key);
	gnutls_privkey_deinit(l.key);
	gnutls_privkey_deinit(fk);
}

/* The PIN service's bounds, and no service registered. */
static void test_pinentry_bounds(void **state)
{
	struct keyproc_pin_request q = { "id", 1, 0, "lbl", "", "", "" };
	char pin[32] = "x";

	(void)state;
	assert_int_equal(pinentry_timeout_ms(0), PINENTRY_DEFAULT_MS);
	assert_int_equal(pinentry_timeout_ms(1), 1);
	assert_int_equal(pinentry_timeout_ms(5000000), 5000);
	assert_int_equal(pinentry_timeout_ms(4000000000u), PINENTRY_MAX_MS);
	assert_int_equal(pinentry_ask(&q, pin, sizeof(pin)), -ENOENT);
	assert_string_equal(pin, "");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, each_setup)
	const struct CMUnitTest tests[] = {
		T(test_no_source),
		T(test_right_pin),
		T(test_wrong_pin),
		T(test_empty_answer),
		T(test_configured_pin_not_asked),
		T(test_wrong_then_right_and_restart),
		T(test_signers_not_blocked),
		T(test_pinentry_bounds),
	};

	tplog_init("test_keyproc_pin", 1, LOG_ERR);
	gnutls_global_init();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

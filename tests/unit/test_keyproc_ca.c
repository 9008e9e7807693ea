/* Unit tests for the on-the-fly CA (LOCALID_ONTHEFLY): the key process's
 * CA_SETUP and CA_ISSUE (daemon/keyproc_ca.c) and the daemon's cache of
 * credentials (daemon/onthefly.c).
 *
 * A forked key process loads an ECDSA and an RSA CA made per run with
 * certtool; certificates issued for DNS names and user@domain are checked
 * field by field and against the CA; a TLS handshake with an on-the-fly
 * credential verifies for the name; bad CAs, names, lifetimes and
 * payloads are refused with the key process alive; after a restart of
 * the key process the CA is set up again with a new leaf key.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cred.h"
#include "dconfig.h"
#include "fixture.h"
#include "keyproc.h"
#include "keyproc_int.h"
#include "onthefly.h"
#include "tplog.h"

static char dir[256];

/* ---- helpers ------------------------------------------------------------ */

static const char *path(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* <tag>.key and a self-signed <tag>.pem, a CA or not. */
static int make_pair(const char *tag, const char *keytype, int ca)
{
	char key[512], pem[512], tmpl[512];
	FILE *f;

	snprintf(key, sizeof(key), "%s/%s.key", dir, tag);
	snprintf(pem, sizeof(pem), "%s/%s.pem", dir, tag);
	snprintf(tmpl, sizeof(tmpl), "%s/%s.tmpl", dir, tag);
	f = fopen(tmpl, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "cn = \"%s\"\nexpiration_days = 3\n%s", tag,
		ca ? "ca\ncert_signing_key\n" : "signing_key\ntls_www_server\n");
	fclose(f);
	return fx_sh(dir, "certtool --generate-privkey %s --outfile %s && "
		     "certtool --generate-self-signed --load-privkey %s "
		     "--template %s --outfile %s", keytype, key, key, tmpl,
		     pem);
}

static gnutls_x509_crt_t load_crt(const char *tag)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.pem", dir, tag);
	assert_int_equal(gnutls_load_file(p, &d), 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM),
			 0);
	gnutls_free(d.data);
	return crt;
}

static int setup(const char *tag, struct keyproc_ca *ca)
{
	char c[512], k[512];

	snprintf(c, sizeof(c), "%s/%s.pem", dir, tag);
	snprintf(k, sizeof(k), "%s/%s.key", dir, tag);
	return keyproc_ca_setup(c, k, ca);
}

static void assert_alive(pid_t pid)
{
	struct kp_hdr h;
	struct kp_hdr req = { 0, KP_PING, 0, 7, 0 };
	uint8_t buf[8];

	assert_int_equal(keyproc_raw_exchange(&req, sizeof(req), &h, buf,
					      sizeof(buf)), 0);
	assert_int_equal(h.status, 0);
	assert_int_equal(keyproc_pid(), pid);
}

static int group_setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof(dir), "test_keyproc_ca") < 0)
		return -1;
	if (make_pair("ca", "--key-type ecdsa", 1) != 0 ||
	    make_pair("rsaca", "--key-type rsa --bits 2048", 1) != 0 ||
	    make_pair("leaf", "--key-type ecdsa", 0) != 0) {
		fprintf(stderr, "certtool failed (see %s/cmd.log)\n", dir);
		return -1;
	}
	return fx_keyproc_start(3);
}

static int group_teardown(void **state)
{
	(void)state;
	onthefly_clear();
	keyproc_stop();
	fx_rmtree(dir);
	return 0;
}

/* ---- the key process ------------------------------------------------------ */

static void test_issue_before_setup(void **state)
{
	gnutls_datum_t der;

	(void)state;
	assert_int_equal(keyproc_ca_issue("a.example", 3600, &der),
			 GNUTLS_E_INSUFFICIENT_CREDENTIALS);
	assert_null(der.data);
}

static void test_setup_errors(void **state)
{
	struct keyproc_ca ca;
	char c[512], k[512];
	pid_t pid = keyproc_pid();

	(void)state;
	assert_true(keyproc_ca_setup(path("missing.pem"), path("ca.key"),
				     &ca) < 0);
	assert_null(ca.ca_der.data);
	assert_true(keyproc_ca_setup(path("ca.pem"), path("missing.key"),
				     &ca) < 0);
	/* a certificate that is not a CA's */
	assert_int_equal(setup("leaf", &ca), GNUTLS_E_CERTIFICATE_ERROR);
	/* a key that is not the CA's */
	snprintf(c, sizeof(c), "%s/ca.pem", dir);
	snprintf(k, sizeof(k), "%s/rsaca.key", dir);
	assert_int_equal(keyproc_ca_setup(c, k, &ca),
			 GNUTLS_E_CERTIFICATE_KEY_MISMATCH);
	/* a certificate where the key should be */
	assert_true(keyproc_ca_setup(c, c, &ca) < 0);
	assert_alive(pid);
}

/* The issued certificate, checked against the CA and field by field. */
static void check_cert(const gnutls_datum_t *der, const char *caname,
		       const char *name, unsigned lifetime)
{
	gnutls_x509_crt_t crt, ca = load_crt(caname);
	time_t now = time(NULL), from, to;
	unsigned status = 1, ca_flag = 5, crit = 0;
	char san[256];
	size_t sanlen = sizeof(san);
	int type;

	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER),
			 0);
	assert_int_equal(gnutls_x509_crt_verify(crt, &ca, 1, 0, &status), 0);
	assert_int_equal(status, 0);
	from = gnutls_x509_crt_get_activation_time(crt);
	to = gnutls_x509_crt_get_expiration_time(crt);
	assert_true(from <= now - 290 && from >= now - 310);
	assert_true(to >= now + (time_t)lifetime - 10 &&
		    to <= now + (time_t)lifetime + 10);
	type = gnutls_x509_crt_get_subject_alt_name(crt, 0, san, &sanlen, NULL);
	assert_int_equal(type, strchr(name, '@') ? GNUTLS_SAN_RFC822NAME
						 : GNUTLS_SAN_DNSNAME);
	assert_string_equal(san, name);
	sanlen = sizeof(san);
	assert_true(gnutls_x509_crt_get_subject_alt_name(crt, 1, san, &sanlen,
							 NULL) < 0);
	if (strchr(name, '@') == NULL)
		assert_true(gnutls_x509_crt_check_hostname(crt, name));
	else
		assert_true(gnutls_x509_crt_check_email(crt, name, 0));
	assert_int_equal(gnutls_x509_crt_get_basic_constraints(crt, &crit,
								&ca_flag, NULL),
			 0);
	assert_int_equal(ca_flag, 0);
	assert_true(gnutls_x509_crt_check_key_purpose(
		crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
	assert_true(gnutls_x509_crt_check_key_purpose(
		crt, GNUTLS_KP_TLS_WWW_CLIENT, 0));
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(ca);
}

/* The leaf key signs through the key process, and the certificate's
 * public key verifies it. */
static void check_leaf_key(const struct keyproc_ca *ca,
			   const gnutls_datum_t *der)
{
	static const gnutls_datum_t msg = { (unsigned char *)"leaf", 4 };
	gnutls_datum_t sig = { NULL, 0 };
	gnutls_privkey_t key;
	gnutls_pubkey_t pub;

	assert_int_equal(keyproc_ca_leaf_key(ca, &key), 0);
	assert_int_equal(gnutls_privkey_sign_data2(key, GNUTLS_SIGN_ECDSA_SHA256,
						   0, &msg, &sig), 0);
	assert_int_equal(gnutls_pubkey_init(&pub), 0);
	assert_int_equal(gnutls_pubkey_import_x509_raw(pub, der,
						       GNUTLS_X509_FMT_DER, 0),
			 0);
	assert_int_equal(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256,
						    0, &msg, &sig), 0);
	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	/* a borrowed key: deinit leaves the leaf key in place */
	gnutls_privkey_deinit(key);
	assert_int_equal(keyproc_ca_leaf_key(ca, &key), 0);
	assert_int_equal(gnutls_privkey_sign_data2(key, GNUTLS_SIGN_ECDSA_SHA256,
						   0, &msg, &sig), 0);
	gnutls_free(sig.data);
	gnutls_privkey_deinit(key);
}

static void test_issue(void **state)
{
	struct keyproc_ca ca, again;
	gnutls_datum_t der, der2;

	(void)state;
	assert_int_equal(setup("ca", &ca), 0);
	assert_true(ca.handle != 0);
	assert_int_equal(ca.pk, GNUTLS_PK_ECDSA);
	assert_true(ca.ca_der.size > 100);
	assert_int_equal(keyproc_ca_issue("host.example", 86400, &der), 0);
	check_cert(&der, "ca", "host.example", 86400);
	check_leaf_key(&ca, &der);
	assert_int_equal(keyproc_ca_issue("user@mail.example", 600, &der2), 0);
	check_cert(&der2, "ca", "user@mail.example", 600);
	gnutls_free(der2.data);
	/* another CA: the same leaf key, now signed by the RSA CA */
	assert_int_equal(setup("rsaca", &again), 0);
	assert_int_equal(again.handle, ca.handle);
	assert_int_equal(keyproc_ca_issue("host.example", 3600, &der2), 0);
	check_cert(&der2, "rsaca", "host.example", 3600);
	check_leaf_key(&again, &der2);
	gnutls_free(der.data);
	gnutls_free(der2.data);
	gnutls_free(ca.ca_der.data);
	gnutls_free(again.ca_der.data);
}

static void test_issue_refused(void **state)
{
	static const char *bad[] = { "", "a b.example", "127.0.0.1", "::1",
				     "x/../y", ".hidden", "a@b@c", "@x",
				     "x@", "tab\tx" };
	char longname[200];
	gnutls_datum_t der;
	struct kp_out o = { 0, 0, { 0 } };
	struct kp_hdr h;
	uint8_t buf[16];
	pid_t pid = keyproc_pid();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(keyproc_ca_issue(bad[i], 3600, &der),
				 GNUTLS_E_INVALID_REQUEST);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_true(keyproc_ca_issue(longname, 3600, &der) < 0);
	assert_int_equal(keyproc_ca_issue("a.example", 0, &der),
			 GNUTLS_E_INVALID_REQUEST);
	assert_int_equal(keyproc_ca_issue("a.example", 8 * 86400, &der),
			 GNUTLS_E_INVALID_REQUEST);
	/* malformed payloads, on the wire */
	{
		uint8_t raw[sizeof(struct kp_hdr) + 32];
		struct kp_hdr *r = (struct kp_hdr *)raw;
		static const uint8_t trunc[] = { 9, 0, 'a', '.', 'e' };
		static const uint16_t ops[] = { KP_CA_SETUP, KP_CA_ISSUE,
						KP_PIN_NEED };

		for (size_t i = 0; i < 3; i++) {
			memset(raw, 0, sizeof(raw));
			r->len = sizeof(trunc);
			r->op = ops[i];
			r->seq = 99;
			memcpy(raw + sizeof(*r), trunc, sizeof(trunc));
			assert_int_equal(keyproc_raw_exchange(
				raw, sizeof(*r) + sizeof(trunc), &h, buf,
				sizeof(buf)), 0);
			assert_true(h.status < 0);
		}
	}
	/* a setup with handle 0 */
	kp_put_u32(&o, 0);
	kp_put_str(&o, path("ca.pem"));
	kp_put_str(&o, path("ca.key"));
	{
		uint8_t raw[sizeof(struct kp_hdr) + 2048];
		struct kp_hdr *r = (struct kp_hdr *)raw;

		memset(r, 0, sizeof(*r));
		r->len = (uint32_t)o.len;
		r->op = KP_CA_SETUP;
		memcpy(raw + sizeof(*r), o.buf, o.len);
		assert_int_equal(keyproc_raw_exchange(raw, sizeof(*r) + o.len,
						      &h, buf, sizeof(buf)), 0);
		assert_int_equal(h.status, GNUTLS_E_INVALID_REQUEST);
	}
	assert_alive(pid);
}

/* ---- the daemon's cache ----------------------------------------------------- */

/* A TLS 1.3 handshake: the server shows cred, the client trusts caname
 * and checks the name. */
static void handshake(gnutls_certificate_credentials_t cred,
		      const char *caname, const char *name)
{
	static const char prio[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
	gnutls_certificate_credentials_t cli_c;
	gnutls_session_t cli;
	struct fx_server sv;
	int sp[2], rc;

	assert_int_equal(gnutls_certificate_allocate_credentials(&cli_c), 0);
	assert_true(gnutls_certificate_set_x509_trust_file(
			    cli_c, path(caname), GNUTLS_X509_FMT_PEM) == 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(gnutls_init(&sv.s, GNUTLS_SERVER), 0);
	assert_int_equal(gnutls_priority_set_direct(sv.s, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(sv.s, GNUTLS_CRD_CERTIFICATE,
						cred), 0);
	gnutls_transport_set_int(sv.s, sp[0]);
	assert_int_equal(gnutls_init(&cli, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_priority_set_direct(cli, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(cli, GNUTLS_CRD_CERTIFICATE,
						cli_c), 0);
	gnutls_session_set_verify_cert(cli, name, 0);
	gnutls_transport_set_int(cli, sp[1]);
	rc = fx_handshake(&sv, cli, sp[1]);
	if (rc < 0)
		fprintf(stderr, "handshake for %s: %s\n", name,
			gnutls_strerror(rc));
	assert_int_equal(rc, 0);
	assert_int_equal(sv.rc, 0);
	gnutls_deinit(cli);
	gnutls_deinit(sv.s);
	close(sp[0]);
	close(sp[1]);
	gnutls_certificate_free_credentials(cli_c);
}

static void test_onthefly_off(void **state)
{
	struct dconfig cfg;
	struct onthefly_cred *c = NULL;
	char why[256] = "", err[256] = "";

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(onthefly_configure(&cfg, err, sizeof(err)), 0);
	assert_false(onthefly_enabled());
	assert_int_equal(onthefly_get("a.example", &c, why, sizeof(why)),
			 -ENOTSUP);
	assert_null(c);
	assert_string_equal(why, "LOCALID_ONTHEFLY needs tls_onthefly_signcert"
			    " and tls_onthefly_signkey");
	cfg.tls_onthefly_signcert = (char *)path("ca.pem");
	assert_int_equal(onthefly_configure(&cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "go together"));
	cfg.tls_onthefly_signkey = (char *)path("rsaca.key");
	assert_true(onthefly_configure(&cfg, err, sizeof(err)) < 0);
	assert_false(onthefly_enabled());
}

static void test_onthefly_cache(void **state)
{
	struct dconfig cfg;
	struct onthefly_cred *a, *b, *u, *x = NULL;
	char why[256] = "", err[256] = "";
	unsigned gen;
	pid_t old;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.tls_onthefly_signcert = (char *)path("ca.pem");
	cfg.tls_onthefly_signkey = (char *)path("ca.key");
	assert_int_equal(onthefly_configure(&cfg, err, sizeof(err)), 0);
	assert_true(onthefly_enabled());
	assert_int_equal(onthefly_get("a.example", &a, why, sizeof(why)), 0);
	assert_string_equal(onthefly_identity(a)->name, "a.example");
	assert_int_equal(onthefly_identity(a)->roles, CRED_ROLE_BOTH);
	handshake(onthefly_identity(a)->cred, "ca.pem", "a.example");
	/* the same name: the same credential, from the cache */
	assert_int_equal(onthefly_get("a.example", &b, why, sizeof(why)), 0);
	assert_ptr_equal(a, b);
	onthefly_release(b);
	assert_int_equal(onthefly_get("u@a.example", &u, why, sizeof(why)), 0);
	assert_ptr_not_equal(u, a);
	onthefly_release(u);
	assert_int_equal(onthefly_get("10.0.0.1", &x, why, sizeof(why)),
			 -EINVAL);
	assert_null(x);
	/* a restarted key process has another leaf key: set up again,
	 * a new credential, and a reference still held keeps the old one */
	gen = keyproc_generation();
	old = keyproc_pid();
	assert_int_equal(kill(old, SIGKILL), 0);
	for (int i = 0; i < 500 && keyproc_pid() == old; i++) {
		if (keyproc_reap() > 0)
			assert_int_equal(keyproc_restart(), 0);
		if (keyproc_pid() == old)
			usleep(10000);
	}
	assert_true(keyproc_available());
	assert_true(keyproc_generation() != gen);
	assert_int_equal(onthefly_get("a.example", &b, why, sizeof(why)), 0);
	assert_ptr_not_equal(a, b);
	assert_string_equal(onthefly_identity(a)->name, "a.example");
	handshake(onthefly_identity(b)->cred, "ca.pem", "a.example");
	onthefly_release(a);
	onthefly_release(b);
	/* more names than the cache holds: the oldest go, nothing leaks */
	for (int i = 0; i < ONTHEFLY_CACHE_MAX + 5; i++) {
		char name[64];

		snprintf(name, sizeof(name), "n%d.example", i);
		assert_int_equal(onthefly_get(name, &x, why, sizeof(why)), 0);
		onthefly_release(x);
	}
	onthefly_clear();
	assert_false(onthefly_enabled());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_before_setup),
		cmocka_unit_test(test_setup_errors),
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_issue_refused),
		cmocka_unit_test(test_onthefly_off),
		cmocka_unit_test(test_onthefly_cache),
	};

	tplog_init("test_keyproc_ca", 1, LOG_ERR);
	gnutls_global_init();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Unit tests for keyproc: a forked key process loads ECDSA and RSA keys
 * from PEM files; ext4 privkeys sign (data and hash, PKCS#1, PSS, ECDSA)
 * and decrypt through it, verified with the certificates' public keys;
 * real TLS 1.3 / 1.2 (ECDHE and RSA key exchange) handshakes; malformed,
 * oversized and random requests are refused and the key process lives
 * on; unknown and released handles are refused; a killed key process is
 * reported and, restarted, serves the same privkeys again.
 *
 * Keys and certificates are made per run with certtool (gnutls-bin).
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "fixture.h"
#include "keyproc.h"
#include "keyproc_int.h"
#include "tplog.h"

static char dir[256];

static struct {
	gnutls_privkey_t ec, rsa;
	gnutls_pubkey_t ec_pub, rsa_pub;
} k;

/* ---- helpers ------------------------------------------------------------ */

static void path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

/* <tag>.key and a self-signed <tag>.pem */
static int make_pair(const char *tag, const char *keytype)
{
	char t[512];
	FILE *f;

	snprintf(t, sizeof(t), "%s/%s.tmpl", dir, tag);
	f = fopen(t, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "cn = %s.example\ndns_name = %s.example\ntls_www_server\n"
		"signing_key\nencryption_key\nexpiration_days = 2\n", tag, tag);
	fclose(f);
	return fx_sh(dir, "certtool --generate-privkey %s --outfile %s/%s.key"
		     " && certtool --generate-self-signed --load-privkey "
		     "%s/%s.key --template %s --outfile %s/%s.pem", keytype,
		     dir, tag, dir, tag, t, dir, tag);
}

static int load_pub(const char *tag, gnutls_pubkey_t *pub)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.pem", dir, tag);
	return fx_load_pub(p, pub);
}

static int load_keys(void)
{
	char p[512];

	path(p, sizeof(p), "ec.key");
	if (keyproc_privkey_file("ec.example", p, &k.ec) < 0)
		return -1;
	path(p, sizeof(p), "rsa.key");
	return keyproc_privkey_file("rsa.example", p, &k.rsa) < 0 ? -1 : 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof(dir), "test_keyproc") < 0)
		return -1;
	if (make_pair("ec", "--key-type ecdsa") != 0 ||
	    make_pair("rsa", "--key-type rsa --bits 2048") != 0) {
		fprintf(stderr, "certtool failed (see %s/cmd.log)\n", dir);
		return -1;
	}
	if (load_pub("ec", &k.ec_pub) < 0 || load_pub("rsa", &k.rsa_pub) < 0)
		return -1;
	if (fx_keyproc_start(3) < 0 || load_keys() < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	gnutls_privkey_deinit(k.ec);
	gnutls_privkey_deinit(k.rsa);
	keyproc_stop();
	gnutls_pubkey_deinit(k.ec_pub);
	gnutls_pubkey_deinit(k.rsa_pub);
	fx_rmtree(dir);
	return 0;
}

/* ---- signing ------------------------------------------------------------- */

static const gnutls_datum_t msg = { (unsigned char *)"to be signed", 12 };

static void sign_verify(gnutls_privkey_t key, gnutls_pubkey_t pub,
			gnutls_sign_algorithm_t algo)
{
	gnutls_datum_t sig = { NULL, 0 }, hash, other = { msg.data, 5 };
	unsigned char h[64];

	assert_int_equal(gnutls_privkey_sign_data2(key, algo, 0, &msg, &sig),
			 0);
	assert_int_equal(gnutls_pubkey_verify_data2(pub, algo, 0, &msg, &sig),
			 0);
	assert_true(gnutls_pubkey_verify_data2(pub, algo, 0, &other, &sig) <
		    0);
	gnutls_free(sig.data);
	/* pre-hashed: GnuTLS hands the ext4 key a hash (or, for RSA PKCS#1,
	 * a DigestInfo with GNUTLS_SIGN_RSA_RAW) */
	hash.data = h;
	hash.size = gnutls_hash_get_len(gnutls_sign_get_hash_algorithm(algo));
	assert_int_equal(gnutls_hash_fast(gnutls_sign_get_hash_algorithm(algo),
					  msg.data, msg.size, h), 0);
	assert_int_equal(gnutls_privkey_sign_hash2(key, algo, 0, &hash, &sig),
			 0);
	assert_int_equal(gnutls_pubkey_verify_hash2(pub, algo, 0, &hash, &sig),
			 0);
	gnutls_free(sig.data);
}

static void test_sign_ecdsa(void **state)
{
	unsigned bits = 0;

	(void)state;
	assert_int_equal(gnutls_privkey_get_pk_algorithm(k.ec, &bits),
			 GNUTLS_PK_ECDSA);
	sign_verify(k.ec, k.ec_pub, GNUTLS_SIGN_ECDSA_SHA256);
	sign_verify(k.ec, k.ec_pub, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256);
	sign_verify(k.ec, k.ec_pub, GNUTLS_SIGN_ECDSA_SHA384);
}

static void test_sign_rsa(void **state)
{
	(void)state;
	assert_int_equal(gnutls_privkey_get_pk_algorithm(k.rsa, NULL),
			 GNUTLS_PK_RSA);
	sign_verify(k.rsa, k.rsa_pub, GNUTLS_SIGN_RSA_SHA256);
	sign_verify(k.rsa, k.rsa_pub, GNUTLS_SIGN_RSA_SHA384);
	sign_verify(k.rsa, k.rsa_pub, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256);
	sign_verify(k.rsa, k.rsa_pub, GNUTLS_SIGN_RSA_PSS_RSAE_SHA512);
}

static void test_wrong_algorithm(void **state)
{
	gnutls_datum_t sig = { NULL, 0 };

	(void)state;
	/* an ECDSA key cannot make an RSA signature, and says so */
	assert_true(gnutls_privkey_sign_data2(k.ec, GNUTLS_SIGN_RSA_SHA256, 0,
					      &msg, &sig) < 0);
	assert_null(sig.data);
	assert_true(keyproc_available());
}

static void test_decrypt_rsa(void **state)
{
	gnutls_datum_t secret = { (unsigned char *)"premaster secret", 16 };
	gnutls_datum_t ct = { NULL, 0 }, pt = { NULL, 0 };

	(void)state;
	assert_int_equal(gnutls_pubkey_encrypt_data(k.rsa_pub, 0, &secret, &ct),
			 0);
	assert_int_equal(gnutls_privkey_decrypt_data(k.rsa, 0, &ct, &pt), 0);
	assert_int_equal(pt.size, secret.size);
	assert_memory_equal(pt.data, secret.data, secret.size);
	gnutls_free(pt.data);
	ct.data[ct.size / 2] ^= 0x55;	/* tampered: refused */
	assert_true(gnutls_privkey_decrypt_data(k.rsa, 0, &ct, &pt) < 0);
	gnutls_free(ct.data);
}

/* ---- handshakes ---------------------------------------------------------- */

/* A credential with tag's certificate and the ext4 key. */
static gnutls_certificate_credentials_t server_cred(const char *tag)
{
	gnutls_certificate_credentials_t c;
	gnutls_pcert_st *pc = gnutls_malloc(sizeof(*pc));
	gnutls_privkey_t key;
	gnutls_datum_t d;
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.pem", dir, tag);
	assert_int_equal(gnutls_load_file(p, &d), 0);
	assert_int_equal(gnutls_pcert_import_x509_raw(pc, &d,
						      GNUTLS_X509_FMT_PEM, 0),
			 0);
	gnutls_free(d.data);
	snprintf(p, sizeof(p), "%s/%s.key", dir, tag);
	assert_int_equal(keyproc_privkey_file(tag, p, &key), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&c), 0);
	/* this also checks, by a signature, that key and certificate fit */
	assert_int_equal(gnutls_certificate_set_key(c, NULL, 0, pc, 1, key),
			 0);
	gnutls_free(pc);
	return c;
}

static void handshake(const char *tag, const char *prio)
{
	gnutls_certificate_credentials_t srv = server_cred(tag), cli_c;
	gnutls_session_t cli;
	struct fx_server sv;
	int sp[2], rc;

	assert_int_equal(gnutls_certificate_allocate_credentials(&cli_c), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(gnutls_init(&sv.s, GNUTLS_SERVER), 0);
	assert_int_equal(gnutls_priority_set_direct(sv.s, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(sv.s, GNUTLS_CRD_CERTIFICATE,
						srv), 0);
	gnutls_transport_set_int(sv.s, sp[0]);
	assert_int_equal(gnutls_init(&cli, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_priority_set_direct(cli, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(cli, GNUTLS_CRD_CERTIFICATE,
						cli_c), 0);
	gnutls_transport_set_int(cli, sp[1]);
	rc = fx_handshake(&sv, cli, sp[1]);
	if (rc < 0 || sv.rc < 0)
		fprintf(stderr, "handshake %s %s: client %s, server %s\n", tag,
			prio, gnutls_strerror(rc), gnutls_strerror(sv.rc));
	assert_int_equal(rc, 0);
	assert_int_equal(sv.rc, 0);
	gnutls_deinit(cli);
	gnutls_deinit(sv.s);
	close(sp[0]);
	close(sp[1]);
	gnutls_certificate_free_credentials(srv);
	gnutls_certificate_free_credentials(cli_c);
}

static void test_handshakes(void **state)
{
	(void)state;
	handshake("ec", "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	handshake("ec", "NORMAL:-VERS-ALL:+VERS-TLS1.2");
	handshake("rsa", "NORMAL:-VERS-ALL:+VERS-TLS1.3");
	handshake("rsa", "NORMAL:-VERS-ALL:+VERS-TLS1.2");
	/* RSA key exchange: the key process decrypts the premaster */
	handshake("rsa", "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA");
}

/* ---- hostile requests ------------------------------------------------------ */

/* One raw request; the answer's status. */
static int raw(uint16_t op, uint16_t flags, const void *payload, size_t len)
{
	static uint8_t buf[sizeof(struct kp_hdr) + KP_MAX_PAYLOAD + 512];
	struct kp_hdr h = { (uint32_t)len, op, flags, 7, 0 }, r;
	uint8_t ans[64];

	assert_true(len <= sizeof(buf) - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), payload, len);
	assert_int_equal(keyproc_raw_exchange(buf, sizeof(h) + len, &r, ans,
					      sizeof(ans)), 0);
	assert_int_equal(r.seq, 7);
	assert_int_equal(r.op, op);
	return r.status;
}

static void assert_alive(pid_t pid)
{
	assert_int_equal(raw(KP_PING, 0, NULL, 0), 0);
	assert_int_equal(keyproc_pid(), pid);
	assert_true(keyproc_available());
	sign_verify(k.ec, k.ec_pub, GNUTLS_SIGN_ECDSA_SHA256);
}

static void test_garbage(void **state)
{
	pid_t pid = keyproc_pid();
	struct kp_out o = { 0, 0, { 0 } };
	uint8_t big[KP_MAX_PAYLOAD + 100];
	uint8_t nul[] = { 1, 0, 0, 0, 4, 0, 'a', 0, 'b', 'c', 1, 0, 'x' };
	uint8_t overlong[] = { 1, 0, 0, 0, 0xff, 0x7f, 'a' };

	(void)state;
	memset(big, 'A', sizeof(big));
	assert_true(raw(999, 0, NULL, 0) < 0);			/* unknown op */
	assert_true(raw(0, 0, NULL, 0) < 0);
	assert_true(raw(KP_PING, 1, NULL, 0) < 0);		/* flags */
	assert_true(raw(KP_PING, 0, "x", 1) < 0);		/* trailing */
	assert_true(raw(KP_PING, 0, big, sizeof(big)) < 0);	/* oversized */
	assert_alive(pid);
	assert_true(raw(KP_LOAD_FILE, 0, "ab", 2) < 0);		/* truncated */
	assert_true(raw(KP_LOAD_FILE, 0, nul, sizeof(nul)) < 0); /* NUL */
	assert_true(raw(KP_LOAD_FILE, 0, overlong, sizeof(overlong)) < 0);
	assert_true(raw(KP_RELEASE, 0, "abc", 3) < 0);
	assert_true(raw(KP_SIGN_HASH, 0, "abcdefg", 7) < 0);
	assert_true(raw(KP_DECRYPT, 0, "ab", 2) < 0);
	assert_true(raw(KP_IDGEN, 0, "\x05", 1) < 0);
	assert_true(raw(KP_DROP_PRIV, 0, "\x01\x02", 2) < 0);
	/* a sign request with an algorithm or flags that do not exist */
	kp_put_u32(&o, 1);
	kp_put_u32(&o, 0x7fff);
	kp_put_u32(&o, 0);
	kp_put(&o, "data", 4);
	assert_true(raw(KP_SIGN_DATA, 0, o.buf, o.len) < 0);
	o.len = 0;
	kp_put_u32(&o, 1);
	kp_put_u32(&o, GNUTLS_SIGN_ECDSA_SHA256);
	kp_put_u32(&o, 0x40000000);
	kp_put(&o, "data", 4);
	assert_true(raw(KP_SIGN_DATA, 0, o.buf, o.len) < 0);
	assert_alive(pid);
}

/* Random payloads on every op that only reads: none may hurt it. */
static void test_random_requests(void **state)
{
	static const uint16_t ops[] = { KP_PING, KP_LOAD_FILE, KP_LOAD_URL,
					KP_RELEASE, KP_SIGN_HASH, KP_SIGN_DATA,
					KP_DECRYPT, 0, 77 };
	pid_t pid = keyproc_pid();
	uint8_t buf[600];

	(void)state;
	srand(4242);
	for (int i = 0; i < 2000; i++) {
		size_t len = (size_t)rand() % sizeof(buf);

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rand();
		if (len >= 4 && (rand() & 1))
			memset(buf, 0, 4);	/* handle 0: never a key */
		if (len >= 4 && buf[0] < 4)	/* keep off the real keys */
			buf[1] |= 0x80;
		raw(ops[rand() % 9], (uint16_t)(rand() % 4 == 0), buf, len);
	}
	assert_alive(pid);
}

static void sign_req(struct kp_out *o, uint32_t handle)
{
	o->len = 0;
	kp_put_u32(o, handle);
	kp_put_u32(o, GNUTLS_SIGN_ECDSA_SHA256);
	kp_put_u32(o, 0);
	kp_put(o, "data", 4);
}

static void test_unknown_handle(void **state)
{
	struct kp_out o = { 0, 0, { 0 } }, load = { 0, 0, { 0 } };
	char p[512];

	(void)state;
	sign_req(&o, 0x7654321);
	assert_int_equal(raw(KP_SIGN_DATA, 0, o.buf, o.len),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	o.len = 0;
	kp_put_u32(&o, 0x7654321);
	assert_int_equal(raw(KP_RELEASE, 0, o.buf, o.len),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	/* a handle is taken once; released, it is gone */
	path(p, sizeof(p), "ec.key");
	kp_put_u32(&load, 0x10000);
	kp_put_str(&load, "tmp");
	kp_put_str(&load, p);
	assert_int_equal(raw(KP_LOAD_FILE, 0, load.buf, load.len), 0);
	assert_true(raw(KP_LOAD_FILE, 0, load.buf, load.len) < 0);
	sign_req(&o, 0x10000);
	assert_int_equal(raw(KP_SIGN_DATA, 0, o.buf, o.len), 0);
	o.len = 0;
	kp_put_u32(&o, 0x10000);
	assert_int_equal(raw(KP_RELEASE, 0, o.buf, o.len), 0);
	sign_req(&o, 0x10000);
	assert_int_equal(raw(KP_SIGN_DATA, 0, o.buf, o.len),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	/* handle 0 is never a key */
	load.len = 0;
	kp_put_u32(&load, 0);
	kp_put_str(&load, "zero");
	kp_put_str(&load, p);
	assert_true(raw(KP_LOAD_FILE, 0, load.buf, load.len) < 0);
	assert_alive(keyproc_pid());
}

static void test_load_errors(void **state)
{
	gnutls_privkey_t key = NULL;
	char p[512];

	(void)state;
	path(p, sizeof(p), "missing.key");
	assert_true(keyproc_privkey_file("m", p, &key) < 0);
	assert_null(key);
	path(p, sizeof(p), "ec.pem");	/* a certificate, not a key */
	assert_true(keyproc_privkey_file("c", p, &key) < 0);
	assert_true(keyproc_privkey_url("u", "file:///etc/passwd", NULL,
					&key) < 0);
	assert_true(keyproc_available());
	assert_string_equal(keyproc_strerror(KEYPROC_E_UNAVAILABLE),
			    "key process unavailable");
}

static void test_idgen(void **state)
{
	char s[512], l[512], p[600], err[256] = "";
	struct stat st;

	(void)state;
	path(s, sizeof(s), "gen-state");
	path(l, sizeof(l), "gen-ids");
	assert_int_equal(keyproc_idgen(s, l, "host.example", err, sizeof(err)),
			 0);
	snprintf(p, sizeof(p), "%s/host.example.key", l);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	snprintf(p, sizeof(p), "%s/ca.key", s);
	assert_int_equal(stat(p, &st), 0);
	assert_true(keyproc_idgen(s, l, "bad/name", err, sizeof(err)) < 0);
	assert_true(err[0] != '\0');
}

/* ---- concurrency and cost ------------------------------------------------- */

static void *signer(void *arg)
{
	long *fail = arg;

	for (int i = 0; i < 200; i++) {
		gnutls_datum_t sig = { NULL, 0 };

		if (gnutls_privkey_sign_data2(k.ec, GNUTLS_SIGN_ECDSA_SHA256, 0,
					      &msg, &sig) < 0 ||
		    gnutls_pubkey_verify_data2(k.ec_pub,
					       GNUTLS_SIGN_ECDSA_SHA256, 0,
					       &msg, &sig) < 0)
			__atomic_add_fetch(fail, 1, __ATOMIC_RELAXED);
		gnutls_free(sig.data);
	}
	return NULL;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Microseconds per signature with key: the best of 10 batches of n (the
 * machine may be busy with other things). */
static double sign_cost(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
			int n)
{
	double best = 1e12;

	for (int b = 0; b < 10; b++) {
		double t0 = now_us(), t;

		for (int i = 0; i < n; i++) {
			gnutls_datum_t sig = { NULL, 0 };

			assert_int_equal(gnutls_privkey_sign_data2(
						 key, algo, 0, &msg, &sig), 0);
			gnutls_free(sig.data);
		}
		t = (now_us() - t0) / n;
		best = t < best ? t : best;
	}
	return best;
}

static double ping_cost(int n)
{
	double best = 1e12;

	for (int b = 0; b < 10; b++) {
		double t0 = now_us(), t;

		for (int i = 0; i < n; i++)
			raw(KP_PING, 0, NULL, 0);
		t = (now_us() - t0) / n;
		best = t < best ? t : best;
	}
	return best;
}

static gnutls_privkey_t local_key(const char *tag)
{
	gnutls_privkey_t key;
	gnutls_datum_t d;
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.key", dir, tag);
	assert_int_equal(gnutls_load_file(p, &d), 0);
	assert_int_equal(gnutls_privkey_init(&key), 0);
	assert_int_equal(gnutls_privkey_import_x509_raw(key, &d,
							GNUTLS_X509_FMT_PEM,
							NULL, 0), 0);
	gnutls_free(d.data);
	return key;
}

static void test_threads(void **state)
{
	gnutls_privkey_t ec = local_key("ec"), rsa = local_key("rsa");
	pthread_t th[8];
	long fail = 0;
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, signer, &fail), 0);
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(fail, 0);
	/* figures for the record, never checked (tests do not time things):
	 * the same signature in this process and through the key process */
	printf("keyproc: empty round trip %.1f us\n", ping_cost(200));
	printf("keyproc: ECDSA P-256 sign %.1f us in process, %.1f us "
	       "through the key process\n",
	       sign_cost(ec, GNUTLS_SIGN_ECDSA_SHA256, 50),
	       sign_cost(k.ec, GNUTLS_SIGN_ECDSA_SHA256, 50));
	printf("keyproc: RSA-2048 PSS sign %.1f us in process, %.1f us "
	       "through the key process\n",
	       sign_cost(rsa, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 5),
	       sign_cost(k.rsa, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, 5));
	gnutls_privkey_deinit(ec);
	gnutls_privkey_deinit(rsa);
}

/* ---- the key process dies --------------------------------------------------- */

static void test_killed_and_restarted(void **state)
{
	gnutls_datum_t sig = { NULL, 0 };
	pid_t old = keyproc_pid();
	int delay = 0;

	(void)state;
	assert_true(old > 0);
	assert_int_equal(kill(old, SIGKILL), 0);
	/* the next use notices, fails at once and reports it */
	assert_int_equal(gnutls_privkey_sign_data2(k.ec,
						   GNUTLS_SIGN_ECDSA_SHA256, 0,
						   &msg, &sig),
			 GNUTLS_E_PK_SIGN_FAILED);
	assert_false(keyproc_available());
	for (int i = 0; i < 500 && keyproc_pid() == old; i++) {
		delay = keyproc_reap();
		if (keyproc_pid() == old)
			usleep(10000);
	}
	assert_true(keyproc_pid() != old);
	if (delay > 0)	/* it died young: restart by hand, not by alarm */
		assert_int_equal(keyproc_restart(), 0);
	assert_true(keyproc_available());
	assert_true(keyproc_pid() > 0);
	/* the same privkeys work again: their handles were reloaded */
	sign_verify(k.ec, k.ec_pub, GNUTLS_SIGN_ECDSA_SHA256);
	sign_verify(k.rsa, k.rsa_pub, GNUTLS_SIGN_RSA_PSS_RSAE_SHA256);
}

/* A key process that stops answering is killed after the timeout and
 * replaced, instead of holding the signer forever. */
static void test_hung_key_process(void **state)
{
	struct keyproc_opts o = { .conns = 2, .log_level = LOG_ERR,
				  .log_stderr = 1, .timeout_ms = 300 };
	gnutls_datum_t sig = { NULL, 0 };
	pid_t old;

	(void)state;
	gnutls_privkey_deinit(k.ec);
	gnutls_privkey_deinit(k.rsa);
	keyproc_stop();
	assert_int_equal(keyproc_start(&o), 0);
	assert_int_equal(load_keys(), 0);
	old = keyproc_pid();
	assert_int_equal(kill(old, SIGSTOP), 0);
	assert_int_equal(gnutls_privkey_sign_data2(k.ec,
						   GNUTLS_SIGN_ECDSA_SHA256, 0,
						   &msg, &sig),
			 GNUTLS_E_PK_SIGN_FAILED);
	assert_false(keyproc_available());
	for (int i = 0; i < 500 && keyproc_pid() == old; i++) {
		if (keyproc_reap() > 0)
			assert_int_equal(keyproc_restart(), 0);
		if (keyproc_pid() == old)
			usleep(10000);
	}
	assert_true(keyproc_available());
	sign_verify(k.ec, k.ec_pub, GNUTLS_SIGN_ECDSA_SHA256);
}

/* The key process takes the daemon's user and group, once. */
static void test_drop_privileges(void **state)
{
	char p[512], line[256];
	int uid = -1;
	FILE *f;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(keyproc_drop_privileges(65534, 65534), 0);
	snprintf(p, sizeof(p), "/proc/%d/status", (int)keyproc_pid());
	f = fopen(p, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Uid: %*d %d", &uid) == 1)
			break;
	fclose(f);
	assert_int_equal(uid, 65534);
	assert_int_equal(keyproc_drop_privileges(0, 0), -EPERM);	/* once */
	/* and keys in a directory only root may read no longer load */
	assert_int_equal(chmod(dir, 0700), 0);
	path(p, sizeof(p), "ec.key");
	{
		gnutls_privkey_t key = NULL;

		assert_true(keyproc_privkey_file("x", p, &key) < 0);
		assert_null(key);
	}
	/* the keys it already holds still sign */
	sign_verify(k.ec, k.ec_pub, GNUTLS_SIGN_ECDSA_SHA256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_ecdsa),
		cmocka_unit_test(test_sign_rsa),
		cmocka_unit_test(test_wrong_algorithm),
		cmocka_unit_test(test_decrypt_rsa),
		cmocka_unit_test(test_handshakes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_random_requests),
		cmocka_unit_test(test_unknown_handle),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_idgen),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_killed_and_restarted),
		cmocka_unit_test(test_hung_key_process),
		cmocka_unit_test(test_drop_privileges),
	};

	tplog_init("test_keyproc", 1, LOG_ERR);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

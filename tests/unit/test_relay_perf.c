/* Unit tests for the relay's batching: several records per syscall in
 * both directions must not change what arrives, nor where an error
 * stops the stream.  Real GnuTLS sessions over socketpairs, as in
 * test_relay.c; the relay's sockets get small send buffers so that its
 * writes come back short and batches are split at every offset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "relay.h"
#include "worker.h"

#define REC 16384
#define HELD_MAX (4 * (REC + 512))	/* relay.c: RELAY_BATCH records */
#define MiB (1024 * 1024)

static gnutls_certificate_credentials_t srv_cred, cli_cred;

static int group_setup(void **state)
{
	static const char cn[] = "relay.test";
	unsigned char serial[8] = { 2 };
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	time_t t = time(NULL);

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_global_init() < 0 || gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_set_version(crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_activation_time(crt, t - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(crt, t + 86400) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
					  cn, sizeof(cn) - 1) < 0 ||
	    gnutls_x509_crt_set_key(crt, key) < 0 ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
	    gnutls_certificate_allocate_credentials(&srv_cred) < 0 ||
	    gnutls_certificate_set_x509_key(srv_cred, &crt, 1, key) < 0 ||
	    gnutls_certificate_allocate_credentials(&cli_cred) < 0)
		return -1;
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	gnutls_certificate_free_credentials(srv_cred);
	gnutls_certificate_free_credentials(cli_cred);
	gnutls_global_deinit();
	return 0;
}

/* ---- fixture ---- */

/* One end the test drives: the peer (GnuTLS) or the app (plain). */
struct end {
	gnutls_session_t s;
	int fd;
	unsigned seed;
	size_t max_chunk;	/* sends: 1..max_chunk bytes at a time */
	int fixed;		/* ... or max_chunk each time */
	const unsigned char *tx;
	size_t tx_len, tx_off, cur;	/* cur: size of the send under way */
	int tx_close, tx_closed;
	unsigned char *rx;
	size_t rx_len, rx_cap;
	int rx_on, rx_eof, rx_err;
};

struct fix {
	const char *prio;
	struct worker *w;
	pthread_t thread;
	int tls[2], plain[2];	/* [0] the relay's, [1] peer / app */
	gnutls_session_t rs, ps;
	struct relay *r;	/* worker thread only */
	atomic_int ncloses;
	int close_err;
	sem_t closed;
	struct end peer, app;
	unsigned char *data[2];
};

static void *loop_main(void *arg)
{
	worker_run(arg);
	return NULL;
}

struct call {
	void (*fn)(struct fix *f);
	struct fix *f;
	sem_t done;
};

static void trampoline(void *arg)
{
	struct call *c = arg;

	c->fn(c->f);
	sem_post(&c->done);
}

static int wait_10s(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	return sem_timedwait(s, &ts);
}

static void on_worker(struct fix *f, void (*fn)(struct fix *f))
{
	struct call c = { .fn = fn, .f = f };

	sem_init(&c.done, 0, 0);
	assert_int_equal(worker_post(f->w, trampoline, &c), 0);
	assert_int_equal(wait_10s(&c.done), 0);
	sem_destroy(&c.done);
}

static void on_close(void *ctx, int err)
{
	struct fix *f = ctx;

	f->close_err = err;
	relay_free(f->r);
	f->r = NULL;
	atomic_fetch_add(&f->ncloses, 1);
	sem_post(&f->closed);
}

static void do_start(struct fix *f)
{
	f->r = relay_start(f->w, f->rs, f->tls[0], f->plain[0], on_close, f);
}

static void do_free(struct fix *f)
{
	relay_free(f->r);
	f->r = NULL;
}

static size_t held;
static void do_probe(struct fix *f)
{
	held = f->r ? relay_buffered_bytes(f->r) : 0;
}

static void session(gnutls_session_t *s, unsigned side, const char *prio,
		    int fd)
{
	assert_int_equal(gnutls_init(s, side | GNUTLS_NONBLOCK |
					GNUTLS_NO_SIGNAL), 0);
	assert_int_equal(gnutls_priority_set_direct(*s, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE,
			side == GNUTLS_SERVER ? srv_cred : cli_cred), 0);
	gnutls_transport_set_int(*s, fd);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int rr = GNUTLS_E_AGAIN, pr = GNUTLS_E_AGAIN, small = 4096;

	if (!f)
		return -1;
	f->prio = *state;
	sem_init(&f->closed, 0, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, f->tls) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, f->plain) < 0)
		return -1;
	session(&f->rs, GNUTLS_SERVER, f->prio, f->tls[0]);
	session(&f->ps, GNUTLS_CLIENT, f->prio, f->tls[1]);
	for (int i = 0; i < 2000 && (rr != 0 || pr != 0); i++) {
		struct pollfd pfd[2] = { { f->tls[0], POLLIN, 0 },
					 { f->tls[1], POLLIN, 0 } };

		if (rr != 0)
			rr = gnutls_handshake(f->rs);
		if (pr != 0)
			pr = gnutls_handshake(f->ps);
		if ((rr < 0 && gnutls_error_is_fatal(rr)) ||
		    (pr < 0 && gnutls_error_is_fatal(pr)))
			return -1;
		if (rr != 0 && pr != 0)
			poll(pfd, 2, 10);
	}
	if (rr != 0 || pr != 0)
		return -1;
	/* short writes from the relay, at any offset in a batch */
	setsockopt(f->tls[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(f->plain[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	f->peer = (struct end){ .s = f->ps, .fd = f->tls[1], .seed = 1,
				.max_chunk = REC, .rx_on = 1 };
	f->app = (struct end){ .fd = f->plain[1], .seed = 2,
			       .max_chunk = 3 * REC, .rx_on = 1 };
	f->w = worker_create();
	if (!f->w || pthread_create(&f->thread, NULL, loop_main, f->w) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	on_worker(f, do_free);
	worker_loop_stop(f->w);
	pthread_join(f->thread, NULL);
	worker_destroy(f->w);
	gnutls_deinit(f->rs);
	gnutls_deinit(f->ps);
	for (int i = 0; i < 2; i++) {
		close(f->tls[i]);
		close(f->plain[i]);
		free(f->data[i]);
	}
	free(f->peer.rx);
	free(f->app.rx);
	sem_destroy(&f->closed);
	free(f);
	return 0;
}

static unsigned char *random_data(struct fix *f, int i, size_t n)
{
	f->data[i] = malloc(n);
	assert_non_null(f->data[i]);
	assert_int_equal(gnutls_rnd(GNUTLS_RND_NONCE, f->data[i], n), 0);
	return f->data[i];
}

/* ---- the driver ---- */

static int again(const struct end *e, ssize_t rc)
{
	if (e->s)
		return rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED;
	return rc < 0 && (errno == EAGAIN || errno == EINTR);
}

/* 1 when something happened */
static int end_send(struct end *e)
{
	ssize_t rc;

	if (e->tx_off == e->tx_len) {
		if (!e->tx_close || e->tx_closed)
			return 0;
		rc = e->s ? gnutls_bye(e->s, GNUTLS_SHUT_WR) :
			    shutdown(e->fd, SHUT_WR);
		if (again(e, rc))
			return 0;
		assert_int_equal(rc, 0);
		e->tx_closed = 1;
		return 1;
	}
	if (e->cur == 0) {	/* GnuTLS wants the same call after AGAIN */
		e->cur = e->fixed ? e->max_chunk :
			 1 + (size_t)rand_r(&e->seed) % e->max_chunk;
		if (e->cur > e->tx_len - e->tx_off)
			e->cur = e->tx_len - e->tx_off;
	}
	rc = e->s ? gnutls_record_send(e->s, e->tx + e->tx_off, e->cur) :
		    send(e->fd, e->tx + e->tx_off, e->cur, MSG_NOSIGNAL);
	if (again(e, rc))
		return 0;
	assert_true(rc > 0);
	e->tx_off += (size_t)rc;
	e->cur = 0;
	return 1;
}

static int end_recv(struct end *e)
{
	size_t want = e->s ? REC : 1 + (size_t)rand_r(&e->seed) % (3 * REC);
	ssize_t rc;

	if (!e->rx_on || e->rx_eof)
		return 0;
	if (e->rx_cap - e->rx_len < want) {
		e->rx_cap = e->rx_cap ? 2 * e->rx_cap : MiB;
		e->rx = realloc(e->rx, e->rx_cap);
		assert_non_null(e->rx);
	}
	rc = e->s ? gnutls_record_recv(e->s, e->rx + e->rx_len, want) :
		    recv(e->fd, e->rx + e->rx_len, want, 0);
	if (rc > 0) {
		e->rx_len += (size_t)rc;
		return 1;
	}
	if (again(e, rc))
		return 0;
	e->rx_eof = 1;
	e->rx_err = rc < 0 ? (e->s ? (int)rc : -errno) : 0;
	return 1;
}

static int step(struct end *e)
{
	int moved = 0;

	while (end_send(e))
		moved = 1;
	while (end_recv(e))
		moved = 1;
	return moved;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static short events(const struct end *e)
{
	short ev = 0;

	if (e->tx_off < e->tx_len || (e->tx_close && !e->tx_closed))
		ev |= POLLOUT;
	if (e->rx_on && !e->rx_eof)
		ev |= POLLIN;
	return ev;
}

/* Drive both ends until done() or, without done, until nothing moved
 * for 300 ms.  Fails the test after 20 s. */
static void drive(struct fix *f, int (*done)(struct fix *f))
{
	struct timespec start, last;

	clock_gettime(CLOCK_MONOTONIC, &start);
	last = start;
	for (;;) {
		struct pollfd pfd[2] = { { f->tls[1], events(&f->peer), 0 },
					 { f->plain[1], events(&f->app), 0 } };
		int moved = step(&f->peer) | step(&f->app);

		if (done && done(f))
			return;
		if (moved)
			clock_gettime(CLOCK_MONOTONIC, &last);
		else if (!done && ms_since(&last) >= 300)
			return;
		assert_true(ms_since(&start) < 20000);
		if (!moved)
			poll(pfd, 2, 10);
	}
}

static int all_closed(struct fix *f)
{
	return f->peer.rx_eof && f->app.rx_eof && f->peer.tx_closed &&
	       f->app.tx_closed && atomic_load(&f->ncloses) > 0;
}

/* ---- tests ---- */

/* Records of every size one way, writes of every size the other way,
 * short writes on both of the relay's sockets: everything arrives, in
 * order, and both sides close cleanly. */
static void test_mixed_sizes(void **state)
{
	struct fix *f = *state;
	const size_t down_n = 3 * MiB + 5, up_n = 3 * MiB + 11;
	unsigned char *down = random_data(f, 0, down_n);
	unsigned char *up = random_data(f, 1, up_n);

	f->peer.tx = down;
	f->peer.tx_len = down_n;
	f->peer.tx_close = 1;
	f->app.tx = up;
	f->app.tx_len = up_n;
	f->app.tx_close = 1;
	on_worker(f, do_start);
	assert_non_null(f->r);
	drive(f, all_closed);
	assert_int_equal(f->app.rx_len, down_n);
	assert_memory_equal(f->app.rx, down, down_n);
	assert_int_equal(f->peer.rx_len, up_n);
	assert_memory_equal(f->peer.rx, up, up_n);
	assert_int_equal(f->peer.rx_err, 0);
	assert_int_equal(f->close_err, 0);
	assert_int_equal(atomic_load(&f->ncloses), 1);
}

static int app_has_all_and_closed(struct fix *f)
{
	return f->app.rx_len >= f->peer.tx_len &&
	       atomic_load(&f->ncloses) > 0;
}

/* The peer's stream breaks (a forged record) right behind records the
 * relay takes in the same batch, while the app is not reading: the relay
 * holds them without spinning and passes nothing more to the peer; the
 * app gets every byte before the error, and then on_close reports it. */
static void test_fatal_behind_data(void **state)
{
	struct fix *f = *state;
	const size_t n = 3 * REC - 100;	/* three records */
	unsigned char *down = random_data(f, 0, n);
	unsigned char *up = random_data(f, 1, 1000);
	unsigned char forged[5 + 64] = { 0x17, 0x03, 0x03, 0x00, 64 };
	struct timespec ts;
	uint64_t cpu0, cpu1;
	clockid_t cid;

	f->peer.tx = down;
	f->peer.tx_len = n;
	f->peer.fixed = 1;
	while (f->peer.tx_off < n)	/* all of it before the relay starts */
		assert_true(step(&f->peer));
	assert_int_equal(write(f->tls[1], forged, sizeof(forged)),
			 (ssize_t)sizeof(forged));
	f->app.rx_on = 0;
	on_worker(f, do_start);
	assert_non_null(f->r);
	drive(f, NULL);
	f->app.tx = up;		/* now the relay must not read it */
	f->app.tx_len = 1000;
	drive(f, NULL);
	assert_int_equal(atomic_load(&f->ncloses), 0);
	on_worker(f, do_probe);
	assert_true(held > 0 && held <= HELD_MAX);
	assert_int_equal(pthread_getcpuclockid(f->thread, &cid), 0);
	clock_gettime(cid, &ts);
	cpu0 = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	usleep(300 * 1000);
	clock_gettime(cid, &ts);
	cpu1 = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	assert_true(cpu1 - cpu0 < 100);
	f->app.rx_on = 1;
	drive(f, app_has_all_and_closed);
	assert_int_equal(f->app.rx_len, n);
	assert_memory_equal(f->app.rx, down, n);
	assert_int_equal(f->close_err, GNUTLS_E_DECRYPTION_FAILED);
	assert_int_equal(f->peer.rx_len, 0);
}

static int app_has_peer_tx(struct fix *f)
{
	return f->app.rx_len >= f->peer.tx_len;
}

/* A slow app and a peer that sends tiny records: at most a batch of
 * records is held, and nothing once the app has caught up. */
static void test_tiny_records_slow_app(void **state)
{
	struct fix *f = *state;
	const size_t n = 256 * 1024;
	unsigned char *down = random_data(f, 0, n);

	f->peer.tx = down;
	f->peer.tx_len = n;
	f->peer.max_chunk = 64;
	f->app.rx_on = 0;
	on_worker(f, do_start);
	assert_non_null(f->r);
	drive(f, NULL);
	on_worker(f, do_probe);
	assert_true(held <= HELD_MAX);
	assert_true(f->peer.tx_off < n);	/* held back */
	f->app.rx_on = 1;
	drive(f, app_has_peer_tx);
	assert_memory_equal(f->app.rx, down, n);
	usleep(50 * 1000);
	on_worker(f, do_probe);
	assert_int_equal(held, 0);
	assert_int_equal(atomic_load(&f->ncloses), 0);
}

#define T(fn, prio) cmocka_unit_test_prestate_setup_teardown(fn, setup, \
						teardown, (void *)(prio))

int main(void)
{
	static const char tls13[] = "NORMAL";
	static const char tls12[] = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
	const struct CMUnitTest tests[] = {
		T(test_mixed_sizes, tls13),
		T(test_mixed_sizes, tls12),
		T(test_fatal_behind_data, tls13),
		T(test_fatal_behind_data, tls12),
		T(test_tiny_records_slow_app, tls13),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

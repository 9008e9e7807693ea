/* Unit tests for the relay: real GnuTLS sessions over socketpairs.
 *
 * The relay runs in a worker loop on its own thread and owns one end of a
 * TLS connection; the test drives the other end (the "peer", a GnuTLS
 * session) and the application end of the plaintext socketpair (the
 * "app") from a single non-blocking poll loop.
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
#define MiB (1024 * 1024)

static gnutls_certificate_credentials_t srv_cred, cli_cred;

struct param {
	const char *prio;
	int relay_is_server;
};

static const struct param tls13_srv = { "NORMAL", 1 };
static const struct param tls12_srv = { "NORMAL:-VERS-ALL:+VERS-TLS1.2", 1 };
static const struct param tls13_cli = { "NORMAL", 0 };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- credentials: a fresh ECDSA key and self-signed certificate ---- */

static int make_cert(gnutls_x509_crt_t *crt, gnutls_x509_privkey_t *key)
{
	static const char cn[] = "relay.test";
	unsigned char serial[8] = { 1 };
	time_t t = time(NULL);

	if (gnutls_x509_privkey_init(key) < 0 ||
	    gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
	    gnutls_x509_crt_init(crt) < 0 ||
	    gnutls_x509_crt_set_version(*crt, 3) < 0 ||
	    gnutls_x509_crt_set_serial(*crt, serial, sizeof(serial)) < 0 ||
	    gnutls_x509_crt_set_activation_time(*crt, t - 3600) < 0 ||
	    gnutls_x509_crt_set_expiration_time(*crt, t + 86400) < 0 ||
	    gnutls_x509_crt_set_dn_by_oid(*crt, GNUTLS_OID_X520_COMMON_NAME, 0,
					  cn, sizeof(cn) - 1) < 0 ||
	    gnutls_x509_crt_set_key(*crt, *key) < 0 ||
	    gnutls_x509_crt_sign2(*crt, *crt, *key, GNUTLS_DIG_SHA256, 0) < 0)
		return -1;
	return 0;
}

static int group_setup(void **state)
{
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_global_init() < 0 || make_cert(&crt, &key) < 0)
		return -1;
	if (gnutls_certificate_allocate_credentials(&srv_cred) < 0 ||
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

/* ---- fixture: worker thread, TLS pair, app socketpair ---- */

struct fix {
	const struct param *p;
	struct worker *w;
	pthread_t thread;
	int tls[2];		/* [0] relay's cryptfd, [1] peer */
	int app[2];		/* [0] relay's plainfd, [1] the app */
	gnutls_session_t rs;	/* relay's session */
	gnutls_session_t ps;	/* peer's session */
	struct relay *r;	/* worker thread only */
	atomic_int ncloses;
	int close_err;
	struct relay_stats st;	/* at close */
	sem_t closed;
};

static void *loop_main(void *arg)
{
	worker_run(arg);
	return NULL;
}

struct call {
	void (*fn)(struct fix *f, void *arg);
	struct fix *f;
	void *arg;
	sem_t done;
};

static void call_trampoline(void *arg)
{
	struct call *c = arg;

	c->fn(c->f, c->arg);
	sem_post(&c->done);
}

static int sem_wait_ms(sem_t *s, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return sem_timedwait(s, &ts);
}

/* Run fn on the worker thread and wait for it. */
static void on_worker(struct fix *f, void (*fn)(struct fix *, void *),
		      void *arg)
{
	struct call c = { .fn = fn, .f = f, .arg = arg };

	sem_init(&c.done, 0, 0);
	assert_int_equal(worker_post(f->w, call_trampoline, &c), 0);
	assert_int_equal(sem_wait_ms(&c.done, 10000), 0);
	sem_destroy(&c.done);
}

static void new_session(gnutls_session_t *s, int server, const char *prio,
			int fd)
{
	unsigned flags = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;

	assert_int_equal(gnutls_init(s, flags | (server ? GNUTLS_SERVER :
							 GNUTLS_CLIENT)), 0);
	assert_int_equal(gnutls_priority_set_direct(*s, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE,
				server ? srv_cred : cli_cred), 0);
	gnutls_transport_set_int(*s, fd);
}

static void handshake(struct fix *f)
{
	int rr = GNUTLS_E_AGAIN, pr = GNUTLS_E_AGAIN;
	uint64_t end = now_ms() + 10000;

	while ((rr != 0 || pr != 0) && now_ms() < end) {
		struct pollfd pfd[2] = { { f->tls[0], POLLIN, 0 },
					 { f->tls[1], POLLIN, 0 } };

		if (rr != 0)
			rr = gnutls_handshake(f->rs);
		if (pr != 0)
			pr = gnutls_handshake(f->ps);
		assert_true(rr == 0 || !gnutls_error_is_fatal(rr));
		assert_true(pr == 0 || !gnutls_error_is_fatal(pr));
		if (rr != 0 && pr != 0)
			poll(pfd, 2, 10);
	}
	assert_int_equal(rr, 0);
	assert_int_equal(pr, 0);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->p = *state;
	atomic_init(&f->ncloses, 0);
	sem_init(&f->closed, 0, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, f->tls) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, f->app) < 0)
		return -1;
	new_session(&f->rs, f->p->relay_is_server, f->p->prio, f->tls[0]);
	new_session(&f->ps, !f->p->relay_is_server, f->p->prio, f->tls[1]);
	handshake(f);
	f->w = worker_create();
	if (!f->w || pthread_create(&f->thread, NULL, loop_main, f->w) != 0)
		return -1;
	*state = f;
	return 0;
}

static void free_relay(struct fix *f, void *arg)
{
	(void)arg;
	relay_free(f->r);
	f->r = NULL;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	on_worker(f, free_relay, NULL);
	worker_loop_stop(f->w);
	pthread_join(f->thread, NULL);
	worker_destroy(f->w);
	gnutls_deinit(f->rs);
	gnutls_deinit(f->ps);
	for (int i = 0; i < 2; i++) {
		if (f->tls[i] >= 0)
			close(f->tls[i]);
		if (f->app[i] >= 0)
			close(f->app[i]);
	}
	sem_destroy(&f->closed);
	free(f);
	return 0;
}

/* Runs on the worker thread; frees the relay from inside on_close, as
 * the daemon does. */
static void on_close(void *ctx, int err)
{
	struct fix *f = ctx;

	f->close_err = err;
	relay_get_stats(f->r, &f->st);
	relay_free(f->r);
	f->r = NULL;
	atomic_fetch_add(&f->ncloses, 1);
	sem_post(&f->closed);
}

static void do_start(struct fix *f, void *arg)
{
	(void)arg;
	f->r = relay_start(f->w, f->rs, f->tls[0], f->app[0], on_close, f);
}

static void start_relay(struct fix *f)
{
	on_worker(f, do_start, NULL);
	assert_non_null(f->r);
}

struct probe {
	int alive;
	size_t buffered;
	struct relay_stats st;
};

static void do_probe(struct fix *f, void *arg)
{
	struct probe *pr = arg;

	pr->alive = f->r != NULL;
	if (f->r) {
		pr->buffered = relay_buffered_bytes(f->r);
		relay_get_stats(f->r, &pr->st);
	}
}

static struct probe probe(struct fix *f)
{
	struct probe pr = { 0 };

	on_worker(f, do_probe, &pr);
	return pr;
}

/* Wait for on_close; then make sure it does not come twice. */
static int wait_closed(struct fix *f)
{
	assert_int_equal(sem_wait_ms(&f->closed, 10000), 0);
	usleep(20 * 1000);
	assert_int_equal(atomic_load(&f->ncloses), 1);
	return f->close_err;
}

/* ---- the driver: peer and app ends on one poll loop ---- */

struct end {
	gnutls_session_t s;	/* NULL: plain socket */
	int fd;
	const unsigned char *tx;
	size_t tx_len, tx_off;
	int tx_close;		/* close_notify / SHUT_WR after tx */
	int tx_closed;
	int tx_blocked;
	int tx_err;
	unsigned char *rx;
	size_t rx_len, rx_cap;
	int rx_on;
	int rx_eof;
	int rx_err;
};

static int is_again(const struct end *e, ssize_t rc)
{
	if (e->s)
		return rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED;
	return rc < 0 && (errno == EAGAIN || errno == EINTR);
}

static int end_close(struct end *e)
{
	int rc = 0;

	if (e->s)
		rc = gnutls_bye(e->s, GNUTLS_SHUT_WR);
	else if (shutdown(e->fd, SHUT_WR) < 0)
		rc = -errno;
	if (e->s && (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)) {
		e->tx_blocked = 1;
		return 0;
	}
	e->tx_err = e->tx_err ? e->tx_err : rc;
	e->tx_closed = 1;
	return 1;
}

/* 1 when something happened */
static int end_send(struct end *e)
{
	size_t n = e->tx_len - e->tx_off;
	ssize_t rc;

	e->tx_blocked = 0;
	if (n == 0)
		return e->tx_close && !e->tx_closed ? end_close(e) : 0;
	if (n > REC)
		n = REC;	/* the same call again after AGAIN */
	if (e->s)
		rc = gnutls_record_send(e->s, e->tx + e->tx_off, n);
	else
		rc = send(e->fd, e->tx + e->tx_off, n, MSG_NOSIGNAL);
	if (rc > 0) {
		e->tx_off += (size_t)rc;
		return 1;
	}
	if (is_again(e, rc)) {
		e->tx_blocked = 1;
		return 0;
	}
	e->tx_err = e->s ? (int)rc : -errno;
	e->tx_off = e->tx_len;	/* give up sending */
	return 1;
}

static int end_recv(struct end *e)
{
	ssize_t rc;

	if (!e->rx_on || e->rx_eof)
		return 0;
	if (e->rx_cap - e->rx_len < REC) {
		e->rx_cap = e->rx_cap ? 2 * e->rx_cap : MiB;
		e->rx = realloc(e->rx, e->rx_cap);
		assert_non_null(e->rx);
	}
	if (e->s)
		rc = gnutls_record_recv(e->s, e->rx + e->rx_len, REC);
	else
		rc = recv(e->fd, e->rx + e->rx_len, REC, 0);
	if (rc > 0) {
		e->rx_len += (size_t)rc;
		return 1;
	}
	if (is_again(e, rc))
		return 0;
	e->rx_eof = 1;
	if (rc < 0)
		e->rx_err = e->s ? (int)rc : -errno;
	return 1;
}

static short end_events(const struct end *e)
{
	short ev = 0;

	if (e->fd < 0)
		return 0;
	if (e->tx_blocked)
		ev |= POLLOUT;
	if (e->rx_on && !e->rx_eof)
		ev |= POLLIN;
	return ev;
}

/* What "done" means for one drive() call. */
struct until {
	size_t peer_rx, app_rx;
	int peer_eof, app_eof;
	int closed;		/* wait for on_close too */
};

static int reached(struct fix *f, struct end *peer, struct end *app,
		   const struct until *u)
{
	struct end *e[2] = { peer, app };

	for (int i = 0; i < 2; i++)
		if (e[i]->tx_off < e[i]->tx_len ||
		    (e[i]->tx_close && !e[i]->tx_closed))
			return 0;
	return peer->rx_len >= u->peer_rx && app->rx_len >= u->app_rx &&
	       (!u->peer_eof || peer->rx_eof) && (!u->app_eof || app->rx_eof) &&
	       (!u->closed || atomic_load(&f->ncloses) > 0);
}

static int step(struct end *e)
{
	int progress = 0;

	if (e->fd < 0)
		return 0;
	while (end_send(e))
		progress = 1;
	while (end_recv(e))
		progress = 1;
	return progress;
}

/* Drive both ends.  With u: until reached (returns 0).  Without u: until
 * nothing moved for quiet_ms (returns 1).  Fails the test after 20 s. */
static int drive(struct fix *f, struct end *peer, struct end *app,
		 const struct until *u, int quiet_ms)
{
	uint64_t start = now_ms(), last = start;

	for (;;) {
		struct pollfd pfd[2] = {
			{ peer->fd, end_events(peer), 0 },
			{ app->fd, end_events(app), 0 },
		};
		int moved = step(peer) | step(app);
		uint64_t t = now_ms();

		if (u && reached(f, peer, app, u))
			return 0;
		if (moved)
			last = t;
		else if (!u && t - last >= (uint64_t)quiet_ms)
			return 1;
		assert_true(t - start < 20000);
		if (!moved) {
			pfd[0].events = end_events(peer);
			pfd[1].events = end_events(app);
			poll(pfd, 2, 10);
		}
	}
}

static unsigned char *random_bytes(size_t n)
{
	unsigned char *p = malloc(n);

	assert_non_null(p);
	assert_int_equal(gnutls_rnd(GNUTLS_RND_NONCE, p, n), 0);
	return p;
}

static void ends_init(struct fix *f, struct end *peer, struct end *app)
{
	memset(peer, 0, sizeof(*peer));
	memset(app, 0, sizeof(*app));
	peer->s = f->ps;
	peer->fd = f->tls[1];
	app->fd = f->app[1];
	peer->rx_on = app->rx_on = 1;
}

static void ends_free(struct end *peer, struct end *app)
{
	free(peer->rx);
	free(app->rx);
}

/* ---- tests ---- */

/* Several MiB each way at once, then an orderly close from both. */
static void test_bulk(void **state)
{
	struct fix *f = *state;
	const size_t n = 6 * MiB;
	unsigned char *down = random_bytes(n), *up = random_bytes(n + 7);
	struct end peer, app;
	struct until u = { .peer_rx = n + 7, .app_rx = n,
			   .peer_eof = 1, .app_eof = 1 };

	ends_init(f, &peer, &app);
	peer.tx = down;
	peer.tx_len = n;
	peer.tx_close = 1;
	app.tx = up;
	app.tx_len = n + 7;
	app.tx_close = 1;
	start_relay(f);
	assert_int_equal(drive(f, &peer, &app, &u, 0), 0);
	assert_int_equal(app.rx_len, n);
	assert_int_equal(peer.rx_len, n + 7);
	assert_memory_equal(app.rx, down, n);
	assert_memory_equal(peer.rx, up, n + 7);
	assert_int_equal(peer.rx_err, 0);
	assert_int_equal(app.rx_err, 0);
	assert_int_equal(peer.tx_err, 0);
	assert_int_equal(wait_closed(f), 0);
	assert_int_equal(f->st.crypt_to_plain, n);
	assert_int_equal(f->st.plain_to_crypt, n + 7);
	ends_free(&peer, &app);
	free(down);
	free(up);
}

/* The app does not read: the relay stops reading TLS, holds at most two
 * records, loses nothing; then the app reads everything. */
static void test_backpressure_to_app(void **state)
{
	struct fix *f = *state;
	const size_t n = 4 * MiB;
	unsigned char *down = random_bytes(n);
	struct end peer, app;
	struct until u = { .app_rx = n };
	struct probe pr;

	ends_init(f, &peer, &app);
	peer.tx = down;
	peer.tx_len = n;
	app.rx_on = 0;
	start_relay(f);
	assert_int_equal(drive(f, &peer, &app, NULL, 300), 1);
	pr = probe(f);
	assert_true(pr.alive);
	assert_true(pr.buffered <= 2 * REC);
	assert_true(pr.st.crypt_to_plain < n);
	assert_true(peer.tx_off < n);		/* the peer is held back */
	app.rx_on = 1;
	assert_int_equal(drive(f, &peer, &app, &u, 0), 0);
	assert_int_equal(app.rx_len, n);
	assert_memory_equal(app.rx, down, n);
	/* Idle again: no buffers. */
	usleep(50 * 1000);
	pr = probe(f);
	assert_true(pr.alive);
	assert_int_equal(pr.buffered, 0);
	assert_int_equal(pr.st.crypt_to_plain, n);
	ends_free(&peer, &app);
	free(down);
}

/* The peer does not read: the relay stops reading the app. */
static void test_backpressure_to_peer(void **state)
{
	struct fix *f = *state;
	const size_t n = 4 * MiB;
	unsigned char *up = random_bytes(n);
	struct end peer, app;
	struct until u = { .peer_rx = n };
	struct probe pr;

	ends_init(f, &peer, &app);
	app.tx = up;
	app.tx_len = n;
	peer.rx_on = 0;
	start_relay(f);
	assert_int_equal(drive(f, &peer, &app, NULL, 300), 1);
	pr = probe(f);
	assert_true(pr.alive);
	assert_true(pr.buffered <= 2 * REC);
	assert_true(pr.st.plain_to_crypt < n);
	assert_true(app.tx_off < n);
	peer.rx_on = 1;
	assert_int_equal(drive(f, &peer, &app, &u, 0), 0);
	assert_int_equal(peer.rx_len, n);
	assert_memory_equal(peer.rx, up, n);
	usleep(50 * 1000);
	pr = probe(f);
	assert_int_equal(pr.buffered, 0);
	assert_int_equal(pr.st.plain_to_crypt, n);
	ends_free(&peer, &app);
	free(up);
}

/* App closes its write side first: the peer sees close_notify and can
 * still send; then the peer closes and the relay ends cleanly. */
static void test_halfclose_app_first(void **state)
{
	struct fix *f = *state;
	const size_t n = MiB + 3;
	unsigned char *up = random_bytes(1000), *down = random_bytes(n);
	struct end peer, app;
	struct until u1 = { .peer_rx = 1000, .peer_eof = 1 };
	struct until u2 = { .app_rx = n, .app_eof = 1, .closed = 1 };

	ends_init(f, &peer, &app);
	app.tx = up;
	app.tx_len = 1000;
	app.tx_close = 1;
	start_relay(f);
	assert_int_equal(drive(f, &peer, &app, &u1, 0), 0);
	assert_int_equal(peer.rx_err, 0);	/* close_notify, not EOF */
	assert_memory_equal(peer.rx, up, 1000);
	assert_int_equal(atomic_load(&f->ncloses), 0);
	peer.tx = down;
	peer.tx_len = n;
	peer.tx_close = 1;
	assert_int_equal(drive(f, &peer, &app, &u2, 0), 0);
	assert_int_equal(app.rx_len, n);
	assert_int_equal(app.rx_err, 0);
	assert_memory_equal(app.rx, down, n);
	assert_int_equal(wait_closed(f), 0);
	ends_free(&peer, &app);
	free(up);
	free(down);
}

/* Peer sends close_notify first: the app reads EOF and can still send. */
static void test_halfclose_peer_first(void **state)
{
	struct fix *f = *state;
	const size_t n = MiB + 5;
	unsigned char *up = random_bytes(n), *down = random_bytes(1000);
	struct end peer, app;
	struct until u1 = { .app_rx = 1000, .app_eof = 1 };
	struct until u2 = { .peer_rx = n, .peer_eof = 1, .closed = 1 };

	ends_init(f, &peer, &app);
	peer.tx = down;
	peer.tx_len = 1000;
	peer.tx_close = 1;
	start_relay(f);
	assert_int_equal(drive(f, &peer, &app, &u1, 0), 0);
	assert_int_equal(app.rx_err, 0);
	assert_memory_equal(app.rx, down, 1000);
	assert_int_equal(atomic_load(&f->ncloses), 0);
	app.tx = up;
	app.tx_len = n;
	app.tx_close = 1;
	assert_int_equal(drive(f, &peer, &app, &u2, 0), 0);
	assert_int_equal(peer.rx_len, n);
	assert_int_equal(peer.rx_err, 0);
	assert_memory_equal(peer.rx, up, n);
	assert_int_equal(wait_closed(f), 0);
	ends_free(&peer, &app);
	free(up);
	free(down);
}

/* Peer vanishes without close_notify: what it sent still arrives, the
 * app sees EOF, and on_close reports an error once the app is done. */
static void test_abrupt_peer_close(void **state)
{
	struct fix *f = *state;
	unsigned char *down = random_bytes(50000);
	struct end peer, app;
	struct until u1 = { .app_rx = 50000 };
	struct until u2 = { .app_eof = 1, .closed = 1 };

	ends_init(f, &peer, &app);
	peer.tx = down;
	peer.tx_len = 50000;
	start_relay(f);
	assert_int_equal(drive(f, &peer, &app, &u1, 0), 0);
	close(f->tls[1]);
	f->tls[1] = -1;
	peer.fd = -1;
	app.tx_close = 1;	/* the app ends when it sees EOF */
	assert_int_equal(drive(f, &peer, &app, &u2, 0), 0);
	assert_memory_equal(app.rx, down, 50000);
	assert_int_equal(wait_closed(f), GNUTLS_E_PREMATURE_TERMINATION);
	ends_free(&peer, &app);
	free(down);
}

/* Peer vanishes while the app keeps sending: a fatal error, at once. */
static void test_abrupt_peer_while_sending(void **state)
{
	struct fix *f = *state;
	const size_t n = 8 * MiB;
	unsigned char *up = random_bytes(n);
	struct end peer, app;

	ends_init(f, &peer, &app);
	start_relay(f);
	close(f->tls[1]);
	f->tls[1] = -1;
	peer.fd = -1;
	app.tx = up;
	app.tx_len = n;
	app.rx_on = 0;
	/* The app cannot finish sending n; stop once the relay closed. */
	while (atomic_load(&f->ncloses) == 0)
		drive(f, &peer, &app, NULL, 50);
	assert_true(wait_closed(f) < 0);
	ends_free(&peer, &app);
	free(up);
}

/* The peer speaks right after the handshake, before the relay starts. */
static void test_data_before_start(void **state)
{
	struct fix *f = *state;
	unsigned char *down = random_bytes(3 * REC + 11);
	struct end peer, app;
	struct until u = { .app_rx = 3 * REC + 11 };

	ends_init(f, &peer, &app);
	peer.tx = down;
	peer.tx_len = 3 * REC + 11;
	while (peer.tx_off < peer.tx_len)
		step(&peer);
	start_relay(f);
	assert_int_equal(drive(f, &peer, &app, &u, 0), 0);
	assert_memory_equal(app.rx, down, 3 * REC + 11);
	ends_free(&peer, &app);
	free(down);
}

/* An idle relay holds no buffers, before and after traffic. */
static void test_idle_no_buffers(void **state)
{
	struct fix *f = *state;
	struct end peer, app;
	struct until u = { .app_rx = 1, .peer_rx = 1 };
	struct probe pr;

	ends_init(f, &peer, &app);
	start_relay(f);
	usleep(20 * 1000);
	pr = probe(f);
	assert_true(pr.alive);
	assert_int_equal(pr.buffered, 0);
	peer.tx = (const unsigned char *)"p";
	peer.tx_len = 1;
	app.tx = (const unsigned char *)"a";
	app.tx_len = 1;
	assert_int_equal(drive(f, &peer, &app, &u, 0), 0);
	assert_int_equal(app.rx[0], 'p');
	assert_int_equal(peer.rx[0], 'a');
	usleep(20 * 1000);
	pr = probe(f);
	assert_int_equal(pr.buffered, 0);
	assert_int_equal(pr.st.crypt_to_plain, 1);
	assert_int_equal(pr.st.plain_to_crypt, 1);
	assert_int_equal(atomic_load(&f->ncloses), 0);
	ends_free(&peer, &app);
}

#define T(fn, prm) \
	cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, \
						 (void *)&(prm))

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bulk, tls13_srv),
		T(test_bulk, tls12_srv),
		T(test_bulk, tls13_cli),
		T(test_backpressure_to_app, tls13_srv),
		T(test_backpressure_to_peer, tls13_srv),
		T(test_backpressure_to_app, tls12_srv),
		T(test_halfclose_app_first, tls13_srv),
		T(test_halfclose_app_first, tls12_srv),
		T(test_halfclose_peer_first, tls13_srv),
		T(test_halfclose_peer_first, tls13_cli),
		T(test_halfclose_peer_first, tls12_srv),
		T(test_abrupt_peer_close, tls13_srv),
		T(test_abrupt_peer_while_sending, tls13_srv),
		T(test_data_before_start, tls13_srv),
		T(test_data_before_start, tls13_cli),
		T(test_idle_no_buffers, tls13_srv),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "relay.h"
#include "worker.h"

#define REC 16384
/* Held for a slow reader: four records (relay.c RELAY_BATCH) per side. */
#define HELD_MAX (4 * (REC + 512))
#define MiB (1024 * 1024)

static gnutls_certificate_credentials_t srv_cred, cli_cred;

struct param {
	const char *prio;
	int relay_is_server;
};

static const struct param tls13_srv = { "NORMAL", 1 };
static const struct param tls12_srv = { "NORMAL:-VERS-ALL:+VERS-TLS1.2", 1 };
static const struct param tls13_cli = { "NORMAL", 0 };

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

/* One end the test drives: the peer (a GnuTLS session) or the app. */
struct end {
	gnutls_session_t s;	/* NULL: plain socket */
	int fd;
	const unsigned char *tx;
	size_t tx_len, tx_off;
	int tx_close;		/* close_notify / SHUT_WR after tx */
	int tx_closed, tx_blocked, tx_err;
	size_t ku_every, ku_next; /* TLS 1.3: KeyUpdate(request) every ... */
	int ku_done;
	unsigned char *rx;
	size_t rx_len, rx_cap;
	int rx_on, rx_eof, rx_err;
};

struct fix {
	const struct param *p;
	struct worker *w;
	pthread_t thread;
	int tls[2];		/* [0] relay's cryptfd, [1] peer */
	int plain[2];		/* [0] relay's plainfd, [1] the app */
	gnutls_session_t rs;	/* relay's session */
	gnutls_session_t ps;	/* peer's session */
	struct relay *r;	/* worker thread only */
	atomic_int ncloses;
	int close_err;
	struct relay_stats st;	/* at close */
	sem_t closed;
	struct end peer, app;	/* the two ends the test drives */
	unsigned char *bufs[2];	/* test data, freed by teardown */
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

static int sem_wait_10s(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	return sem_timedwait(s, &ts);
}

/* Run fn on the worker thread and wait for it. */
static void on_worker(struct fix *f, void (*fn)(struct fix *, void *),
		      void *arg)
{
	struct call c = { .fn = fn, .f = f, .arg = arg };

	sem_init(&c.done, 0, 0);
	assert_int_equal(worker_post(f->w, call_trampoline, &c), 0);
	assert_int_equal(sem_wait_10s(&c.done), 0);
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
	uint64_t end = worker_now_ms() + 10000;

	while ((rr != 0 || pr != 0) && worker_now_ms() < end) {
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
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, f->plain) < 0)
		return -1;
	new_session(&f->rs, f->p->relay_is_server, f->p->prio, f->tls[0]);
	new_session(&f->ps, !f->p->relay_is_server, f->p->prio, f->tls[1]);
	handshake(f);
	f->peer.s = f->ps;
	f->peer.fd = f->tls[1];
	f->app.fd = f->plain[1];
	f->peer.rx_on = f->app.rx_on = 1;
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
		if (f->plain[i] >= 0)
			close(f->plain[i]);
	}
	sem_destroy(&f->closed);
	free(f->peer.rx);
	free(f->app.rx);
	free(f->bufs[0]);
	free(f->bufs[1]);
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
	f->r = relay_start(f->w, f->rs, f->tls[0], f->plain[0], on_close, f);
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

/* CPU time the worker thread has used; a relay that waits must not spin
 * (the loop is level-triggered, so a wrong interest set shows here). */
static uint64_t worker_cpu_ms(struct fix *f)
{
	clockid_t cid;
	struct timespec ts;

	assert_int_equal(pthread_getcpuclockid(f->thread, &cid), 0);
	assert_int_equal(clock_gettime(cid, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void assert_quiet(struct fix *f)
{
	uint64_t before = worker_cpu_ms(f);

	usleep(300 * 1000);
	assert_true(worker_cpu_ms(f) - before < 100);
}

/* Wait for on_close; then make sure it does not come twice. */
static int wait_closed(struct fix *f)
{
	assert_int_equal(sem_wait_10s(&f->closed), 0);
	usleep(20 * 1000);
	assert_int_equal(atomic_load(&f->ncloses), 1);
	return f->close_err;
}

/* ---- the driver: peer and app ends on one poll loop ---- */

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

static int end_key_update(struct end *e)
{
	int rc = gnutls_session_key_update(e->s, GNUTLS_KU_PEER);

	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
		e->tx_blocked = 1;
		return 0;
	}
	assert_int_equal(rc, 0);
	e->ku_next += e->ku_every;
	e->ku_done++;
	return 1;
}

/* 1 when something happened */
static int end_send(struct end *e)
{
	size_t n = e->tx_len - e->tx_off;
	ssize_t rc;

	e->tx_blocked = 0;
	if (e->ku_every && e->tx_off >= e->ku_next && n > 0)
		return end_key_update(e);
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

/* What "done" means for one drive() call; closed: on_close ran too. */
struct until {
	size_t peer_rx, app_rx;
	int peer_eof, app_eof, closed;
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
	uint64_t start = worker_now_ms(), last = start;

	for (;;) {
		struct pollfd pfd[2] = { { peer->fd, 0, 0 }, { app->fd, 0, 0 } };
		int moved = step(peer) | step(app);
		uint64_t t = worker_now_ms();

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

static unsigned char *random_bytes(struct fix *f, size_t n)
{
	unsigned char *p = malloc(n);

	assert_non_null(p);
	assert_null(f->bufs[1]);	/* two per test */
	f->bufs[f->bufs[0] ? 1 : 0] = p;
	assert_int_equal(gnutls_rnd(GNUTLS_RND_NONCE, p, n), 0);
	return p;
}

/* ---- tests ---- */

/* Several MiB each way at once, then an orderly close from both.  With
 * key_update (TLS 1.3) the peer keeps requesting KeyUpdates, which the
 * relay's GnuTLS answers from inside record_recv while its own sends may
 * be waiting for the socket. */
static void bulk(struct fix *f, int key_update)
{
	const size_t n = 6 * MiB;
	unsigned char *down = random_bytes(f, n), *up = random_bytes(f, n + 7);
	struct end *peer = &f->peer, *app = &f->app;
	struct until u = { .peer_rx = n + 7, .app_rx = n,
			   .peer_eof = 1, .app_eof = 1 };

	peer->tx = down;
	peer->tx_len = n;
	peer->tx_close = 1;
	/* GnuTLS refuses more than a few KeyUpdates per second */
	peer->ku_every = peer->ku_next = key_update ? MiB : 0;
	app->tx = up;
	app->tx_len = n + 7;
	app->tx_close = 1;
	start_relay(f);
	assert_int_equal(drive(f, peer, app, &u, 0), 0);
	assert_true(peer->ku_done >= (key_update ? 5 : 0));
	assert_int_equal(app->rx_len, n);
	assert_int_equal(peer->rx_len, n + 7);
	assert_memory_equal(app->rx, down, n);
	assert_memory_equal(peer->rx, up, n + 7);
	assert_int_equal(peer->rx_err, 0);
	assert_int_equal(app->rx_err, 0);
	assert_int_equal(peer->tx_err, 0);
	assert_int_equal(wait_closed(f), 0);
	assert_int_equal(f->st.crypt_to_plain, n);
	assert_int_equal(f->st.plain_to_crypt, n + 7);
}

static void test_bulk(void **state)
{
	bulk(*state, 0);
}

static void test_key_update(void **state)
{
	bulk(*state, 1);
}

/* One side does not read: the relay stops reading the other side, holds
 * at most four records, does not spin, loses nothing; then the reader
 * catches up and gets everything.  to_app: peer -> app, else app -> peer-> */
static void backpressure(struct fix *f, int to_app)
{
	const size_t n = 4 * MiB;
	unsigned char *data = random_bytes(f, n);
	struct end *peer = &f->peer, *app = &f->app, *src, *dst;
	struct until u = { 0 };
	struct probe pr;

	src = to_app ? peer : app;
	dst = to_app ? app : peer;
	src->tx = data;
	src->tx_len = n;
	dst->rx_on = 0;
	*(to_app ? &u.app_rx : &u.peer_rx) = n;
	start_relay(f);
	assert_int_equal(drive(f, peer, app, NULL, 300), 1);
	pr = probe(f);
	assert_true(pr.alive);
	assert_true(pr.buffered <= HELD_MAX);
	assert_true((to_app ? pr.st.crypt_to_plain : pr.st.plain_to_crypt) < n);
	assert_true(src->tx_off < n);		/* the sender is held back */
	assert_quiet(f);
	dst->rx_on = 1;
	assert_int_equal(drive(f, peer, app, &u, 0), 0);
	assert_int_equal(dst->rx_len, n);
	assert_memory_equal(dst->rx, data, n);
	usleep(50 * 1000);	/* idle again: no buffers */
	pr = probe(f);
	assert_true(pr.alive);
	assert_int_equal(pr.buffered, 0);
	assert_int_equal(to_app ? pr.st.crypt_to_plain : pr.st.plain_to_crypt,
			 n);
}

static void test_backpressure_to_app(void **state)
{
	backpressure(*state, 1);
}

static void test_backpressure_to_peer(void **state)
{
	backpressure(*state, 0);
}

/* One side closes its write side first (app: SHUT_WR, peer: close_notify);
 * the other sees an orderly EOF and can still send; when it closes too
 * the relay ends cleanly. */
static void halfclose(struct fix *f, int app_first)
{
	const size_t n = MiB + 3;
	unsigned char *few = random_bytes(f, 1000), *many = random_bytes(f, n);
	struct end *peer = &f->peer, *app = &f->app, *first, *second;
	struct until u1 = { 0 }, u2 = { .closed = 1 };

	first = app_first ? app : peer;
	second = app_first ? peer : app;
	first->tx = few;
	first->tx_len = 1000;
	first->tx_close = 1;
	*(app_first ? &u1.peer_rx : &u1.app_rx) = 1000;
	*(app_first ? &u1.peer_eof : &u1.app_eof) = 1;
	*(app_first ? &u2.app_rx : &u2.peer_rx) = n;
	*(app_first ? &u2.app_eof : &u2.peer_eof) = 1;
	start_relay(f);
	assert_int_equal(drive(f, peer, app, &u1, 0), 0);
	assert_int_equal(second->rx_err, 0);	/* orderly: not an error */
	assert_memory_equal(second->rx, few, 1000);
	assert_int_equal(atomic_load(&f->ncloses), 0);
	second->tx = many;
	second->tx_len = n;
	second->tx_close = 1;
	assert_int_equal(drive(f, peer, app, &u2, 0), 0);
	assert_int_equal(first->rx_len, n);
	assert_int_equal(first->rx_err, 0);
	assert_memory_equal(first->rx, many, n);
	assert_int_equal(wait_closed(f), 0);
}

static void test_halfclose_app_first(void **state)
{
	halfclose(*state, 1);
}

static void test_halfclose_peer_first(void **state)
{
	halfclose(*state, 0);
}

/* Peer vanishes without close_notify: what it sent still arrives, the
 * app sees EOF, and on_close reports an error once the app is done. */
static void test_abrupt_peer_close(void **state)
{
	struct fix *f = *state;
	unsigned char *down = random_bytes(f, 50000);
	struct end *peer = &f->peer, *app = &f->app;
	struct until u1 = { .app_rx = 50000 }, u2 = { .app_eof = 1, .closed = 1 };

	peer->tx = down;
	peer->tx_len = 50000;
	start_relay(f);
	assert_int_equal(drive(f, peer, app, &u1, 0), 0);
	close(f->tls[1]);
	f->tls[1] = -1;
	peer->fd = -1;
	app->tx_close = 1;	/* the app ends when it sees EOF */
	assert_int_equal(drive(f, peer, app, &u2, 0), 0);
	assert_memory_equal(app->rx, down, 50000);
	assert_int_equal(wait_closed(f), GNUTLS_E_PREMATURE_TERMINATION);
}

/* Peer vanishes while the app keeps sending: a fatal error, at once. */
static void test_abrupt_peer_while_sending(void **state)
{
	struct fix *f = *state;
	const size_t n = 8 * MiB;
	unsigned char *up = random_bytes(f, n);
	struct end *peer = &f->peer, *app = &f->app;

	start_relay(f);
	close(f->tls[1]);
	f->tls[1] = -1;
	peer->fd = -1;
	app->tx = up;
	app->tx_len = n;
	app->rx_on = 0;
	while (atomic_load(&f->ncloses) == 0)	/* the app cannot send all */
		drive(f, peer, app, NULL, 50);
	assert_true(wait_closed(f) < 0);
}

/* The peer speaks before the relay starts, and part of it is already
 * decrypted inside GnuTLS (the rest of a record of which one byte was
 * taken): epoll never reports that part. */
static void test_data_before_start(void **state)
{
	struct fix *f = *state;
	const size_t n = 3 * REC + 11;
	unsigned char *down = random_bytes(f, n), first;
	struct end *peer = &f->peer, *app = &f->app;
	struct until u = { .app_rx = n - 1 };
	ssize_t rc;

	peer->tx = down;
	peer->tx_len = n;
	while (peer->tx_off < peer->tx_len)
		step(peer);
	do {
		struct pollfd pfd = { f->tls[0], POLLIN, 0 };

		poll(&pfd, 1, 100);
		rc = gnutls_record_recv(f->rs, &first, 1);
	} while (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED);
	assert_int_equal(rc, 1);
	assert_int_equal(first, down[0]);
	assert_true(gnutls_record_check_pending(f->rs) > 0);
	start_relay(f);
	assert_int_equal(drive(f, peer, app, &u, 0), 0);
	assert_int_equal(app->rx_len, n - 1);
	assert_memory_equal(app->rx, down + 1, n - 1);
}

/* An idle relay holds no buffers, before and after traffic. */
static void test_idle_no_buffers(void **state)
{
	struct fix *f = *state;
	struct end *peer = &f->peer, *app = &f->app;
	struct until u = { .app_rx = 1, .peer_rx = 1 };
	struct probe pr;

	start_relay(f);
	usleep(20 * 1000);
	pr = probe(f);
	assert_true(pr.alive);
	assert_int_equal(pr.buffered, 0);
	peer->tx = (const unsigned char *)"p";
	peer->tx_len = 1;
	app->tx = (const unsigned char *)"a";
	app->tx_len = 1;
	assert_int_equal(drive(f, peer, app, &u, 0), 0);
	assert_int_equal(app->rx[0], 'p');
	assert_int_equal(peer->rx[0], 'a');
	usleep(20 * 1000);
	pr = probe(f);
	assert_int_equal(pr.buffered, 0);
	assert_int_equal(pr.st.crypt_to_plain, 1);
	assert_int_equal(pr.st.plain_to_crypt, 1);
	assert_int_equal(atomic_load(&f->ncloses), 0);
	assert_quiet(f);
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
		T(test_data_before_start, tls12_srv),
		T(test_idle_no_buffers, tls13_srv),
		T(test_key_update, tls13_srv),
		T(test_key_update, tls13_cli),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

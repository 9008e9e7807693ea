/* test_async -- libtlspool's asynchronous API against a fake daemon.
 *
 * The fake daemon is a thread on a real UNIX socket; it records the
 * first failed check in f->fail (cmocka asserts only on the main
 * thread).  Steps that must happen in a fixed order are paced with a
 * pipe: the test writes one byte to let the fake go on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <tlspool/async.h>

#include "codec.h"
#include "fake_daemon.h"
#include "fdpass.h"

/* Answer the synchronous PING of tlspool_async_open. */
static int fake_open_ping(struct fake *f, int conn)
{
	struct tlspool_command cmd;

	if (fake_recv(conn, &cmd, NULL) != 0 || cmd.pio_cmd != PIOC_PING_V2 ||
	    strcmp(cmd.pio_data.pioc_ping.YYYYMMDD_producer,
		   TLSPOOL_IDENTITY_V2) != 0)
		return -1;
	fake_ping_reply(&cmd, "20250101fake@test", f->grant);
	return fake_send_raw(conn, &cmd, CODEC_MSGLEN);
}

/* ---- callbacks used by the tests ---- */

struct rec {
	struct tlspool_async_request req;
	int calls;
	int fd;
	struct tlspool_command last;
	struct tlspool_async_pool *pool;
	int answer_fd;		/* answer a callback with this fd */
	uint32_t hist[4];	/* pio_cmd of each call */
	int linked[4];		/* still pending during each call */
};

static void rec_cb(struct tlspool_async_request *r, int opt_fd)
{
	struct rec *rec = (struct rec *)r;

	if (rec->calls < 4) {
		rec->hist[rec->calls] = r->cmd.pio_cmd;
		rec->linked[rec->calls] = rec->pool != NULL &&
					  rec->pool->requests == r;
	}
	rec->calls++;
	rec->fd = opt_fd;
	rec->last = r->cmd;
	if (r->cmd.pio_cbid != 0 && rec->pool != NULL) {
		/* answer the callback: reqid and cbid stay as they came */
		tlspool_async_request(rec->pool, r, rec->answer_fd);
	}
}

static void rec_init(struct rec *r, uint32_t cmd)
{
	memset(r, 0, sizeof(*r));
	r->req.cbfunc = rec_cb;
	r->req.cmd.pio_cmd = cmd;
	r->fd = -2;
	r->answer_fd = -1;
}

/* Process until cond or a 5 s poll timeout; returns process calls. */
static int pump(struct tlspool_async_pool *pool, const int *calls, int want)
{
	int n = 0;

	while (*calls < want) {
		struct pollfd p = { .fd = pool->handle, .events = POLLIN };

		if (poll(&p, 1, 5000) <= 0)
			break;
		assert_true(tlspool_async_process(pool));
		n++;
	}
	return n;
}

/* ---- open ---- */

static void serve_open(struct fake *f, int conn)
{
	FAKE_CHECK(f, fake_open_ping(f, conn) == 0);
}

static void test_open(void **state)
{
	struct tlspool_async_pool pool;
	struct fake f;

	(void)state;
	fake_start(&f, serve_open, 1);
	assert_true(tlspool_async_open(&pool, sizeof(struct tlspool_command),
				       TLSPOOL_IDENTITY_V2,
				       PIOF_FACILITY_STARTTLS, f.path));
	assert_string_equal(pool.pingdata.YYYYMMDD_producer,
			    "20250101fake@test");
	assert_true(fcntl(pool.handle, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(pool.handle, F_GETFD) & FD_CLOEXEC);
	fake_join(&f, 0);
	assert_true(tlspool_async_close(&pool, true));
	assert_int_equal(pool.handle, INVALID_POOL_HANDLE);

	/* a facility the daemon does not grant */
	fake_start(&f, serve_open, 1);
	assert_false(tlspool_async_open(&pool, sizeof(struct tlspool_command),
					TLSPOOL_IDENTITY_V2,
					PIOF_FACILITY_STARTGSS, f.path));
	assert_int_equal(errno, ENOTSUP);
	fake_join(&f, 0);

	/* the wrong structure size */
	assert_false(tlspool_async_open(&pool, 100, NULL, 0, f.path));
	assert_int_equal(errno, EPROTO);
	/* nobody listening */
	assert_false(tlspool_async_open(&pool, sizeof(struct tlspool_command),
					NULL, 0, "/nonexistent/pool.sock"));
	assert_int_equal(errno, ENOENT);
}

/* ---- a reply in three pieces ---- */

static void serve_chunks(struct fake *f, int conn)
{
	struct tlspool_command cmd;
	const char *p = (const char *)&cmd;

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_PING_V2 && cmd.pio_reqid != 0);
	fake_ping_reply(&cmd, "chunked", PIOF_FACILITY_STARTTLS);
	FAKE_CHECK(f, fake_wait(f) == 0);
	FAKE_CHECK(f, fake_send_raw(conn, p, 5) == 0);
	FAKE_CHECK(f, fake_wait(f) == 0);
	FAKE_CHECK(f, fake_send_raw(conn, p + 5, 200) == 0);
	FAKE_CHECK(f, fake_wait(f) == 0);
	FAKE_CHECK(f, fake_send_raw(conn, p + 205, CODEC_MSGLEN - 205) == 0);
	FAKE_CHECK(f, fake_wait(f) == 0);	/* stay connected */
}

static void test_partial(void **state)
{
	struct tlspool_async_pool pool;
	struct fake f;
	struct rec r;

	(void)state;
	fake_start(&f, serve_chunks, 1);
	assert_true(tlspool_async_open(&pool, sizeof(struct tlspool_command),
				       NULL, 0, f.path));
	rec_init(&r, PIOC_PING_V2);
	strcpy(r.req.cmd.pio_data.pioc_ping.YYYYMMDD_producer, "x");
	assert_true(tlspool_async_request(&pool, &r.req, -1));
	assert_ptr_equal(pool.requests, &r.req);
	/* nothing there yet: business as usual */
	assert_true(tlspool_async_process(&pool));
	assert_int_equal(r.calls, 0);
	fake_go(&f);
	for (int step = 0; step < 2; step++) {
		struct pollfd p = { .fd = pool.handle, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 5000), 1);
		assert_true(tlspool_async_process(&pool));
		assert_int_equal(r.calls, 0);
		fake_go(&f);
	}
	pump(&pool, &r.calls, 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.fd, -1);
	assert_int_equal(r.last.pio_cmd, PIOC_PING_V2);
	assert_string_equal(r.req.cmd.pio_data.pioc_ping.YYYYMMDD_producer,
			    "chunked");
	assert_null(pool.requests);
	fake_go(&f);
	fake_join(&f, 0);
	assert_true(tlspool_async_close(&pool, true));
}

/* ---- callbacks from the daemon, answered with the cbid kept ---- */

static void serve_callback(struct fake *f, int conn)
{
	struct tlspool_command cmd, cb;
	int fd = -1;

	FAKE_CHECK(f, fake_recv(conn, &cmd, &fd) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_STARTTLS_V2 && fd >= 0);
	FAKE_CHECK(f, write(fd, "c", 1) == 1);
	close(fd);
	cb = cmd;
	cb.pio_cmd = PIOC_PLAINTEXT_CONNECT_V2;
	cb.pio_cbid = 3;
	FAKE_CHECK(f, fake_send_raw(conn, &cb, CODEC_MSGLEN) == 0);
	fd = -1;
	FAKE_CHECK(f, fake_recv(conn, &cb, &fd) == 0);
	FAKE_CHECK(f, cb.pio_cmd == PIOC_PLAINTEXT_CONNECT_V2);
	FAKE_CHECK(f, cb.pio_cbid == 3 && cb.pio_reqid == cmd.pio_reqid);
	FAKE_CHECK(f, fd >= 0);
	FAKE_CHECK(f, write(fd, "p", 1) == 1);
	close(fd);
	strcpy(cmd.pio_data.pioc_starttls.remoteid, "peer@example.net");
	FAKE_CHECK(f, fake_send_raw(conn, &cmd, CODEC_MSGLEN) == 0);
	FAKE_CHECK(f, fake_wait(f) == 0);	/* stay connected */
}

static void test_callback(void **state)
{
	struct tlspool_async_pool pool;
	struct fake f;
	struct rec r;
	int cs[2], ps[2];
	char c;

	(void)state;
	fake_start(&f, serve_callback, 1);
	assert_true(tlspool_async_open(&pool, sizeof(struct tlspool_command),
				       NULL, 0, f.path));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, cs), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, ps), 0);
	rec_init(&r, PIOC_STARTTLS_V2);
	r.pool = &pool;
	r.answer_fd = ps[0];
	assert_true(tlspool_async_request(&pool, &r.req, cs[0]));
	pump(&pool, &r.calls, 2);
	assert_int_equal(r.calls, 2);
	assert_int_equal(r.hist[0], PIOC_PLAINTEXT_CONNECT_V2);
	assert_true(r.linked[0]);	/* a callback leaves it pending */
	assert_int_equal(r.hist[1], PIOC_STARTTLS_V2);
	assert_false(r.linked[1]);	/* the final reply unlinks it */
	assert_int_equal(r.last.pio_cmd, PIOC_STARTTLS_V2);
	assert_string_equal(r.last.pio_data.pioc_starttls.remoteid,
			    "peer@example.net");
	assert_null(pool.requests);
	assert_int_equal(read(cs[1], &c, 1), 1);
	assert_int_equal(c, 'c');
	assert_int_equal(read(ps[1], &c, 1), 1);
	assert_int_equal(c, 'p');
	fake_go(&f);
	fake_join(&f, 0);
	assert_true(tlspool_async_close(&pool, true));
	close(cs[0]);
	close(cs[1]);
	close(ps[0]);
	close(ps[1]);
}

/* ---- cancel, unique reqids, bad messages, close, end of file ---- */

static void serve_cancel(struct fake *f, int conn)
{
	struct tlspool_command a, b, bad;

	FAKE_CHECK(f, fake_recv(conn, &a, NULL) == 0);
	FAKE_CHECK(f, fake_recv(conn, &b, NULL) == 0);
	FAKE_CHECK(f, a.pio_reqid != 0 && b.pio_reqid != 0);
	FAKE_CHECK(f, a.pio_reqid != b.pio_reqid);
	fake_ping_reply(&a, "first", 1);
	fake_ping_reply(&b, "second", 1);
	FAKE_CHECK(f, fake_send_raw(conn, &a, CODEC_MSGLEN) == 0);
	FAKE_CHECK(f, fake_send_raw(conn, &b, CODEC_MSGLEN) == 0);
	/* a malformed reply for the third request */
	FAKE_CHECK(f, fake_recv(conn, &bad, NULL) == 0);
	bad.pio_cmd = 0x12345;
	FAKE_CHECK(f, fake_send_raw(conn, &bad, CODEC_MSGLEN) == 0);
	/* the fourth stays pending until close; then wait for the test */
	FAKE_CHECK(f, fake_recv(conn, &bad, NULL) == 0);
	FAKE_CHECK(f, fake_wait(f) == 0);
}

static void test_cancel_close(void **state)
{
	struct tlspool_async_pool pool;
	struct fake f;
	struct rec a, b, c, d;

	(void)state;
	fake_start(&f, serve_cancel, 1);
	assert_true(tlspool_async_open(&pool, sizeof(struct tlspool_command),
				       NULL, 0, f.path));
	rec_init(&a, PIOC_PING_V2);
	rec_init(&b, PIOC_PING_V2);
	assert_true(tlspool_async_request(&pool, &a.req, -1));
	assert_true(tlspool_async_request(&pool, &b.req, -1));
	assert_int_not_equal(a.req.cmd.pio_reqid, b.req.cmd.pio_reqid);
	assert_true(tlspool_async_cancel(&pool, &a.req));
	assert_false(tlspool_async_cancel(&pool, &a.req));
	assert_int_equal(errno, ENOENT);
	pump(&pool, &b.calls, 1);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	assert_string_equal(b.last.pio_data.pioc_ping.YYYYMMDD_producer,
			    "second");

	rec_init(&c, PIOC_PING_V2);
	assert_true(tlspool_async_request(&pool, &c.req, -1));
	pump(&pool, &c.calls, 1);
	assert_int_equal(c.last.pio_cmd, PIOC_ERROR_V2);
	assert_int_equal(c.last.pio_data.pioc_error.tlserrno, EPROTO);
	assert_null(pool.requests);

	rec_init(&d, PIOC_PING_V2);
	assert_true(tlspool_async_request(&pool, &d.req, -1));
	assert_true(tlspool_async_close(&pool, true));
	assert_int_equal(d.calls, 1);
	assert_int_equal(d.fd, -1);
	assert_int_equal(d.last.pio_cmd, PIOC_ERROR_V2);
	assert_int_equal(d.last.pio_data.pioc_error.tlserrno, ECONNRESET);
	assert_null(pool.requests);
	assert_int_equal(pool.handle, INVALID_POOL_HANDLE);
	assert_false(tlspool_async_request(&pool, &d.req, -1));
	assert_int_equal(errno, ENOTCONN);
	fake_go(&f);
	fake_join(&f, 0);
}

static void serve_hangup(struct fake *f, int conn)
{
	struct tlspool_command cmd;

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
}

static void test_eof(void **state)
{
	struct tlspool_async_pool pool;
	struct fake f;
	struct rec r;
	struct pollfd p;

	(void)state;
	fake_start(&f, serve_hangup, 1);
	assert_true(tlspool_async_open(&pool, sizeof(struct tlspool_command),
				       NULL, 0, f.path));
	rec_init(&r, PIOC_PING_V2);
	assert_true(tlspool_async_request(&pool, &r.req, -1));
	fake_join(&f, 0);
	p.fd = pool.handle;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_false(tlspool_async_process(&pool));
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.last.pio_cmd, PIOC_ERROR_V2);
	assert_null(pool.requests);
	assert_true(tlspool_async_close(&pool, true));
}

/* A callback that closes the pool while it is being processed. */
static struct tlspool_async_pool *closing_pool;

static void closing_cb(struct tlspool_async_request *r, int opt_fd)
{
	(void)r;
	(void)opt_fd;
	tlspool_async_close(closing_pool, true);
}

static void serve_two(struct fake *f, int conn)
{
	struct tlspool_command cmd[2];

	FAKE_CHECK(f, fake_recv(conn, &cmd[0], NULL) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cmd[1], NULL) == 0);
	fake_ping_reply(&cmd[0], "one", 1);
	fake_ping_reply(&cmd[1], "two", 1);
	FAKE_CHECK(f, fake_send_raw(conn, cmd, 2 * CODEC_MSGLEN) == 0);
}

static void test_close_in_callback(void **state)
{
	struct tlspool_async_pool pool;
	struct fake f;
	struct rec a, b;
	struct pollfd p;

	(void)state;
	fake_start(&f, serve_two, 1);
	assert_true(tlspool_async_open(&pool, sizeof(struct tlspool_command),
				       NULL, 0, f.path));
	closing_pool = &pool;
	rec_init(&a, PIOC_PING_V2);
	rec_init(&b, PIOC_PING_V2);
	a.req.cbfunc = closing_cb;
	b.req.cbfunc = closing_cb;
	assert_true(tlspool_async_request(&pool, &a.req, -1));
	assert_true(tlspool_async_request(&pool, &b.req, -1));
	fake_join(&f, 0);
	p.fd = pool.handle;
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_true(tlspool_async_process(&pool));
	assert_int_equal(pool.handle, INVALID_POOL_HANDLE);
	assert_null(pool.requests);
	assert_null(pool._priv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_callback),
		cmocka_unit_test(test_cancel_close),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_close_in_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

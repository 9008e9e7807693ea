/* test_client -- libtlspool's synchronous API against a fake daemon.
 *
 * The fake daemon is a thread that speaks the wire protocol on a real
 * UNIX socket in a temporary directory.  cmocka assertions must run on
 * the main thread, so the fake records the first failed check in
 * f->fail and the test asserts on it after joining the thread.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <tlspool/starttls.h>

#include "codec.h"
#include "fake_daemon.h"
#include "fdpass.h"

/* A daemon callback for request req. */
static struct tlspool_command fake_cb(const struct tlspool_command *req,
				      uint32_t cmd, uint16_t cbid)
{
	struct tlspool_command cb = *req;

	cb.pio_cmd = cmd;
	cb.pio_cbid = cbid;
	return cb;
}

static int client_ping(const char *who, pingpool_t *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->YYYYMMDD_producer, sizeof(p->YYYYMMDD_producer), "%s", who);
	p->facilities = PIOF_FACILITY_ALL_CURRENT;
	return tlspool_ping(p);
}

static void open_pool(struct fake *f)
{
	assert_true(tlspool_open_poolhandle(f->path) >= 0);
}

/* cs[0] plays the network connection handed over as cryptfd. */
static int cs[2] = { -1, -1 };

static int cs_setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_STREAM, 0, cs);
}

static int cs_teardown(void **state)
{
	(void)state;
	close(cs[0]);
	close(cs[1]);
	return 0;
}

/* ---- socket path ---- */

static void test_socket_path(void **state)
{
	(void)state;
	setenv("TLSPOOL_SOCKET", "/tmp/tp-test-env.sock", 1);
	assert_string_equal(tlspool_socket_path(), "/tmp/tp-test-env.sock");
	unsetenv("TLSPOOL_SOCKET");
	assert_true(tlspool_socket_path()[0] == '/');
}

/* ---- ping ---- */

static void serve_ping(struct fake *f, int conn)
{
	struct tlspool_command cmd;

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_PING_V2);
	FAKE_CHECK(f, cmd.pio_reqid != 0 && cmd.pio_cbid == 0);
	FAKE_CHECK(f, strcmp(cmd.pio_data.pioc_ping.YYYYMMDD_producer,
			     TLSPOOL_IDENTITY_V2) == 0);
	fake_ping_reply(&cmd, "20250101fake@test", PIOF_FACILITY_STARTTLS);
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
}

static void test_ping(void **state)
{
	struct fake f;
	pingpool_t p;

	(void)state;
	fake_start(&f, serve_ping, 1);
	open_pool(&f);
	assert_int_equal(client_ping(TLSPOOL_IDENTITY_V2, &p), 0);
	assert_string_equal(p.YYYYMMDD_producer, "20250101fake@test");
	assert_int_equal(p.facilities, PIOF_FACILITY_STARTTLS);
	fake_join(&f, 0);
}

/* ---- STARTTLS with the library's socketpair ---- */

static void serve_starttls_pair(struct fake *f, int conn)
{
	struct tlspool_command cmd, cb;
	int cryptfd = -1, plainfd = -1;
	uint16_t reqid;
	char buf[8];

	FAKE_CHECK(f, fake_recv(conn, &cmd, &cryptfd) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_STARTTLS_V2 && cryptfd >= 0);
	FAKE_CHECK(f, write(cryptfd, "crypt", 5) == 5);
	close(cryptfd);
	FAKE_CHECK(f, strcmp(cmd.pio_data.pioc_starttls.remoteid,
			     "srv.example.org") == 0);
	memcpy(f->ctlkey, cmd.pio_data.pioc_starttls.ctlkey, TLSPOOL_CTLKEYLEN);
	reqid = cmd.pio_reqid;
	/* Without namedconnect a proposed identity is approved unchanged
	 * and no descriptor comes with the answer. */
	cb = fake_cb(&cmd, PIOC_STARTTLS_LOCALID_V2, 6);
	strcpy(cb.pio_data.pioc_starttls.localid, "proposed@example.org");
	FAKE_CHECK(f, fake_send(conn, &cb, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cb, &plainfd) == 0 && plainfd < 0);
	FAKE_CHECK(f, cb.pio_cmd == PIOC_STARTTLS_LOCALID_V2 &&
		      cb.pio_cbid == 6 &&
		      strcmp(cb.pio_data.pioc_starttls.localid,
			     "proposed@example.org") == 0);
	cb = fake_cb(&cmd, PIOC_PLAINTEXT_CONNECT_V2, 7);
	FAKE_CHECK(f, fake_send(conn, &cb, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cb, &plainfd) == 0 && plainfd >= 0);
	FAKE_CHECK(f, cb.pio_cmd == PIOC_PLAINTEXT_CONNECT_V2 &&
		      cb.pio_cbid == 7 && cb.pio_reqid == reqid);
	FAKE_CHECK(f, write(plainfd, "hello", 5) == 5);
	strcpy(cmd.pio_data.pioc_starttls.localid, "me@example.org");
	memset(cmd.pio_data.pioc_starttls.ctlkey, 0, TLSPOOL_CTLKEYLEN);
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	FAKE_CHECK(f, read(plainfd, buf, 5) == 5 && memcmp(buf, "world", 5) == 0);
	close(plainfd);
}

static void test_starttls_socketpair(void **state)
{
	struct fake f;
	starttls_t st;
	int appfd, priv = -1;
	char buf[8];
	uint8_t zero[TLSPOOL_CTLKEYLEN] = { 0 };

	(void)state;
	fake_start(&f, serve_starttls_pair, 1);
	open_pool(&f);
	memset(&st, 0, sizeof(st));
	st.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		   PIOF_STARTTLS_REMOTEROLE_SERVER;
	strcpy(st.remoteid, "srv.example.org");
	appfd = tlspool_starttls(cs[0], &st, &priv, NULL);
	assert_true(appfd >= 0);
	assert_int_equal(priv, appfd);
	assert_string_equal(st.localid, "me@example.org");
	assert_memory_not_equal(st.ctlkey, zero, TLSPOOL_CTLKEYLEN);
	/* the daemon received our cryptfd ... */
	assert_int_equal(read(cs[1], buf, 5), 5);
	assert_memory_equal(buf, "crypt", 5);
	/* ... and the other end of our plaintext socketpair */
	assert_int_equal(read(appfd, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(write(appfd, "world", 5), 5);
	fake_join(&f, 0);
	assert_memory_equal(st.ctlkey, f.ctlkey, TLSPOOL_CTLKEYLEN);
	close(appfd);
}

/* ---- STARTTLS with LOCALID callback and namedconnect ---- */

struct named {
	int fd;			/* to hand to the daemon */
	char seen_remote[128];
	int calls;
	int fail;		/* return -1 with this errno */
};

static int named_cb(starttls_t *st, void *privdata)
{
	struct named *n = privdata;

	n->calls++;
	strcpy(n->seen_remote, st->remoteid);
	if (n->fail) {
		errno = n->fail;
		return -1;
	}
	/* As an ARPA2 application may: pick another local identity. */
	strcpy(st->localid, "alias@example.org");
	return dup(n->fd);
}

/* LOCALID_CHECK as the ARPA2 library does it: namedconnect sees the
 * proposal, changes the identity, and its fd accepts it (no separate
 * PLAINTEXT_CONNECT follows). */
static void serve_starttls_named(struct fake *f, int conn)
{
	struct tlspool_command cmd, cb;
	int cryptfd = -1, plainfd = -1;

	FAKE_CHECK(f, fake_recv(conn, &cmd, &cryptfd) == 0 && cryptfd >= 0);
	close(cryptfd);
	cb = fake_cb(&cmd, PIOC_STARTTLS_LOCALID_V2, 42);
	strcpy(cb.pio_data.pioc_starttls.remoteid, "cb.example.org");
	FAKE_CHECK(f, fake_send(conn, &cb, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cb, &plainfd) == 0 && plainfd >= 0);
	FAKE_CHECK(f, cb.pio_cmd == PIOC_STARTTLS_LOCALID_V2 &&
		      cb.pio_cbid == 42 && cb.pio_reqid == cmd.pio_reqid);
	FAKE_CHECK(f, strcmp(cb.pio_data.pioc_starttls.localid,
			     "alias@example.org") == 0);
	FAKE_CHECK(f, write(plainfd, "plain", 5) == 5);
	close(plainfd);
	strcpy(cmd.pio_data.pioc_starttls.localid, "alias@example.org");
	strcpy(cmd.pio_data.pioc_starttls.remoteid, "cb.example.org");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
}

static void test_starttls_named(void **state)
{
	struct fake f;
	struct named n = { 0 };
	starttls_t st;
	int ns[2];
	char buf[8];

	(void)state;
	fake_start(&f, serve_starttls_named, 1);
	open_pool(&f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, ns), 0);
	n.fd = ns[0];
	memset(&st, 0, sizeof(st));
	strcpy(st.localid, "client@example.org");
	st.flags = PIOF_STARTTLS_LOCALID_CHECK;
	memset(st.ctlkey, 0xab, sizeof(st.ctlkey));
	assert_int_equal(tlspool_starttls(cs[0], &st, &n, named_cb), 0);
	assert_int_equal(n.calls, 1);
	assert_string_equal(n.seen_remote, "cb.example.org");
	assert_string_equal(st.localid, "alias@example.org");
	assert_string_equal(st.remoteid, "cb.example.org");
	assert_int_equal(st.ctlkey[0], 0xab);	/* the app's key is kept */
	assert_int_equal(read(ns[1], buf, 5), 5);
	assert_memory_equal(buf, "plain", 5);
	fake_join(&f, 0);
	close(ns[0]);
	close(ns[1]);
}

/* ---- ERROR replies ---- */

static void serve_errors(struct fake *f, int conn)
{
	struct tlspool_command cmd, cb;

	/* 1: plain refusal */
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	codec_set_error(&cmd, EACCES, "policy says no");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	/* 2: tlserrno 0 */
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	codec_set_error(&cmd, 0, "unspecified");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	/* 3: namedconnect fails: an ERROR answer that keeps the cbid */
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	cb = fake_cb(&cmd, PIOC_PLAINTEXT_CONNECT_V2, 99);
	FAKE_CHECK(f, fake_send(conn, &cb, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cb, NULL) == 0);
	FAKE_CHECK(f, cb.pio_cmd == PIOC_ERROR_V2 && cb.pio_cbid == 99 &&
		      cb.pio_reqid == cmd.pio_reqid);
	FAKE_CHECK(f, cb.pio_data.pioc_error.tlserrno == ENETUNREACH);
	codec_set_error(&cmd, ECONNREFUSED, "no plaintext");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
}

static void test_errors(void **state)
{
	struct fake f;
	struct named n = { .fd = -1, .fail = ENETUNREACH };
	starttls_t st;
	pingpool_t p;

	(void)state;
	fake_start(&f, serve_errors, 1);
	open_pool(&f);
	memset(&st, 0, sizeof(st));
	assert_int_equal(tlspool_starttls(cs[0], &st, NULL, NULL), -1);
	assert_int_equal(errno, EACCES);
	assert_int_equal(client_ping("x", &p), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(tlspool_starttls(cs[0], &st, &n, named_cb), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(n.calls, 1);
	fake_join(&f, 0);
	/* argument checks need no daemon */
	assert_int_equal(tlspool_starttls(-1, &st, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
	memset(st.localid, 'x', sizeof(st.localid));
	assert_int_equal(tlspool_starttls(cs[0], &st, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---- lost connection and reconnect ---- */

static void serve_hangup(struct fake *f, int conn)
{
	struct tlspool_command cmd;

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	/* close without answering */
}

static void *delayed_start(void *arg)
{
	struct fake *f = arg;
	struct timespec ts = { 0, 200000000L };

	nanosleep(&ts, NULL);
	f->serve = serve_ping;
	f->nconn = 1;
	if (fake_listen(f) < 0)
		strcpy(f->fail, "delayed listen failed");
	else
		fake_main(f);
	return NULL;
}

static void test_reconnect(void **state)
{
	struct fake f;
	pingpool_t p;
	pthread_t thr;

	(void)state;
	fake_start(&f, serve_hangup, 1);
	open_pool(&f);
	assert_int_equal(client_ping(TLSPOOL_IDENTITY_V2, &p), -1);
	assert_int_equal(errno, ECONNRESET);
	fake_join(&f, 1);
	/* the daemon is back at the same path */
	fake_run(&f, serve_ping, 1);
	assert_int_equal(client_ping(TLSPOOL_IDENTITY_V2, &p), 0);
	assert_string_equal(p.YYYYMMDD_producer, "20250101fake@test");
	fake_join(&f, 1);
	/* the daemon comes back only after a while: back-off, no error */
	assert_int_equal(pthread_create(&thr, NULL, delayed_start, &f), 0);
	assert_int_equal(client_ping(TLSPOOL_IDENTITY_V2, &p), 0);
	assert_string_equal(p.YYYYMMDD_producer, "20250101fake@test");
	pthread_join(thr, NULL);
	close(f.lfd);
	unlink(f.path);
	rmdir(f.dir);
	if (f.fail[0] != '\0')
		fail_msg("fake daemon: %s", f.fail);
}

/* ---- concurrent requests, answered out of order ---- */

#define NTHREADS 4
#define ROUNDS 100

/* Every round all threads have one ping outstanding; the fake answers
 * them in reverse order of arrival. */
static void serve_concurrent(struct fake *f, int conn)
{
	struct tlspool_command cmd[NTHREADS];

	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < NTHREADS; i++) {
			FAKE_CHECK(f, fake_recv(conn, &cmd[i], NULL) == 0);
			for (int j = 0; j < i; j++)
				FAKE_CHECK(f, cmd[j].pio_reqid != cmd[i].pio_reqid);
		}
		for (int i = NTHREADS - 1; i >= 0; i--) {
			char who[64];

			snprintf(who, sizeof(who), "re:%.32s",
				 cmd[i].pio_data.pioc_ping.YYYYMMDD_producer);
			fake_ping_reply(&cmd[i], who, PIOF_FACILITY_STARTTLS);
			FAKE_CHECK(f, fake_send(conn, &cmd[i], -1) == 0);
		}
	}
}

struct worker {
	int n, rounds, rc;
	char got[136];
};

static void *ping_worker(void *arg)
{
	struct worker *w = arg;

	w->rc = 0;
	for (int i = 0; i < w->rounds && w->rc == 0; i++) {
		pingpool_t p;
		char who[32], want[40];

		snprintf(who, sizeof(who), "t%d-%d", w->n, i);
		snprintf(want, sizeof(want), "re:%s", who);
		if (client_ping(who, &p) < 0)
			w->rc = -1;
		else if (w->n >= 0 && strcmp(p.YYYYMMDD_producer, want) != 0)
			w->rc = -2;
		strcpy(w->got, p.YYYYMMDD_producer);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fake f;
	struct worker w[NTHREADS];
	pthread_t thr[NTHREADS];

	(void)state;
	fake_start(&f, serve_concurrent, 1);
	open_pool(&f);
	for (int i = 0; i < NTHREADS; i++) {
		w[i].n = i;
		w[i].rounds = ROUNDS;
		assert_int_equal(pthread_create(&thr[i], NULL, ping_worker,
						&w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(thr[i], NULL);
		assert_int_equal(w[i].rc, 0);
	}
	fake_join(&f, 0);
}

/* A STARTTLS with a callback in flight while a ping is answered. */
static void serve_interleaved(struct fake *f, int conn)
{
	struct tlspool_command m[2], cb, *st, *ping;
	int fd[2] = { -1, -1 }, plainfd = -1;

	FAKE_CHECK(f, fake_recv(conn, &m[0], &fd[0]) == 0);
	FAKE_CHECK(f, fake_recv(conn, &m[1], &fd[1]) == 0);
	FAKE_CHECK(f, (fd[0] >= 0) != (fd[1] >= 0));	/* STARTTLS only */
	close(fd[0] >= 0 ? fd[0] : fd[1]);
	st = &m[m[0].pio_cmd == PIOC_PING_V2];
	ping = &m[m[0].pio_cmd != PIOC_PING_V2];
	FAKE_CHECK(f, st->pio_cmd == PIOC_STARTTLS_V2 &&
		      ping->pio_cmd == PIOC_PING_V2);
	cb = fake_cb(st, PIOC_PLAINTEXT_CONNECT_V2, 5);
	FAKE_CHECK(f, fake_send(conn, &cb, -1) == 0);
	fake_ping_reply(ping, "pong", PIOF_FACILITY_STARTTLS);
	FAKE_CHECK(f, fake_send(conn, ping, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cb, &plainfd) == 0 && plainfd >= 0);
	FAKE_CHECK(f, cb.pio_cbid == 5 && cb.pio_reqid == st->pio_reqid);
	close(plainfd);
	FAKE_CHECK(f, fake_send(conn, st, -1) == 0);
}

static void *starttls_worker(void *arg)
{
	starttls_t st;

	memset(&st, 0, sizeof(st));
	*(int *)arg = tlspool_starttls(cs[0], &st, NULL, NULL);
	return NULL;
}

static void test_interleaved(void **state)
{
	struct fake f;
	struct worker pw = { .n = -1, .rounds = 1 };
	pthread_t t1, t2;
	int rc;

	(void)state;
	fake_start(&f, serve_interleaved, 1);
	open_pool(&f);
	assert_int_equal(pthread_create(&t1, NULL, starttls_worker, &rc), 0);
	assert_int_equal(pthread_create(&t2, NULL, ping_worker, &pw), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	fake_join(&f, 0);
	assert_true(rc >= 0);
	assert_int_equal(pw.rc, 0);
	assert_string_equal(pw.got, "pong");
	close(rc);
}

/* ---- malformed replies ---- */

static void serve_malformed(struct fake *f, int conn)
{
	struct tlspool_command cmd, other;

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	cmd.pio_cmd = 0x77;		/* unknown command */
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	/* a string without its NUL */
	fake_ping_reply(&cmd, "x", PIOF_FACILITY_STARTTLS);
	memset(cmd.pio_data.pioc_ping.YYYYMMDD_producer, 'A',
	       sizeof(cmd.pio_data.pioc_ping.YYYYMMDD_producer));
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	/* a reply for nobody is dropped, then the real one */
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	other = cmd;
	other.pio_reqid = (uint16_t)(cmd.pio_reqid + 100);
	fake_ping_reply(&other, "stray", PIOF_FACILITY_STARTTLS);
	FAKE_CHECK(f, fake_send(conn, &other, -1) == 0);
	fake_ping_reply(&cmd, "fine", PIOF_FACILITY_STARTTLS);
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	/* SUCCESS is not an answer to PING */
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	memset(&cmd.pio_data, 0, sizeof(cmd.pio_data));
	cmd.pio_cmd = PIOC_SUCCESS_V2;
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
}

static void test_malformed(void **state)
{
	struct fake f;
	pingpool_t p;

	(void)state;
	fake_start(&f, serve_malformed, 1);
	open_pool(&f);
	assert_int_equal(client_ping("a", &p), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(client_ping("b", &p), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(client_ping("c", &p), 0);
	assert_string_equal(p.YYYYMMDD_producer, "fine");
	assert_int_equal(client_ping("d", &p), -1);
	assert_int_equal(errno, EPROTO);
	fake_join(&f, 0);
}

/* ---- PRNG, INFO, control ---- */

static const uint8_t key[TLSPOOL_CTLKEYLEN] = "0123456789abcdef";
static char label[] = "EXPERIMENTAL-test";

static void serve_prng_info(struct fake *f, int conn)
{
	struct tlspool_command cmd;
	struct pioc_prng *pr = &cmd.pio_data.pioc_prng;
	struct pioc_info *inf = &cmd.pio_data.pioc_info;
	size_t l1 = strlen(label);

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_PRNG_V2 && pr->in1_len == (int)l1);
	FAKE_CHECK(f, pr->in2_len == 5 && pr->prng_len == 32);
	FAKE_CHECK(f, memcmp(pr->buffer, key, 16) == 0 &&
		      memcmp(pr->buffer + 16, label, l1) == 0 &&
		      memcmp(pr->buffer + 16 + l1, "ctx\0z", 5) == 0);
	for (int i = 0; i < 32; i++)
		pr->buffer[i] = (uint8_t)(i * 3);
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, pr->in2_len == -1 && pr->prng_len == 350);
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	/* INFO query */
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_INFO_V2 &&
		      inf->len == PIOK_INFO_LEN_QUERY &&
		      inf->info_kind == PIOK_INFO_PEERCERT_SUBJECT &&
		      memcmp(inf->ctlkey, key, 16) == 0);
	inf->len = 5;
	memcpy(inf->buffer, "CN=x!", 5);
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	/* control detach: success; reattach: refused */
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_CONTROL_DETACH_V2 &&
		      memcmp(cmd.pio_data.pioc_control.ctlkey, key, 16) == 0);
	memset(&cmd.pio_data, 0, sizeof(cmd.pio_data));
	cmd.pio_cmd = PIOC_SUCCESS_V2;
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_CONTROL_REATTACH_V2);
	codec_set_error(&cmd, ENOENT, "no such connection");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
}

static void test_prng_info_control(void **state)
{
	struct fake f;
	uint8_t k[16], out[TLSPOOL_PRNGBUFLEN], info[TLSPOOL_INFOBUFLEN];
	char big[400];
	uint16_t len = PIOK_INFO_LEN_QUERY;

	(void)state;
	memcpy(k, key, sizeof(k));
	/* argument checks need no daemon */
	memset(big, 'l', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(tlspool_prng(big, 0, NULL, 16, out, k), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tlspool_prng(label, 0, NULL, 351, out, k), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tlspool_prng(label, 330, (uint8_t *)big, 16, out, k),
			 -1);
	assert_int_equal(errno, EINVAL);

	fake_start(&f, serve_prng_info, 1);
	open_pool(&f);
	assert_int_equal(tlspool_prng(label, 5, (uint8_t *)"ctx\0z", 32, out, k),
			 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(out[i], (uint8_t)(i * 3));
	assert_int_equal(tlspool_prng(label, 0, NULL, 350, out, k), 0);
	assert_int_equal(tlspool_info(PIOK_INFO_PEERCERT_SUBJECT, info, &len,
				      k), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(info, "CN=x!", 5);
	assert_int_equal(tlspool_control_detach(k), 0);
	assert_int_equal(tlspool_control_reattach(k), -1);
	assert_int_equal(errno, ENOENT);
	fake_join(&f, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_path),
		cmocka_unit_test(test_ping),
		cmocka_unit_test_setup_teardown(test_starttls_socketpair,
						cs_setup, cs_teardown),
		cmocka_unit_test_setup_teardown(test_starttls_named, cs_setup,
						cs_teardown),
		cmocka_unit_test_setup_teardown(test_errors, cs_setup,
						cs_teardown),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test_setup_teardown(test_interleaved, cs_setup,
						cs_teardown),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_prng_info_control),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

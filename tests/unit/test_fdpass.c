/* Unit tests for lib/fdpass over socketpairs: fds that arrive and work,
 * surplus fds closed, short reads, EOF, EAGAIN, EPIPE without SIGPIPE. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "fdpass.h"

#define MSGLEN 388

struct pair {
	int s[2];
};

static int setup_pair(void **state)
{
	struct pair *p = malloc(sizeof(*p));

	if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, p->s) < 0) {
		free(p);
		return -1;
	}
	*state = p;
	return 0;
}

static int teardown_pair(void **state)
{
	struct pair *p = *state;

	if (p->s[0] >= 0)
		close(p->s[0]);
	if (p->s[1] >= 0)
		close(p->s[1]);
	free(p);
	return 0;
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 7);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reading end of a pipe sees EOF (all writers closed) without blocking. */
static int pipe_at_eof(int rfd)
{
	char c;
	int fl = fcntl(rfd, F_GETFL);
	ssize_t n;

	fcntl(rfd, F_SETFL, fl | O_NONBLOCK);
	n = read(rfd, &c, 1);
	fcntl(rfd, F_SETFL, fl);
	return n == 0;
}

static void test_fd_arrives_and_works(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int pfd[2], fd = -1;
	char buf[16];

	fill(out, sizeof(out), 1);
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(fdpass_send(p->s[0], out, sizeof(out), pfd[1]), 0);
	close(pfd[1]);
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	assert_memory_equal(in, out, sizeof(out));
	assert_true(fd >= 0);
	/* received close-on-exec */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* it is the pipe's write end: data goes through */
	assert_int_equal(write(fd, "hello", 5), 5);
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	/* and it was the only writer left */
	close(fd);
	assert_true(pipe_at_eof(pfd[0]));
	close(pfd[0]);
}

static void test_no_fd(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int fd = -1;
	int before = count_open_fds();

	fill(out, sizeof(out), 2);
	assert_int_equal(fdpass_send(p->s[0], out, sizeof(out), -1), 0);
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	assert_int_equal(fd, -1);
	assert_memory_equal(in, out, sizeof(out));
	/* a NULL fd pointer is fine when nothing arrives */
	assert_int_equal(fdpass_send(p->s[0], out, sizeof(out), -1), 0);
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), NULL), MSGLEN);
	assert_int_equal(count_open_fds(), before);
}

/* Send len bytes with n fds in one SCM_RIGHTS message. */
static void send_fds(int sock, const void *buf, size_t len, const int *fds,
		     size_t n)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(8 * sizeof(int))];
	} anc;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = anc.space,
			      .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c;

	assert_true(n <= 8);
	memset(&anc, 0, sizeof(anc));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t)len);
}

/* n pipes; their write ends travel in one message; only the first may
 * survive on the receiving side. */
static void many_fds(struct pair *p, size_t n)
{
	unsigned char out[MSGLEN], in[MSGLEN];
	int rd[8], wr[8];
	int fd = -1, before;
	char c;

	fill(out, sizeof(out), 3);
	for (size_t i = 0; i < n; i++) {
		int pfd[2];

		assert_int_equal(pipe(pfd), 0);
		rd[i] = pfd[0];
		wr[i] = pfd[1];
	}
	send_fds(p->s[0], out, sizeof(out), wr, n);
	for (size_t i = 0; i < n; i++)
		close(wr[i]);
	before = count_open_fds();
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	assert_memory_equal(in, out, sizeof(out));
	assert_true(fd >= 0);
	/* exactly one new descriptor */
	assert_int_equal(count_open_fds(), before + 1);
	/* the first one is kept and works */
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(read(rd[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	/* the others were closed: their pipes have no writer left */
	for (size_t i = 1; i < n; i++)
		assert_true(pipe_at_eof(rd[i]));
	close(fd);
	for (size_t i = 0; i < n; i++)
		close(rd[i]);
}

static void test_two_fds(void **state)
{
	many_fds(*state, 2);
}

/* More than fit the receiver's control buffer (MSG_CTRUNC). */
static void test_eight_fds(void **state)
{
	many_fds(*state, 8);
}

static void test_fd_when_already_set(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int a[2], b[2], fd, before;

	fill(out, sizeof(out), 4);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	/* first message: fd a[1] */
	assert_int_equal(fdpass_send(p->s[0], out, sizeof(out), a[1]), 0);
	/* second message: fd b[1] */
	assert_int_equal(fdpass_send(p->s[0], out, sizeof(out), b[1]), 0);
	close(a[1]);
	close(b[1]);
	fd = -1;
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	assert_true(fd >= 0);
	before = count_open_fds();
	/* *fd already set: the incoming one is closed, fd unchanged */
	{
		int keep = fd;

		assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd),
				 MSGLEN);
		assert_int_equal(fd, keep);
	}
	assert_int_equal(count_open_fds(), before);
	assert_true(pipe_at_eof(b[0]));
	assert_false(pipe_at_eof(a[0]));
	close(fd);
	assert_true(pipe_at_eof(a[0]));
	close(a[0]);
	close(b[0]);
}

/* With fd == NULL every received descriptor is closed. */
static void test_fd_pointer_null(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int a[2], before;

	fill(out, sizeof(out), 5);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(fdpass_send(p->s[0], out, sizeof(out), a[1]), 0);
	close(a[1]);
	before = count_open_fds();
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), NULL), MSGLEN);
	assert_int_equal(count_open_fds(), before);
	assert_true(pipe_at_eof(a[0]));
	close(a[0]);
}

struct writer {
	int sock;
	int fd;
	const unsigned char *buf;
	size_t cuts[4];
	size_t ncuts;
	int rc;
};

/* Writes buf in pieces cut at w->cuts, pausing between pieces; the fd
 * goes with the first piece. */
static void *piecewise_writer(void *arg)
{
	struct writer *w = arg;
	size_t start = 0;

	w->rc = 0;
	for (size_t i = 0; i <= w->ncuts; i++) {
		size_t end = i < w->ncuts ? w->cuts[i] : MSGLEN;
		int rc;

		rc = fdpass_send(w->sock, w->buf + start, end - start,
				 i == 0 ? w->fd : -1);
		if (rc < 0) {
			w->rc = rc;
			break;
		}
		start = end;
		if (i < w->ncuts)
			sleep_ms(30);
	}
	return NULL;
}

static void test_short_reads(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	struct writer w = { .sock = p->s[0], .fd = -1, .buf = out,
			    .cuts = { 100, 250 }, .ncuts = 2 };
	pthread_t t;
	int fd = -1;

	fill(out, sizeof(out), 6);
	memset(in, 0, sizeof(in));
	assert_int_equal(pthread_create(&t, NULL, piecewise_writer, &w), 0);
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(fd, -1);
	assert_memory_equal(in, out, sizeof(out));
}

/* Same, with an fd on the first piece and one-byte pieces at the ends. */
static void test_short_reads_with_fd(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int pfd[2];
	struct writer w = { .sock = p->s[0], .buf = out,
			    .cuts = { 1, 200, 387 }, .ncuts = 3 };
	pthread_t t;
	int fd = -1;
	char c;

	assert_int_equal(pipe(pfd), 0);
	w.fd = pfd[1];
	fill(out, sizeof(out), 7);
	assert_int_equal(pthread_create(&t, NULL, piecewise_writer, &w), 0);
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	pthread_join(t, NULL);
	close(pfd[1]);
	assert_int_equal(w.rc, 0);
	assert_memory_equal(in, out, sizeof(out));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "y", 1), 1);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(fd);
	assert_true(pipe_at_eof(pfd[0]));
	close(pfd[0]);
}

/* Two messages back to back are read one at a time, each with its fd. */
static void test_back_to_back(void **state)
{
	struct pair *p = *state;
	unsigned char m1[MSGLEN], m2[MSGLEN], in[MSGLEN];
	int a[2], b[2], fd;
	char c;

	fill(m1, sizeof(m1), 8);
	fill(m2, sizeof(m2), 9);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	assert_int_equal(fdpass_send(p->s[0], m1, sizeof(m1), a[1]), 0);
	assert_int_equal(fdpass_send(p->s[0], m2, sizeof(m2), b[1]), 0);
	close(a[1]);
	close(b[1]);
	fd = -1;
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	assert_memory_equal(in, m1, sizeof(m1));
	assert_int_equal(write(fd, "1", 1), 1);
	assert_int_equal(read(a[0], &c, 1), 1);
	close(fd);
	fd = -1;
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), MSGLEN);
	assert_memory_equal(in, m2, sizeof(m2));
	assert_int_equal(write(fd, "2", 1), 1);
	assert_int_equal(read(b[0], &c, 1), 1);
	assert_int_equal(c, '2');
	close(fd);
	close(a[0]);
	close(b[0]);
}

static void test_eof_before_message(void **state)
{
	struct pair *p = *state;
	unsigned char in[MSGLEN];
	int fd = -1;

	close(p->s[0]);
	p->s[0] = -1;
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(fdpass_recv_some(p->s[1], in, sizeof(in), &fd), 0);
}

static void test_eof_inside_message(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int fd = -1;

	fill(out, sizeof(out), 10);
	assert_int_equal(fdpass_send(p->s[0], out, 100, -1), 0);
	close(p->s[0]);
	p->s[0] = -1;
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), -EPIPE);
	assert_int_equal(fd, -1);
	assert_memory_equal(in, out, 100);
}

/* A truncated message that carried an fd: the fd is handed over in *fd
 * and the caller closes it. */
static void test_eof_inside_message_with_fd(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int a[2], fd = -1;

	fill(out, sizeof(out), 11);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(fdpass_send(p->s[0], out, 387, a[1]), 0);
	close(a[1]);
	close(p->s[0]);
	p->s[0] = -1;
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), -EPIPE);
	assert_true(fd >= 0);
	close(fd);
	assert_true(pipe_at_eof(a[0]));
	close(a[0]);
}

static void test_recv_some_partial(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN], in[MSGLEN];
	int fd = -1;

	fill(out, sizeof(out), 12);
	assert_int_equal(fdpass_send(p->s[0], out, 50, -1), 0);
	assert_int_equal(fdpass_recv_some(p->s[1], in, sizeof(in), &fd), 50);
	assert_memory_equal(in, out, 50);
	assert_int_equal(fd, -1);
}

static void test_nonblocking_empty(void **state)
{
	struct pair *p = *state;
	unsigned char in[MSGLEN];
	int fd = -1;
	int fl = fcntl(p->s[1], F_GETFL);

	assert_int_equal(fcntl(p->s[1], F_SETFL, fl | O_NONBLOCK), 0);
	assert_int_equal(fdpass_recv(p->s[1], in, sizeof(in), &fd), -EAGAIN);
	assert_int_equal(fdpass_recv_some(p->s[1], in, sizeof(in), &fd),
			 -EAGAIN);
	assert_int_equal(fd, -1);
	/* MSG_DONTWAIT-free path still works once data is there */
	assert_int_equal(fdpass_send(p->s[0], "abc", 3, -1), 0);
	assert_int_equal(fdpass_recv_some(p->s[1], in, sizeof(in), &fd), 3);
}

static void test_send_bad_socket(void **state)
{
	int fds[2];

	(void)state;
	assert_int_equal(fdpass_send(-1, "x", 1, -1), -EBADF);
	/* a pipe is not a socket */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(fdpass_send(fds[1], "x", 1, -1), -ENOTSOCK);
	close(fds[0]);
	close(fds[1]);
	/* passing a closed descriptor fails at the sender */
	{
		struct pair *p = *state;
		int dead[2];

		assert_int_equal(pipe(dead), 0);
		close(dead[0]);
		close(dead[1]);
		assert_int_equal(fdpass_send(p->s[0], "x", 1, dead[1]),
				 -EBADF);
	}
}

static int sigpipe_pending(void)
{
	sigset_t set;

	sigpending(&set);
	return sigismember(&set, SIGPIPE);
}

static void test_send_closed_peer(void **state)
{
	struct pair *p = *state;
	unsigned char out[MSGLEN];
	sigset_t block, old;
	struct timespec zero = { 0, 0 };
	int pfd[2], rc1, rc2, was_pending, had_pending;

	fill(out, sizeof(out), 13);
	close(p->s[1]);
	p->s[1] = -1;
	assert_int_equal(pipe(pfd), 0);
	/* Block SIGPIPE so that a raised one stays pending and is seen;
	 * take it before unblocking, then check. */
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
	had_pending = sigpipe_pending();
	rc1 = fdpass_send(p->s[0], out, sizeof(out), -1);
	rc2 = fdpass_send(p->s[0], out, sizeof(out), pfd[1]);
	was_pending = sigpipe_pending();
	while (sigpipe_pending())
		sigtimedwait(&block, NULL, &zero);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_false(had_pending);
	assert_int_equal(rc1, -EPIPE);
	assert_int_equal(rc2, -EPIPE);
	assert_false(was_pending);
}

/* A non-blocking socket that is full before the first byte. */
static void test_send_full_nonblocking(void **state)
{
	struct pair *p = *state;
	int fl = fcntl(p->s[0], F_GETFL);
	int rc, n = 0;

	assert_int_equal(fcntl(p->s[0], F_SETFL, fl | O_NONBLOCK), 0);
	/* One byte at a time cannot be split: fill until refused. */
	while ((rc = fdpass_send(p->s[0], "z", 1, -1)) == 0)
		assert_true(++n < 10000000);
	assert_int_equal(rc, -EAGAIN);
	assert_true(n > 0);
}

struct drainer {
	int sock;
	size_t want;
	unsigned char *buf;
	ssize_t got;
};

static void *slow_drainer(void *arg)
{
	struct drainer *d = arg;
	size_t done = 0;

	while (done < d->want) {
		ssize_t n;

		sleep_ms(1);
		n = read(d->sock, d->buf + done, 4096);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	d->got = (ssize_t)done;
	return NULL;
}

/* A non-blocking send that fills the socket mid-message finishes the
 * message instead of leaving half a struct on the stream. */
static void test_send_nonblocking_completes(void **state)
{
	struct pair *p = *state;
	const size_t len = 256 * 1024;
	unsigned char *out = malloc(len), *in = malloc(len);
	int fl = fcntl(p->s[0], F_GETFL);
	int small = 4096;
	struct drainer d = { .sock = p->s[1], .want = len, .buf = in };
	pthread_t t;

	assert_non_null(out);
	assert_non_null(in);
	fill(out, len, 14);
	setsockopt(p->s[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	assert_int_equal(fcntl(p->s[0], F_SETFL, fl | O_NONBLOCK), 0);
	assert_int_equal(pthread_create(&t, NULL, slow_drainer, &d), 0);
	assert_int_equal(fdpass_send(p->s[0], out, len, -1), 0);
	pthread_join(t, NULL);
	assert_int_equal(d.got, (ssize_t)len);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
}

/* A whole command survives the trip and passes the codec. */
static void test_command_roundtrip(void **state)
{
	struct pair *p = *state;
	struct tlspool_command out, in;
	int fd = -1, a[2];
	char why[128];

	memset(&out, 0, sizeof(out));
	out.pio_reqid = 42;
	out.pio_cmd = PIOC_STARTTLS_V2;
	strcpy(out.pio_data.pioc_starttls.localid, "me@example.com");
	assert_int_equal(pipe(a), 0);
	assert_int_equal(fdpass_send(p->s[0], &out, sizeof(out), a[0]), 0);
	close(a[0]);
	assert_int_equal(fdpass_recv(p->s[1], &in, sizeof(in), &fd),
			 (ssize_t)sizeof(in));
	assert_int_equal(codec_check(&in, sizeof(in), CODEC_TO_DAEMON, why,
				     sizeof(why)), 0);
	assert_int_equal(in.pio_reqid, 42);
	assert_string_equal(in.pio_data.pioc_starttls.localid,
			    "me@example.com");
	assert_true(fd >= 0);
	close(fd);
	close(a[1]);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fd_arrives_and_works),
		T(test_no_fd),
		T(test_two_fds),
		T(test_eight_fds),
		T(test_fd_when_already_set),
		T(test_fd_pointer_null),
		T(test_short_reads),
		T(test_short_reads_with_fd),
		T(test_back_to_back),
		T(test_eof_before_message),
		T(test_eof_inside_message),
		T(test_eof_inside_message_with_fd),
		T(test_recv_some_partial),
		T(test_nonblocking_empty),
		T(test_send_bad_socket),
		T(test_send_closed_peer),
		T(test_send_full_nonblocking),
		T(test_send_nonblocking_completes),
		T(test_command_roundtrip),
	};

	/* SIGPIPE keeps its default action: a send that raised it would
	 * kill the test. */
	signal(SIGPIPE, SIG_DFL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

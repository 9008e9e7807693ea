/* bench_server -- the GnuTLS server every measurement talks to.
 *
 * Threaded mode: `threads` blocking accept loops on one listening
 * socket, each serving one connection at a time (bulk and handshakes).
 * Epoll mode: one thread, non-blocking handshakes, then the connection
 * idles until the peer goes (the memory measurement).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4 */
#endif
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct bench_server {
	const struct bench_tls *t;
	int lfd;
	unsigned n;
	pthread_t *thr;
};

static atomic_int server_complained;

static void server_complain(const char *what, int rc)
{
	if (atomic_exchange(&server_complained, 1) == 0)
		fprintf(stderr, "tlsbench server: %s: %s (further failures "
			"not shown)\n", what, gnutls_strerror(rc));
}

/* Print each distinct negotiated parameter set once, on stdout after
 * the port line, so a run shows that every path used the same suite. */
static void server_note(gnutls_session_t s)
{
	static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
	static char *seen[8];
	char *desc = gnutls_session_get_desc(s);
	unsigned i;

	if (desc == NULL)
		return;
	pthread_mutex_lock(&mtx);
	for (i = 0; i < 8 && seen[i] != NULL; i++)
		if (strcmp(seen[i], desc) == 0)
			break;
	if (i < 8 && seen[i] == NULL) {
		seen[i] = strdup(desc);
		printf("negotiated %s\n", desc);
		fflush(stdout);
	}
	pthread_mutex_unlock(&mtx);
	gnutls_free(desc);
}

static int server_upload(gnutls_session_t s, unsigned char *buf, uint64_t n)
{
	unsigned char ack = BENCH_ACK;

	while (n > 0) {
		size_t chunk = n < BENCH_CHUNK ? (size_t)n : BENCH_CHUNK;

		if (bench_tls_recv_all(s, buf, chunk) != (long)chunk)
			return -1;
		n -= chunk;
	}
	return bench_tls_send_all(s, &ack, 1);
}

static int server_download(gnutls_session_t s, unsigned char *buf,
			   uint64_t n)
{
	while (n > 0) {
		size_t chunk = n < BENCH_CHUNK ? (size_t)n : BENCH_CHUNK;

		if (bench_tls_send_all(s, buf, chunk) < 0)
			return -1;
		n -= chunk;
	}
	return 0;
}

void bench_server_conn(const struct bench_tls *t, int fd)
{
	unsigned char hdr[BENCH_HDR_LEN], *buf = NULL;
	gnutls_session_t s = bench_tls_server_session(t, fd);
	uint64_t n;
	char op;
	int rc;

	if (s == NULL)
		goto out;
	rc = bench_tls_handshake(s);
	if (rc < 0) {
		server_complain("handshake", rc);
		goto out;
	}
	server_note(s);
	while (bench_tls_recv_all(s, hdr, sizeof(hdr)) == (long)sizeof(hdr)) {
		bench_hdr_decode(hdr, &op, &n);
		if (buf == NULL) {
			buf = calloc(1, BENCH_CHUNK);
			if (buf == NULL)
				break;
		}
		if (op == BENCH_OP_UP)
			rc = server_upload(s, buf, n);
		else if (op == BENCH_OP_DOWN)
			rc = server_download(s, buf, n);
		else
			rc = -1;
		if (rc < 0)
			break;
	}
out:
	free(buf);
	if (s != NULL)
		gnutls_deinit(s);
	close(fd);
}

static void *server_thread(void *arg)
{
	struct bench_server *srv = arg;

	for (;;) {
		int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				bench_sleep(0.01);
				continue;
			}
			break;	/* shut down */
		}
		bench_server_conn(srv->t, fd);
	}
	return NULL;
}

int bench_server_start(const struct bench_tls *t, unsigned threads,
		       uint16_t *port, struct bench_server **out)
{
	struct bench_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return -1;
	srv->t = t;
	srv->thr = calloc(threads ? threads : 1, sizeof(*srv->thr));
	srv->lfd = srv->thr ? bench_listen_any(port) : -1;
	if (srv->lfd < 0)
		goto fail;
	for (srv->n = 0; srv->n < (threads ? threads : 1); srv->n++)
		if (pthread_create(&srv->thr[srv->n], NULL, server_thread,
				   srv) != 0)
			break;
	if (srv->n == 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	if (srv->lfd >= 0)
		close(srv->lfd);
	free(srv->thr);
	free(srv);
	return -1;
}

/* shutdown() wakes every thread blocked in accept(). */
void bench_server_stop(struct bench_server *srv)
{
	if (srv == NULL)
		return;
	shutdown(srv->lfd, SHUT_RDWR);
	for (unsigned i = 0; i < srv->n; i++)
		pthread_join(srv->thr[i], NULL);
	close(srv->lfd);
	free(srv->thr);
	free(srv);
}

/* ---- epoll mode --------------------------------------------------------- */

struct econn {
	int fd;
	int established;
	gnutls_session_t s;
};

static void econn_close(int ep, struct econn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->s != NULL)
		gnutls_deinit(c->s);
	close(c->fd);
	free(c);
}

static void econn_want(int ep, struct econn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void econn_step(int ep, struct econn *c)
{
	char buf[512];
	int rc;

	if (!c->established) {
		rc = gnutls_handshake(c->s);
		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
			econn_want(ep, c, gnutls_record_get_direction(c->s) ?
				   EPOLLOUT : EPOLLIN);
			return;
		}
		if (rc < 0) {
			server_complain("handshake", rc);
			econn_close(ep, c);
			return;
		}
		c->established = 1;
		server_note(c->s);
		econn_want(ep, c, EPOLLIN);
	}
	for (;;) {	/* idle: discard anything, notice the end */
		ssize_t n = gnutls_record_recv(c->s, buf, sizeof(buf));

		if (n > 0)
			continue;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return;
		econn_close(ep, c);
		return;
	}
}

static void econn_accept(int ep, const struct bench_tls *t, int lfd)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct econn *c;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				fprintf(stderr, "tlsbench server: accept: %s\n",
					strerror(errno));
				bench_sleep(0.01);
			}
			return;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->s = bench_tls_server_session(t, fd);
		ev.data.ptr = c;
		if (c->s == NULL || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			if (c->s != NULL)
				gnutls_deinit(c->s);
			close(fd);
			free(c);
			continue;
		}
		econn_step(ep, c);
	}
}

int bench_server_epoll(const struct bench_tls *t, int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct epoll_event evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		fprintf(stderr, "tlsbench server: epoll: %s\n", strerror(errno));
		return -1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "tlsbench server: epoll_wait: %s\n",
				strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				econn_accept(ep, t, lfd);
			else
				econn_step(ep, evs[i].data.ptr);
		}
	}
}

/* tlsbench serve: print "port N" on stdout, then serve until killed. */
int cmd_serve(const struct bench_opts *o)
{
	struct bench_tls t;
	struct bench_server *srv = NULL;
	uint16_t port = 0;
	int lfd;

	bench_raise_nofile();
	if (bench_tls_load(&t, o) < 0)
		return 1;
	if (o->epoll) {
		lfd = bench_listen_any(&port);
		if (lfd < 0)
			return 1;
		printf("port %u\n", port);
		fflush(stdout);
		return bench_server_epoll(&t, lfd) < 0 ? 1 : 0;
	}
	if (bench_server_start(&t, o->threads ? o->threads : 1, &port,
			       &srv) < 0)
		return 1;
	printf("port %u\n", port);
	fflush(stdout);
	for (;;)
		pause();
}

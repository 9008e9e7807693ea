/* echo_server -- an epoll echo backend on 127.0.0.1 for the scenarios.
 *
 * usage: echo_server [PORT]   (0 or none: any free port)
 * Prints "echo_server: listening on 127.0.0.1:PORT" on stderr, echoes
 * every byte back with back-pressure (a connection is not read while its
 * echo is pending), passes a half close on, and runs until SIGTERM or
 * SIGINT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, pipe2 */
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

#define BUFSZ 16384

struct conn {
	int fd;
	size_t len, off;	/* pending echo: buf[off..len) */
	int eof;
	char buf[BUFSZ];
};

static int ep;

static void conn_close(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static int conn_watch(struct conn *c)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = c->len > c->off ? EPOLLOUT : (c->eof ? 0 : EPOLLIN);
	ev.data.ptr = c;
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* 0: keep, -1: closed */
static int conn_step(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->len > c->off) {
			n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n < 0)
				goto gone;
			c->off += (size_t)n;
			continue;
		}
		c->off = c->len = 0;
		if (c->eof) {
			shutdown(c->fd, SHUT_WR);
			goto gone;
		}
		n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			goto gone;
		if (n == 0) {
			c->eof = 1;
			continue;
		}
		c->len = (size_t)n;
	}
	if (conn_watch(c) < 0)
		goto gone;
	return 0;
gone:
	conn_close(c);
	return -1;
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "echo_server: accept: %s\n",
					strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
		}
	}
}

int main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	int lfd, sfd, port = 0;
	sigset_t set;

	tu_raise_nofile(65536);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	lfd = tu_listen_tcp(argc > 1 ? atoi(argv[1]) : 0, 4096, &port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || lfd < 0 || ep < 0) {
		fprintf(stderr, "echo_server: setup: %s\n", strerror(errno));
		return 1;
	}
	tu_set_nonblock(lfd);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	fprintf(stderr, "echo_server: listening on 127.0.0.1:%d\n", port);
	fflush(stderr);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all(lfd);
			else if (evs[i].data.ptr == &sfd)
				return 0;
			else
				conn_step(evs[i].data.ptr);
		}
	}
}

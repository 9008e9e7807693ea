/* tunnel_posix -- tlstunnel's platform part on POSIX. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4 */
#endif
#include "tunnel_plat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

int tunnel_plat_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int tunnel_plat_socket(int family, int type, int protocol)
{
	return socket(family, type | SOCK_CLOEXEC, protocol);
}

int tunnel_plat_listen(int fd, const struct sockaddr *addr, socklen_t len)
{
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, addr, len) != 0 || listen(fd, 128) != 0)
		return -1;
	return 0;
}

int tunnel_plat_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return connect(fd, addr, len);
}

int tunnel_plat_accept(int lfd)
{
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

int tunnel_plat_dup(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

void tunnel_plat_close(int fd)
{
	close(fd);
}

/* ---- --stdio: copy between stdin/stdout and the plaintext socket ---- */

struct tunnel_dir {
	int in, out;
	char buf[16384];
	size_t len, off;
	bool eof, done;
};

static void tunnel_dir_read(struct tunnel_dir *d)
{
	ssize_t n = read(d->in, d->buf, sizeof(d->buf));

	if (n > 0) {
		d->len = (size_t)n;
		d->off = 0;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		d->eof = true;
	}
}

static void tunnel_dir_write(struct tunnel_dir *d)
{
	ssize_t n = write(d->out, d->buf + d->off, d->len - d->off);

	if (n > 0) {
		d->off += (size_t)n;
		if (d->off == d->len)
			d->len = d->off = 0;
	} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
		d->len = d->off = 0;	/* the reader is gone */
		d->eof = true;
	}
}

void tunnel_plat_copy(int sock)
{
	struct tunnel_dir up = { .in = 0, .out = sock };
	struct tunnel_dir down = { .in = sock, .out = 1 };
	struct tunnel_dir *dirs[2] = { &up, &down };

	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	while (!up.done || !down.done) {
		struct pollfd p[2];

		for (int i = 0; i < 2; i++) {
			struct tunnel_dir *d = dirs[i];

			p[i].fd = -1;
			p[i].events = 0;
			p[i].revents = 0;
			if (d->done)
				continue;
			if (d->len > 0) {
				p[i].fd = d->out;
				p[i].events = POLLOUT;
			} else {
				p[i].fd = d->in;
				p[i].events = POLLIN;
			}
		}
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			struct tunnel_dir *d = dirs[i];

			if (d->done || p[i].revents == 0)
				continue;
			if (d->len > 0)
				tunnel_dir_write(d);
			else
				tunnel_dir_read(d);
			if (d->eof && d->len == 0) {
				d->done = true;
				if (d == &up)
					shutdown(sock, SHUT_WR);
			}
		}
	}
}

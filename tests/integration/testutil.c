/* testutil -- small helpers shared by the integration test programs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, pipe2 */
#endif
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int tu_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int set_block(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

int tu_connect_tcp(const char *host, int port, int ms)
{
	struct sockaddr_in sa;
	struct pollfd p;
	int fd, err = 0, rc;
	socklen_t len = sizeof(err);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0 && errno != EINPROGRESS)
		goto fail;
	if (rc < 0) {
		p.fd = fd;
		p.events = POLLOUT;
		p.revents = 0;
		do {
			rc = poll(&p, 1, ms);
		} while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
					 &len) < 0)
			goto fail;
		if (err != 0) {
			errno = err;
			goto fail;
		}
	}
	if (set_block(fd) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int tu_listen_tcp(int port, int backlog, int *outport)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, err;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	if (outport != NULL)
		*outport = ntohs(sa.sin_port);
	return fd;
}

int tu_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK)
			n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t tu_read_full(int fd, void *buf, size_t len, uint64_t deadline)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		struct pollfd pf = { fd, POLLIN, 0 };
		uint64_t now = tu_now_ms();
		ssize_t n;
		int rc;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&pf, 1, (int)(deadline - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		n = read(fd, p + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

void tu_random(void *buf, size_t len)
{
	static unsigned long long state;
	unsigned char *p = buf;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = tu_read_full(fd, buf, len, tu_now_ms() + 5000);

		close(fd);
		if (n == (ssize_t)len)
			return;
	}
	if (state == 0)
		state = tu_now_ms() ^ ((unsigned long long)getpid() << 32);
	for (size_t i = 0; i < len; i++) {
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (unsigned char)(state >> 56);
	}
}

long tu_raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur >= (rlim_t)want)
		return (long)rl.rlim_cur;
	rl.rlim_cur = (rlim_t)want;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return (long)rl.rlim_cur;
}

void tu_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* bench_common -- clocks, sockets and sizes for tlsbench. */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_sleep(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* CPU seconds (user + system) of this process, all its threads and the
 * children it has waited for. */
double bench_cpu(void)
{
	struct rusage self, kids;
	double t = 0;

	if (getrusage(RUSAGE_SELF, &self) == 0)
		t += (double)self.ru_utime.tv_sec + (double)self.ru_stime.tv_sec +
		     ((double)self.ru_utime.tv_usec +
		      (double)self.ru_stime.tv_usec) / 1e6;
	if (getrusage(RUSAGE_CHILDREN, &kids) == 0)
		t += (double)kids.ru_utime.tv_sec + (double)kids.ru_stime.tv_sec +
		     ((double)kids.ru_utime.tv_usec +
		      (double)kids.ru_stime.tv_usec) / 1e6;
	return t;
}

/* Soft limit up to the hard limit: the idle test holds many fds. */
void bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int bench_listen_any(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		goto fail;
	*port = ntohs(sa.sin_port);
	return fd;
fail:
	fprintf(stderr, "tlsbench: listen on 127.0.0.1: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* HOST:PORT with a numeric IPv4 host. */
int bench_connect(const char *hostport)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sa;
	size_t hl;
	int fd;

	if (colon == NULL || (hl = (size_t)(colon - hostport)) >= sizeof(host)) {
		fprintf(stderr, "tlsbench: bad address %s\n", hostport);
		errno = EINVAL;
		return -1;
	}
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "tlsbench: bad address %s\n", hostport);
		errno = EINVAL;
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int bench_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long bench_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			if (got == 0)
				return 0;
			errno = EPIPE;
			return -1;
		}
		got += (size_t)n;
	}
	return (long)got;
}

void bench_hdr_encode(unsigned char hdr[BENCH_HDR_LEN], char op, uint64_t n)
{
	hdr[0] = (unsigned char)op;
	for (int i = 0; i < 8; i++)
		hdr[1 + i] = (unsigned char)(n >> (56 - 8 * i));
}

void bench_hdr_decode(const unsigned char hdr[BENCH_HDR_LEN], char *op,
		      uint64_t *n)
{
	*op = (char)hdr[0];
	*n = 0;
	for (int i = 0; i < 8; i++)
		*n = (*n << 8) | hdr[1 + i];
}

/* 123, 64K, 512M, 1G (binary multiples). */
int bench_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Decimal megabytes per second. */
double bench_mbps(uint64_t bytes, double seconds)
{
	return seconds > 0 ? (double)bytes / 1e6 / seconds : 0.0;
}

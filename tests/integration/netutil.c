/* netutil -- small loopback TCP tools for the integration scenarios, so
 * the scripts need neither socat nor netcat.  Every operation has a
 * deadline; nothing here can hang a test.
 *
 *   netutil port                       print a free 127.0.0.1 port
 *   netutil wait-port PORT [MS]        wait until PORT accepts connections
 *   netutil echo-check PORT BYTES [MS [text]]
 *                                      send BYTES random bytes (with "text":
 *                                      printable lines, for gnutls-serv,
 *                                      which echoes C strings), expect them
 *                                      back unchanged (exit 0), else exit 1
 *   netutil chat PORT TEXT EXPECT [MS] send TEXT, read until EXPECT is seen
 *                                      (exit 0) or EOF/deadline (exit 1);
 *                                      prints what was received
 *   netutil expect-closed PORT [MS]    connect, send a line, expect the
 *                                      connection to be closed without
 *                                      any data coming back (exit 0)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, pipe2 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static int port_is_free(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok;

	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	     listen(fd, 1) == 0;
	close(fd);
	return ok;
}

/* Ports below the usual ephemeral range (32768-60999), so outgoing
 * connections of a busy test cannot take them between pick and bind. */
static int cmd_port(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	srandom((unsigned)(ts.tv_nsec ^ getpid() ^ ts.tv_sec));
	for (int i = 0; i < 200; i++) {
		int port = 20000 + (int)(random() % 12000);

		if (port_is_free(port)) {
			printf("%d\n", port);
			return 0;
		}
	}
	fprintf(stderr, "netutil: no free port found\n");
	return 1;
}

static int cmd_wait_port(int port, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;

	do {
		int fd = tu_connect_tcp("127.0.0.1", port, 1000);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(20000);
	} while (tu_now_ms() < end);
	fprintf(stderr, "netutil: port %d not accepting after %d ms\n", port,
		ms);
	return 1;
}

static void make_text(uint8_t *p, size_t n)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";

	for (size_t i = 0; i < n; i++)
		p[i] = (i % 64 == 63) ? '\n' : (uint8_t)set[p[i] % 64];
}

static int cmd_echo_check(int port, size_t n, int ms, int text)
{
	uint8_t *out = malloc(n), *in = malloc(n);
	int fd = -1, rc = 1;
	size_t sent = 0, got = 0;
	uint64_t end = tu_now_ms() + (uint64_t)ms;

	if (out == NULL || in == NULL)
		goto done;
	tu_random(out, n);
	if (text)
		make_text(out, n);
	fd = tu_connect_tcp("127.0.0.1", port, ms);
	if (fd < 0) {
		fprintf(stderr, "netutil: connect to %d: %s\n", port,
			strerror(errno));
		goto done;
	}
	tu_set_nonblock(fd);
	while (got < n) {
		struct pollfd p = { fd, POLLIN | (sent < n ? POLLOUT : 0), 0 };
		uint64_t now = tu_now_ms();
		ssize_t r;

		if (now >= end) {
			fprintf(stderr, "netutil: timeout: sent %zu, got %zu "
				"of %zu bytes\n", sent, got, n);
			goto done;
		}
		if (poll(&p, 1, (int)(end - now)) < 0 && errno != EINTR)
			goto done;
		if ((p.revents & POLLOUT) && sent < n) {
			r = send(fd, out + sent, n - sent, MSG_NOSIGNAL);
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "netutil: send: %s\n",
					strerror(errno));
				goto done;
			}
			if (r > 0)
				sent += (size_t)r;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			r = recv(fd, in + got, n - got, 0);
			if (r == 0) {
				fprintf(stderr, "netutil: EOF after %zu of %zu "
					"bytes\n", got, n);
				goto done;
			}
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "netutil: recv after %zu "
					"bytes: %s\n", got, strerror(errno));
				goto done;
			}
			if (r > 0)
				got += (size_t)r;
		}
	}
	if (memcmp(in, out, n) != 0) {
		size_t i = 0;

		while (in[i] == out[i])
			i++;
		fprintf(stderr, "netutil: echo differs at byte %zu of %zu\n",
			i, n);
		goto done;
	}
	printf("echo ok: %zu bytes\n", n);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	free(out);
	free(in);
	return rc;
}

static int cmd_chat(int port, const char *text, const char *expect, int ms)
{
	char buf[65536];
	size_t got = 0;
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	int fd = tu_connect_tcp("127.0.0.1", port, ms), rc = 1;

	if (fd < 0) {
		fprintf(stderr, "netutil: connect to %d: %s\n", port,
			strerror(errno));
		return 1;
	}
	if (tu_write_all(fd, text, strlen(text)) < 0) {
		fprintf(stderr, "netutil: send: %s\n", strerror(errno));
		goto done;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = tu_now_ms();
		ssize_t r;

		buf[got] = '\0';
		if (strstr(buf, expect) != NULL) {
			rc = 0;
			break;
		}
		if (now >= end) {
			fprintf(stderr, "netutil: timeout waiting for \"%s\"\n",
				expect);
			break;
		}
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0) {
			fprintf(stderr, "netutil: %s before \"%s\"\n",
				r == 0 ? "EOF" : strerror(errno), expect);
			break;
		}
		got += (size_t)r;
		if (got == sizeof(buf) - 1)
			break;
	}
	fwrite(buf, 1, got, stdout);
done:
	close(fd);
	return rc;
}

static int cmd_expect_closed(int port, int ms)
{
	char buf[4096];
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	int fd = tu_connect_tcp("127.0.0.1", port, ms), rc = 1;

	if (fd < 0) {
		/* Refusing the TCP connection also keeps the data out. */
		printf("closed: connect refused (%s)\n", strerror(errno));
		return 0;
	}
	(void)send(fd, "hello\n", 6, MSG_NOSIGNAL);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = tu_now_ms();
		ssize_t r;

		if (now >= end) {
			fprintf(stderr, "netutil: still open after %d ms\n", ms);
			break;
		}
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r > 0) {
			fprintf(stderr, "netutil: got %zd bytes of data, "
				"expected none\n", r);
			break;
		}
		if (r == 0 || errno == ECONNRESET) {
			printf("closed: %s\n", r == 0 ? "EOF" : "reset");
			rc = 0;
			break;
		}
		if (errno != EINTR && errno != EAGAIN) {
			fprintf(stderr, "netutil: recv: %s\n", strerror(errno));
			break;
		}
	}
	close(fd);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: netutil port\n"
		"       netutil wait-port PORT [MS]\n"
		"       netutil echo-check PORT BYTES [MS [text]]\n"
		"       netutil chat PORT TEXT EXPECT [MS]\n"
		"       netutil expect-closed PORT [MS]\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "port") == 0)
		return cmd_port();
	if (argc >= 3 && strcmp(argv[1], "wait-port") == 0)
		return cmd_wait_port(atoi(argv[2]),
				     argc > 3 ? atoi(argv[3]) : 10000);
	if (argc >= 4 && strcmp(argv[1], "echo-check") == 0)
		return cmd_echo_check(atoi(argv[2]),
				      (size_t)strtoul(argv[3], NULL, 10),
				      argc > 4 ? atoi(argv[4]) : 10000,
				      argc > 5 && strcmp(argv[5], "text") == 0);
	if (argc >= 5 && strcmp(argv[1], "chat") == 0)
		return cmd_chat(atoi(argv[2]), argv[3], argv[4],
				argc > 5 ? atoi(argv[5]) : 10000);
	if (argc >= 3 && strcmp(argv[1], "expect-closed") == 0)
		return cmd_expect_closed(atoi(argv[2]),
					 argc > 3 ? atoi(argv[3]) : 10000);
	usage();
	return 2;
}

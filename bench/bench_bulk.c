/* bench_bulk -- bulk throughput: one connection, one direction.
 *
 * bulk-plain: a plaintext application talks to a tunnel (tlstunnel -c,
 *   stunnel) that adds TLS towards the bench server; with --via-pool it
 *   calls tlspool_starttls itself and uses the plaintext socket it gets.
 * bulk-inproc: GnuTLS client and server in this process, two threads
 *   over loopback TCP.
 * Time runs from connect to the last byte (down) or the server's
 * acknowledgement of the last byte (up), handshake included.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cpu: CPU seconds this process spent (both threads in-process). */
static void bulk_report(const struct bench_opts *o, double secs, double cpu)
{
	printf("MBps=%.1f bytes=%llu seconds=%.3f cpu=%.3f dir=%s\n",
	       bench_mbps(o->bytes, secs), (unsigned long long)o->bytes, secs,
	       cpu, o->dir == BENCH_OP_UP ? "up" : "down");
}

static int plain_up(int fd, const unsigned char *buf, uint64_t n)
{
	unsigned char ack = 0;

	while (n > 0) {
		size_t chunk = n < BENCH_CHUNK ? (size_t)n : BENCH_CHUNK;

		if (bench_write_all(fd, buf, chunk) < 0)
			return -1;
		n -= chunk;
	}
	if (bench_read_all(fd, &ack, 1) != 1 || ack != BENCH_ACK) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int plain_down(int fd, unsigned char *buf, uint64_t n)
{
	while (n > 0) {
		size_t want = n < BENCH_CHUNK ? (size_t)n : BENCH_CHUNK;
		ssize_t got = read(fd, buf, want);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				errno = EPIPE;
			return -1;
		}
		n -= (uint64_t)got;
	}
	return 0;
}

int cmd_bulk_plain(const struct bench_opts *o)
{
	unsigned char hdr[BENCH_HDR_LEN], *buf = calloc(1, BENCH_CHUNK);
	double t0, t1, c0;
	int fd, rc = 1;

	if (buf == NULL || o->connect == NULL) {
		fprintf(stderr, "tlsbench bulk-plain: needs --connect\n");
		goto out_buf;
	}
	c0 = bench_cpu();
	t0 = bench_now();
	fd = o->via_pool ? bench_pool_client(o->connect, o->remoteid, 0)
			 : bench_connect(o->connect);
	if (fd < 0) {
		fprintf(stderr, "tlsbench bulk-plain: %s: %s\n", o->connect,
			strerror(errno));
		goto out_buf;
	}
	bench_hdr_encode(hdr, o->dir, o->bytes);
	if (bench_write_all(fd, hdr, sizeof(hdr)) < 0 ||
	    (o->dir == BENCH_OP_UP ? plain_up(fd, buf, o->bytes)
				   : plain_down(fd, buf, o->bytes)) < 0) {
		fprintf(stderr, "tlsbench bulk-plain: transfer: %s\n",
			strerror(errno));
		goto out_fd;
	}
	t1 = bench_now();
	bulk_report(o, t1 - t0, bench_cpu() - c0);
	rc = 0;
out_fd:
	close(fd);
out_buf:
	free(buf);
	return rc;
}

static int tls_down(gnutls_session_t s, unsigned char *buf, uint64_t n)
{
	while (n > 0) {
		size_t want = n < BENCH_CHUNK ? (size_t)n : BENCH_CHUNK;
		ssize_t got = gnutls_record_recv(s, buf, want);

		if (got == GNUTLS_E_AGAIN || got == GNUTLS_E_INTERRUPTED)
			continue;
		if (got <= 0) {
			fprintf(stderr, "tlsbench: TLS recv: %s\n",
				got == 0 ? "end of stream" :
				gnutls_strerror((int)got));
			return -1;
		}
		n -= (uint64_t)got;
	}
	return 0;
}

static int tls_up(gnutls_session_t s, const unsigned char *buf, uint64_t n)
{
	unsigned char ack = 0;

	while (n > 0) {
		size_t chunk = n < BENCH_CHUNK ? (size_t)n : BENCH_CHUNK;

		if (bench_tls_send_all(s, buf, chunk) < 0)
			return -1;
		n -= chunk;
	}
	if (bench_tls_recv_all(s, &ack, 1) != 1 || ack != BENCH_ACK) {
		fprintf(stderr, "tlsbench: no acknowledgement\n");
		return -1;
	}
	return 0;
}

/* Client half of bulk-inproc: 0 or -1. */
static int inproc_client(const struct bench_tls *t, const struct bench_opts *o,
			 const char *hostport, unsigned char *buf)
{
	unsigned char hdr[BENCH_HDR_LEN];
	gnutls_session_t s;
	int fd, rc;

	fd = bench_connect(hostport);
	if (fd < 0) {
		fprintf(stderr, "tlsbench: connect: %s\n", strerror(errno));
		return -1;
	}
	s = bench_tls_client_session(t, fd);
	if (s == NULL) {
		close(fd);
		return -1;
	}
	rc = bench_tls_handshake(s);
	if (rc < 0) {
		fprintf(stderr, "tlsbench: client handshake: %s\n",
			gnutls_strerror(rc));
		rc = -1;
		goto out;
	}
	bench_hdr_encode(hdr, o->dir, o->bytes);
	rc = bench_tls_send_all(s, hdr, sizeof(hdr));
	if (rc == 0)
		rc = o->dir == BENCH_OP_UP ? tls_up(s, buf, o->bytes)
					   : tls_down(s, buf, o->bytes);
	if (rc == 0)
		gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	gnutls_deinit(s);
	close(fd);
	return rc;
}

int cmd_bulk_inproc(const struct bench_opts *o)
{
	struct bench_tls t;
	struct bench_server *srv;
	unsigned char *buf;
	char hostport[32];
	uint16_t port;
	double t0, t1, c0;
	int rc = 1;

	if (bench_tls_load(&t, o) < 0)
		return 1;
	buf = calloc(1, BENCH_CHUNK);
	if (buf == NULL || bench_server_start(&t, 1, &port, &srv) < 0)
		goto out;
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%u", port);
	c0 = bench_cpu();
	t0 = bench_now();
	if (inproc_client(&t, o, hostport, buf) == 0) {
		t1 = bench_now();
		bulk_report(o, t1 - t0, bench_cpu() - c0);
		rc = 0;
	}
	bench_server_stop(srv);
out:
	free(buf);
	bench_tls_free(&t);
	return rc;
}

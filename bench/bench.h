/* bench -- shared pieces of the benchmark program tlsbench.
 *
 * Not part of the pool: tlsbench only measures it.  Everything here runs
 * on 127.0.0.1 and prints figures; nothing asserts a timing.
 *
 * Wire protocol between the bulk clients and the bench server, spoken
 * inside TLS (or as plaintext into a tunnel that adds the TLS):
 *   client -> server: 1 byte op, 8 bytes length (big-endian)
 *   op 'U': client sends length bytes, server answers one byte 'K'
 *   op 'D': server sends length bytes
 * A connection that ends before a header is a handshake-only connection.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

#define BENCH_OP_UP 'U'
#define BENCH_OP_DOWN 'D'
#define BENCH_ACK 'K'
#define BENCH_HDR_LEN 9
#define BENCH_CHUNK 65536	/* plaintext write size */
#define BENCH_RECORD 16384	/* TLS record payload */
#define BENCH_SERVER_NAME "localhost"

struct bench_opts {
	const char *cert, *key, *ca, *prio;
	const char *connect;	/* HOST:PORT */
	const char *remoteid;
	uint64_t bytes;
	char dir;		/* BENCH_OP_UP or BENCH_OP_DOWN */
	unsigned count;		/* handshakes */
	unsigned parallel;	/* K */
	unsigned conns;		/* idle connections */
	unsigned warmup;
	unsigned threads;	/* server accept threads */
	int pid;		/* daemon pid for VmRSS */
	int epoll;		/* server: non-blocking epoll mode */
	int via_pool;		/* bulk: libtlspool instead of plaintext */
	int threads_mode;	/* hs-pool: threads in one process */
};

struct bench_tls {
	gnutls_certificate_credentials_t server_cred;	/* NULL: no cert */
	gnutls_certificate_credentials_t client_cred;	/* NULL: no CA */
	gnutls_priority_t prio;
};

/* ---- bench_common.c ---- */
double bench_now(void);
double bench_cpu(void);
void bench_sleep(double seconds);
void bench_raise_nofile(void);
int bench_listen_any(uint16_t *port);
int bench_connect(const char *hostport);
int bench_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes: len, 0 on EOF before the first byte, -1. */
long bench_read_all(int fd, void *buf, size_t len);
void bench_hdr_encode(unsigned char hdr[BENCH_HDR_LEN], char op, uint64_t n);
void bench_hdr_decode(const unsigned char hdr[BENCH_HDR_LEN], char *op,
		      uint64_t *n);
int bench_parse_size(const char *s, uint64_t *out);
double bench_mbps(uint64_t bytes, double seconds);

/* ---- bench_tls.c ---- */
int bench_tls_load(struct bench_tls *t, const struct bench_opts *o);
void bench_tls_free(struct bench_tls *t);
/* A session on fd, blocking unless nonblock; NULL on failure (printed). */
gnutls_session_t bench_tls_server_session(const struct bench_tls *t, int fd);
gnutls_session_t bench_tls_client_session(const struct bench_tls *t, int fd);
int bench_tls_handshake(gnutls_session_t s);
int bench_tls_send_all(gnutls_session_t s, const void *buf, size_t len);
long bench_tls_recv_all(gnutls_session_t s, void *buf, size_t len);

/* ---- bench_server.c ---- */
struct bench_server;
/* Threaded server on 127.0.0.1:0 with `threads` accept loops; the
 * port is returned.  0 or -1. */
int bench_server_start(const struct bench_tls *t, unsigned threads,
		       uint16_t *port, struct bench_server **out);
void bench_server_stop(struct bench_server *srv);
/* Serve one accepted TLS connection (blocking) until it ends. */
void bench_server_conn(const struct bench_tls *t, int fd);
/* Non-blocking epoll server for many idle connections; never returns
 * unless it fails. */
int bench_server_epoll(const struct bench_tls *t, int lfd);

/* ---- subcommands ---- */
int cmd_serve(const struct bench_opts *o);
int cmd_bulk_plain(const struct bench_opts *o);
int cmd_bulk_inproc(const struct bench_opts *o);
int cmd_hs_inproc(const struct bench_opts *o);
int cmd_hs_pool(const struct bench_opts *o);
int cmd_idle_pool(const struct bench_opts *o);

/* ---- bench_pool.c ---- */
/* Connect to hostport and start TLS through the pool as a client that
 * expects remoteid; returns the plaintext fd, or -1 (printed unless
 * quiet). */
int bench_pool_client(const char *hostport, const char *remoteid, int quiet);

#endif

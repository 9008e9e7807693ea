/* testutil -- small helpers shared by the integration test programs. */
#ifndef TP_TESTUTIL_H
#define TP_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Milliseconds on the monotonic clock. */
uint64_t tu_now_ms(void);

/* Connect to host:port (numeric IPv4) within ms milliseconds; the socket
 * is returned in blocking mode.  fd or -1 with errno. */
int tu_connect_tcp(const char *host, int port, int ms);

/* Listen on 127.0.0.1:port (0: any); the chosen port in *outport.
 * fd or -1 with errno. */
int tu_listen_tcp(int port, int backlog, int *outport);

int tu_set_nonblock(int fd);

/* Write everything (blocking fd); 0 or -1 with errno. */
int tu_write_all(int fd, const void *buf, size_t len);

/* Read exactly len bytes before the deadline (absolute, tu_now_ms());
 * returns len, the shorter count on EOF, or -1 with errno (ETIMEDOUT). */
ssize_t tu_read_full(int fd, void *buf, size_t len, uint64_t deadline);

/* Fill buf with random bytes (/dev/urandom, or a PRNG fallback). */
void tu_random(void *buf, size_t len);

/* Raise RLIMIT_NOFILE to want (or as far as the hard limit allows);
 * returns the new soft limit. */
long tu_raise_nofile(long want);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void tu_hex(const uint8_t *in, size_t len, char *out);

#endif

/* sockio -- the socket calls of the daemon's data path (session, relay,
 * OCSP fetch) behind one interface, with POSIX semantics everywhere:
 * -1 with errno set on failure (EAGAIN when a non-blocking socket has
 * nothing to give or no room), byte counts otherwise.
 *
 * daemon/sockio_posix.c is the POSIX implementation; the Windows one
 * (windows/sockio_win32.c) maps Winsock calls and their errors, and holds
 * a SOCKET in the int.  Descriptors that are not sockets (an application
 * may hand over a pipe as its plaintext side on POSIX) go through
 * sockio_read / sockio_writev.
 */
#ifndef TP_SOCKIO_H
#define TP_SOCKIO_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* send / recv that never block and never raise SIGPIPE. */
ssize_t sockio_sendv(int fd, const struct iovec *iov, int iovcnt);
ssize_t sockio_recvv(int fd, struct iovec *iov, int iovcnt);
ssize_t sockio_send(int fd, const void *buf, size_t len);
ssize_t sockio_recv(int fd, void *buf, size_t len);
/* Look at what is queued without taking it. */
ssize_t sockio_peek(int fd, void *buf, size_t len);
/* Any descriptor: read(2) / writev(2) on POSIX, the socket calls on
 * Windows (where the plaintext side is always a socket). */
ssize_t sockio_read(int fd, void *buf, size_t len);
ssize_t sockio_writev(int fd, const struct iovec *iov, int iovcnt);

int sockio_shutdown_wr(int fd);
int sockio_close(int fd);
/* 0 or -errno. */
int sockio_set_nonblock(int fd);
/* Wait up to ms (-1: forever) for fd to be readable (writable): 1, 0
 * timeout, -1. */
int sockio_wait_in(int fd, int ms);
int sockio_wait_out(int fd, int ms);

/* A non-blocking stream socket connecting to ai: 0 connected or
 * -EINPROGRESS (wait writable, then sockio_connect_result), *fd set;
 * other -errno with no socket left open. */
struct addrinfo;
int sockio_connect_start(const struct addrinfo *ai, int *fd);
/* The outcome of a connect that was in progress: 0 or -errno. */
int sockio_connect_result(int fd);
/* A connected stream socket, made non-blocking: 0, or -errno with the
 * reason in why. */
int sockio_check_stream(int fd, char *why, size_t whylen);

#endif

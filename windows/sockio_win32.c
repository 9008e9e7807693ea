/* sockio_win32 -- sockio.h on Windows: Winsock calls on the SOCKET held
 * in the int, Winsock errors mapped to errno values (-1 with errno, as on
 * POSIX).  The plaintext side is a socket here too (the socketpair
 * emulation), so read and writev are the socket calls. */
#include "sockio.h"

#include <winsock2.h>
#include <ws2tcpip.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "sockio_win32.h"

#define MAXVEC 64

static SOCKET sk(int fd)
{
	return (SOCKET)(intptr_t)fd;
}

int sockio_win32_errno(int wsa)
{
	switch (wsa) {
	case WSAEWOULDBLOCK:	return EAGAIN;
	case WSAEINTR:		return EINTR;
	case WSAECONNRESET:	return ECONNRESET;
	case WSAECONNABORTED:	return ECONNABORTED;
	case WSAECONNREFUSED:	return ECONNREFUSED;
	case WSAENOTCONN:	return ENOTCONN;
	case WSAESHUTDOWN:	return EPIPE;
	case WSAENOTSOCK:	return ENOTSOCK;
	case WSAEMSGSIZE:	return EMSGSIZE;
	case WSAETIMEDOUT:	return ETIMEDOUT;
	case WSAEINPROGRESS:	return EINPROGRESS;
	case WSAEALREADY:	return EALREADY;
	case WSAEHOSTUNREACH:	return EHOSTUNREACH;
	case WSAENETUNREACH:	return ENETUNREACH;
	case WSAEADDRINUSE:	return EADDRINUSE;
	case WSAEINVAL:		return EINVAL;
	case WSAEFAULT:		return EFAULT;
	case WSAENOBUFS:	return ENOBUFS;
	case WSAEMFILE:		return EMFILE;
	case WSAEACCES:		return EACCES;
	case WSAEAFNOSUPPORT:	return EAFNOSUPPORT;
	case WSAEPROTOTYPE:	return EPROTOTYPE;
	default:		return EIO;
	}
}

static int fail(void)
{
	errno = sockio_win32_errno(WSAGetLastError());
	return -1;
}

static int to_wsabuf(WSABUF *b, const struct iovec *iov, int iovcnt)
{
	int n = iovcnt < MAXVEC ? iovcnt : MAXVEC;

	for (int i = 0; i < n; i++) {
		/* a record is at most 16 KiB: a ULONG always holds it */
		b[i].buf = iov[i].iov_base;
		b[i].len = (ULONG)iov[i].iov_len;
	}
	return n;
}

ssize_t sockio_sendv(int fd, const struct iovec *iov, int iovcnt)
{
	WSABUF b[MAXVEC];
	DWORD sent = 0;
	int n = to_wsabuf(b, iov, iovcnt);

	if (WSASend(sk(fd), b, (DWORD)n, &sent, 0, NULL, NULL) != 0)
		return fail();
	return (ssize_t)sent;
}

ssize_t sockio_recvv(int fd, struct iovec *iov, int iovcnt)
{
	WSABUF b[MAXVEC];
	DWORD got = 0, flags = 0;
	int n = to_wsabuf(b, iov, iovcnt);

	if (WSARecv(sk(fd), b, (DWORD)n, &got, &flags, NULL, NULL) != 0) {
		/* a peer's reset after its data: EOF, as recvmsg reports */
		if (WSAGetLastError() == WSAEDISCON)
			return 0;
		return fail();
	}
	return (ssize_t)got;
}

ssize_t sockio_send(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return sockio_sendv(fd, &v, 1);
}

ssize_t sockio_recv(int fd, void *buf, size_t len)
{
	struct iovec v = { buf, len };

	return sockio_recvv(fd, &v, 1);
}

ssize_t sockio_peek(int fd, void *buf, size_t len)
{
	int n = recv(sk(fd), buf, len > INT_MAX ? INT_MAX : (int)len,
		     MSG_PEEK);

	return n == SOCKET_ERROR ? fail() : n;
}

ssize_t sockio_read(int fd, void *buf, size_t len)
{
	return sockio_recv(fd, buf, len);
}

ssize_t sockio_writev(int fd, const struct iovec *iov, int iovcnt)
{
	return sockio_sendv(fd, iov, iovcnt);
}

int sockio_shutdown_wr(int fd)
{
	return shutdown(sk(fd), SD_SEND) == SOCKET_ERROR ? fail() : 0;
}

int sockio_close(int fd)
{
	return closesocket(sk(fd)) == SOCKET_ERROR ? fail() : 0;
}

int sockio_set_nonblock(int fd)
{
	u_long one = 1;

	if (ioctlsocket(sk(fd), FIONBIO, &one) == SOCKET_ERROR)
		return -sockio_win32_errno(WSAGetLastError());
	return 0;
}

int sockio_wait_in(int fd, int ms)
{
	WSAPOLLFD p = { .fd = sk(fd), .events = POLLRDNORM };
	int rc = WSAPoll(&p, 1, ms);

	return rc == SOCKET_ERROR ? fail() : rc;
}

int sockio_wait_out(int fd, int ms)
{
	WSAPOLLFD p = { .fd = sk(fd), .events = POLLWRNORM };
	int rc = WSAPoll(&p, 1, ms);

	return rc == SOCKET_ERROR ? fail() : rc;
}

int sockio_connect_start(const struct addrinfo *ai, int *fd)
{
	SOCKET s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	u_long one = 1;
	int err;

	*fd = -1;
	if (s == INVALID_SOCKET)
		return -sockio_win32_errno(WSAGetLastError());
	if (ioctlsocket(s, FIONBIO, &one) == SOCKET_ERROR)
		goto fail;
	*fd = (int)(intptr_t)s;
	if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0)
		return 0;
	if (WSAGetLastError() == WSAEWOULDBLOCK)
		return -EINPROGRESS;
fail:
	err = sockio_win32_errno(WSAGetLastError());
	closesocket(s);
	*fd = -1;
	return -err;
}

int sockio_connect_result(int fd)
{
	int err = 0, len = sizeof(err);

	if (getsockopt(sk(fd), SOL_SOCKET, SO_ERROR, (char *)&err, &len) ==
	    SOCKET_ERROR)
		return -sockio_win32_errno(WSAGetLastError());
	return err == 0 ? 0 : -sockio_win32_errno(err);
}

int sockio_check_stream(int fd, char *why, size_t whylen)
{
	int type = 0, len = sizeof(type);
	struct sockaddr_storage sa;
	int salen = sizeof(sa);

	if (getsockopt(sk(fd), SOL_SOCKET, SO_TYPE, (char *)&type, &len) ==
	    SOCKET_ERROR) {
		snprintf(why, whylen, "the passed handle is not a socket");
		return -ENOTSOCK;
	}
	if (type != SOCK_STREAM) {
		snprintf(why, whylen, "the passed socket is not a stream socket");
		return -EPROTOTYPE;
	}
	if (getpeername(sk(fd), (struct sockaddr *)&sa, &salen) ==
	    SOCKET_ERROR) {
		snprintf(why, whylen, "the passed socket is not connected");
		return -ENOTCONN;
	}
	return sockio_set_nonblock(fd);
}

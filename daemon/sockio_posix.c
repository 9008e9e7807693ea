/* sockio_posix -- sockio.h on POSIX: the system calls themselves. */
#include "sockio.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

ssize_t sockio_sendv(int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov,
			     .msg_iovlen = (size_t)iovcnt };

	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

ssize_t sockio_recvv(int fd, struct iovec *iov, int iovcnt)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };

	return recvmsg(fd, &mh, MSG_DONTWAIT);
}

ssize_t sockio_send(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

ssize_t sockio_recv(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, 0);
}

ssize_t sockio_peek(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, MSG_PEEK);
}

ssize_t sockio_read(int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}

ssize_t sockio_writev(int fd, const struct iovec *iov, int iovcnt)
{
	return writev(fd, iov, iovcnt);
}

int sockio_shutdown_wr(int fd)
{
	return shutdown(fd, SHUT_WR);
}

int sockio_close(int fd)
{
	return close(fd);
}

int sockio_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int sockio_wait_in(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, ms);
}

int sockio_wait_out(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };

	return poll(&pfd, 1, ms);
}

int sockio_connect_start(const struct addrinfo *ai, int *fd)
{
	int err;

	*fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		     SOCK_CLOEXEC, ai->ai_protocol);
	if (*fd < 0)
		return -errno;
	if (connect(*fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	err = errno;
	if (err == EINPROGRESS)
		return -EINPROGRESS;
	close(*fd);
	*fd = -1;
	return -err;
}

int sockio_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/* The fd must be a connected stream socket: a pipe or file is refused. */
int sockio_check_stream(int fd, char *why, size_t whylen)
{
	struct stat st;
	int type = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "the passed descriptor is not a socket");
		return -ENOTSOCK;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM) {
		snprintf(why, whylen, "the passed socket is not a stream socket");
		return -EPROTOTYPE;
	}
	if (getpeername(fd, (struct sockaddr *)&sa, &salen) < 0) {
		snprintf(why, whylen, "the passed socket is not connected");
		return -ENOTCONN;
	}
	return sockio_set_nonblock(fd);
}

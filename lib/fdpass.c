/* fdpass -- messages with an optional file descriptor over UNIX sockets. */
#include "fdpass.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int fdpass_send(int sock, const void *buf, size_t len, int fd)
{
	const char *p = buf;
	size_t done = 0;
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(sizeof(int))];
	} anc;

	while (done < len) {
		struct iovec iov = { (void *)(p + done), len - done };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (done == 0 && fd >= 0) {
			struct cmsghdr *c;

			memset(&anc, 0, sizeof(anc));
			msg.msg_control = anc.space;
			msg.msg_controllen = sizeof(anc.space);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    done > 0) {
				/* Finish the message: a half-sent struct
				 * would desynchronise the stream. */
				struct timespec ts = { 0, 200000 };
				nanosleep(&ts, NULL);
				continue;
			}
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

static void take_fds(struct msghdr *msg, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t n;
		const unsigned char *data;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		data = CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, data + i * sizeof(int), sizeof(int));
			if (fd != NULL && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
}

ssize_t fdpass_recv_some(int sock, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr align;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} anc;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = anc.space,
			      .msg_controllen = sizeof(anc.space) };
	ssize_t n;

	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	take_fds(&msg, fd);
	return n;
}

ssize_t fdpass_recv(int sock, void *buf, size_t len, int *fd)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = fdpass_recv_some(sock, p + done, len - done, fd);

		if (n < 0)
			return n;
		if (n == 0)
			return done == 0 ? 0 : -EPIPE;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

/* poolconn_posix -- the pool connection on POSIX: an AF_UNIX stream
 * socket, descriptors as SCM_RIGHTS (fdpass).
 */
#include "poolconn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdpass.h"

_Static_assert(TLSPOOL_MSGLEN == TLSPOOL_CMD_BASELEN, "POSIX wire size");

struct poolconn {
	int fd;
	/* poolconn_recv_nb: the part of a message read so far */
	unsigned char buf[sizeof(struct tlspool_command)];
	size_t have;
	int partfd;		/* descriptor that came with it, or -1 */
};

int poolconn_connect(const char *path, struct poolconn **pc)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	struct poolconn *c;
	int fd, err;

	if (len == 0 || len >= sizeof(sun.sun_path))
		return len == 0 ? -EINVAL : -ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->partfd = -1;
	*pc = c;
	return 0;
}

pool_handle_t poolconn_handle(const struct poolconn *pc)
{
	return pc->fd;
}

int poolconn_send(struct poolconn *pc, const struct tlspool_command *cmd,
		  poolconn_sock_t sock)
{
	return fdpass_send(pc->fd, cmd, TLSPOOL_MSGLEN, sock);
}

int poolconn_recv(struct poolconn *pc, struct tlspool_command *cmd,
		  poolconn_sock_t *sock)
{
	ssize_t n;

	*sock = -1;
	n = fdpass_recv(pc->fd, cmd, TLSPOOL_MSGLEN, sock);
	if (n == (ssize_t)TLSPOOL_MSGLEN)
		return 1;
	if (*sock >= 0) {
		close(*sock);
		*sock = -1;
	}
	return n < 0 ? (int)n : 0;
}

int poolconn_set_nonblock(struct poolconn *pc)
{
	int flags = fcntl(pc->fd, F_GETFL);

	if (flags < 0 || fcntl(pc->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int poolconn_recv_nb(struct poolconn *pc, struct tlspool_command *cmd,
		     poolconn_sock_t *sock)
{
	*sock = -1;
	for (;;) {
		ssize_t n = fdpass_recv_some(pc->fd, pc->buf + pc->have,
					     TLSPOOL_MSGLEN - pc->have,
					     &pc->partfd);

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return -EAGAIN;
		if (n <= 0)
			return (int)n;
		pc->have += (size_t)n;
		if (pc->have < TLSPOOL_MSGLEN)
			continue;
		memcpy(cmd, pc->buf, TLSPOOL_MSGLEN);
		*sock = pc->partfd;
		pc->partfd = -1;
		pc->have = 0;
		return 1;
	}
}

void poolconn_shutdown(struct poolconn *pc)
{
	shutdown(pc->fd, SHUT_RDWR);
}

bool poolconn_stale(struct poolconn *pc)
{
	struct pollfd p = { .fd = pc->fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
		return true;
	return (p.revents & POLLIN) &&
	       recv(pc->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

void poolconn_close(struct poolconn *pc)
{
	if (pc == NULL)
		return;
	if (pc->partfd >= 0)
		close(pc->partfd);
	close(pc->fd);
	free(pc);
}

int poolconn_sock_check(poolconn_sock_t s)
{
	return (s < 0 || fcntl(s, F_GETFD) < 0) ? -EBADF : 0;
}

void poolconn_sock_close(poolconn_sock_t s)
{
	if (s >= 0)
		close(s);
}

int poolconn_socketpair(int type, poolconn_sock_t sv[2])
{
	return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0 ? -errno
								    : 0;
}

int poolconn_atfork(void (*prepare)(void), void (*parent)(void),
		    void (*child)(void))
{
	return -pthread_atfork(prepare, parent, child);
}

int poolconn_pid_alive(long pid)
{
	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		return -errno;
	return 0;
}

/* sockact -- take the pool socket from the service manager. */
#include "sockact.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A decimal number without sign, spaces or trailing text. */
static int parse_ulong(const char *s, unsigned long *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	return 0;
}

static void forget_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static int sockopt(int fd, int name, int *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, SOL_SOCKET, name, val, &len) < 0 ? -errno : 0;
}

/* Why fd is not the pool socket, or NULL when it is. */
static const char *unusable(int fd, const struct stat *want, char *path,
			    size_t pathlen)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct stat st;
	int v;

	path[0] = '\0';
	if (fstat(fd, &st) < 0)
		return "not an open descriptor";
	if (!S_ISSOCK(st.st_mode))
		return "not a socket";
	if (sockopt(fd, SO_DOMAIN, &v) < 0 || v != AF_UNIX)
		return "not an AF_UNIX socket";
	if (sockopt(fd, SO_TYPE, &v) < 0 || v != SOCK_STREAM)
		return "not a stream socket";
	if (sockopt(fd, SO_ACCEPTCONN, &v) < 0 || v == 0)
		return "not listening";
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
	    len <= offsetof(struct sockaddr_un, sun_path) ||
	    sa.sun_path[0] == '\0')
		return "not bound to a path";
	len -= offsetof(struct sockaddr_un, sun_path);
	if (len >= pathlen)
		len = pathlen - 1;
	memcpy(path, sa.sun_path, len);
	path[len] = '\0';
	if (stat(path, &st) < 0 || st.st_dev != want->st_dev ||
	    st.st_ino != want->st_ino)
		return "bound to another path than socket_name";
	return NULL;
}

int sockact_take(const char *socket_name, int *fd, char *err, size_t errlen)
{
	const char *why = "no descriptor";
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	unsigned long pid, n;
	struct stat want;
	int found = -1;

	*fd = -1;
	if (getenv("LISTEN_PID") == NULL)
		return 0;
	if (parse_ulong(getenv("LISTEN_PID"), &pid) < 0) {
		snprintf(err, errlen, "socket activation: LISTEN_PID is not "
			 "a number");
		return -EINVAL;
	}
	if (pid != (unsigned long)getpid())
		return 0;	/* meant for another process */
	if (parse_ulong(getenv("LISTEN_FDS"), &n) < 0 ||
	    n > (unsigned long)(INT_MAX - SOCKACT_FD_START)) {
		snprintf(err, errlen, "socket activation: LISTEN_FDS is not "
			 "a number");
		return -EINVAL;
	}
	forget_env();
	if (n == 0)
		return 0;
	if (stat(socket_name, &want) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "socket activation: socket_name %s: %s",
			 socket_name, strerror(-rc));
		return rc;
	}
	if (!S_ISSOCK(want.st_mode)) {
		snprintf(err, errlen, "socket activation: socket_name %s: "
			 "not a socket", socket_name);
		return -ENOTSOCK;
	}
	for (int i = SOCKACT_FD_START; i < SOCKACT_FD_START + (int)n; i++) {
		/* Passed descriptors must not leak into the key process. */
		fcntl(i, F_SETFD, FD_CLOEXEC);
		if (found >= 0)
			continue;
		why = unusable(i, &want, path, sizeof(path));
		if (why == NULL)
			found = i;
	}
	if (found < 0) {
		snprintf(err, errlen, "socket activation: %lu descriptor(s) "
			 "passed, none is the listening socket %s (fd %lu: "
			 "%s%s%s)", n, socket_name,
			 n + SOCKACT_FD_START - 1, why,
			 path[0] ? ", " : "", path);
		return -EBADF;
	}
	if (fcntl(found, F_SETFL, fcntl(found, F_GETFL) | O_NONBLOCK) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "socket activation: fd %d: %s", found,
			 strerror(-rc));
		return rc;
	}
	*fd = found;
	return 1;
}

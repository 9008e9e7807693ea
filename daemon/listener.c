/* listener -- the pool's UNIX socket and the acceptor. */
#include "listener.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlconn.h"
#include "dconfig.h"
#include "paths.h"
#include "sockact.h"
#include "tplog.h"
#include "worker.h"

/* The socket came from the service manager: it owns the file. */
static int activated;

static int lookup_owner(const struct dconfig *cfg, uid_t *uid, gid_t *gid,
			char *err, size_t errlen)
{
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (cfg->socket_user != NULL) {
		struct passwd *pw = getpwnam(cfg->socket_user);

		if (pw == NULL) {
			snprintf(err, errlen, "socket_user %s: no such user",
				 cfg->socket_user);
			return -ENOENT;
		}
		*uid = pw->pw_uid;
	}
	if (cfg->socket_group != NULL) {
		struct group *gr = getgrnam(cfg->socket_group);

		if (gr == NULL) {
			snprintf(err, errlen, "socket_group %s: no such group",
				 cfg->socket_group);
			return -ENOENT;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* A socket file that no daemon answers on is stale; a live one is not
 * ours to take. */
static int clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		snprintf(err, errlen, "%s: another daemon is listening there",
			 sa->sun_path);
		rc = -EADDRINUSE;
	} else if (errno == ECONNREFUSED) {
		unlink(sa->sun_path);
	}
	close(fd);
	return rc;
}

int listener_open(const struct dconfig *cfg, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	uid_t uid;
	gid_t gid;
	mode_t old;
	int fd, rc;

	if (strlen(cfg->socket_name) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket_name %s is too long",
			 cfg->socket_name);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, cfg->socket_name);
	rc = sockact_take(cfg->socket_name, &fd, err, errlen);
	if (rc != 0) {
		activated = rc > 0;
		if (activated)
			tplog(LOG_NOTICE, "%s: socket passed by the service "
			      "manager (fd %d)", cfg->socket_name, fd);
		return rc > 0 ? fd : rc;
	}
	rc = lookup_owner(cfg, &uid, &gid, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s", cfg->socket_name);
	if (strrchr(dir, '/') != NULL && strrchr(dir, '/') != dir) {
		*strrchr(dir, '/') = '\0';
		paths_mkdir_p(dir, 0700);
	}
	rc = clear_stale(&sa, err, errlen);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto syserr;
	/* Never a moment with a wider mode than configured. */
	old = umask(0777 & ~cfg->socket_mode);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(sa.sun_path, cfg->socket_mode) < 0)
		goto syserr_close;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(sa.sun_path, uid, gid) < 0)
		goto syserr_close;
	if (listen(fd, SOMAXCONN) < 0)
		goto syserr_close;
	return fd;
syserr_close:
	rc = -errno;
	close(fd);
	snprintf(err, errlen, "%s: %s", cfg->socket_name, strerror(-rc));
	return rc;
syserr:
	rc = -errno;
	snprintf(err, errlen, "%s: %s", cfg->socket_name, strerror(-rc));
	return rc;
}

static void accept_on_worker(void *arg)
{
	ctlconn_accept(worker_self(), (int)(intptr_t)arg);
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: let sessions end
				 * rather than spin on the ready socket. */
				tplog(LOG_ERR, "accept: %s", strerror(errno));
				usleep(50000);
			}
			return;
		}
		if (worker_post(worker_next(), accept_on_worker,
				(void *)(intptr_t)fd) < 0) {
			tplog(LOG_ERR, "accept: out of memory");
			close(fd);
		}
	}
}

int listener_run(int lfd, int stop_fd, int (*on_stop)(void))
{
	struct pollfd p[2] = { { lfd, POLLIN, 0 }, { stop_fd, POLLIN, 0 } };

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents & POLLIN) {
			if (on_stop())
				return 0;
		}
		if (p[0].revents & POLLIN)
			accept_all(lfd);
		else if (p[0].revents & (POLLERR | POLLHUP))
			return -EIO;
	}
}

void listener_close(int lfd, const struct dconfig *cfg)
{
	close(lfd);
	if (!activated)
		unlink(cfg->socket_name);
}

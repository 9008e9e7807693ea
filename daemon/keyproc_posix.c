/* keyproc_posix -- the key process on POSIX (keyproc_int.h, platform):
 * socketpairs as its channels, fork and exec of the daemon's own
 * executable with --key-process, the connections on fds 3.., the parent
 * death signal, waitpid; and, in the key process, its entry point and
 * the switch to the daemon's user. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* close_range, setgroups */
#endif
#include "keyproc.h"
#include "keyproc_int.h"
#include "tplog.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64

/* ---- I/O --------------------------------------------------------------- */

long kp_recv_some(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = recv(fd, p, n, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return (long)r;
}

long kp_send_some(int fd, const void *p, size_t n)
{
	ssize_t w;

	do
		w = send(fd, p, n, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : (long)w;
}

long kp_send_hdr(int fd, const struct kp_hdr *h, const void *p)
{
	struct iovec iov[2] = { { (void *)h, sizeof(*h) },
				{ (void *)p, h->len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = h->len ? 2 : 1 };
	ssize_t w;

	do
		w = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : (long)w;
}

int kp_wait_readable(int fd, int ms)
{
	struct pollfd pf = { fd, POLLIN, 0 };
	int rc = poll(&pf, 1, ms);

	return rc < 0 ? -errno : rc;
}

void kp_close(int fd)
{
	close(fd);
}

void kp_shutdown(int fd)
{
	shutdown(fd, SHUT_RDWR);
}

/* ---- the child ----------------------------------------------------------- */

static void set_timeouts(int fd, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000),
			      (suseconds_t)(ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void close_from(int lo)
{
	if (close_range((unsigned)lo, ~0U, 0) == 0)
		return;
	for (int fd = lo; fd < 65536; fd++)
		close(fd);
}

/* After fork: only async-signal-safe calls until exec (the daemon may
 * have threads).  Connections end up on fds 3..3+n-1, nothing else
 * stays open but stdio. */
static void child(const int *ends, unsigned n, pid_t parent,
		  const struct keyproc_opts *o, const char *exe, char **argv)
{
	int tmp[MAX_CONNS], fds[MAX_CONNS], lo = 3 + (int)n;
	sigset_t none;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (o->null_stdio) {
		int fd = open("/dev/null", O_RDWR);

		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
	}
	for (unsigned i = 0; i < n; i++)
		if ((tmp[i] = fcntl(ends[i], F_DUPFD_CLOEXEC, lo)) < 0)
			_exit(127);
	for (unsigned i = 0; i < n; i++)
		if ((fds[i] = dup2(tmp[i], 3 + (int)i)) < 0)
			_exit(127);
	close_from(lo);
	if (exe != NULL) {
		execv(exe, argv);
		_exit(127);
	}
	_exit(keyproc_serve(fds, n) < 0 ? 1 : 0);
}

int kp_child_start(const struct keyproc_opts *o, const char *exe,
		   unsigned n, int *par, pid_t *pidp)
{
	int chi[MAX_CONNS], sv[2], rc = 0;
	char an[12], al[12], as[4];
	char *argv[] = { "tlspool-keyproc", "--key-process", an, al, as, NULL };
	unsigned made = 0;
	pid_t pid, me = getpid();

	if (n > MAX_CONNS)
		return -EINVAL;
	snprintf(an, sizeof(an), "%u", n);
	snprintf(al, sizeof(al), "%d", o->log_level);
	snprintf(as, sizeof(as), "%d", o->log_stderr ? 1 : 0);
	for (; made < n; made++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			rc = -errno;
			goto fail;
		}
		par[made] = sv[0];
		chi[made] = sv[1];
		set_timeouts(sv[0], o->timeout_ms);
	}
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto fail;
	}
	if (pid == 0)
		child(chi, n, me, o, exe, argv);
	for (unsigned i = 0; i < n; i++)
		close(chi[i]);
	*pidp = pid;
	return 0;
fail:
	for (unsigned i = 0; i < made; i++) {
		close(par[i]);
		close(chi[i]);
	}
	return rc;
}

void kp_child_kill(pid_t pid)
{
	kill(pid, SIGKILL);
}

void kp_child_wait(pid_t pid)
{
	for (int waited = 0; waited < 2000; waited += 10) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int kp_child_ended(pid_t pid, char *how, size_t len)
{
	int st = 0;

	if (waitpid(pid, &st, WNOHANG) != pid)
		return 0;
	if (WIFSIGNALED(st))
		snprintf(how, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(how, len, "exited with status %d", WEXITSTATUS(st));
	return 1;
}

/* ---- in the key process ------------------------------------------------ */

static pid_t parent;		/* the daemon */

void kp_note_parent(void)
{
	parent = getppid();
}

int kp_drop_privileges(uint32_t uid, uint32_t gid)
{
	if (gid != KP_KEEP && (setgroups(0, NULL) < 0 || setgid(gid) < 0))
		return -1;
	if (uid != KP_KEEP && setuid(uid) < 0)
		return -1;
	/* a change of credentials clears the parent-death signal */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	return 0;
}

/* ---- the exec'd key process ------------------------------------------------- */

int kp_conns_take(int *fds, unsigned n)
{
	struct stat st;

	for (unsigned i = 0; i < n; i++) {
		fds[i] = 3 + (int)i;
		if (fstat(fds[i], &st) < 0 || !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "tlspool key process: fd %d is not "
				"a socket\n", fds[i]);
			return -1;
		}
	}
	prctl(PR_SET_NAME, "tlspool-keyproc", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	return 0;
}

void kp_conns_release(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/* tlspool-daemon -- the pool on POSIX: the listener (or socket
 * activation), the fork to the background, signals, privileges and the
 * pid file around daemon_run.c's start, reload, drain and stop. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "daemon_run.h"
#include "keyproc.h"
#include "listener.h"
#include "tplog.h"

static int sigfd = -1;
static int foreground;
static int ready_fd = -1;	/* start-up status to the waiting parent */

static void usage(FILE *f)
{
	fprintf(f, "usage: tlspool-daemon [-c CONFIG] [-f] [-t] [-l LEVEL]\n"
		"  -c CONFIG  configuration file (default: embedded defaults)\n"
		"  -f         stay in the foreground, log to stderr\n"
		"  -t         check the configuration and exit\n"
		"  -l LEVEL   log level (error, warning, notice, info, debug),\n"
		"             overriding log_level\n");
}

/* SIGCHLD: the key process ended, restart it; SIGALRM: retry that. */
static void key_process_event(unsigned signo)
{
	int delay = signo == SIGCHLD ? keyproc_reap() : keyproc_restart();

	if (delay > 0)
		alarm((unsigned)delay);
}

static int on_signal(void)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			daemon_run_reload();
			continue;
		}
		if (si.ssi_signo == SIGCHLD || si.ssi_signo == SIGALRM) {
			key_process_event(si.ssi_signo);
			continue;
		}
		tplog(LOG_NOTICE, "signal %u: draining and stopping",
		      si.ssi_signo);
		return 1;
	}
	return 0;
}

/* The key process first, then this one, to the same user and group. */
static int drop_privileges(const struct dconfig *c)
{
	struct group *gr = NULL;
	struct passwd *pw = NULL;

	if (c->daemon_group != NULL && (gr = getgrnam(c->daemon_group)) == NULL)
		goto bad_group;
	if (c->daemon_user != NULL && (pw = getpwnam(c->daemon_user)) == NULL)
		goto bad_user;
	if ((gr != NULL || pw != NULL) &&
	    keyproc_drop_privileges(pw ? pw->pw_uid : (uid_t)-1,
				    gr ? gr->gr_gid : (gid_t)-1) < 0) {
		tplog(LOG_ERR, "key process: cannot switch to daemon_user/"
		      "daemon_group");
		return -EPERM;
	}
	if (gr != NULL && (setgroups(0, NULL) < 0 || setgid(gr->gr_gid) < 0))
		goto bad_group;
	if (pw != NULL && setuid(pw->pw_uid) < 0)
		goto bad_user;
	return 0;
bad_group:
	tplog(LOG_ERR, "daemon_group %s: cannot switch", c->daemon_group);
	return -EPERM;
bad_user:
	tplog(LOG_ERR, "daemon_user %s: cannot switch", c->daemon_user);
	return -EPERM;
}

/* daemon(3), except that the parent waits for the start-up status (see
 * background_ready) and exits with it: a failed start fails the command
 * that started the daemon, with its messages on that command's stderr.
 * Forking here, before the key process is started, keeps the key
 * process a child of the daemon. */
static int background(void)
{
	char st = 1;
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid > 0) {
		close(p[1]);
		while (read(p[0], &st, 1) < 0 && errno == EINTR)
			;
		_exit(st);
	}
	close(p[0]);
	ready_fd = p[1];
	return setsid() < 0 ? -errno : 0;
}

/* Started: detach from the terminal and let the waiting parent exit 0. */
static void background_ready(void)
{
	char st = 0;
	int fd;

	if (ready_fd < 0)
		return;
	fd = open("/dev/null", O_RDWR);
	if (chdir("/") < 0 || fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 ||
	    dup2(fd, 2) < 0)
		tplog(LOG_WARNING, "detaching from the terminal: %s",
		      strerror(errno));
	if (fd > 2)
		close(fd);
	if (write(ready_fd, &st, 1) != 1)
		tplog(LOG_WARNING, "start-up status: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

/* One pool connection per worker, one for the main thread (-t: that
 * one only). */
static int start_keyproc(const struct dconfig *c, int check)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct keyproc_opts o = {
		.exe = "/proc/self/exe",
		.conns = check ? 1 : (c->workers ? c->workers
				     : cpus > 0 ? (unsigned)cpus : 1) + 1,
		.log_level = c->log_level,
		.log_stderr = check || foreground || c->log_stderr,
		.null_stdio = !check && !foreground,
	};

	return keyproc_start(&o);
}

static void write_pidfile(const char *path)
{
	FILE *f = fopen(path, "we");

	if (f == NULL) {
		tplog(LOG_WARNING, "pid file %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);	/* the key process */
	sigaddset(&set, SIGALRM);	/* its restart, delayed */
	/* Blocked before any thread starts, so only signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return sigfd < 0 ? -errno : 0;
}

static struct daemon_run_ops ops = {
	.level_override = -1,
	.start_keyproc = start_keyproc,
	.confine = drop_privileges,
};

static int run(const char *path)
{
	struct dconfig *cfg = daemon_run_config();
	char err[512];
	int lfd, rc = 1;

	/* stderr until started (background_ready), then as configured */
	if (daemon_run_load(&ops, path) < 0)
		return 1;
	lfd = listener_open(cfg, err, sizeof(err));
	if (lfd < 0) {
		tplog(LOG_ERR, "%s", err);
		goto out_cfg;
	}
	if (!foreground && (rc = background()) < 0) {
		tplog(LOG_ERR, "cannot go to the background: %s",
		      strerror(-rc));
		rc = 1;
		goto out_listener;
	}
	rc = 1;
	if (setup_signals() < 0 || daemon_run_start() < 0)
		goto out_listener;
	write_pidfile(cfg->pid_file);
	daemon_run_started(cfg->socket_name);
	background_ready();
	tplog_init("tlspool-daemon", foreground || cfg->log_stderr,
		   cfg->log_level);
	rc = listener_run(lfd, sigfd, on_signal) < 0 ? 1 : 0;
	listener_close(lfd, cfg);
	lfd = -1;
	daemon_run_stop();
	unlink(cfg->pid_file);
out_listener:
	if (lfd >= 0)
		listener_close(lfd, cfg);
out_cfg:
	daemon_run_free();
	return rc;
}

int main(int argc, char **argv)
{
	struct daemon_run_args a;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--key-process") == 0)
		return keyproc_main(argc, argv);
	rc = daemon_run_args(argc, argv, &a);
	if (rc != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	ops.level_override = a.level;
	foreground = a.foreground;
	tplog_init("tlspool-daemon", 1, LOG_NOTICE);
	gnutls_global_init();
	rc = a.check ? daemon_run_check(&ops, a.path) : run(a.path);
	gnutls_global_deinit();
	return rc;
}

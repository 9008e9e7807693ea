/* Unit tests for daemon/sockact: the sd_listen_fds protocol with real
 * sockets put on descriptor 3 as a service manager would, and every
 * reason to refuse what was passed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockact.h"

struct fx {
	char dir[64];
	char path[96];		/* the socket_name */
	char other[96];	/* another socket file */
	int saved3, saved4;	/* whatever the runner had on 3 and 4 */
};

static int bound(const char *path, int type, int do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 8), 0);
	return fd;
}

/* Put fd on target (3 or 4) as the service manager does. */
static void pass_as(int fd, int target)
{
	if (fd == target)
		return;
	assert_int_equal(dup2(fd, target), target);
	close(fd);
}

static void set_env(const char *pid, const char *fds)
{
	char buf[32];

	if (pid == NULL) {
		snprintf(buf, sizeof(buf), "%ld", (long)getpid());
		pid = buf;
	}
	setenv("LISTEN_PID", pid, 1);
	if (fds != NULL)
		setenv("LISTEN_FDS", fds, 1);
	else
		unsetenv("LISTEN_FDS");
	setenv("LISTEN_FDNAMES", "tlspool.socket", 1);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tp-sockact.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pool.sock", f->dir);
	snprintf(f->other, sizeof(f->other), "%s/other.sock", f->dir);
	f->saved3 = fcntl(3, F_DUPFD_CLOEXEC, 10);
	f->saved4 = fcntl(4, F_DUPFD_CLOEXEC, 10);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(3);
	close(4);
	if (f->saved3 >= 0) {
		dup2(f->saved3, 3);
		close(f->saved3);
	}
	if (f->saved4 >= 0) {
		dup2(f->saved4, 4);
		close(f->saved4);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	unlink(f->path);
	unlink(f->other);
	unlink(f->dir);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void test_not_activated(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int fd = 7;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	assert_int_equal(sockact_take(f->path, &fd, err, sizeof(err)), 0);
	assert_int_equal(fd, -1);
}

static void test_other_pid(void **state)
{
	struct fx *f = *state;
	char err[256] = "", pid[32];
	int fd;

	pass_as(bound(f->path, SOCK_STREAM, 1), 3);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	set_env(pid, "1");
	assert_int_equal(sockact_take(f->path, &fd, err, sizeof(err)), 0);
	/* not ours: the variables and the descriptor stay as they were */
	assert_non_null(getenv("LISTEN_FDS"));
	assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
}

static void test_takes_socket(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int fd;

	pass_as(bound(f->path, SOCK_STREAM, 1), 3);
	set_env(NULL, "1");
	assert_int_equal(sockact_take(f->path, &fd, err, sizeof(err)), 1);
	assert_int_equal(fd, 3);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
	/* and it is the socket clients reach under socket_name */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int c = socket(AF_UNIX, SOCK_STREAM, 0), a;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
		assert_int_equal(connect(c, (struct sockaddr *)&sa,
					 sizeof(sa)), 0);
		a = accept(fd, NULL, NULL);
		assert_true(a >= 0);
		close(a);
		close(c);
	}
}

/* The same file under another name (/var/run -> /run) is accepted. */
static void test_same_file_other_name(void **state)
{
	struct fx *f = *state;
	char err[256] = "", link[160];
	int fd;

	pass_as(bound(f->path, SOCK_STREAM, 1), 3);
	snprintf(link, sizeof(link), "%s/alias", f->dir);
	assert_int_equal(symlink(".", link), 0);
	strcat(link, "/pool.sock");
	set_env(NULL, "1");
	assert_int_equal(sockact_take(link, &fd, err, sizeof(err)), 1);
	assert_int_equal(fd, 3);
	snprintf(link, sizeof(link), "%s/alias", f->dir);
	unlink(link);
}

/* Two passed: the one bound to socket_name is taken, both get CLOEXEC. */
static void test_second_of_two(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int fd;

	pass_as(bound(f->other, SOCK_STREAM, 1), 3);
	pass_as(bound(f->path, SOCK_STREAM, 1), 4);
	set_env(NULL, "2");
	assert_int_equal(sockact_take(f->path, &fd, err, sizeof(err)), 1);
	assert_int_equal(fd, 4);
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
}

static void expect_refusal(struct fx *f, const char *fds, int rc,
			   const char *why)
{
	char err[512] = "";
	int fd;

	set_env(NULL, fds);
	assert_int_equal(sockact_take(f->path, &fd, err, sizeof(err)), rc);
	assert_int_equal(fd, -1);
	if (strstr(err, why) == NULL)
		fail_msg("message \"%s\" does not say \"%s\"", err, why);
}

static void test_not_listening(void **state)
{
	struct fx *f = *state;

	pass_as(bound(f->path, SOCK_STREAM, 0), 3);
	expect_refusal(f, "1", -EBADF, "not listening");
}

static void test_datagram(void **state)
{
	struct fx *f = *state;

	pass_as(bound(f->path, SOCK_DGRAM, 0), 3);
	expect_refusal(f, "1", -EBADF, "not a stream socket");
}

static void test_wrong_path(void **state)
{
	struct fx *f = *state;

	close(bound(f->path, SOCK_STREAM, 1));	/* socket_name exists */
	pass_as(bound(f->other, SOCK_STREAM, 1), 3);
	expect_refusal(f, "1", -EBADF, "bound to another path");
}

static void test_inet(void **state)
{
	struct fx *f = *state;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	close(bound(f->path, SOCK_STREAM, 1));
	assert_true(s >= 0);
	assert_int_equal(listen(s, 1), 0);
	pass_as(s, 3);
	expect_refusal(f, "1", -EBADF, "not an AF_UNIX socket");
}

static void test_not_a_socket(void **state)
{
	struct fx *f = *state;
	int p[2];

	close(bound(f->path, SOCK_STREAM, 1));
	assert_int_equal(pipe(p), 0);
	pass_as(p[0], 3);
	close(p[1]);
	expect_refusal(f, "1", -EBADF, "not a socket");
}

static void test_closed_fd(void **state)
{
	struct fx *f = *state;

	close(bound(f->path, SOCK_STREAM, 1));
	close(3);
	expect_refusal(f, "1", -EBADF, "not an open descriptor");
}

static void test_socket_name_missing(void **state)
{
	struct fx *f = *state;

	pass_as(bound(f->other, SOCK_STREAM, 1), 3);
	expect_refusal(f, "1", -ENOENT, f->path);
}

static void test_bad_numbers(void **state)
{
	struct fx *f = *state;
	static const char *bad[] = { "", "x", "-1", "+1", " 1", "1x",
				     "99999999999999999999999" };
	char err[256];
	int fd;

	pass_as(bound(f->path, SOCK_STREAM, 1), 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_env(NULL, bad[i]);
		assert_int_equal(sockact_take(f->path, &fd, err,
					      sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "LISTEN_FDS"));
		set_env(bad[i], "1");
		assert_int_equal(sockact_take(f->path, &fd, err,
					      sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "LISTEN_PID"));
	}
	set_env(NULL, NULL);	/* LISTEN_FDS missing */
	assert_int_equal(sockact_take(f->path, &fd, err, sizeof(err)),
			 -EINVAL);
}

static void test_zero_fds(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	int fd;

	set_env(NULL, "0");
	assert_int_equal(sockact_take(f->path, &fd, err, sizeof(err)), 0);
	assert_null(getenv("LISTEN_PID"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_not_activated),
		T(test_other_pid),
		T(test_takes_socket),
		T(test_same_file_other_name),
		T(test_second_of_two),
		T(test_not_listening),
		T(test_datagram),
		T(test_wrong_path),
		T(test_inet),
		T(test_not_a_socket),
		T(test_closed_fd),
		T(test_socket_name_missing),
		T(test_bad_numbers),
		T(test_zero_fds),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for lib/paths: default socket, pidfile and state locations
 * for root and for other users, and paths_mkdir_p.
 *
 * The non-root rules are checked by one function that plain-C-checks
 * everything and writes a report.  Run as a normal user it is called
 * directly; run as root (as CI does) it runs in a child process that
 * drops to another uid first, so both branches are covered either way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"

#define PBUF 4096

/* ---- non-root rules, checked without cmocka (may run in a child) ---- */

struct report {
	char text[2048];
	size_t used;
	int failures;
};

static void note(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	r->failures++;
	if (r->used >= sizeof(r->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->text + r->used, sizeof(r->text) - r->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->used += (size_t)n;
	if (r->used > sizeof(r->text) - 1)
		r->used = sizeof(r->text) - 1;
}

typedef int (*pathfn)(char *, size_t);

static void expect(struct report *r, const char *what, pathfn f,
		   const char *want)
{
	char buf[PBUF];
	int rc;

	memset(buf, 'x', sizeof(buf));
	rc = f(buf, sizeof(buf));
	if (rc != 0)
		note(r, "%s: rc %d, want \"%s\"\n", what, rc, want);
	else if (strcmp(buf, want) != 0)
		note(r, "%s: got \"%s\", want \"%s\"\n", what, buf, want);
}

static void expect_rc(struct report *r, const char *what, pathfn f,
		      size_t size, int want)
{
	char buf[PBUF];
	int rc;

	rc = f(buf, size);
	if (rc != want)
		note(r, "%s (size %zu): rc %d, want %d\n", what, size, rc, want);
}

/* Exactly strlen+1 bytes fit; one less is too long. */
static void expect_fit(struct report *r, const char *what, pathfn f)
{
	char buf[PBUF];
	size_t len;

	if (f(buf, sizeof(buf)) != 0) {
		note(r, "%s: fails with a large buffer\n", what);
		return;
	}
	len = strlen(buf);
	expect_rc(r, what, f, len + 1, 0);
	expect_rc(r, what, f, len, -ENAMETOOLONG);
	expect_rc(r, what, f, 1, -ENAMETOOLONG);
}

static void nonroot_checks(struct report *r)
{
	char want[PBUF], tmpdir[64], *longdir;
	struct passwd *pw;
	uid_t uid = getuid();

	if (uid == 0) {
		note(r, "nonroot_checks called as root\n");
		return;
	}

	/* runtime dir from XDG_RUNTIME_DIR */
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	expect(r, "runtime dir (XDG)", paths_runtime_dir,
	       "/run/user/4242/tlspool");
	expect(r, "socket (XDG)", paths_default_socket,
	       "/run/user/4242/tlspool/tlspool.sock");
	expect(r, "pidfile (XDG)", paths_default_pidfile,
	       "/run/user/4242/tlspool/tlspool.pid");
	expect_fit(r, "socket (XDG)", paths_default_socket);
	expect_fit(r, "pidfile (XDG)", paths_default_pidfile);
	expect_fit(r, "runtime dir (XDG)", paths_runtime_dir);

	/* without it, or when it is not absolute: /tmp/tlspool-UID */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tlspool-%u", (unsigned)uid);
	for (int i = 0; i < 3; i++) {
		static const char *const vals[] = { NULL, "", "run/rel" };

		if (vals[i] == NULL)
			unsetenv("XDG_RUNTIME_DIR");
		else
			setenv("XDG_RUNTIME_DIR", vals[i], 1);
		expect(r, "runtime dir (tmp)", paths_runtime_dir, tmpdir);
		snprintf(want, sizeof(want), "%s/tlspool.sock", tmpdir);
		expect(r, "socket (tmp)", paths_default_socket, want);
		snprintf(want, sizeof(want), "%s/tlspool.pid", tmpdir);
		expect(r, "pidfile (tmp)", paths_default_pidfile, want);
	}
	expect_fit(r, "socket (tmp)", paths_default_socket);

	/* a runtime dir longer than any buffer */
	longdir = malloc(PBUF + 100);
	if (longdir != NULL) {
		longdir[0] = '/';
		memset(longdir + 1, 'd', PBUF + 98);
		longdir[PBUF + 99] = '\0';
		setenv("XDG_RUNTIME_DIR", longdir, 1);
		expect_rc(r, "long runtime dir", paths_runtime_dir, PBUF,
			  -ENAMETOOLONG);
		expect_rc(r, "long socket", paths_default_socket, PBUF,
			  -ENAMETOOLONG);
		expect_rc(r, "long pidfile", paths_default_pidfile, PBUF,
			  -ENAMETOOLONG);
		free(longdir);
	}

	/* state dir from XDG_STATE_HOME, else HOME, else the passwd entry */
	setenv("XDG_STATE_HOME", "/srv/state", 1);
	setenv("HOME", "/home/tester", 1);
	expect(r, "state (XDG)", paths_state_dir, "/srv/state/tlspool");
	expect_fit(r, "state (XDG)", paths_state_dir);
	unsetenv("XDG_STATE_HOME");
	expect(r, "state (HOME)", paths_state_dir,
	       "/home/tester/.local/state/tlspool");
	expect_fit(r, "state (HOME)", paths_state_dir);
	setenv("XDG_STATE_HOME", "relative/state", 1);
	expect(r, "state (relative XDG)", paths_state_dir,
	       "/home/tester/.local/state/tlspool");
	setenv("XDG_STATE_HOME", "", 1);
	expect(r, "state (empty XDG)", paths_state_dir,
	       "/home/tester/.local/state/tlspool");

	pw = getpwuid(uid);
	for (int i = 0; i < 2; i++) {
		if (i == 0)
			unsetenv("HOME");
		else
			setenv("HOME", "relative/home", 1);
		if (pw != NULL) {
			snprintf(want, sizeof(want), "%s/.local/state/tlspool",
				 pw->pw_dir);
			expect(r, "state (passwd)", paths_state_dir, want);
		} else {
			expect_rc(r, "state (no passwd entry)", paths_state_dir,
				  PBUF, -ENOENT);
		}
	}
}

/* ---- cmocka tests ---- */

static void assert_path(pathfn f, const char *want)
{
	char buf[PBUF];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(f(buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void root_checks(void)
{
	/* the environment does not matter for root */
	for (int i = 0; i < 2; i++) {
		if (i == 0) {
			setenv("XDG_RUNTIME_DIR", "/run/user/0", 1);
			setenv("XDG_STATE_HOME", "/root/.state", 1);
			setenv("HOME", "/root", 1);
		} else {
			unsetenv("XDG_RUNTIME_DIR");
			unsetenv("XDG_STATE_HOME");
			unsetenv("HOME");
		}
		assert_path(paths_runtime_dir, "/var/run");
		assert_path(paths_default_socket, "/var/run/tlspool.sock");
		assert_path(paths_default_pidfile, "/var/run/tlspool.pid");
		assert_path(paths_state_dir, "/var/lib/tlspool");
	}
	{
		char buf[32];

		assert_int_equal(paths_default_socket(buf, 22), 0);
		assert_int_equal(paths_default_socket(buf, 21), -ENAMETOOLONG);
		assert_int_equal(paths_default_pidfile(buf, 21), 0);
		assert_int_equal(paths_default_pidfile(buf, 20), -ENAMETOOLONG);
		assert_int_equal(paths_state_dir(buf, 17), 0);
		assert_int_equal(paths_state_dir(buf, 16), -ENAMETOOLONG);
		assert_int_equal(paths_runtime_dir(buf, 9), 0);
		assert_int_equal(paths_runtime_dir(buf, 8), -ENAMETOOLONG);
		assert_int_equal(paths_default_socket(buf, 5), -ENAMETOOLONG);
	}
}

#define CHILD_SKIP 77

/* Run nonroot_checks in a child that became uid; returns its report.
 * Skips the test when the uid cannot be taken. */
static void run_as(uid_t uid, gid_t gid)
{
	struct report r;
	int pfd[2], status;
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	memset(&r, 0, sizeof(r));
	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(CHILD_SKIP);
		nonroot_checks(&r);
		if (write(pfd[1], r.text, r.used) < 0)
			_exit(2);
		_exit(r.failures == 0 ? 0 : 1);
	}
	close(pfd[1]);
	while (got < sizeof(r.text) - 1 &&
	       (n = read(pfd[0], r.text + got, sizeof(r.text) - 1 - got)) > 0)
		got += (size_t)n;
	r.text[got] = '\0';
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == CHILD_SKIP) {
		print_message("cannot become uid %u; non-root rules not run\n",
			      (unsigned)uid);
		skip();
	}
	if (WEXITSTATUS(status) != 0 || got != 0)
		fail_msg("as uid %u:\n%s", (unsigned)uid, r.text);
}

static void test_default_paths(void **state)
{
	(void)state;
	if (getuid() == 0) {
		root_checks();
	} else {
		struct report r;

		memset(&r, 0, sizeof(r));
		nonroot_checks(&r);
		if (r.failures != 0)
			fail_msg("%s", r.text);
	}
}

/* As root, also check the non-root rules as a uid without a passwd
 * entry (HOME fallback fails with -ENOENT) and as nobody (with one). */
static void test_nonroot_as_other_uid(void **state)
{
	(void)state;
	if (getuid() != 0) {
		print_message("not root: non-root rules run in "
			      "test_default_paths\n");
		skip();
	}
	run_as(54321, 54321);
}

static void test_nonroot_as_nobody(void **state)
{
	struct passwd *pw;

	(void)state;
	if (getuid() != 0)
		skip();
	pw = getpwnam("nobody");
	if (pw == NULL || pw->pw_uid == 0)
		skip();
	run_as(pw->pw_uid, pw->pw_gid);
}

/* ---- paths_mkdir_p ---- */

struct tmp {
	char dir[256];
};

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s/paths-XXXXXX",
		 base && base[0] ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;

	chmod(t->dir, 0700);
	nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

static char *join(const struct tmp *t, const char *rel)
{
	static char buf[4][512];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", t->dir, rel);
	return b;
}

static void assert_dir(const char *path, unsigned mode)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	if (mode != 0)
		assert_int_equal(st.st_mode & 07777, mode);
}

static void make_file(const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
}

static void test_mkdir_nested(void **state)
{
	struct tmp *t = *state;
	mode_t old = umask(022);

	assert_int_equal(paths_mkdir_p(join(t, "a/b/c"), 0700), 0);
	assert_dir(join(t, "a"), 0700);
	assert_dir(join(t, "a/b"), 0700);
	assert_dir(join(t, "a/b/c"), 0700);
	/* idempotent, and existing directories keep their mode */
	assert_int_equal(paths_mkdir_p(join(t, "a/b/c"), 0755), 0);
	assert_dir(join(t, "a/b/c"), 0700);
	assert_int_equal(paths_mkdir_p(join(t, "a/b"), 0700), 0);
	/* extending an existing tree */
	assert_int_equal(paths_mkdir_p(join(t, "a/b/c/d/e"), 0750), 0);
	assert_dir(join(t, "a/b/c/d"), 0750);
	assert_dir(join(t, "a/b/c/d/e"), 0750);
	/* the umask still applies */
	assert_int_equal(paths_mkdir_p(join(t, "m"), 0777), 0);
	assert_dir(join(t, "m"), 0755);
	/* the existing base itself */
	assert_int_equal(paths_mkdir_p(t->dir, 0700), 0);
	assert_int_equal(paths_mkdir_p("/", 0700), 0);
	umask(old);
}

static void test_mkdir_slashes(void **state)
{
	struct tmp *t = *state;

	assert_int_equal(paths_mkdir_p(join(t, "s/t/"), 0700), 0);
	assert_dir(join(t, "s/t"), 0);
	assert_int_equal(paths_mkdir_p(join(t, "s/t/"), 0700), 0);
	assert_int_equal(paths_mkdir_p(join(t, "x//y///z"), 0700), 0);
	assert_dir(join(t, "x/y/z"), 0);
	assert_int_equal(paths_mkdir_p(join(t, "x/./y/../w"), 0700), 0);
	assert_dir(join(t, "x/w"), 0);
}

static void test_mkdir_relative(void **state)
{
	struct tmp *t = *state;
	char cwd[4096];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(t->dir), 0);
	assert_int_equal(paths_mkdir_p("rel/sub", 0700), 0);
	assert_int_equal(paths_mkdir_p("rel/sub", 0700), 0);
	assert_int_equal(paths_mkdir_p("single", 0700), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_dir(join(t, "rel/sub"), 0);
	assert_dir(join(t, "single"), 0);
}

static void test_mkdir_file_in_way(void **state)
{
	struct tmp *t = *state;
	int rc;

	make_file(join(t, "f"));
	/* a file as an inner component */
	assert_int_equal(paths_mkdir_p(join(t, "f/x"), 0700), -ENOTDIR);
	assert_int_equal(paths_mkdir_p(join(t, "f/x/y"), 0700), -ENOTDIR);
	/* a file where the directory itself should be */
	rc = paths_mkdir_p(join(t, "f"), 0700);
	assert_true(rc == -EEXIST || rc == -ENOTDIR);
	rc = paths_mkdir_p(join(t, "f/"), 0700);
	assert_true(rc == -EEXIST || rc == -ENOTDIR);
	/* deeper: a/file/b */
	assert_int_equal(paths_mkdir_p(join(t, "d1"), 0700), 0);
	make_file(join(t, "d1/file"));
	rc = paths_mkdir_p(join(t, "d1/file"), 0700);
	assert_true(rc == -EEXIST || rc == -ENOTDIR);
	assert_int_equal(paths_mkdir_p(join(t, "d1/file/b"), 0700), -ENOTDIR);
	/* nothing was replaced */
	{
		struct stat st;

		assert_int_equal(stat(join(t, "f"), &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
}

static void test_mkdir_symlinks(void **state)
{
	struct tmp *t = *state;
	int rc;

	assert_int_equal(paths_mkdir_p(join(t, "real"), 0700), 0);
	assert_int_equal(symlink(join(t, "real"), join(t, "link")), 0);
	/* a symlink to a directory is a directory on the way */
	assert_int_equal(paths_mkdir_p(join(t, "link/sub"), 0700), 0);
	assert_dir(join(t, "real/sub"), 0);
	assert_int_equal(paths_mkdir_p(join(t, "link"), 0700), 0);
	/* a dangling symlink is in the way */
	assert_int_equal(symlink(join(t, "nowhere"), join(t, "dangling")), 0);
	rc = paths_mkdir_p(join(t, "dangling"), 0700);
	assert_true(rc < 0);
}

static void test_mkdir_bad_args(void **state)
{
	struct tmp *t = *state;
	char *longp = malloc(8192);

	assert_true(paths_mkdir_p("", 0700) < 0);
	assert_non_null(longp);
	snprintf(longp, 8192, "%s/", t->dir);
	memset(longp + strlen(longp), 'n', 5000);
	longp[strlen(t->dir) + 1 + 5000] = '\0';
	assert_int_equal(paths_mkdir_p(longp, 0700), -ENAMETOOLONG);
	free(longp);
	/* one component too long for the file system */
	{
		char name[400];

		snprintf(name, sizeof(name), "%s/", t->dir);
		memset(name + strlen(name), 'c', 300);
		name[strlen(t->dir) + 1 + 300] = '\0';
		assert_int_equal(paths_mkdir_p(name, 0700), -ENAMETOOLONG);
	}
}

static void test_mkdir_no_permission(void **state)
{
	struct tmp *t = *state;

	if (geteuid() == 0)
		skip(); /* root may write anywhere */
	assert_int_equal(paths_mkdir_p(join(t, "ro"), 0500), 0);
	assert_int_equal(paths_mkdir_p(join(t, "ro/x/y"), 0700), -EACCES);
}

#define TT(f) cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_paths),
		cmocka_unit_test(test_nonroot_as_other_uid),
		cmocka_unit_test(test_nonroot_as_nobody),
		TT(test_mkdir_nested),
		TT(test_mkdir_slashes),
		TT(test_mkdir_relative),
		TT(test_mkdir_file_in_way),
		TT(test_mkdir_symlinks),
		TT(test_mkdir_bad_args),
		TT(test_mkdir_no_permission),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

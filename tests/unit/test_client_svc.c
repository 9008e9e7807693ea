/* test_client_svc -- libtlspool's callback services (local identity
 * chooser, PIN entry) against a fake daemon, and the file helpers
 * tlspool_configvar() and tlspool_pid().
 *
 * The fake daemon is a thread that accepts one connection on a real UNIX
 * socket in a temporary directory; it records the first failed check in
 * f->fail, and the main thread asserts on it after joining.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <tlspool/starttls.h>

#include "codec.h"
#include "fake_daemon.h"
#include "fdpass.h"

/* ---- callback services on their own connection ---- */

static int lid_calls;

static char *lid_cb(struct pioc_lidentry *e, void *data)
{
	lid_calls++;
	if (strcmp(e->remoteid, "peer@example.net") != 0)
		return "unexpected remote";
	strcpy(e->localid, (const char *)data);
	return NULL;
}

static void serve_lid(struct fake *f, int conn)
{
	struct tlspool_command cmd;
	struct pioc_lidentry *lid = &cmd.pio_data.pioc_lidentry;

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_LIDENTRY_REGISTER_V2 &&
		      lid->flags == PIOF_LIDENTRY_WANT_DBENTRY &&
		      lid->timeout == 1234);
	memset(&cmd.pio_data, 0, sizeof(cmd.pio_data));
	cmd.pio_cmd = PIOC_LIDENTRY_CALLBACK_V2;
	cmd.pio_cbid = 5;
	strcpy(lid->remoteid, "peer@example.net");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_LIDENTRY_CALLBACK_V2 &&
		      cmd.pio_cbid == 5);
	FAKE_CHECK(f, strcmp(lid->localid, "me@example.org") == 0);
	/* a callback the application refuses: ERROR, cbid kept */
	memset(&cmd.pio_data, 0, sizeof(cmd.pio_data));
	cmd.pio_cbid = 6;
	strcpy(lid->remoteid, "stranger@example.com");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_ERROR_V2 && cmd.pio_cbid == 6);
	FAKE_CHECK(f, cmd.pio_data.pioc_error.tlserrno == EPERM);
	FAKE_CHECK(f, strcmp(cmd.pio_data.pioc_error.message,
			     "unexpected remote") == 0);
	/* then the daemon goes away */
}

static void pin_cb(pinentry_t *pe, void *data)
{
	(void)data;
	if (strcmp(pe->prompt, "PIN?") == 0)
		strcpy(pe->pin, "1234");
}

static void serve_pin(struct fake *f, int conn)
{
	struct tlspool_command cmd;

	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_PINENTRY_V2 &&
		      cmd.pio_data.pioc_pinentry.timeout_us == 5000000);
	memset(&cmd.pio_data, 0, sizeof(cmd.pio_data));
	cmd.pio_cbid = 9;
	strcpy(cmd.pio_data.pioc_pinentry.prompt, "PIN?");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
	FAKE_CHECK(f, fake_recv(conn, &cmd, NULL) == 0);
	FAKE_CHECK(f, cmd.pio_cmd == PIOC_PINENTRY_V2 && cmd.pio_cbid == 9);
	FAKE_CHECK(f, strcmp(cmd.pio_data.pioc_pinentry.pin, "1234") == 0);
	codec_set_error(&cmd, EACCES, "registration ended");
	FAKE_CHECK(f, fake_send(conn, &cmd, -1) == 0);
}

static void test_services(void **state)
{
	struct fake f;
	char me[] = "me@example.org";

	(void)state;
	fake_start(&f, serve_lid, 1);
	lid_calls = 0;
	assert_int_equal(tlspool_localid_service(f.path,
			 PIOF_LIDENTRY_WANT_DBENTRY, 1234, lid_cb, me), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(lid_calls, 2);
	fake_join(&f, 0);

	fake_start(&f, serve_pin, 1);
	assert_int_equal(tlspool_pin_service(f.path, 0, 5000000, pin_cb, NULL),
			 -1);
	assert_int_equal(errno, EACCES);
	fake_join(&f, 0);
	assert_int_equal(tlspool_localid_service(f.path, 0, 0, NULL, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

/* ---- configvar and pid ---- */

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_config_pid(void **state)
{
	char dir[] = "/tmp/tpcfgXXXXXX", cfg[64], pidf[64], num[32], *v;
	pid_t child;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/tlspool.conf", dir);
	snprintf(pidf, sizeof(pidf), "%s/tlspool.pid", dir);
	write_file(cfg, "# test\nsocket_name /tmp/x.sock\ndaemon_user nobody\n");
	v = tlspool_configvar(cfg, "daemon_user");
	assert_string_equal(v, "nobody");
	free(v);
	assert_null(tlspool_configvar(cfg, "dbenv_dir"));
	assert_int_equal(errno, ENOENT);
	assert_null(tlspool_configvar("/nonexistent/tlspool.conf", "x"));
	assert_int_equal(errno, ENOENT);
	snprintf(num, sizeof(num), "%d\n", (int)getpid());
	write_file(pidf, num);
	assert_int_equal(tlspool_pid(pidf), (int)getpid());
	child = fork();
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	snprintf(num, sizeof(num), "%d", (int)child);
	write_file(pidf, num);	/* a process that is gone */
	assert_int_equal(tlspool_pid(pidf), -1);
	assert_int_equal(errno, ESRCH);
	write_file(pidf, "12x\n");
	assert_int_equal(tlspool_pid(pidf), -1);
	assert_int_equal(errno, EINVAL);
	unlink(pidf);
	assert_int_equal(tlspool_pid(pidf), -1);
	assert_int_equal(errno, ENOENT);
	unlink(cfg);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_config_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

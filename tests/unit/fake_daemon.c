/* fake_daemon -- a fake TLS Pool daemon for the client unit tests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "fake_daemon.h"
#include "fdpass.h"

void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < f->nconn; i++) {
		int conn = accept(f->lfd, NULL, NULL);

		if (conn < 0) {
			snprintf(f->fail, sizeof(f->fail), "accept: %s",
				 strerror(errno));
			break;
		}
		f->serve(f, conn);
		close(conn);
	}
	return NULL;
}

int fake_listen(struct fake *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	strcpy(sun.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	return listen(f->lfd, 16);
}

void fake_run(struct fake *f, fake_serve_fn serve, int nconn)
{
	f->serve = serve;
	f->nconn = nconn;
	f->fail[0] = '\0';
	assert_int_equal(fake_listen(f), 0);
	assert_int_equal(pipe(f->go), 0);
	assert_int_equal(pthread_create(&f->thr, NULL, fake_main, f), 0);
}

void fake_start(struct fake *f, fake_serve_fn serve, int nconn)
{
	memset(f, 0, sizeof(*f));
	f->grant = PIOF_FACILITY_STARTTLS;
	strcpy(f->dir, "/tmp/tpfakeXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pool.sock", f->dir);
	fake_run(f, serve, nconn);
}

void fake_join(struct fake *f, int keep_dir)
{
	pthread_join(f->thr, NULL);
	close(f->lfd);
	close(f->go[0]);
	close(f->go[1]);
	unlink(f->path);
	if (!keep_dir)
		rmdir(f->dir);
	if (f->fail[0] != '\0')
		fail_msg("fake daemon: %s", f->fail);
}

void fake_go(struct fake *f)
{
	assert_int_equal(write(f->go[1], "g", 1), 1);
}

int fake_wait(struct fake *f)
{
	char c;

	return read(f->go[0], &c, 1) == 1 ? 0 : -1;
}

int fake_recv(int conn, struct tlspool_command *cmd, int *fd)
{
	char why[128];
	int dummy = -1;

	if (fd == NULL)
		fd = &dummy;
	*fd = -1;
	if (fdpass_recv(conn, cmd, CODEC_MSGLEN, fd) != (ssize_t)CODEC_MSGLEN)
		return -1;
	if (fd == &dummy && dummy >= 0)
		close(dummy);
	return codec_check(cmd, CODEC_MSGLEN, CODEC_TO_DAEMON, why,
			   sizeof(why));
}

int fake_send(int conn, const struct tlspool_command *cmd, int fd)
{
	return fdpass_send(conn, cmd, CODEC_MSGLEN, fd);
}

int fake_send_raw(int conn, const void *buf, size_t len)
{
	return fdpass_send(conn, buf, len, -1);
}

void fake_ping_reply(struct tlspool_command *cmd, const char *who,
		     uint32_t fac)
{
	memset(&cmd->pio_data, 0, sizeof(cmd->pio_data));
	cmd->pio_cmd = PIOC_PING_V2;
	snprintf(cmd->pio_data.pioc_ping.YYYYMMDD_producer,
		 sizeof(cmd->pio_data.pioc_ping.YYYYMMDD_producer), "%s", who);
	cmd->pio_data.pioc_ping.facilities = fac;
}

/* fake_daemon -- a fake TLS Pool daemon for the client unit tests
 * (test_client, test_client_svc, test_async).
 *
 * The fake daemon is a thread that accepts connections, one after
 * another, on a real UNIX socket in a temporary directory and hands each
 * to a serve function.  cmocka assertions must run on the main thread, so
 * the fake records the first failed check in f->fail (FAKE_CHECK) and
 * fake_join() asserts on it after joining the thread.  Steps that must
 * happen in a fixed order are paced with a pipe: the test calls fake_go()
 * to let the fake's fake_wait() return.
 */
#ifndef TP_FAKE_DAEMON_H
#define TP_FAKE_DAEMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <tlspool/commands.h>

struct fake;
typedef void (*fake_serve_fn)(struct fake *f, int conn);

struct fake {
	char dir[64];
	char path[128];
	int lfd;
	int nconn;		/* connections to accept, one after another */
	int go[2];		/* test -> fake pacing */
	fake_serve_fn serve;
	pthread_t thr;
	char fail[256];
	uint32_t grant;		/* facilities the fake grants */
	uint8_t ctlkey[TLSPOOL_CTLKEYLEN];	/* one the fake remembers */
};

#define FAKE_CHECK(f, cond)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			if ((f)->fail[0] == '\0')                             \
				snprintf((f)->fail, sizeof((f)->fail),        \
					 "line %d: %s", __LINE__, #cond);     \
			return;                                               \
		}                                                             \
	} while (0)

/* The pieces fake_run() is made of: listen on f->path (0 or -1), and
 * the thread body that serves f->nconn connections with f->serve. */
int fake_listen(struct fake *f);
void *fake_main(void *arg);

/* Make a temporary directory and serve nconn connections on
 * f->path there (grant: STARTTLS). */
void fake_start(struct fake *f, fake_serve_fn serve, int nconn);

/* Serve again on f->path, in the directory a fake_join(f, 1) kept. */
void fake_run(struct fake *f, fake_serve_fn serve, int nconn);

/* Wait for the fake to finish; keep the directory when keep_dir. */
void fake_join(struct fake *f, int keep_dir);

/* Let the fake go on (test side) / wait for that (fake side: 0 or -1). */
void fake_go(struct fake *f);
int fake_wait(struct fake *f);

/* Receive one command (and the fd passed with it into *fd, when fd is not
 * NULL) and check it as the daemon would; 0 or -1. */
int fake_recv(int conn, struct tlspool_command *cmd, int *fd);

/* Send one command with fd (-1: none) / len raw bytes; 0 or -1. */
int fake_send(int conn, const struct tlspool_command *cmd, int fd);
int fake_send_raw(int conn, const void *buf, size_t len);

/* Turn cmd into a PING reply from who granting fac. */
void fake_ping_reply(struct tlspool_command *cmd, const char *who,
		     uint32_t fac);

#endif

/* control_async -- the "async HOST PORT" command of control_client:
 * STARTTLS through the asynchronous API, with the PLAINTEXT_CONNECT
 * callback answered from a poll() loop and a PING in flight on the same
 * pool connection; closing the pool connection must end the session. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tlspool/async.h>
#include <tlspool/starttls.h>

#include "control_client.h"
#include "testutil.h"

struct async_tls {
	struct tlspool_async_request req;	/* first: cbfunc gets this */
	struct tlspool_async_pool *pool;
	int plain;		/* our end of the socketpair */
	int done;		/* 1 success, -1 failure */
	int callbacks;
};

struct async_ping {
	struct tlspool_async_request req;
	int done;
};

static void async_tls_cb(struct tlspool_async_request *r, int opt_fd)
{
	struct async_tls *a = (struct async_tls *)r;
	struct tlspool_command *cmd = &r->cmd;
	int sv[2];

	if (opt_fd >= 0)
		close(opt_fd);	/* the daemon never sends one */
	if (cmd->pio_cbid != 0 && cmd->pio_cmd == PIOC_PLAINTEXT_CONNECT_V2) {
		a->callbacks++;
		say("async callback PLAINTEXT_CONNECT cbid=%u local=%s remote=%s",
		    cmd->pio_cbid, cmd->pio_data.pioc_starttls.localid,
		    cmd->pio_data.pioc_starttls.remoteid);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			say("socketpair: %s", strerror(errno));
			a->done = -1;
			return;
		}
		a->plain = sv[0];
		if (!tlspool_async_request(a->pool, r, sv[1])) {
			say("async answer: %s", strerror(errno));
			a->done = -1;
		}
		close(sv[1]);	/* the daemon has its own copy */
		return;
	}
	if (cmd->pio_cbid != 0) {
		a->callbacks++;
		say("async callback 0x%x cbid=%u: answered as is",
		    (unsigned)cmd->pio_cmd, cmd->pio_cbid);
		if (!tlspool_async_request(a->pool, r, -1))
			a->done = -1;
		return;
	}
	if (cmd->pio_cmd == PIOC_STARTTLS_V2) {
		say("async starttls: ok local=%s remote=%s",
		    cmd->pio_data.pioc_starttls.localid,
		    cmd->pio_data.pioc_starttls.remoteid);
		a->done = 1;
	} else if (cmd->pio_cmd == PIOC_ERROR_V2) {
		say("async starttls: refused (%s: %s)",
		    errname(cmd->pio_data.pioc_error.tlserrno),
		    cmd->pio_data.pioc_error.message);
		a->done = -1;
	} else {
		say("async starttls: unexpected reply 0x%x",
		    (unsigned)cmd->pio_cmd);
		a->done = -1;
	}
}

static void async_ping_cb(struct tlspool_async_request *r, int opt_fd)
{
	struct async_ping *p = (struct async_ping *)r;

	if (opt_fd >= 0)
		close(opt_fd);
	if (r->cmd.pio_cmd == PIOC_PING_V2) {
		say("async ping reply: %s",
		    r->cmd.pio_data.pioc_ping.YYYYMMDD_producer);
		p->done = 1;
	} else {
		say("async ping: unexpected reply 0x%x",
		    (unsigned)r->cmd.pio_cmd);
		p->done = -1;
	}
}

int cmd_async(const char *host, int port)
{
	struct tlspool_async_pool pool;
	struct async_tls a;
	struct async_ping pg;
	struct pioc_starttls *st;
	uint64_t end;
	int fd, bad = 0;

	if (!tlspool_async_open(&pool, sizeof(struct tlspool_command),
				TLSPOOL_IDENTITY_V2, PIOF_FACILITY_STARTTLS,
				NULL)) {
		say("async open: %s", strerror(errno));
		return 1;
	}
	say("async open: ok identity=%s facilities=0x%x",
	    pool.pingdata.YYYYMMDD_producer,
	    (unsigned)pool.pingdata.facilities);
	fd = tu_connect_tcp(host, port, 5000);
	if (fd < 0) {
		say("connect: %s", strerror(errno));
		tlspool_async_close(&pool, true);
		return 1;
	}
	memset(&a, 0, sizeof(a));
	a.pool = &pool;
	a.plain = -1;
	a.req.cbfunc = async_tls_cb;
	a.req.cmd.pio_cmd = PIOC_STARTTLS_V2;
	st = &a.req.cmd.pio_data.pioc_starttls;
	fill_client(st, 0);
	st->localid[0] = '\0';	/* the async request proposes none */
	if (!tlspool_async_request(&pool, &a.req, fd)) {
		say("async request: %s", strerror(errno));
		close(fd);
		tlspool_async_close(&pool, true);
		return 1;
	}
	close(fd);	/* the daemon holds its own copy */
	/* A second request in flight on the same pool connection. */
	memset(&pg, 0, sizeof(pg));
	pg.req.cbfunc = async_ping_cb;
	pg.req.cmd.pio_cmd = PIOC_PING_V2;
	strcpy(pg.req.cmd.pio_data.pioc_ping.YYYYMMDD_producer,
	       TLSPOOL_IDENTITY_V2);
	pg.req.cmd.pio_data.pioc_ping.facilities = PIOF_FACILITY_STARTTLS;
	if (!tlspool_async_request(&pool, &pg.req, -1)) {
		say("async ping request: %s", strerror(errno));
		bad = -1;
		pg.done = -1;
	}
	end = tu_now_ms() + 15000;
	while ((a.done == 0 || pg.done == 0) && tu_now_ms() < end) {
		struct pollfd p = { pool.handle, POLLIN, 0 };
		int rc = poll(&p, 1, (int)(end - tu_now_ms()));

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		if (!tlspool_async_process(&pool)) {
			say("async process: %s", strerror(errno));
			break;
		}
	}
	say("async callbacks: %d", a.callbacks);
	if (a.done != 1 || pg.done != 1 || a.plain < 0 || a.callbacks != 1) {
		say("async: incomplete (starttls %d, ping %d)", a.done, pg.done);
		bad = -1;
	}
	if (pool.requests != NULL) {
		say("async: requests still pending");
		bad = -1;
	}
	if (a.plain >= 0 && bad == 0)
		bad |= echo_check(a.plain, "async", "line through the async API");
	/* The pool connection is the session's controller: closing it
	 * (no FORK) ends the session. */
	tlspool_async_close(&pool, true);
	if (a.plain >= 0) {
		if (bad == 0) {
			if (expect_eof(a.plain, IO_MS) == 0) {
				say("plaintext after async close: EOF");
			} else {
				say("plaintext after async close: no EOF (%s)",
				    errno == EEXIST ? "data" : strerror(errno));
				bad = -1;
			}
		}
		close(a.plain);
	}
	return bad ? 1 : 0;
}

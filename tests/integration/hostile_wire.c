/* hostile_wire -- raw wire protocol helpers for the hostile test: send
 * and receive whole messages with SCM_RIGHTS, build requests, expect
 * replies, and a TCP peer that never says a word. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4 */
#endif
#include "hostile.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

const char *sockpath;
int quiet_errors;
char failwhy[512];

void why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(failwhy, sizeof(failwhy), fmt, ap);
	va_end(ap);
}

int pool_connect(void)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sockpath);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Send len bytes of buf with an optional fd as SCM_RIGHTS. */
int send_raw(int sock, const void *buf, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if ((size_t)n < len)
		return tu_write_all(sock, (const char *)buf + n, len - (size_t)n);
	return 0;
}

int send_cmd(int sock, const struct tlspool_command *cmd, int fd)
{
	return send_raw(sock, cmd, MSGLEN, fd);
}

/* One whole reply within REPLY_MS; fds the daemon should never send are
 * closed and counted as a failure.  0, or -1 with why() set. */
int recv_cmd(int sock, struct tlspool_command *cmd)
{
	uint64_t end = tu_now_ms() + REPLY_MS;
	size_t got = 0;

	while (got < MSGLEN) {
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { (char *)cmd + got, MSGLEN - got };
		struct msghdr mh;
		struct pollfd p = { sock, POLLIN, 0 };
		uint64_t now = tu_now_ms();
		ssize_t n;

		if (now >= end) {
			why("no reply within %d ms (%zu bytes)", REPLY_MS, got);
			return -1;
		}
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			why("connection %s after %zu reply bytes",
			    n == 0 ? "closed" : strerror(errno), got);
			return -1;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS) {
				int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) /
						sizeof(int));

				for (int i = 0; i < nfd; i++) {
					int fd;

					memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
					       sizeof(int));
					close(fd);
				}
				why("the daemon sent a file descriptor");
				return -1;
			}
		}
		got += (size_t)n;
	}
	return 0;
}

void init_cmd(struct tlspool_command *cmd, uint16_t reqid,
		     uint32_t pio_cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->pio_reqid = reqid;
	cmd->pio_cmd = pio_cmd;
}

void init_ping(struct tlspool_command *cmd, uint16_t reqid)
{
	init_cmd(cmd, reqid, PIOC_PING_V2);
	strcpy(cmd->pio_data.pioc_ping.YYYYMMDD_producer, TLSPOOL_IDENTITY_V2);
	cmd->pio_data.pioc_ping.facilities = PIOF_FACILITY_STARTTLS;
}

void init_starttls(struct tlspool_command *cmd, uint16_t reqid,
			  uint32_t flags, const char *remoteid, uint32_t tmo)
{
	struct pioc_starttls *st = &cmd->pio_data.pioc_starttls;

	init_cmd(cmd, reqid, PIOC_STARTTLS_V2);
	st->flags = flags;
	st->ipproto = 6;
	snprintf(st->remoteid, sizeof(st->remoteid), "%s", remoteid);
	strcpy((char *)st->service, "generic");
	st->timeout = tmo;
	tu_random(st->ctlkey, sizeof(st->ctlkey));
	st->ctlkey[0] |= 1;
}

/* PING on sock; 0 when answered properly. */
int ping_on(int sock, uint16_t reqid)
{
	struct tlspool_command cmd;

	init_ping(&cmd, reqid);
	if (send_cmd(sock, &cmd, -1) < 0) {
		why("PING send: %s", strerror(errno));
		return -1;
	}
	if (recv_cmd(sock, &cmd) < 0)
		return -1;
	if (cmd.pio_cmd != PIOC_PING_V2 || cmd.pio_reqid != reqid ||
	    !(cmd.pio_data.pioc_ping.facilities & PIOF_FACILITY_STARTTLS)) {
		why("bad PING reply: cmd 0x%x reqid %u facilities 0x%x",
		    cmd.pio_cmd, cmd.pio_reqid,
		    cmd.pio_data.pioc_ping.facilities);
		return -1;
	}
	return 0;
}

int ping_fresh(void)
{
	int sock = pool_connect(), rc;

	if (sock < 0) {
		why("cannot connect to %s: %s", sockpath, strerror(errno));
		return -1;
	}
	rc = ping_on(sock, 4242);
	close(sock);
	return rc;
}

/* Expect an ERROR reply for reqid whose message contains one of the
 * '|'-separated alternatives in want (NULL: any message). */
int expect_error(int sock, uint16_t reqid, const char *want)
{
	struct tlspool_command r;
	char msg[sizeof(r.pio_data.pioc_error.message) + 1];
	char alts[256], *save = NULL;

	if (recv_cmd(sock, &r) < 0)
		return -1;
	memcpy(msg, r.pio_data.pioc_error.message, sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	if (r.pio_cmd != PIOC_ERROR_V2) {
		why("expected ERROR, got command 0x%x", r.pio_cmd);
		return -1;
	}
	if (r.pio_reqid != reqid) {
		why("ERROR for reqid %u, expected %u (\"%s\")", r.pio_reqid,
		    reqid, msg);
		return -1;
	}
	if (msg[0] == '\0' || r.pio_data.pioc_error.tlserrno == 0) {
		why("ERROR without a reason or errno");
		return -1;
	}
	if (!quiet_errors)
		printf("    daemon said: %s (errno %d)\n", msg,
		       r.pio_data.pioc_error.tlserrno);
	if (want == NULL)
		return 0;
	snprintf(alts, sizeof(alts), "%s", want);
	for (char *t = strtok_r(alts, "|", &save); t != NULL;
	     t = strtok_r(NULL, "|", &save))
		if (strstr(msg, t) != NULL)
			return 0;
	why("ERROR \"%s\" does not mention \"%s\"", msg, want);
	return -1;
}

/* A listener that completes TCP handshakes and never says a word. */
int stall_fd = -1;
static int stall_port;

int stall_connect(void)
{
	if (stall_fd < 0) {
		stall_fd = tu_listen_tcp(0, 64, &stall_port);
		if (stall_fd < 0)
			return -1;
	}
	return tu_connect_tcp("127.0.0.1", stall_port, 2000);
}

/* Accept the daemon's side of a stalled connection and wait until it
 * has sent something (the ClientHello); the accepted fd or -1. */
int stall_accept_hello(void)
{
	struct pollfd p = { stall_fd, POLLIN, 0 };
	char buf[4096];
	int fd;

	if (poll(&p, 1, REPLY_MS) <= 0) {
		why("nothing connected to the stalling server");
		return -1;
	}
	fd = accept4(stall_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		why("accept: %s", strerror(errno));
		return -1;
	}
	p.fd = fd;
	if (poll(&p, 1, REPLY_MS) <= 0 || recv(fd, buf, sizeof(buf), 0) <= 0) {
		why("the daemon sent no ClientHello");
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait until the peer closes fd (the daemon dropped its side). */
int wait_closed(int fd, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = tu_now_ms();
		ssize_t n;

		if (now >= end) {
			why("the daemon kept the stalled TCP connection open "
			    "for %d ms", ms);
			return -1;
		}
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 0;
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			why("recv: %s", strerror(errno));
			return -1;
		}
	}
}

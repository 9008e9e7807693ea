/* hostile -- faulty and hostile input on the raw pool socket.
 *
 * usage: hostile -l                 list the case ids
 *        hostile SOCKET [CASE...]  run the cases (default: all)
 * Speaks the wire protocol directly (include/tlspool/commands.h), one
 * fresh control connection per case, and after every case checks that
 * a PING on a new connection is still answered.  Prints "ok - CASE" or
 * "not ok - CASE: why" per case; exits 0 when all passed, 2 on usage
 * errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tlspool/commands.h>

#include "hostile.h"
#include "testutil.h"

static int failures;

/* ---- the cases; each returns 0 or -1 with why() set ---------------- */

static int case_garbage(int sock)
{
	unsigned char junk[3 * MSGLEN + 100];

	tu_random(junk, sizeof(junk));
	if (send_raw(sock, junk, sizeof(junk), -1) < 0 && errno != EPIPE &&
	    errno != ECONNRESET) {
		why("send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int case_garbage_zero_cmd(int sock)
{
	struct tlspool_command cmd;
	int rc = 0;

	/* Plausible header, random body: every field must be checked. */
	quiet_errors = 1;
	for (int i = 0; i < 20 && rc == 0; i++) {
		tu_random(&cmd, sizeof(cmd));
		cmd.pio_cbid = 0;
		cmd.pio_reqid = (uint16_t)(100 + i);
		cmd.pio_cmd = (i % 2) ? PIOC_STARTTLS_V2 : PIOC_PRNG_V2;
		if (i % 4 == 3)
			cmd.pio_cmd = PIOC_INFO_V2;
		if (send_cmd(sock, &cmd, -1) < 0) {
			why("send: %s", strerror(errno));
			rc = -1;
		} else {
			rc = expect_error(sock, cmd.pio_reqid, NULL);
		}
	}
	quiet_errors = 0;
	return rc;
}

static int case_truncated(int sock)
{
	struct tlspool_command cmd;

	init_ping(&cmd, 7);
	return send_raw(sock, &cmd, 100, -1);
}

static int case_split(int sock)
{
	struct tlspool_command cmd, r;
	const char *p = (const char *)&cmd;

	init_ping(&cmd, 8);
	/* Byte-wise with pauses: the daemon must assemble the message. */
	for (size_t off = 0; off < MSGLEN; off += 97) {
		size_t n = MSGLEN - off < 97 ? MSGLEN - off : 97;

		if (send_raw(sock, p + off, n, -1) < 0) {
			why("send: %s", strerror(errno));
			return -1;
		}
		usleep(10000);
	}
	if (recv_cmd(sock, &r) < 0)
		return -1;
	if (r.pio_cmd != PIOC_PING_V2 || r.pio_reqid != 8) {
		why("split PING got command 0x%x reqid %u", r.pio_cmd,
		    r.pio_reqid);
		return -1;
	}
	return 0;
}

static int case_pipelined(int sock)
{
	struct tlspool_command cmds[50], r;

	for (int i = 0; i < 50; i++)
		init_ping(&cmds[i], (uint16_t)(1000 + i));
	if (send_raw(sock, cmds, sizeof(cmds), -1) < 0) {
		why("send: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 50; i++) {
		if (recv_cmd(sock, &r) < 0)
			return -1;
		if (r.pio_cmd != PIOC_PING_V2 || r.pio_reqid != 1000 + i) {
			why("reply %d: command 0x%x reqid %u", i, r.pio_cmd,
			    r.pio_reqid);
			return -1;
		}
	}
	return 0;
}

#define CLIENT_FLAGS (PIOF_STARTTLS_LOCALROLE_CLIENT | \
		      PIOF_STARTTLS_REMOTEROLE_SERVER)

/* Send cmd (request reqid) with one end of a fresh socketpair as its fd
 * and expect an ERROR back. */
static int error_with_pair(int sock, const struct tlspool_command *cmd,
			   uint16_t reqid)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	rc = send_cmd(sock, cmd, sv[0]);
	if (rc == 0)
		rc = expect_error(sock, reqid, NULL);
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static int case_no_nul_localid(int sock)
{
	struct tlspool_command cmd;

	init_starttls(&cmd, 11, CLIENT_FLAGS, "localhost", 2000);
	memset(cmd.pio_data.pioc_starttls.localid, 'A',
	       sizeof(cmd.pio_data.pioc_starttls.localid));
	return error_with_pair(sock, &cmd, 11);
}

static int case_no_nul_service(int sock)
{
	struct tlspool_command cmd;

	init_starttls(&cmd, 12, CLIENT_FLAGS, "localhost", 2000);
	memset(cmd.pio_data.pioc_starttls.service, 'x',
	       sizeof(cmd.pio_data.pioc_starttls.service));
	memset(cmd.pio_data.pioc_starttls.remoteid, 'y',
	       sizeof(cmd.pio_data.pioc_starttls.remoteid));
	return error_with_pair(sock, &cmd, 12);
}

static int case_unknown_cmd(int sock)
{
	struct tlspool_command cmd;

	init_cmd(&cmd, 13, 0x00007777);
	if (send_cmd(sock, &cmd, -1) < 0)
		return -1;
	if (expect_error(sock, 13, NULL) < 0)
		return -1;
	init_cmd(&cmd, 14, PIOC_LOCAL | 0x1234);
	if (send_cmd(sock, &cmd, -1) < 0)
		return -1;
	return expect_error(sock, 14, NULL);
}

static int case_reply_as_request(int sock)
{
	struct tlspool_command cmd;

	/* Commands only the daemon sends, or that only answer callbacks. */
	init_cmd(&cmd, 15, PIOC_SUCCESS_V2);
	if (send_cmd(sock, &cmd, -1) < 0 || expect_error(sock, 15, NULL) < 0)
		return -1;
	init_cmd(&cmd, 16, PIOC_PLAINTEXT_CONNECT_V2);
	if (send_cmd(sock, &cmd, -1) < 0 || expect_error(sock, 16, NULL) < 0)
		return -1;
	return 0;
}

static int case_unknown_cbid(int sock)
{
	struct tlspool_command cmd;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	init_cmd(&cmd, 17, PIOC_PLAINTEXT_CONNECT_V2);
	cmd.pio_cbid = 4711;
	rc = send_cmd(sock, &cmd, sv[0]);
	close(sv[0]);
	close(sv[1]);
	if (rc < 0)
		return -1;
	/* No answer is due; the next request must be served normally. */
	return ping_on(sock, 18);
}

static int starttls_with_fd(int sock, uint16_t reqid, int fd,
			    uint32_t flags, const char *want)
{
	struct tlspool_command cmd;

	init_starttls(&cmd, reqid, flags, "localhost", 2000);
	if (send_cmd(sock, &cmd, fd) < 0) {
		why("send: %s", strerror(errno));
		return -1;
	}
	return expect_error(sock, reqid, want);
}

static int case_pipe_fd(int sock)
{
	int p[2], rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	rc = starttls_with_fd(sock, 21, p[0], CLIENT_FLAGS, "socket");
	close(p[0]);
	close(p[1]);
	return rc;
}

static int case_file_fd(int sock)
{
	char path[] = "/tmp/hostile-XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0)
		return -1;
	unlink(path);
	rc = starttls_with_fd(sock, 22, fd, CLIENT_FLAGS, "socket");
	close(fd);
	return rc;
}

static int case_no_fd(int sock)
{
	return starttls_with_fd(sock, 23, -1, CLIENT_FLAGS, NULL);
}

static int case_dgram_fd(int sock)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	rc = starttls_with_fd(sock, 24, sv[0], CLIENT_FLAGS, "stream");
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static int case_unconnected_fd(int sock)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -1;
	rc = starttls_with_fd(sock, 25, fd, CLIENT_FLAGS, "connected");
	close(fd);
	return rc;
}

static int case_bad_roles(int sock)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	rc = starttls_with_fd(sock, 26, sv[0], PIOF_STARTTLS_LOCALROLE_PEER,
			      "role");
	if (rc == 0)
		rc = starttls_with_fd(sock, 27, sv[0], 0, "role");
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static int case_prng_bad(int sock)
{
	struct tlspool_command cmd;
	struct pioc_prng *p = &cmd.pio_data.pioc_prng;

	init_cmd(&cmd, 31, PIOC_PRNG_V2);
	p->in1_len = 30000;
	p->in2_len = -1;
	p->prng_len = 32;
	if (send_cmd(sock, &cmd, -1) < 0 || expect_error(sock, 31, NULL) < 0)
		return -1;
	init_cmd(&cmd, 32, PIOC_PRNG_V2);
	p->in1_len = 10;
	p->in2_len = 10;
	p->prng_len = -5;
	if (send_cmd(sock, &cmd, -1) < 0 || expect_error(sock, 32, NULL) < 0)
		return -1;
	init_cmd(&cmd, 33, PIOC_PRNG_V2);	/* well formed, no such key */
	p->in1_len = 12;
	p->in2_len = -1;
	p->prng_len = 32;
	tu_random(p->buffer, TLSPOOL_CTLKEYLEN);
	memcpy(p->buffer + TLSPOOL_CTLKEYLEN, "EXPERIMENTAL", 12);
	if (send_cmd(sock, &cmd, -1) < 0 || expect_error(sock, 33, NULL) < 0)
		return -1;
	init_cmd(&cmd, 34, PIOC_INFO_V2);
	cmd.pio_data.pioc_info.info_kind = PIOK_INFO_PEERCERT_SUBJECT;
	cmd.pio_data.pioc_info.len = 5000;
	if (send_cmd(sock, &cmd, -1) < 0 || expect_error(sock, 34, NULL) < 0)
		return -1;
	return 0;
}

/* The application goes away while the daemon is in the handshake. */
static int case_disconnect_mid_handshake(int sock)
{
	struct tlspool_command cmd;
	int tcp = stall_connect(), peer, rc;

	if (tcp < 0) {
		why("stall connect: %s", strerror(errno));
		return -1;
	}
	init_starttls(&cmd, 41, CLIENT_FLAGS, "localhost",
		      TLSPOOL_TIMEOUT_INFINITE);
	rc = send_cmd(sock, &cmd, tcp);
	close(tcp);
	if (rc < 0)
		return -1;
	peer = stall_accept_hello();
	if (peer < 0)
		return -1;
	/* The daemon is in the handshake now; the caller closes sock.  The
	 * session must end even with an infinite timeout. */
	shutdown(sock, SHUT_RDWR);
	rc = wait_closed(peer, 5000);
	close(peer);
	return rc;
}

/* A peer that says nothing: the request's own timeout must fire. */
static int case_stalled_peer(int sock)
{
	struct tlspool_command cmd;
	int tcp = stall_connect(), peer, rc;
	uint64_t t0 = tu_now_ms();

	if (tcp < 0) {
		why("stall connect: %s", strerror(errno));
		return -1;
	}
	init_starttls(&cmd, 42, CLIENT_FLAGS, "localhost", 500);
	rc = send_cmd(sock, &cmd, tcp);
	close(tcp);
	if (rc < 0)
		return -1;
	peer = stall_accept_hello();
	if (peer < 0)
		return -1;
	rc = expect_error(sock, 42, "timed out|timeout");
	if (rc == 0)
		printf("    (answered after %llu ms)\n",
		       (unsigned long long)(tu_now_ms() - t0));
	if (rc == 0)
		rc = wait_closed(peer, 5000);
	close(peer);
	return rc;
}

/* Many STARTTLS requests at once to stalled peers, then close. */
static int case_abandon_many(int sock)
{
	struct tlspool_command cmd;

	for (int i = 0; i < 50; i++) {
		int tcp = stall_connect(), rc;

		if (tcp < 0) {
			why("stall connect: %s", strerror(errno));
			return -1;
		}
		init_starttls(&cmd, (uint16_t)(500 + i), CLIENT_FLAGS,
			      "localhost", 60000);
		rc = send_cmd(sock, &cmd, tcp);
		close(tcp);
		if (rc < 0)
			return -1;
	}
	/* Drain the backlog so the daemon's connections are all accepted. */
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { stall_fd, POLLIN, 0 };
		int fd;

		if (poll(&p, 1, REPLY_MS) <= 0)
			break;
		fd = accept4(stall_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

struct tcase {
	const char *id;
	const char *name;
	int (*fn)(int sock);
};

static const struct tcase cases[] = {
	{ "garbage", "garbage bytes then close", case_garbage },
	{ "random-bodies", "random bodies under real commands",
	  case_garbage_zero_cmd },
	{ "truncated", "truncated message then close", case_truncated },
	{ "split", "message split into small writes", case_split },
	{ "pipelined", "50 pipelined PINGs", case_pipelined },
	{ "nul-localid", "STARTTLS localid without NUL", case_no_nul_localid },
	{ "nul-service", "STARTTLS service/remoteid without NUL",
	  case_no_nul_service },
	{ "unknown-cmd", "unknown command", case_unknown_cmd },
	{ "reply-as-request", "reply codes sent as requests",
	  case_reply_as_request },
	{ "unknown-cbid", "answer to an unknown callback", case_unknown_cbid },
	{ "pipe-fd", "STARTTLS with a pipe", case_pipe_fd },
	{ "file-fd", "STARTTLS with a regular file", case_file_fd },
	{ "no-fd", "STARTTLS without a descriptor", case_no_fd },
	{ "dgram-fd", "STARTTLS with a datagram socket", case_dgram_fd },
	{ "unconnected-fd", "STARTTLS with an unconnected socket",
	  case_unconnected_fd },
	{ "bad-roles", "STARTTLS with no or both local roles", case_bad_roles },
	{ "prng-info-bad", "PRNG/INFO with bad lengths or keys",
	  case_prng_bad },
	{ "disconnect-mid-handshake", "app disconnects mid-handshake",
	  case_disconnect_mid_handshake },
	{ "stalled-peer", "stalled peer, 500 ms timeout", case_stalled_peer },
	{ "abandon-many", "50 abandoned handshakes", case_abandon_many },
};

static int run_case(const struct tcase *c)
{
	int sock = pool_connect(), rc;

	failwhy[0] = '\0';
	if (sock < 0) {
		printf("not ok - %s: cannot connect: %s\n", c->name,
		       strerror(errno));
		return -1;
	}
	rc = c->fn(sock);
	close(sock);
	if (rc == 0 && ping_fresh() < 0) {
		char tmp[sizeof(failwhy)];

		snprintf(tmp, sizeof(tmp), "daemon not answering afterwards: "
			 "%s", failwhy);
		snprintf(failwhy, sizeof(failwhy), "%s", tmp);
		rc = -1;
	}
	if (rc == 0)
		printf("ok - %s\n", c->name);
	else
		printf("not ok - %s: %s\n", c->name,
		       failwhy[0] ? failwhy : strerror(errno));
	fflush(stdout);
	return rc;
}

int main(int argc, char **argv)
{
	const size_t ncases = sizeof(cases) / sizeof(cases[0]);

	if (argc == 2 && strcmp(argv[1], "-l") == 0) {
		for (size_t i = 0; i < ncases; i++)
			printf("%s\n", cases[i].id);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: hostile -l | hostile SOCKET [CASE...]\n");
		return 2;
	}
	sockpath = argv[1];
	for (int a = 2; a < argc; a++) {
		size_t i = 0;

		while (i < ncases && strcmp(cases[i].id, argv[a]) != 0)
			i++;
		if (i == ncases) {
			fprintf(stderr, "hostile: no case %s\n", argv[a]);
			return 2;
		}
	}
	for (size_t i = 0; i < ncases; i++) {
		int selected = argc == 2;

		for (int a = 2; a < argc && !selected; a++)
			selected = strcmp(cases[i].id, argv[a]) == 0;
		if (selected && run_case(&cases[i]) < 0)
			failures++;
	}
	if (stall_fd >= 0)
		close(stall_fd);
	printf("hostile: %d failed\n", failures);
	return failures ? 1 : 0;
}

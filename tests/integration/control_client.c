/* control_client -- drives the control features of the pool for
 * t_control.sh: LOCALID_CHECK callbacks (server and client role),
 * DETACH/REATTACH, FORK|DETACH and the asynchronous API.  Every wait has
 * a deadline; every result is one line on stdout for the script to grep.
 *
 * usage: control_client [options] COMMAND [HOST PORT]
 * options:
 *   -l ID     local identity of the request (the proposal)
 *   -n ID     namedconnect changes the proposed local identity to ID
 *   -R        namedconnect refuses (returns -1) the local identity
 *   -r ID     remote identity (default localhost)
 *   -s TEXT   client-localid: line to send after the handshake
 *   -e TEXT   client-localid: line to wait for after sending
 *   -W FILE   forkdetach: wait until FILE exists before using the session
 *             that the child left behind
 *   -t MS     STARTTLS timeout (default 10000)
 * commands:
 *   server-localid        listen on 127.0.0.1 (prints "listening on
 *                         127.0.0.1:PORT"), accept one connection and run
 *                         STARTTLS as server with LOCALID_CHECK; echo the
 *                         plaintext back until EOF
 *   client-localid H P    STARTTLS as client with LOCALID_CHECK
 *   detach H P            detach / reattach rules with two children
 *   forkdetach H P        a child starts TLS with FORK|DETACH and exits;
 *                         the parent goes on using the session
 *   async H P             STARTTLS through the asynchronous API
 *                         (control_async.c)
 * Exit 0 when everything the command tried behaved as expected
 * (refusals asked for with -R count as expected), 1 otherwise, 2 on a
 * usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tlspool/starttls.h>

#include "control_client.h"
#include "testutil.h"

#define EXPORT_LABEL "EXPERIMENTAL-tlspool-control"

struct cc_options opt = {
	.localid = "", .remoteid = "localhost", .timeout = 10000
};

const char *errname(int e)
{
	static char buf[32];

	switch (e) {
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case ENOTCONN: return "ENOTCONN";
	case ECONNRESET: return "ECONNRESET";
	case ECONNABORTED: return "ECONNABORTED";
	case EPROTO: return "EPROTO";
	case EINVAL: return "EINVAL";
	case ETIMEDOUT: return "ETIMEDOUT";
	default:
		snprintf(buf, sizeof(buf), "errno %d", e);
		return buf;
	}
}

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void random_ctlkey(uint8_t *key)
{
	do {
		tu_random(key, TLSPOOL_CTLKEYLEN);
	} while (key[0] == 0);	/* all zero would ask the library for one */
}

void fill_client(starttls_t *tls, uint32_t extra)
{
	memset(tls, 0, sizeof(*tls));
	tls->flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		     PIOF_STARTTLS_REMOTEROLE_SERVER | extra;
	tls->ipproto = 6;
	snprintf(tls->localid, sizeof(tls->localid), "%s", opt.localid);
	snprintf(tls->remoteid, sizeof(tls->remoteid), "%s", opt.remoteid);
	strcpy((char *)tls->service, "generic");
	tls->timeout = opt.timeout;
	random_ctlkey(tls->ctlkey);
}

int echo_check(int fd, const char *what, const char *text)
{
	char line[256], back[256];
	int len = snprintf(line, sizeof(line), "%s\n", text);
	ssize_t n;

	if (tu_write_all(fd, line, (size_t)len) < 0) {
		say("echo %s: write failed (%s)", what, strerror(errno));
		return -1;
	}
	n = tu_read_full(fd, back, (size_t)len, tu_now_ms() + IO_MS);
	if (n != len || memcmp(back, line, (size_t)len) != 0) {
		say("echo %s: failed (%s)", what,
		    n < 0 ? strerror(errno) : n < len ? "short read/EOF" :
		    "different data");
		return -1;
	}
	say("echo %s: ok", what);
	return 0;
}

int expect_eof(int fd, int ms)
{
	char c;
	ssize_t n = tu_read_full(fd, &c, 1, tu_now_ms() + (uint64_t)ms);

	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 0;
	if (n < 0)
		errno = errno ? errno : EIO;
	else
		errno = EEXIST;	/* data where EOF was expected */
	return -1;
}

/* waitpid with a deadline; the exit status or -1 (killed when late). */
static int wait_child(pid_t pid, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 && errno != EINTR)
			return -1;
		if (tu_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10000);
	}
}

/* Read one byte from a pipe within ms: the byte, -1 on EOF/timeout. */
static int read_byte(int fd, int ms)
{
	unsigned char b;

	return tu_read_full(fd, &b, 1, tu_now_ms() + (uint64_t)ms) == 1 ? b : -1;
}

/* ---- LOCALID_CHECK -------------------------------------------------- */

struct nc_state {
	int calls;
	int keep;	/* our end of the plaintext socketpair */
};

/* namedconnect: sees the proposed local identity; changes it (-n) or
 * refuses (-R); the fd it returns accepts the identity and is the
 * plaintext side. */
static int nc_localid(starttls_t *tls, void *privdata)
{
	struct nc_state *st = privdata;
	int sv[2];

	st->calls++;
	say("namedconnect %d: local=%s remote=%s", st->calls, tls->localid,
	    tls->remoteid);
	if (opt.refuse) {
		say("namedconnect: refusing local identity %s", tls->localid);
		errno = EPERM;
		return -1;
	}
	if (opt.newid != NULL && st->calls == 1) {
		snprintf(tls->localid, sizeof(tls->localid), "%s", opt.newid);
		say("namedconnect: local identity changed to %s", tls->localid);
	}
	if (st->keep >= 0) {
		say("namedconnect: unexpected call %d", st->calls);
		close(st->keep);
		st->keep = -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	st->keep = sv[0];
	return sv[1];	/* the library passes it on and closes it */
}

/* Say how a STARTTLS with LOCALID_CHECK ended (rc from tlspool_starttls).
 * -1 when it went as expected and the plaintext side st->keep is there to
 * use; otherwise the exit code, with st->keep closed.  explain: say why a
 * success was unexpected. */
static int localid_outcome(int rc, const starttls_t *tls,
			   struct nc_state *st, int explain)
{
	say("namedconnect calls: %d", st->calls);
	if (rc < 0) {
		say("starttls: refused (%s)", errname(errno));
		if (st->keep >= 0)
			close(st->keep);
		return opt.refuse ? 0 : 1;
	}
	say("starttls: ok rc=%d local=%s remote=%s", rc, tls->localid,
	    tls->remoteid);
	if (opt.refuse || st->keep < 0) {
		if (explain)
			say("starttls: succeeded although %s",
			    opt.refuse ? "the identity was refused" :
			    "no plaintext side was given");
		if (st->keep >= 0)
			close(st->keep);
		return 1;
	}
	return -1;
}

/* Echo lines on fd until EOF or the deadline. */
static int echo_serve(int fd, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	char buf[4096];
	size_t total = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = tu_now_ms();
		ssize_t n;

		if (now >= end) {
			say("echo-serve: timed out after %zu bytes", total);
			return -1;
		}
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			say("echo-serve: %s after %zu bytes",
			    n == 0 ? "EOF" : strerror(errno), total);
			return n == 0 || errno == ECONNRESET ? 0 : -1;
		}
		total += (size_t)n;
		if (tu_write_all(fd, buf, (size_t)n) < 0) {
			say("echo-serve: write: %s", strerror(errno));
			return -1;
		}
	}
}

static int cmd_server_localid(void)
{
	struct nc_state st = { .calls = 0, .keep = -1 };
	starttls_t tls;
	int lfd, fd, port, rc;
	struct pollfd p;

	lfd = tu_listen_tcp(0, 4, &port);
	if (lfd < 0) {
		say("listen: %s", strerror(errno));
		return 1;
	}
	say("listening on 127.0.0.1:%d", port);
	p.fd = lfd;
	p.events = POLLIN;
	if (poll(&p, 1, 20000) != 1) {
		say("accept: nobody came");
		return 1;
	}
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	if (fd < 0) {
		say("accept: %s", strerror(errno));
		return 1;
	}
	memset(&tls, 0, sizeof(tls));
	tls.flags = PIOF_STARTTLS_LOCALROLE_SERVER |
		    PIOF_STARTTLS_REMOTEROLE_CLIENT |
		    PIOF_STARTTLS_REQUEST_REMOTEID |
		    PIOF_STARTTLS_LOCALID_CHECK;
	tls.ipproto = 6;
	snprintf(tls.localid, sizeof(tls.localid), "%s", opt.localid);
	strcpy((char *)tls.service, "generic");
	tls.timeout = opt.timeout;
	random_ctlkey(tls.ctlkey);
	rc = tlspool_starttls(fd, &tls, &st, nc_localid);
	close(fd);	/* the pool holds its own copy */
	rc = localid_outcome(rc, &tls, &st, 1);
	if (rc >= 0)
		return rc;
	rc = echo_serve(st.keep, 20000);
	close(st.keep);
	return rc < 0 ? 1 : 0;
}

/* Read from fd until a line equal to want arrives (ms deadline). */
static int wait_line(int fd, const char *want, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	char buf[1024];
	size_t have = 0;

	for (;;) {
		char *nl;
		ssize_t n;

		while ((nl = memchr(buf, '\n', have)) != NULL) {
			size_t l = (size_t)(nl - buf);

			*nl = '\0';
			if (l > 0 && buf[l - 1] == '\r')
				buf[l - 1] = '\0';
			if (strcmp(buf, want) == 0)
				return 0;
			have -= l + 1;
			memmove(buf, nl + 1, have);
		}
		if (have == sizeof(buf))
			have = 0;
		n = tu_read_full(fd, buf + have, 1, end);
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
}

static int cmd_client_localid(const char *host, int port)
{
	struct nc_state st = { .calls = 0, .keep = -1 };
	starttls_t tls;
	int fd, rc, ok = 0;

	fd = tu_connect_tcp(host, port, 5000);
	if (fd < 0) {
		say("connect: %s", strerror(errno));
		return 1;
	}
	fill_client(&tls, PIOF_STARTTLS_LOCALID_CHECK);
	rc = tlspool_starttls(fd, &tls, &st, nc_localid);
	close(fd);
	rc = localid_outcome(rc, &tls, &st, 0);
	if (rc >= 0)
		return rc;
	if (opt.send != NULL) {
		char line[256];
		int len = snprintf(line, sizeof(line), "%s\n", opt.send);

		if (tu_write_all(st.keep, line, (size_t)len) < 0) {
			say("send: %s", strerror(errno));
			ok = -1;
		} else {
			say("sent: %s", opt.send);
		}
	}
	if (ok == 0 && opt.expect != NULL) {
		if (wait_line(st.keep, opt.expect, 15000) < 0) {
			say("receive: no line \"%s\"", opt.expect);
			ok = -1;
		} else {
			say("received: %s", opt.expect);
		}
	}
	close(st.keep);
	return ok < 0 ? 1 : 0;
}

/* ---- DETACH / REATTACH ---------------------------------------------- */

static int report(const char *what, int rc, int want_ok, int want_errno)
{
	int e = errno;

	if (rc == 0)
		say("%s: ok", what);
	else
		say("%s: refused (%s)", what, errname(e));
	if (want_ok)
		return rc == 0 ? 0 : -1;
	return rc < 0 && (want_errno == 0 || e == want_errno) ? 0 : -1;
}

static int prng_check(const char *what, uint8_t *key)
{
	uint8_t out[32];
	char hex[65];

	if (tlspool_prng(EXPORT_LABEL, 0, NULL, sizeof(out), out, key) < 0) {
		say("%s: refused (%s)", what, errname(errno));
		return -1;
	}
	tu_hex(out, sizeof(out), hex);
	say("%s: ok %s", what, hex);
	return 0;
}

static int cmd_detach(const char *host, int port)
{
	starttls_t tls;
	uint8_t key[TLSPOOL_CTLKEYLEN], unknown[TLSPOOL_CTLKEYLEN];
	int fd, plain, bad = 0, up[2], go[2], b, st;
	pid_t c1, c2;

	fd = tu_connect_tcp(host, port, 5000);
	if (fd < 0) {
		say("connect: %s", strerror(errno));
		return 1;
	}
	fill_client(&tls, 0);
	memcpy(key, tls.ctlkey, sizeof(key));
	plain = tlspool_starttls(fd, &tls, NULL, NULL);
	close(fd);
	if (plain < 0) {
		say("starttls: refused (%s)", errname(errno));
		return 1;
	}
	say("starttls: ok local=%s remote=%s", tls.localid, tls.remoteid);
	bad |= echo_check(plain, "before detach", "line before detach");

	bad |= report("detach", tlspool_control_detach(key), 1, 0);
	bad |= report("detach again", tlspool_control_detach(key), 0, ENOENT);
	bad |= prng_check("prng while detached", key);
	bad |= echo_check(plain, "while detached", "line while detached");
	random_ctlkey(unknown);
	bad |= report("reattach unknown key", tlspool_control_reattach(unknown),
		      0, ENOENT);

	/* Child 1 reattaches and holds the session until told to go. */
	if (pipe(up) < 0 || pipe(go) < 0) {
		say("pipe: %s", strerror(errno));
		return 1;
	}
	fflush(stdout);
	c1 = fork();
	if (c1 < 0) {
		say("fork: %s", strerror(errno));
		return 1;
	}
	if (c1 == 0) {
		int rc;
		uint8_t buf[TLSPOOL_INFOBUFLEN + 1];
		uint16_t len = PIOK_INFO_LEN_QUERY;

		close(up[0]);
		close(go[1]);
		close(plain);
		rc = report("child1 reattach", tlspool_control_reattach(key),
			    1, 0);
		if (rc == 0) {
			memset(buf, 0, sizeof(buf));
			if (tlspool_info(PIOK_INFO_PEERCERT_SUBJECT, buf, &len,
					 key) == 0 && len <= TLSPOOL_INFOBUFLEN) {
				buf[len] = '\0';
				say("child1 subject: %s", (char *)buf);
			} else {
				say("child1 info: refused (%s)", errname(errno));
				rc = -1;
			}
		}
		b = rc == 0 ? 'y' : 'n';
		if (write(up[1], &b, 1) != 1)
			rc = -1;
		read_byte(go[0], 20000);	/* until the parent lets go */
		say("child1: exiting");
		exit(rc == 0 ? 0 : 1);
	}
	close(up[1]);
	close(go[0]);
	say("child1 pid %d", (int)c1);
	b = read_byte(up[0], 10000);
	close(up[0]);
	if (b != 'y') {
		say("child1 did not reattach");
		bad = -1;
	}

	/* Child 2 must not get a session that child 1 holds. */
	fflush(stdout);
	c2 = fork();
	if (c2 < 0) {
		say("fork: %s", strerror(errno));
		return 1;
	}
	if (c2 == 0) {
		close(go[1]);
		close(plain);
		exit(report("child2 reattach while child1 holds it",
			    tlspool_control_reattach(key), 0, EBUSY) == 0 ?
		     0 : 1);
	}
	st = wait_child(c2, 10000);
	say("child2 exit: %d", st);
	if (st != 0)
		bad = -1;
	bad |= echo_check(plain, "while child1 holds it", "line held by child1");

	/* Child 1 exits: its control connection closes and the session
	 * (without FORK) ends, so the plaintext side sees EOF. */
	close(go[1]);
	st = wait_child(c1, 10000);
	say("child1 exit: %d", st);
	if (st != 0)
		bad = -1;
	if (expect_eof(plain, IO_MS) == 0) {
		say("plaintext after child1 exit: EOF");
	} else {
		say("plaintext after child1 exit: no EOF (%s)",
		    errno == EEXIST ? "data" : strerror(errno));
		bad = -1;
	}
	close(plain);
	return bad ? 1 : 0;
}

/* ---- FORK | DETACH -------------------------------------------------- */

static int nc_dup(starttls_t *tls, void *privdata)
{
	(void)tls;
	return dup(*(int *)privdata);	/* the library closes what we return */
}

static int wait_file(const char *path, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	struct stat sb;

	while (stat(path, &sb) < 0) {
		if (tu_now_ms() >= end)
			return -1;
		usleep(20000);
	}
	return 0;
}

static int cmd_forkdetach(const char *host, int port)
{
	uint8_t key[TLSPOOL_CTLKEYLEN], buf[TLSPOOL_INFOBUFLEN + 1];
	uint16_t len = PIOK_INFO_LEN_QUERY;
	int sv[2], bad = 0, st;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		say("socketpair: %s", strerror(errno));
		return 1;
	}
	random_ctlkey(key);
	fflush(stdout);
	child = fork();
	if (child < 0) {
		say("fork: %s", strerror(errno));
		return 1;
	}
	if (child == 0) {
		starttls_t tls;
		int fd, rc;

		close(sv[0]);
		fd = tu_connect_tcp(host, port, 5000);
		if (fd < 0) {
			say("child connect: %s", strerror(errno));
			exit(1);
		}
		fill_client(&tls, PIOF_STARTTLS_FORK | PIOF_STARTTLS_DETACH);
		memcpy(tls.ctlkey, key, sizeof(key));
		rc = tlspool_starttls(fd, &tls, &sv[1], nc_dup);
		close(fd);
		close(sv[1]);
		if (rc < 0) {
			say("child starttls: refused (%s)", errname(errno));
			exit(1);
		}
		say("child starttls: ok rc=%d local=%s remote=%s", rc,
		    tls.localid, tls.remoteid);
		exit(0);
	}
	close(sv[1]);
	say("child pid %d", (int)child);
	st = wait_child(child, 20000);
	say("child exit: %d", st);
	if (st != 0) {
		close(sv[0]);
		return 1;
	}
	if (opt.waitfile != NULL) {
		if (wait_file(opt.waitfile, 10000) < 0) {
			say("no %s within 10 s", opt.waitfile);
			close(sv[0]);
			return 1;
		}
		say("the daemon saw the child's control connection close");
	}
	bad |= echo_check(sv[0], "after the controller exited",
			  "line after the controller exited");
	bad |= report("parent reattach", tlspool_control_reattach(key), 1, 0);
	memset(buf, 0, sizeof(buf));
	if (tlspool_info(PIOK_INFO_PEERCERT_SUBJECT, buf, &len, key) == 0 &&
	    len <= TLSPOOL_INFOBUFLEN) {
		buf[len] = '\0';
		say("subject: %s", (char *)buf);
	} else {
		say("subject: refused (%s)", errname(errno));
		bad = -1;
	}
	bad |= echo_check(sv[0], "after reattach", "line after reattach");
	close(sv[0]);
	return bad ? 1 : 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: control_client [-l ID] [-n ID] [-R] [-r ID] "
		"[-s TEXT] [-e TEXT] [-W FILE] [-t MS]\n"
		"       server-localid | client-localid HOST PORT | "
		"detach HOST PORT | forkdetach HOST PORT | async HOST PORT\n");
}

int main(int argc, char **argv)
{
	const char *cmd;
	int c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "l:n:Rr:s:e:W:t:")) != -1) {
		switch (c) {
		case 'l': opt.localid = optarg; break;
		case 'n': opt.newid = optarg; break;
		case 'R': opt.refuse = 1; break;
		case 'r': opt.remoteid = optarg; break;
		case 's': opt.send = optarg; break;
		case 'e': opt.expect = optarg; break;
		case 'W': opt.waitfile = optarg; break;
		case 't': opt.timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (optind >= argc || strlen(opt.localid) >= 128 ||
	    strlen(opt.remoteid) >= 128 ||
	    (opt.newid != NULL && strlen(opt.newid) >= 128)) {
		usage();
		return 2;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "server-localid") == 0 && optind == argc)
		return cmd_server_localid();
	if (argc - optind != 2) {
		usage();
		return 2;
	}
	if (strcmp(cmd, "client-localid") == 0)
		return cmd_client_localid(argv[optind], atoi(argv[optind + 1]));
	if (strcmp(cmd, "detach") == 0)
		return cmd_detach(argv[optind], atoi(argv[optind + 1]));
	if (strcmp(cmd, "forkdetach") == 0)
		return cmd_forkdetach(argv[optind], atoi(argv[optind + 1]));
	if (strcmp(cmd, "async") == 0)
		return cmd_async(argv[optind], atoi(argv[optind + 1]));
	usage();
	return 2;
}

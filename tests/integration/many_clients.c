/* many_clients -- many pooled TLS client connections, all open at once.
 *
 * usage: many_clients [-n COUNT] [-b BYTES] [-j THREADS] [-r REMOTEID]
 *                     [-l LOCALID] [-t MS] [-w FILE] HOST PORT
 * Opens COUNT TCP connections to HOST:PORT and runs tlspool_starttls in
 * the client role on each (namedconnect NULL, so the library hands back
 * the plaintext socket), from THREADS threads.  With all of them open,
 * writes BYTES distinct random bytes on every plaintext socket and
 * checks that every byte comes back (the far end is an echo service).
 * With -w FILE it then creates FILE.ready, waits for FILE to appear and
 * runs a second round on the same connections (for reload tests).
 * Exit 0 when every connection opened and echoed correctly.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tlspool/starttls.h>

#include "testutil.h"

struct conn {
	int fd;
	size_t sent, got;
	uint8_t *out, *in;
};

static struct conn *conns;
static int count = 1000, nthreads = 8, port;
static size_t nbytes = 4096;
static const char *host, *remoteid = "localhost", *localid = "";
static unsigned timeout_ms = 30000;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int failed, first_errno;
static char first_error[256];

static void note_failure(int i, const char *what, int err)
{
	pthread_mutex_lock(&lock);
	if (failed++ == 0) {
		first_errno = err;
		snprintf(first_error, sizeof(first_error), "connection %d: "
			 "%s: %s", i, what, strerror(err));
	}
	pthread_mutex_unlock(&lock);
}

static int open_one(int i)
{
	starttls_t tls;
	int fd = tu_connect_tcp(host, port, 10000), plain, err;

	if (fd < 0) {
		note_failure(i, "connect", errno);
		return -1;
	}
	memset(&tls, 0, sizeof(tls));
	tls.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		    PIOF_STARTTLS_REMOTEROLE_SERVER;
	tls.ipproto = 6;
	snprintf(tls.localid, sizeof(tls.localid), "%s", localid);
	snprintf(tls.remoteid, sizeof(tls.remoteid), "%s", remoteid);
	strcpy((char *)tls.service, "generic");
	tls.timeout = timeout_ms;
	tu_random(tls.ctlkey, sizeof(tls.ctlkey));
	tls.ctlkey[0] |= 1;
	plain = tlspool_starttls(fd, &tls, NULL, NULL);
	err = errno;
	close(fd);	/* the pool has its own copy */
	if (plain < 0) {
		note_failure(i, "tlspool_starttls", err);
		return -1;
	}
	conns[i].fd = plain;
	return 0;
}

static void *opener(void *arg)
{
	long t = (long)arg;

	for (int i = (int)t; i < count; i += nthreads)
		open_one(i);
	return NULL;
}

/* Send fresh random data on every connection and check the echo. */
static int echo_round(int round)
{
	struct pollfd *pfd = calloc((size_t)count, sizeof(*pfd));
	uint64_t end = tu_now_ms() + 60000;
	int done = 0, bad = 0;

	if (pfd == NULL)
		return -1;
	for (int i = 0; i < count; i++) {
		conns[i].sent = conns[i].got = 0;
		tu_random(conns[i].out, nbytes);
		/* distinct for sure: the index and round lead every block */
		memcpy(conns[i].out, &i, sizeof(i));
		memcpy(conns[i].out + sizeof(i), &round, sizeof(round));
	}
	while (done + bad < count) {
		int n = 0, rc;
		uint64_t now = tu_now_ms();

		if (now >= end) {
			fprintf(stderr, "many_clients: round %d: timeout with "
				"%d of %d connections complete\n", round, done,
				count);
			bad = count - done;
			break;
		}
		for (int i = 0; i < count; i++) {
			struct conn *c = &conns[i];

			pfd[i].fd = -1;
			pfd[i].events = 0;
			pfd[i].revents = 0;
			if (c->fd < 0 || c->got == nbytes)
				continue;
			pfd[i].fd = c->fd;
			pfd[i].events = POLLIN | (c->sent < nbytes ? POLLOUT : 0);
			n++;
		}
		(void)n;
		rc = poll(pfd, (nfds_t)count, (int)(end - now));
		if (rc < 0 && errno != EINTR)
			break;
		for (int i = 0; i < count && rc > 0; i++) {
			struct conn *c = &conns[i];
			ssize_t r;

			if (pfd[i].revents == 0)
				continue;
			if ((pfd[i].revents & POLLOUT) && c->sent < nbytes) {
				r = write(c->fd, c->out + c->sent,
					  nbytes - c->sent);
				if (r > 0)
					c->sent += (size_t)r;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				r = read(c->fd, c->in + c->got, nbytes - c->got);
				if (r > 0)
					c->got += (size_t)r;
				if (r == 0 || (r < 0 && errno != EAGAIN &&
					       errno != EINTR)) {
					fprintf(stderr, "many_clients: round "
						"%d: connection %d: %s after "
						"%zu bytes\n", round, i,
						r == 0 ? "EOF" : strerror(errno),
						c->got);
					close(c->fd);
					c->fd = -1;
					bad++;
					continue;
				}
			}
			if (c->got == nbytes) {
				if (memcmp(c->in, c->out, nbytes) != 0) {
					fprintf(stderr, "many_clients: round "
						"%d: connection %d: echo "
						"differs\n", round, i);
					bad++;
				} else {
					done++;
				}
			}
		}
	}
	free(pfd);
	printf("many_clients: round %d: %d of %d connections echoed %zu "
	       "bytes correctly\n", round, done, count, nbytes);
	fflush(stdout);
	return bad == 0 && done == count ? 0 : -1;
}

static int wait_file(const char *path, int ms)
{
	uint64_t end = tu_now_ms() + (uint64_t)ms;
	struct stat st;

	while (stat(path, &st) < 0) {
		if (tu_now_ms() >= end)
			return -1;
		usleep(20000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *waitfile = NULL;
	pthread_t *th;
	int opt, opened = 0, rc = 1;
	long lim;

	while ((opt = getopt(argc, argv, "n:b:j:r:l:t:w:")) != -1) {
		switch (opt) {
		case 'n': count = atoi(optarg); break;
		case 'b': nbytes = (size_t)strtoul(optarg, NULL, 10); break;
		case 'j': nthreads = atoi(optarg); break;
		case 'r': remoteid = optarg; break;
		case 'l': localid = optarg; break;
		case 't': timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'w': waitfile = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || count < 1 || nthreads < 1 || nbytes < 8)
		goto usage;
	host = argv[optind];
	port = atoi(argv[optind + 1]);
	signal(SIGPIPE, SIG_IGN);
	lim = tu_raise_nofile(65536);
	if (lim < 2L * count + 64) {
		fprintf(stderr, "many_clients: RLIMIT_NOFILE %ld is too low "
			"for %d connections\n", lim, count);
		return 1;
	}
	if (nthreads > count)
		nthreads = count;
	conns = calloc((size_t)count, sizeof(*conns));
	th = calloc((size_t)nthreads, sizeof(*th));
	if (conns == NULL || th == NULL)
		return 1;
	for (int i = 0; i < count; i++) {
		conns[i].fd = -1;
		conns[i].out = malloc(nbytes);
		conns[i].in = malloc(nbytes);
		if (conns[i].out == NULL || conns[i].in == NULL)
			return 1;
	}
	for (long t = 0; t < nthreads; t++)
		if (pthread_create(&th[t], NULL, opener, (void *)t) != 0)
			return 1;
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	for (int i = 0; i < count; i++)
		if (conns[i].fd >= 0) {
			opened++;
			tu_set_nonblock(conns[i].fd);
		}
	printf("many_clients: %d of %d connections open at once\n", opened,
	       count);
	fflush(stdout);
	if (failed > 0) {
		fprintf(stderr, "many_clients: %d connections failed; first: "
			"%s\n", failed, first_error);
		(void)first_errno;
		goto out;
	}
	if (echo_round(1) < 0)
		goto out;
	if (waitfile != NULL) {
		char ready[4096];
		int fd;

		snprintf(ready, sizeof(ready), "%s.ready", waitfile);
		fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		if (wait_file(waitfile, 60000) < 0) {
			fprintf(stderr, "many_clients: %s did not appear\n",
				waitfile);
			goto out;
		}
		if (echo_round(2) < 0)
			goto out;
	}
	rc = 0;
out:
	for (int i = 0; i < count; i++) {
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		free(conns[i].out);
		free(conns[i].in);
	}
	free(conns);
	free(th);
	return rc;
usage:
	fprintf(stderr, "usage: many_clients [-n COUNT] [-b BYTES] "
		"[-j THREADS] [-r REMOTEID] [-l LOCALID] [-t MS] [-w FILE] "
		"HOST PORT\n");
	return 2;
}

/* bench_hs -- full handshakes per second, K at a time.
 *
 * hs-inproc: K client threads and K server threads in this process; each
 *   client connects, does a full handshake (certificate verified, no
 *   tickets, so no resumption), sends close_notify and closes.
 * hs-pool: K client applications (processes, each with its own pool
 *   connection; or with --threads-mode K threads sharing one) connect to
 *   the bench server and call tlspool_starttls; the daemon does the
 *   client handshake and checks the certificate; the application closes
 *   the plaintext socket it gets, the daemon sends close_notify.
 */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct hs_job {
	const struct bench_tls *t;	/* in-process; NULL through the pool */
	const struct bench_opts *o;
	const char *hostport;
	unsigned n;
	unsigned ok;
	pthread_t thr;
};

static atomic_int hs_complained;

static int hs_one_inproc(const struct bench_tls *t, const char *hostport)
{
	gnutls_session_t s;
	int fd, rc;

	fd = bench_connect(hostport);
	if (fd < 0)
		return -1;
	s = bench_tls_client_session(t, fd);
	if (s == NULL) {
		close(fd);
		return -1;
	}
	rc = bench_tls_handshake(s);
	if (rc == 0)
		gnutls_bye(s, GNUTLS_SHUT_WR);
	else if (atomic_exchange(&hs_complained, 1) == 0)
		fprintf(stderr, "tlsbench: handshake: %s\n", gnutls_strerror(rc));
	gnutls_deinit(s);
	close(fd);
	return rc == 0 ? 0 : -1;
}

static int hs_one_pool(const struct bench_opts *o, const char *hostport)
{
	int fd = bench_pool_client(hostport, o->remoteid,
				   atomic_load(&hs_complained));

	if (fd < 0) {
		atomic_store(&hs_complained, 1);
		return -1;
	}
	close(fd);
	return 0;
}

static void *hs_thread(void *arg)
{
	struct hs_job *j = arg;

	for (unsigned i = 0; i < j->n; i++) {
		int rc = j->t ? hs_one_inproc(j->t, j->hostport)
			      : hs_one_pool(j->o, j->hostport);

		if (rc == 0)
			j->ok++;
	}
	return NULL;
}

/* cpu: CPU seconds of this process and its client processes. */
static void hs_report(const struct bench_opts *o, unsigned ok, double secs,
		      double cpu)
{
	printf("hps=%.1f handshakes=%u failures=%u seconds=%.3f cpu=%.3f "
	       "parallel=%u\n", secs > 0 ? ok / secs : 0.0, ok, o->count - ok,
	       secs, cpu, o->parallel);
}

/* Run K jobs as threads; returns the number that succeeded. */
static unsigned hs_run_threads(const struct bench_tls *t,
			       const struct bench_opts *o, const char *hostport)
{
	unsigned k = o->parallel ? o->parallel : 1, ok = 0, started = 0;
	struct hs_job *jobs = calloc(k, sizeof(*jobs));

	if (jobs == NULL)
		return 0;
	for (unsigned i = 0; i < k; i++) {
		jobs[i].t = t;
		jobs[i].o = o;
		jobs[i].hostport = hostport;
		jobs[i].n = o->count / k + (i < o->count % k ? 1 : 0);
		if (pthread_create(&jobs[i].thr, NULL, hs_thread, &jobs[i]) != 0)
			break;
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(jobs[i].thr, NULL);
		ok += jobs[i].ok;
	}
	free(jobs);
	return ok;
}

int cmd_hs_inproc(const struct bench_opts *o)
{
	struct bench_tls t;
	struct bench_server *srv;
	char hostport[32];
	uint16_t port;
	unsigned ok;
	double t0, c0;

	if (bench_tls_load(&t, o) < 0)
		return 1;
	if (bench_server_start(&t, o->parallel ? o->parallel : 1, &port,
			       &srv) < 0) {
		bench_tls_free(&t);
		return 1;
	}
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%u", port);
	c0 = bench_cpu();
	t0 = bench_now();
	ok = hs_run_threads(&t, o, hostport);
	hs_report(o, ok, bench_now() - t0, bench_cpu() - c0);
	bench_server_stop(srv);
	bench_tls_free(&t);
	return ok == o->count ? 0 : 1;
}

/* K processes; each reports its successes through a pipe. */
static unsigned hs_run_procs(const struct bench_opts *o)
{
	unsigned k = o->parallel ? o->parallel : 1, ok = 0, forked = 0;
	int pfd[2];

	if (pipe(pfd) < 0)
		return 0;
	fflush(NULL);
	for (unsigned i = 0; i < k; i++) {
		struct hs_job j = { .o = o, .hostport = o->connect,
				    .n = o->count / k + (i < o->count % k) };
		pid_t pid = fork();

		if (pid < 0)
			break;
		if (pid == 0) {
			close(pfd[0]);
			hs_thread(&j);
			if (write(pfd[1], &j.ok, sizeof(j.ok)) < 0)
				_exit(1);
			_exit(0);
		}
		forked++;
	}
	close(pfd[1]);
	for (unsigned i = 0; i < forked; i++) {
		unsigned n = 0;

		if (read(pfd[0], &n, sizeof(n)) == (ssize_t)sizeof(n))
			ok += n;
	}
	close(pfd[0]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return ok;
}

int cmd_hs_pool(const struct bench_opts *o)
{
	unsigned ok;
	double t0, c0;

	if (o->connect == NULL) {
		fprintf(stderr, "tlsbench hs-pool: needs --connect\n");
		return 1;
	}
	c0 = bench_cpu();
	t0 = bench_now();
	ok = o->threads_mode ? hs_run_threads(NULL, o, o->connect)
			     : hs_run_procs(o);
	hs_report(o, ok, bench_now() - t0, bench_cpu() - c0);
	return ok == o->count ? 0 : 1;
}

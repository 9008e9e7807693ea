/* bench_idle -- resident memory of the daemon per idle relayed
 * connection.
 *
 * A few warm-up connections come and go first (one-time costs such as
 * lazily initialised tables are not per connection).  Then VmRSS of the
 * daemon is read, --conns connections are opened through the pool by K
 * threads (connect, tlspool_starttls as client, keep the plaintext
 * socket), and VmRSS is read again once they are all relayed and idle.
 * The bench server (serve --epoll) holds the other ends.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct idle_job {
	const struct bench_opts *o;
	int *fds;
	unsigned from, n, ok;
	pthread_t thr;
};

static atomic_int idle_complained;

static long idle_vmrss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static long idle_fd_count(int pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void *idle_thread(void *arg)
{
	struct idle_job *j = arg;

	for (unsigned i = 0; i < j->n; i++) {
		int fd = bench_pool_client(j->o->connect, j->o->remoteid,
					   atomic_load(&idle_complained));

		j->fds[j->from + i] = fd;
		if (fd >= 0)
			j->ok++;
		else
			atomic_store(&idle_complained, 1);
	}
	return NULL;
}

/* Open n connections with k threads into fds; returns how many worked. */
static unsigned idle_open(const struct bench_opts *o, int *fds, unsigned n,
			  unsigned k)
{
	struct idle_job *jobs = calloc(k, sizeof(*jobs));
	unsigned ok = 0, from = 0, started = 0;

	if (jobs == NULL)
		return 0;
	for (unsigned i = 0; i < k; i++) {
		jobs[i].o = o;
		jobs[i].fds = fds;
		jobs[i].from = from;
		jobs[i].n = n / k + (i < n % k ? 1 : 0);
		from += jobs[i].n;
		if (pthread_create(&jobs[i].thr, NULL, idle_thread, &jobs[i]))
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

static void idle_close(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int cmd_idle_pool(const struct bench_opts *o)
{
	unsigned k = o->parallel ? o->parallel : 1, warm = o->warmup, ok;
	long before, after, fds_before, fds_after;
	struct rlimit rl;
	int *fds;
	double t0, secs;

	if (o->connect == NULL || o->pid <= 0) {
		fprintf(stderr, "tlsbench idle-pool: needs --connect and --pid\n");
		return 1;
	}
	bench_raise_nofile();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)o->conns + 64) {
		fprintf(stderr, "tlsbench idle-pool: %u connections need "
			"ulimit -n >= %u (have %llu)\n", o->conns,
			o->conns + 64, (unsigned long long)rl.rlim_cur);
		return 1;
	}
	fds = malloc(((size_t)o->conns + warm + 1) * sizeof(*fds));
	if (fds == NULL)
		return 1;
	idle_open(o, fds, warm, 1);
	idle_close(fds, warm);
	bench_sleep(0.5);
	before = idle_vmrss_kib(o->pid);
	fds_before = idle_fd_count(o->pid);
	t0 = bench_now();
	ok = idle_open(o, fds, o->conns, k);
	secs = bench_now() - t0;
	bench_sleep(1.0);	/* let every relay settle into idling */
	after = idle_vmrss_kib(o->pid);
	fds_after = idle_fd_count(o->pid);
	printf("conns=%u ok=%u rss_before_kib=%ld rss_after_kib=%ld "
	       "per_conn_kib=%.2f daemon_fds_before=%ld daemon_fds_after=%ld "
	       "setup_seconds=%.2f\n", o->conns, ok, before, after,
	       ok > 0 ? (double)(after - before) / ok : 0.0, fds_before,
	       fds_after, secs);
	fflush(stdout);
	idle_close(fds, o->conns);
	free(fds);
	return ok == o->conns && before > 0 && after > 0 ? 0 : 1;
}

/* gdir_fetch -- the global directory's LDAP exchange (daemon/gdir.c,
 * gdir_run: StartTLS, the directory's certificate checked, the search,
 * the certificates compared) on Windows, without the SRV step (the
 * daemon cases of tests/windows/t_gdir.sh cover that).  Built and run
 * under wine by tests/windows/t_gdir.sh.
 *
 *   gdir_fetch [-n N] HOST PORT USER@DOMAIN CAFILE|- PEER.der
 *
 * Prints "<VERDICT> <seconds> <why>" (MATCH, MISMATCH, NOT_FOUND,
 * UNAVAILABLE); exit 0, or 2 on a usage error.  -n N: N queries at once
 * through gdir_start (helper threads; the answer is "posted" by calling
 * it on the helper thread), one line each, "BUSY" for those refused. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gdir.h"
#include "tplog.h"
#include "worker.h"

void tplog(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *names[] = { "UNAVAILABLE", "MATCH", "MISMATCH",
			       "NOT_FOUND" };
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned answered, helpers;

/* No worker here: the answer runs on the helper thread. */
int worker_post(struct worker *w, void (*fn)(void *arg), void *arg)
{
	(void)w;
	fn(arg);
	return 0;
}

void worker_helper_begin(void)
{
	pthread_mutex_lock(&lock);
	helpers++;
	pthread_mutex_unlock(&lock);
}

void worker_helper_end(void)
{
	pthread_mutex_lock(&lock);
	helpers--;
	pthread_mutex_unlock(&lock);
}

static void done(void *arg, const struct gdir_result *r)
{
	pthread_mutex_lock(&lock);
	printf("%s %u %s\n", names[r->verdict], (unsigned)(uintptr_t)arg,
	       r->why);
	fflush(stdout);
	answered++;
	pthread_mutex_unlock(&lock);
}

/* n queries like q at once; 0 when every one was answered or refused
 * as busy within 30 s. */
static int run_many(const struct gdir_query *q, unsigned n)
{
	unsigned started = 0, left;

	for (unsigned i = 0; i < n; i++) {
		struct gdir_query c = *q;
		int rc;

		c.cert.data = gnutls_malloc(q->cert.size);
		if (c.cert.data == NULL)
			return -1;
		memcpy(c.cert.data, q->cert.data, q->cert.size);
		rc = gdir_start(NULL, &c, done, (void *)(uintptr_t)i);
		if (rc == 0)
			started++;
		else
			printf("BUSY %u %s\n", i, strerror(-rc));
	}
	for (unsigned t = 0; t < 300; t++) {
		pthread_mutex_lock(&lock);
		left = started - answered + helpers;
		pthread_mutex_unlock(&lock);
		if (left == 0)
			return 0;
		Sleep(100);
	}
	return -1;
}

static int read_file(const char *path, gnutls_datum_t *d)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	d->data = gnutls_malloc((size_t)n);
	d->size = (unsigned)n;
	if (d->data == NULL || fread(d->data, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct gdir_query q;
	struct gdir_result r;
	WSADATA wsa;
	time_t t0;
	unsigned many = 0;
	int rc = 0;

	if (argc == 8 && strcmp(argv[1], "-n") == 0) {
		many = (unsigned)atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: gdir_fetch [-n N] HOST PORT "
			"USER@DOMAIN CAFILE|- PEER.der\n");
		return 2;
	}
	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	snprintf(q.host, sizeof(q.host), "%s", argv[1]);
	q.port = (unsigned)atoi(argv[2]);
	if (strcmp(argv[4], "-") != 0)
		snprintf(q.cafile, sizeof(q.cafile), "%s", argv[4]);
	if (gdir_base_filter(argv[3], q.base, sizeof(q.base), q.filter,
			     sizeof(q.filter)) < 0 ||
	    read_file(argv[5], &q.cert) < 0) {
		fprintf(stderr, "gdir_fetch: bad id or no %s\n", argv[5]);
		return 2;
	}
	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0 || gnutls_global_init() < 0)
		return 2;
	t0 = time(NULL);
	if (many > 0) {
		rc = run_many(&q, many) < 0 ? 1 : 0;
	} else {
		gdir_run(&q, &r);
		printf("%s %ld %s\n", names[r.verdict],
		       (long)(time(NULL) - t0), r.why);
	}
	gdir_query_clear(&q);
	gnutls_global_deinit();
	WSACleanup();
	return rc;
}

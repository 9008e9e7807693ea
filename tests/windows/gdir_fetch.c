/* gdir_fetch -- the global directory's LDAP exchange (daemon/gdir.c,
 * gdir_run: StartTLS, the directory's certificate checked, the search,
 * the certificates compared) on Windows, without the SRV step (which
 * needs DNSSEC).  Built and run under wine by tests/windows/t_gdir.sh.
 *
 *   gdir_fetch HOST PORT USER@DOMAIN CAFILE|- PEER.der
 *
 * Prints "<VERDICT> <seconds> <why>" (MATCH, MISMATCH, NOT_FOUND,
 * UNAVAILABLE); exit 0, or 2 on a usage error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gdir.h"
#include "tplog.h"
#include "worker.h"

/* gdir.c's helper-thread part (gdir_start) is not used here. */
void tplog(int level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int worker_post(struct worker *w, void (*fn)(void *arg), void *arg)
{
	(void)w;
	(void)fn;
	(void)arg;
	return -ENOSYS;
}

void worker_helper_begin(void)
{
}

void worker_helper_end(void)
{
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
	static const char *names[] = { "UNAVAILABLE", "MATCH", "MISMATCH",
				       "NOT_FOUND" };
	struct gdir_query q;
	struct gdir_result r;
	WSADATA wsa;
	time_t t0;

	if (argc != 6) {
		fprintf(stderr, "usage: gdir_fetch HOST PORT USER@DOMAIN "
			"CAFILE|- PEER.der\n");
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
	gdir_run(&q, &r);
	printf("%s %ld %s\n", names[r.verdict], (long)(time(NULL) - t0),
	       r.why);
	gdir_query_clear(&q);
	gnutls_global_deinit();
	WSACleanup();
	return 0;
}

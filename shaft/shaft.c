/* shaft -- merge the policy subtrees of several cranks into one signed
 * distribution subtree (doc/shaft.md, doc/shaft.8). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "sconf.h"
#include "smerge.h"
#include "sout.h"
#include "ssrc.h"
#include "tplog.h"

#ifndef SHAFT_CONFIG_DEFAULT
#define SHAFT_CONFIG_DEFAULT "/etc/tlspool/shaft.conf"
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: shaft [-c CONFIG] [-t] [-1]\n"
		"  -c CONFIG  configuration file (default %s)\n"
		"  -t         check the configuration, then exit\n"
		"  -1         refresh every source, merge, write, exit\n",
		SHAFT_CONFIG_DEFAULT);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct collect {
	struct smerge_in *in;
	size_t n;
	unsigned prec, idx;
};

static int collect_one(void *ctx, const struct sent *e)
{
	struct collect *c = ctx;
	struct smerge_in *x = &c->in[c->n++];

	x->prec = c->prec;
	x->source = c->idx;
	x->canon = e->canon;
	x->canonlen = e->canonlen;
	x->k = e->k;
	return 0;
}

/* Merge what every source holds and write it.  0 or -errno. */
static int merge_write(struct ssrc *src, size_t nsrc, struct sout *o)
{
	const struct smerge_in **w = NULL;
	struct collect c = { 0 };
	struct sout_stats st;
	size_t total = 0, nw = 0, i;
	double t0, t1, t2;
	int rc;

	for (i = 0; i < nsrc; i++)
		total += src[i].n;
	c.in = calloc(total ? total : 1, sizeof(*c.in));
	if (c.in == NULL)
		return -ENOMEM;
	t0 = now_ms();
	for (i = 0; i < nsrc; i++) {
		c.prec = src[i].s->prec;
		c.idx = (unsigned)i;
		ssrc_each(&src[i], collect_one, &c);
	}
	rc = smerge_run(c.in, c.n, &w, &nw);
	if (rc < 0)
		goto out;
	t1 = now_ms();
	tplog(LOG_NOTICE, "shaft: merged %zu entries from %zu sources into "
	      "%zu in %.1f ms", c.n, nsrc, nw, t1 - t0);
	rc = sout_apply(o, w, nw, &st);
	t2 = now_ms();
	tplog(LOG_NOTICE, "shaft: output written: %lu added, %lu modified, "
	      "%lu deleted, %lu unchanged, %lu refused in %.1f ms", st.added,
	      st.modified, st.deleted, st.unchanged, st.errors, t2 - t1);
	if (rc == 0)
		for (i = 0; i < nsrc; i++)
			src[i].changed = 0;
out:
	free(w);
	free(c.in);
	return rc;
}

static unsigned backoff_next(unsigned cur, const struct pconf *pc)
{
	unsigned n = cur ? cur * 2 : pc->retry_min;

	return n > pc->retry_max ? pc->retry_max : n;
}

static int run(struct sconf *cf, int once)
{
	struct ssrc src[SCONF_SOURCES_MAX];
	struct sout out;
	char err[512];
	size_t i, ready;
	time_t out_retry = 0;
	unsigned out_backoff = 0;
	int rc, out_dirty = 1, waiting = 0;

	rc = sout_init(&out, cf, err, sizeof(err));
	if (rc < 0) {
		tplog(LOG_ERR, "shaft: %s", err);
		return 1;
	}
	for (i = 0; i < cf->nsrc; i++)
		if (ssrc_init(&src[i], cf, (unsigned)i) < 0) {
			while (i-- > 0)
				ssrc_fini(&src[i]);
			sout_fini(&out);
			return 1;
		}
	while (!stop) {
		struct pollfd pf[SCONF_SOURCES_MAX];
		time_t now = time(NULL);
		int any = 0;

		for (i = 0; i < cf->nsrc && !stop; i++) {
			struct ssrc *r = &src[i];

			if (r->ls == NULL && now >= r->retry_at) {
				rc = ssrc_start(r);
				if (rc == -EAGAIN)
					rc = ssrc_start(r);
				if (rc < 0) {
					r->backoff = backoff_next(r->backoff,
								  &cf->conn);
					r->retry_at = now + r->backoff;
				} else {
					r->backoff = 0;
					r->ever = 1;
				}
			} else if (r->ls != NULL) {
				rc = ssrc_poll(r);
				if (rc < 0)
					r->retry_at = now;
			}
			if (r->changed)
				out_dirty = 1;
		}
		/* without every source known (saved state or a refresh), a
		 * merge would drop a whole crank's policy */
		for (ready = 0, i = 0; i < cf->nsrc; i++)
			if (src[i].ever || (src[i].loaded && !once))
				ready++;
		if (ready < cf->nsrc && !once && !waiting) {
			for (i = 0; i < cf->nsrc; i++)
				if (!src[i].ever && !src[i].loaded)
					tplog(LOG_NOTICE, "shaft: source %s "
					      "not read yet: nothing is written "
					      "until it is", src[i].s->name);
			waiting = 1;
		}
		if (ready == cf->nsrc)
			waiting = 0;
		if (ready < cf->nsrc && once) {
			tplog(LOG_ERR, "shaft: a source could not be read: "
			      "nothing written");
			rc = -EIO;
			break;
		}
		if (ready == cf->nsrc && out_dirty && !stop &&
		    time(NULL) >= out_retry) {
			rc = out.ld ? 0 : sout_connect(&out);
			if (rc == 0)
				rc = merge_write(src, cf->nsrc, &out);
			if (rc == 0) {
				out_dirty = 0;
				out_backoff = 0;
			} else {
				out_backoff = backoff_next(out_backoff,
							   &cf->conn);
				out_retry = time(NULL) + out_backoff;
			}
			if (once)
				break;
		}
		/* The state files after the output: a crash in between only
		 * means the same changes arrive again from the older cookie.
		 * At most one write a second per source. */
		now = time(NULL);
		for (i = 0; i < cf->nsrc; i++)
			if (src[i].dirty && now != src[i].saved_at) {
				ssrc_save(&src[i]);
				src[i].saved_at = now;
			}
		if (once)
			continue;
		for (i = 0; i < cf->nsrc; i++) {
			pf[i].fd = ssrc_fd(&src[i]);
			pf[i].events = POLLIN;
			pf[i].revents = 0;
			any |= pf[i].fd >= 0;
		}
		if (!stop)
			poll(pf, cf->nsrc, any ? 200 : 500);
	}
	for (i = 0; i < cf->nsrc; i++) {
		ssrc_save(&src[i]);
		ssrc_fini(&src[i]);
	}
	sout_fini(&out);
	tplog(LOG_NOTICE, "shaft: %s", rc < 0 && once ? "failed" : "stopped");
	return rc < 0 && once ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = SHAFT_CONFIG_DEFAULT;
	struct sigaction sa;
	struct sconf cf;
	char err[512];
	int opt, check = 0, once = 0, rc;

	while ((opt = getopt(argc, argv, "c:t1h")) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': check = 1; break;
		case '1': once = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "shaft: libsodium did not initialise\n");
		return 1;
	}
	rc = sconf_load(&cf, path, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "shaft: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: %zu sources, output %s\n", path, cf.nsrc,
		       cf.output_base);
		sconf_free(&cf);
		return 0;
	}
	tplog_init("shaft", cf.conn.log_stderr, cf.conn.log_level);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	tplog(LOG_NOTICE, "shaft: %zu sources into %s", cf.nsrc,
	      cf.output_base);
	rc = run(&cf, once);
	sconf_free(&cf);
	return rc;
}

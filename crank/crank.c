/* crank: write policy as a reviewable source, check it, and (plan,
 * apply) publish it to the crank's LDAP subtree.  See crank(1) and
 * doc/crank.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include <sodium.h>

#include "crank_build.h"
#include "crank_conf.h"
#include "crank_main.h"
#include "crank_serve.h"

/* Diagnostics are collected from the three stages and printed in
 * source order (file, line, column), so a reviewer reads them with the
 * file. */
struct diag {
	char *file;
	unsigned line, col, seq;
	char sev[8];
	char *msg;
};

struct diag_list {
	struct diag *d;
	size_t n, cap;
	unsigned errors, warnings;
	int lost;
};

static void collect_diag(void *ctx, const struct crank_pos *pos,
			 const char *severity, const char *msg)
{
	struct diag_list *dl = ctx;
	struct diag *d;

	if (severity[0] == 'e')
		dl->errors++;
	else
		dl->warnings++;
	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? 2 * dl->cap : 64;
		struct diag *nd = realloc(dl->d, cap * sizeof(*nd));

		if (nd == NULL) {
			dl->lost++;
			return;
		}
		dl->d = nd;
		dl->cap = cap;
	}
	d = &dl->d[dl->n];
	d->file = strdup(pos->file ? pos->file : "-");
	d->msg = strdup(msg);
	if (d->file == NULL || d->msg == NULL) {
		free(d->file);
		free(d->msg);
		dl->lost++;
		return;
	}
	d->line = pos->line;
	d->col = pos->col;
	d->seq = (unsigned)dl->n;
	snprintf(d->sev, sizeof(d->sev), "%s", severity);
	dl->n++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void report_diags(struct diag_list *dl, const struct crank_report *r)
{
	if (dl->n > 1)
		qsort(dl->d, dl->n, sizeof(*dl->d), diag_cmp);
	for (size_t i = 0; i < dl->n; i++) {
		const struct diag *d = &dl->d[i];

		if (r->diag != NULL)
			r->diag(r->ctx, d->file, d->line, d->col, d->sev, d->msg);
		free(d->file);
		free(d->msg);
	}
	if (dl->lost && r->error != NULL) {
		char msg[80];

		snprintf(msg, sizeof(msg), "out of memory: %d messages lost",
			 dl->lost);
		r->error(r->ctx, msg);
	}
	free(dl->d);
}

int crank_load_report(const char *source, const char *text, size_t len,
		      const struct crank_build_opts *o, struct crank_loaded *l,
		      const struct crank_report *r)
{
	struct diag_list dc = { NULL, 0, 0, 0, 0, 0 };
	int rc;

	memset(l, 0, sizeof(*l));
	if (text != NULL)
		rc = crank_src_parse(&l->src, source, text, len, collect_diag,
				     &dc);
	else
		rc = crank_src_load(&l->src, source, collect_diag, &dc);
	if (rc >= 0)
		rc = crank_model_build(&l->src, &l->model, collect_diag, &dc);
	if (rc >= 0)
		rc = crank_build(&l->model, o, &l->recs, collect_diag, &dc);
	report_diags(&dc, r);
	if (rc == -ENOMEM && r->error != NULL)
		r->error(r->ctx, "out of memory");
	if (rc < 0 || dc.errors > 0) {
		if (r == &crank_report_print)
			fprintf(stderr, "%s: %u error%s, %u warning%s\n", source,
				dc.errors, dc.errors == 1 ? "" : "s", dc.warnings,
				dc.warnings == 1 ? "" : "s");
		crank_loaded_free(l);
		l->errors = dc.errors ? dc.errors : 1;
		l->warnings = dc.warnings;
		return -EINVAL;
	}
	l->errors = dc.errors;
	l->warnings = dc.warnings;
	return 0;
}

int crank_load(const char *source, const struct crank_build_opts *o,
	       struct crank_loaded *l)
{
	return crank_load_report(source, NULL, 0, o, l, &crank_report_print);
}

void crank_loaded_free(struct crank_loaded *l)
{
	crank_recs_free(&l->recs);
	crank_model_free(&l->model);
	crank_src_free(&l->src);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: crank check [--key-root DIR] [--records] SOURCE\n"
		"       crank plan  [--key-root DIR] -c CRANK.CONF SOURCE\n"
		"       crank apply [--key-root DIR] -c CRANK.CONF SOURCE\n"
		"       crank serve [--key-root DIR] -c CRANK.CONF [--listen ADDR:PORT]\n"
		"             [--token-file FILE] [--allow-remote] SOURCE\n"
		"       crank keygen KEYFILE\n"
		"SOURCE is a file, or a directory of *.crank files.\n"
		"exit: 0 fine, 1 errors in the source, 2 usage or configuration, "
		"3 directory unreachable or refused, 4 some entries not "
		"written\n");
}

static int cmd_check(const char *source, const struct crank_build_opts *o,
		     int records)
{
	struct crank_loaded l;
	unsigned per[POLICYDB_NDB] = { 0 };

	if (crank_load(source, o, &l) < 0)
		return CRANK_EXIT_SOURCE;
	for (size_t i = 0; i < l.recs.n; i++) {
		per[l.recs.r[i].db]++;
		if (records)
			printf("%s (%zu bytes) from %s:%u:%u\n", l.recs.r[i].label,
			       l.recs.r[i].vallen, l.recs.r[i].pos.file,
			       l.recs.r[i].pos.line, l.recs.r[i].pos.col);
	}
	printf("%s: fine: %zu records (%u localid, %u disclose, %u trust, "
	       "%u policy), %u warning%s\n", source, l.recs.n,
	       per[POLICYDB_LOCALID], per[POLICYDB_DISCLOSE], per[POLICYDB_TRUST],
	       per[POLICYDB_POLICY], l.warnings, l.warnings == 1 ? "" : "s");
	crank_loaded_free(&l);
	return CRANK_EXIT_OK;
}

static int cmd_keygen(const char *path)
{
	uint8_t pk[32];
	char err[600], hex[65];

	if (sodium_init() < 0 || crank_conf_keygen(path, pk, err, sizeof(err)) < 0) {
		fprintf(stderr, "crank: %s\n", sodium_init() < 0
			? "cannot initialise libsodium" : err);
		return CRANK_EXIT_SOURCE;
	}
	sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk));
	printf("%s\n", hex);
	return CRANK_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-root", required_argument, NULL, 'k' },
		{ "records", no_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 't' },
		{ "allow-remote", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct crank_build_opts bo = { NULL };
	struct crank_serve_opts so = { .listen = "127.0.0.1:8470" };
	const char *cmd, *config = NULL;
	int records = 0, serve_opt = 0, c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CRANK_EXIT_USAGE : CRANK_EXIT_OK;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:k:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			bo.key_root = optarg;
			break;
		case 'r':
			records = 1;
			break;
		case 'c':
			config = optarg;
			break;
		case 'l':
			so.listen = optarg;
			serve_opt = 1;
			break;
		case 't':
			so.token_file = optarg;
			serve_opt = 1;
			break;
		case 'R':
			so.allow_remote = 1;
			serve_opt = 1;
			break;
		case 'h':
			usage(stdout);
			return CRANK_EXIT_OK;
		default:
			usage(stderr);
			return CRANK_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return CRANK_EXIT_USAGE;
	}
	if (bo.key_root != NULL && bo.key_root[0] != '/') {
		fprintf(stderr, "crank: --key-root takes an absolute path\n");
		return CRANK_EXIT_USAGE;
	}
	if (gnutls_global_init() < 0) {
		fprintf(stderr, "crank: cannot initialise GnuTLS\n");
		return CRANK_EXIT_SOURCE;
	}
	if (serve_opt && strcmp(cmd, "serve") != 0) {
		usage(stderr);
		rc = CRANK_EXIT_USAGE;
	} else if (strcmp(cmd, "serve") == 0 && config != NULL && !records) {
		so.source = argv[optind];
		so.config = config;
		so.bo = &bo;
		rc = crank_serve(&so);
	} else if (strcmp(cmd, "check") == 0 && config == NULL)
		rc = cmd_check(argv[optind], &bo, records);
	else if ((strcmp(cmd, "plan") == 0 || strcmp(cmd, "apply") == 0) &&
		 config != NULL && !records)
		rc = crank_publish(argv[optind], &bo, config, cmd[0] == 'a');
	else if (strcmp(cmd, "keygen") == 0 && config == NULL && !records &&
		 bo.key_root == NULL)
		rc = cmd_keygen(argv[optind]);
	else {
		usage(stderr);
		rc = CRANK_EXIT_USAGE;
	}
	gnutls_global_deinit();
	return rc;
}

/* tlspool-ctl -- administer the TLS Pool's policy databases.
 *
 *   tlspool-ctl [-c CONFIG] [-d DBENV_DIR] COMMAND ...
 *
 * The environment is dbenv_dir of the daemon's config (-c, else the
 * embedded defaults; on Windows the installed tlspool.conf, see
 * ctl_plat.h); -d names it directly.  Subcommands are rows of a
 * table, so more can be added (explain, status, metrics).  Exit status:
 * 0 success, 1 failure, 2 usage error.  See doc/tlspool-ctl.8.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_plat.h"
#include "ctl_rawpk.h"
#include "dconfig.h"
#include "tplog.h"

#define TXN_FILE_MAX (16u << 20)

struct ctl_main {
	const char *config;		/* -c, or NULL */
	const char *dbdir_opt;		/* -d, or NULL */
	char dbdir[PATH_MAX];
};

struct ctl_sub {
	const char *name;
	int (*run)(struct ctl_main *m, int argc, char **argv);
};

static int fail(int code, const char *msg)
{
	fprintf(stderr, "tlspool-ctl: %s\n", msg);
	return code;
}

/* dbenv_dir: -d, else the config's (dconfig defaults it to <state_dir>/db). */
static int resolve_dbdir(struct ctl_main *m)
{
	struct dconfig cfg;
	char err[CTL_ERRLEN];
	int n, rc;

	if (m->dbdir_opt != NULL) {
		snprintf(m->dbdir, sizeof(m->dbdir), "%s", m->dbdir_opt);
		return 0;
	}
	rc = dconfig_load(&cfg, m->config, err, sizeof(err));
	if (rc < 0)
		return fail(CTL_EXIT_FAIL, err);
	n = snprintf(m->dbdir, sizeof(m->dbdir), "%s", cfg.dbenv_dir);
	dconfig_free(&cfg);
	if (n < 0 || (size_t)n >= sizeof(m->dbdir))
		return fail(CTL_EXIT_FAIL, "dbenv_dir is too long");
	return 0;
}

static int open_db(struct ctl_main *m, int write, struct policydb **db)
{
	char err[CTL_ERRLEN];
	int rc = resolve_dbdir(m);

	if (rc != 0)
		return rc;
	rc = policydb_open(db, m->dbdir,
			   write ? POLICYDB_CREATE : POLICYDB_READONLY, err,
			   sizeof(err));
	return rc < 0 ? fail(CTL_EXIT_FAIL, err) : 0;
}

/* Build, open, apply: the end of every change. */
static int apply(struct ctl_main *m, const struct ctl_actions *acts)
{
	struct policydb *db;
	char err[CTL_ERRLEN];
	int rc = open_db(m, 1, &db);

	if (rc != 0)
		return rc;
	rc = ctl_apply(db, acts, err, sizeof(err));
	policydb_close(db);
	return rc < 0 ? fail(CTL_EXIT_FAIL, err) : CTL_EXIT_OK;
}

static int show(struct ctl_main *m, const struct ctl_cmd *c)
{
	struct policydb *db;
	char err[CTL_ERRLEN];
	int corrupt = 0, rc = open_db(m, 0, &db);

	if (rc != 0)
		return rc;
	rc = ctl_show(db, c, &corrupt, err, sizeof(err));
	policydb_close(db);
	if (rc < 0)
		return fail(CTL_EXIT_FAIL, err);
	return corrupt ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

/* localid|disclose|trust|policy OP ..., import-dir DIR */
static int run_db(struct ctl_main *m, int argc, char **argv)
{
	struct ctl_actions acts = { 0 };
	struct ctl_cmd c = { 0 };
	char err[CTL_ERRLEN];
	int rc;

	if (ctl_parse(argv[0], argc - 1, argv + 1, &c, err, sizeof(err)) < 0)
		return fail(CTL_EXIT_USAGE, err);
	if (!ctl_is_change(&c)) {
		rc = show(m, &c);
		goto out;
	}
	rc = ctl_build(&c, &acts, err, sizeof(err));
	rc = rc < 0 ? fail(CTL_EXIT_FAIL, err) : apply(m, &acts);
out:
	ctl_actions_free(&acts);
	ctl_cmd_free(&c);
	return rc;
}

/* ---- txn FILE ---- */

struct txn_ctx {
	const char *path;
	struct ctl_actions acts;
	int code;			/* exit code of the first error */
};

static int txn_line(void *arg, unsigned line, int argc, char **argv)
{
	struct txn_ctx *t = arg;
	struct ctl_cmd c = { 0 };
	char where[PATH_MAX + 16], err[CTL_ERRLEN], msg[CTL_ERRLEN + PATH_MAX + 32];
	int rc;

	snprintf(where, sizeof(where), "%s:%u: ", t->path, line);
	c.where = where;
	if (ctl_parse(argv[0], argc - 1, argv + 1, &c, err, sizeof(err)) < 0) {
		t->code = fail(CTL_EXIT_USAGE, err);
		return -EINVAL;
	}
	if (!ctl_is_change(&c)) {
		snprintf(msg, sizeof(msg), "%sa txn file holds changes only, "
			 "not %s", where, c.op == CTL_LIST ? "list" : "get");
		t->code = fail(CTL_EXIT_USAGE, msg);
		ctl_cmd_free(&c);
		return -EINVAL;
	}
	rc = ctl_build(&c, &t->acts, err, sizeof(err));
	ctl_cmd_free(&c);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s%s", where, err);
		t->code = fail(CTL_EXIT_FAIL, msg);
	}
	return rc;
}

static char *read_all(const char *path, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(TXN_FILE_MAX + 1);
	if (buf != NULL)
		n = fread(buf, 1, TXN_FILE_MAX + 1, f);
	if (buf == NULL || ferror(f) || n > TXN_FILE_MAX ||
	    memchr(buf, '\0', n) != NULL) {
		snprintf(err, errlen, "%s: %s", path, buf == NULL ? "out of memory"
			 : ferror(f) ? strerror(errno) : n > TXN_FILE_MAX
			 ? "too large" : "holds a NUL byte");
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

/* Parse and build every line first; apply all in one transaction. */
static int run_txn(struct ctl_main *m, int argc, char **argv)
{
	struct txn_ctx t = { argc > 1 ? argv[1] : "", { 0 }, 0 };
	char err[CTL_ERRLEN];
	char *text;
	int rc;

	if (argc != 2)
		return fail(CTL_EXIT_USAGE, "usage: tlspool-ctl txn FILE");
	text = read_all(argv[1], err, sizeof(err));
	if (text == NULL)
		return fail(CTL_EXIT_FAIL, err);
	rc = ctl_split_lines(text, argv[1], txn_line, &t, err, sizeof(err));
	if (rc < 0 && t.code == 0)
		t.code = fail(CTL_EXIT_USAGE, err);
	else if (rc == 0 && t.acts.n == 0)
		t.code = fail(CTL_EXIT_USAGE, "the txn file holds no commands");
	if (t.code == 0)
		t.code = apply(m, &t.acts);
	ctl_actions_free(&t.acts);
	free(text);
	return t.code;
}

/* The config and, when it exists, the environment read-only. */
static int run_with_db(struct ctl_main *m, int argc, char **argv,
		       int (*fn)(struct policydb *db,
				 const struct dconfig *cfg, int argc,
				 char **argv))
{
	struct policydb *db = NULL;
	struct dconfig cfg;
	char err[CTL_ERRLEN];
	struct stat st;
	int rc;

	rc = dconfig_load(&cfg, m->config, err, sizeof(err));
	if (rc < 0)
		return fail(CTL_EXIT_FAIL, err);
	rc = resolve_dbdir(m);
	/* No environment yet: nothing was ever stored, defaults apply. */
	if (rc == 0 && stat(m->dbdir, &st) == 0)
		rc = open_db(m, 0, &db);
	if (rc == 0)
		rc = fn(db, &cfg, argc, argv);
	if (db != NULL)
		policydb_close(db);
	dconfig_free(&cfg);
	return rc;
}

static int run_explain(struct ctl_main *m, int argc, char **argv)
{
	return run_with_db(m, argc, argv, ctl_explain);
}

static int run_dane(struct ctl_main *m, int argc, char **argv)
{
	return run_with_db(m, argc, argv, ctl_dane);
}

static int run_counters(struct ctl_main *m, int argc, char **argv)
{
	struct dconfig cfg;
	char err[CTL_ERRLEN];
	int rc;

	if (argc != 1)
		return fail(CTL_EXIT_USAGE, "status and metrics take no arguments");
	rc = dconfig_load(&cfg, m->config, err, sizeof(err));
	if (rc < 0)
		return fail(CTL_EXIT_FAIL, err);
	rc = ctl_metrics(&cfg, strcmp(argv[0], "status") == 0);
	dconfig_free(&cfg);
	return rc;
}

/* rawpk generate|import|pin (ctl_rawpk.h) */
static int run_rawpk(struct ctl_main *m, int argc, char **argv)
{
	struct ctl_rawpk_cmd c;
	struct ctl_actions acts = { 0 };
	struct policydb *db = NULL;
	char err[CTL_ERRLEN];
	uint8_t *spki = NULL;
	size_t len = 0;
	int rc;

	if (ctl_rawpk_parse(argc - 1, argv + 1, &c, err, sizeof(err)) < 0)
		return fail(CTL_EXIT_USAGE, err);
	if (c.op == CTL_RAWPK_PIN && c.file != NULL) {
		rc = ctl_rawpk_file_spki(c.file, &spki, &len, err, sizeof(err));
	} else if (c.op == CTL_RAWPK_PIN) {
		rc = open_db(m, 0, &db);
		if (rc != 0)
			return rc;
		rc = ctl_rawpk_db_spki(db, c.id, &spki, &len, err, sizeof(err));
		policydb_close(db);
	} else {
		rc = ctl_rawpk_build(&c, &acts, &spki, &len, err, sizeof(err));
		if (rc == 0 && (rc = apply(m, &acts)) != CTL_EXIT_OK) {
			ctl_actions_free(&acts);
			free(spki);
			return rc;
		}
	}
	ctl_actions_free(&acts);
	if (rc < 0)
		rc = fail(CTL_EXIT_FAIL, err);
	else if (ctl_rawpk_print_pin(stdout, spki, len) < 0)
		rc = fail(CTL_EXIT_FAIL, "the public key does not parse");
	free(spki);
	return rc;
}

static const struct ctl_sub subs[] = {
	{ "localid", run_db },
	{ "disclose", run_db },
	{ "trust", run_db },
	{ "policy", run_db },
	{ "import-dir", run_db },
	{ "txn", run_txn },
	{ "explain", run_explain },
	{ "dane", run_dane },
	{ "status", run_counters },
	{ "metrics", run_counters },
	{ "rawpk", run_rawpk },
};

int main(int argc, char **argv)
{
	struct ctl_main m = { 0 };
	int opt;

	tplog_init("tlspool-ctl", 1, LOG_WARNING);
	while ((opt = getopt(argc, argv, "+c:d:h")) != -1) {
		switch (opt) {
		case 'c':
			m.config = optarg;
			break;
		case 'd':
			m.dbdir_opt = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (m.config == NULL)
		m.config = ctl_plat_default_config();
	if (optind >= argc) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[optind], subs[i].name) == 0)
			return subs[i].run(&m, argc - optind, argv + optind);
	fprintf(stderr, "tlspool-ctl: unknown command '%s'\n", argv[optind]);
	ctl_usage(stderr);
	return CTL_EXIT_USAGE;
}

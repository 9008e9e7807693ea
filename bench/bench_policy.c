/* bench_policy -- policybench, the policy figures behind bench/policy.sh.
 *
 *   policybench lookups --dir DIR [--ids N] [--count N] [--runs R]
 *                       [--batch N] [--threads 1,2]      (--count 0: no timing)
 *   policybench live    --dir DBENV --connect H:P --remoteid NAME
 *                       --selector SEL --log DAEMONLOG [--iterations N]
 *
 * lookups: fill a fresh policy environment in DIR (lib/policydb) with a
 *   policy rule and a disclose record for each of N concrete identities
 *   (host00000.example.com ...) plus a few wildcard rules, then time
 *   polsel_decide(), the daemon's per-handshake rule selection, for random
 *   remote identities of four kinds: concrete hits, wildcard hits after
 *   several selector steps, misses that fall to the secure default, and a
 *   mix; on 1 and 2 threads sharing one environment handle.
 * live: with a daemon running on the environment DBENV, commit a rule
 *   for SEL in the client role that no peer can meet ("Q") and start
 *   pool handshakes (tlspool_starttls to H:P for NAME) until one is
 *   refused; then delete the rule and handshake until one is accepted.
 *   The time from the commit's return to the end of the first obeying
 *   handshake is measured; the refusal's reason is checked in the
 *   daemon's log (off the clock).
 *
 * Every measuring subcommand prints lines of key=value pairs.  Nothing
 * here asserts a timing.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policydb.h"
#include "polsel.h"

#define PB_NAMELEN 48
#define PB_MAXRUNS 64
#define PB_ZONES 4	/* wildcard rules .zoneN.example.net */
#define PB_DEPTS 7

struct pb_opts {
	const char *dir, *connect, *remoteid, *selector, *log;
	unsigned ids, count, runs, batch, iterations;
	unsigned threads[4], nthreads;
};

/* ---- identities and the expected decisions ---- */

enum pb_class { PB_CONCRETE, PB_WILDCARD, PB_MISS, PB_MIX, PB_NCLASS };
static const char *const pb_class_name[PB_NCLASS] = {
	"concrete", "wildcard", "miss", "mix"
};
static const char *const pb_valexps[] = { "IT&", "IT&F&", "IT&L&", "ITP|&" };

/* The i-th query of a class (not mix) and what polsel must decide. */
static void pb_query(enum pb_class c, unsigned i, char *name, char *rule,
		     char *localid)
{
	unsigned z = i % PB_ZONES, dept = i % PB_DEPTS;

	switch (c) {
	case PB_CONCRETE:
		snprintf(name, PB_NAMELEN, "host%05u.example.com", i);
		snprintf(rule, PB_NAMELEN, "%s", name);
		snprintf(localid, PB_NAMELEN, "client%05u@example.org", i);
		break;
	case PB_WILDCARD:	/* rule at step 3 (domain) or 4 (user) */
		if (i % 2 == 0) {
			snprintf(name, PB_NAMELEN,
				 "srv%05u.dept%u.zone%u.example.net", i, dept, z);
			snprintf(rule, PB_NAMELEN, ".zone%u.example.net", z);
			snprintf(localid, PB_NAMELEN, "bench@example.net");
		} else {
			snprintf(name, PB_NAMELEN, "user%05u@mail%u.example.org",
				 i, dept);
			snprintf(rule, PB_NAMELEN, "@.example.org");
			snprintf(localid, PB_NAMELEN, "bench@example.org");
		}
		break;
	default:		/* every selector tried, none stored */
		snprintf(name, PB_NAMELEN, "miss%05u.example.com", i);
		rule[0] = localid[0] = '\0';
		break;
	}
}

/* ---- fill ---- */

static int pb_put_rule(struct policydb_txn *txn, const char *sel,
		       const char *valexp, uint16_t minv)
{
	struct polrec_policy p = { .min_version = minv,
				   .valexp = (char *)valexp };
	char why[256];
	int rc = policydb_policy_put(txn, sel, POLREC_ROLE_CLIENT, &p, why,
				     sizeof(why));

	if (rc < 0)
		fprintf(stderr, "policybench: policy %s: %s\n", sel, why);
	return rc;
}

static int pb_put_disclose(struct policydb_txn *txn, const char *sel,
			   const char *id)
{
	char *ids[1] = { (char *)id };
	struct polrec_disclose d = { .ids = ids, .nids = 1 };
	char why[256];
	int rc = policydb_disclose_put(txn, sel, &d, why, sizeof(why));

	if (rc < 0)
		fprintf(stderr, "policybench: disclose %s: %s\n", sel, why);
	return rc;
}

/* The wildcard rules and disclosures: a handful. */
static int pb_put_wildcards(struct policydb_txn *txn, unsigned *records)
{
	char sel[PB_NAMELEN];
	int rc = 0;

	for (unsigned z = 0; rc == 0 && z < PB_ZONES; z++) {
		snprintf(sel, sizeof(sel), ".zone%u.example.net", z);
		rc = pb_put_rule(txn, sel, "IT&", POLREC_TLS12);
		(*records)++;
	}
	if (rc == 0)
		rc = pb_put_disclose(txn, ".example.net", "bench@example.net");
	if (rc == 0)
		rc = pb_put_rule(txn, "@.example.org", "IU|T&", POLREC_TLS13);
	if (rc == 0)
		rc = pb_put_disclose(txn, "@.example.org", "bench@example.org");
	*records += 3;
	return rc;
}

static int pb_fill(struct policydb *db, const struct pb_opts *o)
{
	struct policydb_txn *txn = NULL;
	char name[PB_NAMELEN], rule[PB_NAMELEN], lid[PB_NAMELEN];
	unsigned records = 0, txns = 0, inbatch = 0;
	double t0 = bench_now();
	int rc = policydb_begin(db, &txn, 1);

	if (rc == 0)
		rc = pb_put_wildcards(txn, &records);
	for (unsigned i = 0; rc == 0 && i < o->ids; i++) {
		pb_query(PB_CONCRETE, i, name, rule, lid);
		rc = pb_put_rule(txn, rule, pb_valexps[i % 4],
				 i % 3 ? POLREC_TLS12 : 0);
		if (rc == 0)
			rc = pb_put_disclose(txn, rule, lid);
		records += 2;
		inbatch += 2;
		if (rc == 0 && inbatch >= o->batch && i + 1 < o->ids) {
			rc = policydb_commit(txn);
			txn = NULL;
			txns++;
			inbatch = 0;
			if (rc == 0)
				rc = policydb_begin(db, &txn, 1);
		}
	}
	if (rc == 0) {
		rc = policydb_commit(txn);
		txn = NULL;
		txns++;
	}
	if (txn != NULL)
		policydb_abort(txn);
	if (rc < 0) {
		fprintf(stderr, "policybench: fill: %s\n", strerror(-rc));
		return rc;
	}
	double s = bench_now() - t0;
	printf("fill ids=%u records=%u txns=%u seconds=%.2f records_per_s=%.0f\n",
	       o->ids, records, txns, s, records / s);
	return 0;
}

/* Bytes allocated on disk for the files of dir: *.db, log.*, the rest. */
static void pb_size(const char *dir)
{
	unsigned long long dbb = 0, logb = 0, other = 0;
	struct dirent *e;
	DIR *d = opendir(dir);
	char path[4096];
	struct stat st;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n > 3 && strcmp(e->d_name + n - 3, ".db") == 0)
			dbb += (unsigned long long)st.st_blocks * 512;
		else if (strncmp(e->d_name, "log.", 4) == 0)
			logb += (unsigned long long)st.st_blocks * 512;
		else
			other += (unsigned long long)st.st_blocks * 512;
	}
	closedir(d);
	printf("size databases_kib=%llu logs_kib=%llu regions_kib=%llu "
	       "total_kib=%llu\n", dbb >> 10, logb >> 10, other >> 10,
	       (dbb + logb + other) >> 10);
}

/* ---- lookups ---- */

struct pb_names {
	char (*name)[PB_NAMELEN];	/* o->ids per class, classes 0..2 */
	unsigned n;
};

struct pb_job {
	struct policydb *db;
	const struct pb_names *names;
	enum pb_class cls;
	unsigned count;
	uint64_t seed;
	unsigned failures;
	pthread_barrier_t *go;
	pthread_t thr;
};

static uint64_t pb_rand(uint64_t *s)	/* xorshift64* */
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static const char *pb_pick(const struct pb_names *nm, enum pb_class c,
			   uint64_t *seed)
{
	uint64_t r = pb_rand(seed);

	if (c == PB_MIX)
		c = (enum pb_class)((r >> 40) % 3);
	return nm->name[(size_t)c * nm->n + (size_t)(r % nm->n)];
}

static void *pb_worker(void *arg)
{
	struct pb_job *j = arg;
	struct polsel_query q = { .role = POLREC_ROLE_CLIENT, .localid = "",
				  .uid = getuid() };
	struct polsel_decision d;
	char why[256];

	pthread_barrier_wait(j->go);
	for (unsigned i = 0; i < j->count; i++) {
		q.remoteid = pb_pick(j->names, j->cls, &j->seed);
		if (polsel_decide(j->db, &q, &d, why, sizeof(why)) < 0)
			j->failures++;
		else
			polsel_decision_free(&d);
	}
	return NULL;
}

/* One timed run: lookups per second over all threads. */
static double pb_run(struct policydb *db, const struct pb_names *nm,
		     enum pb_class c, unsigned nthr, unsigned count,
		     unsigned *failures, double *cpu_us)
{
	struct pb_job job[8];
	pthread_barrier_t go;
	double t0, t, c0;

	pthread_barrier_init(&go, NULL, nthr + 1);
	for (unsigned k = 0; k < nthr; k++) {
		job[k] = (struct pb_job){ .db = db, .names = nm, .cls = c,
					  .count = count, .go = &go,
					  .seed = 0x9E3779B97F4A7C15ULL * (k + 1) ^
						  (uint64_t)bench_now() };
		pthread_create(&job[k].thr, NULL, pb_worker, &job[k]);
	}
	c0 = bench_cpu();
	pthread_barrier_wait(&go);
	t0 = bench_now();
	for (unsigned k = 0; k < nthr; k++) {
		pthread_join(job[k].thr, NULL);
		*failures += job[k].failures;
	}
	t = bench_now() - t0;
	*cpu_us = (bench_cpu() - c0) * 1e6 / ((double)count * nthr);
	pthread_barrier_destroy(&go);
	return (double)count * nthr / t;
}

static int pb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pb_median(const double *v, unsigned n)
{
	double s[2 * PB_MAXRUNS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), pb_cmp);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Every query decided as expected (outside the clock): the number wrong. */
static unsigned pb_check(struct policydb *db, enum pb_class c, unsigned n,
			 unsigned *steps)
{
	char name[PB_NAMELEN], rule[PB_NAMELEN], lid[PB_NAMELEN], why[256];
	struct polsel_query q = { .role = POLREC_ROLE_CLIENT, .localid = "",
				  .remoteid = name, .uid = getuid() };
	struct polsel_decision d;
	unsigned bad = 0;

	*steps = 0;
	for (unsigned i = 0; i < n; i++) {
		pb_query(c, i, name, rule, lid);
		if (polsel_decide(db, &q, &d, why, sizeof(why)) < 0) {
			if (bad++ == 0)
				fprintf(stderr, "policybench: %s: %s\n", name, why);
			continue;
		}
		if (strcmp(d.rule, rule) != 0 || strcmp(d.localid, lid) != 0 ||
		    d.have_record != (rule[0] != '\0') ||
		    (rule[0] == '\0' && strcmp(d.valexp, POLSEL_DEFAULT_CLIENT))) {
			if (bad++ == 0)
				fprintf(stderr, "policybench: %s: rule \"%s\" "
					"local \"%s\", expected \"%s\" \"%s\"\n",
					name, d.rule, d.localid, rule, lid);
		}
		if (d.ntried > *steps)
			*steps = d.ntried;
		polsel_decision_free(&d);
	}
	return bad;
}

static int pb_names_make(struct pb_names *nm, unsigned n)
{
	char rule[PB_NAMELEN], lid[PB_NAMELEN];

	nm->n = n;
	nm->name = calloc((size_t)3 * n, PB_NAMELEN);
	if (nm->name == NULL)
		return -ENOMEM;
	for (int c = 0; c < 3; c++)
		for (unsigned i = 0; i < n; i++)
			pb_query((enum pb_class)c, i,
				 nm->name[(size_t)c * n + i], rule, lid);
	return 0;
}

static void pb_lookups_time(struct policydb *db, const struct pb_names *nm,
			    const struct pb_opts *o)
{
	double lps[PB_MAXRUNS], cpu[PB_MAXRUNS];
	char runs[PB_MAXRUNS * 12];

	for (int c = 0; c < PB_NCLASS; c++) {
		for (unsigned t = 0; t < o->nthreads; t++) {
			unsigned fails = 0;
			size_t off = 0;

			for (unsigned r = 0; r < o->runs; r++) {
				lps[r] = pb_run(db, nm, (enum pb_class)c,
						o->threads[t], o->count, &fails,
						&cpu[r]);
				off += (size_t)snprintf(runs + off,
					sizeof(runs) - off, "%s%.0f",
					r ? "," : "", lps[r]);
			}
			double m = pb_median(lps, o->runs);
			printf("lookup class=%s threads=%u count=%u lps=%.0f "
			       "us=%.2f cpu_us=%.2f failures=%u runs=%s\n",
			       pb_class_name[c], o->threads[t],
			       o->count * o->threads[t], m,
			       1e6 * o->threads[t] / m,
			       pb_median(cpu, o->runs), fails, runs);
			fflush(stdout);
		}
	}
}

static int cmd_lookups(const struct pb_opts *o)
{
	struct policydb *db = NULL;
	struct pb_names nm = { 0 };
	char err[256];
	unsigned steps, bad;
	int rc;

	rc = policydb_open(&db, o->dir, POLICYDB_CREATE, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "policybench: %s\n", err);
		return 1;
	}
	rc = pb_fill(db, o);
	policydb_close(db);	/* checkpoints: the size is what stays */
	db = NULL;
	if (rc < 0)
		return 1;
	pb_size(o->dir);
	/* Reopen as the daemon does; the lookups start with a cold cache. */
	rc = policydb_open(&db, o->dir, POLICYDB_CREATE, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "policybench: %s\n", err);
		return 1;
	}
	rc = pb_names_make(&nm, o->ids);
	if (rc < 0)
		goto out;
	for (int c = 0; c < 3; c++) {
		bad = pb_check(db, (enum pb_class)c, o->ids, &steps);
		printf("check class=%s queries=%u wrong=%u max_selectors_tried=%u\n",
		       pb_class_name[c], o->ids, bad, steps);
		if (bad)
			rc = -EPROTO;
	}
	fflush(stdout);
	if (rc == 0 && o->count > 0)	/* --count 0: fill and check only */
		pb_lookups_time(db, &nm, o);
out:
	free(nm.name);
	policydb_close(db);
	return rc < 0 ? 1 : 0;
}

/* ---- live: commit -> first obeying handshake ---- */

/* Commit the rule (refuse = 1) or its deletion.  0 or -errno. */
static int pb_commit(struct policydb *db, const char *sel, int refuse)
{
	struct polrec_policy p = { .valexp = (char *)"Q" };
	struct policydb_txn *txn;
	char why[256] = "";
	int rc, tries = 0;

	do {
		rc = policydb_begin(db, &txn, 1);
		if (rc < 0)
			break;
		rc = refuse ? policydb_policy_put(txn, sel, POLREC_ROLE_CLIENT,
						  &p, why, sizeof(why))
			    : policydb_policy_del(txn, sel, POLREC_ROLE_CLIENT);
		if (rc == 0)
			rc = policydb_commit(txn);
		else
			policydb_abort(txn);
	} while (rc == -EDEADLK && ++tries < 10);
	if (rc == -ENOENT && !refuse)
		return 0;	/* no rule to delete */
	if (rc < 0)
		fprintf(stderr, "policybench: commit: %s %s\n", strerror(-rc), why);
	return rc;
}

/* One pool handshake: 1 accepted (plaintext echoes), 0 refused with
 * EACCES, -1 other failure.  *t_end: when tlspool_starttls returned. */
static int pb_handshake(const struct pb_opts *o, double *t_end, int quiet)
{
	int fd = bench_pool_client(o->connect, o->remoteid, quiet);
	int err = errno;
	struct pollfd pfd;
	char buf[8];

	*t_end = bench_now();
	if (fd < 0)
		return err == EACCES ? 0 : -1;
	/* off the clock: the connection really works */
	if (bench_write_all(fd, "ping\n", 5) < 0)
		goto bad;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || read(fd, buf, sizeof(buf)) <= 0)
		goto bad;
	close(fd);
	return 1;
bad:
	if (!quiet)
		fprintf(stderr, "policybench: no echo through the pool\n");
	close(fd);
	return -1;
}

/* New lines of the daemon log since *off contain needle? */
static int pb_log_has(const char *log, long *off, const char *needle)
{
	FILE *f = fopen(log, "r");
	char line[2048];
	int found = 0;

	if (f == NULL)
		return 0;
	if (fseek(f, *off, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, needle) != NULL)
				found = 1;
	*off = ftell(f);
	fclose(f);
	return found;
}

/* Handshake until the outcome is `want` (0 refused, 1 accepted): the
 * milliseconds from t0 and the handshakes needed; -1 on timeout. */
static double pb_until(const struct pb_opts *o, int want, double t0,
		       unsigned *needed, unsigned *other)
{
	double t;
	int r;

	*needed = 0;
	do {
		r = pb_handshake(o, &t, 1);
		(*needed)++;
		if (r < 0)
			(*other)++;
		if (r == want)
			return (t - t0) * 1e3;
	} while (t - t0 < 10.0);
	return -1;
}

static void pb_stats(const char *key, const double *v, unsigned n)
{
	double mn = 1e30, mx = 0;
	unsigned ok = 0;
	double s[2 * PB_MAXRUNS];

	for (unsigned i = 0; i < n; i++) {
		if (v[i] < 0)
			continue;
		s[ok++] = v[i];
		mn = v[i] < mn ? v[i] : mn;
		mx = v[i] > mx ? v[i] : mx;
	}
	if (ok == 0)
		printf(" %s_min=n/a %s_median=n/a %s_max=n/a", key, key, key);
	else
		printf(" %s_min=%.2f %s_median=%.2f %s_max=%.2f", key, mn, key,
		       pb_median(s, ok), key, mx);
}

static void pb_list(const char *key, const double *v, unsigned n)
{
	printf(" %s=", key);
	for (unsigned i = 0; i < n; i++)
		printf("%s%.1f", i ? "," : "", v[i]);
}

static int cmd_live(const struct pb_opts *o)
{
	struct policydb *db = NULL;
	double hs[20], refuse[PB_MAXRUNS], allow[PB_MAXRUNS];
	double commit_ms[2 * PB_MAXRUNS], t0, t;
	unsigned n = o->iterations, need_r = 0, need_a = 0, needed, other = 0,
		 reasons = 0, timeouts = 0;
	char err[256], needle[512];
	long off = 0;
	int rc;

	rc = policydb_open(&db, o->dir, POLICYDB_CREATE, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "policybench: %s\n", err);
		return 1;
	}
	pb_commit(db, o->selector, 0);	/* no rule left over */
	/* Baseline: accepted handshakes, also warming up the connections. */
	for (unsigned i = 0; i < 20; i++) {
		t0 = bench_now();
		if (pb_handshake(o, &t, 0) != 1) {
			fprintf(stderr, "policybench: baseline handshake failed\n");
			rc = -EPROTO;
			goto out;
		}
		hs[i] = (t - t0) * 1e3;
	}
	snprintf(needle, sizeof(needle), "rule %s: validation Q failed",
		 o->selector);
	pb_log_has(o->log, &off, needle);	/* skip what is there */
	for (unsigned i = 0; i < n; i++) {
		t = bench_now();
		if (pb_commit(db, o->selector, 1) < 0)
			goto fail;
		t0 = bench_now();
		commit_ms[2 * i] = (t0 - t) * 1e3;
		refuse[i] = pb_until(o, 0, t0, &needed, &other);
		need_r = needed > need_r ? needed : need_r;
		timeouts += refuse[i] < 0;
		reasons += pb_log_has(o->log, &off, needle);

		t = bench_now();
		if (pb_commit(db, o->selector, 0) < 0)
			goto fail;
		t0 = bench_now();
		commit_ms[2 * i + 1] = (t0 - t) * 1e3;
		allow[i] = pb_until(o, 1, t0, &needed, &other);
		need_a = needed > need_a ? needed : need_a;
		timeouts += allow[i] < 0;
		pb_log_has(o->log, &off, needle);
	}
	printf("live iterations=%u", n);
	pb_stats("hs_ms", hs, 20);
	pb_stats("commit_ms", commit_ms, 2 * n);
	pb_stats("refuse_ms", refuse, n);
	pb_stats("allow_ms", allow, n);
	printf(" refuse_handshakes_max=%u allow_handshakes_max=%u "
	       "reasons_in_log=%u other_failures=%u timeouts=%u",
	       need_r, need_a, reasons, other, timeouts);
	pb_list("refuse_runs", refuse, n);
	pb_list("allow_runs", allow, n);
	printf("\n");
	goto out;
fail:
	rc = -EIO;
out:
	pb_commit(db, o->selector, 0);
	policydb_close(db);
	return rc < 0 ? 1 : 0;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: policybench lookups --dir DIR [--ids N] [--count N] "
		"[--runs R] [--batch N] [--threads 1,2]\n"
		"       policybench live --dir DBENV --connect H:P --remoteid NAME "
		"--selector SEL --log DAEMONLOG [--iterations N]\n");
}

static int pb_uint(const char *s, unsigned *out, unsigned min, unsigned max)
{
	uint64_t v;

	if (bench_parse_size(s, &v) < 0 || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int pb_threads(struct pb_opts *o, char *s)
{
	char *save = NULL;

	o->nthreads = 0;
	for (char *t = strtok_r(s, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (o->nthreads == 4 || pb_uint(t, &o->threads[o->nthreads++],
						1, 8) < 0)
			return -1;
	}
	return o->nthreads ? 0 : -1;
}

static int pb_opt(struct pb_opts *o, int opt, char *arg)
{
	switch (opt) {
	case 'd': o->dir = arg; return 0;
	case 'C': o->connect = arg; return 0;
	case 'r': o->remoteid = arg; return 0;
	case 's': o->selector = arg; return 0;
	case 'l': o->log = arg; return 0;
	case 'i': return pb_uint(arg, &o->ids, 1, 1000000);
	case 'n': return pb_uint(arg, &o->count, 0, 100000000);
	case 'R': return pb_uint(arg, &o->runs, 1, PB_MAXRUNS);
	case 'b': return pb_uint(arg, &o->batch, 1, 10000000);
	case 'I': return pb_uint(arg, &o->iterations, 1, PB_MAXRUNS);
	case 't': return pb_threads(o, arg);
	default: return -1;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "connect", required_argument, NULL, 'C' },
		{ "remoteid", required_argument, NULL, 'r' },
		{ "selector", required_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'l' },
		{ "ids", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "runs", required_argument, NULL, 'R' },
		{ "batch", required_argument, NULL, 'b' },
		{ "iterations", required_argument, NULL, 'I' },
		{ "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct pb_opts o = {
		.ids = 100000, .count = 100000, .runs = 5, .batch = 50000,
		.iterations = 25, .threads = { 1, 2 }, .nthreads = 2,
		.remoteid = "localhost", .selector = "localhost",
	};
	const char *cmd;
	int opt;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (pb_opt(&o, opt, optarg) < 0) {
			usage(stderr);
			return 2;
		}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "lookups") == 0 && o.dir != NULL)
		return cmd_lookups(&o);
	if (strcmp(cmd, "live") == 0 && o.dir != NULL && o.connect != NULL &&
	    o.log != NULL)
		return cmd_live(&o);
	usage(stderr);
	return 2;
}

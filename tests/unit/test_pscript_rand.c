/* Unit tests for the PulleyScript runtime against naive evaluators:
 * random adds, modifies and deletes (some in aborted transactions) over
 * a join of two generators with a condition over both, and over a chain
 * of three generators with two drivers, one of which outputs only a
 * variable of the middle generator. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pscript_fixture.h"

/* ---- randomised: the runtime against a naive evaluation ----
 *
 * Two generators joined by an equality and filtered by a condition over
 * both; random adds, modifies and deletes of a few entries over a small
 * alphabet (so values collide), some in aborted transactions.  After
 * each step the set of tuples the driver holds (from its add/del events)
 * must equal the naive product of all records, filtered. */

#define NU 10
#define NV 4
#define NTUP (NV * NV)

struct model {
	int present[NU];
	/* per entry: which values of g, h, p, q it has (bit masks) */
	unsigned g[NU], h[NU], p[NU], q[NU];
};

static const char *const alpha[NV] = { "0", "1", "2", "3" };

static const char rand_script[] =
	"g: x + h: y, @d1 <- world\n"
	"p: u + q: w, @d2 <- world\n"
	"(y = u)\n"
	"(|(x != w)(x = \"0\"))\n"
	"x, w -> out\n";

static void naive(const struct model *m, int held[NTUP])
{
	memset(held, 0, NTUP * sizeof(int));
	for (int a = 0; a < NU; a++)
		for (int b = 0; b < NU; b++) {
			if (!m->present[a] || !m->present[b])
				continue;
			for (int x = 0; x < NV; x++)
			for (int y = 0; y < NV; y++)
			for (int u = 0; u < NV; u++)
			for (int w = 0; w < NV; w++) {
				if (!(m->g[a] >> x & 1) || !(m->h[a] >> y & 1) ||
				    !(m->p[b] >> u & 1) || !(m->q[b] >> w & 1))
					continue;
				if (y == u && (x != w || x == 0))
					held[x * NV + w] = 1;
			}
		}
}

static void set_attr(struct psf_attr *a, const char *type, unsigned mask)
{
	int n = 0;

	a->type = type;
	for (int i = 0; i < NV; i++)
		if (mask >> i & 1)
			a->v[n++] = alpha[i];
	a->v[n] = NULL;
}

/* Apply the events of the log to the held set. */
static void apply_log(struct psf_env *e, int held[NTUP])
{
	char *save = NULL;

	for (char *l = strtok_r(e->log, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		int x, w;
		char sign;

		assert_int_equal(sscanf(l, "out%c %d|%d", &sign, &x, &w), 3);
		if (sign == '+') {
			assert_int_equal(held[x * NV + w], 0);
			held[x * NV + w] = 1;
		} else {
			assert_int_equal(held[x * NV + w], 1);
			held[x * NV + w] = 0;
		}
	}
	e->log[0] = '\0';
	e->saw_add = 0;
}

static void test_random_vs_naive(void **state)
{
	struct psf_env *e = psf_setup(rand_script);
	struct model m = { 0 }, saved;
	int held[NTUP] = { 0 }, want[NTUP];
	unsigned seed = 12345;

	(void)state;
	for (int step = 0; step < 400; step++) {
		int k = (int)(rand_r(&seed) % NU), op = (int)(rand_r(&seed) % 10);
		int abort_it = rand_r(&seed) % 8 == 0;
		DB_TXN *t = psf_begin(e);
		int held_before[NTUP];

		saved = m;
		memcpy(held_before, held, sizeof(held));
		if (op < 2) {
			assert_int_equal(psf_del(e, t, k + 1), 0);
			m.present[k] = 0;
		} else {
			struct psf_attr a[4];
			char dn[32];

			m.present[k] = 1;
			m.g[k] = rand_r(&seed) % 16;
			m.h[k] = rand_r(&seed) % 16;
			m.p[k] = rand_r(&seed) % 16;
			m.q[k] = rand_r(&seed) % 16;
			set_attr(&a[0], "g", m.g[k]);
			set_attr(&a[1], "h", m.h[k]);
			set_attr(&a[2], "p", m.p[k]);
			set_attr(&a[3], "q", m.q[k]);
			snprintf(dn, sizeof(dn), "cn=e%d,dc=x", k);
			assert_int_equal(psf_put(e, t, k + 1, dn, a, 4), 0);
		}
		apply_log(e, held);
		if (abort_it) {
			t->abort(t);
			m = saved;
			memcpy(held, held_before, sizeof(held));
		} else {
			psf_commit(t);
		}
		naive(&m, want);
		for (int i = 0; i < NTUP; i++) {
			if (held[i] != want[i])
				fprintf(stderr, "step %d: tuple %d|%d held %d, "
					"want %d\n", step, i / NV, i % NV,
					held[i], want[i]);
			assert_int_equal(held[i], want[i]);
		}
	}
	/* delete everything: nothing may stay */
	for (int k = 0; k < NU; k++)
		assert_int_equal(psf_del(e, NULL, k + 1), 0);
	apply_log(e, held);
	for (int i = 0; i < NTUP; i++)
		assert_int_equal(held[i], 0);
	assert_int_equal(psf_uuids(e), 0);
	psf_teardown(e);
}

/* ---- a chain of three generators ----
 *
 * A(x, y) -- (y = u) -- B(u, w) -- (w = k) -- C(k, z), with
 * (|(x = z)(x = "0")) across A and C.  Driver out1 gets (x, z), driver
 * out2 gets u alone: by the conditions both range over the product of
 * all three generators.  The entries' DNs are matched too (the RDN
 * value of B's entries must be "b"). */

#define CU 6
#define CV 3

struct cmodel {
	int present[CU];
	int isb[CU];		/* its DN is cn=b,... (B matches) */
	unsigned a1[CU], a2[CU], b1[CU], b2[CU], c1[CU], c2[CU];
};

static const char chain_script[] =
	"a1: x + a2: y, @da <- world\n"
	"b1: u + b2: w, cn=\"b\", @db <- world\n"
	"c1: k + c2: z, @dc <- world\n"
	"(y = u)\n"
	"(w = k)\n"
	"(|(x = z)(x = \"0\"))\n"
	"x, z -> out1\n"
	"u -> out2\n";

static void chain_naive(const struct cmodel *m, int h1[CV * CV], int h2[CV])
{
	memset(h1, 0, CV * CV * sizeof(int));
	memset(h2, 0, CV * sizeof(int));
	for (int a = 0; a < CU; a++)
	for (int b = 0; b < CU; b++)
	for (int c = 0; c < CU; c++) {
		if (!m->present[a] || !m->present[b] || !m->present[c] ||
		    !m->isb[b])
			continue;
		for (int x = 0; x < CV; x++)
		for (int y = 0; y < CV; y++)
		for (int w = 0; w < CV; w++)
		for (int z = 0; z < CV; z++) {
			/* u = y and k = w by the equalities */
			if (!(m->a1[a] >> x & 1) || !(m->a2[a] >> y & 1) ||
			    !(m->b1[b] >> y & 1) || !(m->b2[b] >> w & 1) ||
			    !(m->c1[c] >> w & 1) || !(m->c2[c] >> z & 1))
				continue;
			if (x == z || x == 0) {
				h1[x * CV + z] = 1;
				h2[y] = 1;
			}
		}
	}
}

static void chain_apply(struct psf_env *e, int h1[CV * CV], int h2[CV])
{
	char *save = NULL;

	for (char *l = strtok_r(e->log, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		int a, b, *slot;
		char sign;

		if (sscanf(l, "out1%c %d|%d", &sign, &a, &b) == 3) {
			slot = &h1[a * CV + b];
		} else {
			assert_int_equal(sscanf(l, "out2%c %d", &sign, &a), 2);
			slot = &h2[a];
		}
		assert_int_equal(*slot, sign == '+' ? 0 : 1);
		*slot = sign == '+';
	}
	e->log[0] = '\0';
	e->saw_add = 0;
}

static void test_random_chain(void **state)
{
	struct psf_env *e = psf_setup(chain_script);
	struct cmodel m = { 0 }, saved;
	int h1[CV * CV] = { 0 }, h2[CV] = { 0 }, w1[CV * CV], w2[CV];
	unsigned seed = 777;

	(void)state;
	for (int step = 0; step < 300; step++) {
		int k = (int)(rand_r(&seed) % CU), op = (int)(rand_r(&seed) % 10);
		int abort_it = rand_r(&seed) % 8 == 0;
		DB_TXN *t = psf_begin(e);
		int b1[CV * CV], b2[CV];

		saved = m;
		memcpy(b1, h1, sizeof(h1));
		memcpy(b2, h2, sizeof(h2));
		if (op < 2) {
			assert_int_equal(psf_del(e, t, k + 1), 0);
			m.present[k] = 0;
		} else {
			struct psf_attr a[6];
			char dn[32];
			unsigned *v[6] = { m.a1, m.a2, m.b1, m.b2, m.c1, m.c2 };
			static const char *const names[6] = {
				"a1", "a2", "b1", "b2", "c1", "c2" };

			m.present[k] = 1;
			m.isb[k] = rand_r(&seed) % 2;
			for (int i = 0; i < 6; i++) {
				v[i][k] = rand_r(&seed) % (1u << CV);
				set_attr(&a[i], names[i], v[i][k]);
			}
			snprintf(dn, sizeof(dn), "cn=%s,dc=x%d",
				 m.isb[k] ? "b" : "e", k);
			assert_int_equal(psf_put(e, t, k + 1, dn, a, 6), 0);
		}
		chain_apply(e, h1, h2);
		if (abort_it) {
			t->abort(t);
			m = saved;
			memcpy(h1, b1, sizeof(h1));
			memcpy(h2, b2, sizeof(h2));
		} else {
			psf_commit(t);
		}
		chain_naive(&m, w1, w2);
		assert_memory_equal(h1, w1, sizeof(h1));
		assert_memory_equal(h2, w2, sizeof(h2));
	}
	for (int k = 0; k < CU; k++)
		assert_int_equal(psf_del(e, NULL, k + 1), 0);
	chain_apply(e, h1, h2);
	chain_naive(&(struct cmodel){ 0 }, w1, w2);
	assert_memory_equal(h1, w1, sizeof(h1));
	assert_memory_equal(h2, w2, sizeof(h2));
	assert_int_equal(psf_uuids(e), 0);
	psf_teardown(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_vs_naive),
		cmocka_unit_test(test_random_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the PulleyScript runtime (pulley/pscript_run.c,
 * pscript_match.c, pscript_store.c) in a BerkeleyDB environment under
 * mkdtemp: multi-valued attributes and reference counts, modify
 * retracting what the old entry gave, delete, DN and RDN patterns, joins
 * across entries and inside one entry, conditions, binary values, reset,
 * the uuid list, state surviving a close and reopen of the environment,
 * an aborted transaction leaving the state as it was, a changed script
 * emptying the state, and a randomised comparison with a naive
 * evaluator. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* nftw */
#endif
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pscript.h"

/* ---- environment ---- */

struct env {
	char dir[64];
	DB_ENV *env;
	struct pscript *s;
	struct pscript_run *rt;
	char log[8192];		/* events of the last call, one a line */
	int saw_add;		/* a del after an add in one call is a bug */
	int fail_with;		/* the output callback returns this */
};

static int rm_one(const char *p, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

static void env_open(struct env *e)
{
	const u_int32_t fl = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
			     DB_INIT_LOG | DB_INIT_MPOOL | DB_THREAD | DB_RECOVER;

	assert_int_equal(db_env_create(&e->env, 0), 0);
	assert_int_equal(e->env->open(e->env, e->dir, fl, 0600), 0);
}

static void env_close(struct env *e)
{
	if (e->env != NULL)
		e->env->close(e->env, 0);
	e->env = NULL;
}

static DB_TXN *begin(struct env *e)
{
	DB_TXN *t = NULL;

	assert_int_equal(e->env->txn_begin(e->env, NULL, &t, 0), 0);
	return t;
}

static void commit(DB_TXN *t)
{
	assert_int_equal(t->commit(t, 0), 0);
}

/* Compile text and open the run; returns reset_needed. */
static int run_open(struct env *e, const char *text)
{
	DB_TXN *t;
	int reset = -1;

	if (e->s == NULL)
		assert_int_equal(pscript_compile(text, strlen(text), &e->s,
						 NULL, NULL), 0);
	t = begin(e);
	assert_int_equal(pscript_run_open(&e->rt, e->s, e->env, t, "pscript",
					  &reset), 0);
	commit(t);
	return reset;
}

static void run_close(struct env *e)
{
	pscript_run_close(e->rt);
	e->rt = NULL;
	pscript_free(e->s);
	e->s = NULL;
}

static struct env *setup(const char *script)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_pscript.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	env_open(e);
	assert_int_equal(run_open(e, script), 1);	/* a fresh state */
	return e;
}

static void teardown(struct env *e)
{
	run_close(e);
	env_close(e);
	nftw(e->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(e);
}

/* ---- entries and outputs ---- */

static void esc(char *o, size_t cap, const uint8_t *d, size_t n)
{
	size_t k = strlen(o);

	for (size_t i = 0; i < n && k + 5 < cap; i++) {
		if (d[i] >= 0x20 && d[i] < 0x7f && d[i] != '|' && d[i] != '\\')
			o[k++] = (char)d[i];
		else
			k += (size_t)snprintf(o + k, cap - k, "\\x%02x", d[i]);
	}
	o[k] = '\0';
}

static int on_out(void *ctx, size_t d, int add, const struct pscript_value *v,
		  size_t nv)
{
	struct env *e = ctx;
	char line[512];

	if (e->fail_with != 0)
		return e->fail_with;
	assert_int_equal(nv, pscript_driver_nvars(e->s, d));
	if (add)
		e->saw_add = 1;
	else
		assert_false(e->saw_add);	/* every del before any add */
	snprintf(line, sizeof(line), "%s%c ", pscript_driver_name(e->s, d),
		 add ? '+' : '-');
	for (size_t i = 0; i < nv; i++) {
		if (i > 0)
			strcat(line, "|");
		esc(line, sizeof(line), v[i].data, v[i].len);
	}
	strcat(line, "\n");
	assert_true(strlen(e->log) + strlen(line) < sizeof(e->log));
	strcat(e->log, line);
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of s in place (as a set of events). */
static void sort_lines(char *s)
{
	char *lines[128], *copy = strdup(s), *save = NULL;
	size_t n = 0;

	assert_non_null(copy);
	for (char *l = strtok_r(copy, "\n", &save); l != NULL && n < 128;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(lines[0]), line_cmp);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(s, lines[i]);
		strcat(s, "\n");
	}
	free(copy);
}

static void expect(struct env *e, const char *want)
{
	char w[8192];

	snprintf(w, sizeof(w), "%s", want);
	sort_lines(w);
	sort_lines(e->log);
	assert_string_equal(e->log, w);
	e->log[0] = '\0';
	e->saw_add = 0;
}

#define MAXV 8
struct attr {
	const char *type;
	const char *v[MAXV];	/* NULL-terminated */
};

/* Run an entry whose values are C strings (test_binary builds its own
 * entries); in a transaction of its own when t is NULL. */
static int put(struct env *e, DB_TXN *t, int uuid, const char *dn,
	       const struct attr *a, size_t na)
{
	struct pscript_attr attrs[8];
	struct pscript_value vals[8][MAXV];
	struct pscript_entry en = { .dn = dn, .nattrs = na, .attrs = attrs };
	int rc, own = t == NULL;

	memset(en.uuid, 0, 16);
	en.uuid[15] = (uint8_t)uuid;
	en.uuid[0] = 0xee;
	for (size_t i = 0; i < na; i++) {
		size_t n = 0;

		while (n < MAXV && a[i].v[n] != NULL) {
			vals[i][n] = (struct pscript_value){
				(const uint8_t *)a[i].v[n], strlen(a[i].v[n]) };
			n++;
		}
		attrs[i] = (struct pscript_attr){ a[i].type, n, vals[i] };
	}
	if (own)
		t = begin(e);
	e->saw_add = 0;
	rc = pscript_run_entry(e->rt, t, &en, on_out, e);
	if (own)
		commit(t);
	return rc;
}

static int del(struct env *e, DB_TXN *t, int uuid)
{
	uint8_t u[16] = { 0 };
	int rc, own = t == NULL;

	u[15] = (uint8_t)uuid;
	u[0] = 0xee;
	if (own)
		t = begin(e);
	e->saw_add = 0;
	rc = pscript_run_delete(e->rt, t, u, on_out, e);
	if (own)
		commit(t);
	return rc;
}

static int count_uuid(void *ctx, const uint8_t uuid[16])
{
	int *list = ctx;

	assert_int_equal(uuid[0], 0xee);
	list[uuid[15]]++;
	list[0]++;
	return 0;
}

/* The uuids held, as a bit mask of their last byte (< 31). */
static unsigned uuids(struct env *e)
{
	int list[256] = { 0 };
	unsigned mask = 0;
	DB_TXN *t = begin(e);

	assert_int_equal(pscript_run_uuids(e->rt, t, count_uuid, list), 0);
	commit(t);
	for (int i = 1; i < 31; i++) {
		assert_true(list[i] <= 1);
		if (list[i])
			mask |= 1u << i;
	}
	return mask;
}

/* ---- cases ---- */

static const char mail_script[] =
	"mail: m, uid=u, @b <- world\n"
	"m -> out\n"
	"u, m -> pairs\n";

static void test_refcount_modify_delete(void **state)
{
	struct env *e = setup(mail_script);
	const struct attr a1[] = { { "mail", { "a@x", "shared@x" } } };
	const struct attr b1[] = { { "mail", { "shared@x" } } };
	const struct attr b2[] = { { "Mail", { "shared@x", "b@x" } } };
	const struct attr b3[] = { { "mail;x-tag", { "b@x" } } };

	(void)state;
	assert_int_equal(put(e, NULL, 1, "uid=alice,dc=example,dc=com", a1, 1), 0);
	expect(e, "out+ a@x\nout+ shared@x\npairs+ alice|a@x\n"
		  "pairs+ alice|shared@x\n");
	/* a second source of shared@x: no add for it */
	assert_int_equal(put(e, NULL, 2, "uid=bob,dc=example", b1, 1), 0);
	expect(e, "pairs+ bob|shared@x\n");
	assert_int_equal(uuids(e), 1u << 1 | 1u << 2);
	/* delete alice: shared@x still has bob */
	assert_int_equal(del(e, NULL, 1), 0);
	expect(e, "out- a@x\npairs- alice|a@x\npairs- alice|shared@x\n");
	assert_int_equal(uuids(e), 1u << 2);
	/* modify bob: a value added */
	assert_int_equal(put(e, NULL, 2, "uid=bob,dc=example", b2, 1), 0);
	expect(e, "out+ b@x\npairs+ bob|b@x\n");
	/* modify bob: shared@x removed upstream is retracted */
	assert_int_equal(put(e, NULL, 2, "uid=bob,dc=example", b3, 1), 0);
	expect(e, "out- shared@x\npairs- bob|shared@x\n");
	/* the same entry again: nothing */
	assert_int_equal(put(e, NULL, 2, "uid=bob,dc=example", b3, 1), 0);
	expect(e, "");
	/* renamed: del before add, out unchanged */
	assert_int_equal(put(e, NULL, 2, "uid=robert,dc=example", b3, 1), 0);
	expect(e, "pairs- bob|b@x\npairs+ robert|b@x\n");
	/* no longer matching (no mail): everything retracted */
	assert_int_equal(put(e, NULL, 2, "uid=robert,dc=example", NULL, 0), 0);
	expect(e, "out- b@x\npairs- robert|b@x\n");
	assert_int_equal(uuids(e), 0);
	/* unknown uuid: not an error */
	assert_int_equal(del(e, NULL, 9), 0);
	expect(e, "");
	/* back from zero: add again (the counts went to 0, not below) */
	assert_int_equal(put(e, NULL, 2, "uid=robert,dc=example", b3, 1), 0);
	expect(e, "out+ b@x\npairs+ robert|b@x\n");
	teardown(e);
}

static void test_dn_patterns(void **state)
{
	struct env *e = setup("cn: name, uid=u, ou=\"Users\", @base <- world\n"
			      "u, base, name -> d\n"
			      "uid=v + cn=c, dc=\"example\" <- world\n"
			      "v, c -> multi\n");
	const struct attr cn[] = { { "cn", { "Nom" } } };
	const struct attr cn2[] = { { "cn;lang-fr", { "Nom" } },
				    { "CN", { "Name" } } };

	(void)state;
	assert_int_equal(put(e, NULL, 1, "uid=alice,ou=Users,dc=example,dc=com",
			     cn, 1), 0);
	expect(e, "d+ alice|dc=example,dc=com|Nom\n");
	/* a constant RDN value must match */
	assert_int_equal(put(e, NULL, 2, "uid=bob,ou=Groups,dc=example", cn, 1), 0);
	expect(e, "");
	/* nothing above the pattern: @base binds the empty string */
	assert_int_equal(put(e, NULL, 3, "uid=carol,ou=Users", cn, 1), 0);
	expect(e, "d+ carol||Nom\n");
	/* the RDN type must match; a multi-valued RDN is not a single one */
	assert_int_equal(put(e, NULL, 4, "cn=dave,ou=Users,dc=x", cn, 1), 0);
	assert_int_equal(put(e, NULL, 5, "uid=eve+cn=x,ou=Users,dc=x", cn, 1), 0);
	expect(e, "");
	/* escapes undone (binary safe), spaces around types trimmed, the rest
	 * of the DN as written; options ignored, types case-insensitive */
	assert_int_equal(put(e, NULL, 6, "UID = a\\,b\\00c\\2B ,ou=Users,dc=x",
			     cn2, 2), 0);
	expect(e, "d+ a,b\\x00c+|dc=x|Nom\nd+ a,b\\x00c+|dc=x|Name\n");
	/* without '@' the DN is anchored: exactly these RDNs */
	assert_int_equal(put(e, NULL, 7, "cn=k+uid=j,dc=example", NULL, 0), 0);
	expect(e, "multi+ j|k\n");
	assert_int_equal(put(e, NULL, 8, "uid=j,cn=k,dc=example", NULL, 0), 0);
	assert_int_equal(put(e, NULL, 9, "cn=k+uid=j,dc=example,dc=com", NULL, 0),
			 0);
	assert_int_equal(put(e, NULL, 10, "cn=k+uid=j,dc=Example", NULL, 0), 0);
	expect(e, "");
	/* a DN that is not RFC 4514: refused, state unchanged */
	assert_int_equal(put(e, NULL, 11, "uid=x,,ou=Users", cn, 1), -EINVAL);
	assert_int_equal(put(e, NULL, 11, "uid=x\\", cn, 1), -EINVAL);
	assert_int_equal(put(e, NULL, 11, "=x,ou=Users", cn, 1), -EINVAL);
	assert_int_equal(put(e, NULL, 11, "uid=x,ou=Users,", cn, 1), -EINVAL);
	assert_int_equal(put(e, NULL, 1, "uid", cn, 1), -EINVAL);
	expect(e, "");
	assert_int_equal(uuids(e), 1u << 1 | 1u << 3 | 1u << 6 | 1u << 7);
	teardown(e);
}

static const char join_script[] =
	"objectClass: \"identity\" + cred: cred, uid=user, @base <- world\n"
	"discloseTo: remote + discloseOf: who, @ddn <- world\n"
	"(who = user)\n"
	"user, remote, cred -> disclose\n"
	"user -> users\n";

static void test_join(void **state)
{
	struct env *e = setup(join_script);
	const struct attr d1[] = { { "discloseOf", { "alice" } },
				   { "discloseTo", { "r1", "r2" } } };
	const struct attr d1b[] = { { "discloseOf", { "alice" } },
				    { "discloseTo", { "r2", "r3" } } };
	const struct attr i1[] = { { "objectClass", { "top", "identity" } },
				   { "cred", { "c1" } } };
	const struct attr i2[] = { { "objectClass", { "identity" } },
				   { "cred", { "c2" } } };
	const struct attr self[] = { { "objectClass", { "identity" } },
				     { "cred", { "c9" } },
				     { "discloseOf", { "self" } },
				     { "discloseTo", { "rx" } } };

	(void)state;
	/* the disclosure before the identity it names: nothing yet */
	assert_int_equal(put(e, NULL, 1, "cn=d1,dc=ex", d1, 2), 0);
	expect(e, "");
	assert_int_equal(put(e, NULL, 2, "uid=alice,dc=ex", i1, 2), 0);
	expect(e, "users+ alice\ndisclose+ alice|r1|c1\ndisclose+ alice|r2|c1\n");
	/* a second identity of the same user: its own tuples */
	assert_int_equal(put(e, NULL, 3, "uid=alice,dc=other", i2, 2), 0);
	expect(e, "disclose+ alice|r1|c2\ndisclose+ alice|r2|c2\n");
	/* modify the disclosure: r1 retracted for both, r3 added */
	assert_int_equal(put(e, NULL, 1, "cn=d1,dc=ex", d1b, 2), 0);
	expect(e, "disclose- alice|r1|c1\ndisclose- alice|r1|c2\n"
		  "disclose+ alice|r3|c1\ndisclose+ alice|r3|c2\n");
	assert_int_equal(del(e, NULL, 2), 0);
	expect(e, "disclose- alice|r2|c1\ndisclose- alice|r3|c1\n");
	assert_int_equal(del(e, NULL, 3), 0);
	expect(e, "users- alice\ndisclose- alice|r2|c2\ndisclose- alice|r3|c2\n");
	/* one entry feeding both generators: its tuple counted once */
	assert_int_equal(put(e, NULL, 4, "uid=self,dc=ex", self, 4), 0);
	expect(e, "users+ self\ndisclose+ self|rx|c9\n");
	assert_int_equal(del(e, NULL, 4), 0);
	expect(e, "users- self\ndisclose- self|rx|c9\n");
	assert_int_equal(put(e, NULL, 4, "uid=self,dc=ex", self, 4), 0);
	expect(e, "users+ self\ndisclose+ self|rx|c9\n");
	/* the disclosure goes, then the identity stops being one */
	assert_int_equal(del(e, NULL, 1), 0);
	expect(e, "");
	assert_int_equal(put(e, NULL, 4, "uid=self,dc=ex", self + 1, 3), 0);
	expect(e, "users- self\ndisclose- self|rx|c9\n");
	teardown(e);
}

static void test_conditions(void **state)
{
	struct env *e = setup("kind: k + val: v, @dn <- world\n"
			      "(|(k = \"a\")(k = \"b\"))\n"
			      "(!(v = \"skip\"))\n"
			      "(v != k)\n"
			      "v, k -> d\n");
	const struct attr ax[] = { { "kind", { "a" } }, { "val", { "x" } } };
	const struct attr cy[] = { { "kind", { "c" } }, { "val", { "y" } } };
	const struct attr bs[] = { { "kind", { "b" } }, { "val", { "skip" } } };
	const struct attr bb[] = { { "kind", { "b" } }, { "val", { "b" } } };
	const struct attr mv[] = { { "kind", { "a", "c", "b" } },
				   { "val", { "z", "skip", "a" } } };

	(void)state;
	assert_int_equal(put(e, NULL, 1, "cn=1", ax, 2), 0);
	expect(e, "d+ x|a\n");
	assert_int_equal(put(e, NULL, 2, "cn=2", cy, 2), 0);
	assert_int_equal(put(e, NULL, 3, "cn=3", bs, 2), 0);
	assert_int_equal(put(e, NULL, 4, "cn=4", bb, 2), 0);
	expect(e, "");
	assert_int_equal(put(e, NULL, 5, "cn=5", mv, 2), 0);
	expect(e, "d+ z|a\nd+ z|b\nd+ a|b\n");
	teardown(e);
}

/* Values with NUL bytes, joined through the index. */
static void test_binary(void **state)
{
	struct env *e = setup(join_script);
	static const uint8_t user[] = { 'a', 0, 'b' }, cred[] = { 0, 0xff, 0 };
	static const uint8_t oc[] = "identity";
	const struct pscript_value voc = { oc, 8 }, vcred = { cred, 3 };
	const struct pscript_value vwho = { user, 3 };
	const struct pscript_value vto = { (const uint8_t *)"r", 1 };
	struct pscript_attr ia[] = { { "objectClass", 1, &voc },
				     { "cred", 1, &vcred } };
	struct pscript_attr da[] = { { "discloseOf", 1, &vwho },
				     { "discloseTo", 1, &vto } };
	struct pscript_entry ie = { .dn = "uid=a\\00b,dc=x", .nattrs = 2,
				    .attrs = ia };
	struct pscript_entry de = { .dn = "cn=d,dc=x", .nattrs = 2,
				    .attrs = da };
	struct pscript_value vwho2 = { user, 1 };	/* "a" only */
	DB_TXN *t;

	(void)state;
	ie.uuid[0] = de.uuid[0] = 0xee;
	ie.uuid[15] = 1;
	de.uuid[15] = 2;
	t = begin(e);
	assert_int_equal(pscript_run_entry(e->rt, t, &de, on_out, e), 0);
	assert_int_equal(pscript_run_entry(e->rt, t, &ie, on_out, e), 0);
	commit(t);
	expect(e, "users+ a\\x00b\ndisclose+ a\\x00b|r|\\x00\\xff\\x00\n");
	/* "a" is not "a\0b": the tuple goes */
	da[0].vals = &vwho2;
	t = begin(e);
	assert_int_equal(pscript_run_entry(e->rt, t, &de, on_out, e), 0);
	commit(t);
	expect(e, "users- a\\x00b\ndisclose- a\\x00b|r|\\x00\\xff\\x00\n");
	teardown(e);
}

static void test_reset_and_uuids(void **state)
{
	struct env *e = setup(mail_script);
	const struct attr a[] = { { "mail", { "m1" } } };
	DB_TXN *t;

	(void)state;
	for (int i = 1; i <= 5; i++)
		assert_int_equal(put(e, NULL, i, "uid=u,dc=x", a, 1), 0);
	assert_int_equal(put(e, NULL, 6, "cn=nomatch", a, 1), 0);
	expect(e, "out+ m1\npairs+ u|m1\n");
	assert_int_equal(uuids(e), 0x3eu);	/* 1..5, not 6 */
	t = begin(e);
	assert_int_equal(pscript_run_reset(e->rt, t), 0);
	commit(t);
	expect(e, "");			/* a reset outputs nothing */
	assert_int_equal(uuids(e), 0);
	assert_int_equal(put(e, NULL, 3, "uid=u,dc=x", a, 1), 0);
	expect(e, "out+ m1\npairs+ u|m1\n");
	assert_int_equal(uuids(e), 1u << 3);
	teardown(e);
}

static int stop_after_two(void *ctx, const uint8_t uuid[16])
{
	int *n = ctx;

	(void)uuid;
	return ++*n == 2 ? -77 : 0;
}

static struct env *deleting;

static int delete_it(void *ctx, const uint8_t uuid[16])
{
	DB_TXN *t = ctx;

	return pscript_run_delete(deleting->rt, t, uuid, on_out, deleting);
}

static void test_callbacks_stop(void **state)
{
	struct env *e = setup(mail_script);
	const struct attr a[] = { { "mail", { "m1" } } };
	DB_TXN *t;
	int n = 0;

	(void)state;
	for (int i = 1; i <= 3; i++)
		assert_int_equal(put(e, NULL, i, "uid=u,dc=x", a, 1), 0);
	expect(e, "out+ m1\npairs+ u|m1\n");
	t = begin(e);
	assert_int_equal(pscript_run_uuids(e->rt, t, stop_after_two, &n), -77);
	assert_int_equal(n, 2);
	commit(t);
	/* the present phase: deleting from inside the listing */
	deleting = e;
	t = begin(e);
	assert_int_equal(pscript_run_uuids(e->rt, t, delete_it, t), 0);
	commit(t);
	deleting = NULL;
	expect(e, "out- m1\npairs- u|m1\n");
	assert_int_equal(uuids(e), 0);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(put(e, NULL, i, "uid=u,dc=x", a, 1), 0);
	expect(e, "out+ m1\npairs+ u|m1\n");
	e->fail_with = -42;
	t = begin(e);
	assert_int_equal(put(e, t, 4, "uid=v,dc=x", a, 1), -42);
	t->abort(t);
	e->fail_with = 0;
	assert_int_equal(uuids(e), 0xeu);
	assert_int_equal(put(e, NULL, 4, "uid=v,dc=x", a, 1), 0);
	expect(e, "pairs+ v|m1\n");
	teardown(e);
}

static void test_abort_leaves_state(void **state)
{
	struct env *e = setup(mail_script);
	const struct attr a[] = { { "mail", { "m1", "m2" } } };
	const struct attr b[] = { { "mail", { "m3" } } };
	DB_TXN *t;

	(void)state;
	assert_int_equal(put(e, NULL, 1, "uid=u,dc=x", a, 1), 0);
	expect(e, "out+ m1\nout+ m2\npairs+ u|m1\npairs+ u|m2\n");
	t = begin(e);
	assert_int_equal(put(e, t, 1, "uid=u,dc=x", b, 1), 0);
	assert_int_equal(put(e, t, 2, "uid=w,dc=x", b, 1), 0);
	assert_int_equal(del(e, t, 1), 0);
	t->abort(t);
	e->log[0] = '\0';
	e->saw_add = 0;
	assert_int_equal(uuids(e), 1u << 1);
	/* the same change again gives the same outputs: nothing stuck */
	assert_int_equal(put(e, NULL, 1, "uid=u,dc=x", b, 1), 0);
	expect(e, "out- m1\nout- m2\npairs- u|m1\npairs- u|m2\n"
		  "out+ m3\npairs+ u|m3\n");
	teardown(e);
}

static void test_reopen(void **state)
{
	struct env *e = setup(join_script);
	const struct attr d1[] = { { "discloseOf", { "alice" } },
				   { "discloseTo", { "r1" } } };
	const struct attr i1[] = { { "objectClass", { "identity" } },
				   { "cred", { "c1" } } };

	(void)state;
	assert_int_equal(put(e, NULL, 1, "cn=d1,dc=ex", d1, 2), 0);
	assert_int_equal(put(e, NULL, 2, "uid=alice,dc=ex", i1, 2), 0);
	expect(e, "users+ alice\ndisclose+ alice|r1|c1\n");
	/* close everything, reopen the environment and the same script */
	run_close(e);
	env_close(e);
	env_open(e);
	assert_int_equal(run_open(e, join_script), 0);
	assert_int_equal(uuids(e), 1u << 1 | 1u << 2);
	/* the join and the counts survived */
	assert_int_equal(put(e, NULL, 3, "uid=alice,dc=y", i1, 2), 0);
	expect(e, "");
	assert_int_equal(del(e, NULL, 2), 0);
	expect(e, "");
	assert_int_equal(del(e, NULL, 3), 0);
	expect(e, "users- alice\ndisclose- alice|r1|c1\n");
	/* reordered lines and comments: the same script, the same state */
	run_close(e);
	assert_int_equal(run_open(e, "# reordered\n"
				  "user -> users\n"
				  "user, remote, cred -> disclose\n(who = user)\n"
				  "discloseTo: remote + discloseOf: who, @ddn <- world\n"
				  "objectClass: \"identity\" + cred: cred, uid=user, "
				  "@base <- world\n"), 0);
	assert_int_equal(uuids(e), 1u << 1);
	assert_int_equal(put(e, NULL, 2, "uid=alice,dc=ex", i1, 2), 0);
	expect(e, "users+ alice\ndisclose+ alice|r1|c1\n");
	/* another script: the state is emptied and a reset asked for */
	run_close(e);
	assert_int_equal(run_open(e, mail_script), 1);
	assert_int_equal(uuids(e), 0);
	teardown(e);
}

static void test_refused_entries(void **state)
{
	struct env *e = setup("a: x + b: y, @d <- world\nx, y -> d\n");
	struct pscript_value va[300];
	struct pscript_attr at[2] = { { "a", 300, va }, { "b", 300, va } };
	struct pscript_entry en = { .dn = "cn=big", .nattrs = 2, .attrs = at };
	DB_TXN *t;

	(void)state;
	for (int i = 0; i < 300; i++)
		va[i] = (struct pscript_value){ (const uint8_t *)"v", 1 };
	en.uuid[0] = 0xee;
	en.uuid[15] = 1;
	t = begin(e);
	/* 90000 bindings: refused, nothing written, the txn still usable */
	assert_int_equal(pscript_run_entry(e->rt, t, &en, on_out, e), -EINVAL);
	at[1].nvals = 1;
	assert_int_equal(pscript_run_entry(e->rt, t, &en, on_out, e), 0);
	commit(t);
	expect(e, "d+ v|v\n");
	en.dn = NULL;
	assert_int_equal(pscript_run_entry(e->rt, NULL, &en, on_out, e), -EINVAL);
	teardown(e);
}

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

static void set_attr(struct attr *a, const char *type, unsigned mask)
{
	int n = 0;

	a->type = type;
	for (int i = 0; i < NV; i++)
		if (mask >> i & 1)
			a->v[n++] = alpha[i];
	a->v[n] = NULL;
}

/* Apply the events of the log to the held set. */
static void apply_log(struct env *e, int held[NTUP])
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
	struct env *e = setup(rand_script);
	struct model m = { 0 }, saved;
	int held[NTUP] = { 0 }, want[NTUP];
	unsigned seed = 12345;

	(void)state;
	for (int step = 0; step < 400; step++) {
		int k = (int)(rand_r(&seed) % NU), op = (int)(rand_r(&seed) % 10);
		int abort_it = rand_r(&seed) % 8 == 0;
		DB_TXN *t = begin(e);
		int held_before[NTUP];

		saved = m;
		memcpy(held_before, held, sizeof(held));
		if (op < 2) {
			assert_int_equal(del(e, t, k + 1), 0);
			m.present[k] = 0;
		} else {
			struct attr a[4];
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
			assert_int_equal(put(e, t, k + 1, dn, a, 4), 0);
		}
		apply_log(e, held);
		if (abort_it) {
			t->abort(t);
			m = saved;
			memcpy(held, held_before, sizeof(held));
		} else {
			commit(t);
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
		assert_int_equal(del(e, NULL, k + 1), 0);
	apply_log(e, held);
	for (int i = 0; i < NTUP; i++)
		assert_int_equal(held[i], 0);
	assert_int_equal(uuids(e), 0);
	teardown(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refcount_modify_delete),
		cmocka_unit_test(test_dn_patterns),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_reset_and_uuids),
		cmocka_unit_test(test_callbacks_stop),
		cmocka_unit_test(test_abort_leaves_state),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_refused_entries),
		cmocka_unit_test(test_random_vs_naive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

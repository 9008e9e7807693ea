/* Unit tests for the PulleyScript runtime (pulley/pscript_run.c,
 * pscript_match.c, pscript_store.c) in a BerkeleyDB environment under
 * mkdtemp: multi-valued attributes and reference counts, modify
 * retracting what the old entry gave, delete, DN and RDN patterns, joins
 * across entries and inside one entry, conditions, binary values, reset,
 * the uuid list, state surviving a close and reopen of the environment,
 * an aborted transaction leaving the state as it was, a changed script
 * emptying the state, and a randomised comparison with a naive
 * evaluator (in test_pscript_rand). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pscript_fixture.h"

/* ---- cases ---- */

static const char mail_script[] =
	"mail: m, uid=u, @b <- world\n"
	"m -> out\n"
	"u, m -> pairs\n";

static void test_refcount_modify_delete(void **state)
{
	struct psf_env *e = psf_setup(mail_script);
	const struct psf_attr a1[] = { { "mail", { "a@x", "shared@x" } } };
	const struct psf_attr b1[] = { { "mail", { "shared@x" } } };
	const struct psf_attr b2[] = { { "Mail", { "shared@x", "b@x" } } };
	const struct psf_attr b3[] = { { "mail;x-tag", { "b@x" } } };

	(void)state;
	assert_int_equal(psf_put(e, NULL, 1, "uid=alice,dc=example,dc=com", a1, 1), 0);
	psf_expect(e, "out+ a@x\nout+ shared@x\npairs+ alice|a@x\n"
		  "pairs+ alice|shared@x\n");
	/* a second source of shared@x: no add for it */
	assert_int_equal(psf_put(e, NULL, 2, "uid=bob,dc=example", b1, 1), 0);
	psf_expect(e, "pairs+ bob|shared@x\n");
	assert_int_equal(psf_uuids(e), 1u << 1 | 1u << 2);
	/* delete alice: shared@x still has bob */
	assert_int_equal(psf_del(e, NULL, 1), 0);
	psf_expect(e, "out- a@x\npairs- alice|a@x\npairs- alice|shared@x\n");
	assert_int_equal(psf_uuids(e), 1u << 2);
	/* modify bob: a value added */
	assert_int_equal(psf_put(e, NULL, 2, "uid=bob,dc=example", b2, 1), 0);
	psf_expect(e, "out+ b@x\npairs+ bob|b@x\n");
	/* modify bob: shared@x removed upstream is retracted */
	assert_int_equal(psf_put(e, NULL, 2, "uid=bob,dc=example", b3, 1), 0);
	psf_expect(e, "out- shared@x\npairs- bob|shared@x\n");
	/* the same entry again: nothing */
	assert_int_equal(psf_put(e, NULL, 2, "uid=bob,dc=example", b3, 1), 0);
	psf_expect(e, "");
	/* renamed: del before add, out unchanged */
	assert_int_equal(psf_put(e, NULL, 2, "uid=robert,dc=example", b3, 1), 0);
	psf_expect(e, "pairs- bob|b@x\npairs+ robert|b@x\n");
	/* no longer matching (no mail): everything retracted */
	assert_int_equal(psf_put(e, NULL, 2, "uid=robert,dc=example", NULL, 0), 0);
	psf_expect(e, "out- b@x\npairs- robert|b@x\n");
	assert_int_equal(psf_uuids(e), 0);
	/* unknown uuid: not an error */
	assert_int_equal(psf_del(e, NULL, 9), 0);
	psf_expect(e, "");
	/* back from zero: add again (the counts went to 0, not below) */
	assert_int_equal(psf_put(e, NULL, 2, "uid=robert,dc=example", b3, 1), 0);
	psf_expect(e, "out+ b@x\npairs+ robert|b@x\n");
	psf_teardown(e);
}

static void test_dn_patterns(void **state)
{
	struct psf_env *e = psf_setup("cn: name, uid=u, ou=\"Users\", @base <- world\n"
			      "u, base, name -> d\n"
			      "uid=v + cn=c, dc=\"example\" <- world\n"
			      "v, c -> multi\n");
	const struct psf_attr cn[] = { { "cn", { "Nom" } } };
	const struct psf_attr cn2[] = { { "cn;lang-fr", { "Nom" } },
				    { "CN", { "Name" } } };

	(void)state;
	assert_int_equal(psf_put(e, NULL, 1, "uid=alice,ou=Users,dc=example,dc=com",
			     cn, 1), 0);
	psf_expect(e, "d+ alice|dc=example,dc=com|Nom\n");
	/* a constant RDN value must match */
	assert_int_equal(psf_put(e, NULL, 2, "uid=bob,ou=Groups,dc=example", cn, 1), 0);
	psf_expect(e, "");
	/* spaces after the separators (LDAPv2 style) are not part of @base */
	assert_int_equal(psf_put(e, NULL, 12, "uid=zed, ou=Users,  dc=example",
			     cn, 1), 0);
	psf_expect(e, "d+ zed|dc=example|Nom\n");
	/* nothing above the pattern: @base binds the empty string */
	assert_int_equal(psf_put(e, NULL, 3, "uid=carol,ou=Users", cn, 1), 0);
	psf_expect(e, "d+ carol||Nom\n");
	/* the RDN type must match; a multi-valued RDN is not a single one */
	assert_int_equal(psf_put(e, NULL, 4, "cn=dave,ou=Users,dc=x", cn, 1), 0);
	assert_int_equal(psf_put(e, NULL, 5, "uid=eve+cn=x,ou=Users,dc=x", cn, 1), 0);
	psf_expect(e, "");
	/* escapes undone (binary safe), spaces around types trimmed, the rest
	 * of the DN as written; options ignored, types case-insensitive */
	assert_int_equal(psf_put(e, NULL, 6, "UID = a\\,b\\00c\\2B ,ou=Users,dc=x",
			     cn2, 2), 0);
	psf_expect(e, "d+ a,b\\x00c+|dc=x|Nom\nd+ a,b\\x00c+|dc=x|Name\n");
	/* without '@' the DN is anchored: exactly these RDNs */
	assert_int_equal(psf_put(e, NULL, 7, "cn=k+uid=j,dc=example", NULL, 0), 0);
	psf_expect(e, "multi+ j|k\n");
	assert_int_equal(psf_put(e, NULL, 8, "uid=j,cn=k,dc=example", NULL, 0), 0);
	assert_int_equal(psf_put(e, NULL, 9, "cn=k+uid=j,dc=example,dc=com", NULL, 0),
			 0);
	assert_int_equal(psf_put(e, NULL, 10, "cn=k+uid=j,dc=Example", NULL, 0), 0);
	psf_expect(e, "");
	/* a DN that is not RFC 4514: refused, state unchanged */
	assert_int_equal(psf_put(e, NULL, 11, "uid=x,,ou=Users", cn, 1), -EINVAL);
	assert_int_equal(psf_put(e, NULL, 11, "uid=x\\", cn, 1), -EINVAL);
	assert_int_equal(psf_put(e, NULL, 11, "=x,ou=Users", cn, 1), -EINVAL);
	assert_int_equal(psf_put(e, NULL, 11, "uid=x,ou=Users,", cn, 1), -EINVAL);
	assert_int_equal(psf_put(e, NULL, 1, "uid", cn, 1), -EINVAL);
	psf_expect(e, "");
	assert_int_equal(psf_uuids(e), 1u << 1 | 1u << 3 | 1u << 6 | 1u << 7 |
					 1u << 12);
	psf_teardown(e);
}

static const char join_script[] =
	"objectClass: \"identity\" + cred: cred, uid=user, @base <- world\n"
	"discloseTo: remote + discloseOf: who, @ddn <- world\n"
	"(who = user)\n"
	"user, remote, cred -> disclose\n"
	"user -> users\n";

static void test_join(void **state)
{
	struct psf_env *e = psf_setup(join_script);
	const struct psf_attr d1[] = { { "discloseOf", { "alice" } },
				   { "discloseTo", { "r1", "r2" } } };
	const struct psf_attr d1b[] = { { "discloseOf", { "alice" } },
				    { "discloseTo", { "r2", "r3" } } };
	const struct psf_attr i1[] = { { "objectClass", { "top", "identity" } },
				   { "cred", { "c1" } } };
	const struct psf_attr i2[] = { { "objectClass", { "identity" } },
				   { "cred", { "c2" } } };
	const struct psf_attr self[] = { { "objectClass", { "identity" } },
				     { "cred", { "c9" } },
				     { "discloseOf", { "self" } },
				     { "discloseTo", { "rx" } } };

	(void)state;
	/* the disclosure before the identity it names: nothing yet */
	assert_int_equal(psf_put(e, NULL, 1, "cn=d1,dc=ex", d1, 2), 0);
	psf_expect(e, "");
	assert_int_equal(psf_put(e, NULL, 2, "uid=alice,dc=ex", i1, 2), 0);
	psf_expect(e, "users+ alice\ndisclose+ alice|r1|c1\ndisclose+ alice|r2|c1\n");
	/* a second identity of the same user: its own tuples */
	assert_int_equal(psf_put(e, NULL, 3, "uid=alice,dc=other", i2, 2), 0);
	psf_expect(e, "disclose+ alice|r1|c2\ndisclose+ alice|r2|c2\n");
	/* modify the disclosure: r1 retracted for both, r3 added */
	assert_int_equal(psf_put(e, NULL, 1, "cn=d1,dc=ex", d1b, 2), 0);
	psf_expect(e, "disclose- alice|r1|c1\ndisclose- alice|r1|c2\n"
		  "disclose+ alice|r3|c1\ndisclose+ alice|r3|c2\n");
	assert_int_equal(psf_del(e, NULL, 2), 0);
	psf_expect(e, "disclose- alice|r2|c1\ndisclose- alice|r3|c1\n");
	assert_int_equal(psf_del(e, NULL, 3), 0);
	psf_expect(e, "users- alice\ndisclose- alice|r2|c2\ndisclose- alice|r3|c2\n");
	/* one entry feeding both generators: its tuple counted once */
	assert_int_equal(psf_put(e, NULL, 4, "uid=self,dc=ex", self, 4), 0);
	psf_expect(e, "users+ self\ndisclose+ self|rx|c9\n");
	assert_int_equal(psf_del(e, NULL, 4), 0);
	psf_expect(e, "users- self\ndisclose- self|rx|c9\n");
	assert_int_equal(psf_put(e, NULL, 4, "uid=self,dc=ex", self, 4), 0);
	psf_expect(e, "users+ self\ndisclose+ self|rx|c9\n");
	/* the disclosure goes, then the identity stops being one */
	assert_int_equal(psf_del(e, NULL, 1), 0);
	psf_expect(e, "");
	assert_int_equal(psf_put(e, NULL, 4, "uid=self,dc=ex", self + 1, 3), 0);
	psf_expect(e, "users- self\ndisclose- self|rx|c9\n");
	psf_teardown(e);
}

static void test_conditions(void **state)
{
	struct psf_env *e = psf_setup("kind: k + val: v, @dn <- world\n"
			      "(|(k = \"a\")(k = \"b\"))\n"
			      "(!(v = \"skip\"))\n"
			      "(v != k)\n"
			      "v, k -> d\n");
	const struct psf_attr ax[] = { { "kind", { "a" } }, { "val", { "x" } } };
	const struct psf_attr cy[] = { { "kind", { "c" } }, { "val", { "y" } } };
	const struct psf_attr bs[] = { { "kind", { "b" } }, { "val", { "skip" } } };
	const struct psf_attr bb[] = { { "kind", { "b" } }, { "val", { "b" } } };
	const struct psf_attr mv[] = { { "kind", { "a", "c", "b" } },
				   { "val", { "z", "skip", "a" } } };

	(void)state;
	assert_int_equal(psf_put(e, NULL, 1, "cn=1", ax, 2), 0);
	psf_expect(e, "d+ x|a\n");
	assert_int_equal(psf_put(e, NULL, 2, "cn=2", cy, 2), 0);
	assert_int_equal(psf_put(e, NULL, 3, "cn=3", bs, 2), 0);
	assert_int_equal(psf_put(e, NULL, 4, "cn=4", bb, 2), 0);
	psf_expect(e, "");
	assert_int_equal(psf_put(e, NULL, 5, "cn=5", mv, 2), 0);
	psf_expect(e, "d+ z|a\nd+ z|b\nd+ a|b\n");
	psf_teardown(e);
}

/* Values with NUL bytes, joined through the index. */
static void test_binary(void **state)
{
	struct psf_env *e = psf_setup(join_script);
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
	t = psf_begin(e);
	assert_int_equal(pscript_run_entry(e->rt, t, &de, psf_on_out, e), 0);
	assert_int_equal(pscript_run_entry(e->rt, t, &ie, psf_on_out, e), 0);
	psf_commit(t);
	psf_expect(e, "users+ a\\x00b\ndisclose+ a\\x00b|r|\\x00\\xff\\x00\n");
	/* "a" is not "a\0b": the tuple goes */
	da[0].vals = &vwho2;
	t = psf_begin(e);
	assert_int_equal(pscript_run_entry(e->rt, t, &de, psf_on_out, e), 0);
	psf_commit(t);
	psf_expect(e, "users- a\\x00b\ndisclose- a\\x00b|r|\\x00\\xff\\x00\n");
	psf_teardown(e);
}

static void test_reset_and_uuids(void **state)
{
	struct psf_env *e = psf_setup(mail_script);
	const struct psf_attr a[] = { { "mail", { "m1" } } };
	DB_TXN *t;

	(void)state;
	for (int i = 1; i <= 5; i++)
		assert_int_equal(psf_put(e, NULL, i, "uid=u,dc=x", a, 1), 0);
	assert_int_equal(psf_put(e, NULL, 6, "cn=nomatch", a, 1), 0);
	psf_expect(e, "out+ m1\npairs+ u|m1\n");
	assert_int_equal(psf_uuids(e), 0x3eu);	/* 1..5, not 6 */
	t = psf_begin(e);
	assert_int_equal(pscript_run_reset(e->rt, t), 0);
	psf_commit(t);
	psf_expect(e, "");			/* a reset outputs nothing */
	assert_int_equal(psf_uuids(e), 0);
	assert_int_equal(psf_put(e, NULL, 3, "uid=u,dc=x", a, 1), 0);
	psf_expect(e, "out+ m1\npairs+ u|m1\n");
	assert_int_equal(psf_uuids(e), 1u << 3);
	psf_teardown(e);
}

static int stop_after_two(void *ctx, const uint8_t uuid[16])
{
	int *n = ctx;

	(void)uuid;
	return ++*n == 2 ? -77 : 0;
}

static struct psf_env *deleting;

static int delete_it(void *ctx, const uint8_t uuid[16])
{
	DB_TXN *t = ctx;

	return pscript_run_delete(deleting->rt, t, uuid, psf_on_out, deleting);
}

static void test_callbacks_stop(void **state)
{
	struct psf_env *e = psf_setup(mail_script);
	const struct psf_attr a[] = { { "mail", { "m1" } } };
	DB_TXN *t;
	int n = 0;

	(void)state;
	for (int i = 1; i <= 3; i++)
		assert_int_equal(psf_put(e, NULL, i, "uid=u,dc=x", a, 1), 0);
	psf_expect(e, "out+ m1\npairs+ u|m1\n");
	t = psf_begin(e);
	assert_int_equal(pscript_run_uuids(e->rt, t, stop_after_two, &n), -77);
	assert_int_equal(n, 2);
	psf_commit(t);
	/* the present phase: deleting from inside the listing */
	deleting = e;
	t = psf_begin(e);
	assert_int_equal(pscript_run_uuids(e->rt, t, delete_it, t), 0);
	psf_commit(t);
	deleting = NULL;
	psf_expect(e, "out- m1\npairs- u|m1\n");
	assert_int_equal(psf_uuids(e), 0);
	for (int i = 1; i <= 3; i++)
		assert_int_equal(psf_put(e, NULL, i, "uid=u,dc=x", a, 1), 0);
	psf_expect(e, "out+ m1\npairs+ u|m1\n");
	e->fail_with = -42;
	t = psf_begin(e);
	assert_int_equal(psf_put(e, t, 4, "uid=v,dc=x", a, 1), -42);
	t->abort(t);
	e->fail_with = 0;
	assert_int_equal(psf_uuids(e), 0xeu);
	assert_int_equal(psf_put(e, NULL, 4, "uid=v,dc=x", a, 1), 0);
	psf_expect(e, "pairs+ v|m1\n");
	psf_teardown(e);
}

static void test_abort_leaves_state(void **state)
{
	struct psf_env *e = psf_setup(mail_script);
	const struct psf_attr a[] = { { "mail", { "m1", "m2" } } };
	const struct psf_attr b[] = { { "mail", { "m3" } } };
	DB_TXN *t;

	(void)state;
	assert_int_equal(psf_put(e, NULL, 1, "uid=u,dc=x", a, 1), 0);
	psf_expect(e, "out+ m1\nout+ m2\npairs+ u|m1\npairs+ u|m2\n");
	t = psf_begin(e);
	assert_int_equal(psf_put(e, t, 1, "uid=u,dc=x", b, 1), 0);
	assert_int_equal(psf_put(e, t, 2, "uid=w,dc=x", b, 1), 0);
	assert_int_equal(psf_del(e, t, 1), 0);
	t->abort(t);
	e->log[0] = '\0';
	e->saw_add = 0;
	assert_int_equal(psf_uuids(e), 1u << 1);
	/* the same change again gives the same outputs: nothing stuck */
	assert_int_equal(psf_put(e, NULL, 1, "uid=u,dc=x", b, 1), 0);
	psf_expect(e, "out- m1\nout- m2\npairs- u|m1\npairs- u|m2\n"
		  "out+ m3\npairs+ u|m3\n");
	psf_teardown(e);
}

/* A lock conflict with another writer comes back as -EDEADLK: the
 * caller aborts and retries. */
static void test_lock_conflict(void **state)
{
	struct psf_env *e = psf_setup(mail_script);
	const struct psf_attr a[] = { { "mail", { "m1" } } };
	DB_TXN *t1 = psf_begin(e), *t2 = NULL;

	(void)state;
	assert_int_equal(psf_put(e, t1, 1, "uid=u,dc=x", a, 1), 0);
	assert_int_equal(e->env->txn_begin(e->env, NULL, &t2, DB_TXN_NOWAIT), 0);
	assert_int_equal(psf_put(e, t2, 2, "uid=v,dc=x", a, 1), -EDEADLK);
	t2->abort(t2);
	psf_commit(t1);
	psf_expect(e, "out+ m1\npairs+ u|m1\n");
	assert_int_equal(psf_put(e, NULL, 2, "uid=v,dc=x", a, 1), 0);
	psf_expect(e, "pairs+ v|m1\n");
	psf_teardown(e);
}

static void test_reopen(void **state)
{
	struct psf_env *e = psf_setup(join_script);
	const struct psf_attr d1[] = { { "discloseOf", { "alice" } },
				   { "discloseTo", { "r1" } } };
	const struct psf_attr i1[] = { { "objectClass", { "identity" } },
				   { "cred", { "c1" } } };

	(void)state;
	assert_int_equal(psf_put(e, NULL, 1, "cn=d1,dc=ex", d1, 2), 0);
	assert_int_equal(psf_put(e, NULL, 2, "uid=alice,dc=ex", i1, 2), 0);
	psf_expect(e, "users+ alice\ndisclose+ alice|r1|c1\n");
	/* close everything, reopen the environment and the same script */
	psf_run_close(e);
	psf_env_close(e);
	psf_env_open(e);
	assert_int_equal(psf_run_open(e, join_script), 0);
	assert_int_equal(psf_uuids(e), 1u << 1 | 1u << 2);
	/* the join and the counts survived */
	assert_int_equal(psf_put(e, NULL, 3, "uid=alice,dc=y", i1, 2), 0);
	psf_expect(e, "");
	assert_int_equal(psf_del(e, NULL, 2), 0);
	psf_expect(e, "");
	assert_int_equal(psf_del(e, NULL, 3), 0);
	psf_expect(e, "users- alice\ndisclose- alice|r1|c1\n");
	/* reordered lines and comments: the same script, the same state */
	psf_run_close(e);
	assert_int_equal(psf_run_open(e, "# reordered\n"
				  "user -> users\n"
				  "user, remote, cred -> disclose\n(who = user)\n"
				  "discloseTo: remote + discloseOf: who, @ddn <- world\n"
				  "objectClass: \"identity\" + cred: cred, uid=user, "
				  "@base <- world\n"), 0);
	assert_int_equal(psf_uuids(e), 1u << 1);
	assert_int_equal(psf_put(e, NULL, 2, "uid=alice,dc=ex", i1, 2), 0);
	psf_expect(e, "users+ alice\ndisclose+ alice|r1|c1\n");
	/* another script: the state is emptied and a reset asked for */
	psf_run_close(e);
	assert_int_equal(psf_run_open(e, mail_script), 1);
	assert_int_equal(psf_uuids(e), 0);
	psf_teardown(e);
}

static void test_refused_entries(void **state)
{
	struct psf_env *e = psf_setup("a: x + b: y, @d <- world\nx, y -> d\n");
	struct pscript_value va[300];
	struct pscript_attr at[2] = { { "a", 300, va }, { "b", 300, va } };
	struct pscript_entry en = { .dn = "cn=big", .nattrs = 2, .attrs = at };
	DB_TXN *t;

	(void)state;
	for (int i = 0; i < 300; i++)
		va[i] = (struct pscript_value){ (const uint8_t *)"v", 1 };
	en.uuid[0] = 0xee;
	en.uuid[15] = 1;
	t = psf_begin(e);
	/* 90000 bindings: refused, nothing written, the txn still usable */
	assert_int_equal(pscript_run_entry(e->rt, t, &en, psf_on_out, e), -EINVAL);
	at[1].nvals = 1;
	assert_int_equal(pscript_run_entry(e->rt, t, &en, psf_on_out, e), 0);
	psf_commit(t);
	psf_expect(e, "d+ v|v\n");
	en.dn = NULL;
	assert_int_equal(pscript_run_entry(e->rt, NULL, &en, psf_on_out, e), -EINVAL);
	en.dn = "cn=big";
	at[0].vals = NULL;
	assert_int_equal(pscript_run_entry(e->rt, NULL, &en, psf_on_out, e), -EINVAL);
	at[0].vals = va;
	va[7].data = NULL;
	assert_int_equal(pscript_run_entry(e->rt, NULL, &en, psf_on_out, e), -EINVAL);
	assert_int_equal(pscript_run_entry(NULL, NULL, &en, psf_on_out, e), -EINVAL);
	psf_teardown(e);
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
		cmocka_unit_test(test_lock_conflict),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_refused_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

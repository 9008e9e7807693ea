/* Unit tests for lib/polsel: which rule applies (most concrete selector
 * first, subject by role), the disclosure choice, uid and credential-kind
 * refusals, the secure defaults, and stored expressions that no longer
 * compile, against a real policy environment under mkdtemp. */
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

#include "policydb.h"
#include "polsel.h"

struct env {
	char dir[64];
	struct policydb *db;
};

static int rm_one(const char *p, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	strcpy(e->dir, "/tmp/test_polsel.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	assert_int_equal(policydb_open(&e->db, e->dir, POLICYDB_CREATE, err,
				       sizeof(err)), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	policydb_close(e->db);
	nftw(e->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

static void put_policy(struct env *e, const char *sel, unsigned role,
		       const char *valexp, uint32_t uid, unsigned kinds)
{
	struct polrec_policy r = { .valexp = (char *)valexp, .kinds = kinds };
	struct policydb_txn *t;
	char why[256];

	if (uid != 0) {
		r.uids = &uid;
		r.nuids = 1;
	}
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_policy_put(t, sel, role, &r, why,
					     sizeof(why)), 0);
	assert_int_equal(policydb_commit(t), 0);
}

static void put_disclose(struct env *e, const char *sel, char **ids, size_t n)
{
	struct polrec_disclose r = { .ids = ids, .nids = n };
	struct policydb_txn *t;
	char why[256];

	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_disclose_put(t, sel, &r, why, sizeof(why)), 0);
	assert_int_equal(policydb_commit(t), 0);
}

static int decide(struct env *e, unsigned role, const char *local,
		  const char *remote, uid_t uid, struct polsel_decision *d,
		  char *why)
{
	struct polsel_query q = { role, local, remote, uid };

	return polsel_decide(e ? e->db : NULL, &q, d, why, 256);
}

static void test_defaults(void **state)
{
	struct polsel_decision d;
	char why[256];

	(void)state;
	assert_int_equal(decide(NULL, POLREC_ROLE_CLIENT, "", "a.example", 0,
				&d, why), 0);
	assert_false(d.have_record);
	assert_string_equal(d.valexp, POLSEL_DEFAULT_CLIENT);
	assert_string_equal(d.localid, "");
	polsel_decision_free(&d);
	assert_int_equal(decide(NULL, POLREC_ROLE_SERVER, "srv.example", "", 0,
				&d, why), 0);
	assert_string_equal(d.valexp, POLSEL_DEFAULT_SERVER);
	assert_string_equal(d.localid, "srv.example");
	polsel_decision_free(&d);
}

static void test_most_concrete_wins(void **state)
{
	struct env *e = *state;
	struct polsel_decision d;
	char why[256];

	put_policy(e, "@.", POLREC_ROLE_CLIENT, "1", 0, 0);
	put_policy(e, "@.example.com", POLREC_ROLE_CLIENT, "T", 0, 0);
	put_policy(e, "@sub.example.com", POLREC_ROLE_CLIENT, "IT&", 0, 0);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "",
				"bob@sub.example.com", 0, &d, why), 0);
	assert_string_equal(d.rule, "@sub.example.com");
	assert_string_equal(d.valexp, "IT&");
	assert_int_equal(d.ntried, 2);	/* bob@sub..., then @sub... */
	polsel_decision_free(&d);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "",
				"bob@x.example.com", 0, &d, why), 0);
	assert_string_equal(d.rule, "@.example.com");
	assert_string_equal(d.tried[0], "bob@x.example.com");
	assert_string_equal(d.tried[1], "@x.example.com");
	assert_string_equal(d.tried[2], "bob@.example.com");
	assert_string_equal(d.tried[3], "@.example.com");
	polsel_decision_free(&d);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "bob@other.org", 0,
				&d, why), 0);
	assert_string_equal(d.rule, "@.");
	assert_int_equal(d.serial, 3);
	polsel_decision_free(&d);
	/* A bare domain never meets user selectors; the role matters. */
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "www.example.com", 0,
				&d, why), 0);
	assert_false(d.have_record);
	polsel_decision_free(&d);
	assert_int_equal(decide(e, POLREC_ROLE_SERVER, "bob@sub.example.com",
				"", 0, &d, why), 0);
	assert_false(d.have_record);
	polsel_decision_free(&d);
}

static void test_server_subject_is_local(void **state)
{
	struct env *e = *state;
	struct polsel_decision d;
	char why[256];

	put_policy(e, ".example.com", POLREC_ROLE_SERVER, "IT&", 0, 0);
	assert_int_equal(decide(e, POLREC_ROLE_SERVER, "www.example.com",
				"client.other.org", 0, &d, why), 0);
	assert_string_equal(d.rule, ".example.com");
	polsel_decision_free(&d);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "www.example.com",
				"client.other.org", 0, &d, why), 0);
	assert_false(d.have_record);
	polsel_decision_free(&d);
}

static void test_disclose(void **state)
{
	struct env *e = *state;
	struct polsel_decision d;
	char why[256];
	char *ids[] = { "alice@example.com", "alice@work.example", "a3@x.org" };

	put_disclose(e, ".example.net", ids, 3);
	put_disclose(e, "shy.example.net", NULL, 0);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "www.example.net", 0,
				&d, why), 0);
	assert_string_equal(d.disclose_rule, ".example.net");
	assert_string_equal(d.localid, "alice@example.com");
	assert_int_equal(d.nalternatives, 2);
	assert_string_equal(d.alternatives[1], "a3@x.org");
	polsel_decision_free(&d);
	/* An empty list: show nothing, even though a wider rule exists. */
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "shy.example.net", 0,
				&d, why), 0);
	assert_string_equal(d.disclose_rule, "shy.example.net");
	assert_string_equal(d.localid, "");
	polsel_decision_free(&d);
	/* A requested identity is used as it is. */
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "me@mine.org",
				"www.example.net", 0, &d, why), 0);
	assert_string_equal(d.localid, "me@mine.org");
	assert_string_equal(d.disclose_rule, "");
	polsel_decision_free(&d);
}

static void test_refusals(void **state)
{
	struct env *e = *state;
	struct polsel_decision d;
	char why[256];

	put_policy(e, "only.example", POLREC_ROLE_CLIENT, NULL, 1000, 0);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "only.example", 1000,
				&d, why), 0);
	assert_string_equal(d.valexp, POLSEL_DEFAULT_CLIENT);
	polsel_decision_free(&d);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "only.example", 0,
				&d, why), -EACCES);
	assert_non_null(strstr(why, "rule only.example: uid 0 may not use it"));
	/* every kind is offered (krb5: TLS-KDH, rawpk: RFC 7250); the
	 * decision carries the rule's kinds to the handshake */
	put_policy(e, "krb.example", POLREC_ROLE_CLIENT, NULL, 0,
		   POLREC_KIND_BIT(POLREC_CRED_KRB5));
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "krb.example", 0,
				&d, why), 0);
	assert_int_equal(d.pol.kinds, POLREC_KIND_BIT(POLREC_CRED_KRB5));
	polsel_decision_free(&d);
	put_policy(e, "rpk.example", POLREC_ROLE_CLIENT, NULL, 0,
		   POLREC_KIND_BIT(POLREC_CRED_RAWPK));
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "rpk.example", 0,
				&d, why), 0);
	assert_int_equal(d.pol.kinds, POLREC_KIND_BIT(POLREC_CRED_RAWPK));
	polsel_decision_free(&d);
}

/* A record stored by another tool version naming a predicate this
 * daemon cannot evaluate is refused with the rule, never ignored. */
static void test_stored_valexp_refused(void **state)
{
	struct env *e = *state;
	struct polsel_decision d;
	char why[256];

	put_policy(e, "anon.example", POLREC_ROLE_CLIENT, "IT&A|", 0, 0);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "anon.example", 0,
				&d, why), -EINVAL);
	assert_non_null(strstr(why, "rule anon.example"));
	assert_non_null(strstr(why, "anonymous precursor"));
}

static void test_address_literal_meets_catch_all(void **state)
{
	struct env *e = *state;
	struct polsel_decision d;
	char why[256];

	put_policy(e, ".", POLREC_ROLE_CLIENT, "t", 0, 0);
	assert_int_equal(decide(e, POLREC_ROLE_CLIENT, "", "192.0.2.7", 0, &d,
				why), 0);
	assert_string_equal(d.rule, ".");
	assert_string_equal(d.valexp, "t");
	polsel_decision_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_most_concrete_wins, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_server_subject_is_local,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_disclose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_valexp_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_address_literal_meets_catch_all, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for daemon/trust_key.c: a key's pins in trust.db (bound to
 * an identity, for any identity, the peer-role flags or none asked for)
 * and its revocation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fixture.h"
#include "policydb.h"
#include "polrec.h"
#include "trust_key.h"

#define PIN "45073a6e46d0d23cc2004514d45c26b3cbe115ed120156b923b6c4d39adc0e78"
#define PIN2 "0d5ff29c3674816daa02e09ba2a130e7231fc991639066baf338a24df5aa15e0"

struct env {
	char dir[256];
	struct policydb *db;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	if (e == NULL || fx_mkdtemp(e->dir, sizeof(e->dir), "trustkey") < 0 ||
	    policydb_open(&e->db, e->dir, POLICYDB_CREATE, err,
			  sizeof(err)) < 0)
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	policydb_close(e->db);
	fx_rmtree(e->dir);
	free(e);
	return 0;
}

static void put(struct env *e, int kind, const char *hex, const char *id,
		unsigned flags)
{
	struct polrec_trust t = { .kind = kind, .flags = flags,
				  .bound_id = (char *)id };
	struct policydb_txn *txn;
	char key[POLREC_KEY_MAX], why[128];
	size_t kl;

	assert_int_equal(polrec_trust_key(kind, hex, id, key, sizeof(key),
					  &kl), 0);
	assert_int_equal(policydb_begin(e->db, &txn, 1), 0);
	assert_int_equal(policydb_trust_put(txn, key, &t, why, sizeof(why)), 0);
	assert_int_equal(policydb_commit(txn), 0);
}

/* pinned(hex, id, flags) in a read transaction of its own. */
static int pinned(struct env *e, const char *hex, const char *id,
		  unsigned flags)
{
	struct policydb_txn *txn;
	int ok;

	assert_int_equal(policydb_begin(e->db, &txn, 0), 0);
	ok = trust_key_pinned(txn, hex, id, flags);
	policydb_abort(txn);
	return ok;
}

static void bound_pin(void **state)
{
	struct env *e = *state;

	put(e, POLREC_TRUST_PIN, PIN, "srv.example", POLREC_TRUSTF_SERVERS);
	assert_true(pinned(e, PIN, "srv.example", 0));
	assert_true(pinned(e, PIN, "srv.example", POLREC_TRUSTF_SERVERS));
	assert_true(pinned(e, PIN, "srv.example",
			   POLREC_TRUSTF_SERVERS | POLREC_TRUSTF_CLIENTS));
	/* the role flags are checked only when asked for */
	assert_false(pinned(e, PIN, "srv.example", POLREC_TRUSTF_CLIENTS));
	/* bound to one identity: not to another, not for any */
	assert_false(pinned(e, PIN, "other.example", 0));
	assert_false(pinned(e, PIN, NULL, 0));
	assert_false(pinned(e, PIN2, "srv.example", 0));
}

static void any_pin(void **state)
{
	struct env *e = *state;

	put(e, POLREC_TRUST_PIN, PIN, NULL, POLREC_TRUSTF_CLIENTS);
	assert_true(pinned(e, PIN, NULL, 0));
	assert_true(pinned(e, PIN, NULL, POLREC_TRUSTF_CLIENTS));
	assert_false(pinned(e, PIN, NULL, POLREC_TRUSTF_SERVERS));
	/* a pin for any identity is a record of its own, not one per id */
	assert_false(pinned(e, PIN, "srv.example", 0));
}

static void revoked(void **state)
{
	struct env *e = *state;

	assert_false(trust_key_revoked(e->db, PIN));
	put(e, POLREC_TRUST_REVOKED, PIN, NULL, 0);
	assert_true(trust_key_revoked(e->db, PIN));
	assert_false(trust_key_revoked(e->db, PIN2));
	/* a pin is not a revocation, a revocation not a pin */
	put(e, POLREC_TRUST_PIN, PIN2, NULL, POLREC_TRUSTF_SERVERS);
	assert_false(trust_key_revoked(e->db, PIN2));
	assert_false(pinned(e, PIN, NULL, 0));
	/* no database: not revoked (R and r then decide on other grounds) */
	assert_false(trust_key_revoked(NULL, PIN));
}

/* A revocation record that does not decode is an error, never "not
 * revoked": the presented-key check and R/r refuse on it. */
static void revoked_unreadable(void **state)
{
	struct env *e = *state;
	struct policydb_txn *txn;
	char key[POLREC_KEY_MAX];
	size_t kl;
	static const char junk[] = "\xff\xff not a record";

	assert_int_equal(polrec_trust_key(POLREC_TRUST_REVOKED, PIN, NULL, key,
					  sizeof(key), &kl), 0);
	assert_int_equal(policydb_begin(e->db, &txn, 1), 0);
	assert_int_equal(policydb_raw_put(txn, POLICYDB_TRUST, key, kl, junk,
					  sizeof(junk) - 1), 0);
	assert_int_equal(policydb_commit(txn), 0);
	assert_true(trust_key_revoked(e->db, PIN) < 0);
	assert_int_equal(trust_key_revoked(e->db, PIN2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bound_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(any_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(revoked, setup, teardown),
		cmocka_unit_test_setup_teardown(revoked_unreadable, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for daemon/validate_rawpk.c: pins for a raw key (bound,
 * for any identity, the peer-role flags), the identity a pin names, and
 * what each predicate means for a raw key (doc/validation.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "fixture.h"
#include "policydb.h"
#include "validate_rawpk.h"

static const unsigned char ed_der[] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
	0x59, 0x2a, 0xda, 0x73, 0x28, 0xef, 0x0f, 0xb7, 0x6d, 0xb2, 0x67, 0xdc,
	0xd3, 0xce, 0x54, 0x70, 0x20, 0x5d, 0x69, 0xa7, 0xbe, 0xa4, 0xea, 0x00,
	0x5b, 0xae, 0x0d, 0x7b, 0x91, 0xe3, 0x02, 0xb3
};
#define PIN "45073a6e46d0d23cc2004514d45c26b3cbe115ed120156b923b6c4d39adc0e78"
#define PIN2 "0d5ff29c3674816daa02e09ba2a130e7231fc991639066baf338a24df5aa15e0"

struct env {
	char dir[256];
	struct policydb *db;
	gnutls_datum_t spki;
	struct validate_rawpk r;
	char proven[128], why[256];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	if (e == NULL || fx_mkdtemp(e->dir, sizeof(e->dir), "vrawpk") < 0 ||
	    policydb_open(&e->db, e->dir, POLICYDB_CREATE, err,
			  sizeof(err)) < 0)
		return -1;
	e->spki.data = (unsigned char *)ed_der;
	e->spki.size = sizeof(ed_der);
	e->r.server = 0;	/* local client: the peer is a server */
	e->r.remoteid = "srv.example";
	e->r.db = e->db;
	e->r.spki = &e->spki;
	e->r.hex = PIN;
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

static void put_pin(struct env *e, const char *hex, const char *id,
		    unsigned flags)
{
	struct polrec_trust t = { .kind = POLREC_TRUST_PIN, .flags = flags,
				  .bound_id = (char *)id };
	struct policydb_txn *txn;
	char key[POLREC_KEY_MAX], why[128];
	size_t kl;

	assert_int_equal(polrec_trust_key(POLREC_TRUST_PIN, hex, id, key,
					  sizeof(key), &kl), 0);
	assert_int_equal(policydb_begin(e->db, &txn, 1), 0);
	assert_int_equal(policydb_trust_put(txn, key, &t, why, sizeof(why)), 0);
	assert_int_equal(policydb_commit(txn), 0);
}

static void put_revoked(struct env *e, const char *hex)
{
	struct polrec_trust t = { .kind = POLREC_TRUST_REVOKED };
	struct policydb_txn *txn;
	char key[POLREC_KEY_MAX], why[128];
	size_t kl;

	assert_int_equal(polrec_trust_key(POLREC_TRUST_REVOKED, hex, NULL, key,
					  sizeof(key), &kl), 0);
	assert_int_equal(policydb_begin(e->db, &txn, 1), 0);
	assert_int_equal(policydb_trust_put(txn, key, &t, why, sizeof(why)), 0);
	assert_int_equal(policydb_commit(txn), 0);
}

static int pred(struct env *e, char letter)
{
	e->why[0] = '\0';
	return validate_rawpk_predicate(&e->r, letter, e->proven,
					sizeof(e->proven), e->why,
					sizeof(e->why));
}

static void test_pins(void **state)
{
	struct env *e = *state;
	int bound = -1, any = -1;
	char id[128];

	assert_int_equal(validate_rawpk_pins(e->db, PIN, "srv.example", 1,
					     &bound, &any), 0);
	assert_false(bound);
	assert_false(any);
	assert_int_equal(validate_rawpk_pins(NULL, PIN, "srv.example", 1,
					     &bound, &any), -ENOENT);
	/* a pin for another key, and one for this key vouching for clients */
	put_pin(e, PIN2, "srv.example", POLREC_TRUSTF_SERVERS);
	put_pin(e, PIN, "srv.example", POLREC_TRUSTF_CLIENTS);
	assert_int_equal(validate_rawpk_pins(e->db, PIN, "srv.example", 1,
					     &bound, &any), 0);
	assert_false(bound);
	assert_int_equal(validate_rawpk_pins(e->db, PIN, "srv.example", 0,
					     &bound, &any), 0);
	assert_true(bound);
	assert_false(any);
	/* the identity a pin names: only the role it vouches for */
	assert_int_equal(validate_rawpk_bound_id(e->db, PIN, 0, id, sizeof(id)),
			 0);
	assert_string_equal(id, "srv.example");
	assert_int_equal(validate_rawpk_bound_id(e->db, PIN, 1, id, sizeof(id)),
			 0);
	assert_string_equal(id, "");
	/* a pin for any identity */
	put_pin(e, PIN, NULL, POLREC_TRUSTF_SERVERS);
	assert_int_equal(validate_rawpk_pins(e->db, PIN, "x.example", 1,
					     &bound, &any), 0);
	assert_false(bound);
	assert_true(any);
	assert_int_equal(validate_rawpk_bound_id(e->db, PIN, 1, id, sizeof(id)),
			 0);
	assert_string_equal(id, "");	/* it names nobody */
}

static void test_identity(void **state)
{
	struct env *e = *state;

	assert_int_equal(pred(e, 'I'), 0);
	assert_non_null(strstr(e->why, "is not bound to srv.example by a pin"));
	put_pin(e, PIN, "srv.example", POLREC_TRUSTF_SERVERS);
	assert_int_equal(pred(e, 'I'), 1);
	assert_string_equal(e->proven, "srv.example");
	assert_int_equal(pred(e, 'i'), 1);
	/* U: the identity has no user part */
	assert_int_equal(pred(e, 'U'), 0);
	assert_non_null(strstr(e->why, "has no user part"));
	/* a user bound by pin; a pin for any identity does not name a user */
	e->r.remoteid = "alice@srv.example";
	assert_int_equal(pred(e, 'U'), 0);
	put_pin(e, PIN, NULL, POLREC_TRUSTF_SERVERS);
	assert_int_equal(pred(e, 'U'), 0);
	assert_int_equal(pred(e, 'I'), 1);	/* any identity: I holds */
	put_pin(e, PIN, "alice@srv.example", POLREC_TRUSTF_SERVERS);
	assert_int_equal(pred(e, 'U'), 1);
	assert_string_equal(e->proven, "alice@srv.example");
	/* server role without a requested identity: the bound pin names it */
	e->r.server = 1;
	e->r.remoteid = "";
	assert_int_equal(pred(e, 'I'), 0);	/* pins vouch for servers */
	assert_non_null(strstr(e->why, "not pinned to any identity"));
	put_pin(e, PIN, "cli.example", POLREC_TRUSTF_CLIENTS);
	assert_int_equal(pred(e, 'I'), 1);
	assert_string_equal(e->proven, "cli.example");
	/* no database: nothing holds */
	e->r.db = NULL;
	e->r.remoteid = "cli.example";
	assert_int_equal(pred(e, 'I'), 0);
}

static void test_certificate_predicates(void **state)
{
	struct env *e = *state;

	assert_int_equal(pred(e, 'T'), 0);
	assert_non_null(strstr(e->why, "no certificate chain to a trust anchor"));
	assert_int_equal(pred(e, 't'), 0);
	assert_int_equal(pred(e, 'E'), 0);
	assert_non_null(strstr(e->why, "no extended key usage"));
	assert_int_equal(pred(e, 'e'), 1);
	assert_int_equal(pred(e, 'O'), 0);
	assert_non_null(strstr(e->why, "no OCSP responder"));
	assert_int_equal(pred(e, 'o'), 0);
	assert_int_equal(pred(e, 'R'), 0);
	assert_non_null(strstr(e->why, "no CRL or OCSP status"));
	assert_int_equal(pred(e, 'r'), 1);
	put_revoked(e, PIN);
	assert_int_equal(pred(e, 'r'), 0);
	assert_non_null(strstr(e->why, "listed as revoked"));
	assert_int_equal(pred(e, 'R'), 0);
	assert_non_null(strstr(e->why, "listed as revoked"));
	/* the session's predicates and the pins are evaluated as for
	 * certificates; unknown letters are refused */
	for (const char *p = "PpFfSsCcQqDd"; *p; p++)
		assert_int_equal(pred(e, *p), VALIDATE_RAWPK_COMMON);
	assert_int_equal(pred(e, 'Z'), -EINVAL);
	assert_int_equal(pred(e, 'G'), -EINVAL);
}

/* L l: the key's strength (Ed25519: 128 bits, enough for both) and the
 * negotiated cipher's; before a handshake there is no cipher, so the
 * cipher is what is named.  A key that does not parse holds neither. */
static void test_level(void **state)
{
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	struct env *e = *state;
	gnutls_session_t tls;

	assert_int_equal(gnutls_init(&tls, GNUTLS_CLIENT), 0);
	e->r.tls = tls;
	assert_int_equal(pred(e, 'L'), 0);
	assert_non_null(strstr(e->why, "cipher "));
	assert_non_null(strstr(e->why, " is weaker than High"));
	assert_null(strstr(e->why, "peer key"));
	assert_int_equal(pred(e, 'l'), 0);
	assert_non_null(strstr(e->why, "cipher "));
	e->spki.data = (unsigned char *)junk;
	e->spki.size = sizeof(junk);
	assert_int_equal(pred(e, 'L'), 0);
	assert_string_equal(e->why, "the raw public key does not parse");
	gnutls_deinit(tls);
	e->r.tls = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_certificate_predicates,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_level, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

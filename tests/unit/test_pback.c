/* Unit tests for the pulleyback backends through the plugin API
 * (pulley/pback loading pulleyback_pool.so and pulleyback_null.so from
 * the build tree) against a real policy environment under mkdtemp:
 * parameter refusals, records written in the host's transaction, a
 * modify whose del comes after the add, malformed records skipped,
 * reset, the two-phase commit rolled back when one backend's prepare
 * fails, and every record kind of lib/polrec.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
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

#include "pback.h"
#include "policydb.h"
#include "polrec.h"

struct env {
	char dir[256];
	struct policydb *db;
	struct policydb_txn *txn;
	char lastlog[8][600];
	int nlog;
};

static void *h_txn(void *ctx)
{
	return ((struct env *)ctx)->txn;
}

static void h_log(void *ctx, int level, const char *msg)
{
	struct env *e = ctx;

	(void)level;
	snprintf(e->lastlog[e->nlog % 8], sizeof(e->lastlog[0]), "%s", msg);
	e->nlog++;
}

static int logged(struct env *e, const char *s)
{
	for (int i = 0; i < 8 && i < e->nlog; i++)
		if (strstr(e->lastlog[i], s) != NULL)
			return 1;
	return 0;
}

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

	snprintf(e->dir, sizeof(e->dir), "/tmp/test_pback.XXXXXX");
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
	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(e);
	return 0;
}

static int load(struct env *e, struct pback *b, const char *name,
		const char *p1, int varc)
{
	struct pulleyback_host host = { PULLEYBACK_API_VERSION, e, h_txn,
					h_log };
	char *params[1] = { (char *)p1 };
	char err[256];

	return pback_load(b, BACKEND_DIR, name, params, p1 ? 1 : 0, varc,
			  &host, err, sizeof(err));
}

static void disclose_rec(const char *id, uint8_t **out, size_t *len)
{
	char *ids[1] = { (char *)id };
	struct polrec_disclose r = { ids, 1 };

	assert_int_equal(polrec_disclose_encode(&r, out, len, NULL, 0), 0);
}

static int change(struct pback *b, int add, const char *k1, const char *k2,
		  const uint8_t *rec, size_t reclen)
{
	const uint8_t *v[3];
	size_t l[3], n = 0;

	v[n] = (const uint8_t *)k1;
	l[n++] = strlen(k1);
	if (k2 != NULL) {
		v[n] = (const uint8_t *)k2;
		l[n++] = strlen(k2);
	}
	v[n] = rec;
	l[n++] = reclen;
	return pback_change(b, add, v, l);
}

static int commit_own(void *ctx)
{
	struct env *e = ctx;
	int rc = policydb_commit(e->txn);

	e->txn = NULL;
	return rc;
}

static void abort_own(void *ctx)
{
	struct env *e = ctx;

	policydb_abort(e->txn);
	e->txn = NULL;
}

static int run_2pc(struct env *e, struct pback *b, size_t n)
{
	size_t failed = 99;

	return pback_2pc(b, n, commit_own, abort_own, e, &failed);
}

static void test_open_refusals(void **state)
{
	struct env *e = *state;
	struct pback b;

	assert_int_equal(load(e, &b, "pool", NULL, 2), -EINVAL);
	assert_int_equal(load(e, &b, "pool", "db=nowhere", 2), -EINVAL);
	assert_int_equal(load(e, &b, "pool", "table=policy", 3), -EINVAL);
	assert_int_equal(load(e, &b, "pool", "db=disclose", 3), -EINVAL);
	assert_int_equal(load(e, &b, "null", "colour=red", 1), -EINVAL);
	assert_int_equal(load(e, &b, "no_such_backend", NULL, 1), -ENOENT);
	assert_int_equal(load(e, &b, "../pool", NULL, 1), -EINVAL);
	assert_int_equal(load(e, &b, "pool", "db=disclose", 2), 0);
	pback_unload(&b);
}

static void test_write_and_modify(void **state)
{
	struct env *e = *state;
	struct pback b;
	struct polrec_disclose got;
	struct polrec_policy pol = { .min_version = POLREC_TLS12 };
	uint8_t *r1, *r2, *pr;
	size_t l1, l2, pl;
	uint64_t s0, s1;
	struct pback pb;

	assert_int_equal(load(e, &b, "pool", "db=disclose", 2), 0);
	assert_int_equal(load(e, &pb, "pool", "db=policy", 3), 0);
	assert_int_equal(policydb_serial(e->db, &s0), 0);
	disclose_rec("a@example.com", &r1, &l1);
	disclose_rec("b@example.com", &r2, &l2);
	assert_int_equal(polrec_policy_encode(&pol, &pr, &pl, NULL, 0), 0);
	assert_non_null(memchr(pr, 0, pl));	/* binary, with NUL bytes */

	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(change(&b, 1, "@example.com", NULL, r1, l1), 0);
	assert_int_equal(change(&pb, 1, "@example.com", "server", pr, pl), 0);
	/* nothing is written before prepare */
	assert_int_equal(policydb_disclose_get(e->txn, "@example.com", &got),
			 -ENOENT);
	struct pback both[2] = { b, pb };
	assert_int_equal(run_2pc(e, both, 2), 0);
	assert_int_equal(policydb_serial(e->db, &s1), 0);
	assert_int_equal(s1, s0 + 1);	/* one transaction, one serial */

	/* a modify whose add comes before the del of the old version */
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(change(&b, 1, "@example.com", NULL, r2, l2), 0);
	assert_int_equal(change(&b, 0, "@example.com", NULL, r1, l1), 0);
	assert_int_equal(run_2pc(e, &b, 1), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 0), 0);
	assert_int_equal(policydb_disclose_get(e->txn, "@example.com", &got),
			 0);
	assert_int_equal(got.nids, 1);
	assert_string_equal(got.ids[0], "b@example.com");
	polrec_disclose_free(&got);
	struct polrec_policy gp;
	assert_int_equal(policydb_policy_get(e->txn, "@example.com",
					     POLREC_ROLE_SERVER, &gp), 0);
	assert_int_equal(gp.min_version, POLREC_TLS12);
	polrec_policy_free(&gp);
	policydb_abort(e->txn);
	e->txn = NULL;

	/* delete, then reset */
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(change(&b, 0, "@example.com", NULL, r2, l2), 0);
	assert_int_equal(run_2pc(e, &b, 1), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(policydb_disclose_get(e->txn, "@example.com", &got),
			 -ENOENT);
	policydb_abort(e->txn);
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(pb.f.reset(pb.h), 1);
	assert_int_equal(run_2pc(e, &pb, 1), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 0), 0);
	assert_int_equal(policydb_policy_get(e->txn, "@example.com",
					     POLREC_ROLE_SERVER, &gp), -ENOENT);
	policydb_abort(e->txn);
	e->txn = NULL;
	free(r1);
	free(r2);
	free(pr);
	pback_unload(&b);
	pback_unload(&pb);
}

static void test_malformed_skipped(void **state)
{
	struct env *e = *state;
	struct pback b, pb;
	struct polrec_disclose got;
	struct polrec_policy pol = { 0 };
	uint8_t *r1, *pr;
	size_t l1, pl;
	const uint8_t junk[] = { 0x01, 0x44, 0x00, 0x05, 'x' };

	assert_int_equal(load(e, &b, "pool", "db=disclose", 2), 0);
	assert_int_equal(load(e, &pb, "pool", "db=policy", 3), 0);
	disclose_rec("a@example.com", &r1, &l1);
	assert_int_equal(polrec_policy_encode(&pol, &pr, &pl, NULL, 0), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(change(&b, 1, "@bad.example", NULL, junk,
				sizeof(junk)), 0);
	assert_true(logged(e, "disclose '@bad.example': record refused"));
	/* a policy record under a disclose instance is refused, too */
	assert_int_equal(change(&b, 1, "@x.example", NULL, pr, pl), 0);
	/* role "both" is not a policy key */
	assert_int_equal(change(&pb, 1, "@example.com", "both", pr, pl), 0);
	assert_true(logged(e, "role must be client or server"));
	assert_int_equal(change(&b, 1, "@good.example", NULL, r1, l1), 0);
	struct pback both[2] = { b, pb };
	assert_int_equal(run_2pc(e, both, 2), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 0), 0);
	assert_int_equal(policydb_disclose_get(e->txn, "@good.example", &got),
			 0);
	polrec_disclose_free(&got);
	assert_int_equal(policydb_disclose_get(e->txn, "@bad.example", &got),
			 -ENOENT);
	assert_int_equal(policydb_disclose_get(e->txn, "@x.example", &got),
			 -ENOENT);
	policydb_abort(e->txn);
	e->txn = NULL;
	free(r1);
	free(pr);
	pback_unload(&b);
	pback_unload(&pb);
}

static void test_2pc_rollback(void **state)
{
	struct env *e = *state;
	struct pback bs[2];
	struct polrec_disclose got;
	uint8_t *r1;
	size_t l1;
	uint64_t s0, s1;

	assert_int_equal(load(e, &bs[0], "pool", "db=disclose", 2), 0);
	assert_int_equal(load(e, &bs[1], "null", "refuse=@poison", 2), 0);
	disclose_rec("a@example.com", &r1, &l1);
	assert_int_equal(policydb_serial(e->db, &s0), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(change(&bs[0], 1, "@example.com", NULL, r1, l1), 0);
	assert_int_equal(change(&bs[1], 1, "@poison", NULL, r1, l1), 0);
	assert_int_equal(run_2pc(e, bs, 2), -EAGAIN);
	assert_null(e->txn);
	assert_true(logged(e, "prepare refused"));
	assert_true(logged(e, "rollback"));
	assert_int_equal(policydb_serial(e->db, &s1), 0);
	assert_int_equal(s1, s0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 0), 0);
	assert_int_equal(policydb_disclose_get(e->txn, "@example.com", &got),
			 -ENOENT);
	policydb_abort(e->txn);
	e->txn = NULL;
	/* the next batch, without the poison, commits in both */
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	assert_int_equal(change(&bs[0], 1, "@example.com", NULL, r1, l1), 0);
	assert_int_equal(change(&bs[1], 1, "@fine", NULL, r1, l1), 0);
	assert_int_equal(run_2pc(e, bs, 2), 0);
	assert_true(logged(e, "commit (1 add, 0 del)"));
	assert_int_equal(policydb_begin(e->db, &e->txn, 0), 0);
	assert_int_equal(policydb_disclose_get(e->txn, "@example.com", &got),
			 0);
	polrec_disclose_free(&got);
	policydb_abort(e->txn);
	e->txn = NULL;
	free(r1);
	pback_unload(&bs[0]);
	pback_unload(&bs[1]);
}

static uint8_t fake_der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
static const char hex[] =
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* Every record kind the schema carries, through the backend: localid of
 * kinds x509, rawpk and krb5; anchors, pins (bound and not), revoked
 * keys, CRLs; policy per selector and role. */
static void test_every_kind(void **state)
{
	struct env *e = *state;
	struct pback lid, tr;
	struct polrec_blob c = { fake_der, sizeof(fake_der) };
	struct polrec_localid l = { POLREC_CRED_X509, POLREC_ROLE_BOTH, 0,
				    POLREC_KEYREF_FILE, "/k.pem", &c, 1, NULL,
				    0 };
	struct polrec_trust t = { POLREC_TRUST_ANCHOR, POLREC_TRUSTF_MASK,
				  NULL, NULL, { fake_der, sizeof(fake_der) } };
	static const struct {
		enum polrec_trust_kind kind;
		const char *name, *bound, *key;
	} trusts[] = {
		{ POLREC_TRUST_ANCHOR, "anchor", NULL, "anchor:" },
		{ POLREC_TRUST_PIN, "pin", "peer@x.org", "pin:peer@x.org:" },
		{ POLREC_TRUST_PIN, "pin", NULL, "pin::" },
		{ POLREC_TRUST_REVOKED, "revoked", NULL, "revoked:" },
		{ POLREC_TRUST_CRL, "crl", NULL, "crl:" },
	};
	uint8_t *rec;
	size_t rl, i;
	int k;

	assert_int_equal(load(e, &lid, "pool", "db=localid", 3), 0);
	assert_int_equal(load(e, &tr, "pool", "db=trust", 3), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 1), 0);
	for (k = POLREC_CRED_X509; k <= POLREC_CRED_KRB5; k++) {
		l.kind = (enum polrec_cred)k;
		if (k == POLREC_CRED_KRB5) {
			l.keyref_type = POLREC_KEYREF_NONE;
			l.keyref = NULL;
			l.ncerts = 0;
		}
		assert_int_equal(polrec_localid_encode(&l, &rec, &rl, NULL, 0),
				 0);
		assert_int_equal(change(&lid, 1, "alice@example.com",
					polrec_cred_name(l.kind), rec, rl), 0);
		/* the entry's kind must be the record's */
		assert_int_equal(change(&lid, 1, "bob@example.com",
					k == POLREC_CRED_X509 ? "rawpk" : "x509",
					rec, rl), 0);
		free(rec);
	}
	for (i = 0; i < sizeof(trusts) / sizeof(trusts[0]); i++) {
		t.kind = trusts[i].kind;
		t.bound_id = (char *)trusts[i].bound;
		t.flags = t.kind == POLREC_TRUST_CRL ||
				  t.kind == POLREC_TRUST_REVOKED
			  ? 0 : POLREC_TRUSTF_MASK;
		assert_int_equal(polrec_trust_encode(&t, &rec, &rl, NULL, 0),
				 0);
		assert_int_equal(change(&tr, 1, trusts[i].name, hex, rec, rl),
				 0);
		free(rec);
	}
	struct pback both[2] = { lid, tr };
	assert_int_equal(run_2pc(e, both, 2), 0);
	assert_int_equal(policydb_begin(e->db, &e->txn, 0), 0);
	for (k = POLREC_CRED_X509; k <= POLREC_CRED_KRB5; k++) {
		struct polrec_localid got;

		assert_int_equal(policydb_localid_get(e->txn,
						      "alice@example.com",
						      (enum polrec_cred)k, &got),
				 0);
		assert_int_equal(got.kind, k);
		polrec_localid_free(&got);
		assert_int_equal(policydb_localid_get(e->txn, "bob@example.com",
						      (enum polrec_cred)k, &got),
				 -ENOENT);
	}
	for (i = 0; i < sizeof(trusts) / sizeof(trusts[0]); i++) {
		struct polrec_trust got;
		char key[200];

		snprintf(key, sizeof(key), "%s%s", trusts[i].key, hex);
		assert_int_equal(policydb_trust_get(e->txn, key, &got), 0);
		assert_int_equal(got.kind, trusts[i].kind);
		polrec_trust_free(&got);
	}
	policydb_abort(e->txn);
	e->txn = NULL;
	assert_true(logged(e, "localid 'bob@example.com x509': record refused"));
	pback_unload(&lid);
	pback_unload(&tr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_and_modify, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed_skipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_2pc_rollback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_every_kind, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for lib/policydb in a fresh environment under mkdtemp:
 * open flags, put/get/del/iterate per database, the serial, abort,
 * snapshot readers against a committing writer (same process and a
 * second process), corrupt records reported with their key and skipped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* nftw */
#endif
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "policydb.h"

#define ERR 256

static const char hex[] =
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static uint8_t fake_der[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };

struct env {
	char dir[256];
	struct policydb *db;
	char corrupt[8][160];	/* "db key: why" */
	int ncorrupt;
};

static int rm_one(const char *p, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

static void on_corrupt(void *ctx, enum policydb_which which, const void *key,
		       size_t keylen, const char *why)
{
	struct env *e = ctx;
	char k[64];
	size_t n = keylen < sizeof(k) - 1 ? keylen : sizeof(k) - 1;

	memcpy(k, key, n);
	k[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (k[i] == '\0')
			k[i] = '|';
	if (e->ncorrupt < 8)
		snprintf(e->corrupt[e->ncorrupt++], sizeof(e->corrupt[0]),
			 "%s %s: %s", policydb_name(which), k, why);
}

static void env_open(struct env *e, unsigned flags)
{
	char err[ERR];

	assert_int_equal(policydb_open(&e->db, e->dir, flags, err, ERR), 0);
	policydb_set_corrupt_cb(e->db, on_corrupt, e);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *base = getenv("TMPDIR");

	if (e == NULL)
		return -1;
	snprintf(e->dir, sizeof(e->dir), "%s/policydb-XXXXXX",
		 base && base[0] ? base : "/tmp");
	if (mkdtemp(e->dir) == NULL)
		return -1;
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

/* ---- records used throughout ---- */

static int put_localid(struct policydb_txn *t, const char *id,
		       enum polrec_cred kind)
{
	struct polrec_blob c = { fake_der, sizeof(fake_der) };
	struct polrec_localid r = { kind, POLREC_ROLE_BOTH, 0,
				    POLREC_KEYREF_FILE, "/k.pem", &c, 1, NULL,
				    0 };
	char why[ERR];

	if (kind == POLREC_CRED_KRB5) {
		r.keyref_type = POLREC_KEYREF_NONE;
		r.keyref = NULL;
		r.ncerts = 0;
	}
	return policydb_localid_put(t, id, &r, why, ERR);
}

static int put_policy(struct policydb_txn *t, const char *sel, unsigned role,
		      const char *valexp)
{
	struct polrec_policy p = { POLREC_TLS12, 0, POLREC_CAUTH_OPTIONAL, 0,
				   NULL, (char *)valexp, NULL, 0 };
	char why[ERR];

	return policydb_policy_put(t, sel, role, &p, why, ERR);
}

static uint64_t serial(struct env *e)
{
	uint64_t s;

	assert_int_equal(policydb_serial(e->db, &s), 0);
	return s;
}

/* ---- open ---- */

static void test_open(void **state)
{
	struct env *e = *state;
	struct policydb *other;
	struct policydb_txn *t;
	char missing[300], err[ERR];

	snprintf(missing, sizeof(missing), "%s/none", e->dir);
	assert_int_equal(policydb_open(&e->db, missing, POLICYDB_READONLY, err,
				       ERR), -ENOENT);
	assert_null(e->db);
	assert_non_null(strstr(err, missing));
	/* the directory exists but no database was ever written */
	assert_int_equal(policydb_open(&e->db, e->dir, POLICYDB_READONLY, err,
				       ERR), -ENOENT);
	assert_non_null(strstr(err, "localid.db"));

	snprintf(missing, sizeof(missing), "%s/new/db", e->dir);
	assert_int_equal(policydb_open(&e->db, missing, POLICYDB_CREATE, err,
				       ERR), 0);
	assert_int_equal(serial(e), 0);
	policydb_close(e->db);
	e->db = NULL;

	assert_int_equal(policydb_open(&e->db, missing, POLICYDB_READONLY, err,
				       ERR), 0);
	assert_int_equal(policydb_begin(e->db, &t, 1), -EROFS);
	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	assert_int_equal(put_localid(t, "a@b.c", POLREC_CRED_X509), -EROFS);
	policydb_abort(t);
	assert_int_equal(policydb_open(&other, "", 0, err, ERR), -EINVAL);
	assert_null(other);
}

/* ---- put / get / del / iterate ---- */

static int count_localid(void *ctx, const char *id,
			 const struct polrec_localid *r)
{
	char *out = ctx;

	snprintf(out + strlen(out), 256 - strlen(out), "%s/%s;", id,
		 polrec_cred_name(r->kind));
	return 0;
}

static int list_policy(void *ctx, const char *sel, unsigned role,
		       const struct polrec_policy *r)
{
	char *out = ctx;

	snprintf(out + strlen(out), 256 - strlen(out), "%s/%s/%s;", sel,
		 polrec_role_name(role), r->valexp ? r->valexp : "-");
	return 0;
}

static int stop_at_two(void *ctx, const char *id,
		       const struct polrec_localid *r)
{
	int *n = ctx;

	(void)id;
	(void)r;
	return ++*n == 2 ? 42 : 0;
}

static void test_localid(void **state)
{
	struct env *e = *state;
	struct policydb_txn *t;
	struct polrec_localid r;
	char out[256] = "";
	int n = 0;

	env_open(e, POLICYDB_CREATE);
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(put_localid(t, "a@b.c", POLREC_CRED_X509), 0);
	assert_int_equal(put_localid(t, "a@b.c", POLREC_CRED_KRB5), 0);
	assert_int_equal(put_localid(t, "a@b.cd", POLREC_CRED_X509), 0);
	assert_int_equal(put_localid(t, "b.c", POLREC_CRED_X509), 0);
	assert_int_equal(put_localid(t, "bad id", POLREC_CRED_X509), -EINVAL);
	assert_int_equal(policydb_commit(t), 0);

	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	assert_int_equal(policydb_localid_get(t, "a@b.c", POLREC_CRED_X509, &r),
			 0);
	assert_int_equal(r.ncerts, 1);
	assert_string_equal(r.keyref, "/k.pem");
	polrec_localid_free(&r);
	assert_int_equal(policydb_localid_get(t, "a@b.c", POLREC_CRED_RAWPK,
					      &r), -ENOENT);
	assert_int_equal(policydb_localid_iterate(t, "a@b.c", count_localid,
						  out), 0);
	assert_string_equal(out, "a@b.c/krb5;a@b.c/x509;");
	out[0] = '\0';
	assert_int_equal(policydb_localid_iterate(t, NULL, count_localid, out),
			 0);
	assert_string_equal(out, "a@b.c/krb5;a@b.c/x509;a@b.cd/x509;b.c/x509;");
	assert_int_equal(policydb_localid_iterate(t, NULL, stop_at_two, &n), 42);
	policydb_abort(t);

	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_localid_del(t, "a@b.c", POLREC_CRED_KRB5), 0);
	assert_int_equal(policydb_localid_del(t, "a@b.c", POLREC_CRED_KRB5),
			 -ENOENT);
	assert_int_equal(policydb_localid_del(t, "a@b.cd", 0), 0);
	assert_int_equal(policydb_localid_del(t, "nobody", 0), -ENOENT);
	assert_int_equal(policydb_commit(t), 0);
	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	out[0] = '\0';
	assert_int_equal(policydb_localid_iterate(t, NULL, count_localid, out),
			 0);
	assert_string_equal(out, "a@b.c/x509;b.c/x509;");
	policydb_abort(t);
	assert_int_equal(e->ncorrupt, 0);
}

static int count_trust(void *ctx, const char *key,
		       const struct polrec_trust *r)
{
	(void)key;
	(void)r;
	++*(int *)ctx;
	return 0;
}

static void test_other_dbs(void **state)
{
	struct env *e = *state;
	struct policydb_txn *t;
	char *ids[] = { "me@example.com", "example.com" };
	struct polrec_disclose d = { ids, 2 }, dg;
	struct polrec_trust tr = { POLREC_TRUST_PIN, POLREC_TRUSTF_SERVERS, NULL,
				   "peer@x.org", { fake_der, sizeof(fake_der) } },
			    tg;
	struct polrec_policy pg;
	char key[POLREC_KEY_MAX + 1], out[256] = "", why[ERR];
	size_t kl;
	int n = 0;

	env_open(e, POLICYDB_CREATE);
	assert_int_equal(polrec_trust_key(POLREC_TRUST_PIN, hex, "peer@x.org",
					    key, sizeof(key), &kl), 0);
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_disclose_put(t, "@.x.org", &d, why, ERR), 0);
	assert_int_equal(policydb_trust_put(t, key, &tr, why, ERR), 0);
	assert_int_equal(policydb_trust_put(t, "pin::00", &tr, why, ERR),
			 -EINVAL);
	assert_int_equal(put_policy(t, "@.", POLREC_ROLE_CLIENT, "T"), 0);
	assert_int_equal(put_policy(t, "@.", POLREC_ROLE_SERVER, NULL), 0);
	assert_int_equal(put_policy(t, "x.org", POLREC_ROLE_SERVER, "1"), 0);
	assert_int_equal(put_policy(t, "x.org", POLREC_ROLE_BOTH, "1"), -EINVAL);
	assert_int_equal(policydb_commit(t), 0);

	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	assert_int_equal(policydb_disclose_get(t, "@.x.org", &dg), 0);
	assert_int_equal(dg.nids, 2);
	assert_string_equal(dg.ids[1], "example.com");
	polrec_disclose_free(&dg);
	assert_int_equal(policydb_disclose_get(t, "@.y.org", &dg), -ENOENT);
	assert_int_equal(policydb_trust_get(t, key, &tg), 0);
	assert_string_equal(tg.bound_id, "peer@x.org");
	polrec_trust_free(&tg);
	assert_int_equal(policydb_trust_iterate(t, "pin:peer@x.org:",
						count_trust, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(policydb_trust_iterate(t, "anchor:", count_trust, &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(policydb_policy_get(t, "@.", POLREC_ROLE_CLIENT, &pg),
			 0);
	assert_string_equal(pg.valexp, "T");
	assert_int_equal(pg.client_auth, POLREC_CAUTH_OPTIONAL);
	polrec_policy_free(&pg);
	assert_int_equal(policydb_policy_iterate(t, list_policy, out), 0);
	assert_string_equal(out, "@./client/T;@./server/-;x.org/server/1;");
	policydb_abort(t);

	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_disclose_del(t, "@.x.org"), 0);
	assert_int_equal(policydb_disclose_del(t, "@.x.org"), -ENOENT);
	assert_int_equal(policydb_trust_del(t, key), 0);
	assert_int_equal(policydb_policy_del(t, "@.", POLREC_ROLE_SERVER), 0);
	assert_int_equal(policydb_commit(t), 0);
	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	out[0] = '\0';
	assert_int_equal(policydb_policy_iterate(t, list_policy, out), 0);
	assert_string_equal(out, "@./client/T;x.org/server/1;");
	assert_int_equal(policydb_trust_get(t, key, &tg), -ENOENT);
	policydb_abort(t);
}

/* ---- serial and abort ---- */

static void test_serial_abort(void **state)
{
	struct env *e = *state;
	struct policydb_txn *t;
	struct polrec_localid r;
	uint64_t s;

	env_open(e, POLICYDB_CREATE);
	assert_int_equal(serial(e), 0);
	/* a write transaction that changes nothing does not count */
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_commit(t), 0);
	assert_int_equal(serial(e), 0);
	/* several changes in one transaction: one increment */
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(put_localid(t, "a.b", POLREC_CRED_X509), 0);
	assert_int_equal(put_policy(t, "@.", POLREC_ROLE_CLIENT, NULL), 0);
	assert_int_equal(policydb_txn_serial(t, &s), 0);
	assert_true(s == 0);
	assert_int_equal(policydb_commit(t), 0);
	assert_int_equal(serial(e), 1);
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_localid_del(t, "a.b", 0), 0);
	assert_int_equal(policydb_commit(t), 0);
	assert_int_equal(serial(e), 2);
	/* abort leaves nothing, not even a serial change */
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(put_localid(t, "c.d", POLREC_CRED_X509), 0);
	assert_int_equal(put_policy(t, "c.d", POLREC_ROLE_SERVER, NULL), 0);
	policydb_abort(t);
	assert_int_equal(serial(e), 2);
	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	assert_int_equal(policydb_localid_get(t, "c.d", POLREC_CRED_X509, &r),
			 -ENOENT);
	policydb_abort(t);
	/* a corrupt serial is reported, and replaced at commit */
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_raw_put(t, POLICYDB_META, "serial", 6, "x", 1),
			 0);
	assert_int_equal(policydb_txn_serial(t, &s), -EBADMSG);
	assert_int_equal(policydb_commit(t), 0);
	assert_true(serial(e) > 2);
	assert_int_equal(e->ncorrupt, 2);
	assert_non_null(strstr(e->corrupt[0], "meta serial: serial record"));
}

/* ---- snapshots ---- */

static void test_snapshot_same_process(void **state)
{
	struct env *e = *state;
	struct policydb_txn *rd, *wr;
	struct polrec_localid r;
	uint64_t s;

	env_open(e, POLICYDB_CREATE);
	assert_int_equal(policydb_begin(e->db, &wr, 1), 0);
	assert_int_equal(put_localid(wr, "old.example", POLREC_CRED_X509), 0);
	assert_int_equal(policydb_commit(wr), 0);

	/* the reader's snapshot starts here */
	assert_int_equal(policydb_begin(e->db, &rd, 0), 0);
	assert_int_equal(policydb_localid_get(rd, "old.example",
					      POLREC_CRED_X509, &r), 0);
	polrec_localid_free(&r);

	/* a writer changes and deletes what the reader has read: no wait
	 * (a blocked put would hang this single thread) */
	assert_int_equal(policydb_begin(e->db, &wr, 1), 0);
	assert_int_equal(put_localid(wr, "new.example", POLREC_CRED_X509), 0);
	assert_int_equal(policydb_localid_del(wr, "old.example", 0), 0);
	assert_int_equal(policydb_commit(wr), 0);

	assert_int_equal(policydb_localid_get(rd, "old.example",
					      POLREC_CRED_X509, &r), 0);
	polrec_localid_free(&r);
	assert_int_equal(policydb_localid_get(rd, "new.example",
					      POLREC_CRED_X509, &r), -ENOENT);
	assert_int_equal(policydb_txn_serial(rd, &s), 0);
	assert_true(s == 1);
	policydb_abort(rd);

	/* a new transaction sees the new state */
	assert_int_equal(policydb_begin(e->db, &rd, 0), 0);
	assert_int_equal(policydb_localid_get(rd, "new.example",
					      POLREC_CRED_X509, &r), 0);
	polrec_localid_free(&r);
	assert_int_equal(policydb_localid_get(rd, "old.example",
					      POLREC_CRED_X509, &r), -ENOENT);
	assert_int_equal(policydb_txn_serial(rd, &s), 0);
	assert_true(s == 2);
	policydb_abort(rd);
}

/* Child: open the environment as a second process and commit a change.
 * Exit status 0 on success; alarm() turns a blocked writer into a
 * failure instead of a hang. */
static void child_writer(const char *dir)
{
	struct policydb *db;
	struct policydb_txn *t;
	char err[ERR];

	alarm(20);
	if (policydb_open(&db, dir, 0, err, ERR) < 0)
		_exit(2);
	if (policydb_begin(db, &t, 1) < 0 ||
	    put_localid(t, "child.example", POLREC_CRED_X509) < 0 ||
	    policydb_localid_del(t, "parent.example", 0) < 0 ||
	    policydb_commit(t) < 0)
		_exit(3);
	policydb_close(db);
	_exit(0);
}

static void test_snapshot_two_processes(void **state)
{
	struct env *e = *state;
	struct policydb_txn *rd, *wr;
	struct polrec_localid r;
	int status;
	pid_t pid;

	env_open(e, POLICYDB_CREATE);
	assert_int_equal(policydb_begin(e->db, &wr, 1), 0);
	assert_int_equal(put_localid(wr, "parent.example", POLREC_CRED_X509),
			 0);
	assert_int_equal(policydb_commit(wr), 0);
	assert_int_equal(policydb_begin(e->db, &rd, 0), 0);
	assert_int_equal(policydb_localid_get(rd, "parent.example",
					      POLREC_CRED_X509, &r), 0);
	polrec_localid_free(&r);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_writer(e->dir);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* still the old state in the snapshot */
	assert_int_equal(policydb_localid_get(rd, "parent.example",
					      POLREC_CRED_X509, &r), 0);
	polrec_localid_free(&r);
	assert_int_equal(policydb_localid_get(rd, "child.example",
					      POLREC_CRED_X509, &r), -ENOENT);
	policydb_abort(rd);
	assert_int_equal(serial(e), 2);
	assert_int_equal(policydb_begin(e->db, &rd, 0), 0);
	assert_int_equal(policydb_localid_get(rd, "child.example",
					      POLREC_CRED_X509, &r), 0);
	polrec_localid_free(&r);
	policydb_abort(rd);
}

/* ---- corrupt records ---- */

static void test_corrupt(void **state)
{
	struct env *e = *state;
	struct policydb_txn *t;
	struct polrec_localid r;
	struct polrec_trust tr = { POLREC_TRUST_ANCHOR, POLREC_TRUSTF_MASK, NULL,
				   NULL, { fake_der, sizeof(fake_der) } };
	uint8_t *enc;
	size_t el;
	char out[256] = "", why[ERR], akey[80];
	int n = 0;

	env_open(e, POLICYDB_CREATE);
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(put_localid(t, "good.a", POLREC_CRED_X509), 0);
	assert_int_equal(policydb_raw_put(t, POLICYDB_LOCALID, "bad.b\0x509", 10,
					  "\x01L\x01", 3), 0);
	assert_int_equal(policydb_raw_put(t, POLICYDB_LOCALID, "bad.c\0pgp", 9,
					  "\x01L", 2), 0);
	assert_int_equal(put_localid(t, "good.d", POLREC_CRED_X509), 0);
	/* an anchor stored under a pin key */
	assert_int_equal(polrec_trust_encode(&tr, &enc, &el, why, ERR), 0);
	snprintf(akey, sizeof(akey), "pin::%s", hex);
	assert_int_equal(policydb_raw_put(t, POLICYDB_TRUST, akey, strlen(akey),
					  enc, el), 0);
	free(enc);
	assert_int_equal(policydb_commit(t), 0);

	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	assert_int_equal(policydb_localid_iterate(t, NULL, count_localid, out),
			 0);
	assert_string_equal(out, "good.a/x509;good.d/x509;");
	assert_int_equal(e->ncorrupt, 2);
	assert_non_null(strstr(e->corrupt[0], "localid bad.b|x509: "));
	assert_non_null(strstr(e->corrupt[0], "truncated"));
	assert_non_null(strstr(e->corrupt[1], "localid bad.c|pgp: "));
	assert_int_equal(policydb_localid_get(t, "bad.b", POLREC_CRED_X509, &r),
			 -EBADMSG);
	assert_int_equal(e->ncorrupt, 3);
	assert_int_equal(policydb_trust_iterate(t, NULL, count_trust, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(e->ncorrupt, 4);
	assert_non_null(strstr(e->corrupt[3], "does not match"));
	assert_int_equal(policydb_trust_get(t, akey, &tr), -EBADMSG);
	policydb_abort(t);
}

static void test_kind_mismatch(void **state)
{
	struct env *e = *state;
	struct policydb_txn *t;
	struct polrec_blob c = { fake_der, sizeof(fake_der) };
	struct polrec_localid r = { POLREC_CRED_X509, 1, 0, POLREC_KEYREF_FILE,
				    "/k", &c, 1, NULL, 0 };
	uint8_t *enc;
	size_t el;
	char out[256] = "", why[ERR];

	env_open(e, POLICYDB_CREATE);
	assert_int_equal(polrec_localid_encode(&r, &enc, &el, why, ERR), 0);
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_raw_put(t, POLICYDB_LOCALID, "k.e\0krb5", 8,
					  enc, el), 0);
	assert_int_equal(policydb_commit(t), 0);
	free(enc);
	assert_int_equal(policydb_begin(e->db, &t, 0), 0);
	assert_int_equal(policydb_localid_iterate(t, NULL, count_localid, out),
			 0);
	assert_string_equal(out, "");
	assert_int_equal(e->ncorrupt, 1);
	assert_non_null(strstr(e->corrupt[0], "kind x509 under a krb5 key"));
	policydb_abort(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_localid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_dbs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_abort, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_same_process, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_two_processes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kind_mismatch, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

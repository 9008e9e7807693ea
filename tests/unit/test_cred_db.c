/* Unit tests for cred's database part (daemon/cred_db.c) and credwatch:
 * identities from localid.db (keys through the key process), the merge
 * with localid_dir, roles and uids, anchors from trust.db with their
 * peer flags, broken records skipped, refreshes that reuse unchanged
 * credentials, and the watcher thread applying a committed change.
 *
 * Identities and CAs are made per test with idgen in a temp dir; the
 * policy environment is a fresh lib/policydb one in the same dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "cred.h"
#include "credwatch.h"
#include "dconfig.h"
#include "fixture.h"
#include "idgen.h"
#include "keyproc.h"
#include "policydb.h"
#include "session.h"
#include "tplog.h"

struct env {
	char dir[256];
	char state[320];	/* CA 1 (the configured trust anchor) */
	char state2[320];	/* CA 2 (offered through trust.db) */
	char ids[320];		/* localid_dir */
	char pool[320];		/* chains and keys for the records */
	char pool2[320];	/* identities signed by CA 2 */
	char dbdir[320];
	char ca_pem[400], ca2_pem[400];
	char err[512], why[1024];
	struct dconfig cfg;
	struct policydb *db;
	struct cred_store *store;
	int ncorrupt;
	char log[400];		/* fx_capture file */
	struct fx_capture cap;
};

/* ---- helpers ---------------------------------------------------------- */

static void on_corrupt(void *ctx, enum policydb_which which, const void *key,
		       size_t keylen, const char *why)
{
	struct env *e = ctx;

	(void)which;
	(void)key;
	(void)keylen;
	(void)why;
	e->ncorrupt++;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	if (e == NULL)
		return -1;
	if (fx_mkdtemp(e->dir, sizeof(e->dir), "test_cred_db") < 0)
		return -1;
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(e->state2, sizeof(e->state2), "%s/state2", e->dir);
	snprintf(e->ids, sizeof(e->ids), "%s/ids", e->dir);
	snprintf(e->pool, sizeof(e->pool), "%s/pool", e->dir);
	snprintf(e->pool2, sizeof(e->pool2), "%s/pool2", e->dir);
	snprintf(e->dbdir, sizeof(e->dbdir), "%s/db", e->dir);
	snprintf(e->ca_pem, sizeof(e->ca_pem), "%s/ca.pem", e->state);
	snprintf(e->ca2_pem, sizeof(e->ca2_pem), "%s/ca.pem", e->state2);
	snprintf(e->log, sizeof(e->log), "%s/log.txt", e->dir);
	if (mkdir(e->ids, 0700) < 0 ||
	    idgen_ensure(e->state, e->pool, "seed.example", err,
			 sizeof(err)) < 0 ||
	    idgen_ensure(e->state2, e->pool2, "two.example", err,
			 sizeof(err)) < 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (policydb_open(&e->db, e->dbdir, POLICYDB_CREATE, err,
			  sizeof(err)) < 0) {
		fprintf(stderr, "policydb_open: %s\n", err);
		return -1;
	}
	policydb_set_corrupt_cb(e->db, on_corrupt, e);
	e->cfg.localid_dir = e->ids;
	e->cfg.trust_anchors = e->ca_pem;
	e->cfg.tls_priority = "NORMAL";
	e->cap.saved_stderr = -1;
	*state = e;
	return fx_keyproc_start(2) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	cred_store_unref(e->store);
	keyproc_stop();
	policydb_close(e->db);
	fx_rmtree(e->dir);
	free(e);
	return 0;
}

/* The certificates of a PEM file as DER. */
struct chain {
	gnutls_datum_t der[16];
	unsigned n;
};

static void chain_load(struct chain *c, const char *path)
{
	gnutls_x509_crt_t *list;
	gnutls_datum_t pem;
	unsigned n = 0;

	memset(c, 0, sizeof(*c));
	assert_int_equal(gnutls_load_file(path, &pem), 0);
	assert_int_equal(gnutls_x509_crt_list_import2(&list, &n, &pem,
						      GNUTLS_X509_FMT_PEM, 0),
			 0);
	gnutls_free(pem.data);
	assert_true(n > 0 && n <= 16);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(gnutls_x509_crt_export2(list[i],
							 GNUTLS_X509_FMT_DER,
							 &c->der[i]), 0);
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	c->n = n;
}

static void chain_free(struct chain *c)
{
	for (unsigned i = 0; i < c->n; i++)
		gnutls_free(c->der[i].data);
	c->n = 0;
}

/* <dir>/<name>.pem issued by the CA in state (pool: CA 1). */
static void issue(struct env *e, const char *dir, const char *name)
{
	assert_int_equal(idgen_issue(dir == e->pool2 ? e->state2 : e->state,
				     dir, name, e->err, sizeof(e->err)), 0);
}

struct lid {
	const char *chain;	/* PEM file */
	const char *key;	/* key file path or URI */
	int keyref_type;	/* POLREC_KEYREF_*, 0: file */
	unsigned roles;		/* 0: both */
	const uint32_t *uids;
	size_t nuids;
	uint32_t flags;
	int kind;		/* 0: x509 */
};

static void put_localid(struct env *e, const char *id, const struct lid *l)
{
	struct polrec_blob certs[16];
	struct polrec_localid r = { 0 };
	struct policydb_txn *t;
	struct chain c;

	chain_load(&c, l->chain);
	for (unsigned i = 0; i < c.n; i++) {
		certs[i].data = c.der[i].data;
		certs[i].len = c.der[i].size;
	}
	r.kind = l->kind ? (enum polrec_cred)l->kind : POLREC_CRED_X509;
	r.roles = l->roles ? l->roles : POLREC_ROLE_BOTH;
	r.flags = l->flags;
	r.keyref_type = l->keyref_type ? (enum polrec_keyref)l->keyref_type
				       : POLREC_KEYREF_FILE;
	r.keyref = (char *)l->key;
	r.certs = certs;
	r.ncerts = r.kind == POLREC_CRED_RAWPK ? 1 : c.n;
	r.uids = (uint32_t *)l->uids;
	r.nuids = l->nuids;
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	if (policydb_localid_put(t, id, &r, e->why, sizeof(e->why)) != 0)
		fprintf(stderr, "localid put %s: %s\n", id, e->why);
	assert_int_equal(policydb_commit(t), 0);
	chain_free(&c);
}

/* A record for <dir>/<name>.pem with its own key file. */
static void put_simple(struct env *e, const char *dir, const char *name,
		       unsigned roles, const uint32_t *uids, size_t nuids)
{
	char pem[512], key[512];
	struct lid l = { .chain = pem, .key = key, .roles = roles,
			 .uids = uids, .nuids = nuids };

	snprintf(pem, sizeof(pem), "%s/%s.pem", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	put_localid(e, name, &l);
}

static void del_localid(struct env *e, const char *id)
{
	struct policydb_txn *t;

	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_localid_del(t, id, 0), 0);
	assert_int_equal(policydb_commit(t), 0);
}

/* Any change: bumps the serial without touching identities. */
static void bump(struct env *e)
{
	struct policydb_txn *t;

	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_raw_put(t, POLICYDB_META, "cookie", 6,
					  "x", 1), 0);
	assert_int_equal(policydb_commit(t), 0);
}

/* trust.db anchor for the first certificate of pem (flags: peers). */
static void anchor_key(const char *pem, char *key, size_t cap, struct chain *c)
{
	gnutls_x509_crt_t crt;
	gnutls_pubkey_t pub;
	gnutls_datum_t spki;
	uint8_t h[32];
	char hex[65];
	size_t kl;

	chain_load(c, pem);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &c->der[0],
						GNUTLS_X509_FMT_DER), 0);
	assert_int_equal(gnutls_pubkey_init(&pub), 0);
	assert_int_equal(gnutls_pubkey_import_x509(pub, crt, 0), 0);
	assert_int_equal(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER,
					       &spki), 0);
	assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, spki.data,
					  spki.size, h), 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	assert_int_equal(polrec_trust_key(POLREC_TRUST_ANCHOR, hex, NULL, key,
					  cap, &kl), 0);
	gnutls_free(spki.data);
	gnutls_pubkey_deinit(pub);
	gnutls_x509_crt_deinit(crt);
}

static void put_anchor(struct env *e, const char *pem, uint32_t flags)
{
	struct polrec_trust r = { .kind = POLREC_TRUST_ANCHOR, .flags = flags };
	char key[POLREC_KEY_MAX + 1];
	struct policydb_txn *t;
	struct chain c;

	anchor_key(pem, key, sizeof(key), &c);
	r.der.data = c.der[0].data;
	r.der.len = c.der[0].size;
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_trust_put(t, key, &r, e->why,
					    sizeof(e->why)), 0);
	assert_int_equal(policydb_commit(t), 0);
	chain_free(&c);
}

static void del_anchor(struct env *e, const char *pem)
{
	char key[POLREC_KEY_MAX + 1];
	struct policydb_txn *t;
	struct chain c;

	anchor_key(pem, key, sizeof(key), &c);
	chain_free(&c);
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_trust_del(t, key), 0);
	assert_int_equal(policydb_commit(t), 0);
}

static void load(struct env *e)
{
	cred_store_unref(e->store);
	e->store = NULL;
	e->err[0] = '\0';
	if (cred_store_load_db(&e->store, &e->cfg, e->db, e->err,
			       sizeof(e->err)) != 0)
		fprintf(stderr, "cred_store_load_db: %s\n", e->err);
	assert_non_null(e->store);
}

/* Replace the store by its refresh. */
static void refresh(struct env *e)
{
	struct cred_store *n = NULL;

	e->err[0] = '\0';
	if (cred_store_refresh(&n, e->store, e->db, e->err,
			       sizeof(e->err)) != 0)
		fprintf(stderr, "cred_store_refresh: %s\n", e->err);
	assert_non_null(n);
	cred_store_unref(e->store);
	e->store = n;
}

static uint64_t serial_now(struct env *e)
{
	uint64_t s;

	assert_int_equal(policydb_serial(e->db, &s), 0);
	return s;
}

/* Verify the chain of <dir>/<name>.pem as a peer in that role. */
static int verify_as(struct env *e, const char *dir, const char *name,
		     const char *purpose)
{
	char pem[512];
	struct chain c;
	int rc;

	snprintf(pem, sizeof(pem), "%s/%s.pem", dir, name);
	chain_load(&c, pem);
	e->why[0] = '\0';
	rc = cred_verify_peer(e->store, c.der, c.n, name, 0, purpose, e->why,
			      sizeof(e->why));
	chain_free(&c);
	return rc;
}


/* ---- identities ------------------------------------------------------- */

static void test_db_identity(void **state)
{
	struct env *e = *state;
	static const uint32_t uids[] = { 1000, 4242 };
	const struct cred_identity *id;

	issue(e, e->pool, "db.example");
	put_simple(e, e->pool, "db.example", POLREC_ROLE_SERVER, uids, 2);
	load(e);
	assert_int_equal(cred_count(e->store), 1);
	assert_int_equal(cred_db_count(e->store), 1);
	assert_int_equal(cred_store_serial(e->store), serial_now(e));
	id = cred_find(e->store, "db.example");
	assert_non_null(id);
	assert_non_null(id->cred);
	assert_true(id->from_db);
	assert_false(id->shadows);
	assert_int_equal(id->roles, CRED_ROLE_SERVER);
	assert_int_equal(id->nuids, 2);
	/* roles and uids, as use_identity checks them */
	assert_int_equal(cred_identity_allowed(id, 1, 4242, e->why,
					       sizeof(e->why)), 0);
	assert_int_equal(cred_identity_allowed(id, 1, 1000, e->why,
					       sizeof(e->why)), 0);
	assert_int_equal(cred_identity_allowed(id, 1, 0, e->why,
					       sizeof(e->why)), -EACCES);
	assert_string_equal(e->why, "local identity db.example may not be "
			    "used by uid 0");
	assert_int_equal(cred_identity_allowed(id, 1, 4243, e->why,
					       sizeof(e->why)), -EACCES);
	assert_int_equal(cred_identity_allowed(id, 0, 4242, e->why,
					       sizeof(e->why)), -EACCES);
	assert_non_null(strstr(e->why, "local identity db.example may not "
			       "be used as a client"));
	assert_int_equal(cred_identity_allowed(NULL, 1, 0, e->why,
					       sizeof(e->why)), -EACCES);
	/* without the database: not there */
	cred_store_unref(e->store);
	assert_int_equal(cred_store_load(&e->store, &e->cfg, e->err,
					 sizeof(e->err)), 0);
	assert_null(cred_find(e->store, "db.example"));
	assert_int_equal(cred_store_serial(e->store), 0);
}

static void test_file_identity_any_uid(void **state)
{
	struct env *e = *state;
	const struct cred_identity *id;

	assert_int_equal(idgen_issue(e->state, e->ids, "file.example", e->err,
				     sizeof(e->err)), 0);
	load(e);
	id = cred_find(e->store, "file.example");
	assert_non_null(id);
	assert_false(id->from_db);
	assert_int_equal(id->roles, CRED_ROLE_BOTH);
	assert_int_equal(cred_identity_allowed(id, 0, 12345, e->why,
					       sizeof(e->why)), 0);
	assert_int_equal(cred_identity_allowed(id, 1, 0, e->why,
					       sizeof(e->why)), 0);
}

/* A database identity replaces the file of the same name, logged once;
 * deleting the record brings the file back. */
static void test_db_wins(void **state)
{
	struct env *e = *state;
	static const uint32_t uids[] = { 7 };
	const struct cred_identity *id;
	char *log;

	assert_int_equal(idgen_issue(e->state, e->ids, "both.example", e->err,
				     sizeof(e->err)), 0);
	assert_int_equal(idgen_issue(e->state, e->ids, "f.example", e->err,
				     sizeof(e->err)), 0);
	issue(e, e->pool, "both.example");
	issue(e, e->pool, "d.example");
	put_simple(e, e->pool, "both.example", POLREC_ROLE_CLIENT, uids, 1);
	put_simple(e, e->pool, "d.example", 0, NULL, 0);
	tplog_set_level(LOG_NOTICE);
	fx_capture_start(&e->cap, e->log);
	load(e);
	bump(e);
	refresh(e);
	bump(e);
	refresh(e);
	log = fx_capture_end(&e->cap, e->log);
	tplog_set_level(LOG_ERR);
	assert_int_equal(fx_count(log, "identity both.example: localid.db "
				  "replaces the file in localid_dir"), 1);
	free(log);
	assert_int_equal(cred_count(e->store), 3);
	assert_int_equal(cred_db_count(e->store), 2);
	id = cred_find(e->store, "both.example");
	assert_true(id->from_db && id->shadows);
	assert_int_equal(id->roles, CRED_ROLE_CLIENT);
	assert_true(cred_find(e->store, "f.example") != NULL &&
		    !cred_find(e->store, "f.example")->from_db);
	assert_true(cred_find(e->store, "d.example")->from_db);
	/* sorted: every one is found by the binary search */
	assert_string_equal(cred_find(e->store, "d.example")->name,
			    "d.example");
	del_localid(e, "both.example");
	refresh(e);
	id = cred_find(e->store, "both.example");
	assert_non_null(id);
	assert_false(id->from_db);
	assert_int_equal(cred_identity_allowed(id, 1, 99, e->why,
					       sizeof(e->why)), 0);
	assert_int_equal(cred_count(e->store), 3);
}

/* Broken records are reported with their key and skipped; the rest
 * loads. */
static void test_db_broken_records(void **state)
{
	struct env *e = *state;
	char pem[512], key[512], other[512], nokey[512];
	struct policydb_txn *t;
	char *log;

	issue(e, e->pool, "good.example");
	issue(e, e->pool, "other.example");
	snprintf(pem, sizeof(pem), "%s/good.example.pem", e->pool);
	snprintf(key, sizeof(key), "%s/good.example.key", e->pool);
	snprintf(other, sizeof(other), "%s/other.example.key", e->pool);
	snprintf(nokey, sizeof(nokey), "%s/missing.key", e->pool);
	put_simple(e, e->pool, "good.example", 0, NULL, 0);
	put_localid(e, "nokey.example",
		    &(struct lid){ .chain = pem, .key = nokey });
	put_localid(e, "wrongkey.example",
		    &(struct lid){ .chain = pem, .key = other });
	put_localid(e, "off.example", &(struct lid){ .chain = pem, .key = key,
			.flags = POLREC_LIDF_DISABLED });
	put_localid(e, "raw.example", &(struct lid){ .chain = pem, .key = key,
			.kind = POLREC_CRED_RAWPK });
	put_localid(e, "hsm.example", &(struct lid){ .chain = pem,
			.key = "pkcs11:token=none;object=x;pin-value=1234",
			.keyref_type = POLREC_KEYREF_PKCS11 });
	/* a value that does not decode */
	assert_int_equal(policydb_begin(e->db, &t, 1), 0);
	assert_int_equal(policydb_raw_put(t, POLICYDB_LOCALID,
					  "junk.example\0x509", 17, "\1L", 2),
			 0);
	assert_int_equal(policydb_commit(t), 0);
	/* files of the names of a disabled and an unusable record: hidden */
	assert_int_equal(idgen_issue(e->state, e->ids, "off.example", e->err,
				     sizeof(e->err)), 0);
	assert_int_equal(idgen_issue(e->state, e->ids, "wrongkey.example",
				     e->err, sizeof(e->err)), 0);
	tplog_set_level(LOG_NOTICE);
	fx_capture_start(&e->cap, e->log);
	load(e);
	bump(e);
	refresh(e);
	log = fx_capture_end(&e->cap, e->log);
	tplog_set_level(LOG_ERR);
	assert_int_equal(cred_count(e->store), 1);
	assert_non_null(cred_find(e->store, "good.example"));
	assert_int_equal(fx_count(log, "identity off.example: the disabled "
				  "localid.db record hides the file"), 1);
	assert_int_equal(fx_count(log, "identity wrongkey.example: the "
				  "unusable localid.db record hides the file"),
			 1);
	assert_int_equal(fx_count(log, "localid.db wrongkey.example x509: "
				  "key "), 2);	/* tried again at each refresh */
	assert_non_null(strstr(log, "localid.db nokey.example x509: key "));
	assert_non_null(strstr(log, "localid.db wrongkey.example x509: key "));
	assert_non_null(strstr(log, "localid.db hsm.example x509: key "
			       "(PKCS#11 URI)"));
	assert_null(strstr(log, "pin-value"));
	assert_int_equal(e->ncorrupt, 2);	/* load and refresh */
	free(log);
	/* enabled again: the record's identity, not the file's */
	put_localid(e, "off.example", &(struct lid){ .chain = pem,
			.key = key });
	refresh(e);
	assert_true(cred_find(e->store, "off.example")->from_db);
}

/* A refresh reuses unchanged credentials, takes new roles and uids
 * without reloading the key, and reloads a changed chain. */
static void test_refresh_reuses(void **state)
{
	struct env *e = *state;
	static const uint32_t uids[] = { 5 };
	struct cred_store *n = NULL;
	gnutls_certificate_credentials_t c1;
	const struct cred_identity *id;
	char pem[512], key[512];
	uint64_t s1;

	issue(e, e->pool, "r.example");
	issue(e, e->pool, "r2.example");
	put_simple(e, e->pool, "r.example", 0, NULL, 0);
	load(e);
	s1 = cred_store_serial(e->store);
	c1 = cred_find(e->store, "r.example")->cred;
	bump(e);
	refresh(e);
	assert_true(cred_store_serial(e->store) > s1);
	assert_ptr_equal(cred_find(e->store, "r.example")->cred, c1);
	put_simple(e, e->pool, "r.example", POLREC_ROLE_SERVER, uids, 1);
	refresh(e);
	id = cred_find(e->store, "r.example");
	assert_ptr_equal(id->cred, c1);
	assert_int_equal(id->roles, CRED_ROLE_SERVER);
	assert_int_equal(id->nuids, 1);
	assert_int_equal(id->uids[0], 5);
	/* another chain and key under the same name */
	snprintf(pem, sizeof(pem), "%s/r2.example.pem", e->pool);
	snprintf(key, sizeof(key), "%s/r2.example.key", e->pool);
	put_localid(e, "r.example", &(struct lid){ .chain = pem, .key = key });
	refresh(e);
	assert_true(cred_find(e->store, "r.example")->cred != c1);
	/* the key process down: a refresh needing no key still works, one
	 * needing a key fails with -EAGAIN and changes nothing */
	keyproc_stop();
	bump(e);
	refresh(e);
	assert_non_null(cred_find(e->store, "r.example"));
	put_simple(e, e->pool, "r2.example", 0, NULL, 0);
	assert_int_equal(cred_store_refresh(&n, e->store, e->db, e->err,
					    sizeof(e->err)), -EAGAIN);
	assert_null(n);
	assert_non_null(strstr(e->err, "key process unavailable"));
	assert_int_equal(cred_store_refresh(&n, NULL, e->db, e->err,
					    sizeof(e->err)), -EINVAL);
}

/* ---- anchors ------------------------------------------------------------ */

static void test_db_anchors(void **state)
{
	struct env *e = *state;
	char two[512];
	struct chain c;
	char *log;

	snprintf(two, sizeof(two), "%s/two.example.pem", e->pool2);
	load(e);
	assert_int_equal(cred_anchor_count(e->store), 1);
	assert_int_equal(verify_as(e, e->pool2, "two.example",
				   GNUTLS_KP_TLS_WWW_SERVER), -EACCES);
	/* CA 2 for both peer roles */
	put_anchor(e, e->ca2_pem, POLREC_TRUSTF_MASK);
	refresh(e);
	assert_int_equal(cred_anchor_count(e->store), 2);
	assert_ptr_equal(cred_trust_list_for(e->store, 1, NULL),
			 cred_trust_list(e->store));
	assert_int_equal(verify_as(e, e->pool2, "two.example",
				   GNUTLS_KP_TLS_WWW_SERVER), 0);
	assert_int_equal(verify_as(e, e->pool2, "two.example",
				   GNUTLS_KP_TLS_WWW_CLIENT), 0);
	/* for client peers only */
	put_anchor(e, e->ca2_pem, POLREC_TRUSTF_CLIENTS);
	refresh(e);
	assert_int_equal(verify_as(e, e->pool2, "two.example",
				   GNUTLS_KP_TLS_WWW_SERVER), -EACCES);
	assert_non_null(strstr(e->why, "signer not found"));
	assert_int_equal(verify_as(e, e->pool2, "two.example",
				   GNUTLS_KP_TLS_WWW_CLIENT), 0);
	assert_int_equal(verify_as(e, e->pool2, "two.example", NULL), 0);
	chain_load(&c, two);
	assert_int_equal(cred_verify_chain(e->store, c.der, c.n, 0, e->why,
					   sizeof(e->why)), 0);
	assert_int_equal(cred_verify_chain(e->store, c.der, c.n, 1, e->why,
					   sizeof(e->why)), -EACCES);
	chain_free(&c);
	/* no file anchors: the server list is empty, said so */
	e->cfg.trust_anchors = NULL;
	load(e);
	assert_int_equal(verify_as(e, e->pool2, "two.example",
				   GNUTLS_KP_TLS_WWW_SERVER), -EACCES);
	assert_non_null(strstr(e->why, "no trust anchor vouches for TLS "
			       "servers"));
	/* deleted: refused again */
	del_anchor(e, e->ca2_pem);
	refresh(e);
	assert_int_equal(cred_anchor_count(e->store), 0);
	assert_int_equal(verify_as(e, e->pool2, "two.example",
				   GNUTLS_KP_TLS_WWW_CLIENT), -EACCES);
	assert_non_null(strstr(e->why, "no trust anchors configured"));
	/* an anchor record whose DER is no certificate: skipped, logged */
	{
		static uint8_t seq[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
		struct polrec_trust r = { .kind = POLREC_TRUST_ANCHOR,
					  .flags = POLREC_TRUSTF_MASK,
					  .der = { seq, sizeof(seq) } };
		struct policydb_txn *t;

		assert_int_equal(policydb_begin(e->db, &t, 1), 0);
		assert_int_equal(policydb_trust_put(t, "anchor:00112233445566"
			"778899aabbccddeeff00112233445566778899aabbccddeeff",
			&r, e->why, sizeof(e->why)), 0);
		assert_int_equal(policydb_commit(t), 0);
	}
	tplog_set_level(LOG_WARNING);
	fx_capture_start(&e->cap, e->log);
	refresh(e);
	log = fx_capture_end(&e->cap, e->log);
	tplog_set_level(LOG_ERR);
	assert_non_null(strstr(log, "trust.db anchor:0011"));
	assert_non_null(strstr(log, "not a certificate; skipped"));
	assert_int_equal(cred_anchor_count(e->store), 0);
	free(log);
}

/* ---- credwatch ---------------------------------------------------------- */

static int wait_refreshes(unsigned long n)
{
	for (int i = 0; i < 500 && credwatch_refreshes() < n; i++)
		usleep(10000);
	return credwatch_refreshes() >= n;
}

static void test_credwatch(void **state)
{
	struct env *e = *state;
	const struct cred_identity *id;
	struct cred_store *s;
	unsigned long base;

	issue(e, e->pool, "live.example");
	load(e);
	assert_null(credwatch_apply(&e->cfg, e->store));
	assert_int_equal(credwatch_start(e->db), 0);
	assert_int_equal(credwatch_start(e->db), -EINVAL);
	base = credwatch_refreshes();
	put_simple(e, e->pool, "live.example", 0, NULL, 0);
	assert_true(wait_refreshes(base + 1));
	/* the store in force is what sessions get: check through a
	 * refresh of our own that it reads the same serial */
	s = NULL;
	assert_int_equal(cred_store_refresh(&s, e->store, e->db, e->err,
					    sizeof(e->err)), 0);
	id = cred_find(s, "live.example");
	assert_non_null(id);
	cred_store_unref(s);
	/* nothing changes: no refresh */
	usleep(3 * CREDWATCH_INTERVAL_MS * 1000);
	assert_int_equal(credwatch_refreshes(), base + 1);
	del_localid(e, "live.example");
	assert_true(wait_refreshes(base + 2));
	/* a SIGHUP-style apply in between is kept */
	assert_ptr_equal(credwatch_apply(&e->cfg, e->store), &e->cfg);
	assert_ptr_equal(credwatch_stop(), &e->cfg);
	assert_null(credwatch_stop());
	session_config_clear();
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_db_identity),
		T(test_file_identity_any_uid),
		T(test_db_wins),
		T(test_db_broken_records),
		T(test_refresh_reuses),
		T(test_db_anchors),
		T(test_credwatch),
	};

	tplog_init("test_cred_db", 1, LOG_ERR);
	gnutls_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

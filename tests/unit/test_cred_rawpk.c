/* Unit tests for raw-key identities in the credential store
 * (daemon/cred.c, daemon/cred_db.c): a PEM "PUBLIC KEY" with its key in
 * localid_dir, rawpk records in localid.db, a name with both kinds
 * (x509 is served), broken records skipped, and a real handshake in
 * which the key process signs for the raw key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/abstract.h>

#include "cred_fixture.h"
#include "policydb.h"
#include "rawpk.h"
#include "tplog.h"

/* certtool: NAME.key and NAME.pub in work. */
static void rawkey(struct env *e, const char *name)
{
	sh(e, "certtool --generate-privkey --key-type ed25519 --no-text "
	      "--outfile %s/%s.key && certtool --load-privkey %s/%s.key "
	      "--pubkey-info --no-text --outfile %s/%s.pub", e->work, name,
	   e->work, name, e->work, name);
}

static void spki_of(struct env *e, const char *name, gnutls_datum_t *spki)
{
	char p[512];
	gnutls_datum_t pem;

	snprintf(p, sizeof(p), "%s/%s.pub", e->work, name);
	assert_int_equal(gnutls_load_file(p, &pem), 0);
	assert_int_equal(rawpk_spki_import(&pem, GNUTLS_X509_FMT_PEM, spki), 0);
	gnutls_free(pem.data);
}

/* A handshake in which the server shows cred's raw key; the client must
 * receive exactly spki. */
static void rawpk_handshake(gnutls_certificate_credentials_t srv,
			    const gnutls_datum_t *spki)
{
	static const char prio[] = "NORMAL:-CTYPE-ALL:+CTYPE-SRV-RAWPK";
	gnutls_certificate_credentials_t anon;
	gnutls_session_t cli;
	const gnutls_datum_t *peers;
	unsigned n = 0;
	struct fx_server sv;
	int sp[2], rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&anon), 0);
	assert_int_equal(gnutls_init(&sv.s, GNUTLS_SERVER | GNUTLS_ENABLE_RAWPK),
			 0);
	assert_int_equal(gnutls_priority_set_direct(sv.s, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(sv.s, GNUTLS_CRD_CERTIFICATE,
						srv), 0);
	gnutls_transport_set_int(sv.s, sp[0]);
	assert_int_equal(gnutls_init(&cli, GNUTLS_CLIENT | GNUTLS_ENABLE_RAWPK),
			 0);
	assert_int_equal(gnutls_priority_set_direct(cli, prio, NULL), 0);
	assert_int_equal(gnutls_credentials_set(cli, GNUTLS_CRD_CERTIFICATE,
						anon), 0);
	gnutls_transport_set_int(cli, sp[1]);
	rc = fx_handshake(&sv, cli, sp[1]);
	if (rc < 0 || sv.rc < 0)
		fprintf(stderr, "handshake: client %s, server %s\n",
			gnutls_strerror(rc), gnutls_strerror(sv.rc));
	assert_int_equal(rc, 0);
	assert_int_equal(sv.rc, 0);
	assert_int_equal(gnutls_certificate_type_get2(cli, GNUTLS_CTYPE_SERVER),
			 GNUTLS_CRT_RAWPK);
	peers = gnutls_certificate_get_peers(cli, &n);
	assert_int_equal(n, 1);
	assert_int_equal(peers[0].size, spki->size);
	assert_memory_equal(peers[0].data, spki->data, spki->size);
	gnutls_deinit(cli);
	gnutls_deinit(sv.s);
	gnutls_certificate_free_credentials(anon);
	close(sp[0]);
	close(sp[1]);
}

static void test_file_identity(void **state)
{
	struct env *e = *state;
	const struct cred_identity *id;
	gnutls_datum_t spki;
	char *log;

	xmkdir(e->ids);
	issue(e, "x509.example");
	rawkey(e, "raw");
	rawkey(e, "other");
	sh(e, "cp %s/raw.pub %s/raw.example.pem && cp %s/raw.key "
	      "%s/raw.example.key", e->work, e->ids, e->work, e->ids);
	/* a public key with another key: GnuTLS's check refuses it */
	sh(e, "cp %s/raw.pub %s/mixed.example.pem && cp %s/other.key "
	      "%s/mixed.example.key", e->work, e->ids, e->work, e->ids);
	/* a broken public key block */
	sh(e, "printf -- '-----BEGIN PUBLIC KEY-----\\nMCow!!\\n-----END "
	      "PUBLIC KEY-----\\n' >%s/broken.example.pem && cp %s/raw.key "
	      "%s/broken.example.key", e->ids, e->work, e->ids);
	fx_capture_start(&e->cap, e->log);
	load(e);
	log = fx_capture_end(&e->cap, e->log);
	id = cred_find(e->store, "raw.example");
	assert_non_null(id);
	assert_int_equal(id->rawpk, 1);
	id = cred_find(e->store, "x509.example");
	assert_non_null(id);
	assert_int_equal(id->rawpk, 0);
	assert_null(cred_find(e->store, "mixed.example"));
	assert_null(cred_find(e->store, "broken.example"));
	assert_non_null(strstr(log, "identity mixed.example: The certificate "
				    "and the given key do not match"));
	assert_non_null(strstr(log, "identity broken.example: "));
	free(log);
	spki_of(e, "raw", &spki);
	rawpk_handshake(cred_find(e->store, "raw.example")->cred, &spki);
	gnutls_free(spki.data);
}

static void put_localid(struct policydb *db, const char *id,
			enum polrec_cred kind, const char *keyfile,
			const gnutls_datum_t *blob)
{
	struct polrec_blob b = { blob->data, blob->size };
	struct polrec_localid r = { .kind = kind, .roles = POLREC_ROLE_BOTH,
				    .keyref_type = POLREC_KEYREF_FILE,
				    .keyref = (char *)keyfile, .certs = &b,
				    .ncerts = 1 };
	struct policydb_txn *txn;
	char why[200];

	assert_int_equal(policydb_begin(db, &txn, 1), 0);
	if (policydb_localid_put(txn, id, &r, why, sizeof(why)) != 0)
		fail_msg("localid put %s: %s", id, why);
	assert_int_equal(policydb_commit(txn), 0);
}

static void test_db_identities(void **state)
{
	struct env *e = *state;
	const struct cred_identity *id;
	struct cred_store *s = NULL, *s2 = NULL;
	struct policydb *db = NULL;
	gnutls_datum_t spki, leaf, bad;
	char dbdir[400], key[400], key2[400], x509key[400], *log;
	struct chain c;

	xmkdir(e->ids);
	rawkey(e, "db");
	rawkey(e, "other");
	issue(e, "both.example");
	id_chain(e, &c, "both.example");
	leaf = c.der[0];
	snprintf(dbdir, sizeof(dbdir), "%s/db", e->dir);
	snprintf(key, sizeof(key), "%s/db.key", e->work);
	snprintf(key2, sizeof(key2), "%s/other.key", e->work);
	snprintf(x509key, sizeof(x509key), "%s/both.example.key", e->ids);
	assert_int_equal(policydb_open(&db, dbdir, POLICYDB_CREATE, e->err,
				       sizeof(e->err)), 0);
	spki_of(e, "db", &spki);
	put_localid(db, "raw.example", POLREC_CRED_RAWPK, key, &spki);
	/* both kinds for one name: x509 is served */
	put_localid(db, "both.example", POLREC_CRED_RAWPK, key, &spki);
	put_localid(db, "both.example", POLREC_CRED_X509, x509key, &leaf);
	/* an SPKI that does not parse, and a key that does not fit */
	bad.data = (unsigned char *)"\x30\x03\x02\x01\x05";	/* not an SPKI */
	bad.size = 5;
	put_localid(db, "bad.example", POLREC_CRED_RAWPK, key, &bad);
	put_localid(db, "wrongkey.example", POLREC_CRED_RAWPK, key2, &spki);

	tplog_set_level(LOG_NOTICE);
	fx_capture_start(&e->cap, e->log);
	assert_int_equal(cred_store_load_db(&s, &e->cfg, db, e->err,
					    sizeof(e->err)), 0);
	log = fx_capture_end(&e->cap, e->log);
	tplog_set_level(LOG_ERR);
	id = cred_find(s, "raw.example");
	assert_non_null(id);
	assert_int_equal(id->rawpk, 1);
	assert_int_equal(id->from_db, 1);
	id = cred_find(s, "both.example");
	assert_non_null(id);
	assert_int_equal(id->rawpk, 0);
	assert_non_null(strstr(log, "localid.db both.example: x509 and rawpk "
				    "records; the x509 one is served"));
	assert_null(cred_find(s, "bad.example"));
	assert_non_null(strstr(log, "localid.db bad.example rawpk: public key "
				    "1: "));
	assert_null(cred_find(s, "wrongkey.example"));
	assert_non_null(strstr(log, "localid.db wrongkey.example rawpk: key "));
	free(log);
	rawpk_handshake(cred_find(s, "raw.example")->cred, &spki);

	/* a refresh reuses the unchanged raw-key credential */
	put_localid(db, "new.example", POLREC_CRED_RAWPK, key, &spki);
	assert_int_equal(cred_store_refresh(&s2, s, db, e->err, sizeof(e->err)),
			 0);
	assert_ptr_equal(cred_find(s2, "raw.example")->cred,
			 cred_find(s, "raw.example")->cred);
	assert_non_null(cred_find(s2, "new.example"));
	assert_int_equal(cred_find(s2, "new.example")->rawpk, 1);
	cred_store_unref(s2);
	cred_store_unref(s);
	gnutls_free(spki.data);
	chain_free(&c);
	policydb_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_identity, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_db_identities, setup,
						teardown),
	};

	tplog_init("test_cred_rawpk", 1, LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

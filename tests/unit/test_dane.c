/* test_dane -- TLSA decoding and matching (daemon/dane.c): answers built
 * with ldns (dns_fixture), certificates made with GnuTLS in the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "dane.h"
#include "dns_fixture.h"

struct id {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t der, spki;
};

static struct id ca, leaf, evil_ca, evil_leaf;

static void make_id(struct id *id, const char *cn, const char *dns,
		    struct id *issuer, unsigned serial)
{
	time_t now = time(NULL);
	gnutls_pubkey_t pk;
	unsigned char ser[1] = { (unsigned char)serial };

	assert_int_equal(gnutls_x509_privkey_init(&id->key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(id->key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	assert_int_equal(gnutls_x509_crt_init(&id->crt), 0);
	gnutls_x509_crt_set_version(id->crt, 3);
	gnutls_x509_crt_set_serial(id->crt, ser, 1);
	gnutls_x509_crt_set_activation_time(id->crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(id->crt, now + 86400);
	gnutls_x509_crt_set_dn_by_oid(id->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
				      cn, strlen(cn));
	gnutls_x509_crt_set_key(id->crt, id->key);
	if (dns == NULL) {
		gnutls_x509_crt_set_basic_constraints(id->crt, 1, -1);
		gnutls_x509_crt_set_key_usage(id->crt, GNUTLS_KEY_KEY_CERT_SIGN);
	} else {
		gnutls_x509_crt_set_basic_constraints(id->crt, 0, -1);
		gnutls_x509_crt_set_key_usage(id->crt,
					      GNUTLS_KEY_DIGITAL_SIGNATURE);
		gnutls_x509_crt_set_subject_alt_name(id->crt, GNUTLS_SAN_DNSNAME,
						     dns, strlen(dns),
						     GNUTLS_FSAN_SET);
		gnutls_x509_crt_set_key_purpose_oid(id->crt,
						    GNUTLS_KP_TLS_WWW_SERVER, 0);
	}
	assert_int_equal(gnutls_x509_crt_sign2(id->crt,
		issuer ? issuer->crt : id->crt, issuer ? issuer->key : id->key,
		GNUTLS_DIG_SHA256, 0), 0);
	assert_int_equal(gnutls_x509_crt_export2(id->crt, GNUTLS_X509_FMT_DER,
						 &id->der), 0);
	assert_int_equal(gnutls_pubkey_init(&pk), 0);
	assert_int_equal(gnutls_pubkey_import_x509(pk, id->crt, 0), 0);
	assert_int_equal(gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER,
					       &id->spki), 0);
	gnutls_pubkey_deinit(pk);
}

static void free_id(struct id *id)
{
	gnutls_free(id->der.data);
	gnutls_free(id->spki.data);
	gnutls_x509_crt_deinit(id->crt);
	gnutls_x509_privkey_deinit(id->key);
}

static int group_setup(void **state)
{
	(void)state;
	make_id(&ca, "Test CA", NULL, NULL, 1);
	make_id(&leaf, "leaf", "www.example.test", &ca, 2);
	make_id(&evil_ca, "Evil CA", NULL, NULL, 3);
	make_id(&evil_leaf, "evil", "www.example.test", &evil_ca, 4);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free_id(&ca);
	free_id(&leaf);
	free_id(&evil_ca);
	free_id(&evil_leaf);
	return 0;
}

/* A record with data = digest mt of the selected part of id. */
static void rec(struct dane_rrset *rs, unsigned u, unsigned s, unsigned mt,
		const struct id *id)
{
	struct dane_tlsa *r = &rs->rec[rs->n++];
	const gnutls_datum_t *d = s == DANE_SEL_CERT ? &id->der : &id->spki;

	r->usage = (uint8_t)u;
	r->selector = (uint8_t)s;
	r->mtype = (uint8_t)mt;
	r->len = mt == 1 ? 32 : mt == 2 ? 64 : d->size;
	r->data = malloc(r->len);
	assert_non_null(r->data);
	if (mt == 0)
		memcpy(r->data, d->data, d->size);
	else
		assert_int_equal(gnutls_hash_fast(mt == 1 ? GNUTLS_DIG_SHA256
					: GNUTLS_DIG_SHA512, d->data, d->size,
					r->data), 0);
}

static enum dane_verdict match(struct dane_rrset *rs, const struct id **c,
			       unsigned n, const char *host)
{
	gnutls_datum_t chain[4];
	char why[160];
	enum dane_verdict v;

	for (unsigned i = 0; i < n; i++)
		chain[i] = c[i]->der;
	v = dane_match_chain(rs, chain, n, host, GNUTLS_KP_TLS_WWW_SERVER,
			     NULL, why, sizeof(why));
	assert_true(why[0] != '\0');
	dane_rrset_free(rs);
	return v;
}

static void test_dane_ee(void **state)
{
	struct dane_rrset rs = { 0 };
	const struct id *c[] = { &leaf, &ca };

	(void)state;
	rec(&rs, 3, 1, 1, &leaf);
	assert_int_equal(match(&rs, c, 2, "www.example.test"), DANE_MATCH);
	rec(&rs, 3, 0, 1, &leaf);
	assert_int_equal(match(&rs, c, 1, "www.example.test"), DANE_MATCH);
	rec(&rs, 3, 1, 2, &leaf);
	assert_int_equal(match(&rs, c, 1, NULL), DANE_MATCH);
	rec(&rs, 3, 1, 0, &leaf);
	assert_int_equal(match(&rs, c, 1, NULL), DANE_MATCH);
	/* Names are not looked at for DANE-EE. */
	rec(&rs, 3, 1, 1, &leaf);
	assert_int_equal(match(&rs, c, 1, "other.test"), DANE_MATCH);
	/* The CA's key is not the leaf's. */
	rec(&rs, 3, 1, 1, &ca);
	assert_int_equal(match(&rs, c, 2, "www.example.test"), DANE_NOMATCH);
}

static void test_dane_ta(void **state)
{
	struct dane_rrset rs = { 0 };
	const struct id *good[] = { &leaf, &ca };
	const struct id *spliced[] = { &evil_leaf, &evil_ca, &ca };
	const struct id *alone[] = { &leaf };

	(void)state;
	rec(&rs, 2, 1, 1, &ca);
	assert_int_equal(match(&rs, good, 2, "www.example.test"), DANE_MATCH);
	rec(&rs, 2, 0, 2, &ca);
	assert_int_equal(match(&rs, good, 2, "www.example.test"), DANE_MATCH);
	/* The name must fit for DANE-TA. */
	rec(&rs, 2, 1, 1, &ca);
	assert_int_equal(match(&rs, good, 2, "other.test"), DANE_NOMATCH);
	/* The real TA after an attacker's own CA: not on the leaf's path. */
	rec(&rs, 2, 0, 1, &ca);
	assert_int_equal(match(&rs, spliced, 3, "www.example.test"),
			 DANE_NOMATCH);
	rec(&rs, 2, 1, 1, &ca);
	assert_int_equal(match(&rs, spliced, 3, "www.example.test"),
			 DANE_NOMATCH);
	/* The TA absent from the chain matches only as a full certificate. */
	rec(&rs, 2, 0, 1, &ca);
	assert_int_equal(match(&rs, alone, 1, "www.example.test"), DANE_NOMATCH);
	rec(&rs, 2, 0, 0, &ca);
	assert_int_equal(match(&rs, alone, 1, "www.example.test"), DANE_MATCH);
	/* A leaf matching a TA record is not a TA. */
	rec(&rs, 2, 1, 1, &leaf);
	assert_int_equal(match(&rs, good, 2, "www.example.test"), DANE_NOMATCH);
}

static void test_unusable(void **state)
{
	struct dane_rrset rs = { 0 };
	const struct id *c[] = { &leaf, &ca };

	(void)state;
	rec(&rs, 4, 1, 1, &leaf);	/* unknown usage */
	rec(&rs, 3, 2, 1, &leaf);	/* unknown selector */
	rec(&rs, 3, 1, 3, &leaf);	/* unknown matching type */
	rs.rec[2].len = 32;
	assert_int_equal(match(&rs, c, 2, NULL), DANE_UNUSABLE);
	rec(&rs, 3, 1, 1, &leaf);
	rs.rec[0].len = 31;		/* digest of the wrong length */
	assert_int_equal(match(&rs, c, 2, NULL), DANE_UNUSABLE);
	/* Unusable ones are skipped; a later usable match counts. */
	rec(&rs, 4, 1, 1, &leaf);
	rec(&rs, 3, 1, 1, &ca);
	rec(&rs, 3, 0, 1, &leaf);
	assert_int_equal(match(&rs, c, 2, NULL), DANE_MATCH);
	/* PKIX usages without anchors cannot match. */
	rec(&rs, 1, 1, 1, &leaf);
	rec(&rs, 0, 0, 1, &ca);
	assert_int_equal(match(&rs, c, 2, "www.example.test"), DANE_NOMATCH);
}

static void test_spki(void **state)
{
	struct dane_rrset rs = { 0 };
	char why[128];

	(void)state;
	rec(&rs, 3, 1, 1, &leaf);
	assert_int_equal(dane_match_spki(&rs, leaf.spki.data, leaf.spki.size,
					 why, sizeof(why)), DANE_MATCH);
	assert_int_equal(dane_match_spki(&rs, ca.spki.data, ca.spki.size, why,
					 sizeof(why)), DANE_NOMATCH);
	dane_rrset_free(&rs);
	rec(&rs, 3, 0, 1, &leaf);	/* a bare key has no certificate */
	rec(&rs, 2, 1, 1, &leaf);
	assert_int_equal(dane_match_spki(&rs, leaf.spki.data, leaf.spki.size,
					 why, sizeof(why)), DANE_UNUSABLE);
	dane_rrset_free(&rs);
}

static void test_parse(void **state)
{
	const char *rrs[] = {
		"_443._tcp.a.test. 300 IN CNAME t.test.",
		"t.test. 300 IN TLSA 3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"t.test. 300 IN TLSA 2 0 0 0102",
		"t.test. 300 IN RRSIG TLSA 13 2 300 20300101000000 20200101000000 1 test. AAAA",
	};
	struct dane_rrset rs;
	char why[128];
	size_t len;
	uint8_t *w = dnsf_packet(rrs, 4, &len);

	(void)state;
	assert_int_equal(dane_parse_answer(w, len, &rs, why, sizeof(why)), 0);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.rec[0].usage, 3);
	assert_int_equal(rs.rec[0].len, 32);
	assert_int_equal(rs.rec[0].data[31], 0xff);
	assert_int_equal(rs.rec[1].usage, 2);
	assert_int_equal(rs.rec[1].len, 2);
	dane_rrset_free(&rs);
	/* Truncated anywhere: refused, never read past the end. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);

		memcpy(t, w, cut);
		assert_int_equal(dane_parse_answer(t, cut, &rs, why,
						   sizeof(why)), -EBADMSG);
		free(t);
	}
	free(w);
	w = dnsf_packet(rrs, 1, &len);	/* only the CNAME */
	assert_int_equal(dane_parse_answer(w, len, &rs, why, sizeof(why)), 0);
	assert_int_equal(rs.n, 0);
	free(w);
}

static void test_parse_limits(void **state)
{
	const char *rrs[DANE_RECORDS_MAX + 1];
	char text[DANE_RECORDS_MAX + 1][96];
	struct dane_rrset rs;
	char why[128];
	size_t len;
	uint8_t *w;

	(void)state;
	for (int i = 0; i <= DANE_RECORDS_MAX; i++) {
		snprintf(text[i], sizeof(text[i]),
			 "t.test. 300 IN TLSA 3 1 0 %04x", i);
		rrs[i] = text[i];
	}
	w = dnsf_packet(rrs, DANE_RECORDS_MAX + 1, &len);
	assert_int_equal(dane_parse_answer(w, len, &rs, why, sizeof(why)),
			 -E2BIG);
	assert_int_equal(rs.n, 0);
	free(w);
	w = dnsf_packet(rrs, DANE_RECORDS_MAX, &len);
	assert_int_equal(dane_parse_answer(w, len, &rs, why, sizeof(why)), 0);
	assert_int_equal(rs.n, DANE_RECORDS_MAX);
	dane_rrset_free(&rs);
	free(w);
	/* A TLSA record of two bytes: too short for its fields. */
	{
		const char *one[] = { "t.test. 300 IN TLSA 3 1 1 00112233" };
		uint8_t *p = dnsf_packet(one, 1, &len);
		size_t rdl = len - 9;	/* rdlength: 3 fields + 4 data bytes */

		assert_int_equal(p[rdl], 0);
		assert_int_equal(p[rdl + 1], 7);
		p[rdl + 1] = 2;
		assert_true(dane_parse_answer(p, rdl + 4, &rs, why,
					      sizeof(why)) < 0);
		free(p);
	}
}

/* dane_service_ports: SERVICE=PORT entries, spaces or commas between. */
static void test_service_ports(void **state)
{
	char why[128] = "";

	(void)state;
	assert_int_equal(dane_service_port("imap=993, https=443", "https", why,
					   sizeof(why)), 443);
	assert_int_equal(dane_service_port("imap=993,https=443", "imap", why,
					   sizeof(why)), 993);
	assert_int_equal(dane_service_port("imap=993", "imaps", why,
					   sizeof(why)), 0);
	assert_int_equal(dane_service_port("imap=993", "ima", why,
					   sizeof(why)), 0);
	assert_int_equal(dane_service_port("", "imap", why, sizeof(why)), 0);
	assert_int_equal(dane_service_port("a=1 b=65535", NULL, why,
					   sizeof(why)), 0);
	assert_int_equal(dane_service_port("imap", NULL, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "'imap': not SERVICE=PORT"));
	assert_int_equal(dane_service_port("=993", NULL, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(dane_service_port("imap=0", NULL, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "the port must be 1 to 65535"));
	assert_int_equal(dane_service_port("imap=65536", NULL, why,
					   sizeof(why)), -EINVAL);
	assert_int_equal(dane_service_port("imap=99x", NULL, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(dane_service_port("imap=", NULL, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(dane_service_port("sixteen-chars-xx=1", NULL, why,
					   sizeof(why)), -EINVAL);
	/* a bad entry after the one asked for still counts as found */
	assert_int_equal(dane_service_port("imap=993 bad", "imap", why,
					   sizeof(why)), 993);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dane_ee),
		cmocka_unit_test(test_dane_ta),
		cmocka_unit_test(test_unusable),
		cmocka_unit_test(test_spki),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_service_ports),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

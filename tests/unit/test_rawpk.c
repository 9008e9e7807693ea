/* Unit tests for daemon/rawpk.c: raw public keys as SPKI, their pins
 * (checked against openssl's SHA-256 of the DER, computed when the
 * vectors were made) and DANE 3 1 1 records, and malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#include "rawpk.h"

static const char ed_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEAWSracyjvD7dtsmfc085UcCBdaae+pOoAW64Ne5HjArM=\n"
	"-----END PUBLIC KEY-----\n";
static const unsigned char ed_der[] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
	0x59, 0x2a, 0xda, 0x73, 0x28, 0xef, 0x0f, 0xb7, 0x6d, 0xb2, 0x67, 0xdc,
	0xd3, 0xce, 0x54, 0x70, 0x20, 0x5d, 0x69, 0xa7, 0xbe, 0xa4, 0xea, 0x00,
	0x5b, 0xae, 0x0d, 0x7b, 0x91, 0xe3, 0x02, 0xb3
};
#define ED_PIN "45073a6e46d0d23cc2004514d45c26b3cbe115ed120156b923b6c4d39adc0e78"

static const char ec_pem[] =
	"Some text before the block is allowed\n"
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEL0AxKAOM///pbNTPfNPtBCe48mIE\n"
	"pq60U55nFNzWuayCsR88CFY5ITBJUT+yj4erEgKmYSeuRzJiY8TJBA87vw==\n"
	"-----END PUBLIC KEY-----\n";
#define EC_PIN "0d5ff29c3674816daa02e09ba2a130e7231fc991639066baf338a24df5aa15e0"

static gnutls_datum_t text(const char *s)
{
	gnutls_datum_t d = { (unsigned char *)s, (unsigned)strlen(s) };

	return d;
}

static void test_pem_detection(void **state)
{
	gnutls_datum_t d;

	(void)state;
	d = text(ed_pem);
	assert_int_equal(rawpk_pem_is_pubkey(&d), 1);
	d = text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		 "-----BEGIN PUBLIC KEY-----\n");
	assert_int_equal(rawpk_pem_is_pubkey(&d), 0);	/* a chain */
	d = text("-----BEGIN RSA PUBLIC KEY-----\n");
	assert_int_equal(rawpk_pem_is_pubkey(&d), 0);
	d = text("");
	assert_int_equal(rawpk_pem_is_pubkey(&d), 0);
	d.data = NULL;
	d.size = 0;
	assert_int_equal(rawpk_pem_is_pubkey(&d), 0);
}

static void test_import_pin_tlsa(void **state)
{
	gnutls_datum_t in = text(ed_pem), spki = { NULL, 0 };
	gnutls_datum_t der = { (unsigned char *)ed_der, sizeof(ed_der) };
	char hex[RAWPK_HEX_LEN + 1], tlsa[80];

	(void)state;
	assert_int_equal(rawpk_spki_import(&in, GNUTLS_X509_FMT_PEM, &spki), 0);
	assert_int_equal(spki.size, sizeof(ed_der));
	assert_memory_equal(spki.data, ed_der, sizeof(ed_der));
	assert_int_equal(rawpk_pin_hex(&spki, hex), 0);
	assert_string_equal(hex, ED_PIN);
	assert_int_equal(rawpk_tlsa_311(&spki, tlsa, sizeof(tlsa)), 0);
	assert_string_equal(tlsa, "3 1 1 " ED_PIN);
	assert_int_equal(rawpk_tlsa_311(&spki, tlsa, 20), -ENOSPC);
	gnutls_free(spki.data);

	/* DER in, the same SPKI out */
	assert_int_equal(rawpk_spki_import(&der, GNUTLS_X509_FMT_DER, &spki), 0);
	assert_memory_equal(spki.data, ed_der, sizeof(ed_der));
	gnutls_free(spki.data);

	in = text(ec_pem);
	assert_int_equal(rawpk_spki_import(&in, GNUTLS_X509_FMT_PEM, &spki), 0);
	assert_int_equal(rawpk_pin_hex(&spki, hex), 0);
	assert_string_equal(hex, EC_PIN);
	gnutls_free(spki.data);
}

static void test_malformed(void **state)
{
	unsigned char bad[sizeof(ed_der)];
	gnutls_datum_t d, spki = { NULL, 0 };
	char hex[RAWPK_HEX_LEN + 1], tlsa[80];

	(void)state;
	/* truncated DER, a flipped tag, trailing bytes, empty, NULL */
	d.data = (unsigned char *)ed_der;
	d.size = sizeof(ed_der) - 1;
	assert_int_equal(rawpk_spki_import(&d, GNUTLS_X509_FMT_DER, &spki),
			 -EBADMSG);
	assert_null(spki.data);
	assert_int_equal(rawpk_pin_hex(&d, hex), -EBADMSG);
	assert_string_equal(hex, "");
	assert_int_equal(rawpk_tlsa_311(&d, tlsa, sizeof(tlsa)), -EBADMSG);
	memcpy(bad, ed_der, sizeof(bad));
	bad[0] = 0x31;
	d.data = bad;
	d.size = sizeof(bad);
	assert_int_equal(rawpk_spki_import(&d, GNUTLS_X509_FMT_DER, &spki),
			 -EBADMSG);
	assert_int_equal(rawpk_pin_hex(&d, hex), -EBADMSG);
	d.size = 0;
	assert_int_equal(rawpk_spki_import(&d, GNUTLS_X509_FMT_DER, &spki),
			 -EBADMSG);
	assert_int_equal(rawpk_pin_hex(&d, hex), -EBADMSG);
	assert_int_equal(rawpk_spki_import(NULL, GNUTLS_X509_FMT_DER, &spki),
			 -EBADMSG);
	assert_int_equal(rawpk_pin_hex(NULL, hex), -EBADMSG);
	/* PEM: a broken body, a certificate block, no block */
	d = text("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2Vw!!!\n"
		 "-----END PUBLIC KEY-----\n");
	assert_int_equal(rawpk_spki_import(&d, GNUTLS_X509_FMT_PEM, &spki),
			 -EBADMSG);
	d = text("-----BEGIN CERTIFICATE-----\nMCowBQYDK2VwAyEAWSracyjvD7dtsmfc"
		 "085UcCBdaae+pOoAW64Ne5HjArM=\n-----END CERTIFICATE-----\n");
	assert_int_equal(rawpk_spki_import(&d, GNUTLS_X509_FMT_PEM, &spki),
			 -EBADMSG);
	d = text("MCowBQYDK2VwAyEAWSracyjvD7dtsmfc085UcCBdaae+pOoAW64Ne5HjArM=");
	assert_int_equal(rawpk_spki_import(&d, GNUTLS_X509_FMT_PEM, &spki),
			 -EBADMSG);
	assert_null(spki.data);
}

static void test_pcert_and_params(void **state)
{
	gnutls_datum_t der = { (unsigned char *)ed_der, sizeof(ed_der) };
	gnutls_datum_t bad = { (unsigned char *)ed_der, 10 };
	gnutls_pk_algorithm_t pk = GNUTLS_PK_UNKNOWN;
	gnutls_pcert_st pc;
	unsigned bits = 0;

	(void)state;
	assert_int_equal(rawpk_pcert(&pc, &der), 0);
	assert_int_equal(pc.type, GNUTLS_CRT_RAWPK);
	assert_int_equal(pc.cert.size, sizeof(ed_der));
	assert_memory_equal(pc.cert.data, ed_der, sizeof(ed_der));
	gnutls_pcert_deinit(&pc);
	assert_true(rawpk_pcert(&pc, &bad) < 0);

	assert_int_equal(rawpk_key_params(&der, &pk, &bits), 0);
	assert_int_equal(pk, GNUTLS_PK_EDDSA_ED25519);
	assert_int_equal(bits, 256);
	assert_int_equal(rawpk_key_params(&bad, &pk, &bits), -EBADMSG);
	assert_int_equal(rawpk_key_params(NULL, &pk, &bits), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pem_detection),
		cmocka_unit_test(test_import_pin_tlsa),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_pcert_and_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

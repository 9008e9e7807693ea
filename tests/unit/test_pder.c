/* Unit tests for the DER OCTET STRING coding of pulleyback values
 * (pulley/pder and pulleyback_der_unwrap): length forms, binary values
 * with NUL bytes, and malformed encodings refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pder.h"
#include "pulleyback.h"

static void roundtrip(size_t len, size_t hdr)
{
	uint8_t *v = malloc(len ? len : 1), *der = NULL;
	const uint8_t *got;
	size_t dl, gl, used, i;

	for (i = 0; i < len; i++)
		v[i] = (uint8_t)(i * 7);	/* includes NUL bytes */
	assert_int_equal(pder_wrap(v, len, &der, &dl), 0);
	assert_int_equal(dl, len + hdr);
	assert_int_equal(der[0], 0x04);
	assert_int_equal(pder_unwrap(der, dl, &got, &gl, &used), 0);
	assert_int_equal(gl, len);
	assert_int_equal(used, dl);
	assert_true(len == 0 || memcmp(got, v, len) == 0);
	/* one byte short: refused */
	assert_int_equal(pder_unwrap(der, dl - 1, &got, &gl, &used),
			 len ? -EBADMSG : -EBADMSG);
	free(der);
	free(v);
}

static void test_lengths(void **state)
{
	(void)state;
	roundtrip(0, 2);
	roundtrip(1, 2);
	roundtrip(127, 2);
	roundtrip(128, 3);
	roundtrip(255, 3);
	roundtrip(256, 4);
	roundtrip(65535, 4);
	roundtrip(65536, 5);
}

static void test_nul_bytes(void **state)
{
	const uint8_t v[] = { 'a', 0, 'b', 0, 0 };
	const uint8_t want[] = { 0x04, 0x05, 'a', 0, 'b', 0, 0 };
	uint8_t *der;
	size_t dl;

	(void)state;
	assert_int_equal(pder_wrap(v, sizeof(v), &der, &dl), 0);
	assert_int_equal(dl, sizeof(want));
	assert_memory_equal(der, want, sizeof(want));
	free(der);
}

static void test_malformed(void **state)
{
	static const struct {
		uint8_t b[8];
		size_t n;
	} bad[] = {
		{ { 0x03, 0x00 }, 2 },		/* not an OCTET STRING */
		{ { 0x24, 0x00 }, 2 },		/* constructed */
		{ { 0x04 }, 1 },		/* no length */
		{ { 0x04, 0x80 }, 2 },		/* indefinite length */
		{ { 0x04, 0x81, 0x05, 1, 2, 3, 4, 5 }, 8 },/* long form < 128 */
		{ { 0x04, 0x82, 0x00, 0x80 }, 4 },	/* leading zero */
		{ { 0x04, 0x03, 1, 2 }, 4 },		/* truncated */
		{ { 0x04, 0x89, 1, 1, 1, 1, 1, 1 }, 8 },/* length too wide */
	};
	const uint8_t *v;
	size_t l, used, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pder_unwrap(bad[i].b, bad[i].n, &v, &l, &used) != -EBADMSG)
			fail_msg("malformed case %zu accepted", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

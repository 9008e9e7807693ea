/* Unit tests for pulley/puuidset: membership across growth, duplicates,
 * the nil UUID, clearing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "puuidset.h"

static void mk(uint8_t u[16], uint32_t i)
{
	memset(u, 0, 16);
	u[0] = (uint8_t)(i >> 24);
	u[5] = (uint8_t)(i >> 16);
	u[10] = (uint8_t)(i >> 8);
	u[15] = (uint8_t)i;
}

static void test_set(void **state)
{
	struct puuidset s = { 0 };
	uint8_t u[16], nil[16] = { 0 };
	uint32_t i;

	(void)state;
	mk(u, 1);
	assert_false(puuidset_has(&s, u));
	for (i = 1; i <= 5000; i += 2) {
		mk(u, i);
		assert_int_equal(puuidset_add(&s, u), 0);
		assert_int_equal(puuidset_add(&s, u), 0);	/* again */
	}
	assert_int_equal(s.n, 2500);
	for (i = 1; i <= 5000; i++) {
		mk(u, i);
		assert_int_equal(puuidset_has(&s, u), (int)(i & 1));
	}
	assert_int_equal(puuidset_add(&s, nil), 0);
	assert_false(puuidset_has(&s, nil));
	assert_int_equal(s.n, 2500);
	puuidset_clear(&s);
	mk(u, 1);
	assert_false(puuidset_has(&s, u));
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for pulley/psign: the canonical form (fixed bytes, order
 * and case independence, what is and is not covered) and Ed25519
 * verification (good, tampered, missing, wrong key, wrong size). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "psign.h"

#define V(s) { (const uint8_t *)(s), sizeof(s) - 1 }

static void test_canon_bytes(void **state)
{
	const struct pscript_value oc[] = { V("top"), V("tlsPoolX") };
	const struct pscript_value rec[] = { { (const uint8_t *)"\x01\x00z",
					       3 } };
	const struct pscript_value cn[] = { V("ignored") };
	const struct pscript_attr a[] = {
		{ "tlsPoolPolicyRecord;binary", 1, rec },
		{ "cn", 1, cn },
		{ "objectClass", 2, oc },
	};
	static const uint8_t want[] =
		"tlspool-ldap-entry-v1\0"
		"objectclass\0\0\0\0\x02"
		"\0\0\0\x08tlsPoolX" "\0\0\0\x03top"
		"tlspoolpolicyrecord\0\0\0\0\x01" "\0\0\0\x03\x01\x00z";
	uint8_t *c;
	size_t cl;

	(void)state;
	assert_int_equal(psign_canon(a, 3, &c, &cl, NULL, 0), 0);
	assert_int_equal(cl, sizeof(want) - 1);
	assert_memory_equal(c, want, cl);
	free(c);
}

static void test_canon_refuses_repeat(void **state)
{
	const struct pscript_value v[] = { V("a") };
	const struct pscript_attr a[] = { { "tlsPoolSelector", 1, v },
					  { "TLSPOOLSELECTOR", 1, v } };
	char why[128] = "";
	uint8_t *c = NULL;
	size_t cl;

	(void)state;
	assert_int_equal(psign_canon(a, 2, &c, &cl, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "given twice"));
}

struct signed_entry {
	struct pscript_value oc[2], sel[1], rec[1], sig[1];
	struct pscript_attr a[4];
	uint8_t sigbytes[64];
};

static void make(struct signed_entry *e, const uint8_t *sk)
{
	const struct pscript_value oc[] = { V("top"),
					    V("tlsPoolIdentityDisclosure") };

	memcpy(e->oc, oc, sizeof(oc));
	e->sel[0] = (struct pscript_value)V("@example.com");
	e->rec[0] = (struct pscript_value){ (const uint8_t *)"\x01\x44\x00",
					    3 };
	e->a[0] = (struct pscript_attr){ "objectClass", 2, e->oc };
	e->a[1] = (struct pscript_attr){ "tlsPoolSelector", 1, e->sel };
	e->a[2] = (struct pscript_attr){ "tlsPoolPolicyRecord", 1, e->rec };
	assert_int_equal(psign_sign(e->a, 3, sk, e->sigbytes), 0);
	e->sig[0] = (struct pscript_value){ e->sigbytes, 64 };
	e->a[3] = (struct pscript_attr){ "tlsPoolSignature", 1, e->sig };
}

static void test_verify(void **state)
{
	uint8_t pk[32], sk[64], pk2[32], sk2[64];
	struct signed_entry e;
	struct pscript_attr re[4];
	struct pscript_value oc2[2];
	char why[160];

	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	make(&e, sk);
	assert_int_equal(psign_verify(e.a, 4, pk, why, sizeof(why)), 0);
	/* attribute order, value order and type case do not matter */
	re[0] = e.a[3];
	re[1] = e.a[2];
	re[2] = e.a[0];
	re[3] = e.a[1];
	re[1].type = "TLSPOOLPOLICYRECORD";
	oc2[0] = e.oc[1];
	oc2[1] = e.oc[0];
	re[2].vals = oc2;
	assert_int_equal(psign_verify(re, 4, pk, why, sizeof(why)), 0);
	/* wrong key */
	assert_int_equal(psign_verify(e.a, 4, pk2, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "does not verify"));
	/* tampered record byte */
	e.rec[0] = (struct pscript_value){ (const uint8_t *)"\x01\x44\x01",
					   3 };
	assert_int_equal(psign_verify(e.a, 4, pk, why, sizeof(why)),
			 -EBADMSG);
	/* a value added to a signed attribute */
	make(&e, sk);
	e.a[0].nvals = 1;
	assert_int_equal(psign_verify(e.a, 4, pk, why, sizeof(why)),
			 -EBADMSG);
	/* missing signature */
	make(&e, sk);
	assert_int_equal(psign_verify(e.a, 3, pk, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "no tlsPoolSignature"));
	/* signature of the wrong size */
	e.sig[0].len = 63;
	assert_int_equal(psign_verify(e.a, 4, pk, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "63 bytes"));
}

static void test_unsigned_attrs_free(void **state)
{
	uint8_t pk[32], sk[64];
	struct signed_entry e;
	struct pscript_attr more[5];
	const struct pscript_value d[] = { V("a note") };
	char why[160];

	(void)state;
	crypto_sign_keypair(pk, sk);
	make(&e, sk);
	memcpy(more, e.a, sizeof(e.a));
	more[4] = (struct pscript_attr){ "description", 1, d };
	/* only objectClass and tlsPool* are signed */
	assert_int_equal(psign_verify(more, 5, pk, why, sizeof(why)), 0);
}

/* A tlsPool* type too long for the canonical form's buffer was left out
 * of it: its values were unsigned, yet a script naming it applied them. */
static void test_long_type_refused(void **state)
{
	uint8_t pk[32], sk[64];
	struct signed_entry e;
	struct pscript_attr more[5];
	const struct pscript_value d[] = { V("injected") };
	char why[160] = "", type[200];

	(void)state;
	crypto_sign_keypair(pk, sk);
	make(&e, sk);
	memcpy(more, e.a, sizeof(e.a));
	memset(type, 'x', sizeof(type) - 1);
	type[sizeof(type) - 1] = 0;
	memcpy(type, "tlsPoolLong", 11);
	more[4] = (struct pscript_attr){ type, 1, d };
	assert_int_equal(psign_verify(more, 5, pk, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "too long"));
	/* a long type that is not signed anyway stays free */
	memcpy(type, "xLongOther", 10);
	assert_int_equal(psign_verify(more, 5, pk, why, sizeof(why)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_bytes),
		cmocka_unit_test(test_canon_refuses_repeat),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_unsigned_attrs_free),
		cmocka_unit_test(test_long_type_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

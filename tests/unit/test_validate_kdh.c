/* test_validate_kdh -- the validation predicates for a TLS-KDH peer
 * (daemon/validate_kdh.c): what a ticket proves, and that certificate
 * predicates are false with a reason rather than silently true. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "validate.h"

static int ask(const char *peer, const char *want, int trusted, char letter,
	       char *proven, char *why)
{
	struct validate_input in = {
		.remoteid = want,
		.rule = "r",
		.kdh_peer = peer,
		.kdh_principal = "p@R",
		.kdh_realm_trusted = trusted,
	};

	proven[0] = why[0] = '\0';
	return validate_kdh(&in, letter, proven, 128, why, 128);
}

static void identity(void **state)
{
	char proven[128], why[128];

	(void)state;
	assert_int_equal(ask("alice@example.com", "", 1, 'I', proven, why), 1);
	assert_string_equal(proven, "alice@example.com");
	assert_int_equal(ask("alice@example.com", "alice@example.com", 1, 'I',
			     proven, why), 1);
	assert_int_equal(ask("alice@example.com", "bob@example.com", 1, 'I',
			     proven, why), 0);
	assert_non_null(strstr(why, "not bob@example.com"));
	assert_string_equal(proven, "");
	/* i: a host principal for user@host */
	assert_int_equal(ask("srv.example.com", "bob@srv.example.com", 1, 'I',
			     proven, why), 0);
	assert_int_equal(ask("srv.example.com", "bob@srv.example.com", 1, 'i',
			     proven, why), 1);
	assert_string_equal(proven, "bob@srv.example.com");
	/* but not a user principal for another user at its domain */
	assert_int_equal(ask("alice@example.com", "bob@example.com", 1, 'i',
			     proven, why), 0);
}

static void user(void **state)
{
	char proven[128], why[128];

	(void)state;
	assert_int_equal(ask("alice@example.com", "alice@example.com", 1, 'U',
			     proven, why), 1);
	assert_int_equal(ask("srv.example.com", "", 1, 'U', proven, why), 0);
	assert_non_null(strstr(why, "not the user"));
	assert_int_equal(ask("alice@example.com", "bob@example.com", 1, 'U',
			     proven, why), 0);
}

static void trust(void **state)
{
	char proven[128], why[128];

	(void)state;
	assert_int_equal(ask("a@example.com", "", 1, 'T', proven, why), 1);
	assert_int_equal(ask("a@example.com", "", 1, 't', proven, why), 1);
	assert_int_equal(ask("a@example.com", "", 0, 'T', proven, why), 0);
	assert_non_null(strstr(why, "kerberos_realm_map"));
}

static void certificate_letters_false(void **state)
{
	const char *letters = "EePpRrOoLl";
	char proven[128], why[128];

	(void)state;
	for (const char *l = letters; *l; l++) {
		assert_int_equal(ask("a@example.com", "", 1, *l, proven, why), 0);
		assert_non_null(strstr(why, "no certificate"));
	}
}

static void session_letters_generic(void **state)
{
	const char *letters = "FfQqSsCc";
	char proven[128], why[128];

	(void)state;
	for (const char *l = letters; *l; l++)
		assert_int_equal(ask("a@example.com", "", 1, *l, proven, why),
				 VALIDATE_KDH_GENERIC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identity),
		cmocka_unit_test(user),
		cmocka_unit_test(trust),
		cmocka_unit_test(certificate_letters_false),
		cmocka_unit_test(session_letters_generic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for daemon/session_rawpk.c: which certificate types a
 * rule's kinds allow, and the priority text that offers them (every
 * result must be accepted by GnuTLS). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "polrec.h"
#include "session_rawpk.h"

#define X POLREC_KIND_BIT(POLREC_CRED_X509)
#define RPK POLREC_KIND_BIT(POLREC_CRED_RAWPK)
#define K5 POLREC_KIND_BIT(POLREC_CRED_KRB5)

static void test_allowed(void **state)
{
	(void)state;
	/* X.509 is the default; raw keys only when named */
	assert_int_equal(session_rawpk_allowed(0), RAWPK_T_X509);
	assert_int_equal(session_rawpk_allowed(X), RAWPK_T_X509);
	assert_int_equal(session_rawpk_allowed(RPK), RAWPK_T_RAWPK);
	assert_int_equal(session_rawpk_allowed(X | RPK),
			 RAWPK_T_X509 | RAWPK_T_RAWPK);
	assert_int_equal(session_rawpk_allowed(K5), 0);
	assert_int_equal(session_rawpk_allowed(POLREC_KINDS_ALL),
			 RAWPK_T_X509 | RAWPK_T_RAWPK);
}

static void prio(unsigned kinds, int local, int server, char *buf,
		 size_t len)
{
	gnutls_priority_t p;
	const char *errpos = NULL;

	snprintf(buf, len, "NORMAL");
	assert_int_equal(session_rawpk_priority(kinds, local, server, buf,
						len), 0);
	/* GnuTLS takes it */
	assert_int_equal(gnutls_priority_init2(&p, buf, &errpos, 0), 0);
	gnutls_priority_deinit(p);
}

static void test_priority(void **state)
{
	char buf[256];

	(void)state;
	/* X.509 only: the priority is left alone */
	prio(0, -1, 0, buf, sizeof(buf));
	assert_string_equal(buf, "NORMAL");
	prio(X, 0, 1, buf, sizeof(buf));
	assert_string_equal(buf, "NORMAL");
	prio(K5, -1, 0, buf, sizeof(buf));	/* no certificate kind */
	assert_string_equal(buf, "NORMAL");
	/* raw keys only, both directions */
	prio(RPK, -1, 0, buf, sizeof(buf));
	assert_string_equal(buf, "NORMAL:-CTYPE-CLI-ALL:+CTYPE-CLI-RAWPK"
				 ":-CTYPE-SRV-ALL:+CTYPE-SRV-RAWPK");
	/* both: the peer may use either; this side offers its own kind */
	prio(X | RPK, 1, 0, buf, sizeof(buf));
	assert_string_equal(buf, "NORMAL:-CTYPE-CLI-ALL:+CTYPE-CLI-RAWPK"
				 ":-CTYPE-SRV-ALL:+CTYPE-SRV-X509"
				 ":+CTYPE-SRV-RAWPK");
	prio(X | RPK, 0, 1, buf, sizeof(buf));
	assert_string_equal(buf, "NORMAL:-CTYPE-SRV-ALL:+CTYPE-SRV-X509"
				 ":-CTYPE-CLI-ALL:+CTYPE-CLI-X509"
				 ":+CTYPE-CLI-RAWPK");
	prio(X | RPK, -1, 1, buf, sizeof(buf));
	assert_string_equal(buf, "NORMAL:-CTYPE-SRV-ALL:+CTYPE-SRV-X509"
				 ":+CTYPE-SRV-RAWPK:-CTYPE-CLI-ALL"
				 ":+CTYPE-CLI-X509:+CTYPE-CLI-RAWPK");
	/* an identity of a kind the rule does not allow changes nothing
	 * here (the session refuses it by name) */
	prio(RPK, 0, 0, buf, sizeof(buf));
	assert_non_null(strstr(buf, ":-CTYPE-CLI-ALL:+CTYPE-CLI-RAWPK"));
	/* too long */
	snprintf(buf, 20, "NORMAL");
	assert_int_equal(session_rawpk_priority(RPK, -1, 0, buf, 20), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_priority),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

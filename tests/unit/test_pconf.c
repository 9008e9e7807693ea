/* Unit tests for pulley/pconf: keys, defaults, TLS from the URI, and
 * every refusal with its file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pconf.h"

#define MIN "ldap_uri ldap://127.0.0.1:3890/\nldap_base dc=x\n" \
	    "dbenv_dir /tmp/db\n"

static void test_minimal_defaults(void **state)
{
	struct pconf c;
	char err[256];

	(void)state;
	assert_int_equal(pconf_parse(&c, "p.conf", MIN, err, sizeof(err)), 0);
	assert_int_equal(c.tls, PCONF_TLS_STARTTLS);	/* secure default */
	assert_int_equal(c.bind, PCONF_BIND_NONE);
	assert_string_equal(c.ldap_filter, "(objectClass=*)");
	assert_string_equal(c.name, "default");
	assert_int_equal(c.retry_min, 1);
	assert_int_equal(c.retry_max, 60);
	assert_int_equal(c.have_verify_key, 0);
	assert_non_null(c.script);
	pconf_free(&c);
}

static void test_full(void **state)
{
	struct pconf c;
	char err[256];
	const char *t =
		"# comment\n"
		"ldap_uri ldaps://ldap.example.com/\n"
		"ldap_base ou=policy,dc=example,dc=com\n"
		"ldap_filter (objectClass=tlsPoolTrustedIssuer)\n"
		"bind sasl\nsasl_mech EXTERNAL\n"
		"tls_cert /etc/c.pem\ntls_key /etc/k.pem\n"
		"tls_cacert /etc/ca.pem\n"
		"dbenv_dir /var/lib/tlspool/db\nname host-1\n"
		"verify_key 00112233445566778899AABBCCDDEEFF"
		"00112233445566778899aabbccddeeff\n"
		"retry_min 2\nretry_max 30\nlog_level debug\n"
		"script /etc/p.ps\nbackend_dir /usr/lib/x\n";

	(void)state;
	assert_int_equal(pconf_parse(&c, "f", t, err, sizeof(err)), 0);
	assert_int_equal(c.tls, PCONF_TLS_LDAPS);
	assert_int_equal(c.bind, PCONF_BIND_SASL);
	assert_string_equal(c.sasl_mech, "EXTERNAL");
	assert_int_equal(c.have_verify_key, 1);
	assert_int_equal(c.verify_key[5], 0x55);
	assert_int_equal(c.verify_key[10], 0xaa);
	assert_int_equal(c.verify_key[31], 0xff);
	assert_string_equal(c.name, "host-1");
	assert_int_equal(c.retry_min, 2);
	assert_string_equal(c.script, "/etc/p.ps");
	pconf_free(&c);
}

static void expect_err(const char *text, const char *want)
{
	struct pconf c;
	char err[256] = "";

	assert_int_equal(pconf_parse(&c, "p.conf", text, err, sizeof(err)),
			 -EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_refusals(void **state)
{
	(void)state;
	expect_err(MIN "bogus 1\n", "p.conf:4: unknown key 'bogus'");
	expect_err(MIN "tls maybe\n", "p.conf:4: tls:");
	expect_err(MIN "bind magic\n", "p.conf:4: bind:");
	expect_err(MIN "verify_key 0011\n", "p.conf:4: verify_key");
	expect_err(MIN "verify_key 00112233445566778899aabbccddeeff"
		   "00112233445566778899aabbccddeeXX\n", "p.conf:4:");
	expect_err(MIN "retry_min 0\n", "p.conf:4: retry_min");
	expect_err(MIN "retry_min -3\n", "p.conf:4: retry_min");
	expect_err(MIN "retry_min 10\nretry_max 5\n", "retry_min is above");
	expect_err(MIN "dbenv_dir relative/db\n", "p.conf:4: dbenv_dir: "
		   "must be an absolute path");
	expect_err(MIN "name a/b\n", "p.conf:4: name");
	expect_err(MIN "sasl_mech PLAIN\n", "p.conf:4: sasl_mech");
	expect_err(MIN "bind simple\n", "bind simple needs bind_dn");
	expect_err(MIN "bind sasl\n", "bind sasl needs sasl_mech");
	expect_err(MIN "tls_cert /c.pem\n", "tls_cert and tls_key");
	expect_err(MIN "tls ldaps\n", "tls ldaps needs an ldaps:// URI");
	expect_err("ldap_uri ldaps://h/\nldap_base dc=x\ndbenv_dir /d\n"
		   "tls starttls\n", "an ldaps:// URI needs tls ldaps");
	expect_err("ldap_uri http://h/\nldap_base dc=x\ndbenv_dir /d\n",
		   "ldap_uri must be");
	expect_err("ldap_base dc=x\ndbenv_dir /d\n", "ldap_uri is required");
	expect_err("ldap_uri ldap://h/\ndbenv_dir /d\n",
		   "ldap_base is required");
	expect_err("ldap_uri ldap://h/\nldap_base dc=x\n",
		   "dbenv_dir is required");
	expect_err(MIN "log_stderr perhaps\n", "p.conf:4: log_stderr");
}

static void test_ldapi_has_no_tls(void **state)
{
	struct pconf c;
	char err[256];

	(void)state;
	assert_int_equal(pconf_parse(&c, "p", "ldap_uri ldapi://%2Ftmp%2Fs/\n"
				     "ldap_base dc=x\ndbenv_dir /d\n", err,
				     sizeof(err)), 0);
	assert_int_equal(c.tls, PCONF_TLS_NONE);
	pconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ldapi_has_no_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

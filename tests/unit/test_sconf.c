/* Unit tests for shaft/sconf: sources, the output, the key and state
 * paths, pulley's connection keys, and every refusal with file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sconf.h"

#define K1 "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
#define K2 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define BASE "ldap_uri ldap://127.0.0.1:3890/\noutput_base ou=merged,dc=x\n" \
	     "sign_key /etc/tlspool/shaft.key\nstate_dir /var/lib/shaft\n"

static void test_full(void **state)
{
	struct sconf c;
	char err[256];
	const char *t = BASE
		"tls none\nbind simple\nbind_dn cn=shaft,dc=x\n"
		"bind_password_file /etc/pw\n"
		"source alpha 10 " K1 " ou=crank one,dc=x\n"
		"source beta 20 " K2 " ou=crank2,dc=x\n"
		"log_level info\n";

	(void)state;
	assert_int_equal(sconf_parse(&c, "s.conf", t, err, sizeof(err)), 0);
	assert_int_equal(c.nsrc, 2);
	assert_string_equal(c.src[0].name, "alpha");
	assert_int_equal(c.src[0].prec, 10);
	assert_int_equal(c.src[0].pk[0], 0x00);
	assert_int_equal(c.src[0].pk[31], 0xff);
	assert_string_equal(c.src[0].base, "ou=crank one,dc=x");
	assert_string_equal(c.src[1].name, "beta");
	assert_int_equal(c.src[1].prec, 20);
	assert_int_equal(c.src[1].pk[0], 0xff);
	assert_string_equal(c.output_base, "ou=merged,dc=x");
	assert_string_equal(c.sign_key, "/etc/tlspool/shaft.key");
	assert_string_equal(c.state_dir, "/var/lib/shaft");
	assert_int_equal(c.conn.tls, PCONF_TLS_NONE);
	assert_int_equal(c.conn.bind, PCONF_BIND_SIMPLE);
	assert_string_equal(c.conn.bind_dn, "cn=shaft,dc=x");
	sconf_free(&c);
}

static void bad(const char *text, const char *want)
{
	struct sconf c;
	char err[256] = "";

	assert_int_equal(sconf_parse(&c, "s.conf", text, err, sizeof(err)),
			 -EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_refusals(void **state)
{
	(void)state;
	bad(BASE, "s.conf: at least one source is required");
	bad("ldap_uri ldap://h/\nsource a 1 " K1 " ou=a,dc=x\n"
	    "sign_key /k\nstate_dir /s\n", "output_base is required");
	bad("ldap_uri ldap://h/\nsource a 1 " K1 " ou=a,dc=x\n"
	    "output_base ou=m,dc=x\nstate_dir /s\n", "sign_key is required");
	bad("ldap_uri ldap://h/\nsource a 1 " K1 " ou=a,dc=x\n"
	    "output_base ou=m,dc=x\nsign_key /k\n", "state_dir is required");
	bad(BASE "source a 1 " K1 "\n", "s.conf:5: source: must be NAME "
	    "PRECEDENCE PUBKEY BASE-DN");
	bad(BASE "source a 0 " K1 " ou=a,dc=x\n", "s.conf:5: source: "
	    "PRECEDENCE must be a number");
	bad(BASE "source a 1x " K1 " ou=a,dc=x\n", "PRECEDENCE");
	bad(BASE "source a 1 00112233 ou=a,dc=x\n", "PUBKEY must be 64 hex");
	bad(BASE "source a/b 1 " K1 " ou=a,dc=x\n", "NAME must be");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\nsource a 2 " K2 " ou=b,dc=x\n",
	    "s.conf:6: source: a second source of this NAME");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\nsource b 1 " K2 " ou=b,dc=x\n",
	    "s.conf:6: source: two sources of equal PRECEDENCE");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\nsource b 2 " K2
	    " ou=sub,ou=a,dc=x\n", "two sources' bases overlap");
	bad(BASE "source a 1 " K1 " ou=m,ou=merged,dc=x\n",
	    "output_base overlaps a source's base");
	bad(BASE "source a 1 " K1 " dc=x\n",
	    "output_base overlaps a source's base");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\nldap_base dc=x\n",
	    "ldap_base and dbenv_dir are pulley's keys");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\nsign_key key.bin\n",
	    "s.conf:6: sign_key: must be an absolute path");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\noutput_base merged\n",
	    "output_base: must be a DN");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\nfrobnicate 1\n",
	    "s.conf:6: frobnicate: unknown key");
	bad(BASE "source a 1 " K1 " ou=a,dc=x\ntls maybe\n",
	    "s.conf:6: tls: must be starttls, ldaps or none");
	bad("output_base ou=m,dc=x\nsign_key /k\nstate_dir /s\n"
	    "source a 1 " K1 " ou=a,dc=x\n", "ldap_uri is required");
}

static void test_overlap_is_by_rdn(void **state)
{
	struct sconf c;
	char err[256];

	(void)state;
	/* "ou=xa,dc=x" does not lie below "ou=a,dc=x" */
	assert_int_equal(sconf_parse(&c, "s.conf", BASE
				     "source a 1 " K1 " ou=a,dc=x\n"
				     "source b 2 " K2 " ou=xa,dc=x\n",
				     err, sizeof(err)), 0);
	sconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_overlap_is_by_rdn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

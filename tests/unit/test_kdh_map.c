/* test_kdh_map -- the realm map parser, principal mapping, the host to
 * realm choice and the TLS-KDH KDF (daemon/kdh_map.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "kdh_map.h"

static void parse_ok(void **state)
{
	struct kdh_map m;
	char why[128];

	(void)state;
	assert_int_equal(kdh_map_parse("EXAMPLE.COM=example.com, "
				       "OTHER.ORG=Sub.Other.ORG", &m, why,
				       sizeof(why)), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.e[0].realm, "EXAMPLE.COM");
	assert_string_equal(m.e[1].domain, "sub.other.org");
	assert_string_equal(kdh_map_domain(&m, "OTHER.ORG"), "sub.other.org");
	assert_null(kdh_map_domain(&m, "example.com"));	/* realms: exact */
	assert_int_equal(kdh_map_parse(NULL, &m, why, sizeof(why)), 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(kdh_map_parse("  ,, ", &m, why, sizeof(why)), 0);
	assert_int_equal(m.n, 0);
}

static void parse_bad(void **state)
{
	static const char *bad[] = {
		"EXAMPLE.COM", "=example.com", "EXAMPLE.COM=",
		"EXAMPLE.COM=user@example.com", "EXAMPLE.COM=exa_mple.com",
		"EX@MPLE=example.com", "A/B=example.com",
		"A=example.com A=other.org", "A=example.com B=example.com",
		"A=-bad.com", "A=example.com.",
	};
	struct kdh_map m;
	char why[128], many[2048] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(kdh_map_parse(bad[i], &m, why, sizeof(why)),
				 -EINVAL);
		assert_true(strncmp(why, "entry ", 6) == 0);
		assert_int_equal(m.n, 0);	/* nothing half-parsed */
	}
	for (int i = 0; i <= KDH_MAP_MAX; i++) {
		char e[40];

		snprintf(e, sizeof(e), "R%d=d%d.example ", i, i);
		strcat(many, e);
	}
	assert_int_equal(kdh_map_parse(many, &m, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "more than"));
}

static void realm_for_host(void **state)
{
	struct kdh_map m;
	char why[128];

	(void)state;
	assert_int_equal(kdh_map_parse("EXAMPLE.COM=example.com "
				       "DEV.EXAMPLE.COM=dev.example.com",
				       &m, why, sizeof(why)), 0);
	assert_string_equal(kdh_map_realm_for_host(&m, "www.example.com"),
			    "EXAMPLE.COM");
	assert_string_equal(kdh_map_realm_for_host(&m, "example.com"),
			    "EXAMPLE.COM");
	assert_string_equal(kdh_map_realm_for_host(&m, "a.DEV.example.com"),
			    "DEV.EXAMPLE.COM");	/* longest suffix */
	assert_null(kdh_map_realm_for_host(&m, "badexample.com"));
	assert_null(kdh_map_realm_for_host(&m, "example.org"));
	assert_null(kdh_map_realm_for_host(&m, "com"));
}

static int map(const struct kdh_map *m, const char *c0, const char *c1,
	       const char *realm, char *out, char *why)
{
	const char *comp[2] = { c0, c1 };

	return kdh_map_principal(m, comp, c1 ? 2 : 1, realm, out,
				 DONAI_BUFSIZE, why, 128);
}

static void principals(void **state)
{
	struct kdh_map m;
	char out[DONAI_BUFSIZE], why[128];

	(void)state;
	assert_int_equal(kdh_map_parse("EXAMPLE.COM=example.com", &m, why,
				       sizeof(why)), 0);
	assert_int_equal(map(&m, "alice", NULL, "EXAMPLE.COM", out, why), 0);
	assert_string_equal(out, "alice@example.com");
	assert_int_equal(map(&m, "host", "WWW.example.com", "EXAMPLE.COM",
			     out, why), 0);
	assert_string_equal(out, "www.example.com");
	assert_int_equal(map(&m, "host", "example.com", "EXAMPLE.COM", out,
			     why), 0);
	assert_string_equal(out, "example.com");

	/* refusals, each with its reason */
	assert_int_equal(map(&m, "alice", NULL, "OTHER.ORG", out, why), -EACCES);
	assert_non_null(strstr(why, "not in kerberos_realm_map"));
	assert_int_equal(map(&m, "alice", NULL, "example.com", out, why),
			 -EACCES);	/* realms are case-sensitive */
	assert_int_equal(map(&m, "imap", "www.example.com", "EXAMPLE.COM",
			     out, why), -EACCES);
	assert_non_null(strstr(why, "not mapped"));
	assert_int_equal(map(&m, "host", "www.example.org", "EXAMPLE.COM",
			     out, why), -EACCES);
	assert_non_null(strstr(why, "outside"));
	assert_int_equal(map(&m, "host", "evilexample.com", "EXAMPLE.COM",
			     out, why), -EACCES);
	assert_int_equal(map(&m, "host", "a@example.com", "EXAMPLE.COM",
			     out, why), -EACCES);
	assert_int_equal(map(&m, "al ice", NULL, "EXAMPLE.COM", out, why),
			 -EACCES);
	assert_int_equal(map(&m, "a@b", NULL, "EXAMPLE.COM", out, why),
			 -EACCES);
	assert_int_equal(map(&m, "", NULL, "EXAMPLE.COM", out, why), -EACCES);
	{
		const char *three[3] = { "a", "b", "c" };

		assert_int_equal(kdh_map_principal(&m, three, 3, "EXAMPLE.COM",
						   out, sizeof(out), why,
						   sizeof(why)), -EACCES);
	}
}

static void ccache(void **state)
{
	char out[64], small[8];

	(void)state;
	assert_int_equal(kdh_ccache_expand("FILE:/tmp/krb5cc_%u", 1000, out,
					   sizeof(out)), 0);
	assert_string_equal(out, "FILE:/tmp/krb5cc_1000");
	assert_int_equal(kdh_ccache_expand("DIR:/c/%u/%u%%u%x", 7, out,
					   sizeof(out)), 0);
	assert_string_equal(out, "DIR:/c/7/7%u%x");
	assert_int_equal(kdh_ccache_expand("%", 7, out, sizeof(out)), 0);
	assert_string_equal(out, "%");
	assert_int_equal(kdh_ccache_expand("", 7, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(kdh_ccache_expand("FILE:%u", 4294967295u, small,
					   sizeof(small)), -ENAMETOOLONG);
	assert_string_equal(small, "");
	assert_int_equal(kdh_ccache_expand("1234567", 0, small, sizeof(small)),
			 0);
	assert_int_equal(kdh_ccache_expand("12345678", 0, small,
					   sizeof(small)), -ENAMETOOLONG);
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Expected values from an independent HKDF-SHA256 (Python hmac). */
static void kdf(void **state)
{
	uint8_t key[32], out[KDH_PSK_LEN], out2[KDH_PSK_LEN];
	char h[2 * KDH_PSK_LEN + 1];

	(void)state;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	assert_int_equal(kdh_kdf(18, key, sizeof(key), out), 0);
	hex(out, sizeof(out), h);
	assert_string_equal(h, "0279d519ac08523ccc30cdc7f922166d"
			       "afc3f89a7ba98ad3ed73f2fc101d0bf8");
	assert_int_equal(kdh_kdf(17, key, sizeof(key), out2), 0);
	hex(out2, sizeof(out2), h);
	assert_string_equal(h, "06410e67a150e4e1421a71e6fbc1bcc1"
			       "d17b22f9c065ae1ed2667febb5441f20");
	key[31] ^= 1;
	assert_int_equal(kdh_kdf(18, key, sizeof(key), out2), 0);
	assert_memory_not_equal(out, out2, sizeof(out));
	assert_int_equal(kdh_kdf(18, key, 0, out2), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ok),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(realm_for_host),
		cmocka_unit_test(principals),
		cmocka_unit_test(kdf),
		cmocka_unit_test(ccache),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

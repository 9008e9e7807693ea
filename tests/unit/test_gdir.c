/* test_gdir -- the pure parts of the global directory (daemon/gdir.c):
 * SRV names, base DN and filter, SRV answers, and what the SRV answer
 * alone decides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <cmocka.h>

#include "dnssec.h"
#include "dns_fixture.h"
#include "gdir.h"

static void test_srv_name(void **state)
{
	char n[64];

	(void)state;
	assert_int_equal(gdir_srv_name("alice@example.com", n, sizeof(n)), 0);
	assert_string_equal(n, "_ldap._tcp.example.com");
	assert_int_equal(gdir_srv_name("example.com", n, sizeof(n)), -EINVAL);
	assert_int_equal(gdir_srv_name("@example.com", n, sizeof(n)), -EINVAL);
	assert_int_equal(gdir_srv_name("alice@", n, sizeof(n)), -EINVAL);
	assert_int_equal(gdir_srv_name("a@b@c", n, sizeof(n)), -EINVAL);
	assert_int_equal(gdir_srv_name("a@very-long-domain.example.com", n,
				       16), -ENAMETOOLONG);
}

static void test_base_filter(void **state)
{
	char b[128], f[128];

	(void)state;
	assert_int_equal(gdir_base_filter("alice@dir.example.com", b,
					  sizeof(b), f, sizeof(f)), 0);
	assert_string_equal(b, "dc=dir,dc=example,dc=com");
	assert_string_equal(f, "(mail=alice@dir.example.com)");
	/* Filter metacharacters are escaped (RFC 4515). */
	assert_int_equal(gdir_base_filter("a*)(uid=*@x.test", b, sizeof(b), f,
					  sizeof(f)), 0);
	assert_string_equal(f, "(mail=a\\2a\\29\\28uid=\\2a@x.test)");
	/* DN metacharacters in the domain, empty labels: refused. */
	assert_int_equal(gdir_base_filter("a@x,dc=evil", b, sizeof(b), f,
					  sizeof(f)), -EINVAL);
	assert_int_equal(gdir_base_filter("a@x..test", b, sizeof(b), f,
					  sizeof(f)), -EINVAL);
	assert_int_equal(gdir_base_filter("nouser", b, sizeof(b), f,
					  sizeof(f)), -EINVAL);
	assert_int_equal(gdir_base_filter("a@example.com", b, 8, f,
					  sizeof(f)), -ENAMETOOLONG);
}

static void test_parse_srv(void **state)
{
	const char *rrs[] = {
		"_ldap._tcp.x.test. 300 IN SRV 10 5 389 backup.x.test.",
		"_ldap._tcp.x.test. 300 IN SRV 0 1 1389 low.x.test.",
		"_ldap._tcp.x.test. 300 IN SRV 0 9 2389 heavy.x.test.",
	};
	const char *none[] = { "_ldap._tcp.x.test. 300 IN SRV 0 0 0 ." };
	char host[64];
	unsigned port = 0;
	size_t len;
	uint8_t *w;

	(void)state;
	w = dnsf_packet(rrs, 3, &len);
	assert_int_equal(gdir_parse_srv(w, len, host, sizeof(host), &port), 0);
	assert_string_equal(host, "heavy.x.test");
	assert_int_equal(port, 2389);
	/* Truncated: refused. */
	assert_int_equal(gdir_parse_srv(w, len - 3, host, sizeof(host),
					&port), -EBADMSG);
	free(w);
	w = dnsf_packet(none, 1, &len);
	assert_int_equal(gdir_parse_srv(w, len, host, sizeof(host), &port),
			 -ENOENT);
	free(w);
	w = dnsf_packet(rrs, 0, &len);
	assert_int_equal(gdir_parse_srv(w, len, host, sizeof(host), &port),
			 -ENOENT);
	free(w);
}

static void test_prepare(void **state)
{
	const char *rrs[] = { "_ldap._tcp.x.test. 300 IN SRV 0 0 636 ldap.x.test." };
	uint8_t cert[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	gnutls_datum_t peer = { cert, sizeof(cert) };
	struct dnssec_answer a = { 0 };
	struct gdir_query q;
	struct gdir_result r;
	size_t len;

	(void)state;
	a.wire = dnsf_packet(rrs, 1, &len);
	a.wirelen = len;
	a.havedata = 1;
	a.sec = DNSSEC_INSECURE;
	assert_int_equal(gdir_prepare("u@x.test", &a, &peer, "", &q, &r), 0);
	assert_int_equal(r.verdict, GDIR_UNAVAILABLE);
	assert_non_null(strstr(r.why, "insecure"));
	a.sec = DNSSEC_BOGUS;
	assert_int_equal(gdir_prepare("u@x.test", &a, &peer, "", &q, &r), 0);
	assert_int_equal(r.verdict, GDIR_UNAVAILABLE);
	a.sec = DNSSEC_FAILED;
	assert_int_equal(gdir_prepare("u@x.test", &a, &peer, "", &q, &r), 0);
	assert_int_equal(r.verdict, GDIR_UNAVAILABLE);
	a.sec = DNSSEC_SECURE;
	assert_int_equal(gdir_prepare("u@x.test", &a, &peer, "/ca.pem", &q,
				      &r), 1);
	assert_string_equal(q.host, "ldap.x.test");
	assert_int_equal(q.port, 636);
	assert_string_equal(q.base, "dc=x,dc=test");
	assert_string_equal(q.filter, "(mail=u@x.test)");
	assert_string_equal(q.cafile, "/ca.pem");
	assert_int_equal(q.cert.size, sizeof(cert));
	assert_memory_equal(q.cert.data, cert, sizeof(cert));
	gdir_query_clear(&q);
	a.havedata = 0;			/* a secure denial */
	assert_int_equal(gdir_prepare("u@x.test", &a, &peer, "", &q, &r), 0);
	assert_int_equal(r.verdict, GDIR_NOT_FOUND);
	assert_int_equal(gdir_prepare("x.test", &a, &peer, "", &q, &r), 0);
	assert_int_equal(r.verdict, GDIR_UNAVAILABLE);
	free(a.wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_name),
		cmocka_unit_test(test_base_filter),
		cmocka_unit_test(test_parse_srv),
		cmocka_unit_test(test_prepare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

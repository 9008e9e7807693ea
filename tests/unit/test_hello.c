/* Unit tests for daemon/hello: the server name read from a real GnuTLS
 * ClientHello, every truncation, no SNI, hostile lengths, not TLS. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "hello.h"

struct capture {
	uint8_t buf[4096];
	size_t len;
	gnutls_session_t s;
};

static ssize_t cap_push(gnutls_transport_ptr_t p, const void *d, size_t n)
{
	struct capture *c = p;

	if (c->len + n > sizeof(c->buf))
		n = sizeof(c->buf) - c->len;
	memcpy(c->buf + c->len, d, n);
	c->len += n;
	return (ssize_t)n;
}

static ssize_t no_pull(gnutls_transport_ptr_t p, void *d, size_t n)
{
	struct capture *c = p;

	(void)d;
	(void)n;
	gnutls_transport_set_errno(c->s, EAGAIN);
	return -1;
}

/* The first flight of a GnuTLS client, with SNI name (or none). */
static void client_hello(struct capture *c, const char *name)
{
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;

	memset(c, 0, sizeof(*c));
	assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
	assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK), 0);
	assert_int_equal(gnutls_set_default_priority(s), 0);
	assert_int_equal(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
						cred), 0);
	if (name != NULL)
		assert_int_equal(gnutls_server_name_set(s, GNUTLS_NAME_DNS, name,
							strlen(name)), 0);
	c->s = s;
	gnutls_transport_set_ptr(s, c);
	gnutls_transport_set_push_function(s, cap_push);
	gnutls_transport_set_pull_function(s, no_pull);
	assert_int_equal(gnutls_handshake(s), GNUTLS_E_AGAIN);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	assert_true(c->len > 50);
}

static void test_sni_found(void **state)
{
	struct capture c;
	char sni[128];

	(void)state;
	client_hello(&c, "www.example.org");
	assert_int_equal(hello_sni(c.buf, c.len, sni, sizeof(sni)), 1);
	assert_string_equal(sni, "www.example.org");
}

static void test_every_truncation(void **state)
{
	struct capture c;
	char sni[128];

	(void)state;
	client_hello(&c, "www.example.org");
	for (size_t n = 0; n < c.len; n++)
		assert_int_equal(hello_sni(c.buf, n, sni, sizeof(sni)), -EAGAIN);
}

static void test_no_sni(void **state)
{
	struct capture c;
	char sni[128];

	(void)state;
	client_hello(&c, NULL);
	assert_int_equal(hello_sni(c.buf, c.len, sni, sizeof(sni)), 0);
	assert_string_equal(sni, "");
}

static void test_name_too_long_for_buffer(void **state)
{
	struct capture c;
	char sni[8];

	(void)state;
	client_hello(&c, "www.example.org");
	assert_int_equal(hello_sni(c.buf, c.len, sni, sizeof(sni)), 0);
}

static void test_not_tls(void **state)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\n\r\n";
	uint8_t alert[] = { 21, 3, 3, 0, 2, 2, 40 };
	uint8_t server_hello[] = { 22, 3, 3, 0, 4, 2, 0, 0, 0 };
	char sni[128];

	(void)state;
	assert_int_equal(hello_sni(http, sizeof(http) - 1, sni, sizeof(sni)),
			 -EPROTO);
	assert_int_equal(hello_sni(alert, sizeof(alert), sni, sizeof(sni)),
			 -EPROTO);
	assert_int_equal(hello_sni(server_hello, sizeof(server_hello), sni,
				   sizeof(sni)), -EPROTO);
}

/* Lengths that lie: a record too short for its handshake header, one
 * longer than TLS allows, a handshake longer than its record, and a
 * server_name list that runs past its extension. */
static void test_hostile_lengths(void **state)
{
	struct capture c;
	char sni[128];
	uint8_t tiny[] = { 22, 3, 1, 0, 2, 1, 0 };
	uint8_t huge[] = { 22, 3, 1, 0xff, 0xff, 1, 0, 0, 0 };

	(void)state;
	assert_int_equal(hello_sni(tiny, sizeof(tiny), sni, sizeof(sni)),
			 -EPROTO);
	assert_int_equal(hello_sni(huge, sizeof(huge), sni, sizeof(sni)),
			 -EPROTO);
	client_hello(&c, "www.example.org");
	c.buf[8]++;		/* handshake longer than the record */
	assert_int_equal(hello_sni(c.buf, c.len, sni, sizeof(sni)), 0);
	c.buf[8]--;
	for (size_t i = 0; i + 4 < c.len; i++) {
		/* the server_name extension: type 0x0000, then its length */
		if (memcmp(c.buf + i, "\0\0", 2) == 0 &&
		    memcmp(c.buf + i + 9, "www.example.org", 15) == 0) {
			c.buf[i + 5]++;	/* list length past the extension */
			assert_true(hello_sni(c.buf, c.len, sni,
					      sizeof(sni)) <= 0);
			return;
		}
	}
	fail_msg("no server_name extension found in the ClientHello");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sni_found),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_no_sni),
		cmocka_unit_test(test_name_too_long_for_buffer),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_hostile_lengths),
	};

	gnutls_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for crank/crank_http: the strict request parser of crank
 * serve (what it accepts, every refusal with its status) and the query
 * decoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crank_http.h"

static int parse(const char *s, struct crank_http_req *r, int *status)
{
	const char *why;

	return crank_http_parse(s, strlen(s), r, status, &why);
}

static void test_accepts(void **state)
{
	const char *s = "PUT /api/rule?id=a%20b&x=1 HTTP/1.1\r\n"
			"Host: 127.0.0.1:8470\r\n"
			"Authorization:   Bearer abc \r\n"
			"content-type: application/json\r\n"
			"Content-Length: 12\r\n"
			"X-Other: whatever\r\n"
			"\r\n{\"text\":\"x\"}";
	struct crank_http_req r;
	int st;

	(void)state;
	assert_int_equal(parse(s, &r, &st), 0);
	assert_true(crank_http_eq(r.method, "PUT"));
	assert_true(crank_http_eq(r.path, "/api/rule"));
	assert_true(crank_http_eq(r.query, "id=a%20b&x=1"));
	assert_int_equal(r.minor, 1);
	assert_true(crank_http_eq(r.host, "127.0.0.1:8470"));
	assert_true(crank_http_eq(r.auth, "Bearer abc"));
	assert_true(crank_http_eq(r.ctype, "application/json"));
	assert_int_equal(r.content_length, 12);
	assert_int_equal(r.head_len, strlen(s) - 12);
	assert_memory_equal(s + r.head_len, "{\"text\":\"x\"}", 12);
}

static void test_http10_no_host(void **state)
{
	struct crank_http_req r;
	int st;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r, &st), 0);
	assert_int_equal(r.minor, 0);
	assert_null(r.query.p);
	assert_int_equal(r.content_length, 0);
}

static void test_incomplete(void **state)
{
	struct crank_http_req r;
	int st;

	(void)state;
	assert_int_equal(parse("", &r, &st), -EAGAIN);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r, &st), -EAGAIN);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHo", &r, &st), -EAGAIN);
}

static void refuse(const char *s, int want)
{
	struct crank_http_req r;
	int st = 0;

	if (parse(s, &r, &st) != -EINVAL || st != want)
		fail_msg("\"%s\": status %d, want %d", s, st, want);
}

static void test_refusals(void **state)
{
	(void)state;
	refuse("GET / HTTP/1.1\nHost: x\n\n", 400);		/* bare LF */
	refuse("GET / HTTP/1.1\r\nHost: x\n\r\n", 400);
	refuse("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400);
	refuse("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);	/* space before : */
	refuse("GET / HTTP/1.1\r\nHost: x\1y\r\n\r\n", 400);
	refuse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	refuse("GET / HTTP/1.1\r\n\r\n", 400);			/* no Host */
	refuse("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("GET /a\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400);
	refuse("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
	refuse("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505);
	refuse("GET / HTTQ/1.1\r\nHost: x\r\n\r\n", 400);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", 413);
	refuse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 413);
	{
		static const char nul[] = "GET / HTTP/1.1\r\nHost: x\r\nA\0B: c\r\n\r\n";
		struct crank_http_req r;
		const char *why;
		int st;

		assert_int_equal(crank_http_parse(nul, sizeof(nul) - 1, &r, &st, &why),
				 -EINVAL);
		assert_int_equal(st, 400);
	}
}

static void test_limits(void **state)
{
	struct crank_http_req r;
	const char *why;
	char *big = malloc(CRANK_HTTP_MAXHEAD + 100);
	size_t n;
	int st;

	(void)state;
	assert_non_null(big);
	/* a head that never ends */
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\nX: ");
	memset(big + n, 'a', CRANK_HTTP_MAXHEAD + 50 - n);
	assert_int_equal(crank_http_parse(big, CRANK_HTTP_MAXHEAD + 50, &r, &st, &why), -EINVAL);
	assert_int_equal(st, 431);
	assert_int_equal(crank_http_parse(big, CRANK_HTTP_MAXHEAD - 1, &r, &st, &why), -EAGAIN);
	/* too many fields */
	n = (size_t)sprintf(big, "GET / HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < CRANK_HTTP_MAXHDRS; i++)
		n += (size_t)sprintf(big + n, "X%d: y\r\n", i);
	n += (size_t)sprintf(big + n, "\r\n");
	assert_int_equal(crank_http_parse(big, n, &r, &st, &why), -EINVAL);
	assert_int_equal(st, 431);
	/* a long target */
	n = (size_t)sprintf(big, "GET /");
	memset(big + n, 'a', CRANK_HTTP_MAXTARGET);
	n += CRANK_HTTP_MAXTARGET;
	n += (size_t)sprintf(big + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(crank_http_parse(big, n, &r, &st, &why), -EINVAL);
	assert_int_equal(st, 414);
	free(big);
}

static void test_query(void **state)
{
	struct crank_http_str q = { "id=policy%20%40.example.com+client&v=1&e=&x", 0 };
	char out[64];

	(void)state;
	q.len = strlen(q.p);
	assert_int_equal(crank_http_query(q, "id", out, sizeof(out)), 0);
	assert_string_equal(out, "policy @.example.com client");
	assert_int_equal(crank_http_query(q, "v", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	assert_int_equal(crank_http_query(q, "e", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(crank_http_query(q, "x", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(crank_http_query(q, "i", out, sizeof(out)), -ENOENT);
	assert_int_equal(crank_http_query(q, "id", out, 5), -ENOSPC);
}

static void query_bad(const char *s)
{
	struct crank_http_str q = { s, strlen(s) };
	char out[64];

	if (crank_http_query(q, "id", out, sizeof(out)) != -EINVAL)
		fail_msg("query \"%s\" accepted", s);
}

static void test_query_bad(void **state)
{
	(void)state;
	query_bad("id=%");
	query_bad("id=%4");
	query_bad("id=a%4");
	query_bad("id=%zz");
	query_bad("id=%00");
	query_bad("id=%0a");
	query_bad("id=a&id=b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_http10_no_host),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_query_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for crank/crank_json: escaping by the encoder (control
 * characters, markup, invalid UTF-8) and the strict decoder's refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crank_json.h"

static void test_encode(void **state)
{
	struct crank_jbuf b = { 0 };

	(void)state;
	crank_jb_open(&b, '{');
	crank_jb_kstr(&b, "a", "q\"b\\s\n\t\r\x01\x1f</script>&\x7f");
	crank_jb_kint(&b, "n", -42);
	crank_jb_kbool(&b, "t", 1);
	crank_jb_kstr(&b, "z", NULL);
	crank_jb_key(&b, "l");
	crank_jb_open(&b, '[');
	crank_jb_estr(&b, "x");
	crank_jb_open(&b, '{');
	crank_jb_close(&b, '}');
	crank_jb_estr(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	crank_jb_close(&b, ']');
	crank_jb_kstr(&b, "bad", "a\xff" "b\xc3" "c\xed\xa0\x80" "d\xc0\xaf");
	crank_jb_close(&b, '}');
	assert_int_equal(b.err, 0);
	assert_string_equal(b.p,
		"{\"a\":\"q\\\"b\\\\s\\n\\t\\r\\u0001\\u001f\\u003c/script\\u003e\\u0026\\u007f\","
		"\"n\":-42,\"t\":true,\"z\":null,"
		"\"l\":[\"x\",{},\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"],"
		"\"bad\":\"a\\ufffdb\\ufffdc\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd\"}");
	crank_jb_free(&b);
}

static void test_decode(void **state)
{
	static const char in[] =
		" {\"text\" : \"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\xe2\x82\xac\","
		"\"id\":\"\" }\r\n";
	struct crank_json_obj o;
	const struct crank_json_member *m;
	static const char *const names[] = { "text", "id", NULL };
	static const char *const fewer[] = { "text", NULL };
	char err[128];

	(void)state;
	assert_int_equal(crank_json_parse(in, sizeof(in) - 1, &o, err, sizeof(err)), 0);
	assert_int_equal(o.n, 2);
	m = crank_json_get(&o, "text");
	assert_non_null(m);
	assert_string_equal(m->value, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80\xe2\x82\xac");
	assert_int_equal(m->vlen, strlen(m->value));
	assert_string_equal(crank_json_get(&o, "id")->value, "");
	assert_null(crank_json_get(&o, "version"));
	assert_int_equal(crank_json_only(&o, names, err, sizeof(err)), 0);
	assert_int_equal(crank_json_only(&o, fewer, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown member \"id\"");
	crank_json_free(&o);
	assert_int_equal(crank_json_parse("{}", 2, &o, err, sizeof(err)), 0);
	assert_int_equal(o.n, 0);
}

static void bad(const char *s, size_t n)
{
	struct crank_json_obj o;
	char err[128];

	if (crank_json_parse(s, n, &o, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted: %.*s", (int)n, s);
}

#define BAD(lit) bad(lit, sizeof(lit) - 1)

static void test_refusals(void **state)
{
	(void)state;
	BAD("");
	BAD(" ");
	BAD("[]");
	BAD("\"x\"");
	BAD("{");
	BAD("{\"a\"}");
	BAD("{\"a\":}");
	BAD("{\"a\":1}");
	BAD("{\"a\":null}");
	BAD("{\"a\":true}");
	BAD("{\"a\":{}}");
	BAD("{\"a\":[]}");
	BAD("{\"a\":\"x\",}");
	BAD("{,}");
	BAD("{\"a\":\"x\" \"b\":\"y\"}");
	BAD("{\"a\":\"x\",\"a\":\"y\"}");
	BAD("{\"a\":\"x\"} x");
	BAD("{\"a\":\"x\"}{}");
	BAD("{'a':'x'}");
	BAD("{a:\"x\"}");
	BAD("{\"a\":\"x\ny\"}");
	BAD("{\"a\":\"x\ty\"}");
	BAD("{\"a\":\"\\x\"}");
	BAD("{\"a\":\"\\u12\"}");
	BAD("{\"a\":\"\\u12g4\"}");
	BAD("{\"a\":\"\\u0000\"}");
	BAD("{\"a\":\"\\ud800\"}");
	BAD("{\"a\":\"\\ud800\\u0041\"}");
	BAD("{\"a\":\"\\udc00\"}");
	BAD("{\"a\":\"\xff\"}");
	BAD("{\"a\":\"\xc0\xaf\"}");
	BAD("{\"a\":\"\xed\xa0\x80\"}");
	BAD("{\"a\":\"\xf4\x90\x80\x80\"}");
	BAD("{\"a\":\"\xe2\x82\"}");
	BAD("{\"a\":\"x");
	BAD("{\"a\":\"x\\");
	BAD("\xef\xbb\xbf{}");
	bad("{\"a\":\"x\0\"}", 9);
	BAD("{\"1\":\"\",\"2\":\"\",\"3\":\"\",\"4\":\"\",\"5\":\"\",\"6\":\"\","
	    "\"7\":\"\",\"8\":\"\",\"9\":\"\"}");
}

static void test_roundtrip(void **state)
{
	struct crank_jbuf b = { 0 };
	struct crank_json_obj o;
	char err[128], in[256];

	(void)state;
	for (int i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	crank_jb_open(&b, '{');
	crank_jb_kstr(&b, "s", in);
	crank_jb_close(&b, '}');
	assert_int_equal(crank_json_parse(b.p, b.len, &o, err, sizeof(err)), 0);
	/* ASCII comes back as it was; each byte >= 0x80 (not UTF-8 here)
	 * became U+FFFD */
	assert_memory_equal(crank_json_get(&o, "s")->value, in, 127);
	assert_int_equal(crank_json_get(&o, "s")->vlen, 127 + 128 * 3);
	crank_json_free(&o);
	crank_jb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for crank/crank_rules: the items of a source as text, and
 * replacing, adding and removing one while every other byte stays. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crank_rules.h"

static const char src[] =
	"# head comment\n"
	"anchor ca.pem { peers servers }\n"
	"\n"
	"policy @.example.com client {\n"
	"    valexp \"I}{#\"  # a } in a comment\n"
	"    min-version TLS1.2\n"
	"}\n"
	"# between\n"
	"pkcs11x \"a b\\\"c\" x\n"
	"policy www.example.com server { client-auth required }\n";

static unsigned ndiag;

static void diag(void *ctx, const struct crank_pos *pos, const char *sev,
		 const char *msg)
{
	(void)ctx;
	(void)pos;
	(void)sev;
	(void)msg;
	ndiag++;
}

static void test_list(void **state)
{
	struct crank_rules rs;

	(void)state;
	assert_int_equal(crank_rules_list("s.crank", src, strlen(src), &rs, diag, NULL), 0);
	assert_int_equal(rs.n, 4);
	assert_string_equal(rs.r[0].id, "anchor ca.pem");
	assert_int_equal(rs.r[0].line, 2);
	assert_string_equal(rs.r[1].id, "policy @.example.com client");
	assert_int_equal(rs.r[1].line, 4);
	assert_memory_equal(src + rs.r[1].start, "policy @.example.com client {\n", 30);
	assert_int_equal(rs.r[1].end, (size_t)(strstr(src, "# between") - src));
	assert_string_equal(rs.r[2].id, "pkcs11x \"a b\\\"c\" x");
	assert_string_equal(rs.r[3].id, "policy www.example.com server");
	assert_int_equal(rs.r[3].end, strlen(src));
	assert_int_equal(crank_rules_find(&rs, "anchor ca.pem"), 0);
	assert_int_equal(crank_rules_find(&rs, "anchor"), -1);
	crank_rules_free(&rs);
	ndiag = 0;
	assert_int_equal(crank_rules_list("s.crank", "policy x {\n", 11, &rs, diag, NULL), -EINVAL);
	assert_true(ndiag > 0);
}

static char *edit(const char *id, const char *item, int want)
{
	char *out = NULL, err[256];
	size_t n;
	int rc = crank_rules_edit("s.crank", src, strlen(src), id, item, &out, &n,
				  err, sizeof(err), diag, NULL);

	if (rc != want)
		fail_msg("edit %s: %d (%s), want %d", id ? id : "(new)", rc, err, want);
	if (rc == 0)
		assert_int_equal(strlen(out), n);
	return out;
}

static void test_replace(void **state)
{
	char *out;

	(void)state;
	out = edit("policy @.example.com client",
		   "policy @.example.com client {\n    valexp \"IT&\"\n}", 0);
	assert_string_equal(out,
		"# head comment\n"
		"anchor ca.pem { peers servers }\n"
		"\n"
		"policy @.example.com client {\n"
		"    valexp \"IT&\"\n"
		"}\n"
		"# between\n"
		"pkcs11x \"a b\\\"c\" x\n"
		"policy www.example.com server { client-auth required }\n");
	free(out);
	/* renamed in place */
	out = edit("anchor ca.pem", "anchor other.pem\n", 0);
	assert_non_null(strstr(out, "# head comment\nanchor other.pem\n\npolicy"));
	free(out);
}

static void test_add_remove(void **state)
{
	char *out;

	(void)state;
	out = edit(NULL, "disclose . { none }", 0);
	assert_int_equal(strncmp(out, src, strlen(src)), 0);
	assert_string_equal(out + strlen(src), "disclose . { none }\n");
	free(out);
	out = edit("policy www.example.com server", NULL, 0);
	assert_int_equal(strlen(out), strlen(src) - strlen("policy www.example.com server { client-auth required }\n"));
	free(out);
	out = edit("policy @.example.com client", NULL, 0);
	assert_string_equal(out,
		"# head comment\n"
		"anchor ca.pem { peers servers }\n"
		"\n"
		"# between\n"
		"pkcs11x \"a b\\\"c\" x\n"
		"policy www.example.com server { client-auth required }\n");
	free(out);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_null(edit("policy nope client", NULL, -ENOENT));
	assert_null(edit(NULL, "anchor ca.pem", -EEXIST));
	assert_null(edit("anchor ca.pem", "policy www.example.com server", -EEXIST));
	assert_null(edit(NULL, "anchor a.pem\nanchor b.pem\n", -EINVAL));
	assert_null(edit(NULL, "", -EINVAL));
	assert_null(edit(NULL, "# only a comment\n", -EINVAL));
	assert_null(edit(NULL, "policy x client {\n", -EINVAL));
	assert_null(edit(NULL, "policy \"x client\n", -EINVAL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_add_remove),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for lib/donai: DoNAI syntax (each rule, with the offset and
 * reason of every refusal), canonical form, the complete selector order
 * for users and bare domains, selector syntax and coverage. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "donai.h"

#define WHYLEN 200

static void parse_ok(const char *text, const char *user, const char *domain)
{
	struct donai d;
	char why[WHYLEN] = "x";
	int rc = donai_parse(text, &d, why, sizeof(why));

	if (rc != 0)
		fail_msg("\"%s\" refused (%d): %s", text, rc, why);
	assert_string_equal(why, "");
	assert_string_equal(d.user, user);
	assert_string_equal(d.domain, domain);
}

/* Must be refused with exactly msg. */
static void parse_bad(const char *text, const char *msg)
{
	struct donai d;
	char why[WHYLEN] = "";

	assert_int_equal(donai_parse(text, &d, why, sizeof(why)), -EINVAL);
	if (strcmp(why, msg) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text ? text : "",
			 why, msg);
	/* nothing half-parsed is left behind */
	assert_string_equal(d.user, "");
	assert_string_equal(d.domain, "");
}

static char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_parse_valid(void **state)
{
	(void)state;
	parse_ok("user@sub.example.com", "user", "sub.example.com");
	parse_ok("example.com", "", "example.com");
	parse_ok("localhost", "", "localhost");
	parse_ok("alice@localhost", "alice", "localhost");
	parse_ok("a@b", "a", "b");
	parse_ok("first.last@example.org", "first.last", "example.org");
	parse_ok("!#$%&'*+-/=?^_`{|}~@x.y", "!#$%&'*+-/=?^_`{|}~", "x.y");
	parse_ok("0@1.2.3.4", "0", "1.2.3.4");
	parse_ok("a-b.c--d.e1", "", "a-b.c--d.e1");
	/* domain lowered, user case preserved */
	parse_ok("Alice.Smith@Sub.EXAMPLE.Com", "Alice.Smith",
		 "sub.example.com");
	/* A-labels, also written in upper case */
	parse_ok("xn--bcher-kva.example", "", "xn--bcher-kva.example");
	parse_ok("u@XN--MNCHEN-3YA.de", "u", "xn--mnchen-3ya.de");
	parse_ok("xn--fiqs8s", "", "xn--fiqs8s");
	parse_ok("xn--ls8h.la", "", "xn--ls8h.la");
}

static void test_parse_limits(void **state)
{
	char label[80], user[80], text[200];

	(void)state;
	/* a 63-character label and a 64-character user part are fine */
	repeat(label, 'a', 63);
	snprintf(text, sizeof(text), "%s.com", label);
	parse_ok(text, "", text);
	repeat(user, 'U', 64);
	snprintf(text, sizeof(text), "%s@x.com", user);
	parse_ok(text, user, "x.com");
	/* exactly 127 characters */
	repeat(label, 'b', 63);
	snprintf(text, sizeof(text), "%s.%s", label, label);
	assert_int_equal(strlen(text), 127);
	parse_ok(text, "", text);
	/* one more */
	repeat(label, 'b', 62);
	snprintf(text, sizeof(text), "%s.%s.%s", label, label, "cc");
	assert_int_equal(strlen(text), 128);
	parse_bad(text, "offset 127: longer than 127 characters");
	repeat(label, 'a', 64);
	snprintf(text, sizeof(text), "%s.com", label);
	parse_bad(text, "offset 63: label longer than 63 characters");
	repeat(user, 'u', 65);
	snprintf(text, sizeof(text), "%s@x.com", user);
	parse_bad(text, "offset 64: user part longer than 64 characters");
}

static void test_parse_overall(void **state)
{
	struct donai d;

	(void)state;
	parse_bad("", "offset 0: empty");
	parse_bad(NULL, "offset 0: no text");
	parse_bad("a@b@c", "offset 3: second '@'; at most one is allowed");
	parse_bad("@@", "offset 1: second '@'; at most one is allowed");
	/* why may be NULL */
	assert_int_equal(donai_parse("a@@b", &d, NULL, 0), -EINVAL);
}

static void test_parse_user(void **state)
{
	(void)state;
	parse_bad("@example.com", "offset 0: empty user part before '@'");
	parse_bad(".user@x", "offset 0: user part starts with '.'");
	parse_bad("user.@x", "offset 4: user part ends with '.'");
	parse_bad("us..er@x", "offset 3: two dots in a row in the user part");
	parse_bad("us er@x", "offset 2: byte 0x20 not allowed in the user "
		  "part");
	parse_bad("us(er@x", "offset 2: '(' not allowed in the user part");
	parse_bad("\"q\"@x", "offset 0: '\"' not allowed in the user part");
	parse_bad("a,b@x", "offset 1: ',' not allowed in the user part");
	parse_bad("j\xc3\xb6@x", "offset 1: byte 0xc3 not allowed in the "
		  "user part");
	parse_bad("u\tv@x", "offset 1: byte 0x09 not allowed in the user "
		  "part");
}

static void test_parse_domain(void **state)
{
	(void)state;
	parse_bad("user@", "offset 5: empty domain");
	parse_bad("example.com.", "offset 11: trailing dot not allowed");
	parse_bad("u@example.com.", "offset 13: trailing dot not allowed");
	parse_bad(".example.com", "offset 0: empty label: domain starts "
		  "with '.'");
	parse_bad("u@.example.com", "offset 2: empty label: domain starts "
		  "with '.'");
	parse_bad("example..com", "offset 8: empty label: two dots in a row");
	parse_bad(".", "offset 0: empty label: domain starts with '.'");
	parse_bad("-ex.com", "offset 0: label starts with '-'");
	parse_bad("ex-.com", "offset 2: label ends with '-'");
	parse_bad("a.b-", "offset 3: label ends with '-'");
	parse_bad("ex_ample.com", "offset 2: '_' not allowed in a domain "
		  "name");
	parse_bad("*.example.com", "offset 0: '*' not allowed in a domain "
		  "name");
	parse_bad("ex ample.com", "offset 2: byte 0x20 not allowed in a "
		  "domain name");
	parse_bad("u@a:1", "offset 3: ':' not allowed in a domain name");
	parse_bad("b\xc3\xbc" "cher.example", "offset 1: non-ASCII byte "
		  "0xc3; write internationalised names as A-labels "
		  "(xn--...)");
	/* xn-- labels must hold valid Punycode of a non-ASCII name */
	parse_bad("xn--.example", "offset 3: label ends with '-'");
	parse_bad("xn--zzzzzzzzzzzzzz.example", "offset 0: "
		  "\"xn--zzzzzzzzzzzzzz\" is not a valid A-label (bad "
		  "Punycode)");
	parse_bad("a.XN--abc-99999999.example", "offset 2: "
		  "\"XN--abc-99999999\" is not a valid A-label (bad "
		  "Punycode)");
	parse_bad("xn--abc-.example", "offset 7: label ends with '-'");
}

static void test_format(void **state)
{
	struct donai d;
	char buf[DONAI_BUFSIZE], small[6];

	(void)state;
	assert_int_equal(donai_parse("Bob@Example.COM", &d, NULL, 0), 0);
	assert_int_equal(donai_format(&d, buf, sizeof(buf)), 15);
	assert_string_equal(buf, "Bob@example.com");
	assert_int_equal(donai_format(&d, small, sizeof(small)), -ENOSPC);
	assert_string_equal(small, "Bob@e");
	assert_int_equal(donai_parse("Example.COM", &d, NULL, 0), 0);
	assert_int_equal(donai_format(&d, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "example.com");
}

/* The selectors of text must be exactly want[], with levels 0, 1, ... */
static void iter_expect(const char *text, const char *const *want)
{
	struct donai d;
	struct donai_iter it;
	char sel[DONAI_BUFSIZE];
	unsigned level, n = 0;
	int rc;

	assert_int_equal(donai_parse(text, &d, NULL, 0), 0);
	donai_iter_init(&it, &d);
	while ((rc = donai_iter_next(&it, sel, sizeof(sel), &level)) == 1) {
		if (want[n] == NULL)
			fail_msg("%s: extra selector \"%s\"", text, sel);
		assert_string_equal(sel, want[n]);
		assert_int_equal(level, n);
		assert_int_equal(donai_selector_covers(sel, &d), 1);
		n++;
	}
	assert_int_equal(rc, 0);
	if (want[n] != NULL)
		fail_msg("%s: missing selector \"%s\"", text, want[n]);
	/* stays at the end */
	assert_int_equal(donai_iter_next(&it, sel, sizeof(sel), &level), 0);
}

static void test_iter_user(void **state)
{
	static const char *const want[] = {
		"user@sub.example.com", "@sub.example.com",
		"user@.example.com", "@.example.com",
		"user@.com", "@.com", "user@.", "@.", NULL,
	};
	static const char *const one[] = {
		"alice@localhost", "@localhost", "alice@.", "@.", NULL,
	};
	static const char *const cased[] = {
		"Bob@ex.org", "@ex.org", "Bob@.org", "@.org", "Bob@.", "@.",
		NULL,
	};

	(void)state;
	iter_expect("user@sub.example.com", want);
	iter_expect("alice@localhost", one);
	iter_expect("Bob@EX.org", cased);
}

static void test_iter_domain(void **state)
{
	static const char *const want[] = {
		"sub.example.com", ".example.com", ".com", ".", NULL,
	};
	static const char *const one[] = { "localhost", ".", NULL };
	static const char *const deep[] = {
		"a.b.c.d.e", ".b.c.d.e", ".c.d.e", ".d.e", ".e", ".", NULL,
	};

	(void)state;
	iter_expect("sub.example.com", want);
	iter_expect("localhost", one);
	iter_expect("A.b.C.d.E", deep);
}

static void test_iter_buffers(void **state)
{
	struct donai d;
	struct donai_iter it;
	char sel[DONAI_BUFSIZE], small[8], text[200], label[64];
	unsigned level = 99;
	int n = 0;

	(void)state;
	assert_int_equal(donai_parse("user@sub.example.com", &d, NULL, 0), 0);
	donai_iter_init(&it, &d);
	/* too small: refused without advancing */
	assert_int_equal(donai_iter_next(&it, small, sizeof(small), &level),
			 -ENOSPC);
	assert_int_equal(level, 99);
	assert_int_equal(donai_iter_next(&it, sel, sizeof(sel), NULL), 1);
	assert_string_equal(sel, "user@sub.example.com");
	/* a short selector fits a short buffer; level may be omitted */
	assert_int_equal(donai_iter_next(&it, sel, sizeof(sel), &level), 1);
	assert_int_equal(level, 1);
	/* the longest identity: every selector fits DONAI_BUFSIZE */
	repeat(label, 'x', 60);
	snprintf(text, sizeof(text), "%s@%s.%s", label, label, "ab");
	assert_int_equal(strlen(text), 124);
	assert_int_equal(donai_parse(text, &d, NULL, 0), 0);
	donai_iter_init(&it, &d);
	while (donai_iter_next(&it, sel, sizeof(sel), &level) == 1)
		n++;
	assert_int_equal(n, 6);
}

static void sel_ok(const char *text, const char *user, const char *domain,
		   int has_at, int subdomains, const char *canon)
{
	struct donai_selector s;
	char why[WHYLEN] = "x", buf[DONAI_BUFSIZE];
	int rc = donai_selector_parse(text, &s, why, sizeof(why));

	if (rc != 0)
		fail_msg("selector \"%s\" refused: %s", text, why);
	assert_string_equal(why, "");
	assert_string_equal(s.user, user);
	assert_string_equal(s.domain, domain);
	assert_int_equal(s.has_at, has_at);
	assert_int_equal(s.subdomains, subdomains);
	assert_int_equal(donai_selector_format(&s, buf, sizeof(buf)),
			 (int)strlen(canon));
	assert_string_equal(buf, canon);
}

static void sel_bad(const char *text, const char *msg)
{
	struct donai_selector s;
	char why[WHYLEN] = "";

	assert_int_equal(donai_selector_parse(text, &s, why, sizeof(why)),
			 -EINVAL);
	if (strcmp(why, msg) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text ? text : "",
			 why, msg);
}

static void test_selector_parse(void **state)
{
	(void)state;
	sel_ok("user@sub.example.com", "user", "sub.example.com", 1, 0,
	       "user@sub.example.com");
	sel_ok("Sub.Example.com", "", "sub.example.com", 0, 0,
	       "sub.example.com");
	sel_ok("@Sub.example.com", "", "sub.example.com", 1, 0,
	       "@sub.example.com");
	sel_ok("User@.Example.com", "User", "example.com", 1, 1,
	       "User@.example.com");
	sel_ok("@.example.com", "", "example.com", 1, 1, "@.example.com");
	sel_ok(".com", "", "com", 0, 1, ".com");
	sel_ok("user@.", "user", "", 1, 1, "user@.");
	sel_ok("@.", "", "", 1, 1, "@.");
	sel_ok(".", "", "", 0, 1, ".");
	sel_ok("localhost", "", "localhost", 0, 0, "localhost");

	sel_bad("", "offset 0: empty");
	sel_bad(NULL, "offset 0: no text");
	sel_bad("@", "offset 1: empty domain");
	sel_bad("user@", "offset 5: empty domain");
	sel_bad("..", "offset 1: empty label: domain starts with '.'");
	sel_bad("@..com", "offset 2: empty label: domain starts with '.'");
	sel_bad(".example..com", "offset 9: empty label: two dots in a row");
	sel_bad("example.com.", "offset 11: trailing dot not allowed");
	sel_bad(".com.", "offset 4: trailing dot not allowed");
	sel_bad("*.example.com", "offset 0: '*' not allowed in a domain "
		"name");
	sel_bad("a@b@c", "offset 3: second '@'; at most one is allowed");
	sel_bad(".user@x", "offset 0: user part starts with '.'");
	sel_bad("u u@.", "offset 1: byte 0x20 not allowed in the user part");
	sel_bad("@.-x.com", "offset 2: label starts with '-'");
}

static void test_selector_covers(void **state)
{
	static const char *const no[] = {
		"sub.example.com", ".example.com", ".com", ".",
		"other@sub.example.com", "User@sub.example.com",
		"@example.com", "user@example.com", "@.sub.example.com",
		"@.ample.com", "user@.ample.com", "@.org", "@sub.example",
		"user@.sub.example.com", NULL,
	};
	struct donai d;

	(void)state;
	assert_int_equal(donai_parse("user@sub.example.com", &d, NULL, 0), 0);
	for (size_t k = 0; no[k] != NULL; k++)
		if (donai_selector_covers(no[k], &d) != 0)
			fail_msg("\"%s\" should not cover user@sub.example.com",
				 no[k]);
	/* domains compare in lower case, users exactly */
	assert_int_equal(donai_selector_covers("user@SUB.example.COM", &d), 1);
	assert_int_equal(donai_selector_covers("@.COM", &d), 1);
	assert_int_equal(donai_selector_covers("a@@b", &d), -EINVAL);
	assert_int_equal(donai_selector_covers("", &d), -EINVAL);

	assert_int_equal(donai_parse("sub.example.com", &d, NULL, 0), 0);
	assert_int_equal(donai_selector_covers(".", &d), 1);
	assert_int_equal(donai_selector_covers(".EXAMPLE.com", &d), 1);
	assert_int_equal(donai_selector_covers("@.", &d), 0);
	assert_int_equal(donai_selector_covers("@sub.example.com", &d), 0);
	assert_int_equal(donai_selector_covers(".sub.example.com", &d), 0);
	assert_int_equal(donai_selector_covers("example.com", &d), 0);
	assert_int_equal(donai_selector_covers("b.example.com", &d), 0);

	assert_int_equal(donai_parse("localhost", &d, NULL, 0), 0);
	assert_int_equal(donai_selector_covers(".", &d), 1);
	assert_int_equal(donai_selector_covers(".localhost", &d), 0);
	assert_int_equal(donai_selector_covers("localhost", &d), 1);
}

static void test_selector_level(void **state)
{
	static const struct { const char *sel; int level; } u[] = {
		{ "user@sub.example.com", 0 }, { "@sub.example.com", 1 },
		{ "user@.example.com", 2 }, { "@.example.com", 3 },
		{ "user@.com", 4 }, { "@.com", 5 }, { "user@.", 6 },
		{ "@.", 7 }, { "sub.example.com", -1 }, { "x@.", -1 },
	};
	static const struct { const char *sel; int level; } b[] = {
		{ "sub.example.com", 0 }, { ".example.com", 1 },
		{ ".com", 2 }, { ".", 3 }, { "@.", -1 }, { ".net", -1 },
	};
	struct donai_selector s;
	struct donai d;

	(void)state;
	assert_int_equal(donai_parse("user@sub.example.com", &d, NULL, 0), 0);
	for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++) {
		assert_int_equal(donai_selector_parse(u[k].sel, &s, NULL, 0),
				 0);
		assert_int_equal(donai_selector_level(&s, &d), u[k].level);
	}
	assert_int_equal(donai_parse("sub.example.com", &d, NULL, 0), 0);
	for (size_t k = 0; k < sizeof(b) / sizeof(b[0]); k++) {
		assert_int_equal(donai_selector_parse(b[k].sel, &s, NULL, 0),
				 0);
		assert_int_equal(donai_selector_level(&s, &d), b[k].level);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_parse_overall),
		cmocka_unit_test(test_parse_user),
		cmocka_unit_test(test_parse_domain),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_iter_user),
		cmocka_unit_test(test_iter_domain),
		cmocka_unit_test(test_iter_buffers),
		cmocka_unit_test(test_selector_parse),
		cmocka_unit_test(test_selector_covers),
		cmocka_unit_test(test_selector_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

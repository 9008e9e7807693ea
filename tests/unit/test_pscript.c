/* Unit tests for the PulleyScript compiler (pulley/pscript_parse.c,
 * pscript_compile.c, pscript_plan.c): accessors of a good script, every
 * error kind with its line and column, all errors of a script reported,
 * and the script identity (stable under reordering, comments, white
 * space and attribute type case; changed by any change of meaning). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pscript.h"

#define MAXERR 16

struct errs {
	int n;
	unsigned line[MAXERR], col[MAXERR];
	char msg[MAXERR][256];
};

static void on_err(void *ctx, unsigned line, unsigned col, const char *msg)
{
	struct errs *e = ctx;

	assert_non_null(msg);
	assert_true(line >= 1 && col >= 1);
	if (e->n < MAXERR) {
		e->line[e->n] = line;
		e->col[e->n] = col;
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	}
	e->n++;
}

static struct pscript *compile_ok(const char *text)
{
	struct pscript *s = NULL;
	struct errs e = { 0 };
	int rc = pscript_compile(text, strlen(text), &s, on_err, &e);

	for (int i = 0; i < e.n && i < MAXERR; i++)
		fprintf(stderr, "unexpected error %u:%u: %s\n", e.line[i],
			e.col[i], e.msg[i]);
	assert_int_equal(rc, 0);
	assert_int_equal(e.n, 0);
	assert_non_null(s);
	return s;
}

static const char good[] =
	"# identities and what they disclose\n"
	"TlsPoolCredentialType: type + tlsPoolLocalUserCredential: cred, "
	"uid=user, ou=\"Users\", @base <- world\n"
	"\n"
	"  objectClass: \"tlsPoolIdentityDisclosure\" + "
	"tlsPoolIdentityDisclosure: who + cn: remote, @dbase <- world # c\n"
	"(who = user)\n"
	"(|(type = \"x509\")(type=\"openpgp\"))\n"
	"user, base, type, cred -> pool (db=\"localid\", mode=\"a\\\"b\")\n"
	"remote, user -> pool (db=\"disclose\")\n"
	"user -> null\n";

static void test_accessors(void **state)
{
	struct pscript *s = compile_ok(good);
	static const char *const attrs[] = {
		"tlspoolcredentialtype", "tlspoollocalusercredential",
		"objectclass", "tlspoolidentitydisclosure", "cn"
	};

	(void)state;
	assert_int_equal(pscript_nattrs(s), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(pscript_attr(s, i), attrs[i]);
	assert_null(pscript_attr(s, 5));
	assert_int_equal(pscript_ndrivers(s), 3);
	assert_string_equal(pscript_driver_name(s, 0), "pool");
	assert_int_equal(pscript_driver_nvars(s, 0), 4);
	assert_string_equal(pscript_driver_var(s, 0, 0), "user");
	assert_string_equal(pscript_driver_var(s, 0, 3), "cred");
	assert_null(pscript_driver_var(s, 0, 4));
	assert_int_equal(pscript_driver_nparams(s, 0), 2);
	assert_string_equal(pscript_driver_param(s, 0, 0), "db=localid");
	assert_string_equal(pscript_driver_param(s, 0, 1), "mode=a\"b");
	assert_string_equal(pscript_driver_name(s, 1), "pool");
	assert_int_equal(pscript_driver_nvars(s, 1), 2);
	assert_string_equal(pscript_driver_param(s, 1, 0), "db=disclose");
	assert_string_equal(pscript_driver_name(s, 2), "null");
	assert_int_equal(pscript_driver_nparams(s, 2), 0);
	assert_null(pscript_driver_name(s, 3));
	assert_int_equal(pscript_driver_nvars(s, 3), 0);
	pscript_free(s);
}

/* One bad script: the errors expected, in order, by line, column and a
 * piece of the message. */
struct bad {
	const char *text;
	int n;
	struct {
		unsigned line, col;
		const char *part;
	} e[4];
};

#define D "\nx -> d\n"		/* a driver so that only the error shows */
#define G "cn: x <- world\n"
#define GD G "x -> ok\n"	/* a good driver before a bad line 3 */

static const struct bad bads[] = {
	{ GD "x -> d $\n", 1, { { 3, 8, "unexpected character '$'" } } },
	{ GD "x -> d\x01\n", 1, { { 3, 7, "unexpected byte 0x01" } } },
	{ G "cn: \"abc <- world\n" D, 1, { { 2, 5, "unterminated string" } } },
	{ GD "x -> d (p=\"a\\qb\")\n", 1, { { 3, 13, "bad escape" } } },
	{ GD "x -> d (p=\"a\\x4\")\n", 1, { { 3, 13, "two hex digits" } } },
	{ "cn: y, uid=u <-\n" G D, 1, { { 1, 16, "expected the source" } } },
	{ G "foo bar\n" D, 1, { { 2, 1, "not a generator" } } },
	{ G "a -> b <- c\n" D, 1, { { 2, 1, "not both" } } },
	{ "uid=u, cn: y <- world\n" G D, 1,
	  { { 1, 10, "belong in the first part" } } },
	{ "cn: y + uid=u <- world\n" G D, 1,
	  { { 1, 12, "cannot be joined by '+'" } } },
	{ "@base, uid=u <- world\n" G D, 1, { { 1, 6, "must be the last" } } },
	{ "cn: y <- earth\n" G D, 1, { { 1, 10, "unknown source 'earth'" } } },
	{ "cn: x <- world\nsn: x <- world\n" D, 1,
	  { { 2, 5, "already bound at line 1 column 5" } } },
	{ "cn: x + sn: x <- world\n" D, 1,
	  { { 1, 13, "already bound at line 1 column 5" } } },
	{ "uid=x, dc=y, @x <- world\n" D, 1,
	  { { 1, 15, "already bound at line 1 column 5" } } },
	{ G "(x = nope)\n" D, 1,
	  { { 2, 6, "variable 'nope' in a condition is not bound" } } },
	{ G "x, nope -> d\n", 1,
	  { { 2, 4, "variable 'nope' in a driver is not bound" } } },
	{ G "x, x -> d\n", 1, { { 2, 4, "outputs 'x' twice" } } },
	{ GD "x -> d (a=\"1\", a=\"2\")\n", 1, { { 3, 16, "given twice" } } },
	{ G "(\"a\" = \"b\")\n" D, 1, { { 2, 1, "names no variable" } } },
	{ G, 1, { { 1, 1, "no driver line" } } },
	{ G "x -> d\n# again\nx -> d\n", 1,
	  { { 4, 1, "the same line as line 2" } } },
	{ G "(!(x=\"a\")(x=\"b\"))\n" D, 1,
	  { { 2, 2, "exactly one condition" } } },
	{ G "(&)\n" D, 1, { { 2, 2, "at least one condition" } } },
	{ G "(x ~ \"a\")\n" D, 1, { { 2, 4, "unexpected character '~'" } } },
	{ G "(x < \"a\")\n" D, 1, { { 2, 4, "unexpected character '<'" } } },
	{ G "(x = \"a\"\n" D, 1, { { 2, 9, "expected ')'" } } },
	{ G "(x = \"a\") x\n" D, 1, { { 2, 11, "expected the end" } } },
	{ GD "x -> d (p=1)\n", 1, { { 3, 11, "quoted parameter value" } } },
	{ GD "x -> d (p=\"a\\x00b\")\n", 1, { { 3, 11, "NUL byte" } } },
	{ GD "x y -> d\n", 1, { { 3, 3, "expected ',' or '->'" } } },
	{ "1cn: y <- world\n" G D, 1, { { 1, 1, "expected an attribute type" } } },
	{ "cn: 9x <- world\n" G D, 1, { { 1, 5, "expected a variable or" } } },
	{ "cn y <- world\n" G D, 1, { { 1, 4, "expected ':' (attribute value)" } } },
	/* several errors: every one is reported, in the order of the text */
	{ "cn: x <- world\nsn: x <- world\n(y = x)\nx, z -> d (\n", 4,
	  { { 1, 1, "no driver line" }, { 2, 5, "already bound" },
	    { 3, 2, "variable 'y' in a condition" },
	    { 4, 12, "expected a parameter" } } },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const struct bad *b = &bads[i];
		struct pscript *s = (struct pscript *)&s;
		struct errs e = { 0 };
		int rc = pscript_compile(b->text, strlen(b->text), &s, on_err, &e);

		if (rc != -EINVAL || e.n != b->n)
			fprintf(stderr, "case %zu: rc %d, %d errors, first "
				"%u:%u %s\n", i, rc, e.n, e.line[0], e.col[0],
				e.msg[0]);
		assert_int_equal(rc, -EINVAL);
		assert_null(s);
		assert_int_equal(e.n, b->n);
		for (int k = 0; k < b->n; k++) {
			if (e.line[k] != b->e[k].line || e.col[k] != b->e[k].col ||
			    strstr(e.msg[k], b->e[k].part) == NULL)
				fprintf(stderr, "case %zu error %d: got %u:%u %s\n",
					i, k, e.line[k], e.col[k], e.msg[k]);
			assert_int_equal(e.line[k], b->e[k].line);
			assert_int_equal(e.col[k], b->e[k].col);
			assert_non_null(strstr(e.msg[k], b->e[k].part));
		}
		/* without an error callback: the same refusal */
		assert_int_equal(pscript_compile(b->text, strlen(b->text), &s,
						 NULL, NULL), -EINVAL);
		assert_null(s);
	}
}

static void test_nesting_limit(void **state)
{
	char text[512];
	size_t o = 0;
	struct pscript *s;
	struct errs e = { 0 };

	(void)state;
	o += (size_t)snprintf(text + o, sizeof(text) - o, "cn: x <- world\n");
	for (int i = 0; i < 40; i++)
		text[o++] = '(', text[o++] = '!';
	o += (size_t)snprintf(text + o, sizeof(text) - o, "(x=\"a\")");
	for (int i = 0; i < 40; i++)
		text[o++] = ')';
	o += (size_t)snprintf(text + o, sizeof(text) - o, "\nx -> d\n");
	assert_int_equal(pscript_compile(text, o, &s, on_err, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.line[0], 2);
	assert_non_null(strstr(e.msg[0], "nested deeper"));
}

static void test_statement_limit(void **state)
{
	size_t cap = 9000 * 16 + 64, o = 0;
	char *text = malloc(cap);
	struct pscript *s;
	struct errs e = { 0 };

	(void)state;
	assert_non_null(text);
	o += (size_t)snprintf(text, cap, "cn: x <- world\nx -> d\n");
	for (int i = 0; i < 9000; i++)
		o += (size_t)snprintf(text + o, cap - o, "(x = \"%d\")\n", i);
	assert_int_equal(pscript_compile(text, o, &s, on_err, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.line[0], 8193);
	assert_non_null(strstr(e.msg[0], "more than 8192 statements"));
	free(text);
}

static void test_not_nul_terminated(void **state)
{
	/* the length bounds the text: the trailing garbage is not read */
	static const char text[] = "cn: x <- world\nx -> d\n$$$";
	struct pscript *s = NULL;

	(void)state;
	assert_int_equal(pscript_compile(text, sizeof(text) - 4, &s, NULL,
					 NULL), 0);
	pscript_free(s);
	assert_int_equal(pscript_compile(text, sizeof(text) - 1, &s, NULL,
					 NULL), -EINVAL);
	assert_int_equal(pscript_compile(NULL, 0, &s, NULL, NULL), -EINVAL);
	assert_int_equal(pscript_compile(text, 0, &s, NULL, NULL), -EINVAL);
}

static void identity_of(const char *text, uint8_t id[32])
{
	struct pscript *s = compile_ok(text);

	pscript_identity(s, id);
	pscript_free(s);
}

static void test_identity(void **state)
{
	static const char *const same[] = {
		/* reordered lines, comments, blank lines, white space, case
		 * of attribute types, a repeated condition */
		"(who = user)\n"
		"remote, user -> pool (db=\"disclose\")\n"
		"user -> null\n"
		"(|(type = \"x509\")(type=\"openpgp\"))\n"
		"user, base, type, cred -> pool (db=\"localid\", mode=\"a\\\"b\")\n"
		"objectclass: \"tlsPoolIdentityDisclosure\" + "
		"TLSPOOLIDENTITYDISCLOSURE: who + CN: remote, @dbase <- world\n"
		"tlspoolcredentialtype: type + tlsPoolLocalUserCredential: cred,"
		"UID=user,OU=\"Users\",@base<-world\n",
		"# another comment\n\n\n" "(who=user)\n(who = user)\n"
		"remote,user->pool(db=\"disclose\")\n"
		"user -> null  # the end\n"
		"(|(type = \"x509\")(type=\"openpgp\"))\n"
		"user, base, type, cred -> pool (db=\"localid\", mode=\"a\\x22b\")\n"
		"objectclass: \"tlsPoolIdentityDisclosure\" + "
		"TLSPOOLIDENTITYDISCLOSURE: who + CN: remote, @dbase <- world\n"
		"tlspoolcredentialtype: type + tlsPoolLocalUserCredential: cred,"
		"UID=user,OU=\"Users\",@base<-world\n",
	};
	static const char *const edits[][2] = {
		{ "(who = user)", "(who != user)" },
		{ "\"x509\"", "\"X509\"" },
		{ "db=\"disclose\"", "db=\"disclosure\"" },
		{ "user -> null", "user -> null2" },
		{ "ou=\"Users\"", "ou=\"Users\", dc=\"x\"" },
		{ "remote, user ->", "user, remote ->" },
		{ "cn: remote", "sn: remote" },
		{ "(|(type", "(&(type" },
	};
	uint8_t a[32], b[32];

	(void)state;
	identity_of(good, a);
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		identity_of(same[i], b);
		assert_memory_equal(a, b, 32);
	}
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char text[sizeof(good) + 64];
		const char *at = strstr(good, edits[i][0]);
		size_t pre;

		assert_non_null(at);
		pre = (size_t)(at - good);
		snprintf(text, sizeof(text), "%.*s%s%s", (int)pre, good,
			 edits[i][1], at + strlen(edits[i][0]));
		identity_of(text, b);
		assert_memory_not_equal(a, b, 32);
	}
}

/* A constant may hold any byte, NUL included, written \xHH. */
static void test_binary_constants(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	identity_of("cn: \"a\\x00b\" + sn: x <- world\nx -> d\n", a);
	identity_of("cn: \"a\\x00c\" + sn: x <- world\nx -> d\n", b);
	assert_memory_not_equal(a, b, 32);
	identity_of("cn: \"a\" + sn: x <- world\nx -> d\n", b);
	assert_memory_not_equal(a, b, 32);
}

/* The example of doc/pulleyscript.md, and its join variant. */
#define POOL_IDS "objectClass: \"tlsPoolLocalUserCredential\" + " \
	"tlsPoolCredentialType: ctype + tlsPoolSupportedRole: role + " \
	"userCertificate: cred, uid=user, ou=\"Identities\", @domain <- world\n"
#define POOL_REST "objectClass: \"tlsPoolIdentityDisclosure\" + " \
	"tlsPoolIdentityDisclosure: shown + tlsPoolRemoteSelector: remote, " \
	"cn=dname, ou=\"Disclosure\", @ddomain <- world\n" \
	"objectClass: \"tlsPoolTrustedIssuer\" + tlsPoolTrustAnchor: anchor + " \
	"tlsPoolCredentialType: ttype, cn=tname, ou=\"Trust\", @tdomain <- world\n" \
	"(|(ctype = \"x509\")(ctype = \"rawpk\")(ctype = \"krb5\"))\n" \
	"user, domain, ctype, role, cred -> pool (db=\"localid\")\n" \
	"anchor, ttype -> pool (db=\"trust\")\n"

static void test_doc_example(void **state)
{
	struct pscript *s;

	(void)state;
	s = compile_ok(POOL_IDS POOL_REST
		       "remote, shown -> pool (db=\"disclose\")\n");
	assert_int_equal(pscript_ndrivers(s), 3);
	assert_string_equal(pscript_driver_param(s, 2, 0), "db=disclose");
	pscript_free(s);
	s = compile_ok(POOL_IDS POOL_REST
		       "objectClass: \"tlsPoolLocalUserCredential\" + "
		       "tlsPoolCredentialType: ctype2, uid=user2, "
		       "ou=\"Identities\", @domain2 <- world\n"
		       "(shown = user2)\n(ddomain = domain2)\n"
		       "remote, shown -> pool (db=\"disclose\")\n");
	pscript_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_statement_limit),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_binary_constants),
		cmocka_unit_test(test_doc_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for lib/valexp: golden results, laziness and memoisation,
 * truth tables against a plain reference evaluator, every compile-time
 * refusal with its offset, blame texts and the infix description. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "valexp.h"

#define WHYLEN 256

/* The facts a test evaluates against, and a record of the questions. */
struct world {
	const char *holds;		/* letters that hold */
	const char *reason[128];	/* reason to give, per letter */
	char errletter;			/* this letter fails ... */
	int err;			/* ... with this -errno */
	char calls[64];			/* letters asked, in order */
	size_t ncalls;
};

static int pred(void *ctx, char letter, char *why, size_t whylen)
{
	struct world *w = ctx;

	assert_non_null(why);
	assert_true(whylen > 0);
	assert_string_equal(why, "");
	assert_true(w->ncalls + 1 < sizeof(w->calls));
	w->calls[w->ncalls++] = letter;
	if (w->reason[(unsigned char)letter] != NULL)
		snprintf(why, whylen, "%s", w->reason[(unsigned char)letter]);
	if (letter == w->errletter)
		return w->err;
	return strchr(w->holds, letter) != NULL;
}

static struct valexp *compile_ok(const char *text, const char *supported)
{
	struct valexp *e = NULL;
	char why[WHYLEN] = "x";
	size_t pos = 99;
	int rc = valexp_compile(text, supported, &e, why, sizeof(why), &pos);

	if (rc != 0)
		fail_msg("\"%s\" refused at %zu: %s", text, pos, why);
	assert_non_null(e);
	assert_string_equal(why, "");
	assert_int_equal(pos, 0);
	return e;
}

/* Must be refused at errpos with exactly msg. */
static void compile_bad(const char *text, const char *supported,
			size_t errpos, const char *msg)
{
	struct valexp *e = (struct valexp *)&e;
	char why[WHYLEN] = "";
	size_t pos = 999;

	assert_int_equal(valexp_compile(text, supported, &e, why, sizeof(why),
					&pos), -EINVAL);
	assert_null(e);
	if (strcmp(why, msg) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text ? text : "",
			 why, msg);
	assert_int_equal(pos, errpos);
}

/* Evaluate text in world w; returns the result, fills failed. */
static int eval(const char *text, const char *supported, struct world *w,
		char *failed, size_t failedlen)
{
	struct valexp *e = compile_ok(text, supported);
	int r;

	w->ncalls = 0;
	memset(w->calls, 0, sizeof(w->calls));
	r = valexp_eval(e, pred, w, failed, failedlen);
	valexp_free(e);
	return r;
}

static void test_golden_constants(void **state)
{
	static const struct { const char *text; int want; } g[] = {
		{ "01&", 0 }, { "01|", 1 }, { "1~", 0 }, { "0~", 1 },
		{ "1", 1 }, { "0", 0 }, { "11&", 1 }, { "00|", 0 },
		{ "011?", 1 }, { "100?", 1 }, { "1 0 1 ?", 0 },
		{ "100~?", 0 }, { "1 0 & ~", 1 }, { "1~~", 1 },
	};
	struct world w = { .holds = "" };
	char failed[WHYLEN];

	(void)state;
	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		int r = eval(g[k].text, "", &w, failed, sizeof(failed));

		if (r != g[k].want)
			fail_msg("\"%s\" gave %d", g[k].text, r);
		assert_int_equal(w.ncalls, 0);
	}
	assert_int_equal(eval("01&", NULL, &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "constant 0");
	assert_int_equal(eval("1~", NULL, &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "constant 1");
	assert_int_equal(eval("01|", NULL, &w, failed, sizeof(failed)), 1);
	assert_string_equal(failed, "");
}

static void test_golden_ternary(void **state)
{
	struct world w = { .holds = "it" };
	char failed[WHYLEN];

	(void)state;
	w.reason['e'] = "no fitting extended key usage";
	w.reason['t'] = "self-signed certificate not in trust.db";
	/* i holds: t decides, e is never asked */
	assert_int_equal(eval("eti?", "eti", &w, failed, sizeof(failed)), 1);
	assert_string_equal(w.calls, "it");
	w.holds = "i";
	assert_int_equal(eval("eti?", "eti", &w, failed, sizeof(failed)), 0);
	assert_string_equal(w.calls, "it");
	assert_string_equal(failed, "t: self-signed certificate not in "
				    "trust.db");
	/* i does not hold: e decides, t is never asked */
	w.holds = "e";
	assert_int_equal(eval("eti?", "eti", &w, failed, sizeof(failed)), 1);
	assert_string_equal(w.calls, "ie");
	w.holds = "t";
	assert_int_equal(eval("eti?", "eti", &w, failed, sizeof(failed)), 0);
	assert_string_equal(w.calls, "ie");
	assert_string_equal(failed, "e: no fitting extended key usage");
}

static void test_lazy_and_memo(void **state)
{
	struct world w = { .holds = "T" };
	char failed[WHYLEN];

	(void)state;
	/* each predicate asked at most once */
	assert_int_equal(eval("TT&", "T", &w, failed, sizeof(failed)), 1);
	assert_string_equal(w.calls, "T");
	assert_int_equal(eval("TI&T|T~|", "TI", &w, failed, sizeof(failed)),
			 1);
	assert_string_equal(w.calls, "TI");
	/* & stops at a false operand, | at a true one */
	assert_int_equal(eval("FI&", "FI", &w, failed, sizeof(failed)), 0);
	assert_string_equal(w.calls, "F");
	assert_int_equal(eval("TP|", "TP", &w, failed, sizeof(failed)), 1);
	assert_string_equal(w.calls, "T");
	assert_int_equal(eval("0I&", "I", &w, failed, sizeof(failed)), 0);
	assert_string_equal(w.calls, "");
	/* left operand first */
	assert_int_equal(eval("PT&", "PT", &w, failed, sizeof(failed)), 0);
	assert_string_equal(w.calls, "P");
}

/* Plain stack evaluation of an RPN text, every predicate asked. */
static int reference(const char *text, const char *holds)
{
	int st[VALEXP_MAXLEN], n = 0;

	for (const char *p = text; *p != '\0'; p++) {
		int a, b, c;

		switch (*p) {
		case ' ':
			break;
		case '~':
			st[n - 1] = !st[n - 1];
			break;
		case '&':
		case '|':
			b = st[--n];
			a = st[--n];
			st[n++] = *p == '&' ? a && b : a || b;
			break;
		case '?':
			c = st[--n];
			a = st[--n];
			b = st[--n];
			st[n++] = c ? a : b;
			break;
		case '0':
		case '1':
			st[n++] = *p == '1';
			break;
		default:
			st[n++] = strchr(holds, *p) != NULL;
		}
	}
	assert_int_equal(n, 1);
	return st[0];
}

/* Every assignment of the letters in vars agrees with the reference. */
static void truth_table(const char *text, const char *vars)
{
	size_t nv = strlen(vars);
	struct valexp *e = compile_ok(text, vars);

	for (unsigned m = 0; m < (1u << nv); m++) {
		char holds[16] = "", failed[WHYLEN];
		struct world w = { .holds = holds };
		size_t h = 0;
		int r;

		for (size_t k = 0; k < nv; k++)
			if (m & (1u << k))
				holds[h++] = vars[k];
		r = valexp_eval(e, pred, &w, failed, sizeof(failed));
		if (r != reference(text, holds))
			fail_msg("\"%s\" with \"%s\" gave %d", text, holds, r);
		/* no letter asked twice */
		for (size_t k = 0; k < w.ncalls; k++)
			assert_null(memchr(w.calls, w.calls[k], k));
		if (r == 1)
			assert_string_equal(failed, "");
		else
			assert_true(failed[0] != '\0');
	}
	valexp_free(e);
}

static void test_truth_tables(void **state)
{
	(void)state;
	truth_table("tc|d&~", "tcd");
	truth_table("IT|F&~", "ITF");
	truth_table("eti?", "eti");
	truth_table("eti?~", "eti");
	truth_table("IT&~PL|~&", "ITPL");
	truth_table("ET~I?F|~", "ETIF");
	truth_table("IT|IP|&", "ITP");
	truth_table("Qq~|", "Qq");
	truth_table("tP|Ic?d&", "tPIcd");
	truth_table("ISC?s c&|", "ISCsc");
	truth_table("ROor?&L~l|&", "ROorLl");
}

static void test_negated_compound(void **state)
{
	struct world w = { .holds = "td" };
	char failed[WHYLEN];

	(void)state;
	/* a is never allowed, d only where the caller evaluates it */
	compile_bad("ac|d&~", VALEXP_LETTERS, 0, "offset 0: A/a (anonymous "
		    "precursor) needs renegotiation, which TLS 1.3 removed");
	compile_bad("tc|d&~", "tc", 3, "offset 3: predicate 'd' (DANE "
		    "(relaxed)) cannot be evaluated here");
	/* not ((t or c) and d) */
	assert_int_equal(eval("tc|d&~", "tcd", &w, failed, sizeof(failed)),
			 0);
	assert_string_equal(w.calls, "td");
	assert_string_equal(failed, "t (trust-anchor chain or self-signed) "
				    "holds, but must not; d (DANE (relaxed)) "
				    "holds, but must not");
	w.holds = "c";
	assert_int_equal(eval("tc|d&~", "tcd", &w, failed, sizeof(failed)),
			 1);
	assert_string_equal(w.calls, "tcd");
	w.holds = "";
	assert_int_equal(eval("tc|d&~", "tcd", &w, failed, sizeof(failed)),
			 1);
	assert_string_equal(w.calls, "tc");
}

static void test_compile_errors(void **state)
{
	char text[VALEXP_MAXLEN + 2];
	struct valexp *e;

	(void)state;
	compile_bad("&", "", 0, "offset 0: '&' needs 2 operands, found 0");
	compile_bad("1&", "", 1, "offset 1: '&' needs 2 operands, found 1");
	compile_bad("1|", "", 1, "offset 1: '|' needs 2 operands, found 1");
	compile_bad("~", "", 0, "offset 0: '~' needs 1 operand, found 0");
	compile_bad("11?", "", 2, "offset 2: '?' needs 3 operands, found 2");
	compile_bad("11", "", 1, "offset 1: 2 values are left at the end; "
		    "join them with '&' or '|'");
	compile_bad("I 1 1&", "I", 2, "offset 2: 2 values are left at the "
		    "end; join them with '&' or '|'");
	compile_bad("111", "", 1, "offset 1: 3 values are left at the end; "
		    "join them with '&' or '|'");
	compile_bad("X", VALEXP_LETTERS, 0, "offset 0: unknown predicate 'X'");
	compile_bad("1X&", VALEXP_LETTERS, 1, "offset 1: unknown predicate "
		    "'X'");
	compile_bad("Iu&", VALEXP_LETTERS, 1, "offset 1: unknown predicate "
		    "'u'");
	compile_bad("A", VALEXP_LETTERS "Aa", 0, "offset 0: A/a (anonymous "
		    "precursor) needs renegotiation, which TLS 1.3 removed");
	compile_bad("I a|", "Iia", 2, "offset 2: A/a (anonymous precursor) "
		    "needs renegotiation, which TLS 1.3 removed");
	compile_bad("", "", 0, "empty expression");
	compile_bad("   ", "", 0, "empty expression");
	compile_bad(NULL, "", 0, "no expression");
	compile_bad("1 2", "", 2, "offset 2: unexpected character '2'");
	compile_bad("(1)", "", 0, "offset 0: unexpected character '('");
	compile_bad("1\t", "", 1, "offset 1: unexpected byte 0x09");
	compile_bad("1\xff", "", 1, "offset 1: unexpected byte 0xff");
	compile_bad("D", "IT", 0, "offset 0: predicate 'D' (DANE) cannot be "
		    "evaluated here");
	compile_bad("Ig&", "IT", 1, "offset 1: predicate 'g' (LDAP global "
		    "directory (relaxed)) cannot be evaluated here");
	compile_bad("IR&", "IT", 1, "offset 1: predicate 'R' (revocation "
		    "checked) cannot be evaluated here");
	compile_bad("I", NULL, 0, "offset 0: predicate 'I' (identity proven) "
		    "cannot be evaluated here");
	/* 255 characters are fine, 256 are not */
	memset(text, '~', sizeof(text));
	text[0] = '1';
	text[VALEXP_MAXLEN] = '\0';
	e = compile_ok(text, "");
	assert_int_equal(valexp_eval(e, pred, NULL, NULL, 0), 1);
	valexp_free(e);
	text[VALEXP_MAXLEN] = '~';
	text[VALEXP_MAXLEN + 1] = '\0';
	compile_bad(text, "", VALEXP_MAXLEN, "offset 255: longer than 255 "
		    "characters");
	/* why and errpos may be NULL */
	assert_int_equal(valexp_compile("&", "", &e, NULL, 0, NULL), -EINVAL);
	assert_null(e);
}

static void test_blame(void **state)
{
	struct world w = { .holds = "I" };
	char failed[WHYLEN], small[12];

	(void)state;
	w.reason['T'] = "chain does not lead to a trust anchor";
	w.reason['P'] = "no pin for this key";
	assert_int_equal(eval("IT&", "IT", &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "T: chain does not lead to a trust "
				    "anchor");
	assert_int_equal(eval("TP|", "TP", &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "T: chain does not lead to a trust "
				    "anchor; P: no pin for this key");
	assert_int_equal(eval("ITP|&", "ITP", &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "T: chain does not lead to a trust "
				    "anchor; P: no pin for this key");
	/* without a reason the name is used; named once */
	assert_int_equal(eval("FF|", "F", &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "F (forward secrecy) does not hold");
	assert_int_equal(eval("I~", "I", &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "I (identity proven) holds, but must not");
	w.reason['I'] = "peer proved bob@example.com";
	assert_int_equal(eval("I~", "I", &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "I (identity proven) holds, but must "
				    "not: peer proved bob@example.com");
	/* only what was evaluated is blamed */
	w.holds = "";
	assert_int_equal(eval("IT&F&", "ITF", &w, failed, sizeof(failed)), 0);
	assert_string_equal(failed, "I: peer proved bob@example.com");
	/* a small buffer is cut, but terminated */
	assert_int_equal(eval("TP|", "TP", &w, small, sizeof(small)), 0);
	assert_string_equal(small, "T: chain do");
	assert_int_equal(eval("TP|", "TP", &w, NULL, 0), 0);
}

static void test_pred_error(void **state)
{
	struct world w = { .holds = "IT", .errletter = 'R', .err = -EIO };
	char failed[WHYLEN];

	(void)state;
	w.reason['R'] = "CRL unreadable";
	assert_int_equal(eval("ITR&&", "ITR", &w, failed, sizeof(failed)),
			 -EIO);
	assert_string_equal(failed, "R: CRL unreadable");
	w.reason['R'] = NULL;
	assert_int_equal(eval("IR|~", "IR", &w, failed, sizeof(failed)), 0);
	assert_string_equal(w.calls, "I");
	assert_int_equal(eval("R~I|", "IR", &w, failed, sizeof(failed)),
			 -EIO);
	assert_string_equal(failed, "R: could not be decided");
	/* any positive value counts as true */
	w.errletter = 'T';
	w.err = 7;
	assert_int_equal(eval("T", "T", &w, failed, sizeof(failed)), 1);
}

static void describe_is(const char *text, const char *want)
{
	struct valexp *e = compile_ok(text, VALEXP_LETTERS);
	char buf[512];

	assert_int_equal(valexp_describe(e, buf, sizeof(buf)),
			 (int)strlen(want));
	assert_string_equal(buf, want);
	valexp_free(e);
}

static void test_describe(void **state)
{
	struct valexp *e;
	char small[10];

	(void)state;
	describe_is("ITP|&", "(identity proven AND (trust-anchor chain OR "
		    "pinned key))");
	describe_is("IT&F&", "(identity proven AND trust-anchor chain AND "
		    "forward secrecy)");
	describe_is("I TF&&", "(identity proven AND trust-anchor chain AND "
		    "forward secrecy)");
	describe_is("eti?", "(IF identity proven (relaxed) THEN trust-anchor "
		    "chain or self-signed ELSE extended key usage "
		    "(relaxed))");
	describe_is("tc|d&~", "NOT ((trust-anchor chain or self-signed OR "
		    "local client role (relaxed)) AND DANE (relaxed))");
	describe_is("1", "TRUE");
	describe_is("0~", "NOT FALSE");
	e = compile_ok("ITP|&", "ITP");
	assert_int_equal(valexp_describe(e, small, sizeof(small)), -ENOSPC);
	assert_string_equal(small, "(identity");
	assert_int_equal(valexp_describe(e, NULL, 0), -ENOSPC);
	valexp_free(e);
}

static void test_names_and_text(void **state)
{
	struct valexp *e;

	(void)state;
	assert_string_equal(valexp_predicate_name('I'), "identity proven");
	assert_string_equal(valexp_predicate_name('D'), "DANE");
	assert_string_equal(valexp_predicate_name('A'), "anonymous precursor");
	assert_null(valexp_predicate_name('u'));
	assert_null(valexp_predicate_name('&'));
	assert_null(valexp_predicate_name('1'));
	for (const char *p = VALEXP_LETTERS; *p != '\0'; p++)
		assert_non_null(valexp_predicate_name(*p));
	e = compile_ok(" I T & ", "IT");
	assert_string_equal(valexp_text(e), "IT&");
	valexp_free(e);
	valexp_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_constants),
		cmocka_unit_test(test_golden_ternary),
		cmocka_unit_test(test_lazy_and_memo),
		cmocka_unit_test(test_truth_tables),
		cmocka_unit_test(test_negated_compound),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_blame),
		cmocka_unit_test(test_pred_error),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_names_and_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

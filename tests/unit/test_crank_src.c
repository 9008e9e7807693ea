/* Unit tests for crank/crank_src: the syntax of a policy source, the
 * exact file:line:column of every refusal, recovery after an error, and
 * the tree of items and settings it builds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crank_src.h"

struct diags {
	char text[16][300];
	unsigned n;
};

static void collect(void *ctx, const struct crank_pos *pos, const char *sev,
		    const char *msg)
{
	struct diags *d = ctx;

	if (d->n < 16)
		snprintf(d->text[d->n++], sizeof(d->text[0]), "%s:%u:%u: %s: %s",
			 pos->file, pos->line, pos->col, sev, msg);
}

/* Parse text; it must give exactly the diagnostics want (NULL ends). */
static void parse_expect(const char *text, struct crank_src *src, ...)
{
	struct diags d = { .n = 0 };
	const char *w;
	unsigned i = 0;
	va_list ap;
	int rc;

	memset(src, 0, sizeof(*src));
	rc = crank_src_parse(src, "t.crank", text, strlen(text), collect, &d);
	va_start(ap, src);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (i >= d.n)
			fail_msg("missing diagnostic \"%s\" for:\n%s", w, text);
		if (strcmp(d.text[i], w) != 0)
			fail_msg("got \"%s\", want \"%s\"", d.text[i], w);
		i++;
	}
	va_end(ap);
	if (i != d.n)
		fail_msg("unexpected diagnostic \"%s\"", d.text[i]);
	assert_int_equal(rc, (int)d.n);
}

static void bad(const char *text, const char *want)
{
	struct crank_src src;

	parse_expect(text, &src, want, NULL);
	crank_src_free(&src);
}

static void test_tree(void **state)
{
	struct crank_src src;

	(void)state;
	parse_expect("# comment\n"
		     "policy @.example.com client {   # trailing\n"
		     "\tvalexp \"IT&\"\n"
		     "  priority \"NORMAL:-VERS-TLS1.0 \\\"x\\\\\"\n"
		     "}\n"
		     "\n"
		     "anchor ca.pem\n"
		     "pin \"a b.pem\" { for x@example.com }\n"
		     "disclose . {}\r\n"
		     "identity h.example x509 { chain h.pem\n"
		     "  key /k }\n", &src, NULL);
	assert_int_equal(src.nitems, 5);
	assert_string_equal(src.items[0].head.kw.text, "policy");
	assert_int_equal(src.items[0].head.nargs, 2);
	assert_string_equal(src.items[0].head.args[1].text, "client");
	assert_int_equal(src.items[0].head.args[1].pos.line, 2);
	assert_int_equal(src.items[0].head.args[1].pos.col, 22);
	assert_int_equal(src.items[0].has_block, 1);
	assert_int_equal(src.items[0].nset, 2);
	assert_string_equal(src.items[0].set[0].args[0].text, "IT&");
	assert_int_equal(src.items[0].set[0].args[0].quoted, 1);
	assert_int_equal(src.items[0].set[0].args[0].pos.col, 9);
	assert_string_equal(src.items[0].set[1].args[0].text,
			    "NORMAL:-VERS-TLS1.0 \"x\\");
	assert_int_equal(src.items[1].has_block, 0);
	assert_int_equal(src.items[1].nset, 0);
	assert_string_equal(src.items[2].head.args[0].text, "a b.pem");
	assert_int_equal(src.items[2].nset, 1);
	assert_string_equal(src.items[2].set[0].kw.text, "for");
	assert_int_equal(src.items[3].has_block, 1);
	assert_int_equal(src.items[3].nset, 0);
	assert_int_equal(src.items[4].nset, 2);
	assert_string_equal(src.items[4].set[1].args[0].text, "/k");
	assert_int_equal(src.items[4].set[1].kw.pos.line, 11);
	assert_int_equal(src.items[4].set[1].kw.pos.col, 3);
	crank_src_free(&src);
}

static void test_columns_utf8(void **state)
{
	(void)state;
	/* "é" is two bytes and one column */
	bad("anchor \"é\" \"x\n", "t.crank:1:12: error: string not closed on this line");
	bad("policy é\x01\n", "t.crank:1:9: error: control character 0x01");
}

static void test_tok_pos(void **state)
{
	struct crank_src src;
	const struct crank_tok *t;

	(void)state;
	/* the string a"é\b, written with two escapes */
	parse_expect("x \"a\\\"\xc3\xa9\\\\b\" w\xc3\xa9z\n", &src, NULL);
	t = &src.items[0].head.args[0];
	assert_string_equal(t->text, "a\"\xc3\xa9\\b");
	assert_int_equal(crank_tok_pos(t, 0).col, 4);	/* a */
	assert_int_equal(crank_tok_pos(t, 1).col, 5);	/* \" */
	assert_int_equal(crank_tok_pos(t, 2).col, 7);	/* é */
	assert_int_equal(crank_tok_pos(t, 4).col, 8);	/* \\ */
	assert_int_equal(crank_tok_pos(t, 5).col, 10);	/* b */
	assert_int_equal(crank_tok_pos(t, 6).col, 11);	/* closing quote */
	t = &src.items[0].head.args[1];
	assert_int_equal(t->pos.col, 13);
	assert_int_equal(crank_tok_pos(t, 3).col, 15);	/* z */
	crank_src_free(&src);
}

static void test_lex_errors(void **state)
{
	(void)state;
	bad("anchor \"ca.pem\n", "t.crank:1:8: error: string not closed on this line");
	bad("anchor \"c\\a\"\n", "t.crank:1:10: error: only \\\" and \\\\ are escapes");
	bad("anchor \"c\\\n", "t.crank:1:10: error: only \\\" and \\\\ are escapes");
	bad("anchor \"a\tb\"\n", "t.crank:1:10: error: control character 0x09 in a string");
	bad("anchor ab\"c\"\n", "t.crank:1:10: error: a string must be separated from the word before it");
	bad("anchor a\x7f\n", "t.crank:1:9: error: control character 0x7f");
}

static void test_lex_nul_len(void **state)
{
	struct crank_src src = { 0 };
	struct diags d = { .n = 0 };
	static const char text[] = "anchor a\0b\n";

	(void)state;
	/* the length counts, not the NUL */
	assert_int_equal(crank_src_parse(&src, "t.crank", text, sizeof(text) - 1,
					 collect, &d), 1);
	assert_string_equal(d.text[0], "t.crank:1:9: error: control character 0x00");
	assert_int_equal(src.nitems, 0);
	crank_src_free(&src);
}

static void test_structure_errors(void **state)
{
	(void)state;
	bad("}\n", "t.crank:1:1: error: '}' without an open block");
	bad("\"anchor\" x\n", "t.crank:1:1: error: a line starts with a keyword, not a string");
	bad("anchor x } y\n", "t.crank:1:10: error: unexpected '}'");
	bad("anchor x { a } b\n", "t.crank:1:14: error: unexpected '}'");
	bad("policy x client {\n  valexp I\n", "t.crank:1:17: error: block not closed at the end of the file");
	bad("policy x client {\n  \"v\" I\n}\n", "t.crank:2:3: error: a line starts with a keyword, not a string");
	bad("policy x client {\n  valexp I } x\n}\n", "t.crank:2:12: error: unexpected '}'");
}

static void test_recovery(void **state)
{
	struct crank_src src;

	(void)state;
	/* a missing '}' is reported at its '{', and the next item is read */
	parse_expect("policy a client {\n  valexp I\n"
		     "policy b server {\n  valexp T\n}\n"
		     "anchor \"x\n"
		     "anchor y\n", &src,
		     "t.crank:1:17: error: block not closed before the next block at line 3",
		     "t.crank:6:8: error: string not closed on this line", NULL);
	assert_int_equal(src.nitems, 3);
	assert_string_equal(src.items[1].head.args[0].text, "b");
	assert_int_equal(src.items[1].nset, 1);
	assert_string_equal(src.items[2].head.args[0].text, "y");
	crank_src_free(&src);
}

static void test_limits(void **state)
{
	size_t n = CRANK_SRC_MAXTOK + 20;
	char *text = malloc(n + 16);
	struct crank_src src;
	char want[100];

	(void)state;
	assert_non_null(text);
	memcpy(text, "anchor ", 7);
	memset(text + 7, 'a', CRANK_SRC_MAXTOK + 1);
	strcpy(text + 8 + CRANK_SRC_MAXTOK, "\n");
	snprintf(want, sizeof(want), "t.crank:1:8: error: word longer than %d bytes",
		 CRANK_SRC_MAXTOK);
	bad(text, want);
	/* exactly the limit is fine */
	text[7 + CRANK_SRC_MAXTOK] = '\n';
	text[8 + CRANK_SRC_MAXTOK] = '\0';
	parse_expect(text, &src, NULL);
	assert_int_equal(strlen(src.items[0].head.args[0].text), CRANK_SRC_MAXTOK);
	crank_src_free(&src);
	free(text);

	text = malloc(4 * (CRANK_SRC_MAXARGS + 10));
	assert_non_null(text);
	strcpy(text, "uids");
	for (int i = 0; i < CRANK_SRC_MAXARGS + 4; i++)
		strcat(text, " 1");
	strcat(text, "\n");
	snprintf(want, sizeof(want), "t.crank:1:%d: error: more than %d arguments on a line",
		 5 + 2 * (CRANK_SRC_MAXARGS + 3) + 1, CRANK_SRC_MAXARGS);
	bad(text, want);
	free(text);
}

static void test_load(void **state)
{
	char dir[] = "/tmp/crank_src_XXXXXX", path[300];
	struct crank_src src = { 0 };
	struct diags d = { .n = 0 };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b.crank", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("anchor b\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/a.crank", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("anchor a\n}\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/c.txt", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not read\n", f);
	fclose(f);
	assert_int_equal(crank_src_load(&src, dir, collect, &d), 1);
	assert_int_equal(src.nitems, 2);
	assert_string_equal(src.items[0].head.args[0].text, "a");
	assert_string_equal(src.items[1].head.args[0].text, "b");
	snprintf(path, sizeof(path), "%s/a.crank:2:1: error: '}' without an open block", dir);
	assert_string_equal(d.text[0], path);
	crank_src_free(&src);
	snprintf(path, sizeof(path), "%s/none.crank", dir);
	d.n = 0;
	assert_int_equal(crank_src_load(&src, path, collect, &d), -ENOENT);
	assert_int_equal(d.n, 1);
	crank_src_free(&src);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_columns_utf8),
		cmocka_unit_test(test_tok_pos),
		cmocka_unit_test(test_lex_errors),
		cmocka_unit_test(test_lex_nul_len),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for lib/tpconfig: "key value" files, comments, CRLF, errors
 * with file:line, files with NUL bytes, missing files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tpconfig.h"

#define ERRLEN 256

struct tmp {
	char dir[256];
	char file[300];
};

static int setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	const char *base = getenv("TMPDIR");

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "%s/tpconfig-XXXXXX",
		 base && base[0] ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->file, sizeof(t->file), "%s/tlspool.conf", t->dir);
	*state = t;
	return 0;
}

static int teardown_tmp(void **state)
{
	struct tmp *t = *state;

	unlink(t->file);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Parse text that must succeed. */
static void parse_ok(struct tpconfig *cfg, const char *text)
{
	char err[ERRLEN] = "";
	int rc = tpconfig_parse(cfg, "test.conf", text, err, sizeof(err));

	if (rc != 0)
		fail_msg("parse failed (%d): %s", rc, err);
}

/* Parse text that must fail with -EINVAL and exactly msg. */
static void parse_fails(const char *text, const char *msg)
{
	struct tpconfig cfg;
	char err[ERRLEN] = "";

	assert_int_equal(tpconfig_parse(&cfg, "test.conf", text, err,
					sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
	/* the config is left empty and may be freed again */
	assert_int_equal(cfg.count, 0);
	assert_null(cfg.entries);
	tpconfig_free(&cfg);
}

static void test_basic(void **state)
{
	struct tpconfig cfg;

	(void)state;
	parse_ok(&cfg, "socket_name /run/tlspool.sock\n"
		       "dbenv_dir /var/lib/tlspool\n"
		       "daemon_user tlspool\n");
	assert_int_equal(cfg.count, 3);
	assert_string_equal(cfg.path, "test.conf");
	assert_string_equal(tpconfig_get(&cfg, "socket_name"),
			    "/run/tlspool.sock");
	assert_string_equal(tpconfig_get(&cfg, "dbenv_dir"),
			    "/var/lib/tlspool");
	assert_string_equal(tpconfig_get(&cfg, "daemon_user"), "tlspool");
	assert_int_equal(cfg.entries[0].line, 1);
	assert_int_equal(cfg.entries[2].line, 3);
	tpconfig_free(&cfg);
	/* freed state is empty and freeing twice is harmless */
	assert_int_equal(cfg.count, 0);
	assert_null(cfg.entries);
	assert_null(cfg.path);
	tpconfig_free(&cfg);
}

static void test_spaces_in_values(void **state)
{
	struct tpconfig cfg;

	(void)state;
	parse_ok(&cfg, "prompt Enter your PIN, please  \n"
		       "   indented\tvalue with\ttabs\t \n"
		       "key2 \t  lots of   inner   space\n"
		       "dotted.key-name_1 x\n");
	assert_int_equal(cfg.count, 4);
	assert_string_equal(tpconfig_get(&cfg, "prompt"),
			    "Enter your PIN, please");
	assert_string_equal(tpconfig_get(&cfg, "indented"),
			    "value with\ttabs");
	assert_string_equal(tpconfig_get(&cfg, "key2"),
			    "lots of   inner   space");
	assert_string_equal(tpconfig_get(&cfg, "dotted.key-name_1"), "x");
	/* keys are matched exactly */
	assert_null(tpconfig_get(&cfg, "Prompt"));
	assert_null(tpconfig_get(&cfg, "prompt "));
	assert_null(tpconfig_get(&cfg, "promp"));
	tpconfig_free(&cfg);
}

static void test_comments_and_blanks(void **state)
{
	struct tpconfig cfg;

	(void)state;
	parse_ok(&cfg, "# a comment\n"
		       "\n"
		       "   \t \n"
		       "   # indented comment\n"
		       "#key_in_comment value\n"
		       "a 1\n"
		       "\n"
		       "b value # not a comment here\n"
		       "#");
	assert_int_equal(cfg.count, 2);
	assert_null(tpconfig_get(&cfg, "key_in_comment"));
	assert_string_equal(tpconfig_get(&cfg, "a"), "1");
	assert_int_equal(cfg.entries[0].line, 6);
	assert_string_equal(tpconfig_get(&cfg, "b"),
			    "value # not a comment here");
	assert_int_equal(cfg.entries[1].line, 8);
	tpconfig_free(&cfg);

	/* empty text and only comments give no entries */
	parse_ok(&cfg, "");
	assert_int_equal(cfg.count, 0);
	assert_null(tpconfig_get(&cfg, "a"));
	tpconfig_free(&cfg);
	parse_ok(&cfg, "# only\n\n# comments\n");
	assert_int_equal(cfg.count, 0);
	tpconfig_free(&cfg);
}

static void test_crlf(void **state)
{
	struct tpconfig cfg;

	(void)state;
	parse_ok(&cfg, "a one\r\n"
		       "\r\n"
		       "# comment\r\n"
		       "b two words\r\n"
		       "c last\r");
	assert_int_equal(cfg.count, 3);
	assert_string_equal(tpconfig_get(&cfg, "a"), "one");
	assert_string_equal(tpconfig_get(&cfg, "b"), "two words");
	assert_string_equal(tpconfig_get(&cfg, "c"), "last");
	assert_int_equal(cfg.entries[1].line, 4);
	tpconfig_free(&cfg);
}

static void test_stray_cr(void **state)
{
	(void)state;
	parse_fails("a 1\nb x\ry\n", "test.conf:2: stray carriage return");
	parse_fails("a 1\r\nb 2\r\n\rc 3\r\n",
		    "test.conf:3: stray carriage return");
	/* a CR inside a line that also ends in CRLF is still stray */
	parse_fails("a 1\r\nb x\ry\r\n", "test.conf:2: stray carriage return");
}

static void test_last_value_wins(void **state)
{
	struct tpconfig cfg;

	(void)state;
	parse_ok(&cfg, "log_level info\n"
		       "other x\n"
		       "log_level debug\n"
		       "log_level  notice  \n");
	assert_int_equal(cfg.count, 4);
	assert_string_equal(tpconfig_get(&cfg, "log_level"), "notice");
	assert_string_equal(tpconfig_get(&cfg, "other"), "x");
	/* all occurrences stay listed with their lines */
	assert_string_equal(cfg.entries[0].value, "info");
	assert_int_equal(cfg.entries[3].line, 4);
	tpconfig_free(&cfg);
}

static void test_no_value(void **state)
{
	(void)state;
	parse_fails("a 1\nb 2\nsocket_name\n",
		    "test.conf:3: key socket_name has no value");
	parse_fails("socket_name   \t \n",
		    "test.conf:1: key socket_name has no value");
	parse_fails("# c\n\nkey\r\n", "test.conf:3: key key has no value");
	/* last line without newline */
	parse_fails("a 1\nlonely", "test.conf:2: key lonely has no value");
}

static void test_bad_keys(void **state)
{
	(void)state;
	parse_fails("a 1\nkey=value\n", "test.conf:2: expected \"key value\"");
	parse_fails("k@y value\n", "test.conf:1: expected \"key value\"");
	parse_fails("a 1\nb 2\nc 3\n=value\n",
		    "test.conf:4: expected \"key value\"");
	parse_fails("\"quoted\" value\n", "test.conf:1: expected \"key value\"");
	parse_fails("sch\xc3\xb6n value\n",
		    "test.conf:1: expected \"key value\"");
	parse_fails("key/x value\n", "test.conf:1: expected \"key value\"");
	parse_fails("\n\n\n\n\n\n\n\n\n\nkey:value\n",
		    "test.conf:11: expected \"key value\"");
}

static void test_err_truncated(void **state)
{
	struct tpconfig cfg;
	char err[12];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(tpconfig_parse(&cfg, "a-rather-long-path.conf",
					"k@y v\n", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(err[sizeof(err) - 1], '\0');
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void test_load(void **state)
{
	struct tmp *t = *state;
	static const char text[] = "# sample\r\n"
				   "socket_name /tmp/pool sock\r\n"
				   "\r\n"
				   "daemon_user nobody\n"
				   "socket_name /tmp/pool.sock";
	struct tpconfig cfg;
	char err[ERRLEN] = "";

	write_file(t->file, text, sizeof(text) - 1);
	assert_int_equal(tpconfig_load(&cfg, t->file, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, t->file);
	assert_int_equal(cfg.count, 3);
	assert_string_equal(tpconfig_get(&cfg, "socket_name"),
			    "/tmp/pool.sock");
	assert_string_equal(tpconfig_get(&cfg, "daemon_user"), "nobody");
	assert_null(tpconfig_get(&cfg, "dbenv_dir"));
	tpconfig_free(&cfg);
}

static void test_load_empty(void **state)
{
	struct tmp *t = *state;
	struct tpconfig cfg;
	char err[ERRLEN] = "";

	write_file(t->file, "", 0);
	assert_int_equal(tpconfig_load(&cfg, t->file, err, sizeof(err)), 0);
	assert_int_equal(cfg.count, 0);
	assert_null(tpconfig_get(&cfg, "x"));
	tpconfig_free(&cfg);
}

static void test_load_error_names_file(void **state)
{
	struct tmp *t = *state;
	struct tpconfig cfg;
	char err[ERRLEN + 128] = "", want[ERRLEN + 128];

	write_file(t->file, "a 1\nb\n", 6);
	assert_int_equal(tpconfig_load(&cfg, t->file, err, sizeof(err)),
			 -EINVAL);
	snprintf(want, sizeof(want), "%s:2: key b has no value", t->file);
	assert_string_equal(err, want);
	assert_int_equal(cfg.count, 0);
	tpconfig_free(&cfg);
}

static void test_load_nul(void **state)
{
	struct tmp *t = *state;
	static const char text[] = "a 1\nb x\0y\nc 3\n";
	struct tpconfig cfg;
	char err[ERRLEN] = "";

	write_file(t->file, text, sizeof(text) - 1);
	assert_int_equal(tpconfig_load(&cfg, t->file, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, t->file));
	assert_non_null(strstr(err, "NUL"));
	assert_int_equal(cfg.count, 0);
	tpconfig_free(&cfg);
	/* a NUL as the very last byte is caught too */
	write_file(t->file, "a 1\n", 5);
	assert_int_equal(tpconfig_load(&cfg, t->file, err, sizeof(err)),
			 -EINVAL);
	tpconfig_free(&cfg);
}

static void test_load_missing(void **state)
{
	struct tmp *t = *state;
	struct tpconfig cfg;
	char err[ERRLEN] = "", path[400];

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", t->dir);
	assert_int_equal(tpconfig_load(&cfg, path, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_int_equal(cfg.count, 0);
	assert_null(tpconfig_get(&cfg, "a"));
	tpconfig_free(&cfg);
}

static void test_load_directory(void **state)
{
	struct tmp *t = *state;
	struct tpconfig cfg;
	char err[ERRLEN] = "";

	/* reading a directory fails (EISDIR at fopen or read) */
	assert_true(tpconfig_load(&cfg, t->dir, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, t->dir));
	tpconfig_free(&cfg);
}

/* Larger than the loader's first buffer: the read loop grows it. */
static void test_load_large(void **state)
{
	struct tmp *t = *state;
	const unsigned n = 20000;
	size_t cap = (size_t)n * 40, used = 0;
	char *text = malloc(cap);
	struct tpconfig cfg;
	char err[ERRLEN] = "";

	assert_non_null(text);
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, cap - used,
					 "key_%05u value number %u\n", i, i);
	write_file(t->file, text, used);
	free(text);
	assert_true(used > 3 * 65536);
	assert_int_equal(tpconfig_load(&cfg, t->file, err, sizeof(err)), 0);
	assert_int_equal(cfg.count, n);
	assert_string_equal(tpconfig_get(&cfg, "key_00000"), "value number 0");
	assert_string_equal(tpconfig_get(&cfg, "key_19999"),
			    "value number 19999");
	assert_int_equal(cfg.entries[n - 1].line, n);
	tpconfig_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_spaces_in_values),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_stray_cr),
		cmocka_unit_test(test_last_value_wins),
		cmocka_unit_test(test_no_value),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_err_truncated),
		cmocka_unit_test_setup_teardown(test_load, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_load_empty, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_load_error_names_file,
						setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_load_nul, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_load_missing, setup_tmp,
						teardown_tmp),
		cmocka_unit_test_setup_teardown(test_load_directory,
						setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_load_large, setup_tmp,
						teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target for lib/valexp.
 *
 * Input: "SUPPORTED\nEXPRESSION", or just an expression evaluated with
 * every letter in VALEXP_LETTERS supported.  The predicate values (and
 * whether 'O' fails with -ETIMEDOUT) come from a hash of the input, so a
 * run is deterministic.  Checked:
 *  - a refusal sets no expression, names an offset inside the text and
 *    gives a reason; an expression with A or a is always refused, and so
 *    is one with a letter outside SUPPORTED;
 *  - a compiled expression evaluates to what a plain stack evaluator
 *    gives (0 or 1), or to the predicate error; no predicate is asked
 *    twice or asked when it is not in the expression; a false result
 *    names a reason, a true one names none;
 *  - describe fits a large buffer and reports -ENOSPC for a small one.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "valexp.h"
#include "fuzz_require.h"

#define MAXIN 600

struct world {
	uint64_t bits;
	int fail_o;
	const char *text;
	unsigned asked[128];
};

static int value_of(const struct world *w, char c)
{
	return (int)((w->bits >> ((unsigned char)c % 64)) & 1);
}

static int pred(void *ctx, char letter, char *why, size_t whylen)
{
	struct world *w = ctx;
	int v;

	REQUIRE(letter > 0 && why != NULL && whylen > 0 && why[0] == '\0');
	REQUIRE(strchr(w->text, letter) != NULL);
	REQUIRE(w->asked[(unsigned char)letter]++ == 0);
	if (letter == 'O' && w->fail_o) {
		snprintf(why, whylen, "responder timed out");
		return -ETIMEDOUT;
	}
	v = value_of(w, letter);
	if ((w->bits >> 63) & 1)
		snprintf(why, whylen, "%c is %s%s", letter,
			 v ? "true" : "false",
			 "; a long reason to fill the buffer and more");
	return v;
}

/* Plain evaluation of a compiled (so well-formed) text. */
static int reference(const struct world *w, const char *text)
{
	int st[VALEXP_MAXLEN], n = 0, a, b, c;

	for (const char *p = text; *p != '\0'; p++) {
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
			st[n++] = value_of(w, *p);
		}
	}
	REQUIRE(n == 1);
	return st[0];
}

static uint64_t hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t k = 0; k < size; k++)
		h = (h ^ data[k]) * 0x100000001b3ULL;
	return h;
}

static void check_compiled(struct valexp *e, const char *text,
			   uint64_t bits)
{
	static char desc[32768];
	char failed[512], small[8];
	struct world w = { .bits = bits, .fail_o = (bits & 3) == 3,
			   .text = text };
	int r, r2, ref = reference(&w, text);
	size_t k = 0;

	for (const char *p = text; *p != '\0'; p++)
		if (*p != ' ')
			REQUIRE(valexp_text(e)[k++] == *p);
	REQUIRE(valexp_text(e)[k] == '\0');
	r = valexp_eval(e, pred, &w, failed, sizeof(failed));
	if (r == -ETIMEDOUT) {
		REQUIRE(w.fail_o && w.asked['O'] == 1);
		REQUIRE(strncmp(failed, "O: ", 3) == 0);
	} else {
		REQUIRE(r == ref);
		REQUIRE((r == 0) == (failed[0] != '\0'));
	}
	memset(w.asked, 0, sizeof(w.asked));
	r2 = valexp_eval(e, pred, &w, small, sizeof(small));
	REQUIRE(r2 == r && strlen(small) < sizeof(small));
	r = valexp_describe(e, desc, sizeof(desc));
	REQUIRE(r > 0 && (size_t)r == strlen(desc));
	if (r >= (int)sizeof(small))
		REQUIRE(valexp_describe(e, small, sizeof(small)) == -ENOSPC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[MAXIN + 1], why[160];
	const char *supported = VALEXP_LETTERS, *text = in;
	struct valexp *e = (struct valexp *)in;
	size_t errpos = 0;
	char *nl;
	int rc;

	if (size > MAXIN)
		size = MAXIN;
	memcpy(in, data, size);
	in[size] = '\0';
	nl = strchr(in, '\n');
	if (nl != NULL) {
		*nl = '\0';
		supported = in;
		text = nl + 1;
	}
	why[0] = '\0';
	rc = valexp_compile(text, supported, &e, why, sizeof(why), &errpos);
	if (rc < 0) {
		REQUIRE(rc == -EINVAL && e == NULL && why[0] != '\0');
		REQUIRE(errpos <= strlen(text));
		return 0;
	}
	REQUIRE(rc == 0 && e != NULL && why[0] == '\0');
	REQUIRE(strlen(text) <= VALEXP_MAXLEN);
	for (const char *p = text; *p != '\0'; p++) {
		REQUIRE(*p != 'A' && *p != 'a');
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			REQUIRE(strchr(supported, *p) != NULL &&
				valexp_predicate_name(*p) != NULL);
	}
	check_compiled(e, text, hash(data, size));
	valexp_free(e);
	return 0;
}

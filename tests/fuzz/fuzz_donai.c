/* libFuzzer target for lib/donai.
 *
 * The input is split at its first newline into an identity and a
 * selector (without a newline both are the whole input).  Checked:
 *  - a parsed identity is canonical (lower-case domain, limits kept) and
 *    survives donai_format + donai_parse unchanged;
 *  - its iteration yields (labels + 1) selectors, times 2 for a user,
 *    at levels 0, 1, 2, ..., each of which parses as a selector, is in
 *    canonical form, covers the identity and has that level;
 *  - a parsed selector formats to a canonical text that parses to the
 *    same selector, and covers the identity exactly when the iteration
 *    produces it;
 *  - every refusal says "offset N: ..." with N inside the text.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "donai.h"
#include "fuzz_require.h"

#define MAXIN 512

static void check_refusal(const char *text, const char *why)
{
	unsigned long off;
	char *end;

	REQUIRE(strncmp(why, "offset ", 7) == 0);
	off = strtoul(why + 7, &end, 10);
	REQUIRE(end[0] == ':');
	REQUIRE(off <= strlen(text));
}

static unsigned labels(const char *domain)
{
	unsigned n = 1;

	for (const char *p = domain; *p != '\0'; p++)
		n += *p == '.';
	return n;
}

static void check_identity(const struct donai *d)
{
	char buf[DONAI_BUFSIZE], why[128];
	struct donai again;
	int n;

	REQUIRE(strlen(d->user) <= DONAI_USER_MAX);
	REQUIRE(d->domain[0] != '\0');
	for (const char *p = d->domain; *p != '\0'; p++)
		REQUIRE(!(*p >= 'A' && *p <= 'Z'));
	n = donai_format(d, buf, sizeof(buf));
	REQUIRE(n > 0 && n <= DONAI_MAXLEN && (size_t)n == strlen(buf));
	REQUIRE(donai_parse(buf, &again, why, sizeof(why)) == 0);
	REQUIRE(memcmp(&again, d, sizeof(again)) == 0);
}

/* Iterate d; returns 1 when the iteration produces want (may be NULL). */
static int check_iteration(const struct donai *d, const char *want)
{
	struct donai_iter it;
	struct donai_selector s;
	char sel[DONAI_BUFSIZE], canon[DONAI_BUFSIZE], why[128];
	unsigned level, n = 0;
	int rc, found = 0;

	donai_iter_init(&it, d);
	while ((rc = donai_iter_next(&it, sel, sizeof(sel), &level)) == 1) {
		REQUIRE(level == n);
		REQUIRE(donai_selector_parse(sel, &s, why, sizeof(why)) == 0);
		REQUIRE(donai_selector_format(&s, canon, sizeof(canon)) >= 0);
		REQUIRE(strcmp(canon, sel) == 0);
		REQUIRE(donai_selector_covers(sel, d) == 1);
		REQUIRE(donai_selector_level(&s, d) == (int)level);
		if (want != NULL && strcmp(want, sel) == 0)
			found = 1;
		n++;
	}
	REQUIRE(rc == 0);
	REQUIRE(n == (labels(d->domain) + 1) * (d->user[0] ? 2 : 1));
	return found;
}

static void check_selector(const char *text, const struct donai *id)
{
	struct donai_selector s, again;
	char canon[DONAI_BUFSIZE], why[128];
	int rc, covers;

	rc = donai_selector_parse(text, &s, why, sizeof(why));
	if (rc < 0) {
		REQUIRE(rc == -EINVAL);
		check_refusal(text, why);
		if (id != NULL)
			REQUIRE(donai_selector_covers(text, id) == -EINVAL);
		return;
	}
	REQUIRE(why[0] == '\0');
	REQUIRE(donai_selector_format(&s, canon, sizeof(canon)) ==
		(int)strlen(text));
	REQUIRE(donai_selector_parse(canon, &again, why, sizeof(why)) == 0);
	REQUIRE(memcmp(&s, &again, sizeof(s)) == 0);
	if (id == NULL)
		return;
	covers = donai_selector_covers(text, id);
	REQUIRE(covers == 0 || covers == 1);
	REQUIRE(covers == check_iteration(id, canon));
	REQUIRE(covers == (donai_selector_level(&s, id) >= 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[MAXIN + 1], why[128];
	const char *idtext = text, *seltext = text;
	struct donai d;
	char *nl;
	int rc;

	if (size > MAXIN)
		size = MAXIN;
	memcpy(text, data, size);
	text[size] = '\0';
	nl = strchr(text, '\n');
	if (nl != NULL) {
		*nl = '\0';
		seltext = nl + 1;
	}
	rc = donai_parse(idtext, &d, why, sizeof(why));
	if (rc < 0) {
		REQUIRE(rc == -EINVAL);
		check_refusal(idtext, why);
		check_selector(seltext, NULL);
		return 0;
	}
	REQUIRE(why[0] == '\0');
	check_identity(&d);
	check_iteration(&d, NULL);
	/* the identity itself is its most concrete selector */
	REQUIRE(donai_selector_covers(idtext, &d) == 1);
	check_selector(seltext, &d);
	return 0;
}

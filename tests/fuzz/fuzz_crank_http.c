/* libFuzzer target for crank serve's parsers: the HTTP request parser
 * and query decoder (crank_http), the JSON decoder and encoder
 * (crank_json), and rules as text (crank_rules).  The first byte picks
 * one; the rest is the input.  Checked:
 *  - a parsed request points inside the buffer: method, a path starting
 *    with '/', a query, the header values; head_len <= len; a refusal
 *    comes with one of the documented statuses;
 *  - a decoded query value holds no control character;
 *  - JSON that decodes, encoded again and decoded, gives the same
 *    members and values; no value holds a NUL;
 *  - the rules of a source are in order, do not overlap and lie inside
 *    the text; removing one leaves a source whose rules are the others.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crank_http.h"
#include "crank_json.h"
#include "crank_rules.h"

#define REQUIRE(cond)                                                     \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",  \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

static void inside(const char *buf, size_t len, struct crank_http_str s)
{
	if (s.p == NULL)
		return;
	REQUIRE(s.p >= buf && s.p + s.len <= buf + len);
}

static void fuzz_http(const char *buf, size_t len)
{
	struct crank_http_req r;
	const char *why;
	char out[256];
	int st, rc = crank_http_parse(buf, len, &r, &st, &why);

	if (rc == -EAGAIN) {
		REQUIRE(len < CRANK_HTTP_MAXHEAD);
		return;
	}
	if (rc < 0) {
		REQUIRE(rc == -EINVAL);
		REQUIRE(st == 400 || st == 413 || st == 414 || st == 431 ||
			st == 501 || st == 505);
		REQUIRE(why != NULL && why[0] != '\0');
		return;
	}
	REQUIRE(rc == 0);
	REQUIRE(r.head_len <= len && r.head_len <= CRANK_HTTP_MAXHEAD);
	REQUIRE(r.content_length <= CRANK_HTTP_MAXBODY);
	REQUIRE(r.method.len > 0 && r.path.len > 0 && r.path.p[0] == '/');
	REQUIRE(r.minor == 0 || r.minor == 1);
	REQUIRE(r.minor == 0 || r.host.p != NULL);
	inside(buf, len, r.method);
	inside(buf, len, r.path);
	inside(buf, len, r.query);
	inside(buf, len, r.host);
	inside(buf, len, r.auth);
	inside(buf, len, r.ctype);
	inside(buf, len, r.origin);
	for (size_t i = 0; i < r.path.len; i++)
		REQUIRE(r.path.p[i] != '?' && r.path.p[i] != '#' &&
			(unsigned char)r.path.p[i] > 0x20);
	if (crank_http_query(r.query, "id", out, sizeof(out)) == 0) {
		REQUIRE(strlen(out) < sizeof(out));
		for (const char *c = out; *c; c++)
			REQUIRE((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
}

static void fuzz_json(const char *buf, size_t len)
{
	struct crank_json_obj o, o2;
	struct crank_jbuf b = { 0 };
	char err[128];

	if (crank_json_parse(buf, len, &o, err, sizeof(err)) < 0)
		return;
	REQUIRE(o.n <= CRANK_JSON_MAXMEMBERS);
	crank_jb_open(&b, '{');
	for (size_t i = 0; i < o.n; i++) {
		REQUIRE(strlen(o.m[i].value) == o.m[i].vlen);
		crank_jb_kstr(&b, o.m[i].name, o.m[i].value);
	}
	crank_jb_close(&b, '}');
	REQUIRE(b.err == 0);
	REQUIRE(crank_json_parse(b.p, b.len, &o2, err, sizeof(err)) == 0);
	REQUIRE(o2.n == o.n);
	for (size_t i = 0; i < o.n; i++) {
		REQUIRE(strcmp(o.m[i].name, o2.m[i].name) == 0);
		REQUIRE(o.m[i].vlen == o2.m[i].vlen);
		REQUIRE(memcmp(o.m[i].value, o2.m[i].value, o.m[i].vlen) == 0);
	}
	crank_json_free(&o2);
	crank_json_free(&o);
	crank_jb_free(&b);
}

static void fuzz_rules(const char *buf, size_t len)
{
	struct crank_rules rs, rest;
	char *out = NULL, err[256];
	size_t olen;

	if (crank_rules_list("f", buf, len, &rs, NULL, NULL) < 0)
		return;
	for (size_t i = 0; i < rs.n; i++) {
		REQUIRE(rs.r[i].start < rs.r[i].end && rs.r[i].end <= len);
		REQUIRE(i == 0 || rs.r[i - 1].end <= rs.r[i].start);
		REQUIRE(i == 0 || rs.r[i - 1].line < rs.r[i].line);
	}
	if (rs.n > 0 && crank_rules_find(&rs, rs.r[0].id) == 0) {
		int rc = crank_rules_edit("f", buf, len, rs.r[0].id, NULL, &out,
					  &olen, err, sizeof(err), NULL, NULL);

		REQUIRE(rc == 0);
		REQUIRE(olen == len - (rs.r[0].end - rs.r[0].start));
		if (crank_rules_list("f", out, olen, &rest, NULL, NULL) == 0) {
			REQUIRE(rest.n == rs.n - 1);
			for (size_t i = 0; i < rest.n; i++)
				REQUIRE(strcmp(rest.r[i].id, rs.r[i + 1].id) == 0);
			crank_rules_free(&rest);
		}
		free(out);
	}
	crank_rules_free(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size < 1 || size > 65536)
		return 0;
	/* a copy of exactly the input, so that reading past it is caught */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		fuzz_http(copy, size - 1);
		break;
	case 1:
		fuzz_json(copy, size - 1);
		break;
	default:
		fuzz_rules(copy, size - 1);
		break;
	}
	free(copy);
	return 0;
}

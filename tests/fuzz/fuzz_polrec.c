/* libFuzzer target for the policy record decoders (lib/polrec).
 *
 * Each input goes, in an exactly sized heap copy, through every record
 * decoder and every key parser.  What a decoder accepts must re-encode
 * to exactly the input (the format is canonical) and decode again to
 * the same; what it refuses must come with -EBADMSG and a reason.
 * Seeds (tests/fuzz/corpus/polrec) are the encodings of the unit tests:
 * TP_POLREC_SEEDS=DIR ./test_polrec writes them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polrec.h"
#include "fuzz_require.h"

#define WHYLEN 200

static void refused(int rc, const char *why)
{
	REQUIRE(rc == -EBADMSG || rc == -ENOMEM);
	REQUIRE(memchr(why, '\0', WHYLEN) != NULL);
	if (rc == -EBADMSG)
		REQUIRE(why[0] != '\0');
}

static void same(int rc, uint8_t *out, size_t outlen, const uint8_t *in,
		 size_t len)
{
	REQUIRE(rc == 0);
	REQUIRE(outlen == len);
	REQUIRE(memcmp(out, in, len) == 0);
	free(out);
}

static void one_localid(const uint8_t *d, size_t n)
{
	struct polrec_localid r;
	char why[WHYLEN];
	uint8_t *out;
	size_t ol;
	int rc = polrec_localid_decode(d, n, &r, why, sizeof(why));

	if (rc < 0)
		return refused(rc, why);
	REQUIRE(r.ncerts <= POLREC_CHAIN_MAX && r.nuids <= POLREC_UIDS_MAX);
	for (size_t i = 0; i < r.ncerts; i++)
		REQUIRE(r.certs[i].len >= 2 && r.certs[i].data[0] == 0x30);
	rc = polrec_localid_encode(&r, &out, &ol, why, sizeof(why));
	polrec_localid_free(&r);
	same(rc, out, ol, d, n);
}

static void one_disclose(const uint8_t *d, size_t n)
{
	struct polrec_disclose r;
	char why[WHYLEN];
	uint8_t *out;
	size_t ol;
	int rc = polrec_disclose_decode(d, n, &r, why, sizeof(why));

	if (rc < 0)
		return refused(rc, why);
	for (size_t i = 0; i < r.nids; i++)
		REQUIRE(polrec_name_ok(r.ids[i], strlen(r.ids[i])));
	rc = polrec_disclose_encode(&r, &out, &ol, why, sizeof(why));
	polrec_disclose_free(&r);
	same(rc, out, ol, d, n);
}

static void one_trust(const uint8_t *d, size_t n)
{
	struct polrec_trust r;
	char why[WHYLEN];
	uint8_t *out;
	size_t ol;
	int rc = polrec_trust_decode(d, n, &r, why, sizeof(why));

	if (rc < 0)
		return refused(rc, why);
	REQUIRE(r.bound_id == NULL || r.kind == POLREC_TRUST_PIN);
	rc = polrec_trust_encode(&r, &out, &ol, why, sizeof(why));
	polrec_trust_free(&r);
	same(rc, out, ol, d, n);
}

static void one_policy(const uint8_t *d, size_t n)
{
	struct polrec_policy r;
	char why[WHYLEN];
	uint8_t *out;
	size_t ol;
	int rc = polrec_policy_decode(d, n, &r, why, sizeof(why));

	if (rc < 0)
		return refused(rc, why);
	REQUIRE(strcmp(polrec_version_name(r.min_version), "unknown") != 0);
	REQUIRE(strcmp(polrec_cauth_name(r.client_auth), "unknown") != 0);
	rc = polrec_policy_encode(&r, &out, &ol, why, sizeof(why));
	polrec_policy_free(&r);
	same(rc, out, ol, d, n);
}

static void one_serial(const uint8_t *d, size_t n)
{
	uint8_t b[POLREC_SERIAL_LEN];
	char why[WHYLEN];
	uint64_t s;
	int rc = polrec_serial_decode(d, n, &s, why, sizeof(why));

	if (rc < 0)
		return refused(rc, why);
	polrec_serial_encode(s, b);
	REQUIRE(n == sizeof(b) && memcmp(b, d, n) == 0);
}

/* Keys: what parses must rebuild to the same bytes. */
static void keys(const uint8_t *d, size_t n)
{
	char name[POLREC_KEY_MAX + 1], key[POLREC_KEY_MAX + 1];
	char why[WHYLEN];
	enum polrec_cred kind;
	unsigned role;
	size_t kl;

	if (polrec_localid_key_parse(d, n, name, sizeof(name), &kind, why,
				     sizeof(why)) == 0) {
		REQUIRE(polrec_localid_key(name, kind, key, sizeof(key),
					   &kl) == 0);
		REQUIRE(kl == n && memcmp(key, d, n) == 0);
	}
	if (polrec_policy_key_parse(d, n, name, sizeof(name), &role, why,
				    sizeof(why)) == 0) {
		REQUIRE(polrec_policy_key(name, role, key, sizeof(key),
					  &kl) == 0);
		REQUIRE(kl == n && memcmp(key, d, n) == 0);
	}
	if (polrec_disclose_key_parse(d, n, name, sizeof(name), why,
				      sizeof(why)) == 0)
		REQUIRE(strlen(name) == n && memcmp(name, d, n) == 0);
	if (polrec_trust_key_check(d, n, NULL, why, sizeof(why)) == 0)
		REQUIRE(memchr(d, '\0', n) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *exact = malloc(size > 0 ? size : 1);

	REQUIRE(exact != NULL);
	if (size > 0)
		memcpy(exact, data, size);
	one_localid(exact, size);
	one_disclose(exact, size);
	one_trust(exact, size);
	one_policy(exact, size);
	one_serial(exact, size);
	keys(exact, size);
	free(exact);
	return 0;
}

/* libFuzzer target for the TLSA answer decoding of daemon/dane.c.
 *
 * The input is a DNS response in wire form, as libunbound hands it over.
 * Checked: dane_parse_answer returns 0, -EBADMSG or -E2BIG (or -ENOMEM);
 * on 0 it holds at most DANE_RECORDS_MAX records, each with 1 to
 * DANE_DATA_MAX bytes of data, dane_usable agrees with the parameters,
 * dane_describe fits its buffer and the bare-key matcher gives a verdict
 * with a reason; on an error the set is empty and the reason set.
 * Seeds (corpus/tlsa) are response packets written with ldns: TLSA
 * answers, a CNAME chain, an empty answer and malformed records.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dane.h"
#include "fuzz_require.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t spki[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07 };
	struct dane_rrset rs;
	char why[128] = "", d[64];
	int rc;

	rc = dane_parse_answer(data, size, &rs, why, sizeof(why));
	REQUIRE(rc == 0 || rc == -EBADMSG || rc == -E2BIG || rc == -ENOMEM);
	if (rc < 0) {
		REQUIRE(rs.n == 0);
		REQUIRE(why[0] != '\0');
		return 0;
	}
	REQUIRE(rs.n <= DANE_RECORDS_MAX);
	for (size_t i = 0; i < rs.n; i++) {
		const struct dane_tlsa *r = &rs.rec[i];
		int known = r->usage <= 3 && r->selector <= 1 &&
			    ((r->mtype == 0) || (r->mtype == 1 && r->len == 32) ||
			     (r->mtype == 2 && r->len == 64));

		REQUIRE(r->len >= 1 && r->len <= DANE_DATA_MAX);
		REQUIRE(r->data != NULL);
		REQUIRE(dane_usable(r) == known);
		dane_describe(r, d, sizeof(d));
		REQUIRE(strlen(d) < sizeof(d) - 1);
	}
	why[0] = '\0';
	rc = (int)dane_match_spki(&rs, spki, sizeof(spki), why, sizeof(why));
	REQUIRE(rc == DANE_MATCH || rc == DANE_NOMATCH || rc == DANE_UNUSABLE);
	REQUIRE(why[0] != '\0');
	dane_rrset_free(&rs);
	return 0;
}

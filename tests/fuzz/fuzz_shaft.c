/* libFuzzer target for shaft's parsers: its configuration (shaft/sconf)
 * and the canonical entry form it takes keys, RDNs and records from
 * (shaft/smerge, shaft/srec).
 *
 * The first byte selects: even: the input (after it) is a config file;
 * checked: success leaves at least one source, the output base, the key
 * and state paths set and the precedences distinct; a refusal is -EINVAL
 * or -ENOMEM with a message that names the file.  Odd: the input is a
 * canonical form; checked: a key is never empty and starts with its
 * class, the RDN of an entry with a key is built too and names the key
 * attributes, every attribute walked lies inside the input, and the
 * record check never crashes; a one-entry merge returns that entry.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sconf.h"
#include "smerge.h"
#include "srec.h"

#define REQUIRE(cond)                                                     \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",  \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

static void one_config(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512];
	struct sconf c;
	size_t i, j;
	int rc;

	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = 0;
	err[0] = 0;
	rc = sconf_parse(&c, "fuzz.conf", text, err, sizeof(err));
	if (rc == 0) {
		REQUIRE(c.nsrc >= 1 && c.nsrc <= SCONF_SOURCES_MAX);
		REQUIRE(c.output_base && c.sign_key && c.state_dir);
		REQUIRE(c.sign_key[0] == '/' && c.state_dir[0] == '/');
		for (i = 0; i < c.nsrc; i++) {
			REQUIRE(c.src[i].prec >= 1 && c.src[i].base != NULL);
			for (j = 0; j < i; j++)
				REQUIRE(c.src[i].prec != c.src[j].prec);
		}
		sconf_free(&c);
	} else {
		REQUIRE(rc == -EINVAL || rc == -ENOMEM);
		if (rc == -EINVAL)
			REQUIRE(strncmp(err, "fuzz.conf", 9) == 0);
	}
	free(text);
}

static void one_canon(const uint8_t *data, size_t size)
{
	struct smerge_attr a;
	struct smerge_key k;
	struct smerge_in in;
	const struct smerge_in **w = NULL;
	char why[256], rdn[SMERGE_RDN_MAX];
	size_t pos = 0, i, nw = 0, vl;
	const uint8_t *v;
	int rc;

	while ((rc = smerge_next_attr(data, size, &pos, &a)) == 1) {
		REQUIRE(pos <= size && a.end == data + pos);
		for (i = 0; i < a.nvals; i++) {
			REQUIRE(smerge_attr_val(&a, i, &v, &vl) == 0);
			REQUIRE(v >= data && v + vl <= data + size);
		}
	}
	REQUIRE(rc == 0 || rc == -EBADMSG);
	rc = smerge_key(data, size, &k, why, sizeof(why));
	if (rc != 0) {
		REQUIRE(rc == -EBADMSG || rc == -ENOMEM);
		return;
	}
	REQUIRE(k.keylen >= 2 && k.key[0] >= '1' && k.key[0] <= '4');
	REQUIRE(smerge_rdn(data, size, rdn) == 0);
	REQUIRE(strncmp(rdn, "tlsPool", 7) == 0 && strlen(rdn) < sizeof(rdn));
	rc = srec_check(data, size, &k, why, sizeof(why));
	REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
	memset(&in, 0, sizeof(in));
	in.prec = 1;
	in.canon = data;
	in.canonlen = size;
	in.k = k;
	if (smerge_run(&in, 1, &w, &nw) == 0) {
		REQUIRE(nw == 1 && w[0] == &in);
		free(w);
	}
	smerge_key_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 8192)
		return 0;
	if ((data[0] & 1) == 0)
		one_config(data + 1, size - 1);
	else
		one_canon(data + 1, size - 1);
	return 0;
}

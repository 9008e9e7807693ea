/* libFuzzer target for pulley's configuration parser (pulley/pconf) and
 * the DER value coding of pulleyback values (pulley/pder).
 *
 * The first byte selects: even: the input (after it) is a config file;
 * checked: success leaves uri, base and dbenv set and the TLS mode
 * consistent with the URI scheme; a refusal is -EINVAL or -ENOMEM with a
 * message that names the file.  Odd: the input is a DER value; checked:
 * an accepted OCTET STRING re-encodes to exactly the bytes it used.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pconf.h"
#include "pder.h"
#include "fuzz_require.h"

static void one_config(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512];
	struct pconf c;
	int rc;

	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = 0;
	err[0] = 0;
	rc = pconf_parse(&c, "fuzz.conf", text, err, sizeof(err));
	if (rc == 0) {
		REQUIRE(c.ldap_uri != NULL && c.ldap_base != NULL &&
			c.dbenv_dir != NULL && c.name != NULL);
		if (strncasecmp(c.ldap_uri, "ldaps://", 8) == 0)
			REQUIRE(c.tls == PCONF_TLS_LDAPS);
		else
			REQUIRE(c.tls != PCONF_TLS_LDAPS);
		if (strncasecmp(c.ldap_uri, "ldapi://", 8) == 0)
			REQUIRE(c.tls == PCONF_TLS_NONE);
		REQUIRE(c.retry_min <= c.retry_max);
		pconf_free(&c);
	} else {
		REQUIRE(rc == -EINVAL || rc == -ENOMEM);
		if (rc == -EINVAL)
			REQUIRE(strncmp(err, "fuzz.conf", 9) == 0);
	}
	free(text);
}

static void one_der(const uint8_t *data, size_t size)
{
	const uint8_t *v;
	size_t len, used, dl;
	uint8_t *again;

	if (pder_unwrap(data, size, &v, &len, &used) != 0)
		return;
	REQUIRE(used <= size && v >= data && v + len == data + used);
	REQUIRE(pder_wrap(v, len, &again, &dl) == 0);
	REQUIRE(dl == used && memcmp(again, data, used) == 0);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 8192)
		return 0;
	if ((data[0] & 1) == 0)
		one_config(data + 1, size - 1);
	else
		one_der(data + 1, size - 1);
	return 0;
}

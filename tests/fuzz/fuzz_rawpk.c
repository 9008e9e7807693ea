/* libFuzzer target for the raw public key parsers: daemon/rawpk.c
 * (SPKI from DER or PEM, pins, TLSA records) and tools/ctl_rawpk.c's
 * argument parser (tlspool-ctl rawpk).
 *
 * Input: one mode byte, then the data.  Mode 0: DER SPKI; mode 1: PEM
 * text; mode 2: NUL-separated arguments for ctl_rawpk_parse.  Checked:
 *  - an accepted key comes back as DER that imports again to the same
 *    bytes (the form pins are made of), pins as 64 lower-case hex digits
 *    and gives "3 1 1 " plus the pin; a PEM that is accepted is one that
 *    rawpk_pem_is_pubkey calls a public key; a refusal leaves no output;
 *  - the argument parser either refuses with a reason or returns a
 *    command that holds together: an identity except for "pin --file",
 *    exactly one of --key and --pkcs11 for generate and import.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "ctl_rawpk.h"
#include "rawpk.h"
#include "fuzz_require.h"

#define MAXIN 4096

static void check_key(const uint8_t *data, size_t len, gnutls_x509_crt_fmt_t fmt)
{
	gnutls_datum_t in = { (unsigned char *)data, (unsigned)len };
	gnutls_datum_t out = { NULL, 0 }, again = { NULL, 0 };
	char hex[RAWPK_HEX_LEN + 1], tlsa[RAWPK_HEX_LEN + 8];
	int rc = rawpk_spki_import(&in, fmt, &out);

	if (rc < 0) {
		REQUIRE(rc == -EBADMSG || rc == -ENOMEM);
		REQUIRE(out.data == NULL && out.size == 0);
		return;
	}
	if (fmt == GNUTLS_X509_FMT_PEM)
		REQUIRE(rawpk_pem_is_pubkey(&in) == 1);
	REQUIRE(rawpk_spki_import(&out, GNUTLS_X509_FMT_DER, &again) == 0);
	REQUIRE(again.size == out.size &&
		memcmp(again.data, out.data, out.size) == 0);
	REQUIRE(rawpk_pin_hex(&out, hex) == 0);
	REQUIRE(strlen(hex) == RAWPK_HEX_LEN);
	for (size_t i = 0; i < RAWPK_HEX_LEN; i++)
		REQUIRE((hex[i] >= '0' && hex[i] <= '9') ||
			(hex[i] >= 'a' && hex[i] <= 'f'));
	REQUIRE(rawpk_tlsa_311(&out, tlsa, sizeof(tlsa)) == 0);
	REQUIRE(strncmp(tlsa, "3 1 1 ", 6) == 0 &&
		strcmp(tlsa + 6, hex) == 0);
	gnutls_free(again.data);
	gnutls_free(out.data);
}

static void check_args(const uint8_t *data, size_t len)
{
	char buf[MAXIN + 1], *argv[64], err[256];
	struct ctl_rawpk_cmd c;
	int argc = 0, rc;

	memcpy(buf, data, len);
	buf[len] = '\0';
	for (char *p = buf; argc < 64 && p <= buf + len;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	err[0] = '\0';
	rc = ctl_rawpk_parse(argc, argv, &c, err, sizeof(err));
	if (rc < 0) {
		REQUIRE(rc == -EINVAL);
		REQUIRE(err[0] != '\0');
		return;
	}
	REQUIRE(rc == 0);
	if (c.op == CTL_RAWPK_PIN) {
		REQUIRE((c.id[0] != '\0') != (c.file != NULL));
		REQUIRE(c.keyfile == NULL && c.pkcs11 == NULL);
		return;
	}
	REQUIRE(c.id[0] != '\0');
	REQUIRE((c.keyfile != NULL) != (c.pkcs11 != NULL));
	REQUIRE(c.pkcs11 == NULL || strncmp(c.pkcs11, "pkcs11:", 7) == 0);
	REQUIRE(c.nuids <= POLREC_UIDS_MAX);
	for (size_t i = 1; i < c.nuids; i++)
		REQUIRE(c.uids[i - 1] < c.uids[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAXIN + 1)
		return 0;
	switch (data[0] % 3) {
	case 0: check_key(data + 1, size - 1, GNUTLS_X509_FMT_DER); break;
	case 1: check_key(data + 1, size - 1, GNUTLS_X509_FMT_PEM); break;
	default: check_args(data + 1, size - 1); break;
	}
	return 0;
}

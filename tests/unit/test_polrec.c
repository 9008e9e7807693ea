/* Unit tests for lib/polrec: round trips of every record type, strict
 * refusal of every truncation, trailing byte, bad version, wrong type,
 * non-canonical and semantically invalid form; keys and names.
 *
 * With TP_POLREC_SEEDS=DIR set, the encodings used here are also written
 * to DIR as fuzz seeds (that is how tests/fuzz/corpus/polrec was made). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "polrec.h"

#define WHY 256

/* A DER SEQUENCE with n content bytes (fake certificate). */
static struct polrec_blob der(size_t n, uint8_t fill)
{
	struct polrec_blob b;
	size_t hdr = n < 0x80 ? 2 : n < 0x100 ? 3 : 4;

	b.len = hdr + n;
	b.data = malloc(b.len);
	assert_non_null(b.data);
	b.data[0] = 0x30;
	if (hdr == 2) {
		b.data[1] = (uint8_t)n;
	} else if (hdr == 3) {
		b.data[1] = 0x81;
		b.data[2] = (uint8_t)n;
	} else {
		b.data[1] = 0x82;
		b.data[2] = (uint8_t)(n >> 8);
		b.data[3] = (uint8_t)n;
	}
	memset(b.data + hdr, fill, n);
	return b;
}

static void seed(const char *name, const uint8_t *buf, size_t len)
{
	const char *dir = getenv("TP_POLREC_SEEDS");
	char path[512];
	FILE *f;

	if (dir == NULL || dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ---- a decoder behind one signature, for the generic checks ---- */

enum rtype { R_LOCALID, R_DISCLOSE, R_TRUST, R_POLICY, R_SERIAL };

/* Decode; on success re-encode and require the same bytes. */
static int decode_any(enum rtype t, const uint8_t *buf, size_t len, char *why)
{
	union {
		struct polrec_localid l;
		struct polrec_disclose d;
		struct polrec_trust t;
		struct polrec_policy p;
	} r;
	uint8_t *out = NULL, ser[POLREC_SERIAL_LEN];
	size_t outlen = 0;
	uint64_t s;
	int rc;

	switch (t) {
	case R_LOCALID:
		rc = polrec_localid_decode(buf, len, &r.l, why, WHY);
		if (rc == 0) {
			assert_int_equal(polrec_localid_encode(&r.l, &out, &outlen,
							       why, WHY), 0);
			polrec_localid_free(&r.l);
		}
		break;
	case R_DISCLOSE:
		rc = polrec_disclose_decode(buf, len, &r.d, why, WHY);
		if (rc == 0) {
			assert_int_equal(polrec_disclose_encode(&r.d, &out, &outlen,
								why, WHY), 0);
			polrec_disclose_free(&r.d);
		}
		break;
	case R_TRUST:
		rc = polrec_trust_decode(buf, len, &r.t, why, WHY);
		if (rc == 0) {
			assert_int_equal(polrec_trust_encode(&r.t, &out, &outlen,
							     why, WHY), 0);
			polrec_trust_free(&r.t);
		}
		break;
	case R_POLICY:
		rc = polrec_policy_decode(buf, len, &r.p, why, WHY);
		if (rc == 0) {
			assert_int_equal(polrec_policy_encode(&r.p, &out, &outlen,
							      why, WHY), 0);
			polrec_policy_free(&r.p);
		}
		break;
	default:
		rc = polrec_serial_decode(buf, len, &s, why, WHY);
		if (rc == 0) {
			polrec_serial_encode(s, ser);
			out = malloc(sizeof(ser));
			assert_non_null(out);
			memcpy(out, ser, sizeof(ser));
			outlen = sizeof(ser);
		}
		break;
	}
	if (rc == 0) {
		assert_int_equal(outlen, len);
		assert_memory_equal(out, buf, len);
	} else {
		assert_int_equal(rc, -EBADMSG);
		assert_true(why[0] != '\0');
	}
	free(out);
	return rc;
}

/* Every malformed variant of a valid encoding is refused or, when it
 * decodes, is canonical (decode_any checks that). */
static void malformed_forms(enum rtype t, const uint8_t *buf, size_t len)
{
	char why[WHY];
	uint8_t *m = malloc(len + 1);

	assert_non_null(m);
	assert_int_equal(decode_any(t, buf, len, why), 0);
	for (size_t cut = 0; cut < len; cut++) {
		/* exactly sized copy, so ASan sees any over-read */
		uint8_t *p = malloc(cut ? cut : 1);

		memcpy(p, buf, cut);
		assert_int_equal(decode_any(t, p, cut, why), -EBADMSG);
		free(p);
	}
	memcpy(m, buf, len);
	m[len] = 0;
	assert_int_equal(decode_any(t, m, len + 1, why), -EBADMSG);
	assert_non_null(strstr(why, "trailing"));
	m[0] = 0;
	assert_int_equal(decode_any(t, m, len, why), -EBADMSG);
	assert_non_null(strstr(why, "version 0"));
	m[0] = POLREC_VERSION + 1;
	assert_int_equal(decode_any(t, m, len, why), -EBADMSG);
	assert_non_null(strstr(why, "newer"));
	m[0] = POLREC_VERSION;
	m[1] ^= 0x20;
	assert_int_equal(decode_any(t, m, len, why), -EBADMSG);
	assert_non_null(strstr(why, "type byte"));
	for (size_t i = 2; i < len; i++) {
		static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };

		for (size_t j = 0; j < sizeof(vals); j++) {
			memcpy(m, buf, len);
			m[i] = vals[j];
			(void)decode_any(t, m, len, why);
			m[i] = (uint8_t)(buf[i] + 1);
			(void)decode_any(t, m, len, why);
		}
	}
	free(m);
	for (int other = R_LOCALID; other <= R_SERIAL; other++)
		if (other != (int)t)
			assert_int_equal(decode_any((enum rtype)other, buf, len,
						    why), -EBADMSG);
}

/* ---- localid ---- */

static void fill_localid(struct polrec_localid *r, struct polrec_blob *c,
			 uint32_t *uids)
{
	memset(r, 0, sizeof(*r));
	c[0] = der(40, 0xa1);
	c[1] = der(300, 0xb2);
	uids[0] = 0;
	uids[1] = 1000;
	uids[2] = 4294967295u;
	r->kind = POLREC_CRED_X509;
	r->roles = POLREC_ROLE_BOTH;
	r->flags = POLREC_LIDF_DISABLED;
	r->keyref_type = POLREC_KEYREF_FILE;
	r->keyref = "/etc/tlspool/keys/host key.pem";
	r->certs = c;
	r->ncerts = 2;
	r->uids = uids;
	r->nuids = 3;
}

static void test_localid_roundtrip(void **state)
{
	struct polrec_localid r, d;
	struct polrec_blob c[2];
	uint32_t uids[3];
	uint8_t *buf;
	size_t len;
	char why[WHY];

	(void)state;
	fill_localid(&r, c, uids);
	assert_int_equal(polrec_localid_encode(&r, &buf, &len, why, WHY), 0);
	seed("localid_x509", buf, len);
	assert_int_equal(polrec_localid_decode(buf, len, &d, why, WHY), 0);
	assert_string_equal(why, "");
	assert_int_equal(d.kind, POLREC_CRED_X509);
	assert_int_equal(d.roles, POLREC_ROLE_BOTH);
	assert_int_equal(d.flags, POLREC_LIDF_DISABLED);
	assert_int_equal(d.keyref_type, POLREC_KEYREF_FILE);
	assert_string_equal(d.keyref, r.keyref);
	assert_int_equal(d.ncerts, 2);
	assert_int_equal(d.certs[1].len, c[1].len);
	assert_memory_equal(d.certs[1].data, c[1].data, c[1].len);
	assert_int_equal(d.nuids, 3);
	assert_int_equal(d.uids[2], 4294967295u);
	polrec_localid_free(&d);
	malformed_forms(R_LOCALID, buf, len);
	free(buf);

	/* PKCS#11, one certificate, any uid */
	r.keyref_type = POLREC_KEYREF_PKCS11;
	r.keyref = "pkcs11:token=t;object=k";
	r.ncerts = 1;
	r.nuids = 0;
	r.flags = 0;
	r.roles = POLREC_ROLE_SERVER;
	assert_int_equal(polrec_localid_encode(&r, &buf, &len, why, WHY), 0);
	seed("localid_pkcs11", buf, len);
	malformed_forms(R_LOCALID, buf, len);
	free(buf);

	/* krb5: no certificates, no key reference */
	r.kind = POLREC_CRED_KRB5;
	r.keyref_type = POLREC_KEYREF_NONE;
	r.keyref = NULL;
	r.ncerts = 0;
	assert_int_equal(polrec_localid_encode(&r, &buf, &len, why, WHY), 0);
	seed("localid_krb5", buf, len);
	malformed_forms(R_LOCALID, buf, len);
	free(buf);
	free(c[0].data);
	free(c[1].data);
}

static void expect_localid_einval(const struct polrec_localid *r,
				  const char *part)
{
	uint8_t *buf = NULL;
	size_t len;
	char why[WHY];

	assert_int_equal(polrec_localid_encode(r, &buf, &len, why, WHY),
			 -EINVAL);
	assert_non_null(strstr(why, part));
	assert_null(buf);
}

static void test_localid_invalid(void **state)
{
	struct polrec_localid r;
	struct polrec_blob c[2], saved;
	uint32_t uids[3];
	uint8_t bad[4] = { 0x30, 0x05, 0, 0 };

	(void)state;
	fill_localid(&r, c, uids);
	r.kind = 4;
	expect_localid_einval(&r, "kind");
	r.kind = POLREC_CRED_X509;
	r.roles = 0;
	expect_localid_einval(&r, "roles");
	r.roles = 4;
	expect_localid_einval(&r, "roles");
	r.roles = 1;
	r.flags = 0x80;
	expect_localid_einval(&r, "flags");
	r.flags = 0;
	r.keyref = "relative.pem";
	expect_localid_einval(&r, "absolute");
	r.keyref = "/a\nb";
	expect_localid_einval(&r, "text");
	r.keyref_type = POLREC_KEYREF_PKCS11;
	r.keyref = "/x.pem";
	expect_localid_einval(&r, "pkcs11:");
	r.keyref_type = POLREC_KEYREF_NONE;
	r.keyref = NULL;
	expect_localid_einval(&r, "required");
	r.keyref_type = POLREC_KEYREF_FILE;
	r.keyref = "/k.pem";
	r.ncerts = 0;
	expect_localid_einval(&r, "x509 needs");
	r.ncerts = 2;
	uids[1] = 0;
	expect_localid_einval(&r, "ascending");
	uids[1] = 1000;
	r.certs[1].len--;
	expect_localid_einval(&r, "certificate 2");
	r.certs[1].len++;
	saved = c[0];
	c[0].data = bad;
	c[0].len = sizeof(bad);
	expect_localid_einval(&r, "certificate 1");
	c[0] = saved;
	r.kind = POLREC_CRED_KRB5;
	expect_localid_einval(&r, "krb5");
	r.kind = POLREC_CRED_RAWPK;
	expect_localid_einval(&r, "rawpk");
	free(c[0].data);
	free(c[1].data);
}

/* Hand-made encodings that only a decoder sees. */
static void test_localid_decode_refusals(void **state)
{
	/* non-minimal DER length inside a certificate */
	static const uint8_t nonmin[] = {
		1, 'L', 1, 1, 0, 0, 0, 0, 2, 0, 2, '/', 'k', 1,
		0, 0, 0, 4, 0x30, 0x81, 0x01, 0x00, 0, 0
	};
	/* certificate length far past the end */
	static const uint8_t huge[] = {
		1, 'L', 1, 1, 0, 0, 0, 0, 2, 0, 2, '/', 'k', 1,
		0x7f, 0xff, 0xff, 0xff, 0x30, 0x00, 0, 0
	};
	/* uid count larger than what follows */
	static const uint8_t uids[] = {
		1, 'L', 1, 1, 0, 0, 0, 0, 2, 0, 2, '/', 'k', 1,
		0, 0, 0, 2, 0x30, 0x00, 0xff, 0xff, 0, 0, 0, 1
	};
	/* NUL inside the key reference */
	static const uint8_t nul[] = {
		1, 'L', 1, 1, 0, 0, 0, 0, 2, 0, 2, '/', 0, 1,
		0, 0, 0, 2, 0x30, 0x00, 0, 0
	};
	char why[WHY];

	(void)state;
	assert_int_equal(decode_any(R_LOCALID, nonmin, sizeof(nonmin), why),
			 -EBADMSG);
	assert_int_equal(decode_any(R_LOCALID, huge, sizeof(huge), why),
			 -EBADMSG);
	assert_non_null(strstr(why, "too long"));
	assert_int_equal(decode_any(R_LOCALID, uids, sizeof(uids), why),
			 -EBADMSG);
	assert_non_null(strstr(why, "uid"));
	assert_int_equal(decode_any(R_LOCALID, nul, sizeof(nul), why),
			 -EBADMSG);
	assert_non_null(strstr(why, "key reference"));
	assert_int_equal(decode_any(R_LOCALID, NULL, 0, why), -EBADMSG);
}

/* ---- disclose ---- */

static void test_disclose(void **state)
{
	char *ids[] = { "alice@example.com", "example.com", "bob@example.org" };
	struct polrec_disclose r = { ids, 3 }, d;
	uint8_t *buf;
	size_t len;
	char why[WHY];

	(void)state;
	assert_int_equal(polrec_disclose_encode(&r, &buf, &len, why, WHY), 0);
	seed("disclose", buf, len);
	assert_int_equal(polrec_disclose_decode(buf, len, &d, why, WHY), 0);
	assert_int_equal(d.nids, 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(d.ids[i], ids[i]);
	polrec_disclose_free(&d);
	malformed_forms(R_DISCLOSE, buf, len);
	free(buf);

	r.nids = 0;
	assert_int_equal(polrec_disclose_encode(&r, &buf, &len, why, WHY), 0);
	assert_int_equal(len, 4);
	malformed_forms(R_DISCLOSE, buf, len);
	free(buf);

	ids[2] = "alice@example.com";
	r.nids = 3;
	assert_int_equal(polrec_disclose_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	assert_non_null(strstr(why, "repeats"));
	ids[2] = "has space";
	assert_int_equal(polrec_disclose_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	ids[2] = "";
	assert_int_equal(polrec_disclose_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
}

/* ---- trust ---- */

static void test_trust(void **state)
{
	struct polrec_blob c = der(200, 0x11);
	struct polrec_trust r = { POLREC_TRUST_ANCHOR, POLREC_TRUSTF_SERVERS,
				  "TI&", NULL, c }, d;
	uint8_t *buf;
	size_t len;
	char why[WHY];

	(void)state;
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY), 0);
	seed("trust_anchor", buf, len);
	assert_int_equal(polrec_trust_decode(buf, len, &d, why, WHY), 0);
	assert_int_equal(d.kind, POLREC_TRUST_ANCHOR);
	assert_int_equal(d.flags, POLREC_TRUSTF_SERVERS);
	assert_string_equal(d.valexp, "TI&");
	assert_null(d.bound_id);
	assert_int_equal(d.der.len, c.len);
	polrec_trust_free(&d);
	malformed_forms(R_TRUST, buf, len);
	free(buf);

	/* pin bound to an identity, without a certificate */
	r = (struct polrec_trust){ POLREC_TRUST_PIN, POLREC_TRUSTF_MASK, NULL,
				   "peer@example.com", { NULL, 0 } };
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY), 0);
	seed("trust_pin", buf, len);
	malformed_forms(R_TRUST, buf, len);
	free(buf);

	/* CRL, no flags */
	r = (struct polrec_trust){ POLREC_TRUST_CRL, 0, NULL, NULL, c };
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY), 0);
	seed("trust_crl", buf, len);
	malformed_forms(R_TRUST, buf, len);
	free(buf);

	/* refusals */
	r.flags = POLREC_TRUSTF_CLIENTS;
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r = (struct polrec_trust){ POLREC_TRUST_ANCHOR, 0, NULL, NULL, c };
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r.flags = 4;
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r.flags = 1;
	r.bound_id = "x@y";
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	assert_non_null(strstr(why, "pin"));
	r.bound_id = NULL;
	r.der.len = 0;
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r.kind = 9;
	assert_int_equal(polrec_trust_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	free(c.data);
}

/* ---- policy and serial ---- */

static void test_policy(void **state)
{
	uint32_t uids[] = { 5, 1000 };
	struct polrec_policy r = {
		POLREC_TLS12, POLREC_TLS13, POLREC_CAUTH_REQUIRED,
		POLREC_KIND_BIT(POLREC_CRED_X509) |
			POLREC_KIND_BIT(POLREC_CRED_KRB5),
		"NORMAL:-VERS-ALL:+VERS-TLS1.3", "TI&F&", uids, 2
	}, d;
	uint8_t *buf;
	size_t len;
	char why[WHY];

	(void)state;
	assert_int_equal(polrec_policy_encode(&r, &buf, &len, why, WHY), 0);
	seed("policy", buf, len);
	assert_int_equal(polrec_policy_decode(buf, len, &d, why, WHY), 0);
	assert_int_equal(d.min_version, POLREC_TLS12);
	assert_int_equal(d.max_version, POLREC_TLS13);
	assert_int_equal(d.client_auth, POLREC_CAUTH_REQUIRED);
	assert_int_equal(d.kinds, 5);
	assert_string_equal(d.priority, r.priority);
	assert_string_equal(d.valexp, "TI&F&");
	assert_int_equal(d.nuids, 2);
	polrec_policy_free(&d);
	malformed_forms(R_POLICY, buf, len);
	free(buf);

	memset(&r, 0, sizeof(r));
	assert_int_equal(polrec_policy_encode(&r, &buf, &len, why, WHY), 0);
	seed("policy_empty", buf, len);
	malformed_forms(R_POLICY, buf, len);
	free(buf);

	r.min_version = POLREC_TLS13;
	r.max_version = POLREC_TLS12;
	assert_int_equal(polrec_policy_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r.max_version = 0x0305;
	assert_int_equal(polrec_policy_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r.max_version = 0;
	r.kinds = 8;
	assert_int_equal(polrec_policy_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r.kinds = 0;
	r.client_auth = 4;
	assert_int_equal(polrec_policy_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
	r.client_auth = 0;
	r.priority = "a\tb";
	assert_int_equal(polrec_policy_encode(&r, &buf, &len, why, WHY),
			 -EINVAL);
}

static void test_serial(void **state)
{
	uint8_t b[POLREC_SERIAL_LEN];
	uint64_t s;
	char why[WHY];

	(void)state;
	polrec_serial_encode(0x0102030405060708ull, b);
	seed("serial", b, sizeof(b));
	assert_int_equal(polrec_serial_decode(b, sizeof(b), &s, why, WHY), 0);
	assert_true(s == 0x0102030405060708ull);
	malformed_forms(R_SERIAL, b, sizeof(b));
}

/* ---- keys and names ---- */

static void test_keys(void **state)
{
	char key[POLREC_KEY_MAX + 1], name[POLREC_KEY_MAX + 1], why[WHY];
	static const char hex[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct polrec_trust pin = { POLREC_TRUST_PIN, 3, NULL, "p@x.org",
				    { NULL, 0 } };
	enum polrec_cred kind;
	unsigned role;
	size_t kl;

	(void)state;
	assert_int_equal(polrec_localid_key("a@b.c", POLREC_CRED_X509, key,
					    sizeof(key), &kl), 0);
	assert_int_equal(kl, 10);
	assert_memory_equal(key, "a@b.c\0x509", 10);
	assert_int_equal(polrec_localid_key_parse(key, kl, name, sizeof(name),
						  &kind, why, WHY), 0);
	assert_string_equal(name, "a@b.c");
	assert_int_equal(kind, POLREC_CRED_X509);
	assert_int_equal(polrec_localid_key_parse(key, 5, name, sizeof(name),
						  &kind, why, WHY), -EBADMSG);
	assert_int_equal(polrec_localid_key_parse("a\0x50", 5, name,
						  sizeof(name), &kind, why, WHY),
			 -EBADMSG);
	assert_int_equal(polrec_localid_key("a b", POLREC_CRED_X509, key,
					    sizeof(key), &kl), -EINVAL);
	assert_int_equal(polrec_localid_key("a", 0, key, sizeof(key), &kl),
			 -EINVAL);

	assert_int_equal(polrec_policy_key("@.", POLREC_ROLE_SERVER, key,
					   sizeof(key), &kl), 0);
	assert_memory_equal(key, "@.\0server", 9);
	assert_int_equal(polrec_policy_key_parse(key, kl, name, sizeof(name),
						 &role, why, WHY), 0);
	assert_int_equal(role, POLREC_ROLE_SERVER);
	assert_int_equal(polrec_policy_key("@.", POLREC_ROLE_BOTH, key,
					   sizeof(key), &kl), -EINVAL);
	assert_int_equal(polrec_policy_key_parse("x\0both", 6, name,
						 sizeof(name), &role, why, WHY),
			 -EBADMSG);
	assert_int_equal(polrec_disclose_key_parse("a\0b", 3, name,
						   sizeof(name), why, WHY),
			 -EBADMSG);
	assert_int_equal(polrec_disclose_key_parse("@.example.com", 13, name,
						   sizeof(name), why, WHY), 0);

	assert_int_equal(polrec_trust_key(POLREC_TRUST_PIN, hex, "p@x.org", key,
					  sizeof(key), &kl), 0);
	assert_string_equal(key, "pin:p@x.org:0123456789abcdef0123456789abcdef"
				 "0123456789abcdef0123456789abcdef");
	assert_int_equal(polrec_trust_key_check(key, kl, &pin, why, WHY), 0);
	pin.bound_id = "q@x.org";
	assert_int_equal(polrec_trust_key_check(key, kl, &pin, why, WHY),
			 -EBADMSG);
	pin.kind = POLREC_TRUST_ANCHOR;
	assert_int_equal(polrec_trust_key_check(key, kl, &pin, why, WHY),
			 -EBADMSG);
	assert_int_equal(polrec_trust_key(POLREC_TRUST_PIN, hex, NULL, key,
					  sizeof(key), &kl), 0);
	assert_int_equal(strncmp(key, "pin::", 5), 0);
	assert_int_equal(polrec_trust_key_check(key, kl, NULL, why, WHY), 0);
	assert_int_equal(polrec_trust_key(POLREC_TRUST_ANCHOR, hex, "x", key,
					  sizeof(key), &kl), -EINVAL);
	assert_int_equal(polrec_trust_key(POLREC_TRUST_CRL, "ABCD", NULL, key,
					  sizeof(key), &kl), -EINVAL);
	assert_int_equal(polrec_trust_key(POLREC_TRUST_ANCHOR, hex, NULL, key,
					  sizeof(key), &kl), 0);
	assert_int_equal(polrec_trust_key_check(key, kl, NULL, why, WHY), 0);
	key[10] = 'A';
	assert_int_equal(polrec_trust_key_check(key, kl, NULL, why, WHY),
			 -EBADMSG);
	assert_int_equal(polrec_trust_key_check("anchor:x", 8, NULL, why, WHY),
			 -EBADMSG);
	assert_int_equal(polrec_trust_key_check("bogus", 5, NULL, why, WHY),
			 -EBADMSG);
}

static void test_names(void **state)
{
	char buf[64];
	unsigned k;

	(void)state;
	for (int i = POLREC_CRED_X509; i <= POLREC_CRED_KRB5; i++)
		assert_int_equal(polrec_cred_parse(polrec_cred_name(i)), i);
	assert_int_equal(polrec_cred_parse("pgp"), -EINVAL);
	for (unsigned r = 1; r <= 3; r++)
		assert_int_equal(polrec_role_parse(polrec_role_name(r)), (int)r);
	assert_int_equal(polrec_role_parse("none"), -EINVAL);
	for (int a = 0; a <= 3; a++)
		assert_int_equal(polrec_cauth_parse(polrec_cauth_name(a)), a);
	assert_int_equal(polrec_version_parse("TLS1.3"), POLREC_TLS13);
	assert_int_equal(polrec_version_parse("any"), 0);
	assert_int_equal(polrec_version_parse("TLS1.4"), -EINVAL);
	assert_string_equal(polrec_version_name(POLREC_TLS12), "TLS1.2");
	assert_string_equal(polrec_kinds_format(5, buf, sizeof(buf)),
			    "x509,krb5");
	assert_string_equal(polrec_kinds_format(0, buf, sizeof(buf)), "any");
	assert_int_equal(polrec_kinds_parse("krb5,x509", &k), 0);
	assert_int_equal(k, 5);
	assert_int_equal(polrec_kinds_parse("x509,", &k), -EINVAL);
	assert_int_equal(polrec_kinds_parse("x509,,krb5", &k), -EINVAL);
	assert_int_equal(polrec_kinds_parse("", &k), -EINVAL);
	assert_int_equal(polrec_kinds_parse("pgp", &k), -EINVAL);
	assert_true(polrec_name_ok("@.", 2));
	assert_false(polrec_name_ok("a\x7f", 2));
	assert_false(polrec_name_ok("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_localid_roundtrip),
		cmocka_unit_test(test_localid_invalid),
		cmocka_unit_test(test_localid_decode_refusals),
		cmocka_unit_test(test_disclose),
		cmocka_unit_test(test_trust),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

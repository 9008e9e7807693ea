/* Unit tests for tools/ctl_rawpk.c (tlspool-ctl rawpk): the parser with
 * its refusals, key generation into a new file (mode 0600, never over an
 * existing file), import of a key file, the localid record it builds,
 * and the pin and TLSA lines. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "ctl_rawpk.h"
#include "fixture.h"
#include "rawpk.h"

static int parse(struct ctl_rawpk_cmd *c, char *err, size_t len, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, len);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	err[0] = '\0';
	return ctl_rawpk_parse(argc, argv, c, err, len);
}

#define P(c, err, ...) parse(c, err, sizeof(err), __VA_ARGS__, (char *)NULL)

static void test_parse_ok(void **state)
{
	struct ctl_rawpk_cmd c;
	char err[256];

	(void)state;
	assert_int_equal(P(&c, err, "generate", "Srv.Example", "--key", "/k"), 0);
	assert_int_equal(c.op, CTL_RAWPK_GENERATE);
	assert_string_equal(c.id, "srv.example");	/* canonical */
	assert_string_equal(c.keyfile, "/k");
	assert_int_equal(c.algo, CTL_RAWPK_ED25519);
	assert_int_equal(c.roles, 0);
	assert_int_equal(P(&c, err, "generate", "a@b.example", "--pkcs11",
			   "pkcs11:token=t", "--label", "k1", "--algo", "rsa",
			   "--role", "client", "--uids", "0,7,1000"), 0);
	assert_string_equal(c.pkcs11, "pkcs11:token=t");
	assert_string_equal(c.label, "k1");
	assert_int_equal(c.algo, CTL_RAWPK_RSA);
	assert_int_equal(c.roles, POLREC_ROLE_CLIENT);
	assert_int_equal(c.nuids, 3);
	assert_int_equal(c.uids[2], 1000);
	assert_int_equal(P(&c, err, "import", "b.example", "--pkcs11",
			   "pkcs11:object=x;type=private"), 0);
	assert_int_equal(c.op, CTL_RAWPK_IMPORT);
	assert_int_equal(P(&c, err, "pin", "b.example"), 0);
	assert_int_equal(c.op, CTL_RAWPK_PIN);
	assert_null(c.file);
	assert_int_equal(P(&c, err, "pin", "--file", "x.pem"), 0);
	assert_string_equal(c.file, "x.pem");
	assert_string_equal(c.id, "");
}

static void expect_refused(const char *want, ...)
{
	struct ctl_rawpk_cmd c;
	char *argv[16], err[256];
	int argc = 0;
	va_list ap;

	va_start(ap, want);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	assert_int_equal(ctl_rawpk_parse(argc, argv, &c, err, sizeof(err)),
			 -EINVAL);
	if (strstr(err, want) == NULL)
		fail_msg("want \"%s\" in \"%s\"", want, err);
}

static void test_parse_refused(void **state)
{
	(void)state;
	expect_refused("generate, import or pin", (char *)NULL);
	expect_refused("unknown operation", "make", "a.example", (char *)NULL);
	expect_refused("which identity", "generate", "--key", "/k",
		       (char *)NULL);
	expect_refused("not an identity", "generate", "a@@b", "--key", "/k",
		       (char *)NULL);
	expect_refused("--key or --pkcs11", "generate", "a.example",
		       (char *)NULL);
	expect_refused("--key or --pkcs11", "import", "a.example", "--key",
		       "/k", "--pkcs11", "pkcs11:x", (char *)NULL);
	expect_refused("pkcs11: URI", "import", "a.example", "--pkcs11",
		       "file:/x", (char *)NULL);
	expect_refused("needs a value", "generate", "a.example", "--key",
		       (char *)NULL);
	expect_refused("unexpected argument", "generate", "a.example",
		       "--key", "/k", "extra", (char *)NULL);
	expect_refused("--algo is", "generate", "a.example", "--key", "/k",
		       "--algo", "dsa", (char *)NULL);
	expect_refused("not known here", "import", "a.example", "--key", "/k",
		       "--algo", "rsa", (char *)NULL);
	expect_refused("not known here", "import", "a.example", "--key", "/k",
		       "--label", "l", (char *)NULL);
	expect_refused("--label", "generate", "a.example", "--pkcs11",
		       "pkcs11:token=t", "--label", "a;b", (char *)NULL);
	expect_refused("--role is", "generate", "a.example", "--key", "/k",
		       "--role", "peer", (char *)NULL);
	expect_refused("--uids", "generate", "a.example", "--key", "/k",
		       "--uids", "5,3", (char *)NULL);
	expect_refused("--uids", "generate", "a.example", "--key", "/k",
		       "--uids", "1,", (char *)NULL);
	expect_refused("--uids", "generate", "a.example", "--key", "/k",
		       "--uids", "x", (char *)NULL);
	expect_refused("--uids", "generate", "a.example", "--key", "/k",
		       "--uids", "4294967295", (char *)NULL);
	expect_refused("one of them", "pin", (char *)NULL);
	expect_refused("one of them", "pin", "a.example", "--file", "x",
		       (char *)NULL);
	expect_refused("not known here", "pin", "a.example", "--key", "x",
		       (char *)NULL);
	expect_refused("not known here", "pin", "--role", "client",
		       (char *)NULL);
}

static void test_generate_and_import(void **state)
{
	struct ctl_rawpk_cmd c;
	struct ctl_actions acts = { 0 };
	struct polrec_localid r = { 0 };
	char dir[256], key[320], pub[320], err[256], why[128], hex[65];
	char hex2[65];
	uint8_t *spki = NULL, *spki2 = NULL;
	size_t len = 0, len2 = 0;
	gnutls_datum_t d;
	struct stat st;

	(void)state;
	assert_int_equal(fx_mkdtemp(dir, sizeof(dir), "ctlrawpk"), 0);
	snprintf(key, sizeof(key), "%s/new.key", dir);
	snprintf(pub, sizeof(pub), "%s/new.pub", dir);
	assert_int_equal(P(&c, err, "generate", "a.example", "--key", key,
			   "--algo", "ecdsa", "--role", "server"), 0);
	assert_int_equal(ctl_rawpk_build(&c, &acts, &spki, &len, err,
					 sizeof(err)), 0);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the record: kind rawpk, the SPKI, the key file's absolute path */
	assert_int_equal(acts.n, 1);
	assert_string_equal(acts.a[0].label, "localid a.example rawpk");
	assert_int_equal(polrec_localid_decode(acts.a[0].val, acts.a[0].vallen,
					       &r, why, sizeof(why)), 0);
	assert_int_equal(r.kind, POLREC_CRED_RAWPK);
	assert_int_equal(r.roles, POLREC_ROLE_SERVER);
	assert_int_equal(r.keyref_type, POLREC_KEYREF_FILE);
	assert_string_equal(r.keyref, key);
	assert_int_equal(r.ncerts, 1);
	assert_int_equal(r.certs[0].len, len);
	assert_memory_equal(r.certs[0].data, spki, len);
	polrec_localid_free(&r);
	ctl_actions_free(&acts);

	/* certtool's public key of the generated key gives the same pin */
	assert_int_equal(fx_sh(dir, "certtool --load-privkey %s --pubkey-info "
			       "--outfile %s", key, pub), 0);
	assert_int_equal(ctl_rawpk_file_spki(pub, &spki2, &len2, err,
					     sizeof(err)), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(spki2, spki, len);
	d.data = spki;
	d.size = (unsigned)len;
	assert_int_equal(rawpk_pin_hex(&d, hex), 0);
	free(spki2);

	/* never over an existing file */
	assert_int_equal(ctl_rawpk_build(&c, &acts, &spki2, &len2, err,
					 sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "File exists"));
	assert_int_equal(acts.n, 0);

	/* import: the same key, the same SPKI */
	assert_int_equal(P(&c, err, "import", "b.example", "--key", key), 0);
	assert_int_equal(ctl_rawpk_build(&c, &acts, &spki2, &len2, err,
					 sizeof(err)), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(spki2, spki, len);
	assert_string_equal(acts.a[0].label, "localid b.example rawpk");
	ctl_actions_free(&acts);
	free(spki2);

	/* a public key is not a private key; a missing file */
	assert_int_equal(P(&c, err, "import", "b.example", "--key", pub), 0);
	assert_int_equal(ctl_rawpk_build(&c, &acts, &spki2, &len2, err,
					 sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not an unencrypted PEM private key"));
	assert_int_equal(P(&c, err, "import", "b.example", "--key",
			   "/nonexistent/k"), 0);
	assert_int_equal(ctl_rawpk_build(&c, &acts, &spki2, &len2, err,
					 sizeof(err)), -ENOENT);
	/* --file: a private key is neither a public key nor a certificate */
	assert_int_equal(ctl_rawpk_file_spki(key, &spki2, &len2, err,
					     sizeof(err)), -EINVAL);
	assert_int_equal(acts.n, 0);

	/* the certificate of the key: the same pin */
	assert_int_equal(fx_sh(dir, "printf 'cn = a.example\\n' >%s/t && "
			       "certtool --generate-self-signed --load-privkey "
			       "%s --template %s/t --outfile %s/c.pem", dir,
			       key, dir, dir), 0);
	snprintf(pub, sizeof(pub), "%s/c.pem", dir);
	assert_int_equal(ctl_rawpk_file_spki(pub, &spki2, &len2, err,
					     sizeof(err)), 0);
	d.data = spki2;
	d.size = (unsigned)len2;
	assert_int_equal(rawpk_pin_hex(&d, hex2), 0);
	assert_string_equal(hex2, hex);
	free(spki2);

	/* trust add-pin FILE: a public key pins by its hash; a certificate
	 * is left to the certificate path; broken and missing files fail */
	snprintf(pub, sizeof(pub), "%s/new.pub", dir);
	assert_int_equal(ctl_rawpk_file_pin(pub, hex2, err, sizeof(err)), 1);
	assert_string_equal(hex2, hex);
	snprintf(pub, sizeof(pub), "%s/c.pem", dir);
	assert_int_equal(ctl_rawpk_file_pin(pub, hex2, err, sizeof(err)), 0);
	assert_int_equal(fx_sh(dir, "printf -- '-----BEGIN PUBLIC KEY-----\\n"
			       "AAAA\\n-----END PUBLIC KEY-----\\n' >%s/bad.pub",
			       dir), 0);
	snprintf(pub, sizeof(pub), "%s/bad.pub", dir);
	assert_int_equal(ctl_rawpk_file_pin(pub, hex2, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "does not parse"));
	assert_int_equal(ctl_rawpk_file_pin("/nonexistent/p", hex2, err,
					    sizeof(err)), -ENOENT);
	free(spki);
	fx_rmtree(dir);
}

static void test_print_pin(void **state)
{
	static const uint8_t der[] = {
		0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03,
		0x21, 0x00, 0x59, 0x2a, 0xda, 0x73, 0x28, 0xef, 0x0f, 0xb7,
		0x6d, 0xb2, 0x67, 0xdc, 0xd3, 0xce, 0x54, 0x70, 0x20, 0x5d,
		0x69, 0xa7, 0xbe, 0xa4, 0xea, 0x00, 0x5b, 0xae, 0x0d, 0x7b,
		0x91, 0xe3, 0x02, 0xb3
	};
	char buf[256] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(ctl_rawpk_print_pin(f, der, sizeof(der)), 0);
	assert_int_equal(ctl_rawpk_print_pin(f, der, 7), -EINVAL);
	fclose(f);
	assert_string_equal(buf,
		"sha256 45073a6e46d0d23cc2004514d45c26b3cbe115ed120156b923b6c4d39adc0e78\n"
		"tlsa 3 1 1 45073a6e46d0d23cc2004514d45c26b3cbe115ed120156b923b6c4d39adc0e78\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_generate_and_import),
		cmocka_unit_test(test_print_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

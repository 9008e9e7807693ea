/* Unit tests for crank/crank_entry and crank/crank_conf: records as LDAP
 * entries (RDN per database, escaping, the attributes pulley reads), the
 * signature verifying with pulley's psign_verify and failing after any
 * change, keys recovered from entries as read back, the attribute diff,
 * and the configuration's refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crank_conf.h"
#include "crank_describe.h"
#include "crank_entry.h"
#include "psign.h"

#define BASE "ou=crank1,ou=policy,dc=example,dc=com"

static uint8_t sk[64], pk[32];

static int setup(void **state)
{
	uint8_t seed[32];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(seed, 7, sizeof(seed));
	return crypto_sign_seed_keypair(pk, sk, seed);
}

/* A record built the way crank_build does it. */
static void rec_policy(struct crank_rec *r, const char *sel, unsigned role,
		       const char *valexp)
{
	struct polrec_policy p = { 0 };
	char why[128];

	memset(r, 0, sizeof(*r));
	p.valexp = (char *)valexp;
	p.min_version = POLREC_TLS12;
	r->db = POLICYDB_POLICY;
	assert_int_equal(polrec_policy_key(sel, role, r->key, sizeof(r->key),
					   &r->keylen), 0);
	assert_int_equal(polrec_policy_encode(&p, &r->val, &r->vallen, why,
					      sizeof(why)), 0);
	crank_rec_label(r->db, r->key, r->keylen, r->label, sizeof(r->label));
}

static void rec_pin(struct crank_rec *r, const char *bound)
{
	struct polrec_trust t = { 0 };
	char why[128], hex[65];

	memset(r, 0, sizeof(*r));
	memset(hex, 'a', 64);
	hex[64] = '\0';
	t.kind = POLREC_TRUST_PIN;
	t.flags = POLREC_TRUSTF_MASK;
	t.bound_id = (char *)bound;
	r->db = POLICYDB_TRUST;
	assert_int_equal(polrec_trust_key(t.kind, hex, bound, r->key,
					  sizeof(r->key), &r->keylen), 0);
	assert_int_equal(polrec_trust_encode(&t, &r->val, &r->vallen, why,
					     sizeof(why)), 0);
	crank_rec_label(r->db, r->key, r->keylen, r->label, sizeof(r->label));
}

/* psign_verify over the entry's attributes. */
static int verify(const struct crank_entry *e)
{
	struct pscript_attr a[CRANK_ENTRY_ATTRS];
	struct pscript_value v[CRANK_ENTRY_ATTRS * 2];
	size_t k = 0;
	char why[128];

	assert_true(e->nattrs <= CRANK_ENTRY_ATTRS);
	for (size_t i = 0; i < e->nattrs; i++) {
		a[i].type = e->attrs[i].type;
		a[i].nvals = e->attrs[i].nvals;
		a[i].vals = &v[k];
		for (size_t j = 0; j < e->attrs[i].nvals; j++, k++) {
			v[k].data = e->attrs[i].vals[j].data;
			v[k].len = e->attrs[i].vals[j].len;
		}
	}
	return psign_verify(a, e->nattrs, pk, why, sizeof(why));
}

static void assert_attr(const struct crank_entry *e, const char *type,
			const char *val)
{
	const struct crank_attr *a = crank_entry_attr(e, type);

	if (a == NULL)
		fail_msg("no %s", type);
	assert_int_equal(a->nvals, 1);
	assert_int_equal(a->vals[0].len, strlen(val));
	assert_memory_equal(a->vals[0].data, val, strlen(val));
}

static void test_policy_entry(void **state)
{
	struct crank_rec r;
	struct crank_entry e, back;
	char err[256];

	(void)state;
	rec_policy(&r, "@.example.com", POLREC_ROLE_SERVER, "IT&");
	assert_int_equal(crank_entry_from_rec(&r, BASE, sk, &e, err, sizeof(err)), 0);
	assert_string_equal(e.dn, "tlsPoolSelector=@.example.com+"
			    "tlsPoolSupportedRole=server," BASE);
	assert_attr(&e, "objectClass", "tlsPoolValidationRequirements");
	assert_attr(&e, "tlsPoolSelector", "@.example.com");
	assert_attr(&e, "tlsPoolSupportedRole", "server");
	assert_attr(&e, "tlsPoolValidationExpression", "IT&");
	assert_non_null(crank_entry_attr(&e, "tlsPoolPolicyRecord"));
	assert_int_equal(crank_entry_attr(&e, "tlsPoolSignature")->vals[0].len, 64);
	assert_int_equal(verify(&e), 0);

	/* read back (types in another case, with ;binary): same key */
	memset(&back, 0, sizeof(back));
	for (size_t i = 0; i < e.nattrs; i++) {
		char t[64];

		snprintf(t, sizeof(t), "%s%s", e.attrs[i].type,
			 strstr(e.attrs[i].type, "Record") ? ";binary" : "");
		assert_int_equal(crank_entry_add_attr(&back, t, e.attrs[i].vals,
						      e.attrs[i].nvals), 0);
	}
	assert_int_equal(crank_entry_key(&back), 0);
	assert_int_equal(back.keyed, 1);
	assert_int_equal(back.db, POLICYDB_POLICY);
	assert_int_equal(back.keylen, r.keylen);
	assert_memory_equal(back.key, r.key, r.keylen);
	assert_string_equal(back.label, "policy @.example.com server");
	{
		char changed[CRANK_ENTRY_ATTRS][48];

		assert_int_equal(crank_entry_diff(&back, &e, changed, CRANK_ENTRY_ATTRS), 0);
	}
	crank_entry_free(&back);
	crank_entry_free(&e);
	free(r.val);
}

static void test_signature_covers(void **state)
{
	struct crank_rec r;
	struct crank_entry e;
	char err[256];

	(void)state;
	rec_policy(&r, "a.example", POLREC_ROLE_CLIENT, "I");
	assert_int_equal(crank_entry_from_rec(&r, BASE, sk, &e, err, sizeof(err)), 0);
	assert_int_equal(verify(&e), 0);
	/* every signed attribute is covered: flip a byte of each in turn */
	for (size_t i = 0; i < e.nattrs; i++) {
		uint8_t *b = e.attrs[i].vals[0].data;

		if (strcmp(e.attrs[i].type, "tlsPoolSignature") == 0)
			continue;
		b[0] ^= 1;
		if (verify(&e) != -EBADMSG)
			fail_msg("a change of %s still verifies", e.attrs[i].type);
		b[0] ^= 1;
	}
	assert_int_equal(verify(&e), 0);
	crank_entry_free(&e);
	free(r.val);
}

static void test_pin_entry(void **state)
{
	struct crank_rec r;
	struct crank_entry e;
	char err[256], hex[65];

	(void)state;
	memset(hex, 'a', 64);
	hex[64] = '\0';
	rec_pin(&r, "peer+x=y@example.com");
	assert_int_equal(crank_entry_from_rec(&r, BASE, sk, &e, err, sizeof(err)), 0);
	/* '+' and '=' in a value are escaped in the DN */
	assert_non_null(strstr(e.dn, "+tlsPoolIdentity=peer\\+x\\=y@example.com," BASE));
	assert_attr(&e, "tlsPoolTrustKind", "pin");
	assert_attr(&e, "tlsPoolKeyHash", hex);
	assert_attr(&e, "tlsPoolIdentity", "peer+x=y@example.com");
	assert_int_equal(verify(&e), 0);
	crank_entry_free(&e);
	free(r.val);

	rec_pin(&r, NULL);
	assert_int_equal(crank_entry_from_rec(&r, BASE, sk, &e, err, sizeof(err)), 0);
	assert_null(crank_entry_attr(&e, "tlsPoolIdentity"));
	assert_null(strstr(e.dn, "tlsPoolIdentity"));
	crank_entry_free(&e);
	free(r.val);
}

static void test_diff(void **state)
{
	struct crank_rec r1, r2;
	struct crank_entry a, b;
	char err[256], changed[CRANK_ENTRY_ATTRS][48];
	struct crank_val extra = { (uint8_t *)"x", 1 };
	int n;

	(void)state;
	rec_policy(&r1, "a.example", POLREC_ROLE_CLIENT, "I");
	rec_policy(&r2, "a.example", POLREC_ROLE_CLIENT, "IT&");
	assert_int_equal(crank_entry_from_rec(&r1, BASE, sk, &a, err, sizeof(err)), 0);
	assert_int_equal(crank_entry_from_rec(&r2, BASE, sk, &b, err, sizeof(err)), 0);
	n = crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS);
	assert_int_equal(n, 3);
	assert_string_equal(changed[0], "tlsPoolValidationExpression");
	assert_string_equal(changed[1], "tlsPoolPolicyRecord");
	assert_string_equal(changed[2], "tlsPoolSignature");
	/* an attribute the entry should not have counts; description not */
	assert_int_equal(crank_entry_add_attr(&a, "description", &extra, 1), 0);
	assert_int_equal(crank_entry_diff(&a, &a, changed, CRANK_ENTRY_ATTRS), 0);
	assert_int_equal(crank_entry_add_attr(&b, "tlsPoolTrustAnchor", &extra, 1), 0);
	n = crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS);
	assert_int_equal(n, 4);
	assert_string_equal(changed[3], "tlsPoolTrustAnchor");
	crank_entry_free(&a);
	crank_entry_free(&b);
	/* another object class: replace */
	free(r2.val);
	rec_pin(&r2, NULL);
	free(r1.val);
	rec_policy(&r1, "a.example", POLREC_ROLE_CLIENT, "I");
	assert_int_equal(crank_entry_from_rec(&r1, BASE, sk, &a, err, sizeof(err)), 0);
	assert_int_equal(crank_entry_from_rec(&r2, BASE, sk, &b, err, sizeof(err)), 0);
	assert_int_equal(crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS), -1);
	crank_entry_free(&a);
	crank_entry_free(&b);
	free(r1.val);
	free(r2.val);
}

/* More changed attributes than changed[] holds, or a type name too long
 * for it: a modify would leave some out (stale values beside the new
 * signature), so the entry is replaced. */
static void test_diff_overflow(void **state)
{
	struct crank_rec r1, r2;
	struct crank_entry a, b;
	char err[256], changed[CRANK_ENTRY_ATTRS][48], type[80];
	struct crank_val extra = { (uint8_t *)"x", 1 };

	(void)state;
	rec_policy(&r1, "a.example", POLREC_ROLE_CLIENT, "I");
	rec_policy(&r2, "a.example", POLREC_ROLE_CLIENT, "IT&");
	assert_int_equal(crank_entry_from_rec(&r1, BASE, sk, &a, err, sizeof(err)), 0);
	assert_int_equal(crank_entry_from_rec(&r2, BASE, sk, &b, err, sizeof(err)), 0);
	for (int i = 0; i < CRANK_ENTRY_ATTRS; i++) {
		snprintf(type, sizeof(type), "tlsPoolExtra%d", i);
		assert_int_equal(crank_entry_add_attr(&a, type, &extra, 1), 0);
	}
	assert_int_equal(crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS), -1);
	crank_entry_free(&a);
	assert_int_equal(crank_entry_from_rec(&r2, BASE, sk, &a, err, sizeof(err)), 0);
	assert_int_equal(crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS), 0);
	memset(type, 'x', sizeof(type) - 1);
	memcpy(type, "tlsPool", 7);
	type[sizeof(type) - 1] = 0;
	assert_int_equal(crank_entry_add_attr(&a, type, &extra, 1), 0);
	assert_int_equal(crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS), -1);
	crank_entry_free(&a);
	crank_entry_free(&b);
	free(r1.val);
	free(r2.val);
}

/* The directory entry has a signed attribute twice, once with an option
 * (tlsPoolPolicyRecord;lang-x): pulley refuses it ("given twice"), and a
 * modify of the plain type leaves the other: the entry is replaced. */
static void test_diff_option_spelling(void **state)
{
	struct crank_rec r;
	struct crank_entry a, b;
	char err[256], changed[CRANK_ENTRY_ATTRS][48];
	struct crank_val extra = { (uint8_t *)"\x30\x00", 2 };

	(void)state;
	rec_policy(&r, "a.example", POLREC_ROLE_CLIENT, "I");
	assert_int_equal(crank_entry_from_rec(&r, BASE, sk, &a, err, sizeof(err)), 0);
	assert_int_equal(crank_entry_from_rec(&r, BASE, sk, &b, err, sizeof(err)), 0);
	assert_int_equal(crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS), 0);
	assert_int_equal(crank_entry_add_attr(&a, "tlsPoolPolicyRecord;lang-x",
					      &extra, 1), 0);
	assert_int_equal(crank_entry_diff(&a, &b, changed, CRANK_ENTRY_ATTRS), -1);
	crank_entry_free(&a);
	crank_entry_free(&b);
	free(r.val);
}

static void test_malformed_read(void **state)
{
	struct crank_entry e;
	struct crank_val oc = { (uint8_t *)"tlsPoolValidationRequirements", 29 };
	struct crank_val sel = { (uint8_t *)"a.example", 9 };
	struct crank_val role = { (uint8_t *)"both", 4 };
	struct crank_val ou = { (uint8_t *)"organizationalUnit", 18 };

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(crank_entry_add_attr(&e, "objectClass", &oc, 1), 0);
	assert_int_equal(crank_entry_add_attr(&e, "tlsPoolSelector", &sel, 1), 0);
	assert_int_equal(crank_entry_add_attr(&e, "tlsPoolSupportedRole", &role, 1), 0);
	assert_int_equal(crank_entry_key(&e), 0);
	assert_int_equal(e.is_policy, 1);
	assert_int_equal(e.keyed, 0);	/* a rule's role is client or server */
	crank_entry_free(&e);
	assert_int_equal(crank_entry_add_attr(&e, "objectclass", &ou, 1), 0);
	assert_int_equal(crank_entry_key(&e), 0);
	assert_int_equal(e.is_policy, 0);
	crank_entry_free(&e);
}

static void test_describe(void **state)
{
	struct crank_rec r;
	struct polrec_disclose d = { 0 };
	char *ids[] = { "a@b.example", "c.example" };
	uint8_t *v = NULL;
	size_t vl;
	char buf[512], why[128];

	(void)state;
	rec_policy(&r, "a.example", POLREC_ROLE_CLIENT, "IT&");
	crank_describe(r.db, r.val, r.vallen, buf, sizeof(buf));
	assert_string_equal(buf, "min=TLS1.2 max=any client-auth=default kinds=any "
			    "priority=default valexp=IT& uids=any");
	r.val[r.vallen - 1] ^= 0xff;	/* a broken record is said to be so */
	crank_describe(r.db, r.val, r.vallen, buf, sizeof(buf));
	assert_true(strncmp(buf, "undecodable: ", 13) == 0);
	free(r.val);
	rec_pin(&r, "p@x.example");
	crank_describe(r.db, r.val, r.vallen, buf, sizeof(buf));
	assert_string_equal(buf, "kind=pin peers=both for=p@x.example der=0 bytes");
	free(r.val);
	d.ids = ids;
	d.nids = 2;
	assert_int_equal(polrec_disclose_encode(&d, &v, &vl, why, sizeof(why)), 0);
	crank_describe(POLICYDB_DISCLOSE, v, vl, buf, sizeof(buf));
	assert_string_equal(buf, "show=a@b.example,c.example");
	/* a small buffer is cut, never overrun */
	crank_describe(POLICYDB_DISCLOSE, v, vl, buf, 8);
	assert_string_equal(buf, "show=a@");
	free(v);
}

static void conf_bad(const char *text, const char *want)
{
	struct crank_conf c;
	char err[512];

	assert_int_equal(crank_conf_parse(&c, "c.conf", text, err, sizeof(err)),
			 -EINVAL);
	if (strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

static void test_conf(void **state)
{
	struct crank_conf c;
	char err[512];
	static const char good[] =
		"ldap_uri ldap://127.0.0.1:389/\nldap_base ou=c1,dc=x\n"
		"bind simple\nbind_dn cn=c1,dc=x\nbind_password_file /pw\n"
		"signing_key /k\n";

	(void)state;
	assert_int_equal(crank_conf_parse(&c, "c.conf", good, err, sizeof(err)), 0);
	assert_string_equal(c.ldap.ldap_base, "ou=c1,dc=x");
	assert_int_equal(c.ldap.tls, PCONF_TLS_STARTTLS);
	assert_int_equal(c.ldap.bind, PCONF_BIND_SIMPLE);
	crank_conf_free(&c);
	conf_bad("ldap_uri ldap://h/\ncolour blue\n", "c.conf:2: colour: unknown key");
	conf_bad("bind none\n", "c.conf:1: bind: must be simple or sasl (a crank "
		 "writes as its own identity)");
	conf_bad("signing_key k\n", "c.conf:1: signing_key: must be an absolute path");
	conf_bad("ldap_uri ldap://h/\nldap_base b\nsigning_key /k\n",
		 "c.conf: bind (simple or sasl) is required");
	conf_bad("ldap_uri ldap://h/\nsigning_key /k\nbind sasl\n",
		 "c.conf: ldap_base (the crank's subtree) is required");
	conf_bad("ldap_uri ldap://h/\nldap_base b\nbind sasl\n",
		 "c.conf: signing_key is required");
	conf_bad("ldap_uri ldap://h/\nldap_base b\nbind sasl\nsigning_key /k\n",
		 "c.conf: bind sasl needs sasl_mech");
	conf_bad("ldap_uri ldap://h/\nldap_base b\nbind simple\nsigning_key /k\n",
		 "c.conf: bind simple needs bind_dn and bind_password_file");
	conf_bad("ldap_uri http://h/\nldap_base b\nbind sasl\nsasl_mech EXTERNAL\n"
		 "signing_key /k\n", "c.conf: ldap_uri must be ldap://, ldaps:// or ldapi://");
	conf_bad("ldap_uri ldaps://h/\ntls starttls\nldap_base b\nbind sasl\n"
		 "sasl_mech EXTERNAL\nsigning_key /k\n", "c.conf: an ldaps:// URI needs tls ldaps");
	conf_bad("sasl_mech PLAIN\n", "c.conf:1: sasl_mech: must be EXTERNAL or GSSAPI");
}

static void test_signing_key(void **state)
{
	char dir[] = "/tmp/crank_key_XXXXXX", path[300], err[512];
	uint8_t k[64], p[32], p2[32];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k", dir);
	assert_int_equal(crank_conf_keygen(path, p, err, sizeof(err)), 0);
	assert_int_equal(crank_conf_keygen(path, p2, err, sizeof(err)), -EEXIST);
	assert_int_equal(crank_conf_signing_key(path, k, p2, err, sizeof(err)), 0);
	assert_memory_equal(p, p2, 32);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(crank_conf_signing_key(path, k, p2, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "readable by group or others"));
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("00112233\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(crank_conf_signing_key(path, k, p2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "64 hex digits"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_entry),
		cmocka_unit_test(test_signature_covers),
		cmocka_unit_test(test_pin_entry),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_overflow),
		cmocka_unit_test(test_diff_option_spelling),
		cmocka_unit_test(test_malformed_read),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_signing_key),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

/* Unit tests for shaft/smerge: record keys out of the canonical form,
 * the merge rule (precedence, the trust rule per kind) and its
 * independence from the input order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "psign.h"
#include "smerge.h"

#define V(s) { (const uint8_t *)(s), strlen(s) }
#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define HBAD "g111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

/* A canonical entry: class, up to three key attributes, a record. */
static void mk(uint8_t **c, size_t *cl, const char *oc, const char *a1,
	       const char *v1, const char *a2, const char *v2,
	       const char *a3, const char *v3, const char *rec)
{
	struct pscript_value ocv[2] = { V("top"), V(oc) }, k1[1], k2[1],
			     k3[1], rv[1] = { V(rec) };
	struct pscript_attr a[5];
	size_t n = 0;
	char why[128];

	a[n++] = (struct pscript_attr){ "objectClass", 2, ocv };
	if (a1) {
		k1[0] = (struct pscript_value)V(v1);
		a[n++] = (struct pscript_attr){ a1, 1, k1 };
	}
	if (a2) {
		k2[0] = (struct pscript_value)V(v2);
		a[n++] = (struct pscript_attr){ a2, 1, k2 };
	}
	if (a3) {
		k3[0] = (struct pscript_value)V(v3);
		a[n++] = (struct pscript_attr){ a3, 1, k3 };
	}
	a[n++] = (struct pscript_attr){ "tlsPoolPolicyRecord", 1, rv };
	assert_int_equal(psign_canon(a, n, c, cl, why, sizeof(why)), 0);
}

static void mk_dis(uint8_t **c, size_t *cl, const char *sel, const char *rec)
{
	mk(c, cl, "tlsPoolIdentityDisclosure", "tlsPoolSelector", sel, NULL,
	   NULL, NULL, NULL, rec);
}

static void mk_pol(uint8_t **c, size_t *cl, const char *sel,
		   const char *role, const char *rec)
{
	mk(c, cl, "tlsPoolValidationRequirements", "tlsPoolSelector", sel,
	   "tlsPoolSupportedRole", role, NULL, NULL, rec);
}

static void mk_trust(uint8_t **c, size_t *cl, const char *kind,
		     const char *hash, const char *id, const char *rec)
{
	mk(c, cl, "tlsPoolTrustedIssuer", "tlsPoolTrustKind", kind,
	   "tlsPoolKeyHash", hash, id ? "tlsPoolIdentity" : NULL, id, rec);
}

/* The test's inputs: canonical forms with a precedence each. */
struct set {
	struct smerge_in in[64];
	uint8_t *c[64];
	size_t n;
};

static void add(struct set *s, unsigned prec, uint8_t *c, size_t cl)
{
	char why[128];
	struct smerge_in *x = &s->in[s->n];

	x->prec = prec;
	x->source = prec;
	x->canon = c;
	x->canonlen = cl;
	assert_int_equal(smerge_key(c, cl, &x->k, why, sizeof(why)), 0);
	s->c[s->n++] = c;
}

static void set_free(struct set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		smerge_key_free(&s->in[i].k);
		free(s->c[i]);
	}
	s->n = 0;
}

/* The winners' records, in output order, "|" separated. */
static void run(const struct set *s, char *out, size_t cap)
{
	const struct smerge_in **w;
	size_t nw, i, o = 0;
	const uint8_t *v;
	size_t vl, pos;
	struct smerge_attr a;

	assert_int_equal(smerge_run(s->in, s->n, &w, &nw), 0);
	out[0] = 0;
	for (i = 0; i < nw; i++) {
		for (pos = 0; smerge_next_attr(w[i]->canon, w[i]->canonlen,
					       &pos, &a) == 1;)
			if (a.typelen == 19 &&
			    memcmp(a.type, "tlspoolpolicyrecord", 19) == 0)
				break;
		smerge_attr_val(&a, 0, &v, &vl);
		o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? "|" : "",
				      (int)vl, (const char *)v);
	}
	free(w);
}

static void test_keys_and_rdn(void **state)
{
	struct smerge_key k;
	uint8_t *c;
	size_t cl;
	char why[128], rdn[SMERGE_RDN_MAX];

	(void)state;
	mk_pol(&c, &cl, "@Example.COM", "client", "r");
	assert_int_equal(smerge_key(c, cl, &k, why, sizeof(why)), 0);
	assert_int_equal(k.cls, SMERGE_POLICY);
	assert_int_equal(k.keylen, 2 + 13 + 7);
	assert_memory_equal(k.key, "4\0@example.com\0client\0", k.keylen);
	assert_int_equal(smerge_rdn(c, cl, rdn), 0);
	assert_string_equal(rdn, "tlsPoolSelector=@Example.COM+"
			    "tlsPoolSupportedRole=client");
	smerge_key_free(&k);
	free(c);

	mk_dis(&c, &cl, " a,b+c=\"d\" ", "r");
	assert_int_equal(smerge_rdn(c, cl, rdn), 0);
	assert_string_equal(rdn, "tlsPoolSelector=\\ a\\,b\\+c\\=\\\"d\\\"\\ ");
	free(c);

	mk_trust(&c, &cl, "PIN", H1, "me@x", "r");
	assert_int_equal(smerge_key(c, cl, &k, why, sizeof(why)), 0);
	assert_int_equal(k.cls, SMERGE_TRUST);
	assert_int_equal(k.tkind, SMERGE_T_PIN);
	assert_string_equal(k.hash, H1);
	assert_int_equal(smerge_rdn(c, cl, rdn), 0);
	assert_string_equal(rdn, "tlsPoolTrustKind=PIN+tlsPoolKeyHash=" H1
			    "+tlsPoolIdentity=me@x");
	smerge_key_free(&k);
	free(c);

	/* an identity on an anchor is not part of its key */
	mk_trust(&c, &cl, "anchor", H1, "me@x", "r");
	assert_int_equal(smerge_rdn(c, cl, rdn), 0);
	assert_string_equal(rdn, "tlsPoolTrustKind=anchor+tlsPoolKeyHash=" H1);
	free(c);

	mk(&c, &cl, "tlsPoolLocalUserCredential", "tlsPoolIdentity", "u@x",
	   "tlsPoolCredentialType", "x509", NULL, NULL, "r");
	assert_int_equal(smerge_key(c, cl, &k, why, sizeof(why)), 0);
	assert_int_equal(k.cls, SMERGE_LOCALID);
	assert_memory_equal(k.key, "1\0u@x\0x509\0", k.keylen);
	smerge_key_free(&k);
	free(c);
}

static void refused(uint8_t *c, size_t cl, const char *want)
{
	struct smerge_key k;
	char why[128] = "";

	assert_int_equal(smerge_key(c, cl, &k, why, sizeof(why)), -EBADMSG);
	if (strstr(why, want) == NULL)
		fail_msg("why '%s' lacks '%s'", why, want);
	free(c);
}

static void test_key_refusals(void **state)
{
	uint8_t *c;
	size_t cl;

	(void)state;
	mk(&c, &cl, "person", NULL, NULL, NULL, NULL, NULL, NULL, "r");
	refused(c, cl, "not a tlsPool policy entry");
	mk(&c, &cl, "tlsPoolIdentityDisclosure", NULL, NULL, NULL, NULL, NULL,
	   NULL, "r");
	refused(c, cl, "tlsPoolSelector: no value");
	mk_pol(&c, &cl, "@x", "both", "r");
	refused(c, cl, "not client or server");
	mk_trust(&c, &cl, "anchor", "12ab", NULL, "r");
	refused(c, cl, "not 64 hex digits");
	mk_trust(&c, &cl, "anchor", HBAD, NULL, "r");
	refused(c, cl, "not 64 hex digits");
	mk_trust(&c, &cl, "trusted", H1, NULL, "r");
	refused(c, cl, "not anchor, pin, revoked or crl");
	mk_dis(&c, &cl, "a\tb", "r");
	refused(c, cl, "control character");
	mk_dis(&c, &cl, "", "r");
	refused(c, cl, "empty");
	refused((uint8_t *)strdup("garbage"), 7, "not a canonical entry");
}

static void test_precedence(void **state)
{
	struct set s = { .n = 0 };
	uint8_t *c;
	size_t cl;
	char out[512];

	(void)state;
	mk_dis(&c, &cl, "@a", "low");
	add(&s, 10, c, cl);
	mk_dis(&c, &cl, "@A", "high");		/* same key: case ignored */
	add(&s, 20, c, cl);
	mk_dis(&c, &cl, "@b", "only");
	add(&s, 10, c, cl);
	mk_pol(&c, &cl, "@a", "client", "pc-low");
	add(&s, 10, c, cl);
	mk_pol(&c, &cl, "@a", "server", "ps-high");	/* another role */
	add(&s, 20, c, cl);
	run(&s, out, sizeof(out));
	assert_string_equal(out, "high|only|pc-low|ps-high");
	set_free(&s);
}

static void test_trust_rule(void **state)
{
	struct set s = { .n = 0 };
	uint8_t *c;
	size_t cl;
	char out[512];

	(void)state;
	/* H1: a high anchor, a low pin, a lowest revocation: revoked only */
	mk_trust(&c, &cl, "anchor", H1, NULL, "a1-high");
	add(&s, 30, c, cl);
	mk_trust(&c, &cl, "pin", H1, "me", "p1-low");
	add(&s, 20, c, cl);
	mk_trust(&c, &cl, "revoked", H1, NULL, "r1-lowest");
	add(&s, 10, c, cl);
	mk_trust(&c, &cl, "crl", H1, NULL, "crl1");	/* a CRL stays */
	add(&s, 10, c, cl);
	run(&s, out, sizeof(out));
	assert_string_equal(out, "crl1|r1-lowest");
	set_free(&s);

	/* H2: a high anchor and a low pin: the pins (any identity) win */
	mk_trust(&c, &cl, "anchor", H2, NULL, "a2-high");
	add(&s, 30, c, cl);
	mk_trust(&c, &cl, "pin", H2, "me", "p2-me");
	add(&s, 10, c, cl);
	mk_trust(&c, &cl, "pin", H2, NULL, "p2-any");
	add(&s, 10, c, cl);
	/* H1: an anchor alone stays; so do pins of H1 without revocation */
	mk_trust(&c, &cl, "anchor", H1, NULL, "a1");
	add(&s, 10, c, cl);
	run(&s, out, sizeof(out));
	assert_string_equal(out, "a1|p2-any|p2-me");
	set_free(&s);

	/* the higher of two revocations of one key is the one kept */
	mk_trust(&c, &cl, "revoked", H2, NULL, "r2-low");
	add(&s, 10, c, cl);
	mk_trust(&c, &cl, "revoked", H2, NULL, "r2-high");
	add(&s, 20, c, cl);
	run(&s, out, sizeof(out));
	assert_string_equal(out, "r2-high");
	set_free(&s);
}

static void test_order_independent(void **state)
{
	struct set s = { .n = 0 }, t;
	const char *sels[] = { "@a", "@b", "@C", "@c", "@d" };
	const char *roles[] = { "client", "server" };
	const char *kinds[] = { "anchor", "pin", "revoked", "crl" };
	const char *hashes[] = { H1, H2 };
	uint8_t *c;
	size_t cl, i, j;
	char ref[4096], out[4096], rec[32];
	unsigned seed = 7;

	(void)state;
	for (i = 0; i < 48; i++) {
		unsigned prec = 10 * (1 + i % 3);

		snprintf(rec, sizeof(rec), "rec%zu", i);
		switch (i % 3) {
		case 0: mk_dis(&c, &cl, sels[i % 5], rec); break;
		case 1: mk_pol(&c, &cl, sels[i % 5], roles[i / 3 % 2], rec);
			break;
		default:
			mk_trust(&c, &cl, kinds[i / 3 % 4], hashes[i / 12 % 2],
				 i % 2 ? "me" : NULL, rec);
		}
		add(&s, prec, c, cl);
	}
	/* equal keys of equal precedence too: decided by the bytes */
	mk_dis(&c, &cl, "@a", "tie-b");
	add(&s, 10, c, cl);
	mk_dis(&c, &cl, "@A", "tie-a");
	add(&s, 10, c, cl);
	run(&s, ref, sizeof(ref));
	for (j = 0; j < 50; j++) {
		t = s;
		for (i = t.n - 1; i > 0; i--) {
			size_t r = rand_r(&seed) % (i + 1);
			struct smerge_in x = t.in[i];

			t.in[i] = t.in[r];
			t.in[r] = x;
		}
		run(&t, out, sizeof(out));
		assert_string_equal(out, ref);
	}
	set_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_rdn),
		cmocka_unit_test(test_key_refusals),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_trust_rule),
		cmocka_unit_test(test_order_independent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for shaft/ssrc's entry store and state file: many
 * time-based entryUUIDs (slapd's: only the first bytes vary), the state
 * written and read back (entries, cookie), and a damaged state file, or
 * one for another key or base, not used. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "psign.h"
#include "ssrc.h"

#define N 5000
#define V(s) { (const uint8_t *)(s), strlen(s) }

static char dir[] = "/tmp/test_ssrc.XXXXXX";
static struct sconf cf;

static void uuid(uint8_t u[16], unsigned i)
{
	memset(u, 0, 16);
	u[0] = (uint8_t)(i >> 24);	/* time_low, as slapd's v1 UUIDs */
	u[1] = (uint8_t)(i >> 16);
	u[2] = (uint8_t)(i >> 8);
	u[3] = (uint8_t)i;
	u[6] = 0x11;
	memcpy(u + 8, "\x80\x01\x02\x03\x04\x05\x06\x07", 8);
}

static void put_one(struct ssrc *r, unsigned i)
{
	char sel[32], dn[64], why[128];
	struct pscript_value ocv[1] = { V("tlsPoolIdentityDisclosure") },
			     sv[1], rv[1] = { V("rec") };
	struct pscript_attr a[3];
	struct sent *e;
	uint8_t u[16], *c;
	size_t cl;

	snprintf(sel, sizeof(sel), "@h%u.example", i);
	snprintf(dn, sizeof(dn), "tlsPoolSelector=%s,ou=a", sel);
	sv[0] = (struct pscript_value)V(sel);
	a[0] = (struct pscript_attr){ "objectClass", 1, ocv };
	a[1] = (struct pscript_attr){ "tlsPoolSelector", 1, sv };
	a[2] = (struct pscript_attr){ "tlsPoolPolicyRecord", 1, rv };
	assert_int_equal(psign_canon(a, 3, &c, &cl, why, sizeof(why)), 0);
	uuid(u, i);
	assert_int_equal(ssrc_sent_new(u, dn, c, cl, &e, why, sizeof(why)), 0);
	assert_int_equal(ssrc_put(r, e), 0);
	free(c);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&cf, 0, sizeof(cf));
	cf.nsrc = 1;
	cf.src[0].name = "a";
	cf.src[0].base = "ou=a";
	cf.src[0].prec = 1;
	memset(cf.src[0].pk, 7, 32);
	cf.state_dir = dir;
	return 0;
}

static int teardown(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/a.state", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

static void corrupt(long off)
{
	char p[128];
	FILE *f;
	int c;

	snprintf(p, sizeof(p), "%s/a.state", dir);
	f = fopen(p, "r+b");
	assert_non_null(f);
	fseek(f, off, SEEK_SET);
	c = fgetc(f);
	fseek(f, off, SEEK_SET);
	fputc(c ^ 1, f);
	fclose(f);
}

static void test_store_and_state(void **state)
{
	struct ssrc r;
	uint8_t u[16];
	unsigned i;

	(void)state;
	assert_int_equal(ssrc_init(&r, &cf, 0), 0);
	assert_int_equal(r.loaded, 0);
	assert_int_equal(r.n, 0);
	for (i = 0; i < N; i++)
		put_one(&r, i);
	put_one(&r, 17);		/* the same UUID again: replaced */
	assert_int_equal(r.n, N);
	uuid(u, 4242);
	assert_int_equal(ssrc_find_uuid(&r, u), 1);
	ssrc_drop(&r, u);
	assert_int_equal(ssrc_find_uuid(&r, u), 0);
	assert_int_equal(r.n, N - 1);
	r.cookie = (uint8_t *)strdup("rid=001,csn=20261122");
	r.cookielen = strlen((char *)r.cookie);
	r.dirty = 1;
	assert_int_equal(ssrc_save(&r), 0);
	ssrc_fini(&r);

	assert_int_equal(ssrc_init(&r, &cf, 0), 0);
	assert_int_equal(r.loaded, 1);
	assert_int_equal(r.n, N - 1);
	assert_int_equal(ssrc_find_uuid(&r, u), 0);
	uuid(u, 4241);
	assert_int_equal(ssrc_find_uuid(&r, u), 1);
	assert_int_equal(r.cookielen, 20);
	assert_memory_equal(r.cookie, "rid=001,csn=20261122", 20);
	ssrc_fini(&r);

	/* another key: not used */
	cf.src[0].pk[0] ^= 1;
	assert_int_equal(ssrc_init(&r, &cf, 0), 0);
	assert_int_equal(r.loaded, 0);
	assert_int_equal(r.n, 0);
	assert_null(r.cookie);
	ssrc_fini(&r);
	cf.src[0].pk[0] ^= 1;

	/* another base: not used */
	cf.src[0].base = "ou=b";
	assert_int_equal(ssrc_init(&r, &cf, 0), 0);
	assert_int_equal(r.loaded, 0);
	ssrc_fini(&r);
	cf.src[0].base = "ou=a";

	/* one bit flipped anywhere: not used */
	corrupt(100);
	assert_int_equal(ssrc_init(&r, &cf, 0), 0);
	assert_int_equal(r.loaded, 0);
	assert_int_equal(r.n, 0);
	assert_null(r.cookie);
	ssrc_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_and_state),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

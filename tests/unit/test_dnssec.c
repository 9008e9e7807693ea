/* test_dnssec -- DNSSEC lookups through libunbound (daemon/dnssec.c) on a
 * worker loop: zones signed at test time (ldns-keygen, ldns-signzone from
 * ldnsutils) and loaded as auth-zones through a resolver config file.
 * Secure, insecure, bogus and secure-denial answers, the TTL cache (only
 * for secure and insecure answers) and a settings change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dane.h"
#include "dnssec.h"
#include "fixture.h"
#include "worker.h"

static char dir[256];

static int group_setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof(dir), "test_dnssec") < 0)
		return -1;
	/* s.test signed (anchored), b.test signed then spoiled, u.test
	 * unsigned (no anchor: insecure). */
	if (fx_sh(dir, "cd %s && "
		  "for z in s b; do "
		  " printf '$ORIGIN %%s.test.\\n$TTL 300\\n@ SOA ns admin 1 3600 600 86400 300\\n@ NS ns\\nns A 127.0.0.1\\n"
		  "_443._tcp.h TLSA 3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\\n' $z >$z.zone && "
		  " k=$(ldns-keygen -a ECDSAP256SHA256 -k $z.test) && "
		  " z2=$(ldns-keygen -a ECDSAP256SHA256 $z.test) && "
		  " ldns-signzone -f $z.signed $z.zone $k $z2 && echo $k >$z.ksk || exit 1; "
		  "done && "
		  "sed -i -E 's/(TLSA[[:space:]]+3 1 1 )00/\\1ff/' b.signed && "
		  "printf '$ORIGIN u.test.\\n$TTL 300\\n@ SOA ns admin 1 3600 600 86400 300\\n@ NS ns\\nns A 127.0.0.1\\n"
		  "_443._tcp.h TLSA 3 1 1 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\\n' >u.zone && "
		  "{ echo 'server:'; echo ' module-config: \"validator iterator\"'; "
		  "  echo ' local-zone: \"test.\" nodefault'; "
		  "  echo \" trust-anchor-file: \\\"%s/$(cat s.ksk).ds\\\"\"; "
		  "  echo \" trust-anchor-file: \\\"%s/$(cat b.ksk).ds\\\"\"; "
		  "  for z in s b u; do f=$z.signed; [ $z = u ] && f=u.zone; "
		  "   printf 'auth-zone:\\n name: \"%%s.test.\"\\n zonefile: \"%s/%%s\"\\n for-upstream: yes\\n for-downstream: no\\n fallback-enabled: no\\n' $z $f; done; "
		  "} >unbound.conf && "
		  "grep -v trust-anchor-file unbound.conf >noanchor.conf",
		  dir, dir, dir, dir) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	dnssec_shutdown();
	fx_rmtree(dir);
	return 0;
}

/* worker_run runs once per worker, and the resolver context belongs to
 * the worker that made it: every lookup of the test runs in one loop,
 * one step after the other, and is judged afterwards. */
struct step {
	const char *conf;	/* dnssec_configure with it first, or NULL */
	const char *name;
	int rc;			/* dnssec_lookup's */
	struct dnssec_answer a;
};

static struct step steps[] = {
	{ "unbound.conf", "_443._tcp.h.s.test", 0, { 0 } },	/* 0 */
	{ NULL, "_443._tcp.H.S.test", 0, { 0 } },	/* 1: cached */
	{ NULL, "_443._tcp.none.s.test", 0, { 0 } },	/* 2: secure NX */
	{ NULL, "_443._tcp.h.u.test", 0, { 0 } },	/* 3: insecure */
	{ NULL, "_443._tcp.h.u.test", 0, { 0 } },	/* 4: cached */
	{ NULL, "_443._tcp.h.b.test", 0, { 0 } },	/* 5: bogus */
	{ NULL, "_443._tcp.h.b.test", 0, { 0 } },	/* 6: not cached */
	{ "noanchor.conf", "_443._tcp.h.s.test", 0, { 0 } },	/* 7: new */
	{ "unbound.conf", "_443._tcp.h.s.test", 0, { 0 } },	/* 8 */
	{ "unbound.conf", "_443._tcp.h.s.test", 0, { 0 } },	/* 9: kept */
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

static struct worker *loop;
static size_t cur;

static void config(const char *file)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	assert_int_equal(dnssec_configure(NULL, path, NULL), 0);
	assert_true(dnssec_enabled());
}

static void drive(void *arg);

static void done(void *arg, const struct dnssec_answer *a)
{
	struct step *st = arg;

	assert_int_equal(dnssec_answer_copy(&st->a, a), 0);
	cur++;
	assert_int_equal(worker_post(loop, drive, NULL), 0);
}

static void drive(void *arg)
{
	struct step *st = &steps[cur];

	(void)arg;
	if (cur == NSTEPS) {
		worker_loop_stop(loop);
		return;
	}
	if (st->conf != NULL)
		config(st->conf);
	st->rc = dnssec_lookup(loop, st->name, LDNS_RR_TYPE_TLSA, done, st,
			       &st->a);
	if (st->rc != 0) {
		cur++;
		assert_int_equal(worker_post(loop, drive, NULL), 0);
	}
}

static void test_answers(void **state)
{
	struct dane_rrset rs;
	char why[128];

	(void)state;
	loop = worker_create();
	assert_non_null(loop);
	assert_int_equal(worker_post(loop, drive, NULL), 0);
	worker_run(loop);
	assert_int_equal(cur, NSTEPS);

	assert_int_equal(steps[0].rc, 0);
	assert_int_equal(steps[0].a.sec, DNSSEC_SECURE);
	assert_true(steps[0].a.havedata);
	assert_string_equal(steps[0].a.qname, "_443._tcp.h.s.test");
	assert_int_equal(dane_parse_answer(steps[0].a.wire, steps[0].a.wirelen,
					   &rs, why, sizeof(why)), 0);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.rec[0].data[1], 0x11);
	dane_rrset_free(&rs);
	/* The same name again (case does not matter): from the cache. */
	assert_int_equal(steps[1].rc, 1);
	assert_int_equal(steps[1].a.sec, DNSSEC_SECURE);
	/* A secure denial. */
	assert_int_equal(steps[2].rc, 0);
	assert_int_equal(steps[2].a.sec, DNSSEC_SECURE);
	assert_false(steps[2].a.havedata);
	assert_int_equal(steps[2].a.rcode, 3);
	/* No anchor for u.test: insecure, cached as well. */
	assert_int_equal(steps[3].rc, 0);
	assert_int_equal(steps[3].a.sec, DNSSEC_INSECURE);
	assert_true(steps[3].a.havedata);
	assert_int_equal(steps[4].rc, 1);
	assert_int_equal(steps[4].a.sec, DNSSEC_INSECURE);
	/* Bogus: told apart, with unbound's reason, and never cached. */
	assert_int_equal(steps[5].rc, 0);
	assert_int_equal(steps[5].a.sec, DNSSEC_BOGUS);
	assert_non_null(strstr(steps[5].a.why, "validation failure"));
	assert_int_equal(steps[6].rc, 0);
	assert_int_equal(steps[6].a.sec, DNSSEC_BOGUS);
	/* New settings: a fresh context without the cache; without the
	 * anchors the same zone is insecure. */
	assert_int_equal(steps[7].rc, 0);
	assert_int_equal(steps[7].a.sec, DNSSEC_INSECURE);
	assert_int_equal(steps[8].rc, 0);
	assert_int_equal(steps[8].a.sec, DNSSEC_SECURE);
	/* The same settings again keep the context and its cache. */
	assert_int_equal(steps[9].rc, 1);
	for (size_t i = 0; i < NSTEPS; i++)
		dnssec_answer_clear(&steps[i].a);
	dnssec_shutdown();
	worker_destroy(loop);
}

static void test_name_eq(void **state)
{
	(void)state;
	assert_true(dnssec_name_eq("A.Example.", "a.example"));
	assert_true(dnssec_name_eq("a.example", "a.example."));
	assert_false(dnssec_name_eq("a.example", "b.example"));
	assert_false(dnssec_name_eq("a.example", "a.example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_name_eq),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Unit tests for crank/crank_model: the meaning of every item and
 * setting, each refusal with its position, and the contradictions that
 * show in the text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crank_model.h"

struct diags {
	char text[16][400];
	unsigned n, errors;
};

static void collect(void *ctx, const struct crank_pos *pos, const char *sev,
		    const char *msg)
{
	struct diags *d = ctx;

	if (sev[0] == 'e')
		d->errors++;
	if (d->n < 16)
		snprintf(d->text[d->n++], sizeof(d->text[0]), "%u:%u: %s: %s",
			 pos->line, pos->col, sev, msg);
}

struct parsed {
	struct crank_src src;
	struct crank_model m;
};

/* Parse and model text; the diagnostics must be exactly the varargs. */
static void model_expect(const char *text, struct parsed *p, ...)
{
	struct diags d = { .n = 0 };
	const char *w;
	unsigned i = 0;
	va_list ap;
	int rc;

	memset(p, 0, sizeof(*p));
	assert_int_equal(crank_src_parse(&p->src, "t.crank", text, strlen(text),
					 collect, &d), 0);
	rc = crank_model_build(&p->src, &p->m, collect, &d);
	va_start(ap, p);
	while ((w = va_arg(ap, const char *)) != NULL) {
		if (i >= d.n)
			fail_msg("missing \"%s\" for:\n%s", w, text);
		if (strcmp(d.text[i], w) != 0)
			fail_msg("got \"%s\", want \"%s\"", d.text[i], w);
		i++;
	}
	va_end(ap);
	if (i != d.n)
		fail_msg("unexpected \"%s\" for:\n%s", d.text[i], text);
	assert_int_equal(rc, (int)d.errors);
}

static void done(struct parsed *p)
{
	crank_model_free(&p->m);
	crank_src_free(&p->src);
}

static void bad(const char *text, const char *want)
{
	struct parsed p;

	model_expect(text, &p, want, NULL);
	done(&p);
}

static void test_full(void **state)
{
	struct parsed p;

	(void)state;
	model_expect(
		"identity Alice@Example.COM x509 {\n"
		"  chain certs/alice.pem\n  key /etc/tlspool/alice.key\n"
		"  role client\n  uids 1000 0 33\n}\n"
		"identity h.example.com rawpk {\n"
		"  public-key h.pub\n  pkcs11 \"pkcs11:token=t;object=h\"\n  disabled\n}\n"
		"identity alice@example.com krb5 { keytab /etc/krb5.keytab }\n"
		"disclose @.Example.com { show alice@example.com }\n"
		"disclose . { none }\n"
		"anchor ca.pem { peers servers }\n"
		"pin sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789 {\n"
		"  for bob@example.com\n  peers clients\n}\n"
		"revoked old.pem\ncrl ca.crl\n"
		"policy @.example.com client {\n"
		"  min-version TLS1.2\n  max-version TLS1.3\n  kinds rawpk x509\n"
		"  valexp \"IT&F&\"\n  uids 5\n  priority NORMAL\n}\n"
		"policy example.com server { client-auth optional }\n", &p, NULL);
	assert_int_equal(p.m.nidents, 3);
	assert_string_equal(p.m.idents[0].id, "Alice@example.com");
	assert_int_equal(p.m.idents[0].kind, POLREC_CRED_X509);
	assert_int_equal(p.m.idents[0].roles, POLREC_ROLE_CLIENT);
	assert_string_equal(p.m.idents[0].chain, "certs/alice.pem");
	assert_int_equal(p.m.idents[0].chain_pos.line, 2);
	assert_int_equal(p.m.idents[0].chain_pos.col, 9);
	assert_string_equal(p.m.idents[0].key, "/etc/tlspool/alice.key");
	assert_int_equal(p.m.idents[0].nuids, 3);
	assert_int_equal(p.m.idents[0].uids[0], 0);
	assert_int_equal(p.m.idents[0].uids[2], 1000);
	assert_int_equal(p.m.idents[1].roles, POLREC_ROLE_BOTH);
	assert_int_equal(p.m.idents[1].disabled, 1);
	assert_string_equal(p.m.idents[1].pkcs11, "pkcs11:token=t;object=h");
	assert_string_equal(p.m.idents[2].keytab, "/etc/krb5.keytab");
	assert_int_equal(p.m.ndiscl, 2);
	assert_string_equal(p.m.discl[0].sel, "@.example.com");
	assert_int_equal(p.m.discl[0].nids, 1);
	assert_int_equal(p.m.discl[1].nids, 0);
	assert_int_equal(p.m.ntrust, 4);
	assert_int_equal(p.m.trust[0].peers, POLREC_TRUSTF_SERVERS);
	assert_string_equal(p.m.trust[1].hex,
			    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	assert_null(p.m.trust[1].file);
	assert_string_equal(p.m.trust[1].for_id, "bob@example.com");
	assert_int_equal(p.m.trust[1].peers, POLREC_TRUSTF_CLIENTS);
	assert_int_equal(p.m.trust[2].kind, POLREC_TRUST_REVOKED);
	assert_int_equal(p.m.trust[2].peers, 0);
	assert_string_equal(p.m.trust[3].file, "ca.crl");
	assert_int_equal(p.m.nrules, 2);
	assert_int_equal(p.m.rules[0].min_version, POLREC_TLS12);
	assert_int_equal(p.m.rules[0].max_version, POLREC_TLS13);
	assert_int_equal(p.m.rules[0].kinds, POLREC_KIND_BIT(POLREC_CRED_X509) |
					     POLREC_KIND_BIT(POLREC_CRED_RAWPK));
	assert_string_equal(p.m.rules[0].valexp, "IT&F&");
	assert_int_equal(p.m.rules[1].role, POLREC_ROLE_SERVER);
	assert_int_equal(p.m.rules[1].client_auth, POLREC_CAUTH_OPTIONAL);
	for (size_t i = 0; i < p.m.nidents; i++)
		assert_int_equal(p.m.idents[i].bad, 0);
	done(&p);
}

static void test_items(void **state)
{
	(void)state;
	bad("identities a x509\n", "1:1: error: 'identities' is not an item "
	    "(identity, disclose, anchor, pin, revoked, crl, policy)");
	bad("identity a\n", "1:1: error: expected 'identity ID x509|rawpk|krb5 { ... }'");
	bad("identity a x500\n", "1:12: error: 'x500' is not a credential kind (x509, rawpk, krb5)");
	bad("identity -a x509 { chain c\n key /k }\n",
	    "1:10: error: '-a' is not an identity: offset 0: label starts with '-'");
	bad("policy a.example\n", "1:1: error: expected 'policy SELECTOR client|server { ... }'");
	bad("policy a.example both\n", "1:18: error: 'both': a rule is for the local role "
	    "client or server (write two rules for both)");
	bad("anchor\n", "1:1: error: expected 'anchor FILE'");
	bad("revoked a b\n", "1:1: error: expected 'revoked FILE|sha256:HEX'");
	bad("disclose a b\n", "1:1: error: expected 'disclose SELECTOR { show ID... | none }'");
}

static void test_settings(void **state)
{
	(void)state;
	bad("identity a x509 { chain c\n key /k\n colour blue }\n",
	    "3:2: error: 'colour' is not a setting of an x509 identity (settings: "
	    "chain, key, pkcs11, role, uids, disabled)");
	bad("identity a krb5 { chain c }\n",
	    "1:19: error: 'chain' is not a setting of a krb5 identity (settings: "
	    "keytab, role, uids, disabled)");
	bad("identity a x509 { chain c\n key /k\n chain d }\n",
	    "3:2: error: 'chain' is set twice in this block (first at line 1)");
	bad("identity a x509 { chain c d\n key /k }\n",
	    "1:19: error: 'chain' takes 1 argument, not 2");
	bad("identity a x509 { chain c\n key /k\n disabled yes }\n",
	    "3:2: error: 'disabled' takes 0 arguments, not 1");
	bad("revoked a { peers both }\n",
	    "1:13: error: 'peers' is not a setting of revoked (it takes: none)");
	bad("policy a client { kinds }\n",
	    "1:19: error: 'kinds' takes 1 to 3 arguments, not 0");
}

static void test_identity_rules(void **state)
{
	(void)state;
	bad("identity a x509 { key /k }\n",
	    "1:1: error: an x509 identity needs 'chain FILE'");
	bad("identity a x509 { chain c }\n",
	    "1:1: error: an x509 identity needs either 'key /PATH' or 'pkcs11 URI'");
	bad("identity a x509 { chain c\n key /k\n pkcs11 pkcs11:x }\n",
	    "1:1: error: an x509 identity needs either 'key /PATH' or 'pkcs11 URI', not both");
	bad("identity a rawpk { key /k }\n",
	    "1:1: error: a rawpk identity needs 'public-key FILE'");
	bad("identity a x509 { chain c\n key k }\n",
	    "2:6: error: key 'k' must be an absolute path: it names the file on "
	    "the hosts that use this identity");
	bad("identity a krb5 { keytab k.tab }\n",
	    "1:26: error: keytab 'k.tab' must be an absolute path: it names the "
	    "file on the hosts that use this identity");
	bad("identity a x509 { chain c\n pkcs11 token=x }\n",
	    "2:9: error: 'token=x' is not a pkcs11: URI");
	bad("identity a x509 { chain c\n key /k\n role peer }\n",
	    "3:7: error: 'peer' is not a role (client, server, both)");
	bad("identity a x509 { chain c\n key /k\n uids 1 www-data }\n",
	    "3:9: error: 'www-data' is not a uid (a number; user names are not "
	    "resolved here, they may differ on the hosts)");
	bad("identity a x509 { chain c\n key /k\n uids 4294967295 }\n",
	    "3:7: error: '4294967295' is not a uid (a number; user names are not "
	    "resolved here, they may differ on the hosts)");
	bad("identity a x509 { chain c\n key /k\n uids 7 3 7 }\n",
	    "3:2: error: uid 7 is listed twice");
	bad("identity a x509 { chain c\n key /k\n uids -1 }\n",
	    "3:7: error: '-1' is not a uid (a number; user names are not "
	    "resolved here, they may differ on the hosts)");
}

static void test_trust_rules(void **state)
{
	(void)state;
	bad("anchor sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
	    "1:8: error: an anchor needs its file, not a hash");
	bad("pin sha256:00\n", "1:5: error: 'sha256:00': sha256: takes 64 hex digits");
	bad("pin sha256:000000000000000000000000000000000000000000000000000000000000000g\n",
	    "1:5: error: 'sha256:000000000000000000000000000000000000000000000000000000000000000g': "
	    "sha256: takes 64 hex digits");
	bad("revoked sha256:00000000000000000000000000000000000000000000000000000000000000000\n",
	    "1:9: error: 'sha256:00000000000000000000000000000000000000000000000000000000000000000': "
	    "sha256: takes 64 hex digits");
	bad("crl sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
	    "1:5: error: a crl needs its file, not a hash");
	bad("anchor ca.pem { valexp I }\n",
	    "1:24: error: an anchor takes no validation expression: the daemon applies "
	    "the expression of the connection policy rule (put it in a 'policy' block)");
	bad("anchor ca.pem { peers all }\n",
	    "1:23: error: 'all': peers are clients, servers or both");
	bad("pin p.pem { for @x }\n",
	    "1:17: error: '@x' is not an identity: offset 0: empty user part before '@'");
	bad("pin p.pem { valexp I }\n",
	    "1:20: error: a pin takes no validation expression: the daemon applies "
	    "the expression of the connection policy rule (put it in a 'policy' block)");
}

static void test_policy_rules(void **state)
{
	(void)state;
	bad("policy a client { valexp \"I T &X\" }\n",
	    "1:32: error: validation expression 'I T &X': offset 5: unknown predicate 'X'");
	/* columns count characters, and an escape takes two */
	bad("policy a client { valexp \"\xc3\xa9X\" }\n",
	    "1:27: error: validation expression '\xc3\xa9X': offset 0: unexpected byte 0xc3");
	bad("policy a client { valexp \"I\\\\X\" }\n",
	    "1:28: error: validation expression 'I\\X': offset 1: unexpected character '\\'");
	bad("policy a client { valexp \"\\\"I\" }\n",
	    "1:27: error: validation expression '\"I': offset 0: unexpected character '\"'");
	bad("policy a client { valexp \"I\xc3\xa9\" }\n",
	    "1:28: error: validation expression 'I\xc3\xa9': offset 1: unexpected byte 0xc3");
	bad("policy a client { valexp IT }\n",
	    "1:27: error: validation expression 'IT': offset 1: 2 values are left at the "
	    "end; join them with '&' or '|'");
	bad("policy a client { valexp AI& }\n",
	    "1:26: error: validation expression 'AI&': offset 0: A/a (anonymous precursor) needs renegotiation, which TLS 1.3 removed");
	bad("policy a server { valexp \"IC&\" }\n",
	    "1:28: warning: 'C' is always false in a rule for the server role");
	bad("policy a client { valexp \"Ic|\" }\n",
	    "1:28: warning: 'c' is always true in a rule for the client role");
	bad("policy a client { min-version TLS1.4 }\n",
	    "1:31: error: 'TLS1.4' is not a TLS version (TLS1.0 ... TLS1.3, any)");
	bad("policy a client {\n min-version TLS1.3\n max-version TLS1.2 }\n",
	    "2:14: error: min-version TLS1.3 is above max-version TLS1.2");
	bad("policy a client { kinds x509,rawpk }\n",
	    "1:25: error: 'x509,rawpk' is not a credential kind (x509, rawpk, krb5; or any alone)");
	bad("policy a client { kinds x509 any }\n",
	    "1:30: error: 'any' is not a credential kind (x509, rawpk, krb5; or any alone)");
	bad("policy a client { kinds x509 x509 }\n", "1:30: error: x509 is listed twice");
	bad("policy a client { client-auth required }\n",
	    "1:31: error: client-auth applies to the server role; this rule is for the client role");
	bad("policy a server { client-auth always }\n",
	    "1:31: error: 'always': client-auth is required, optional, none or default");
	bad("policy a server { priority \"\" }\n",
	    "1:28: error: empty priority string (leave 'priority' out for the daemon's default)");
	bad("policy @@a server\n",
	    "1:8: error: '@@a' is not a selector: offset 1: second '@'; at most one is allowed");
}

static void test_disclose_rules(void **state)
{
	(void)state;
	bad("disclose . { }\n", "1:1: error: disclose needs either 'show ID...' or 'none'");
	bad("disclose . { show a\n none }\n",
	    "1:1: error: disclose needs either 'show ID...' or 'none', not both");
	bad("identity a@b x509 { chain c\n key /k }\n"
	    "disclose . { show a@b a@B }\n", "3:23: error: a@b is already in this list");
	bad("disclose . { show a@b }\n", "1:19: warning: a@b is not an identity of this source");
	bad("identity a@b x509 { chain c\n key /k\n role server }\n"
	    "disclose . { show a@b }\n",
	    "4:19: error: a@b is disclosed (shown as a client) but no enabled "
	    "identity of it has the client role");
	bad("identity a@b x509 { chain c\n key /k\n disabled }\n"
	    "disclose . { show a@b }\n",
	    "4:19: error: a@b is disclosed (shown as a client) but no enabled "
	    "identity of it has the client role");
}

static void test_contradictions(void **state)
{
	struct parsed p;

	(void)state;
	bad("policy @.a.example client\npolicy @.A.example client\n",
	    "2:1: error: a policy for @.a.example in the client role is already "
	    "defined at t.crank:1:1");
	/* a rule with errors still counts for the contradiction */
	model_expect("policy x client { valexp Z }\npolicy x client\npolicy x server\n", &p,
		     "1:26: error: validation expression 'Z': offset 0: unknown predicate 'Z'",
		     "2:1: error: a policy for x in the client role is already defined at t.crank:1:1",
		     NULL);
	assert_int_equal(p.m.nrules, 3);
	assert_int_equal(p.m.rules[0].bad, 1);
	assert_int_equal(p.m.rules[2].bad, 0);
	done(&p);
	bad("identity a x509 { chain c\n key /k }\nidentity A x509 { chain d\n key /l }\n",
	    "3:1: error: identity a x509 is already defined at t.crank:1:1");
	model_expect("identity a x509 { chain c\n key /k }\nidentity a krb5\n", &p, NULL);
	done(&p);
	bad("disclose .x { none }\ndisclose .X { none }\n",
	    "2:1: error: disclose .x is already defined at t.crank:1:1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_items),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_identity_rules),
		cmocka_unit_test(test_trust_rules),
		cmocka_unit_test(test_policy_rules),
		cmocka_unit_test(test_disclose_rules),
		cmocka_unit_test(test_contradictions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

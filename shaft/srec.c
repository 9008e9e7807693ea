/* srec -- a merged entry's record checked like pulley's pool backend
 * (see srec.h). */
#include "srec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polrec.h"

#define STR_MAX 1024

/* The record value (exactly one, any bytes). */
static int record(const uint8_t *c, size_t len, const uint8_t **v,
		  size_t *vl)
{
	struct smerge_attr a;
	size_t pos = 0;
	int rc;

	while ((rc = smerge_next_attr(c, len, &pos, &a)) == 1)
		if (a.typelen == 19 &&
		    memcmp(a.type, "tlspoolpolicyrecord", 19) == 0) {
			if (a.nvals != 1)
				return -EBADMSG;
			return smerge_attr_val(&a, 0, v, vl);
		}
	return -EBADMSG;
}

int srec_check(const uint8_t *c, size_t len, const struct smerge_key *k,
	       char *why, size_t whylen)
{
	char a[STR_MAX], b[STR_MAX], key[2 * STR_MAX + 80];
	const uint8_t *rv;
	size_t rl, kl;
	int rc, kind;

	if (record(c, len, &rv, &rl) < 0)
		return polrec_why_set(why, whylen, -EBADMSG, "not exactly one "
				      "tlsPoolPolicyRecord value");
	switch (k->cls) {
	case SMERGE_LOCALID: {
		struct polrec_localid r;

		memset(&r, 0, sizeof(r));
		if (smerge_value(c, len, "tlspoolidentity", a, sizeof(a)) != 1 ||
		    smerge_value(c, len, "tlspoolcredentialtype", b,
				 sizeof(b)) != 1)
			return polrec_why_set(why, whylen, -EBADMSG,
					      "key attributes");
		kind = polrec_cred_parse(b);
		if (kind < 0)
			return polrec_why_set(why, whylen, -EBADMSG,
					      "unknown credential kind %s", b);
		rc = polrec_localid_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && (int)r.kind != kind)
			rc = polrec_why_set(why, whylen, -EBADMSG, "record "
					    "kind %s differs from the entry's "
					    "%s", polrec_cred_name(r.kind), b);
		if (rc == 0 && polrec_localid_key(a, r.kind, key, sizeof(key),
						  &kl) < 0)
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "not a valid identity");
		polrec_localid_free(&r);
		return rc;
	}
	case SMERGE_DISCLOSE: {
		struct polrec_disclose r;

		memset(&r, 0, sizeof(r));
		if (smerge_value(c, len, "tlspoolselector", a, sizeof(a)) != 1)
			return polrec_why_set(why, whylen, -EBADMSG,
					      "key attributes");
		rc = polrec_disclose_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && !polrec_name_ok(a, strlen(a)))
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "not a valid selector");
		polrec_disclose_free(&r);
		return rc;
	}
	case SMERGE_TRUST: {
		struct polrec_trust r;

		memset(&r, 0, sizeof(r));
		if (smerge_value(c, len, "tlspooltrustkind", a, sizeof(a)) != 1)
			return polrec_why_set(why, whylen, -EBADMSG,
					      "key attributes");
		rc = polrec_trust_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && strcmp(polrec_trust_kind_name(r.kind), a) != 0)
			rc = polrec_why_set(why, whylen, -EBADMSG, "record "
					    "kind %s differs from the entry's "
					    "%s", polrec_trust_kind_name(r.kind),
					    a);
		if (rc == 0 && polrec_trust_key(r.kind, k->hash, r.bound_id,
						key, sizeof(key), &kl) < 0)
			rc = polrec_why_set(why, whylen, -EBADMSG, "not a "
					    "valid key hash or bound identity");
		if (rc == 0)
			rc = polrec_trust_key_check(key, kl, &r, why, whylen);
		/* the pin's bound identity is the entry's */
		if (rc == 0 && r.kind == POLREC_TRUST_PIN) {
			int have = smerge_value(c, len, "tlspoolidentity", b,
						sizeof(b));

			if ((have == 1) != (r.bound_id != NULL) ||
			    (have == 1 && strcmp(b, r.bound_id) != 0))
				rc = polrec_why_set(why, whylen, -EBADMSG,
						    "the pin's bound identity "
						    "differs from the entry's");
		}
		polrec_trust_free(&r);
		return rc;
	}
	case SMERGE_POLICY: {
		struct polrec_policy r;
		int role;

		memset(&r, 0, sizeof(r));
		if (smerge_value(c, len, "tlspoolselector", a, sizeof(a)) != 1 ||
		    smerge_value(c, len, "tlspoolsupportedrole", b,
				 sizeof(b)) != 1)
			return polrec_why_set(why, whylen, -EBADMSG,
					      "key attributes");
		role = polrec_role_parse(b);
		if (role != (int)POLREC_ROLE_CLIENT &&
		    role != (int)POLREC_ROLE_SERVER)
			return polrec_why_set(why, whylen, -EBADMSG,
					      "role must be client or server");
		rc = polrec_policy_decode(rv, rl, &r, why, whylen);
		if (rc == 0 && polrec_policy_key(a, (unsigned)role, key,
						 sizeof(key), &kl) < 0)
			rc = polrec_why_set(why, whylen, -EBADMSG,
					    "not a valid selector");
		polrec_policy_free(&r);
		return rc;
	}
	}
	return polrec_why_set(why, whylen, -EBADMSG, "unknown class");
}

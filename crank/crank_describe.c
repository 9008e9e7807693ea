/* crank_describe: policy records as one line of text. */
#include "crank_describe.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void uids(struct out *o, const uint32_t *u, size_t n)
{
	put(o, " uids=");
	if (n == 0)
		put(o, "any");
	for (size_t i = 0; i < n; i++)
		put(o, "%s%u", i ? "," : "", u[i]);
}

static void localid(struct out *o, const uint8_t *v, size_t len)
{
	struct polrec_localid r;
	char why[160];
	size_t total = 0;

	if (polrec_localid_decode(v, len, &r, why, sizeof(why)) < 0) {
		put(o, "undecodable: %s", why);
		return;
	}
	for (size_t i = 0; i < r.ncerts; i++)
		total += r.certs[i].len;
	put(o, "kind=%s role=%s%s key=%s%s%s certs=%zu (%zu bytes)",
	    polrec_cred_name(r.kind), polrec_role_name(r.roles),
	    r.flags & POLREC_LIDF_DISABLED ? " disabled" : "",
	    r.keyref_type == POLREC_KEYREF_PKCS11 ? "pkcs11:" : "",
	    r.keyref_type == POLREC_KEYREF_NONE ? "none" : "",
	    r.keyref && r.keyref_type == POLREC_KEYREF_FILE ? r.keyref :
	    r.keyref ? r.keyref + 7 : "", r.ncerts, total);
	uids(o, r.uids, r.nuids);
	polrec_localid_free(&r);
}

static void disclose(struct out *o, const uint8_t *v, size_t len)
{
	struct polrec_disclose r;
	char why[160];

	if (polrec_disclose_decode(v, len, &r, why, sizeof(why)) < 0) {
		put(o, "undecodable: %s", why);
		return;
	}
	put(o, "show=");
	if (r.nids == 0)
		put(o, "none");
	for (size_t i = 0; i < r.nids; i++)
		put(o, "%s%s", i ? "," : "", r.ids[i]);
	polrec_disclose_free(&r);
}

static void trust(struct out *o, const uint8_t *v, size_t len)
{
	struct polrec_trust r;
	char why[160];

	if (polrec_trust_decode(v, len, &r, why, sizeof(why)) < 0) {
		put(o, "undecodable: %s", why);
		return;
	}
	put(o, "kind=%s peers=%s for=%s der=%zu bytes",
	    polrec_trust_kind_name(r.kind),
	    r.flags == POLREC_TRUSTF_MASK ? "both" :
	    r.flags == POLREC_TRUSTF_CLIENTS ? "clients" :
	    r.flags == POLREC_TRUSTF_SERVERS ? "servers" : "-",
	    r.bound_id ? r.bound_id : "any", r.der.len);
	polrec_trust_free(&r);
}

static void policy(struct out *o, const uint8_t *v, size_t len)
{
	struct polrec_policy r;
	char why[160], kinds[32];

	if (polrec_policy_decode(v, len, &r, why, sizeof(why)) < 0) {
		put(o, "undecodable: %s", why);
		return;
	}
	put(o, "min=%s max=%s client-auth=%s kinds=%s priority=%s valexp=%s",
	    polrec_version_name(r.min_version), polrec_version_name(r.max_version),
	    polrec_cauth_name(r.client_auth),
	    polrec_kinds_format(r.kinds, kinds, sizeof(kinds)),
	    r.priority ? r.priority : "default", r.valexp ? r.valexp : "none");
	uids(o, r.uids, r.nuids);
	polrec_policy_free(&r);
}

void crank_describe(enum policydb_which db, const uint8_t *val, size_t len,
		    char *buf, size_t cap)
{
	struct out o = { buf, cap, 0 };

	if (cap == 0)
		return;
	buf[0] = '\0';
	switch (db) {
	case POLICYDB_LOCALID:
		localid(&o, val, len);
		break;
	case POLICYDB_DISCLOSE:
		disclose(&o, val, len);
		break;
	case POLICYDB_TRUST:
		trust(&o, val, len);
		break;
	case POLICYDB_POLICY:
		policy(&o, val, len);
		break;
	default:
		put(&o, "not a policy record");
	}
}

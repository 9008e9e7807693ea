/* crank_entry: records as signed LDAP entries, and their differences. */
#include "crank_entry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "psign.h"

void crank_entry_free(struct crank_entry *e)
{
	for (size_t i = 0; i < e->nattrs; i++) {
		for (size_t j = 0; j < e->attrs[i].nvals; j++)
			free(e->attrs[i].vals[j].data);
		free(e->attrs[i].vals);
		free(e->attrs[i].type);
	}
	free(e->attrs);
	free(e->dn);
	memset(e, 0, sizeof(*e));
}

int crank_entry_add_attr(struct crank_entry *e, const char *type,
			 const struct crank_val *vals, size_t nvals)
{
	struct crank_attr *na = realloc(e->attrs, (e->nattrs + 1) * sizeof(*na));
	struct crank_attr *a;

	if (na == NULL)
		return -ENOMEM;
	e->attrs = na;
	a = &na[e->nattrs];
	memset(a, 0, sizeof(*a));
	a->type = strdup(type);
	a->vals = calloc(nvals ? nvals : 1, sizeof(*a->vals));
	if (a->type == NULL || a->vals == NULL)
		goto nomem;
	e->nattrs++;
	for (size_t i = 0; i < nvals; i++) {
		a->vals[i].data = malloc(vals[i].len ? vals[i].len : 1);
		if (a->vals[i].data == NULL)
			return -ENOMEM;
		memcpy(a->vals[i].data, vals[i].data, vals[i].len);
		a->vals[i].len = vals[i].len;
		a->nvals++;
	}
	return 0;
nomem:
	free(a->type);
	free(a->vals);
	return -ENOMEM;
}

static int add_str(struct crank_entry *e, const char *type, const char *s)
{
	struct crank_val v = { (uint8_t *)s, strlen(s) };

	return crank_entry_add_attr(e, type, &v, 1);
}

const struct crank_attr *crank_entry_attr(const struct crank_entry *e,
					  const char *type)
{
	size_t n = strcspn(type, ";");	/* options (";binary") do not count */

	for (size_t i = 0; i < e->nattrs; i++)
		if (strncasecmp(e->attrs[i].type, type, n) == 0 &&
		    (e->attrs[i].type[n] == '\0' || e->attrs[i].type[n] == ';'))
			return &e->attrs[i];
	return NULL;
}

/* RFC 4514 escaping of an attribute value into out. */
static void dn_escape(const char *v, char *out, size_t cap)
{
	size_t o = 0, n = strlen(v);

	for (size_t i = 0; i < n && o + 4 < cap; i++) {
		char c = v[i];

		if (strchr(",+\"\\<>;=", c) != NULL ||
		    (i == 0 && (c == '#' || c == ' ')) ||
		    (i == n - 1 && c == ' '))
			out[o++] = '\\';
		out[o++] = c;
	}
	out[o] = '\0';
}

static int set_dn(struct crank_entry *e, const char *base, const char *a1,
		  const char *v1, const char *a2, const char *v2,
		  const char *a3, const char *v3)
{
	char x1[2 * POLREC_NAME_MAX + 8], x2[2 * POLREC_NAME_MAX + 8],
		x3[2 * POLREC_NAME_MAX + 8];
	size_t len;

	dn_escape(v1, x1, sizeof(x1));
	dn_escape(v2 ? v2 : "", x2, sizeof(x2));
	dn_escape(v3 ? v3 : "", x3, sizeof(x3));
	len = strlen(base) + strlen(x1) + strlen(x2) + strlen(x3) + 200;
	e->dn = malloc(len);
	if (e->dn == NULL)
		return -ENOMEM;
	snprintf(e->dn, len, "%s=%s%s%s%s%s%s%s%s%s,%s", a1, x1, a2 ? "+" : "",
		 a2 ? a2 : "", a2 ? "=" : "", a2 ? x2 : "", a3 ? "+" : "",
		 a3 ? a3 : "", a3 ? "=" : "", a3 ? x3 : "", base);
	return 0;
}

/* The entry's attributes as pulley's psign sees them. */
static int sign(struct crank_entry *e, const uint8_t sk[64])
{
	struct pscript_attr *pa = calloc(e->nattrs, sizeof(*pa));
	struct pscript_value *pv;
	struct crank_val sig;
	uint8_t s[64];
	size_t nv = 0, k = 0;
	int rc;

	for (size_t i = 0; i < e->nattrs; i++)
		nv += e->attrs[i].nvals;
	pv = calloc(nv ? nv : 1, sizeof(*pv));
	if (pa == NULL || pv == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < e->nattrs; i++) {
		pa[i].type = e->attrs[i].type;
		pa[i].nvals = e->attrs[i].nvals;
		pa[i].vals = &pv[k];
		for (size_t j = 0; j < e->attrs[i].nvals; j++, k++) {
			pv[k].data = e->attrs[i].vals[j].data;
			pv[k].len = e->attrs[i].vals[j].len;
		}
	}
	rc = psign_sign(pa, e->nattrs, sk, s);
	if (rc == 0) {
		sig.data = s;
		sig.len = sizeof(s);
		rc = crank_entry_add_attr(e, "tlsPoolSignature", &sig, 1);
	}
out:
	free(pa);
	free(pv);
	return rc;
}

static int entry_localid(const struct crank_rec *r, const char *base,
			 struct crank_entry *e, char *err, size_t errlen)
{
	struct polrec_localid rec;
	char id[POLREC_NAME_MAX + 1], why[256];
	enum polrec_cred kind;
	int rc = polrec_localid_key_parse(r->key, r->keylen, id, sizeof(id),
					  &kind, why, sizeof(why));

	if (rc == 0)
		rc = polrec_localid_decode(r->val, r->vallen, &rec, why,
					   sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", r->label, why);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	rc = add_str(e, "objectClass", "tlsPoolLocalUserCredential");
	if (rc == 0)
		rc = add_str(e, "tlsPoolIdentity", id);
	if (rc == 0)
		rc = add_str(e, "tlsPoolCredentialType", polrec_cred_name(kind));
	if (rc == 0)
		rc = add_str(e, "tlsPoolSupportedRole", polrec_role_name(rec.roles));
	if (rc == 0)
		rc = set_dn(e, base, "tlsPoolIdentity", id, "tlsPoolCredentialType",
			    polrec_cred_name(kind), NULL, NULL);
	polrec_localid_free(&rec);
	return rc;
}

static int entry_trust(const struct crank_rec *r, const char *base,
		       struct crank_entry *e, char *err, size_t errlen)
{
	struct polrec_trust rec;
	char why[256];
	const char *kind, *hex = r->key + r->keylen - 64;
	int rc = polrec_trust_decode(r->val, r->vallen, &rec, why, sizeof(why));

	if (rc == 0)
		rc = polrec_trust_key_check(r->key, r->keylen, &rec, why,
					    sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", r->label, why);
		polrec_trust_free(&rec);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	kind = polrec_trust_kind_name(rec.kind);
	rc = add_str(e, "objectClass", "tlsPoolTrustedIssuer");
	if (rc == 0)
		rc = add_str(e, "tlsPoolTrustKind", kind);
	if (rc == 0)
		rc = add_str(e, "tlsPoolKeyHash", hex);
	if (rc == 0 && rec.bound_id != NULL)
		rc = add_str(e, "tlsPoolIdentity", rec.bound_id);
	if (rc == 0)
		rc = set_dn(e, base, "tlsPoolTrustKind", kind, "tlsPoolKeyHash",
			    hex, rec.bound_id ? "tlsPoolIdentity" : NULL,
			    rec.bound_id);
	polrec_trust_free(&rec);
	return rc;
}

static int entry_policy(const struct crank_rec *r, const char *base,
			struct crank_entry *e, char *err, size_t errlen)
{
	struct polrec_policy rec;
	char sel[POLREC_NAME_MAX + 1], why[256];
	unsigned role;
	int rc = polrec_policy_key_parse(r->key, r->keylen, sel, sizeof(sel),
					 &role, why, sizeof(why));

	if (rc == 0)
		rc = polrec_policy_decode(r->val, r->vallen, &rec, why,
					  sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", r->label, why);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	rc = add_str(e, "objectClass", "tlsPoolValidationRequirements");
	if (rc == 0)
		rc = add_str(e, "tlsPoolSelector", sel);
	if (rc == 0)
		rc = add_str(e, "tlsPoolSupportedRole", polrec_role_name(role));
	if (rc == 0 && rec.valexp != NULL)
		rc = add_str(e, "tlsPoolValidationExpression", rec.valexp);
	if (rc == 0)
		rc = set_dn(e, base, "tlsPoolSelector", sel, "tlsPoolSupportedRole",
			    polrec_role_name(role), NULL, NULL);
	polrec_policy_free(&rec);
	return rc;
}

int crank_entry_from_rec(const struct crank_rec *r, const char *base,
			 const uint8_t sk[64], struct crank_entry *e,
			 char *err, size_t errlen)
{
	struct crank_val rec = { r->val, r->vallen };
	int rc;

	memset(e, 0, sizeof(*e));
	e->is_policy = e->keyed = 1;
	e->db = r->db;
	memcpy(e->key, r->key, r->keylen + 1);
	e->keylen = r->keylen;
	snprintf(e->label, sizeof(e->label), "%s", r->label);
	switch (r->db) {
	case POLICYDB_LOCALID:
		rc = entry_localid(r, base, e, err, errlen);
		break;
	case POLICYDB_DISCLOSE:
		rc = add_str(e, "objectClass", "tlsPoolIdentityDisclosure");
		if (rc == 0)
			rc = add_str(e, "tlsPoolSelector", r->key);
		if (rc == 0)
			rc = set_dn(e, base, "tlsPoolSelector", r->key, NULL, NULL,
				    NULL, NULL);
		break;
	case POLICYDB_TRUST:
		rc = entry_trust(r, base, e, err, errlen);
		break;
	default:
		rc = entry_policy(r, base, e, err, errlen);
		break;
	}
	if (rc == 0)
		rc = crank_entry_add_attr(e, "tlsPoolPolicyRecord", &rec, 1);
	if (rc == 0)
		rc = sign(e, sk);
	if (rc < 0)
		crank_entry_free(e);
	return rc;
}

/* ---- entries read from the directory ---- */

/* The single value of type as a string into buf; 0 or -1. */
static int one_str(const struct crank_entry *e, const char *type, char *buf,
		   size_t cap)
{
	const struct crank_attr *a = crank_entry_attr(e, type);

	if (a == NULL || a->nvals != 1 || a->vals[0].len >= cap ||
	    memchr(a->vals[0].data, 0, a->vals[0].len) != NULL)
		return -1;
	memcpy(buf, a->vals[0].data, a->vals[0].len);
	buf[a->vals[0].len] = '\0';
	return 0;
}

static const char *const classes[] = {
	[POLICYDB_LOCALID] = "tlsPoolLocalUserCredential",
	[POLICYDB_DISCLOSE] = "tlsPoolIdentityDisclosure",
	[POLICYDB_TRUST] = "tlsPoolTrustedIssuer",
	[POLICYDB_POLICY] = "tlsPoolValidationRequirements",
};

static int key_of(struct crank_entry *e)
{
	char a[POLREC_NAME_MAX + 1], b[POLREC_NAME_MAX + 1], c[POLREC_NAME_MAX + 1];
	int k;

	switch (e->db) {
	case POLICYDB_LOCALID:
		if (one_str(e, "tlsPoolIdentity", a, sizeof(a)) < 0 ||
		    one_str(e, "tlsPoolCredentialType", b, sizeof(b)) < 0 ||
		    (k = polrec_cred_parse(b)) < 0)
			return -1;
		return polrec_localid_key(a, (enum polrec_cred)k, e->key,
					  sizeof(e->key), &e->keylen);
	case POLICYDB_DISCLOSE:
		if (one_str(e, "tlsPoolSelector", a, sizeof(a)) < 0)
			return -1;
		e->keylen = strlen(a);
		memcpy(e->key, a, e->keylen + 1);
		return 0;
	case POLICYDB_TRUST:
		if (one_str(e, "tlsPoolTrustKind", a, sizeof(a)) < 0 ||
		    one_str(e, "tlsPoolKeyHash", b, sizeof(b)) < 0)
			return -1;
		if (crank_entry_attr(e, "tlsPoolIdentity") == NULL)
			c[0] = '\0';
		else if (one_str(e, "tlsPoolIdentity", c, sizeof(c)) < 0)
			return -1;
		for (k = POLREC_TRUST_ANCHOR; k <= POLREC_TRUST_CRL; k++)
			if (strcmp(polrec_trust_kind_name((enum polrec_trust_kind)k),
				   a) == 0)
				return polrec_trust_key((enum polrec_trust_kind)k,
							b, c, e->key,
							sizeof(e->key), &e->keylen);
		return -1;
	default:
		if (one_str(e, "tlsPoolSelector", a, sizeof(a)) < 0 ||
		    one_str(e, "tlsPoolSupportedRole", b, sizeof(b)) < 0 ||
		    ((k = polrec_role_parse(b)) != POLREC_ROLE_CLIENT &&
		     k != POLREC_ROLE_SERVER))
			return -1;
		return polrec_policy_key(a, (unsigned)k, e->key, sizeof(e->key),
					 &e->keylen);
	}
}

int crank_entry_key(struct crank_entry *e)
{
	const struct crank_attr *oc = crank_entry_attr(e, "objectClass");

	e->is_policy = e->keyed = 0;
	for (size_t i = 0; oc != NULL && i < oc->nvals; i++)
		for (int d = POLICYDB_LOCALID; d <= POLICYDB_POLICY; d++)
			if (oc->vals[i].len == strlen(classes[d]) &&
			    strncasecmp((const char *)oc->vals[i].data, classes[d],
					oc->vals[i].len) == 0) {
				e->is_policy = 1;
				e->db = (enum policydb_which)d;
			}
	if (!e->is_policy)
		return 0;
	if (key_of(e) == 0) {
		e->keyed = 1;
		crank_rec_label(e->db, e->key, e->keylen, e->label,
				sizeof(e->label));
	} else {
		snprintf(e->label, sizeof(e->label), "%s (malformed entry)",
			 classes[e->db]);
	}
	return 0;
}

/* ---- differences ---- */

static int val_cmp(const void *a, const void *b)
{
	const struct crank_val *x = *(const struct crank_val *const *)a;
	const struct crank_val *y = *(const struct crank_val *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->data, y->data, n) : 0;

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Equal value multisets (byte-exact)?  NULL attributes are empty. */
static int same_vals(const struct crank_attr *a, const struct crank_attr *b)
{
	size_t na = a ? a->nvals : 0, nb = b ? b->nvals : 0;
	const struct crank_val **pa, **pb;
	int same = 1;

	if (na != nb)
		return 0;
	if (na == 0)
		return 1;
	pa = calloc(na, sizeof(*pa));
	pb = calloc(na, sizeof(*pb));
	if (pa == NULL || pb == NULL) {
		same = 0;	/* treated as changed: rewritten */
		goto out;
	}
	for (size_t i = 0; i < na; i++) {
		pa[i] = &a->vals[i];
		pb[i] = &b->vals[i];
	}
	qsort(pa, na, sizeof(*pa), val_cmp);
	qsort(pb, na, sizeof(*pb), val_cmp);
	for (size_t i = 0; same && i < na; i++)
		same = val_cmp(&pa[i], &pb[i]) == 0;
out:
	free(pa);
	free(pb);
	return same;
}

static int counts(const char *type)
{
	return strncasecmp(type, "tlspool", 7) == 0;
}

/* Note type as changed; 0, or -1 when it does not fit in changed[]
 * (too many changes, or a name too long to be kept whole). */
static int note(char changed[][48], size_t cap, size_t *n, const char *type)
{
	size_t l = strcspn(type, ";");

	for (size_t i = 0; i < *n && i < cap; i++)
		if (strlen(changed[i]) == l && strncasecmp(changed[i], type, l) == 0)
			return 0;
	if (*n >= cap || l >= 48)
		return -1;
	snprintf(changed[*n], 48, "%.*s", (int)l, type);
	(*n)++;
	return 0;
}

int crank_entry_diff(const struct crank_entry *have,
		     const struct crank_entry *want, char changed[][48],
		     size_t cap)
{
	size_t n = 0;

	if (!same_vals(crank_entry_attr(have, "objectClass"),
		       crank_entry_attr(want, "objectClass")))
		return -1;
	/* a change list that does not fit would leave attributes out of
	 * the modify (stale values beside a new signature): replace */
	for (size_t i = 0; i < want->nattrs; i++)
		if (counts(want->attrs[i].type) &&
		    !same_vals(crank_entry_attr(have, want->attrs[i].type),
			       &want->attrs[i]) &&
		    note(changed, cap, &n, want->attrs[i].type) < 0)
			return -1;
	/* a type in two spellings (options): pulley refuses the entry and
	 * a modify of one leaves the other; only a new entry drops it */
	for (size_t i = 0; i < have->nattrs; i++) {
		const char *t = have->attrs[i].type;
		size_t l = strcspn(t, ";");

		for (size_t j = 0; counts(t) && j < i; j++)
			if (strncasecmp(have->attrs[j].type, t, l) == 0 &&
			    strcspn(have->attrs[j].type, ";") == l)
				return -1;
	}
	for (size_t i = 0; i < have->nattrs; i++)
		if (counts(have->attrs[i].type) &&
		    crank_entry_attr(want, have->attrs[i].type) == NULL &&
		    note(changed, cap, &n, have->attrs[i].type) < 0)
			return -1;
	return (int)n;
}

/* crank_entry -- policy records as LDAP entries (etc/tlspool.schema,
 * doc/crank.md "In the directory"), signed over pulley's canonical form
 * (pulley/psign), and the difference between two versions of an entry.
 *
 * One record = one entry directly under the crank's subtree.  The
 * attributes of the RDN are the record's database key:
 *   localid   tlsPoolIdentity=ID+tlsPoolCredentialType=KIND
 *   disclose  tlsPoolSelector=SEL
 *   trust     tlsPoolTrustKind=KIND+tlsPoolKeyHash=HEX
 *             (+tlsPoolIdentity=ID for a pin bound to an identity)
 *   policy    tlsPoolSelector=SEL+tlsPoolSupportedRole=ROLE
 * plus tlsPoolPolicyRecord (the record's bytes), the attributes the
 * object class requires, tlsPoolValidationExpression on a rule that has
 * one (a readable copy), and tlsPoolSignature.
 */
#ifndef CRANK_ENTRY_H
#define CRANK_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "crank_build.h"
#include "policydb.h"

#define CRANK_ENTRY_ATTRS 12

struct crank_val {
	uint8_t *data;
	size_t len;
};

struct crank_attr {
	char *type;			/* as written or as the server sent */
	struct crank_val *vals;
	size_t nvals;
};

struct crank_entry {
	char *dn;
	int is_policy;			/* has a tlsPool object class */
	int keyed;			/* db and key are known */
	enum policydb_which db;
	char key[POLREC_KEY_MAX + 1];
	size_t keylen;
	char label[CRANK_LABEL_MAX];
	struct crank_attr *attrs;
	size_t nattrs;
};

/* The entry for a record under base, signed with sk.  0, -EINVAL with
 * err (a record that does not decode), -ENOMEM. */
int crank_entry_from_rec(const struct crank_rec *r, const char *base,
			 const uint8_t sk[64], struct crank_entry *e,
			 char *err, size_t errlen);

/* Add an attribute (values copied) to e.  0 or -ENOMEM. */
int crank_entry_add_attr(struct crank_entry *e, const char *type,
			 const struct crank_val *vals, size_t nvals);

/* Work out db, key and label from the attributes of an entry read from
 * the directory (sets is_policy and keyed).  0, or -ENOMEM. */
int crank_entry_key(struct crank_entry *e);

/* Attributes that differ between have (in the directory) and want:
 * only objectClass and tlsPool* attributes count.  Fills changed[] with
 * the lower-case types (at most cap); returns their number, or -1 when
 * the object classes differ or the changes do not fit in changed[]
 * (the entry must be replaced). */
int crank_entry_diff(const struct crank_entry *have,
		     const struct crank_entry *want, char changed[][48],
		     size_t cap);

/* The attribute of e with that type (case-insensitive), or NULL. */
const struct crank_attr *crank_entry_attr(const struct crank_entry *e,
					  const char *type);

void crank_entry_free(struct crank_entry *e);

#endif

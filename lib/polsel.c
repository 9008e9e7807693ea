/* polsel -- choose the policy for a connection from the policy databases. */
#include "polsel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "valexp.h"

/* The selectors of a subject, most concrete first.  A subject that is no
 * DoNAI (an address literal, empty) only meets the catch-alls. */
static unsigned selectors(const char *subject, char sel[][DONAI_BUFSIZE],
			  unsigned max)
{
	struct donai d;
	struct donai_iter it;
	char why[64];
	unsigned n = 0;

	if (subject[0] != '\0' &&
	    donai_parse(subject, &d, why, sizeof(why)) == 0) {
		donai_iter_init(&it, &d);
		while (n < max &&
		       donai_iter_next(&it, sel[n], DONAI_BUFSIZE, NULL) == 1)
			n++;
		return n;
	}
	if (n < max && strchr(subject, '@') != NULL)
		snprintf(sel[n++], DONAI_BUFSIZE, "@.");
	if (n < max)
		snprintf(sel[n++], DONAI_BUFSIZE, ".");
	return n;
}

static int uid_allowed(const uint32_t *uids, size_t n, uid_t uid)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (uids[i] == (uint32_t)uid)
			return 1;
	return 0;
}

static int find_rule(struct policydb_txn *txn, const struct polsel_query *q,
		     struct polsel_decision *d)
{
	const char *subject = q->role == POLREC_ROLE_CLIENT ? q->remoteid
							    : q->localid;
	char sel[16][DONAI_BUFSIZE];
	unsigned n = selectors(subject, sel, 16);

	for (unsigned i = 0; i < n; i++) {
		int rc = policydb_policy_get(txn, sel[i], q->role, &d->pol);

		memcpy(d->tried[d->ntried++], sel[i], DONAI_BUFSIZE);
		if (rc == -ENOENT || rc == -EBADMSG)
			continue;	/* corrupt records are reported, skipped */
		if (rc < 0)
			return rc;
		memcpy(d->rule, sel[i], DONAI_BUFSIZE);
		d->have_record = 1;
		return 0;
	}
	return 0;
}

static int find_disclosure(struct policydb_txn *txn,
			   const struct polsel_query *q,
			   struct polsel_decision *d)
{
	char sel[16][DONAI_BUFSIZE];
	unsigned n = selectors(q->remoteid, sel, 16);

	for (unsigned i = 0; i < n; i++) {
		struct polrec_disclose r = { 0 };
		int rc = policydb_disclose_get(txn, sel[i], &r);

		if (rc == -ENOENT || rc == -EBADMSG)
			continue;
		if (rc < 0)
			return rc;
		memcpy(d->disclose_rule, sel[i], DONAI_BUFSIZE);
		for (size_t k = 0; k < r.nids; k++) {
			if (k == 0)
				snprintf(d->localid, sizeof(d->localid), "%s",
					 r.ids[0]);
			else if (d->nalternatives < 4)
				snprintf(d->alternatives[d->nalternatives++],
					 DONAI_BUFSIZE, "%s", r.ids[k]);
		}
		polrec_disclose_free(&r);
		return 0;
	}
	return 0;
}

/* Check the record against the request; fill the expression. */
static int apply_rule(const struct polsel_query *q, struct polsel_decision *d,
		      char *why, size_t whylen)
{
	const char *text;
	struct valexp *e = NULL;
	char err[128];
	size_t pos = 0;

	if (d->have_record && !uid_allowed(d->pol.uids, d->pol.nuids, q->uid)) {
		snprintf(why, whylen, "rule %s: uid %u may not use it", d->rule,
			 (unsigned)q->uid);
		return -EACCES;
	}
	text = d->have_record && d->pol.valexp != NULL ? d->pol.valexp
		: q->role == POLREC_ROLE_CLIENT ? POLSEL_DEFAULT_CLIENT
						: POLSEL_DEFAULT_SERVER;
	if (valexp_compile(text, POLSEL_PREDICATES, &e, err, sizeof(err),
			   &pos) < 0) {
		snprintf(why, whylen, "rule %s: validation expression \"%s\" "
			 "refused at %zu: %s", d->rule, text, pos, err);
		return -EINVAL;
	}
	valexp_free(e);
	snprintf(d->valexp, sizeof(d->valexp), "%s", text);
	return 0;
}

int polsel_decide(struct policydb *db, const struct polsel_query *q,
		  struct polsel_decision *d, char *why, size_t whylen)
{
	struct policydb_txn *txn = NULL;
	int rc;

	memset(d, 0, sizeof(*d));
	if (db != NULL) {
		rc = policydb_begin(db, &txn, 0);
		if (rc < 0) {
			snprintf(why, whylen, "policy database: %s",
				 strerror(-rc));
			return rc;
		}
		rc = policydb_txn_serial(txn, &d->serial);
		if (rc == 0)
			rc = find_rule(txn, q, d);
		if (rc == 0 && q->role == POLREC_ROLE_CLIENT &&
		    q->localid[0] == '\0')
			rc = find_disclosure(txn, q, d);
		policydb_abort(txn);
		if (rc < 0) {
			snprintf(why, whylen, "policy database: %s",
				 strerror(-rc));
			goto fail;
		}
	}
	if (q->localid[0] != '\0')
		snprintf(d->localid, sizeof(d->localid), "%s", q->localid);
	rc = apply_rule(q, d, why, whylen);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	polsel_decision_free(d);
	return rc;
}

void polsel_decision_free(struct polsel_decision *d)
{
	polrec_policy_free(&d->pol);
}

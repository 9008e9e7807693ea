/* session_lid -- a client-role session asks the registered local identity
 * chooser (PROTOCOL.md, LIDENTRY) which identity to show.
 *
 * With WANT_DBENTRY the chooser first sees the disclose.db entries found
 * for the peer (flag DBENTRY, one callback each, answers ignored unless
 * ERROR), then the question itself: remoteid the concrete remote
 * identity, localid the suggestion, maxlevels how far up its selectors
 * go.  Its answer names the identity (empty: show none) and, with
 * DBINSERT / DBAPPEND (and DBREORDER), asks that the choice be stored in
 * disclose.db under the selector it names; that is written only once the
 * handshake succeeded, so a choice that fails is not remembered.
 */
#include "session_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctlconn.h"
#include "donai.h"
#include "lidentry.h"
#include "policydb.h"
#include "polsel.h"
#include "tplog.h"

/* How many levels of selectors the remote identity has above itself. */
static uint16_t max_levels(const char *remoteid)
{
	struct donai d;
	struct donai_iter it;
	char sel[DONAI_BUFSIZE], why[64];
	unsigned level = 0;

	if (donai_parse(remoteid, &d, why, sizeof(why)) < 0)
		return 0;
	donai_iter_init(&it, &d);
	while (donai_iter_next(&it, sel, sizeof(sel), &level) == 1)
		;
	return (uint16_t)level;
}

/* The disclose entries shown with WANT_DBENTRY: the first, then the
 * alternatives polsel found. */
static const char *db_entry(const struct session *s, unsigned i)
{
	const struct polsel_decision *d = s->decision;

	if (i == 0)
		return d->localid;
	return d->alternatives[i - 1];
}

static int send_next(struct session *s)
{
	const struct polsel_decision *d = s->decision;
	const char *remote = s->req.pio_data.pioc_starttls.remoteid;
	struct tlspool_command cb;
	struct pioc_lidentry *l = &cb.pio_data.pioc_lidentry;
	uint32_t flags;
	uint16_t reqid;
	struct ctlconn *c = lidentry_chooser(&flags, &reqid);

	if (c == NULL)
		return -ENOTCONN;
	memset(&cb, 0, sizeof(cb));
	cb.pio_reqid = reqid;
	cb.pio_cmd = PIOC_LIDENTRY_CALLBACK_V2;
	l->flags = flags;
	if (s->lid_sent < s->lid_entries) {
		l->flags |= PIOF_LIDENTRY_DBENTRY;
		snprintf(l->remoteid, sizeof(l->remoteid), "%s", d->disclose_rule);
		snprintf(l->localid, sizeof(l->localid), "%s",
			 db_entry(s, s->lid_sent));
	} else {
		snprintf(l->remoteid, sizeof(l->remoteid), "%s", remote);
		snprintf(l->localid, sizeof(l->localid), "%s", s->localid);
	}
	l->maxlevels = max_levels(remote);
	s->lid_sent++;
	return session_callback_to(s, c, &cb);
}

int session_ask_chooser(struct session *s)
{
	const struct polsel_decision *d = s->decision;
	const char *remote = s->req.pio_data.pioc_starttls.remoteid;
	uint32_t flags;
	uint16_t reqid;
	struct ctlconn *c = lidentry_chooser(&flags, &reqid);

	if (c == NULL)
		return 0;
	ctlconn_unref(c);
	if (d->disclose_rule[0] != '\0' &&
	    lidentry_may_skip(flags, d->disclose_rule, remote))
		return 0;
	s->lid_flags = flags;
	s->lid_sent = 0;
	s->lid_entries = 0;
	if ((flags & PIOF_LIDENTRY_WANT_DBENTRY) && d->disclose_rule[0] != '\0'
	    && d->localid[0] != '\0')
		s->lid_entries = 1 + d->nalternatives;
	if (send_next(s) < 0)
		return 0;	/* the chooser just left: decide without it */
	s->state = S_LIDENTRY_CB;
	return 1;
}

/* Remember what the chooser asked to store, if its selector is one of
 * the remote identity's within maxlevels. */
static void note_update(struct session *s, const struct pioc_lidentry *a)
{
	struct donai id;
	char why[64];
	uint32_t mode = a->flags & (PIOF_LIDENTRY_DBINSERT |
				    PIOF_LIDENTRY_DBAPPEND |
				    PIOF_LIDENTRY_DBREORDER);

	if (!(mode & (PIOF_LIDENTRY_DBINSERT | PIOF_LIDENTRY_DBAPPEND)))
		return;
	if (a->localid[0] == '\0' || s->db == NULL ||
	    donai_parse(s->req.pio_data.pioc_starttls.remoteid, &id, why,
			sizeof(why)) < 0 ||
	    donai_selector_covers(a->remoteid, &id) != 1) {
		tplog(LOG_NOTICE, "identity chooser: not storing \"%s\" for "
		      "\"%s\": the selector does not cover the peer",
		      a->localid, a->remoteid);
		return;
	}
	snprintf(s->lid_sel, sizeof(s->lid_sel), "%s", a->remoteid);
	s->lid_mode = mode;
}

void session_lidentry_answered(struct session *s,
			       const struct pioc_lidentry *a)
{
	if (s->lid_sent <= s->lid_entries) {
		/* a DBENTRY shown; the question itself comes next */
		if (send_next(s) < 0)
			session_fail(s, ENOTCONN, "the identity chooser left");
		return;
	}
	snprintf(s->localid, sizeof(s->localid), "%s", a->localid);
	note_update(s, a);
	tplog(LOG_INFO, "%s: identity chooser picked \"%s\" for \"%s\"",
	      s->peer, s->localid, s->req.pio_data.pioc_starttls.remoteid);
	session_client_identity_chosen(s);
}

/* The new list: id inserted first or appended last; an id already there
 * keeps its place unless DBREORDER moves it. */
static int updated_list(const struct polrec_disclose *old, const char *id,
			uint32_t mode, char **out, size_t *n)
{
	int present = -1;

	*n = 0;
	for (size_t i = 0; i < old->nids; i++)
		if (strcmp(old->ids[i], id) == 0)
			present = (int)i;
	if (present >= 0 && !(mode & PIOF_LIDENTRY_DBREORDER))
		return 0;	/* nothing changes */
	if (mode & PIOF_LIDENTRY_DBINSERT)
		out[(*n)++] = (char *)id;
	for (size_t i = 0; i < old->nids && *n < POLREC_IDS_MAX; i++)
		if ((int)i != present)
			out[(*n)++] = old->ids[i];
	if (!(mode & PIOF_LIDENTRY_DBINSERT) && *n < POLREC_IDS_MAX)
		out[(*n)++] = (char *)id;
	return 1;
}

void session_lidentry_commit(struct session *s)
{
	struct policydb_txn *txn;
	struct polrec_disclose old = { 0 }, neu = { 0 };
	char *ids[POLREC_IDS_MAX], why[128];
	int rc;

	if (s->lid_sel[0] == '\0')
		return;
	rc = policydb_begin(s->db, &txn, 1);
	if (rc < 0)
		goto fail;
	rc = policydb_disclose_get(txn, s->lid_sel, &old);
	if (rc < 0 && rc != -ENOENT) {
		policydb_abort(txn);
		goto fail;
	}
	neu.ids = ids;
	if (!updated_list(&old, s->localid, s->lid_mode, ids, &neu.nids)) {
		policydb_abort(txn);
		polrec_disclose_free(&old);
		return;
	}
	rc = policydb_disclose_put(txn, s->lid_sel, &neu, why, sizeof(why));
	polrec_disclose_free(&old);
	if (rc < 0) {
		policydb_abort(txn);
		goto fail;
	}
	rc = policydb_commit(txn);
	if (rc < 0)
		goto fail;
	tplog(LOG_NOTICE, "disclose %s: stored %s as the identity chooser asked",
	      s->lid_sel, s->localid);
	return;
fail:
	tplog(LOG_ERR, "disclose %s: cannot store the chooser's choice: %s",
	      s->lid_sel, strerror(-rc));
}

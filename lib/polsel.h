/* polsel -- choose the policy for a connection from the policy databases.
 *
 * The same code answers the daemon (for a real handshake) and
 * `tlspool-ctl explain` (for a hypothetical one), so what explain prints
 * is what the daemon does.
 *
 * Rule lookup (policy.db): the subject is the remote identity in the
 * client role and the local identity (the name being served) in the
 * server role, because a server learns who the client is only inside the
 * handshake.  Its DoNAI selectors are tried from the most concrete to
 * "@." / "."; the first record for the role wins.  With no record the
 * secure default applies: the peer must prove the remote identity ("I")
 * through a chain to a trust anchor ("T"): expression "IT&" in the client
 * role; in the server role a client certificate chaining to an anchor
 * ("T") is required unless the application relaxed that.
 *
 * Local identity (client role, none requested): disclose.db, by the
 * remote identity's selectors, most concrete first; the first record
 * names the identities that may be shown, in order; an empty list means
 * "show none".  Without a record the client shows no identity.
 */
#ifndef TP_POLSEL_H
#define TP_POLSEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "donai.h"
#include "policydb.h"
#include "polrec.h"

/* Predicates the daemon evaluates (valexp letters). */
#define POLSEL_PREDICATES "IiFfTtRrEePpUSsCcLlQqOoKDdGg"

/* Secure default expressions (documented above). */
#define POLSEL_DEFAULT_CLIENT "IT&"
#define POLSEL_DEFAULT_SERVER "T"
/* Client role with DNSSEC configured (dnssec_rootkey or dnssec_config):
 * DANE decides where DNSSEC-secure TLSA records exist, else PKIX. */
#define POLSEL_DEFAULT_CLIENT_DANE "dIT&|"
#define POLSEL_DEFAULT_CLIENT_DANE_DOMAIN "diT&|"

struct polsel_query {
	unsigned role;			/* POLREC_ROLE_CLIENT or _SERVER */
	const char *localid;		/* requested, "" for none */
	const char *remoteid;		/* requested, "" for none */
	uid_t uid;			/* requesting application */
};

struct polsel_decision {
	char rule[DONAI_BUFSIZE];	/* selector matched; "" = default */
	int have_record;		/* 1: rule names a policy record */
	struct polrec_policy pol;	/* the record (zeroed for defaults) */
	char valexp[256];		/* expression to evaluate */
	char localid[DONAI_BUFSIZE];	/* client: identity to show or "" */
	char disclose_rule[DONAI_BUFSIZE];	/* disclose selector used */
	char alternatives[4][DONAI_BUFSIZE];	/* further disclosable ids */
	unsigned nalternatives;
	char tried[16][DONAI_BUFSIZE];	/* selectors tried for the rule */
	unsigned ntried;
	uint64_t serial;		/* policy serial the decision used */
};

/* Decide.  0, or -EACCES with the rule and reason in why (a rule that
 * refuses this uid or offers no usable credential kind), -EINVAL for a
 * stored valexp that does not compile (with the rule named), or another
 * -errno from the database.  db may be NULL: secure defaults only. */
int polsel_decide(struct policydb *db, const struct polsel_query *q,
		  struct polsel_decision *d, char *why, size_t whylen);

void polsel_decision_free(struct polsel_decision *d);

#endif

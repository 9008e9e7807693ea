/* metrics -- counters per rule and the audit trail.
 *
 * Per rule (selector and role; "(default)" for the secure default):
 * handshakes that succeeded, refusals by reason class, plaintext bytes
 * relayed each way, sessions active now.  Read as Prometheus text
 * (metrics_format) through the pool socket by `tlspool-ctl metrics` and
 * `tlspool-ctl status`.  Every decision also leaves one audit line: JSON
 * with time, requester uid and pid, roles, identities, rule, outcome and
 * reason; never key material or secrets.
 */
#ifndef TP_METRICS_H
#define TP_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum metrics_refusal {
	METRICS_REFUSED_POLICY,		/* a rule or the default refused */
	METRICS_REFUSED_HANDSHAKE,	/* TLS failed (alert, no cipher...) */
	METRICS_REFUSED_TIMEOUT,
	METRICS_REFUSED_APPLICATION,	/* a callback was refused */
	METRICS_REFUSED_OTHER,
	METRICS_NREFUSAL
};

struct metrics_event {
	const char *peer;		/* "uid=U pid=P" */
	int server;			/* local role */
	const char *localid, *remoteid;
	const char *rule;		/* "" for the secure default */
	const char *reason;		/* NULL when accepted */
	enum metrics_refusal refusal;
};

void metrics_accepted(const struct metrics_event *ev);
void metrics_refused(const struct metrics_event *ev);
/* A relayed session ended: its bytes; active count goes down. */
void metrics_closed(const char *rule, int server, uint64_t in, uint64_t out);

/* Prometheus text exposition into a malloc'ed string; NULL on ENOMEM. */
char *metrics_format(void);

/* Classify a refusal from the errno the session gives. */
enum metrics_refusal metrics_classify(int err);

#endif

/* session_int -- struct session, shared by session.c and session_info.c
 * only. */
#ifndef TP_SESSION_INT_H
#define TP_SESSION_INT_H

#include <limits.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <gnutls/gnutls.h>

#include "ctlkey.h"
#include "dnssec.h"
#include "gdir.h"
#include "metrics.h"
#include "ocsp_fetch.h"
#include "session.h"
#include "worker.h"

struct onthefly_cred;
struct session_kdh;
struct kdh_bind;
struct validate_kbind;
struct dconfig;

enum session_state {
	S_HELLO,	/* server with LOCALID_CHECK: waiting for ClientHello */
	S_LIDENTRY_CB,	/* waiting for the registered identity chooser */
	S_LOCALID_CB,	/* waiting for the application's STARTTLS_LOCALID */
	S_HANDSHAKE,
	S_VALIDATE,	/* waiting for the OCSP responder (valexp O/o) */
	S_PLAIN_CB,	/* waiting for PLAINTEXT_CONNECT's fd */
	S_RELAY,
	S_KDH_TICKET,	/* waiting for the Kerberos service ticket */
	S_KDH_BIND,	/* the channel-bound Kerberos exchange (valexp K) */
	S_DONE,
};

struct session {
	struct session *all_prev, *all_next;	/* live sessions, for shutdown */
	atomic_int refs;
	struct worker *w;
	struct ctlkey_link link;
	struct ev_source src;		/* cryptfd while handshaking */
	struct ev_timer deadline;
	struct ev_timer retry;		/* a partial ClientHello, looked at again */
	enum session_state state;
	int server;
	int cryptfd, plainfd;
	gnutls_session_t tls;
	struct cred_store *creds;
	const struct cred_identity *ident;
	struct onthefly_cred *otf;	/* LOCALID_ONTHEFLY: ident's owner */
	struct tlspool_command req;	/* the STARTTLS request */
	struct ctlconn *cbctl;		/* where the pending callback went */
	uint16_t cbid;
	int localid_checked;
	/* Asking the identity chooser: DBENTRY callbacks sent so far, how
	 * many there are, and the disclose update its answer asked for. */
	unsigned lid_sent, lid_entries;
	uint32_t lid_flags;
	char lid_sel[128];		/* selector to update, "" for none */
	uint32_t lid_mode;		/* PIOF_LIDENTRY_DB* of the answer */
	char why[256];			/* reason recorded inside a GnuTLS hook */
	char localid[128], remoteid[128];	/* authenticated */
	struct relay *relay;
	char *priority;
	struct policydb *db;		/* policy databases, or NULL */
	struct polsel_decision *decision;	/* the rule that applies */
	uid_t uid;			/* requester, from SO_PEERCRED */
	char peer[64];			/* "uid=U pid=P" of the requester */
	uint64_t started_ms;
	/* The online check (O/o), session_ocsp.c: a helper thread asks while
	 * the session waits in S_VALIDATE (holding a reference for it);
	 * ocsp_timer is its own bound on the wait. */
	int ocsp_state;			/* OCSP_ST_* */
	unsigned ocsp_timeout_ms;
	char ocsp_url[OCSP_URL_MAX];
	struct ocsp_result ocsp;	/* valid in OCSP_ST_ANSWERED */
	struct ev_timer ocsp_timer;
	struct session_kdh *kdh;	/* TLS-KDH state, session_kdh.c */
	struct kdh_bind *kbind;		/* valexp K, session_kdh_bind.c */
	int kbind_wanted;		/* K asked for the exchange */
	unsigned rawpk_offer;		/* session_rawpk.c: the ClientHello's */
	/* DANE (D/d), session_dane.c: the TLSA lookup, same pattern. */
	int dane_state;			/* OCSP_ST_* values */
	int dane_step;			/* which lookup (session_dane.c) */
	char dane_name[DNSSEC_NAME_MAX];	/* _<port>._tcp.<host> */
	struct dnssec_answer dane;	/* valid in OCSP_ST_ANSWERED */
	/* Global directory (G/g), session_gdir.c: SRV, then the LDAP ask. */
	int gdir_state;			/* GDIR_ST_* */
	struct dnssec_answer gdir_srv;	/* from GDIR_ST_SRV_ANSWERED */
	struct gdir_result gdir;	/* valid in GDIR_ST_ANSWERED */
};

enum { GDIR_ST_NONE, GDIR_ST_SRV_ASKING, GDIR_ST_SRV_ANSWERED,
       GDIR_ST_ASKING, GDIR_ST_ANSWERED };

enum { OCSP_ST_NONE, OCSP_ST_ASKING, OCSP_ST_ANSWERED };

/* session.c: a new session for a checked request on ctl's worker, with
 * the current configuration's credentials, priority, default identity
 * and deadline armed.  NULL when out of memory. */
struct session *session_new(struct ctlconn *ctl,
			    const struct tlspool_command *cmd, int cryptfd);

const char *session_state_name(enum session_state st);

/* Count and audit the outcome: refusal NULL for an accepted session. */
void session_record(struct session *s, const char *refusal,
		    enum metrics_refusal why);

/* Refuse the request: log, ERROR reply naming the reason, end. */
void session_fail(struct session *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Release what the session holds and drop its own reference. */
void session_end(struct session *s);
/* Send a STARTTLS_LOCALID or PLAINTEXT_CONNECT callback; 0 or -ENOTCONN. */
int session_send_callback(struct session *s, uint32_t pio_cmd,
			  const char *localid, const char *remoteid);
/* Send cb to ctl (whose reference this takes over) as s's pending
 * callback; 0 or -ENOTCONN. */
int session_callback_to(struct session *s, struct ctlconn *ctl,
			struct tlspool_command *cb);
void session_watch_tls(struct session *s, uint32_t events);

/* session_tls.c: the application answered the local identity callback;
 * and: the plaintext fd is there, reply and relay. */
void session_localid_answered(struct session *s);
/* session_tls.c: client role, identity settled: LOCALID_CHECK or go. */
void session_client_identity_chosen(struct session *s);
/* session_validate.c: validate the peer after the handshake and go on
 * (to the PLAINTEXT_CONNECT callback or the relay), or refuse; evaluated
 * again once the OCSP responder answered. */
void session_validate(struct session *s);
/* session_tls.c: the client authentication a server asks for (the
 * rule's, else the application's flags'). */
gnutls_certificate_request_t session_client_auth(const struct session *s);
/* session_ocsp.c: ask the OCSP responder for q (taken over) while s
 * waits in S_VALIDATE; session_validate runs again with the answer. */
void session_ask_ocsp(struct session *s, struct ocsp_query *q);
/* session_dane.c: look up the TLSA records at name while s waits in
 * S_VALIDATE; session_validate runs again with the answer.  And: the
 * peer's TCP port (0 unknown). */
void session_ask_dane(struct session *s, const char *name);
unsigned session_peer_port(const struct session *s);
/* dane_service_ports from the configuration (NULL: none); 0 or -ENOMEM. */
int session_dane_set_ports(const char *map);
/* session_gdir.c: the SRV lookup for the global directory, then asking
 * it (q taken over); session_validate runs again after each. */
void session_ask_gdir_srv(struct session *s, const char *name);
void session_ask_gdir(struct session *s, struct gdir_query *q);

/* session_lid.c: ask the registered identity chooser, if any and if its
 * SKIP_ flags do not let disclose.db answer: 1 asked (the answer comes
 * to session_lidentry_answered), 0 not asked, -1 refused (done). */
int session_ask_chooser(struct session *s);
/* After the handshake: store the disclosure the chooser asked for. */
void session_lidentry_commit(struct session *s);
/* The identity chooser (LIDENTRY) answered. */
void session_lidentry_answered(struct session *s,
			       const struct pioc_lidentry *answer);
void session_go_relay(struct session *s);

/* Run fn(s, ctl, cmd) on s's worker with references held (session_info.c
 * uses it for PRNG and INFO). */
void session_run_op(struct session *s, struct ctlconn *ctl,
		    const struct tlspool_command *cmd,
		    void (*fn)(struct session *s, struct ctlconn *ctl,
			       const struct tlspool_command *cmd));

/* session_tls.c: start (or, after the Kerberos ticket, resume) the
 * handshake. */
void session_tls_begin(struct session *s);

/* session_kdh.c: TLS-KDH (doc/kdh.md). */
void session_kdh_set_config(const struct dconfig *cfg);
/* Client, before the handshake: 1 a ticket is being fetched (the
 * handshake starts when it is there), 0 go on, -1 refused (done). */
int session_kdh_client_prepare(struct session *s);
/* Set the PSK credentials the rule asks for: 1 Kerberos only (no
 * certificate credentials), 0 certificates as well, or a GnuTLS error
 * (reason in s->why). */
int session_kdh_setup(struct session *s);
int session_kdh_used(const struct session *s);
const char *session_kdh_peer(const struct session *s);
const char *session_kdh_local(const struct session *s);
const char *session_kdh_principal(const struct session *s);
int session_kdh_realm_trusted(const struct session *s);
int session_kdh_check(struct session *s, char *why, size_t whylen);
int session_kdh_default(struct session *s, char *why, size_t whylen);
void session_kdh_free(struct session *s);
/* session_kdh_bind.c: "enhanced" mode, valexp K after a certificate
 * handshake: start (1: outcome known at once, 0: running, -ENOMEM),
 * step on socket events, the outcome (NULL while running), free. */
int session_kbind_start(struct session *s);
void session_kbind_step(struct session *s);
const struct validate_kbind *session_kbind_result(const struct session *s);
void session_kbind_free(struct session *s);
/* The Kerberos configuration as it is now, the cache for s's uid. */
struct kdh_map;
int session_kdh_conf(const struct session *s, struct kdh_map *m,
		     char keytab[PATH_MAX], char ccache[PATH_MAX]);

#endif

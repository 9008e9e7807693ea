/* session -- one STARTTLS request: callbacks, handshake, validation,
 * reply, relay.  Lives on the worker of the control connection that
 * started it; all its state is touched on that worker only.
 *
 * RECEIVED -> (LOCALID callback) -> HANDSHAKE -> VALIDATE ->
 * PLAINTEXT_CONNECT callback -> REPLY -> RELAY -> CLOSED; every state
 * before RELAY runs under one deadline (the request's timeout).
 */
#ifndef TP_SESSION_H
#define TP_SESSION_H

#include <stdint.h>
#include <tlspool/commands.h>

struct ctlconn;
struct session;
struct cred_store;
struct dconfig;
struct policydb;

/* Global settings for new sessions; replaced on SIGHUP (sessions keep the
 * store they started with). */
void session_set_config(const struct dconfig *cfg, struct cred_store *creds);
void session_config_clear(void);
/* The policy databases (opened once at start; NULL: defaults only). */
void session_set_policydb(struct policydb *db);

/* Start a STARTTLS request received on ctl with cryptfd (ownership taken,
 * closed on every error path).  Replies and callbacks go through ctl. */
void session_start(struct ctlconn *ctl, const struct tlspool_command *cmd,
		   int cryptfd);

/* Answer to a callback (STARTTLS_LOCALID, PLAINTEXT_CONNECT,
 * LIDENTRY_CALLBACK, or ERROR) with an optional fd (ownership taken),
 * from any thread; consumes the caller's reference on s. */
void session_deliver_answer(struct session *s,
			    const struct tlspool_command *cmd, int fd);

/* The control connection went away while s was attached to it. */
void session_controller_gone(struct session *s);

/* PRNG and INFO requests for an established session, answered on ctl
 * (run on the session's worker; may be called from any thread). */
void session_request_prng(struct session *s, struct ctlconn *ctl,
			  const struct tlspool_command *cmd);
void session_request_info(struct session *s, struct ctlconn *ctl,
			  const struct tlspool_command *cmd);

/* True once the handshake finished and the relay runs. */
int session_established(const struct session *s);

void session_ref(struct session *s);
void session_unref(struct session *s);

/* End every session on its worker (at shutdown). */
void session_end_all(void);

/* Number of sessions not yet freed (for shutdown and metrics). */
unsigned session_count(void);

#endif

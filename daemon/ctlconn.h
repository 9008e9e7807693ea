/* ctlconn -- one application's control connection to the daemon.
 *
 * Reads fixed-size commands (buffering partial reads and the fd that came
 * with them), checks each with codec_check, dispatches it, and queues
 * replies.  Lives on one worker; its replies may be queued from any
 * thread (ctlconn_send posts to the owning worker).
 */
#ifndef TP_CTLCONN_H
#define TP_CTLCONN_H

#include <stdint.h>
#include <sys/types.h>
#include <tlspool/commands.h>

struct worker;
struct ctlconn;
struct session;

/* Take over an accepted connection on worker w (called on w's thread). */
void ctlconn_accept(struct worker *w, int fd);

void ctlconn_ref(struct ctlconn *c);
void ctlconn_unref(struct ctlconn *c);

/* Queue a message for the application; from any thread. */
void ctlconn_send(struct ctlconn *c, const struct tlspool_command *cmd);

/* Queue an ERROR reply for reqid (cbid 0) with a message; any thread. */
void ctlconn_send_error(struct ctlconn *c, uint16_t reqid, int err,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Send a callback for session s, returning the cbid that the answer will
 * carry (on the ctlconn's worker, which is the session's during setup).
 * 0 when the connection is closing. */
uint16_t ctlconn_callback(struct ctlconn *c, struct session *s,
			  struct tlspool_command *cmd);
/* Forget a pending callback (session gone or timed out). */
void ctlconn_callback_cancel(struct ctlconn *c, uint16_t cbid);

/* A callback whose answer goes to fn instead of a session (the PIN
 * service's).  When a cbid is returned, fn(arg, answer) runs exactly
 * once: with the answer (on c's worker), or with NULL when the callback
 * is cancelled (on the cancelling thread) or the connection ends.  0
 * when the connection is closing: fn never runs.  Any thread. */
typedef void (*ctlconn_answer_fn)(void *arg,
				  const struct tlspool_command *answer);
uint16_t ctlconn_callback_fn(struct ctlconn *c, ctlconn_answer_fn fn,
			     void *arg, struct tlspool_command *cmd);

/* Peer credentials and a label for logs: "uid=U pid=P". */
const char *ctlconn_peer(const struct ctlconn *c);
uid_t ctlconn_uid(const struct ctlconn *c);
struct worker *ctlconn_worker(const struct ctlconn *c);
/* The list head of sessions attached to c (for ctlkey_register). */
struct ctlkey_owner *ctlconn_owner(struct ctlconn *c);

/* Granted facilities (set by the daemon at start and on reload). */
void ctlconn_set_facilities(uint32_t facilities);

/* Close every control connection on its worker (at shutdown). */
void ctlconn_close_all(void);

/* Number of control connections not yet freed (for shutdown). */
unsigned ctlconn_count(void);

#endif

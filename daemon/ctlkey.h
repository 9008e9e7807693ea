/* ctlkey -- registry of sessions by control key, and of which control
 * connection each session is attached to.
 *
 * One mutex guards the table, every session's attachment and each control
 * connection's list of attached sessions, so detach, reattach and the end
 * of a control connection agree from any worker.
 */
#ifndef TP_CTLKEY_H
#define TP_CTLKEY_H

#include <stdint.h>
#include <tlspool/commands.h>

struct session;
struct ctlconn;

/* Per-session registry fields, embedded in struct session. */
struct ctlkey_link {
	struct session *self;
	uint8_t key[TLSPOOL_CTLKEYLEN];
	int registered;
	struct ctlkey_link *hnext;		/* hash chain */
	struct ctlconn *ctl;			/* attached, or NULL */
	struct ctlkey_owner *owner;		/* ctl's list head */
	struct ctlkey_link *cprev, *cnext;	/* list per ctl */
};

/* Per-control-connection list head, embedded in struct ctlconn. */
struct ctlkey_owner {
	struct ctlkey_link *first;
};

/* Register l (l->self and l->key set) attached to ctl with list head o;
 * -EEXIST when the key is in use.  An all-zero key attaches without
 * entering the table. */
int ctlkey_register(struct ctlkey_link *l, struct ctlconn *ctl,
		    struct ctlkey_owner *o);
/* Remove l from the table and from its control connection's list. */
void ctlkey_unregister(struct ctlkey_link *l);

/* Find a session by key and take a reference (session_ref); NULL. */
struct session *ctlkey_find(const uint8_t key[TLSPOOL_CTLKEYLEN]);

/* Detach the session with key from ctl (only when attached to ctl):
 * -ENOENT otherwise. */
int ctlkey_detach(const uint8_t key[TLSPOOL_CTLKEYLEN], struct ctlconn *ctl);
/* Attach a detached session to ctl: -ENOENT unknown, -EBUSY attached. */
int ctlkey_reattach(const uint8_t key[TLSPOOL_CTLKEYLEN], struct ctlconn *ctl,
		    struct ctlkey_owner *o);

/* The control connection s is attached to, referenced; NULL if detached. */
struct ctlconn *ctlkey_controller(struct ctlkey_link *l);

/* Control connection ctl ends: detach all its sessions and call fn on each
 * (with a reference held; fn must session_unref). */
void ctlkey_owner_gone(struct ctlkey_owner *o,
		       void (*fn)(struct session *s));

#endif

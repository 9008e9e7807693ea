/* ctlconn_int -- between the shared part of a control connection
 * (ctlconn.c: requests, callbacks, the reply queue, closing) and its
 * platform transport: a UNIX socket with SCM_RIGHTS on POSIX
 * (daemon/ctlconn_posix.c), a named pipe with WSAPROTOCOL_INFOW on
 * Windows (windows/ctlconn_win32.c).
 */
#ifndef TP_CTLCONN_INT_H
#define TP_CTLCONN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctlconn.h"
#include "ctlkey.h"

struct outmsg {
	struct outmsg *next;
	struct tlspool_command cmd;
};

struct pending_cb {
	uint16_t cbid;
	struct session *s;		/* or, for a callback_fn: */
	ctlconn_answer_fn fn;
	void *arg;
};

/* The transport's own state (defined by each transport). */
struct ctlconn_tp;

struct ctlconn {
	struct ctlconn *prev, *next;	/* all connections, under all_lock */
	struct ctlconn_tp *tp;
	struct worker *w;
	atomic_int refs;
	int closed;
	uid_t uid;			/* (uid_t)-1: unknown (Windows) */
	int privileged;			/* may read metrics, be the PIN service */
	char peer[64];
	struct outmsg *out_head, *out_tail;
	size_t out_off;			/* bytes of out_head already sent */
	struct ctlkey_owner owner;
	int write_error;		/* errno of a failed send, then closing */
	/* Callbacks may be sent for sessions on any worker (a local
	 * identity chooser serves all of them): the table has its lock,
	 * and each entry holds a reference on its session. */
	pthread_mutex_t cb_lock;
	int cb_closed;
	struct pending_cb *cbs;
	size_t ncbs, capcbs;
	uint16_t next_cbid;
};

/* ---- the shared part, for the transports ---- */

/* A connection on worker w with one reference (the transport's), peer
 * unknown; NULL when out of memory (logged). */
struct ctlconn *ctlconn_new(struct worker *w);
/* One whole message came in, with *fd (-1: none), on c's worker: check
 * and dispatch it.  The descriptor is taken over (*fd set to -1) and cmd
 * is wiped afterwards (it may have held a PIN). */
void ctlconn_message(struct ctlconn *c, struct tlspool_command *cmd,
		     int *fd);
/* End the connection (on c's worker): the transport is closed, sessions
 * and callbacks are told, the transport's reference is dropped. */
void ctlconn_close(struct ctlconn *c, const char *why);
/* Sending failed with errno err: drop the queue, close from the loop. */
void ctlconn_write_failed(struct ctlconn *c, int err);
/* out_head was sent whole: free it. */
void ctlconn_out_pop(struct ctlconn *c);

/* ---- the transport, for the shared part ---- */

/* Send what is queued (c->out_head...) as far as possible; c's worker. */
void ctlconn_tp_flush(struct ctlconn *c);
/* Stop reading and writing and release the channel; c's worker. */
void ctlconn_tp_close(struct ctlconn *c);
/* Free c->tp (the last reference is gone; any thread). */
void ctlconn_tp_free(struct ctlconn_tp *tp);

#endif

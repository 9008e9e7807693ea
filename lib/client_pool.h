/* client_pool -- the process-wide connection of libtlspool to the daemon.
 *
 * Internal to libtlspool.  One connection (poolconn.h: an AF_UNIX stream
 * socket, or a named pipe on Windows) is shared by all
 * threads of the process.  A call runs as one "request": it reserves a
 * pio_reqid that is unique among the outstanding requests, sends on the
 * shared socket and waits for messages carrying its reqid.  Waiting
 * threads take turns as the reader (leader/follower); a message for
 * another request is queued on that request and its thread is woken.
 *
 * When the connection breaks, every outstanding request fails with
 * ECONNRESET and the next request reconnects (with back-off).
 */
#ifndef TP_CLIENT_POOL_H
#define TP_CLIENT_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <tlspool/commands.h>

#include "poolconn.h"

#define CLIENT_POOL_QLEN 4

/* Bounds of the reconnect back-off, in milliseconds. */
#define CLIENT_POOL_BACKOFF_FIRST_MS 10
#define CLIENT_POOL_BACKOFF_MAX_MS 1000
#define CLIENT_POOL_BACKOFF_TOTAL_MS 5000

struct client_pool_msg {
	struct tlspool_command cmd;
	poolconn_sock_t fd;	/* socket that came with it, or NOSOCK */
	int bad;	/* the message failed codec_check */
};

/* One outstanding request.  Lives on the caller's stack; the fields are
 * private to client_pool.c. */
struct client_pool_req {
	uint16_t reqid;
	unsigned gen;		/* connection generation it was sent on */
	int err;		/* non-zero: failed with this errno */
	int waiting;		/* blocked in client_pool_recv */
	pthread_cond_t cond;
	struct client_pool_msg q[CLIENT_POOL_QLEN];
	unsigned qhead, qlen;
	struct client_pool_req *next;
};

/* Connect (or reuse the connection) and reserve a reqid.  0 or -1/errno. */
int client_pool_begin(struct client_pool_req *req);

/* Send cmd (its pio_reqid is set to the request's) with fd (or
 * POOLCONN_NOSOCK) attached.  The caller keeps its fd.  0 or -1/errno. */
int client_pool_send(struct client_pool_req *req, struct tlspool_command *cmd,
		     poolconn_sock_t fd);

/* Wait for the next message for this request.  A checked message is
 * copied to cmd and its socket (or POOLCONN_NOSOCK) to *fd; a message
 * that failed codec_check gives -1/EPROTO.  0 or -1/errno. */
int client_pool_recv(struct client_pool_req *req, struct tlspool_command *cmd,
		     poolconn_sock_t *fd);

/* Release the reqid; messages still queued for it are dropped. */
void client_pool_end(struct client_pool_req *req);

/* One request without descriptors: send cmd, wait for the reply (any
 * daemon callback is refused with an ERROR answer) and store it in cmd.
 * An ERROR reply gives -1 with errno set from it.  0 or -1/errno. */
int client_pool_call(struct tlspool_command *cmd);

/* Set errno from an ERROR message (tlserrno, EPERM when not positive)
 * and return -1. */
int client_pool_errno(const struct tlspool_command *cmd);

/* Resolve the socket path: path when not NULL, else the path remembered
 * by tlspool_open_poolhandle, else $TLSPOOL_SOCKET, else the per-user
 * default socket if it exists, else TLSPOOL_DEFAULT_SOCKET_PATH.
 * 0 or -ENAMETOOLONG. */
int client_pool_resolve(const char *path, char *buf, size_t size);

/* A new, private connection to the pool at path (close-on-exec), one
 * attempt.  Returns it (poolconn_close frees it) or NULL/errno. */
struct poolconn *client_pool_connect_path(const char *path);

/* Fill ctlkey with random bytes when all of it is zero.  0 or -1/errno. */
int client_pool_ctlkey_fill(uint8_t ctlkey[TLSPOOL_CTLKEYLEN]);

#endif

/* async -- the asynchronous client API of libtlspool, for event loops.
 *
 * The pool has its own non-blocking connection (not the process-wide
 * one of the synchronous calls).  The application owns the request
 * structures; pending ones are linked in pool->requests.  Messages may
 * arrive in pieces: the bytes of an incomplete message are kept in the
 * pool's connection (poolconn) between calls of tlspool_async_process.
 *
 * Not thread-safe: use one pool from one thread (the event loop).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tlspool/async.h>

#include "client_pool.h"
#include "codec.h"
#include "poolconn.h"

struct async_priv {
	struct poolconn *pc;	/* the connection behind pool->handle */
	uint16_t next_reqid;
	unsigned depth;		/* nesting of tlspool_async_process */
	bool closed;		/* closed inside a callback: free at exit */
};

static void async_priv_free(struct async_priv *p)
{
	if (p == NULL)
		return;
	poolconn_close(p->pc);
	free(p);
}

/* Synchronous PING on the still blocking socket: 0 or -errno. */
static int async_ping(struct poolconn *pc, struct tlspool_async_pool *pool,
		      const char *identity, uint32_t facilities)
{
	struct tlspool_command cmd;
	char why[128];
	poolconn_sock_t fd;
	int n, rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_reqid = 1;
	cmd.pio_cmd = PIOC_PING_V2;
	if (strlen(identity) >= sizeof(cmd.pio_data.pioc_ping.YYYYMMDD_producer))
		return -EINVAL;
	strcpy(cmd.pio_data.pioc_ping.YYYYMMDD_producer, identity);
	cmd.pio_data.pioc_ping.facilities = facilities |
					    PIOF_FACILITY_ALL_CURRENT;
	rc = poolconn_send(pc, &cmd, POOLCONN_NOSOCK);
	if (rc < 0)
		return rc == -EPIPE ? -ECONNRESET : rc;
	n = poolconn_recv(pc, &cmd, &fd);
	poolconn_sock_close(fd);
	if (n <= 0)
		return (n == 0 || n == -EPIPE) ? -ECONNRESET : n;
	if (codec_check(&cmd, CODEC_MSGLEN, CODEC_TO_CLIENT, why,
			sizeof(why)) != 0 || cmd.pio_reqid != 1)
		return -EPROTO;
	if (cmd.pio_cmd == PIOC_ERROR_V2) {
		client_pool_errno(&cmd);
		return -errno;
	}
	if (cmd.pio_cmd != PIOC_PING_V2)
		return -EPROTO;
	pool->pingdata = cmd.pio_data.pioc_ping;
	if ((pool->pingdata.facilities & facilities) != facilities)
		return -ENOTSUP;
	return 0;
}

bool tlspool_async_open(struct tlspool_async_pool *pool,
			size_t sizeof_tlspool_command, char *tlspool_identity,
			uint32_t required_facilities, char *socket_path)
{
	char path[4096];
	struct async_priv *priv = NULL;
	int rc;

	if (pool == NULL) {
		errno = EINVAL;
		return false;
	}
	memset(pool, 0, sizeof(*pool));
	pool->handle = INVALID_POOL_HANDLE;
	if (sizeof_tlspool_command != sizeof(struct tlspool_command)) {
		rc = -EPROTO;
		goto fail;
	}
	pool->cmdsize = sizeof_tlspool_command;
	rc = client_pool_resolve(socket_path, path, sizeof(path));
	if (rc < 0)
		goto fail;
	priv = calloc(1, sizeof(*priv));
	if (priv == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	priv->pc = client_pool_connect_path(path);
	if (priv->pc == NULL) {
		rc = -errno;
		goto fail;
	}
	if (tlspool_identity != NULL) {
		rc = async_ping(priv->pc, pool, tlspool_identity,
				required_facilities);
		if (rc < 0)
			goto fail;
	}
	rc = poolconn_set_nonblock(priv->pc);
	if (rc < 0)
		goto fail;
	pool->handle = poolconn_handle(priv->pc);
	pool->_priv = priv;
	return true;
fail:
	async_priv_free(priv);
	errno = -rc;
	return false;
}

static bool async_linked(struct tlspool_async_pool *pool,
			 struct tlspool_async_request *req)
{
	for (struct tlspool_async_request *r = pool->requests; r != NULL;
	     r = r->_next)
		if (r == req)
			return true;
	return false;
}

static bool async_unlink(struct tlspool_async_pool *pool,
			 struct tlspool_async_request *req)
{
	for (struct tlspool_async_request **pp = &pool->requests; *pp != NULL;
	     pp = &(*pp)->_next) {
		if (*pp == req) {
			*pp = req->_next;
			req->_next = NULL;
			return true;
		}
	}
	return false;
}

static bool async_reqid_used(struct tlspool_async_pool *pool, uint16_t id)
{
	for (struct tlspool_async_request *r = pool->requests; r != NULL;
	     r = r->_next)
		if (r->cmd.pio_reqid == id)
			return true;
	return false;
}

/* The private state of an open pool connection; NULL with errno EINVAL
 * (no pool) or ENOTCONN (not open). */
static struct async_priv *async_priv_of(struct tlspool_async_pool *pool)
{
	if (pool == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (pool->handle == INVALID_POOL_HANDLE || pool->_priv == NULL ||
	    ((struct async_priv *)pool->_priv)->pc == NULL) {
		errno = ENOTCONN;
		return NULL;
	}
	return pool->_priv;
}

bool tlspool_async_request(struct tlspool_async_pool *pool,
			   struct tlspool_async_request *reqcb, int opt_fd)
{
	struct async_priv *priv;
	bool linked;
	unsigned tries = 0;
	int rc;

	if (reqcb == NULL || reqcb->cbfunc == NULL) {
		errno = EINVAL;
		return false;
	}
	priv = async_priv_of(pool);
	if (priv == NULL)
		return false;
	linked = async_linked(pool, reqcb);
	if (reqcb->cmd.pio_cbid == 0) {
		/* A new request: it gets a fresh reqid.  (An answer to a
		 * callback keeps reqid and cbid as they arrived.) */
		if (linked)
			async_unlink(pool, reqcb);
		linked = false;
		do {
			if (++tries > 0x10000) {
				errno = EBUSY;
				return false;
			}
			priv->next_reqid++;
		} while (priv->next_reqid == 0 ||
			 async_reqid_used(pool, priv->next_reqid));
		reqcb->cmd.pio_reqid = priv->next_reqid;
	}
	rc = poolconn_send(priv->pc, &reqcb->cmd, POOLCONN_SOCK(opt_fd));
	if (rc < 0) {
		errno = rc == -EPIPE ? ECONNRESET : -rc;
		return false;
	}
	if (!linked) {
		reqcb->_next = pool->requests;
		pool->requests = reqcb;
	}
	return true;
}

bool tlspool_async_cancel(struct tlspool_async_pool *pool,
			  struct tlspool_async_request *reqcb)
{
	if (pool == NULL || reqcb == NULL) {
		errno = EINVAL;
		return false;
	}
	if (!async_unlink(pool, reqcb)) {
		errno = ENOENT;
		return false;
	}
	return true;
}

static struct tlspool_async_request *
async_find(struct tlspool_async_pool *pool, uint16_t reqid)
{
	for (struct tlspool_async_request *r = pool->requests; r != NULL;
	     r = r->_next)
		if (r->cmd.pio_reqid == reqid)
			return r;
	return NULL;
}

/* Deliver one complete message to its request's callback. */
static void async_deliver(struct tlspool_async_pool *pool,
			  const struct tlspool_command *cmd, poolconn_sock_t fd)
{
	struct tlspool_async_request *req = async_find(pool, cmd->pio_reqid);
	char why[128];

	if (codec_check(cmd, CODEC_MSGLEN, CODEC_TO_CLIENT, why,
			sizeof(why)) != 0) {
		poolconn_sock_close(fd);
		if (req == NULL)
			return;
		async_unlink(pool, req);
		codec_set_error(&req->cmd, EPROTO, "bad message from the pool: %s",
				why);
		req->cbfunc(req, -1);
		return;
	}
	if (req == NULL) {
		poolconn_sock_close(fd);	/* cancelled or never ours */
		return;
	}
	if (cmd->pio_cbid == 0)
		async_unlink(pool, req);	/* final reply */
	req->cmd = *cmd;
	req->cbfunc(req, POOLCONN_INT(fd));
}

/* Fail every pending request with a local ERROR. */
static void async_fail_all(struct tlspool_async_pool *pool, int err)
{
	struct tlspool_async_request *list = pool->requests, *next;

	pool->requests = NULL;
	for (; list != NULL; list = next) {
		next = list->_next;
		list->_next = NULL;
		codec_set_error(&list->cmd, err,
				"disconnected from the TLS Pool");
		list->cbfunc(list, -1);
	}
}

/* Read and deliver until the socket would block.  0 or -errno. */
static int async_read_all(struct tlspool_async_pool *pool,
			  struct async_priv *priv)
{
	while (!priv->closed) {
		struct tlspool_command cmd;
		poolconn_sock_t fd;
		int n;

		n = poolconn_recv_nb(priv->pc, &cmd, &fd);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return n;
		if (n == 0) {
			async_fail_all(pool, ECONNRESET);
			return -ECONNRESET;
		}
		async_deliver(pool, &cmd, fd);
	}
	return 0;
}

bool tlspool_async_process(struct tlspool_async_pool *pool)
{
	struct async_priv *priv;
	int rc;

	priv = async_priv_of(pool);
	if (priv == NULL)
		return false;
	priv->depth++;
	rc = async_read_all(pool, priv);
	priv->depth--;
	if (priv->closed && priv->depth == 0)
		async_priv_free(priv);	/* closed from a callback */
	if (rc < 0) {
		errno = -rc;
		return false;
	}
	return true;
}

bool tlspool_async_close(struct tlspool_async_pool *pool, bool close_socket)
{
	struct async_priv *priv;

	if (pool == NULL) {
		errno = EINVAL;
		return false;
	}
	async_fail_all(pool, ECONNRESET);
	if (!close_socket)
		return true;
	priv = pool->_priv;
	pool->handle = INVALID_POOL_HANDLE;
	pool->_priv = NULL;
	if (priv != NULL) {
		poolconn_close(priv->pc);	/* closes the handle */
		priv->pc = NULL;
		if (priv->depth > 0)
			priv->closed = true;	/* freed when process returns */
		else
			async_priv_free(priv);
	}
	return true;
}

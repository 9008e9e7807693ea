/* tlspool/async.h -- asynchronous client API for event loops.
 *
 * Source-compatible with the ARPA2 TLS Pool async API: the caller owns
 * the request structures; the pool keeps them while their reply is
 * pending and calls cbfunc when it arrives.  Use pool->handle with
 * poll/epoll/libev and call tlspool_async_process when it is readable.
 */
#ifndef TLSPOOL_ASYNC_H
#define TLSPOOL_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tlspool/commands.h>
#include <tlspool/starttls.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tlspool_async_request {
	struct tlspool_async_request *_next;	/* private to the library */
	void (*cbfunc)(struct tlspool_async_request *cbdata, int opt_fd);
	struct tlspool_command cmd;
};

struct tlspool_async_pool {
	pool_handle_t handle;
	size_t cmdsize;
	struct tlspool_async_request *requests;
	struct pioc_ping pingdata;
	void *_priv;	/* private to the library (partial messages) */
};

/* Open a pool connection, ping synchronously with tlspool_identity (NULL:
 * no ping) and require the facilities; then switch to non-blocking mode.
 * Returns true, or false with errno set. */
bool tlspool_async_open(struct tlspool_async_pool *pool,
			size_t sizeof_tlspool_command, char *tlspool_identity,
			uint32_t required_facilities, char *socket_path);

/* Send a request (with opt_fd as SCM_RIGHTS when >= 0); assigns a fresh
 * pio_reqid.  Returns true, or false with errno set. */
bool tlspool_async_request(struct tlspool_async_pool *pool,
			   struct tlspool_async_request *reqcb, int opt_fd);

/* Forget a pending request without calling its callback. */
bool tlspool_async_cancel(struct tlspool_async_pool *pool,
			  struct tlspool_async_request *reqcb);

/* Read whatever the pool has sent and call the callbacks.  EAGAIN is
 * business as usual and returns true. */
bool tlspool_async_process(struct tlspool_async_pool *pool);

/* Fail every pending request with a local ERROR reply (ECONNRESET) and
 * optionally close the socket. */
bool tlspool_async_close(struct tlspool_async_pool *pool, bool close_socket);

#ifdef __cplusplus
}
#endif

#endif

/* client_pool -- the process-wide connection of libtlspool to the daemon.
 *
 * Locking: "mtx" guards the pool state, the request list and the
 * reference counts of connections; it is never held across I/O or while
 * waiting for another lock.  A connection is a small reference-counted
 * object: the reader and every writer hold a reference while they use
 * its descriptor, and its own send_mtx keeps messages from interleaving.
 * Tearing a connection down shuts the socket down at once (so a blocked
 * reader or writer returns) and closes the descriptor when the last
 * reference goes, so a descriptor number is never reused under a thread
 * that still writes to it.
 */
#include "client_pool.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <tlspool/starttls.h>

#include "codec.h"
#include "paths.h"

#define CLIENT_POOL_PATHLEN POOLCONN_PATHLEN

struct client_pool_conn {
	struct poolconn *pc;
	unsigned refs;			/* threads using fd right now */
	bool dead;			/* torn down: close at refs == 0 */
	pthread_mutex_t send_mtx;
	struct client_pool_conn *next;	/* all connections not yet closed */
};

static struct {
	pthread_mutex_t mtx;
	pthread_cond_t conn_cond;	/* a connect attempt finished */
	struct client_pool_conn *conn;	/* the shared connection or NULL */
	struct client_pool_conn *all;	/* including dead, still in use */
	unsigned gen;			/* bumped on every new connection */
	bool connecting;		/* a thread is connecting */
	unsigned attempts;		/* finished connect attempts */
	int connect_err;		/* errno of the last failed attempt */
	bool ever_connected;		/* reconnects get a back-off budget */
	bool reader_active;		/* some thread is inside recvmsg */
	uint16_t next_reqid;
	struct client_pool_req *reqs;
	bool path_set;
	char path[CLIENT_POOL_PATHLEN];
	char shown[4096];		/* for tlspool_socket_path() */
} pool = {
	.mtx = PTHREAD_MUTEX_INITIALIZER,
	.conn_cond = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t client_pool_once = PTHREAD_ONCE_INIT;

/* ---- fork safety: the child must not share the parent's connection ---- */

static void client_pool_atfork_prepare(void)
{
	pthread_mutex_lock(&pool.mtx);
}

static void client_pool_atfork_parent(void)
{
	pthread_mutex_unlock(&pool.mtx);
}

static void client_pool_atfork_child(void)
{
	/* Other threads are gone; their send_mtx locks die with them. */
	while (pool.all != NULL) {
		struct client_pool_conn *c = pool.all;

		pool.all = c->next;
		poolconn_close(c->pc);
		free(c);
	}
	pool.conn = NULL;
	pool.gen++;
	pool.reqs = NULL;	/* they belong to threads that are gone */
	pool.reader_active = false;
	pool.connecting = false;
	pthread_cond_init(&pool.conn_cond, NULL);
	pthread_mutex_unlock(&pool.mtx);
}

static void client_pool_init_once(void)
{
	poolconn_atfork(client_pool_atfork_prepare, client_pool_atfork_parent,
			client_pool_atfork_child);
}

/* ---- paths and connecting ---- */

static int client_pool_copy(char *buf, size_t size, const char *s)
{
	size_t len = strlen(s);

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, s, len + 1);
	return 0;
}

static int client_pool_resolve_locked(const char *path, char *buf,
				      size_t size)
{
	const char *env;
	char def[4096];

	if (path != NULL)
		return client_pool_copy(buf, size, path);
	if (pool.path_set)
		return client_pool_copy(buf, size, pool.path);
	env = getenv("TLSPOOL_SOCKET");
	if (env != NULL && env[0] != '\0')
		return client_pool_copy(buf, size, env);
	if (paths_default_socket(def, sizeof(def)) == 0 &&
	    paths_is_socket(def))
		return client_pool_copy(buf, size, def);
	return client_pool_copy(buf, size, TLSPOOL_DEFAULT_SOCKET_PATH);
}

int client_pool_resolve(const char *path, char *buf, size_t size)
{
	int rc;

	pthread_mutex_lock(&pool.mtx);
	rc = client_pool_resolve_locked(path, buf, size);
	pthread_mutex_unlock(&pool.mtx);
	return rc;
}

struct poolconn *client_pool_connect_path(const char *path)
{
	struct poolconn *pc = NULL;
	int rc = poolconn_connect(path, &pc);

	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return pc;
}

static bool client_pool_transient(int err)
{
	return err == ENOENT || err == ECONNREFUSED || err == EAGAIN ||
	       err == EINTR;
}

/* Connect with back-off: budget_ms of total sleeping at most.  0 (the
 * connection in *pc) or -errno. */
static int client_pool_connect_backoff(const char *path, unsigned budget_ms,
				       struct poolconn **pc)
{
	unsigned delay = CLIENT_POOL_BACKOFF_FIRST_MS, slept = 0;

	for (;;) {
		int rc = poolconn_connect(path, pc);
		struct timespec ts;

		if (rc == 0)
			return 0;
		if (!client_pool_transient(-rc) || slept >= budget_ms)
			return rc;
		if (delay > budget_ms - slept)
			delay = budget_ms - slept;
		ts.tv_sec = delay / 1000;
		ts.tv_nsec = (long)(delay % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		slept += delay;
		delay *= 2;
		if (delay > CLIENT_POOL_BACKOFF_MAX_MS)
			delay = CLIENT_POOL_BACKOFF_MAX_MS;
	}
}

/* Make pc the shared connection.  mtx held; 0 or -ENOMEM. */
static int client_pool_add_locked(struct poolconn *pc)
{
	struct client_pool_conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		poolconn_close(pc);
		return -ENOMEM;
	}
	c->pc = pc;
	pthread_mutex_init(&c->send_mtx, NULL);
	c->next = pool.all;
	pool.all = c;
	pool.conn = c;
	return 0;
}

/* Take a reference to the current connection.  mtx held. */
static struct client_pool_conn *client_pool_get_locked(void)
{
	pool.conn->refs++;
	return pool.conn;
}

static void client_pool_free_locked(struct client_pool_conn *c)
{
	struct client_pool_conn **pp;

	for (pp = &pool.all; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	poolconn_close(c->pc);
	pthread_mutex_destroy(&c->send_mtx);
	free(c);
}

/* Drop a reference; the last one closes a dead connection.  mtx held. */
static void client_pool_put_locked(struct client_pool_conn *c)
{
	if (--c->refs == 0 && c->dead)
		client_pool_free_locked(c);
}

/* End the current connection and fail its requests.  mtx held. */
static void client_pool_teardown_locked(int err)
{
	struct client_pool_conn *c = pool.conn;

	if (c == NULL)
		return;
	pool.conn = NULL;
	c->dead = true;
	if (c->refs == 0)
		client_pool_free_locked(c);
	else
		poolconn_shutdown(c->pc);	/* users return at once */
	for (struct client_pool_req *r = pool.reqs; r != NULL; r = r->next) {
		if (r->gen == pool.gen && r->err == 0) {
			r->err = err;
			pthread_cond_signal(&r->cond);
		}
	}
}

/* Is the idle connection closed by the daemon?  mtx held, no reader. */
static bool client_pool_stale_locked(void)
{
	return poolconn_stale(pool.conn->pc);
}

/* Make sure the shared connection is open.  mtx held; 0 or -errno. */
static int client_pool_ensure_locked(void)
{
	char path[CLIENT_POOL_PATHLEN];
	unsigned seen = pool.attempts, budget;
	struct poolconn *pc = NULL;
	int rc;

	while (pool.connecting) {
		pthread_cond_wait(&pool.conn_cond, &pool.mtx);
		if (pool.attempts != seen && pool.conn == NULL &&
		    !pool.connecting)
			return -pool.connect_err;
	}
	if (pool.conn != NULL && !pool.reader_active &&
	    client_pool_stale_locked())
		client_pool_teardown_locked(ECONNRESET);
	if (pool.conn != NULL)
		return 0;
	rc = client_pool_resolve_locked(NULL, path, sizeof(path));
	if (rc < 0)
		return rc;
	budget = pool.ever_connected ? CLIENT_POOL_BACKOFF_TOTAL_MS : 0;
	pool.connecting = true;
	pthread_mutex_unlock(&pool.mtx);
	rc = client_pool_connect_backoff(path, budget, &pc);
	pthread_mutex_lock(&pool.mtx);
	pool.connecting = false;
	pool.attempts++;
	if (rc == 0)
		rc = client_pool_add_locked(pc);
	if (rc == 0) {
		pool.gen++;
		pool.ever_connected = true;
	} else {
		pool.connect_err = -rc;
	}
	pthread_cond_broadcast(&pool.conn_cond);
	return rc;
}

/* ---- public entry points kept here because they touch pool state ---- */

pool_handle_t tlspool_open_poolhandle(char *path)
{
	pool_handle_t h = INVALID_POOL_HANDLE;
	int rc = 0;

	pthread_once(&client_pool_once, client_pool_init_once);
	pthread_mutex_lock(&pool.mtx);
	if (path != NULL && (!pool.path_set || strcmp(path, pool.path) != 0)) {
		rc = client_pool_copy(pool.path, sizeof(pool.path), path);
		if (rc == 0) {
			pool.path_set = true;
			/* Idle connection to another socket: switch now. */
			if (pool.reqs == NULL && !pool.connecting)
				client_pool_teardown_locked(ECONNRESET);
		}
	}
	if (rc == 0)
		rc = client_pool_ensure_locked();
	if (rc == 0)
		h = poolconn_handle(pool.conn->pc);
	pthread_mutex_unlock(&pool.mtx);
	if (rc < 0)
		errno = -rc;
	return h;
}

const char *tlspool_socket_path(void)
{
	pthread_mutex_lock(&pool.mtx);
	if (client_pool_resolve_locked(NULL, pool.shown, sizeof(pool.shown)) < 0)
		pool.shown[0] = '\0';
	pthread_mutex_unlock(&pool.mtx);
	return pool.shown;
}

int client_pool_ctlkey_fill(uint8_t ctlkey[TLSPOOL_CTLKEYLEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < TLSPOOL_CTLKEYLEN; i++)
		acc |= ctlkey[i];
	if (acc != 0)
		return 0;
	if (sodium_init() < 0) {
		errno = EIO;
		return -1;
	}
	randombytes_buf(ctlkey, TLSPOOL_CTLKEYLEN);
	return 0;
}

int client_pool_errno(const struct tlspool_command *cmd)
{
	int e = cmd->pio_data.pioc_error.tlserrno;

	errno = e > 0 ? e : EPERM;
	return -1;
}

/* ---- requests ---- */

static bool client_pool_reqid_used(uint16_t id)
{
	for (struct client_pool_req *r = pool.reqs; r != NULL; r = r->next)
		if (r->reqid == id)
			return true;
	return false;
}

int client_pool_begin(struct client_pool_req *req)
{
	unsigned tries = 0;
	int rc;

	pthread_once(&client_pool_once, client_pool_init_once);
	memset(req, 0, sizeof(*req));
	pthread_mutex_lock(&pool.mtx);
	rc = client_pool_ensure_locked();
	if (rc < 0)
		goto fail;
	do {
		if (++tries > 0x10000) {
			rc = -EBUSY;
			goto fail;
		}
		pool.next_reqid++;
	} while (pool.next_reqid == 0 || client_pool_reqid_used(pool.next_reqid));
	rc = pthread_cond_init(&req->cond, NULL);
	if (rc != 0) {
		rc = -rc;
		goto fail;
	}
	req->reqid = pool.next_reqid;
	req->gen = pool.gen;
	req->next = pool.reqs;
	pool.reqs = req;
	pthread_mutex_unlock(&pool.mtx);
	return 0;
fail:
	pthread_mutex_unlock(&pool.mtx);
	errno = -rc;
	return -1;
}

int client_pool_send(struct client_pool_req *req, struct tlspool_command *cmd,
		     poolconn_sock_t fd)
{
	struct client_pool_conn *c;
	int rc;

	pthread_mutex_lock(&pool.mtx);
	if (req->err != 0 || pool.conn == NULL || pool.gen != req->gen) {
		rc = req->err ? req->err : ECONNRESET;
		pthread_mutex_unlock(&pool.mtx);
		errno = rc;
		return -1;
	}
	cmd->pio_reqid = req->reqid;
	c = client_pool_get_locked();
	pthread_mutex_unlock(&pool.mtx);
	pthread_mutex_lock(&c->send_mtx);
	rc = poolconn_send(c->pc, cmd, fd);
	pthread_mutex_unlock(&c->send_mtx);
	pthread_mutex_lock(&pool.mtx);
	/* EBADF/ETOOMANYREFS: the descriptor to pass was refused before
	 * any byte went out; the connection itself is fine. */
	if (rc < 0 && rc != -EBADF && rc != -ETOOMANYREFS && pool.conn == c)
		client_pool_teardown_locked(ECONNRESET);
	client_pool_put_locked(c);
	pthread_mutex_unlock(&pool.mtx);
	if (rc < 0) {
		errno = (rc == -EPIPE || rc == -ECONNRESET) ? ECONNRESET : -rc;
		return -1;
	}
	return 0;
}

/* Queue a message read by the reader for its request.  mtx held. */
static void client_pool_dispatch_locked(struct client_pool_msg *m)
{
	struct client_pool_req *r;

	for (r = pool.reqs; r != NULL; r = r->next)
		if (r->reqid == m->cmd.pio_reqid && r->gen == pool.gen)
			break;
	if (r == NULL || r->err != 0) {
		poolconn_sock_close(m->fd);	/* nobody waits for it */
		return;
	}
	if (r->qlen == CLIENT_POOL_QLEN) {
		poolconn_sock_close(m->fd);
		r->err = EPROTO;	/* the daemon floods this request */
	} else {
		r->q[(r->qhead + r->qlen) % CLIENT_POOL_QLEN] = *m;
		r->qlen++;
	}
	pthread_cond_signal(&r->cond);
}

/* Hand the reader role to another waiting request.  mtx held. */
static void client_pool_pass_role_locked(void)
{
	for (struct client_pool_req *r = pool.reqs; r != NULL; r = r->next) {
		if (r->waiting && r->qlen == 0 && r->err == 0) {
			pthread_cond_signal(&r->cond);
			return;
		}
	}
}

/* Read one message as the reader.  Called and returns with mtx held. */
static void client_pool_read_one_locked(void)
{
	struct client_pool_conn *c = client_pool_get_locked();
	struct client_pool_msg m;
	char why[128];
	int n;

	pool.reader_active = true;
	pthread_mutex_unlock(&pool.mtx);
	memset(&m, 0, sizeof(m));
	n = poolconn_recv(c->pc, &m.cmd, &m.fd);
	if (n == 1)
		m.bad = codec_check(&m.cmd, CODEC_MSGLEN, CODEC_TO_CLIENT, why,
				    sizeof(why)) != 0;
	pthread_mutex_lock(&pool.mtx);
	pool.reader_active = false;
	if (n == 1 && pool.conn == c) {
		client_pool_dispatch_locked(&m);
	} else {
		poolconn_sock_close(m.fd);
		if (pool.conn == c)
			client_pool_teardown_locked(ECONNRESET);
	}
	client_pool_put_locked(c);
}

int client_pool_recv(struct client_pool_req *req, struct tlspool_command *cmd,
		     poolconn_sock_t *fd)
{
	struct client_pool_msg m;

	*fd = POOLCONN_NOSOCK;
	pthread_mutex_lock(&pool.mtx);
	for (;;) {
		if (req->qlen > 0)
			break;
		if (req->err != 0) {
			int err = req->err;

			pthread_mutex_unlock(&pool.mtx);
			errno = err;
			return -1;
		}
		if (pool.conn == NULL || pool.gen != req->gen) {
			req->err = ECONNRESET;
			continue;
		}
		if (!pool.reader_active) {
			client_pool_read_one_locked();
			if (req->qlen > 0 || req->err != 0)
				client_pool_pass_role_locked();
			continue;
		}
		req->waiting = 1;
		pthread_cond_wait(&req->cond, &pool.mtx);
		req->waiting = 0;
	}
	m = req->q[req->qhead];
	req->qhead = (req->qhead + 1) % CLIENT_POOL_QLEN;
	req->qlen--;
	pthread_mutex_unlock(&pool.mtx);
	if (m.bad) {
		poolconn_sock_close(m.fd);
		errno = EPROTO;
		return -1;
	}
	*cmd = m.cmd;
	*fd = m.fd;
	return 0;
}

void client_pool_end(struct client_pool_req *req)
{
	struct client_pool_req **pp;

	pthread_mutex_lock(&pool.mtx);
	for (pp = &pool.reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == req) {
			*pp = req->next;
			break;
		}
	}
	while (req->qlen > 0) {
		struct client_pool_msg *m = &req->q[req->qhead];

		poolconn_sock_close(m->fd);
		req->qhead = (req->qhead + 1) % CLIENT_POOL_QLEN;
		req->qlen--;
	}
	pthread_mutex_unlock(&pool.mtx);
	pthread_cond_destroy(&req->cond);
}

int client_pool_call(struct tlspool_command *cmd)
{
	struct client_pool_req req;
	struct tlspool_command reply;
	poolconn_sock_t fd;
	int rc = -1, err = 0;

	if (client_pool_begin(&req) < 0)
		return -1;
	if (client_pool_send(&req, cmd, POOLCONN_NOSOCK) < 0)
		goto fail;
	for (;;) {
		if (client_pool_recv(&req, &reply, &fd) < 0)
			goto fail;
		poolconn_sock_close(fd);
		if (reply.pio_cbid == 0)
			break;
		/* A callback where none belongs: refuse it, keep waiting. */
		codec_set_error(&reply, EPROTO, "no callback expected here");
		if (client_pool_send(&req, &reply, POOLCONN_NOSOCK) < 0)
			goto fail;
	}
	*cmd = reply;
	rc = cmd->pio_cmd == PIOC_ERROR_V2 ? client_pool_errno(cmd) : 0;
	err = errno;
	client_pool_end(&req);
	errno = err;
	return rc;
fail:
	err = errno;
	client_pool_end(&req);
	errno = err;
	return -1;
}

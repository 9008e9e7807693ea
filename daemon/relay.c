/* relay -- moves data between a TLS session and the plaintext fd.
 *
 * Two directions, each a small state machine driven by level-triggered
 * readiness of the fd it is waiting for:
 *
 *   crypt->plain (c2p): gnutls_record_recv into c2p_buf, write it to
 *     plainfd; while c2p_buf holds data, cryptfd is not read (EPOLLOUT on
 *     plainfd instead).  Close_notify or TCP EOF shuts plainfd's write
 *     side.  Records GnuTLS has already decrypted are invisible to epoll:
 *     after a pump, pending data re-arms the zero-delay "kick" timer.
 *
 *   plain->crypt (p2c): read plainfd into p2c_buf, gnutls_record_send
 *     it; on GNUTLS_E_AGAIN the same (unchanged) buffer is sent again
 *     when cryptfd turns writable, and plainfd is not read meanwhile.
 *     EOF on plainfd: gnutls_bye(GNUTLS_SHUT_WR), then shutdown(SHUT_WR).
 *
 * Buffers exist only while holding data.  Interest on each fd is
 * recomputed after every step; an fd nobody waits for is unwatched, so
 * EPOLLHUP on it cannot make the loop spin.  A fatal error ends both
 * directions at once; a soft error (EOF without close_notify, failed
 * close_notify) ends one direction and is reported by on_close.
 */
#include "relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tplog.h"
#include "worker.h"

#define RELAY_BUFSZ 16384	/* one TLS record of plaintext */
#define RELAY_BUDGET 32		/* steps per direction per event */

struct relay {
	struct worker *w;
	gnutls_session_t s;
	struct ev_source crypt;
	struct ev_source plain;
	struct ev_timer kick;
	relay_close_fn on_close;
	void *ctx;
	struct relay_stats st;

	unsigned char *c2p_buf;
	size_t c2p_off, c2p_len;
	unsigned char *p2c_buf;
	size_t p2c_off, p2c_len;

	unsigned c2p_done : 1;		/* EOF passed on to plainfd */
	unsigned c2p_orderly : 1;	/* ... and it was a close_notify */
	unsigned c2p_wants_write : 1;	/* record_recv stalled on sending */
	unsigned p2c_eof : 1;		/* plainfd gave EOF; bye due */
	unsigned p2c_blocked : 1;	/* record_send or bye said AGAIN */
	unsigned p2c_done : 1;		/* bye sent, cryptfd shut for writing */
	unsigned plain_not_sock : 1;	/* plainfd wants write(), not send() */
	unsigned closed : 1;		/* on_close called */

	int err;			/* fatal: end now */
	int soft_err;			/* first non-fatal problem, reported */
};

static void fail(struct relay *r, int err)
{
	if (!r->err)
		r->err = err;
}

static void soft_fail(struct relay *r, int err)
{
	if (!r->soft_err)
		r->soft_err = err;
}

static int buf_take(unsigned char **buf, struct relay *r)
{
	if (!*buf)
		*buf = malloc(RELAY_BUFSZ);
	if (!*buf) {
		tplog(LOG_ERR, "relay: out of memory for a buffer");
		fail(r, -ENOMEM);
		return -1;
	}
	return 0;
}

static void buf_drop(unsigned char **buf, size_t *off, size_t *len)
{
	free(*buf);
	*buf = NULL;
	*off = *len = 0;
}

/* ---- crypt -> plain ---- */

static ssize_t plain_write(struct relay *r, const void *p, size_t n)
{
	ssize_t rc;

	if (!r->plain_not_sock) {
		rc = send(r->plain.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (rc >= 0 || errno != ENOTSOCK)
			return rc;
		r->plain_not_sock = 1;
	}
	return write(r->plain.fd, p, n);
}

/* 1 progress, 0 blocked, -1 error */
static int c2p_write(struct relay *r)
{
	ssize_t n = plain_write(r, r->c2p_buf + r->c2p_off,
				r->c2p_len - r->c2p_off);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			return 1;
		fail(r, -errno);
		tplog(LOG_NOTICE, "relay: writing to the application: %s",
		      strerror(-r->err));
		return -1;
	}
	r->c2p_off += (size_t)n;
	r->st.crypt_to_plain += (uint64_t)n;
	if (r->c2p_off == r->c2p_len)
		r->c2p_off = r->c2p_len = 0;
	return 1;
}

static void c2p_eof(struct relay *r, int orderly)
{
	r->c2p_done = 1;
	r->c2p_orderly = orderly ? 1 : 0;
	if (shutdown(r->plain.fd, SHUT_WR) < 0 && errno != ENOTCONN &&
	    errno != ENOTSOCK)
		tplog(LOG_INFO, "relay: shutdown of the application side: %s",
		      strerror(errno));
}

/* A negative record_recv result other than AGAIN/INTERRUPTED. */
static int c2p_recv_error(struct relay *r, int rc)
{
	if (rc == GNUTLS_E_PREMATURE_TERMINATION) {
		tplog(LOG_INFO, "relay: peer closed without close_notify");
		soft_fail(r, rc);
		c2p_eof(r, 0);
		return 0;
	}
	if (!gnutls_error_is_fatal(rc)) {
		if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
			tplog(LOG_INFO, "relay: peer sent alert %s",
			      gnutls_alert_get_name(gnutls_alert_get(r->s)));
		else
			tplog(LOG_INFO, "relay: ignoring %s",
			      gnutls_strerror(rc));
		return 1;
	}
	tplog(LOG_NOTICE, "relay: TLS receive: %s", gnutls_strerror(rc));
	fail(r, rc);
	return -1;
}

/* 1 progress, 0 blocked or finished, -1 error */
static int c2p_read(struct relay *r)
{
	ssize_t rc;

	if (buf_take(&r->c2p_buf, r) < 0)
		return -1;
	r->c2p_wants_write = 0;
	rc = gnutls_record_recv(r->s, r->c2p_buf, RELAY_BUFSZ);
	if (rc > 0) {
		r->c2p_off = 0;
		r->c2p_len = (size_t)rc;
		return 1;
	}
	if (rc == 0) {
		c2p_eof(r, 1);
		return 0;
	}
	if (rc == GNUTLS_E_AGAIN) {
		r->c2p_wants_write = gnutls_record_get_direction(r->s) == 1;
		return 0;
	}
	if (rc == GNUTLS_E_INTERRUPTED)
		return 1;
	return c2p_recv_error(r, (int)rc);
}

static void c2p_pump(struct relay *r)
{
	for (int budget = RELAY_BUDGET; budget > 0; budget--) {
		int rc;

		if (r->err || r->c2p_done)
			break;
		if (r->c2p_off < r->c2p_len)
			rc = c2p_write(r);
		else
			rc = c2p_read(r);
		if (rc <= 0)
			break;
	}
	if (r->c2p_off < r->c2p_len)
		return;
	buf_drop(&r->c2p_buf, &r->c2p_off, &r->c2p_len);
	/* Decrypted records GnuTLS holds never make cryptfd readable. */
	if (!r->err && !r->c2p_done && gnutls_record_check_pending(r->s) > 0)
		worker_timer_set(r->w, &r->kick, 0);
}

/* ---- plain -> crypt ---- */

/* 1 progress, 0 blocked, -1 error */
static int p2c_send(struct relay *r)
{
	ssize_t rc = gnutls_record_send(r->s, r->p2c_buf + r->p2c_off,
					r->p2c_len - r->p2c_off);

	r->p2c_blocked = 0;
	if (rc > 0) {
		r->p2c_off += (size_t)rc;
		r->st.plain_to_crypt += (uint64_t)rc;
		if (r->p2c_off == r->p2c_len)
			r->p2c_off = r->p2c_len = 0;
		return 1;
	}
	if (rc == GNUTLS_E_AGAIN) {
		/* GnuTLS wants the very same call again; the buffer stays. */
		r->p2c_blocked = 1;
		return 0;
	}
	if (rc == GNUTLS_E_INTERRUPTED)
		return 1;
	tplog(LOG_NOTICE, "relay: TLS send: %s", gnutls_strerror((int)rc));
	fail(r, rc < 0 ? (int)rc : -EIO);
	return -1;
}

/* 1 progress, 0 blocked or finished */
static int p2c_bye(struct relay *r)
{
	int rc = gnutls_bye(r->s, GNUTLS_SHUT_WR);

	r->p2c_blocked = 0;
	if (rc == GNUTLS_E_AGAIN) {
		r->p2c_blocked = 1;
		return 0;
	}
	if (rc == GNUTLS_E_INTERRUPTED)
		return 1;
	if (rc < 0 && !r->c2p_orderly) {
		/* The peer went away first; keep delivering what it sent. */
		tplog(LOG_INFO, "relay: sending close_notify: %s",
		      gnutls_strerror(rc));
		soft_fail(r, rc);
	}
	r->p2c_done = 1;
	if (shutdown(r->crypt.fd, SHUT_WR) < 0 && errno != ENOTCONN)
		tplog(LOG_INFO, "relay: shutdown of the TLS side: %s",
		      strerror(errno));
	return 0;
}

/* 1 progress (data or EOF), 0 blocked, -1 error */
static int p2c_read(struct relay *r)
{
	ssize_t n;

	if (buf_take(&r->p2c_buf, r) < 0)
		return -1;
	n = read(r->plain.fd, r->p2c_buf, RELAY_BUFSZ);
	if (n > 0) {
		r->p2c_off = 0;
		r->p2c_len = (size_t)n;
		return 1;
	}
	if (n == 0) {
		r->p2c_eof = 1;
		return 1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	if (errno == EINTR)
		return 1;
	fail(r, -errno);
	tplog(LOG_NOTICE, "relay: reading from the application: %s",
	      strerror(-r->err));
	return -1;
}

static void p2c_pump(struct relay *r)
{
	for (int budget = RELAY_BUDGET; budget > 0; budget--) {
		int rc;

		if (r->err || r->p2c_done)
			break;
		if (r->p2c_off < r->p2c_len)
			rc = p2c_send(r);
		else if (r->p2c_eof)
			rc = p2c_bye(r);
		else
			rc = p2c_read(r);
		if (rc <= 0)
			break;
	}
	if (r->p2c_off == r->p2c_len)
		buf_drop(&r->p2c_buf, &r->p2c_off, &r->p2c_len);
}

/* ---- interest, completion ---- */

static uint32_t crypt_interest(const struct relay *r)
{
	uint32_t ev = 0;

	if (!r->c2p_done && r->c2p_off == r->c2p_len)
		ev |= r->c2p_wants_write ? EPOLLOUT : EPOLLIN;
	if (!r->p2c_done && r->p2c_blocked)
		ev |= EPOLLOUT;
	return ev;
}

static uint32_t plain_interest(const struct relay *r)
{
	uint32_t ev = 0;

	if (!r->p2c_eof && r->p2c_off == r->p2c_len)
		ev |= EPOLLIN;
	if (!r->c2p_done && r->c2p_off < r->c2p_len)
		ev |= EPOLLOUT;
	return ev;
}

static int set_interest(struct relay *r, struct ev_source *src, uint32_t ev)
{
	if (ev == 0) {
		worker_unwatch(r->w, src);
		return 0;
	}
	return worker_watch(r->w, src, ev);
}

static void relay_release(struct relay *r)
{
	worker_unwatch(r->w, &r->crypt);
	worker_unwatch(r->w, &r->plain);
	worker_timer_cancel(r->w, &r->kick);
	buf_drop(&r->c2p_buf, &r->c2p_off, &r->c2p_len);
	buf_drop(&r->p2c_buf, &r->p2c_off, &r->p2c_len);
}

/* After every step: either re-arm interest or finish.  on_close is the
 * very last thing done with r, because it may free r. */
static void relay_settle(struct relay *r)
{
	int rc, err;

	if (!r->err && !(r->c2p_done && r->p2c_done)) {
		rc = set_interest(r, &r->crypt, crypt_interest(r));
		if (rc == 0)
			rc = set_interest(r, &r->plain, plain_interest(r));
		if (rc == 0)
			return;
		fail(r, rc);
	}
	if (r->closed)
		return;
	r->closed = 1;
	err = r->err ? r->err : r->soft_err;
	relay_release(r);
	tplog(LOG_DEBUG, "relay: closed (%d), %llu bytes in, %llu out", err,
	      (unsigned long long)r->st.crypt_to_plain,
	      (unsigned long long)r->st.plain_to_crypt);
	if (r->on_close)
		r->on_close(r->ctx, err);
}

static void crypt_handle(struct ev_source *src, uint32_t ev)
{
	struct relay *r = container_of(src, struct relay, crypt);
	uint32_t bad = EPOLLERR | EPOLLHUP;

	if ((ev & (EPOLLIN | bad)) || ((ev & EPOLLOUT) && r->c2p_wants_write))
		c2p_pump(r);
	if ((ev & (EPOLLOUT | bad)) && r->p2c_blocked)
		p2c_pump(r);
	relay_settle(r);
}

static void plain_handle(struct ev_source *src, uint32_t ev)
{
	struct relay *r = container_of(src, struct relay, plain);
	uint32_t bad = EPOLLERR | EPOLLHUP;

	if (ev & (EPOLLOUT | bad))
		c2p_pump(r);
	if (ev & (EPOLLIN | bad))
		p2c_pump(r);
	relay_settle(r);
}

static void relay_kick(struct ev_timer *t)
{
	struct relay *r = container_of(t, struct relay, kick);

	c2p_pump(r);
	p2c_pump(r);
	relay_settle(r);
}

/* ---- public ---- */

struct relay *relay_start(struct worker *w, gnutls_session_t session,
			  int cryptfd, int plainfd, relay_close_fn on_close,
			  void *ctx)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r) {
		tplog(LOG_ERR, "relay: out of memory");
		goto fail;
	}
	r->w = w;
	r->s = session;
	r->on_close = on_close;
	r->ctx = ctx;
	r->crypt.fd = cryptfd;
	r->crypt.handle = crypt_handle;
	r->plain.fd = plainfd;
	r->plain.handle = plain_handle;
	r->kick.fire = relay_kick;
	if (worker_watch(w, &r->crypt, EPOLLIN) < 0)
		goto fail_free;
	if (worker_watch(w, &r->plain, EPOLLIN) < 0)
		goto fail_unwatch;
	/* The handshake may have left decrypted data inside GnuTLS, and
	 * on_close must not run before the caller has r: pump from a timer. */
	worker_timer_set(w, &r->kick, 0);
	return r;

fail_unwatch:
	worker_unwatch(w, &r->crypt);
fail_free:
	free(r);
fail:
	return NULL;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	relay_release(r);
	free(r);
}

void relay_get_stats(const struct relay *r, struct relay_stats *st)
{
	*st = r->st;
}

size_t relay_buffered_bytes(const struct relay *r)
{
	return (r->c2p_buf ? RELAY_BUFSZ : 0) + (r->p2c_buf ? RELAY_BUFSZ : 0);
}

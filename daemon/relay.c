/* relay -- moves data between a TLS session and the plaintext fd.
 *
 * Two directions, each a small state machine driven by level-triggered
 * readiness of the fd it waits for:
 *
 *   crypt->plain (c2p): gnutls_record_recv_packet takes the decrypted
 *     records that are there without waiting, up to RELAY_BATCH of them,
 *     and one sendmsg/writev hands them to plainfd straight from GnuTLS's
 *     buffers (no copy).  While records are held, cryptfd is not read
 *     (WORKER_OUT on plainfd instead).  Close_notify or TCP EOF shuts
 *     plainfd's write side, after the records before it went out.
 *     Records GnuTLS has already decrypted are invisible to epoll: after
 *     a pump, pending data re-arms the zero-delay "kick" timer.
 *
 *   plain->crypt (p2c): read up to RELAY_BATCH records of plaintext from
 *     plainfd, gnutls_record_send them at once; when there are several,
 *     their ciphertext is corked in r->out and leaves in one send.  (The
 *     copy costs less than a send per record; MSG_MORE on all but the
 *     last send measured in between.)  EOF on plainfd:
 *     gnutls_bye(GNUTLS_SHUT_WR), then, once the output is flushed,
 *     shutdown(cryptfd, SHUT_WR).
 *
 * Ciphertext output.  GnuTLS must never see an interrupted send: after a
 * record_send returned GNUTLS_E_AGAIN, a TLS 1.3 KeyUpdate request
 * processed by record_recv makes the documented retry (same data, or
 * NULL/0) send the record twice or fail (GnuTLS 3.7: the retry enters the
 * RECORD_SEND_KEY_UPDATE states, whose KeyUpdate flushes the pending
 * record and then re-encrypts the "retried" data).  So for the relay's
 * lifetime the session's push function is relay_push: it writes to
 * cryptfd directly and keeps what the kernel did not take in r->out,
 * reporting success to GnuTLS.  p2c reads plainfd only while r->out is
 * empty, which keeps the back-pressure; c2p stops reading when output
 * caused by received records (KeyUpdate replies, alerts) piles up.
 *
 * Ciphertext input.  GnuTLS reads a record in two pulls: its 5-byte
 * header, then the body.  relay_pull reads the body together with the
 * next header (recvmsg into GnuTLS's buffer plus the 5-byte r->ahead),
 * so one syscall per record, and the kernel copies straight into GnuTLS.
 * (A 64 KiB read-ahead buffer saved more syscalls but cost a copy of
 * every record and up to 64 KiB more per relay; measured, the daemon
 * used about 5% less CPU with it, the whole path about the same, and
 * only when the copy avoided glibc's rep-movsb path, which crawled on
 * the AMD Zen 3 used.)  Bytes in r->ahead are invisible to epoll too;
 * the kick covers them like GnuTLS's pending records.
 *
 * Memory.  Buffers exist only while holding data; between events a relay
 * holds at most RELAY_BATCH decrypted records for the app (GnuTLS
 * packets, about RELAY_REC_MEM each) and at most RELAY_OUT_SOFT plus one
 * flight of replies in r->out; p2c_buf (RELAY_BATCH * 16 KiB) lives only
 * inside p2c_pump.  An idle relay holds none of them.
 *
 * Interest on each fd is recomputed after every step; an fd nobody waits
 * for is unwatched, so WORKER_HUP on it cannot make the loop spin.  A fatal
 * error ends both directions at once (a fatal receive error only after
 * the records decrypted before it reached the app); a soft error (EOF
 * without close_notify, failed close_notify) ends one direction and is
 * reported by on_close.
 */
#include "relay.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "sockio.h"
#include "tplog.h"
#include "worker.h"

#define RELAY_REC 16384		/* plaintext in one TLS record */
/* What one record costs us: on the wire (header, nonce, tag, padding) or
 * as a decrypted GnuTLS packet (its buffer is sized for the largest). */
#define RELAY_REC_MEM (RELAY_REC + 512)
/* Records moved per syscall and per direction: four 16 KiB records (64
 * KiB) measured about 15% less daemon CPU per byte than one; eight
 * measured worse than four. */
#define RELAY_BATCH 4
#define RELAY_P2C_BUF (RELAY_BATCH * RELAY_REC)
/* c2p pauses while r->out holds more than a full p2c batch: a batch the
 * peer does not read yet never stops c2p by itself (so a peer that
 * writes before it reads cannot deadlock us), and r->out never holds
 * more than this plus the replies to one record. */
#define RELAY_OUT_SOFT (RELAY_BATCH * RELAY_REC_MEM)
#define RELAY_AHEAD 5		/* a TLS record header */
#define RELAY_BUDGET 32		/* steps per direction per event */
#define RELAY_FILL_CALLS 8	/* record_recv calls per fill step */

struct relay {
	struct worker *w;
	gnutls_session_t s;
	struct ev_source crypt;
	struct ev_source plain;
	struct ev_timer kick;
	relay_close_fn on_close;
	void *ctx;
	struct relay_stats st;

	gnutls_packet_t pkt[RELAY_BATCH];	/* decrypted, for the app */
	unsigned npkt;
	size_t pkt_off;			/* bytes of pkt[0] already written */
	int c2p_end;			/* record_recv result behind pkt[] */
	unsigned char ahead[RELAY_AHEAD];	/* read with the last body */
	unsigned char ahead_off, ahead_len;
	unsigned char *p2c_buf;		/* only inside p2c_pump */
	unsigned char *out;		/* ciphertext the kernel refused */
	size_t out_off, out_len, out_cap;

	unsigned c2p_end_set : 1;	/* c2p_end is valid */
	unsigned corked : 1;		/* relay_push only appends to out */
	unsigned c2p_done : 1;		/* EOF passed on to plainfd */
	unsigned c2p_orderly : 1;	/* ... and it was a close_notify */
	unsigned p2c_eof : 1;		/* plainfd gave EOF */
	unsigned p2c_bye : 1;		/* close_notify handed to GnuTLS */
	unsigned p2c_done : 1;		/* cryptfd shut for writing */
	unsigned plain_not_sock : 1;	/* plainfd wants write(), not send() */
	unsigned detached : 1;		/* session has its own transport again */
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

static size_t out_pending(const struct relay *r)
{
	return r->out_len - r->out_off;
}

static void out_drop(struct relay *r)
{
	free(r->out);
	r->out = NULL;
	r->out_off = r->out_len = r->out_cap = 0;
}

/* ---- the session's push function while the relay runs ---- */

static int out_append(struct relay *r, const struct iovec *iov, int iovcnt,
		      size_t skip)
{
	size_t need, total = 0;

	if (r->out_off > 0) {
		memmove(r->out, r->out + r->out_off, out_pending(r));
		r->out_len -= r->out_off;
		r->out_off = 0;
	}
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	need = r->out_len + total - skip;
	if (need > r->out_cap) {
		size_t cap = need < RELAY_REC_MEM ? RELAY_REC_MEM : need;
		unsigned char *p = realloc(r->out, cap);

		if (!p)
			return -ENOMEM;
		r->out = p;
		r->out_cap = cap;
	}
	for (int i = 0; i < iovcnt; i++) {
		size_t n = iov[i].iov_len;

		if (skip >= n) {
			skip -= n;
			continue;
		}
		memcpy(r->out + r->out_len, (char *)iov[i].iov_base + skip,
		       n - skip);
		r->out_len += n - skip;
		skip = 0;
	}
	return 0;
}

/* Never returns EAGAIN: what the socket does not take is kept. */
static ssize_t relay_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
			  int iovcnt)
{
	struct relay *r = ptr;
	ssize_t total = 0, sent = 0;
	int rc;

	for (int i = 0; i < iovcnt; i++)
		total += (ssize_t)iov[i].iov_len;
	if (r->p2c_done)	/* write side shut: nothing may follow */
		return total;
	while (out_pending(r) == 0 && !r->corked) {
		sent = sockio_sendv(r->crypt.fd, (const struct iovec *)iov,
				    iovcnt);
		if (sent >= 0 || (errno != EINTR && errno != EAGAIN))
			break;
		if (errno == EAGAIN) {
			sent = 0;
			break;
		}
	}
	if (sent < 0 || sent == total)
		return sent;
	rc = out_append(r, (const struct iovec *)iov, iovcnt, (size_t)sent);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return total;
}

/* The push GnuTLS gets back when the relay lets go of the session. */
static ssize_t fd_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
		       int iovcnt)
{
	return sockio_sendv((int)(intptr_t)ptr, (const struct iovec *)iov,
			    iovcnt);
}

/* 1 drained, 0 blocked, -1 error */
static int out_flush(struct relay *r)
{
	while (out_pending(r) > 0) {
		ssize_t n = sockio_send(r->crypt.fd, r->out + r->out_off,
					out_pending(r));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			fail(r, -errno);
			tplog(LOG_NOTICE, "relay: writing to the peer: %s",
			      strerror(-r->err));
			return -1;
		}
		r->out_off += (size_t)n;
	}
	out_drop(r);
	return 1;
}

/* ---- the session's pull function while the relay runs ---- */

static size_t ahead_pending(const struct relay *r)
{
	return (size_t)(r->ahead_len - r->ahead_off);
}

/* GnuTLS pulls until it has what it asked for, so handing out just the
 * bytes kept ahead is fine; else read that plus the next header. */
static ssize_t relay_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct relay *r = ptr;
	struct iovec iov[2] = { { buf, len }, { r->ahead, RELAY_AHEAD } };
	ssize_t got;

	if (ahead_pending(r) > 0) {
		size_t n = ahead_pending(r) < len ? ahead_pending(r) : len;

		memcpy(buf, r->ahead + r->ahead_off, n);
		r->ahead_off += (unsigned char)n;
		return (ssize_t)n;
	}
	r->ahead_off = r->ahead_len = 0;
	do
		got = sockio_recvv(r->crypt.fd, iov, 2);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		gnutls_transport_set_errno(r->s, errno);
		return -1;
	}
	if ((size_t)got <= len)
		return got;
	r->ahead_len = (unsigned char)((size_t)got - len);
	return (ssize_t)len;
}

static int poll_in(int fd, unsigned int ms)
{
	return sockio_wait_in(fd, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1
							  : (int)ms);
}

static int relay_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct relay *r = ptr;

	return ahead_pending(r) > 0 ? 1 : poll_in(r->crypt.fd, ms);
}

/* The pull GnuTLS gets back when the relay lets go of the session. */
static ssize_t fd_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	return sockio_recv((int)(intptr_t)ptr, buf, len);
}

static int fd_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	return poll_in((int)(intptr_t)ptr, ms);
}

/* ---- crypt -> plain ---- */

static ssize_t plain_writev(struct relay *r, struct iovec *iov, int iovcnt)
{
	ssize_t rc;

	if (!r->plain_not_sock) {
		rc = sockio_sendv(r->plain.fd, iov, iovcnt);
		if (rc >= 0 || errno != ENOTSOCK)
			return rc;
		r->plain_not_sock = 1;
	}
	return sockio_writev(r->plain.fd, iov, iovcnt);
}

static void c2p_drop(struct relay *r)
{
	for (unsigned i = 0; i < r->npkt; i++)
		gnutls_packet_deinit(r->pkt[i]);
	r->npkt = 0;
	r->pkt_off = 0;
}

/* The app took n bytes from the front of pkt[]. */
static void c2p_consume(struct relay *r, size_t n)
{
	unsigned done = 0;

	while (done < r->npkt) {
		gnutls_datum_t d;

		gnutls_packet_get(r->pkt[done], &d, NULL);
		if (n < d.size - r->pkt_off) {
			r->pkt_off += n;
			break;
		}
		n -= d.size - r->pkt_off;
		r->pkt_off = 0;
		gnutls_packet_deinit(r->pkt[done++]);
	}
	r->npkt -= done;
	memmove(r->pkt, r->pkt + done, r->npkt * sizeof(r->pkt[0]));
}

/* 1 progress, 0 blocked, -1 error */
static int c2p_write(struct relay *r)
{
	struct iovec iov[RELAY_BATCH];
	ssize_t n;

	for (unsigned i = 0; i < r->npkt; i++) {
		gnutls_datum_t d;
		size_t skip = i == 0 ? r->pkt_off : 0;

		gnutls_packet_get(r->pkt[i], &d, NULL);
		iov[i].iov_base = d.data + skip;
		iov[i].iov_len = d.size - skip;
	}
	n = plain_writev(r, iov, (int)r->npkt);
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
	r->st.crypt_to_plain += (uint64_t)n;
	c2p_consume(r, (size_t)n);
	return 1;
}

static void c2p_eof(struct relay *r, int orderly)
{
	r->c2p_done = 1;
	r->c2p_orderly = orderly ? 1 : 0;
	if (sockio_shutdown_wr(r->plain.fd) < 0 && errno != ENOTCONN &&
	    errno != ENOTSOCK)
		tplog(LOG_INFO, "relay: shutdown of the application side: %s",
		      strerror(errno));
}

/* A fatal receive error waiting behind records for the app: nothing
 * more goes to the peer meanwhile (the session is invalid anyway). */
static int c2p_fatal_waits(const struct relay *r)
{
	return r->c2p_end_set && r->c2p_end < 0 &&
	       r->c2p_end != GNUTLS_E_PREMATURE_TERMINATION;
}

/* The end of what the peer sends, now that all before it went to the
 * app: close_notify (0), EOF without it, or a fatal error.  0 or -1 */
static int c2p_finish(struct relay *r)
{
	int rc = r->c2p_end;

	r->c2p_end_set = 0;
	if (rc == 0) {
		c2p_eof(r, 1);
		return 0;
	}
	if (rc == GNUTLS_E_PREMATURE_TERMINATION) {
		tplog(LOG_INFO, "relay: peer closed without close_notify");
		soft_fail(r, rc);
		c2p_eof(r, 0);
		return 0;
	}
	tplog(LOG_NOTICE, "relay: TLS receive: %s", gnutls_strerror(rc));
	fail(r, rc);
	return -1;
}

/* Take the decrypted records there are without waiting, up to
 * RELAY_BATCH.  1 progress, 0 nothing there (or out too full) */
static int c2p_fill(struct relay *r)
{
	for (int calls = 0; calls < RELAY_FILL_CALLS; calls++) {
		gnutls_packet_t p = NULL;
		ssize_t rc;

		if (r->npkt == RELAY_BATCH || out_pending(r) > RELAY_OUT_SOFT)
			return r->npkt > 0;
		rc = gnutls_record_recv_packet(r->s, &p);
		if (rc > 0 && p) {
			r->pkt[r->npkt++] = p;
			continue;
		}
		if (p)
			gnutls_packet_deinit(p);
		if (rc == GNUTLS_E_AGAIN)
			return r->npkt > 0;
		if (rc == GNUTLS_E_INTERRUPTED)
			continue;
		if (rc == 0 || rc == GNUTLS_E_PREMATURE_TERMINATION ||
		    gnutls_error_is_fatal((int)rc)) {
			r->c2p_end = (int)rc;	/* after what is held */
			r->c2p_end_set = 1;
			return 1;
		}
		if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
			tplog(LOG_INFO, "relay: peer sent alert %s",
			      gnutls_alert_get_name(gnutls_alert_get(r->s)));
		else
			tplog(LOG_INFO, "relay: ignoring %s",
			      gnutls_strerror((int)rc));
	}
	return 1;	/* there may be more; the budget decides */
}

static void c2p_pump(struct relay *r)
{
	for (int budget = RELAY_BUDGET; budget > 0; budget--) {
		int rc;

		if (r->err || r->c2p_done)
			break;
		if (r->npkt > 0)
			rc = c2p_write(r);
		else if (r->c2p_end_set)
			rc = c2p_finish(r);
		else
			rc = c2p_fill(r);
		if (rc <= 0)
			break;
	}
	if (r->npkt > 0)
		return;		/* plainfd's WORKER_OUT brings us back */
	/* Records GnuTLS has decrypted, the header in r->ahead and an end
	 * seen behind data never make cryptfd readable. */
	if (!r->err && !r->c2p_done && out_pending(r) <= RELAY_OUT_SOFT &&
	    (r->c2p_end_set || ahead_pending(r) > 0 ||
	     gnutls_record_check_pending(r->s) > 0) &&
	    worker_timer_set(r->w, &r->kick, 0) < 0)
		fail(r, -ENOMEM);
}

/* ---- plain -> crypt ---- */

/* Hand n bytes of p2c_buf to GnuTLS, record by record.  More than one
 * record: relay_push keeps their ciphertext in out (corked, room made
 * for all of it here; p2c runs only while out is empty) and it leaves
 * in one send. */
static int p2c_send(struct relay *r, size_t n)
{
	size_t off = 0, recs = (n + RELAY_REC - 1) / RELAY_REC;

	if (recs > 1) {
		size_t cap = n + recs * (RELAY_REC_MEM - RELAY_REC);
		unsigned char *p = realloc(r->out, cap);

		if (!p) {
			fail(r, -ENOMEM);
			tplog(LOG_ERR, "relay: out of memory for a buffer");
			return -1;
		}
		r->out = p;
		r->out_cap = cap;
		r->corked = 1;
	}
	while (off < n) {
		size_t len = n - off < RELAY_REC ? n - off : RELAY_REC;
		ssize_t rc = gnutls_record_send(r->s, r->p2c_buf + off, len);

		if (rc <= 0) {
			/* AGAIN cannot happen with relay_push: fatal too */
			r->corked = 0;
			tplog(LOG_NOTICE, "relay: TLS send: %s",
			      gnutls_strerror((int)rc));
			fail(r, rc < 0 ? (int)rc : -EIO);
			return -1;
		}
		off += (size_t)rc;
		r->st.plain_to_crypt += (uint64_t)rc;
	}
	if (!r->corked)
		return 1;
	r->corked = 0;
	return out_flush(r) < 0 ? -1 : 1;
}

/* 1 progress (data or EOF), 0 blocked, -1 error */
static int p2c_read(struct relay *r)
{
	ssize_t n;

	if (!r->p2c_buf)
		r->p2c_buf = malloc(RELAY_P2C_BUF);
	if (!r->p2c_buf) {
		fail(r, -ENOMEM);
		tplog(LOG_ERR, "relay: out of memory for a buffer");
		return -1;
	}
	n = sockio_read(r->plain.fd, r->p2c_buf, RELAY_P2C_BUF);
	if (n > 0)
		return p2c_send(r, (size_t)n);
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

/* After EOF from the app: close_notify, flush, then shut the write side. */
static void p2c_finish(struct relay *r)
{
	if (!r->p2c_bye) {
		int rc = gnutls_bye(r->s, GNUTLS_SHUT_WR);

		r->p2c_bye = 1;
		if (rc < 0 && !r->c2p_orderly) {
			/* The peer went first; keep delivering what it sent. */
			tplog(LOG_INFO, "relay: sending close_notify: %s",
			      gnutls_strerror(rc));
			soft_fail(r, rc);
		}
	}
	if (out_pending(r) > 0)
		return;
	r->p2c_done = 1;
	if (sockio_shutdown_wr(r->crypt.fd) < 0 && errno != ENOTCONN)
		tplog(LOG_INFO, "relay: shutdown of the TLS side: %s",
		      strerror(errno));
}

static int p2c_may_go(const struct relay *r)
{
	return !r->err && !r->p2c_done && out_pending(r) == 0 &&
	       !c2p_fatal_waits(r);
}

static void p2c_pump(struct relay *r)
{
	for (int budget = RELAY_BUDGET; budget > 0; budget--) {
		if (!p2c_may_go(r))
			break;
		if (r->p2c_eof) {
			p2c_finish(r);
			break;
		}
		if (p2c_read(r) <= 0)
			break;
	}
	if (r->p2c_eof && p2c_may_go(r))
		p2c_finish(r);
	free(r->p2c_buf);
	r->p2c_buf = NULL;
}

/* ---- interest, completion ---- */

static uint32_t crypt_interest(const struct relay *r)
{
	uint32_t ev = 0;

	if (!r->c2p_done && r->npkt == 0 && !r->c2p_end_set &&
	    out_pending(r) <= RELAY_OUT_SOFT)
		ev |= WORKER_IN;
	if (out_pending(r) > 0)
		ev |= WORKER_OUT;
	return ev;
}

static uint32_t plain_interest(const struct relay *r)
{
	uint32_t ev = 0;

	if (!r->p2c_eof && out_pending(r) == 0 && !c2p_fatal_waits(r))
		ev |= WORKER_IN;
	if (!r->c2p_done && r->npkt > 0)
		ev |= WORKER_OUT;
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

/* Stop everything; give the session its plain transport back.  The few
 * bytes r->ahead may hold are lost to it: it comes back after the peer's
 * stream ended, after an error, or in relay_free. */
static void relay_release(struct relay *r)
{
	worker_unwatch(r->w, &r->crypt);
	worker_unwatch(r->w, &r->plain);
	worker_timer_cancel(r->w, &r->kick);
	c2p_drop(r);
	out_drop(r);
	if (!r->detached) {
		r->detached = 1;
		gnutls_transport_set_vec_push_function(r->s, fd_push);
		gnutls_transport_set_pull_function(r->s, fd_pull);
		gnutls_transport_set_pull_timeout_function(r->s,
							   fd_pull_timeout);
		gnutls_transport_set_int(r->s, r->crypt.fd);
	}
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
	uint32_t bad = WORKER_ERR | WORKER_HUP;
	int drained = 0;

	if ((ev & (WORKER_OUT | bad)) && out_pending(r) > 0)
		drained = out_flush(r) > 0;
	if (drained)
		p2c_pump(r);	/* may read the app again, or finish */
	/* After a drain c2p may resume with data already inside GnuTLS. */
	if ((ev & (WORKER_IN | bad)) || drained)
		c2p_pump(r);
	relay_settle(r);
}

static void plain_handle(struct ev_source *src, uint32_t ev)
{
	struct relay *r = container_of(src, struct relay, plain);
	uint32_t bad = WORKER_ERR | WORKER_HUP;

	if (ev & (WORKER_OUT | bad))
		c2p_pump(r);
	if (ev & (WORKER_IN | bad))
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
	if (worker_watch(w, &r->crypt, WORKER_IN) < 0)
		goto fail_free;
	if (worker_watch(w, &r->plain, WORKER_IN) < 0)
		goto fail_unwatch;
	gnutls_transport_set_ptr(session, r);
	gnutls_transport_set_vec_push_function(session, relay_push);
	gnutls_transport_set_pull_function(session, relay_pull);
	gnutls_transport_set_pull_timeout_function(session, relay_pull_timeout);
	/* The handshake may have left decrypted data inside GnuTLS, and
	 * on_close must not run before the caller has r: pump from a timer. */
	if (worker_timer_set(w, &r->kick, 0) < 0)
		goto fail_push;
	return r;

fail_push:
	relay_release(r);
	free(r);
	return NULL;
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
	return r->npkt * (size_t)RELAY_REC_MEM +
	       (r->p2c_buf ? RELAY_P2C_BUF : 0) + r->out_cap;
}

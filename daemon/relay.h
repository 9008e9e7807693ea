/* relay -- moves data between a TLS session and the plaintext fd.
 *
 * Bounded buffers per direction, allocated only while data is in flight,
 * so an idle relay costs no buffer memory: towards the app at most four
 * decrypted TLS records (about 66 KiB); towards the peer at most one
 * batch of four records of ciphertext (about 66 KiB) plus the replies to
 * one received record, and a 64 KiB read buffer that exists only while a
 * batch is being encrypted.
 * Back-pressure: a direction stops reading its source while its sink is
 * full (EAGAIN) and resumes on WORKER_OUT; nothing is dropped because a
 * reader is slow.  Half-close passes through: EOF on plainfd sends
 * close_notify and shuts the TCP write side; close_notify or EOF from
 * the peer shuts plainfd's write side.  When both directions are done,
 * or on an error, on_close runs once (on the worker thread).
 */
#ifndef TP_RELAY_H
#define TP_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

struct worker;
struct relay;

struct relay_stats {
	uint64_t crypt_to_plain;	/* plaintext bytes delivered to the app */
	uint64_t plain_to_crypt;	/* plaintext bytes sent to the peer */
};

/* on_close: err 0 for an orderly end of both directions, else -errno or
 * a GnuTLS error code (negative).  The relay has stopped watching both
 * fds when on_close runs; the caller then calls relay_free and closes
 * what it owns. */
typedef void (*relay_close_fn)(void *ctx, int err);

/* session: handshaken, its transport the non-blocking cryptfd.
 * plainfd: non-blocking; both fds stay owned by the caller.
 * While it runs, the relay owns the session's transport: it installs its
 * own vec push and pull functions and transport pointer (so that GnuTLS
 * never sees EAGAIN on send, and reads one record per syscall; see
 * relay.c).  Before on_close, or in relay_free, it puts back a plain
 * sendmsg(MSG_NOSIGNAL) push and recv() pull on cryptfd
 * (gnutls_transport_set_int), so the caller may still use the session; up
 * to 5 bytes the relay read ahead of GnuTLS are then lost, which matters
 * only after an error or a relay_free mid-stream.
 * Call on w's thread.  on_close never runs before relay_start returned;
 * it may call relay_free.  NULL on failure (out of memory, epoll). */
struct relay *relay_start(struct worker *w, gnutls_session_t session,
			  int cryptfd, int plainfd, relay_close_fn on_close,
			  void *ctx);

/* Stop watching and release buffers; does not call on_close. */
void relay_free(struct relay *r);

void relay_get_stats(const struct relay *r, struct relay_stats *st);

/* Bytes of buffer memory the relay holds right now (0 when idle, at most
 * four records per direction: about 132 KiB in all); for tests and
 * metrics.  On w's thread. */
size_t relay_buffered_bytes(const struct relay *r);

#endif

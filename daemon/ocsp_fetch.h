/* ocsp_fetch -- the online revocation check (valexp O and o): ask the
 * OCSP responder named in the peer certificate, off the workers.
 *
 * What is asked: the first http:// URI of the certificate's Authority
 * Information Access id-ad-ocsp entries (https is not spoken).  The
 * request (RFC 6960, SHA-1 CertID, with a random nonce) goes as an
 * HTTP/1.0 POST of application/ocsp-request over a plain TCP connection
 * to the URI's host and port; at most OCSP_RESPONSE_MAX bytes are read
 * back, and connecting, sending and reading together take at most the
 * configured timeout (ocsp_timeout, default 2000 ms).
 *
 * What counts (ocsp_check_response): a successful response whose
 * signature verifies against the issuer, or against a responder
 * certificate in the response that the issuer signed and that carries
 * the OCSP signing key purpose (gnutls_ocsp_resp_verify_direct); whose
 * single response names the certificate; that carries the request's
 * nonce; and that is current (thisUpdate no later than now + 5 min,
 * nextUpdate, when present, no earlier than now - 5 min).  Then its
 * status decides.  A signed "revoked" counts even without the nonce and
 * out of its validity window (revocation is final).
 *
 * Verdicts: GOOD (O and o hold), REVOKED and INVALID (a signed answer
 * that fails a check, or says "unknown": O and o fail), UNAVAILABLE (no
 * responder, unreachable, timed out, an HTTP or encoding error, a
 * responder error status such as tryLater, or a good answer without the
 * nonce: O fails, o holds).  Every verdict carries its reason.
 *
 * Threads: a bgjob pool of OCSP's own (bgjob.h), at most OCSP_THREADS
 * helper threads, started on demand and never stopped (they wait on a
 * condition variable when idle), serves a queue of at most
 * OCSP_QUEUE_MAX queries; a query that
 * finds the queue full is answered UNAVAILABLE at once.  The blocking
 * calls (getaddrinfo for a host name, connect, send, recv under poll)
 * run on those threads only; the result is posted back to the worker
 * that asked (worker_post), which runs the done callback.  Name
 * resolution of a host name is bounded only by the resolver's own
 * timeouts: the caller therefore keeps its own timer as well and must
 * tolerate an answer that comes after it stopped waiting (see
 * session_ocsp.c).  No answers are cached: every check asks afresh,
 * with a new nonce.
 */
#ifndef TP_OCSP_FETCH_H
#define TP_OCSP_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "valexp.h"

struct worker;

#define OCSP_THREADS 4
#define OCSP_QUEUE_MAX 256
#define OCSP_RESPONSE_MAX (64 * 1024)	/* HTTP headers and body */
#define OCSP_TIMEOUT_DEFAULT_MS 2000
#define OCSP_TIMEOUT_MAX_MS 60000
#define OCSP_SKEW_S 300			/* clock skew allowed */
#define OCSP_URL_MAX 256

enum ocsp_verdict {
	OCSP_UNAVAILABLE = 0,	/* no answer that counts: O fails, o holds */
	OCSP_GOOD,		/* O and o hold */
	OCSP_REVOKED,		/* O and o fail */
	OCSP_INVALID,		/* a signed answer that fails a check */
};

struct ocsp_result {
	enum ocsp_verdict verdict;
	char why[VALEXP_WHYLEN];	/* e.g. "OCSP responder URL says good" */
};

/* A parsed http:// URL. */
struct ocsp_url {
	char host[128];		/* name or address, IPv6 without brackets */
	char port[6];		/* "80" when the URL names none */
	char path[OCSP_URL_MAX];	/* "/" at least; query kept */
};

/* What a query needs: DER copies (gnutls_malloc) and the URL. */
struct ocsp_query {
	gnutls_datum_t leaf, issuer;
	char url[OCSP_URL_MAX];
};

/* ---- pure parts (unit tested) ---- */

/* Parse "http://host[:port][/path]" (scheme case-insensitive; host a DNS
 * name, an IPv4 address or [IPv6]; no user info; port 1..65535; no
 * spaces or control characters; a fragment is dropped).  0, or
 * -EPROTONOSUPPORT for another scheme (https too), or -EINVAL. */
int ocsp_url_parse(const char *url, struct ocsp_url *u);

/* The HTTP/1.0 POST header for a body of bodylen bytes to u, into buf.
 * Its length, or -ENOSPC. */
int ocsp_http_request(const struct ocsp_url *u, size_t bodylen, char *buf,
		      size_t len);

/* Parse an HTTP response received so far (len bytes; eof: the peer
 * closed).  0 with the body at buf + *body_off, *body_len bytes (the
 * Content-Length when given, else everything up to EOF); -EAGAIN when
 * more must be read; -EPROTO for a status other than 200, -EBADMSG for a
 * malformed or truncated response (chunked encoding, a bad or
 * conflicting Content-Length, a Content-Type other than
 * application/ocsp-response, an empty body), -EMSGSIZE when it exceeds
 * OCSP_RESPONSE_MAX; the reason in why. */
int ocsp_http_parse(const uint8_t *buf, size_t len, int eof,
		    size_t *body_off, size_t *body_len, char *why,
		    size_t whylen);

/* ---- certificates ---- */

/* Set the timeout for new queries (clamped to 1..OCSP_TIMEOUT_MAX_MS;
 * 0 restores the default) and read it. */
void ocsp_fetch_set_timeout(unsigned ms);
unsigned ocsp_fetch_timeout(void);

/* Decide what asking needs: 1 with q filled (free it with
 * ocsp_query_clear) when the responder must be asked; 0 with r set when
 * the answer is known without asking (no issuer, no http responder in
 * the certificate); -ENOMEM. */
int ocsp_fetch_prepare(gnutls_x509_crt_t leaf, gnutls_x509_crt_t issuer,
		       struct ocsp_query *q, struct ocsp_result *r);
void ocsp_query_clear(struct ocsp_query *q);

/* Judge a DER OCSP response to a request with nonce for leaf (issued by
 * issuer), at time now; r receives verdict and reason (url names the
 * responder in it). */
void ocsp_check_response(const gnutls_datum_t *der, gnutls_x509_crt_t leaf,
			 gnutls_x509_crt_t issuer, const gnutls_datum_t *nonce,
			 time_t now, const char *url, struct ocsp_result *r);

/* The verdict a timed-out query gets (the caller's own timer). */
void ocsp_result_timeout(struct ocsp_result *r, const char *url,
			 unsigned ms);

/* ---- asking (blocking: helper threads and tests only) ---- */

/* Ask u's host: send req, read the response into *resp (malloc'd, the
 * HTTP body only), all within timeout_ms.  0, or -errno with the reason
 * ("unreachable: connection refused", "timed out after 2000 ms", ...)
 * in why. */
int ocsp_http_exchange(const struct ocsp_url *u, const gnutls_datum_t *req,
		       unsigned timeout_ms, uint8_t **resp, size_t *resplen,
		       char *why, size_t whylen);

/* The whole check for q, blocking: build the request, ask, judge. */
void ocsp_fetch_run(const struct ocsp_query *q, unsigned timeout_ms,
		    struct ocsp_result *r);

/* ---- asking (from a worker) ---- */

/* Run the check for q (whose contents are taken over, q is cleared) on
 * the helper pool; done(arg, result) then runs on worker w.  0, or
 * -ENOMEM / -EAGAIN (queue full) / -errno from pthread_create, when done
 * will not be called (q is cleared all the same). */
int ocsp_fetch_start(struct worker *w, struct ocsp_query *q,
		     unsigned timeout_ms,
		     void (*done)(void *arg, const struct ocsp_result *r),
		     void *arg);

#endif

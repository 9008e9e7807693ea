/* ocsp_fetch -- the online revocation check (O/o): request, the blocking
 * exchange on helper threads, judging the answer.  See ocsp_fetch.h. */
#include "ocsp_fetch.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gnutls/ocsp.h>

#include "bgjob.h"
#include "sockio.h"

static atomic_uint timeout_ms = OCSP_TIMEOUT_DEFAULT_MS;

void ocsp_fetch_set_timeout(unsigned ms)
{
	if (ms == 0)
		ms = OCSP_TIMEOUT_DEFAULT_MS;
	if (ms > OCSP_TIMEOUT_MAX_MS)
		ms = OCSP_TIMEOUT_MAX_MS;
	atomic_store(&timeout_ms, ms);
}

unsigned ocsp_fetch_timeout(void)
{
	return atomic_load(&timeout_ms);
}

static void verdict(struct ocsp_result *r, enum ocsp_verdict v,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void verdict(struct ocsp_result *r, enum ocsp_verdict v,
		    const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

void ocsp_result_timeout(struct ocsp_result *r, const char *url,
			 unsigned ms)
{
	verdict(r, OCSP_UNAVAILABLE, "OCSP responder %s: timed out after %u ms",
		url, ms);
}

/* ---- what to ask ---- */

/* The first http:// OCSP URI of leaf's AIA into url; 0, or -ENOENT
 * (none: first non-http one, if any, in other). */
static int responder_url(gnutls_x509_crt_t leaf, char *url, size_t len,
			 char *other, size_t olen)
{
	other[0] = '\0';
	for (unsigned seq = 0; seq < 32; seq++) {
		gnutls_datum_t d = { NULL, 0 };
		struct ocsp_url u;
		int rc = gnutls_x509_crt_get_authority_info_access(
			leaf, seq, GNUTLS_IA_OCSP_URI, &d, NULL);

		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return -ENOENT;
		if (rc < 0)
			continue;	/* another access method */
		if (d.size > 0 && d.size < len &&
		    memchr(d.data, 0, d.size) == NULL) {
			memcpy(url, d.data, d.size);
			url[d.size] = '\0';
			if (ocsp_url_parse(url, &u) == 0) {
				gnutls_free(d.data);
				return 0;
			}
			if (other[0] == '\0') {	/* quoted in logs: printable */
				snprintf(other, olen, "%.80s", url);
				for (char *c = other; *c; c++)
					if (*c < 0x20 || *c >= 0x7f)
						*c = '?';
			}
		}
		gnutls_free(d.data);
	}
	return -ENOENT;		/* a bound, should every entry fail */
}

void ocsp_query_clear(struct ocsp_query *q)
{
	gnutls_free(q->leaf.data);
	gnutls_free(q->issuer.data);
	memset(q, 0, sizeof(*q));
}

int ocsp_fetch_prepare(gnutls_x509_crt_t leaf, gnutls_x509_crt_t issuer,
		       struct ocsp_query *q, struct ocsp_result *r)
{
	char other[96];

	memset(q, 0, sizeof(*q));
	if (responder_url(leaf, q->url, sizeof(q->url), other,
			  sizeof(other)) < 0) {
		q->url[0] = '\0';
		if (other[0] != '\0')
			verdict(r, OCSP_UNAVAILABLE, "no usable OCSP responder "
				"in the certificate (%s)", other);
		else
			verdict(r, OCSP_UNAVAILABLE, "no OCSP responder in the "
				"certificate");
		return 0;
	}
	if (issuer == NULL) {
		verdict(r, OCSP_UNAVAILABLE, "the issuer certificate is not "
			"known: cannot ask %s", q->url);
		return 0;
	}
	if (gnutls_x509_crt_export2(leaf, GNUTLS_X509_FMT_DER, &q->leaf) < 0 ||
	    gnutls_x509_crt_export2(issuer, GNUTLS_X509_FMT_DER,
				    &q->issuer) < 0) {
		ocsp_query_clear(q);
		return -ENOMEM;
	}
	return 1;
}

/* ---- judging the answer ---- */

static const char *verify_text(unsigned v)
{
	if (v & GNUTLS_OCSP_VERIFY_SIGNER_NOT_FOUND)
		return "signed by neither the issuer nor a responder it certified";
	if (v & GNUTLS_OCSP_VERIFY_SIGNER_KEYUSAGE_ERROR)
		return "the signer lacks the OCSP signing key purpose";
	if (v & GNUTLS_OCSP_VERIFY_UNTRUSTED_SIGNER)
		return "the signer is not certified by the issuer";
	if (v & GNUTLS_OCSP_VERIFY_INSECURE_ALGORITHM)
		return "signed with an insecure algorithm";
	if (v & GNUTLS_OCSP_VERIFY_SIGNATURE_FAILURE)
		return "the signature does not verify";
	if (v & (GNUTLS_OCSP_VERIFY_CERT_NOT_ACTIVATED |
		 GNUTLS_OCSP_VERIFY_CERT_EXPIRED))
		return "the signer's certificate is not valid now";
	return "the signature is not acceptable";
}

static const char *resp_status_text(int st)
{
	switch (st) {
	case GNUTLS_OCSP_RESP_MALFORMEDREQUEST: return "malformedRequest";
	case GNUTLS_OCSP_RESP_INTERNALERROR: return "internalError";
	case GNUTLS_OCSP_RESP_TRYLATER: return "tryLater";
	case GNUTLS_OCSP_RESP_SIGREQUIRED: return "sigRequired";
	case GNUTLS_OCSP_RESP_UNAUTHORIZED: return "unauthorized";
	default: return "an unknown status";
	}
}

/* -1 no nonce in the response, 0 a different one, 1 the same. */
static int nonce_matches(gnutls_ocsp_resp_t resp, const gnutls_datum_t *want)
{
	gnutls_datum_t got = { NULL, 0 };
	int rc = gnutls_ocsp_resp_get_nonce(resp, NULL, &got);
	int same;

	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return -1;
	if (rc < 0)
		return 0;
	same = want != NULL && got.size == want->size && want->size > 0 &&
	       memcmp(got.data, want->data, got.size) == 0;
	gnutls_free(got.data);
	return same;
}

/* The single response: status and validity; 0 or -1 with r set. */
static int judge_single(gnutls_ocsp_resp_t resp, time_t now, const char *url,
			int nonce, struct ocsp_result *r)
{
	unsigned st = 0;
	time_t this_upd = -1, next_upd = -1, rev = -1;

	if (gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL, &st,
					&this_upd, &next_upd, &rev, NULL) < 0) {
		verdict(r, OCSP_INVALID, "OCSP responder %s: no single response",
			url);
		return -1;
	}
	if (st == GNUTLS_OCSP_CERT_REVOKED) {	/* final: no nonce needed */
		verdict(r, OCSP_REVOKED, "OCSP responder %s says revoked", url);
		return -1;
	}
	if (nonce == 0) {
		verdict(r, OCSP_INVALID, "OCSP responder %s: the response's "
			"nonce does not match the request's", url);
		return -1;
	}
	if (this_upd == (time_t)-1 || this_upd > now + OCSP_SKEW_S) {
		verdict(r, OCSP_INVALID, "OCSP responder %s: the response is "
			"not yet valid", url);
		return -1;
	}
	if (next_upd != (time_t)-1 && next_upd < now - OCSP_SKEW_S) {
		verdict(r, OCSP_INVALID, "OCSP responder %s: the response is "
			"out of date", url);
		return -1;
	}
	if (st != GNUTLS_OCSP_CERT_GOOD) {
		verdict(r, OCSP_INVALID, "OCSP responder %s says the "
			"certificate is unknown", url);
		return -1;
	}
	if (nonce < 0) {
		verdict(r, OCSP_UNAVAILABLE, "OCSP responder %s says good, but "
			"without the request's nonce", url);
		return -1;
	}
	return 0;
}

void ocsp_check_response(const gnutls_datum_t *der, gnutls_x509_crt_t leaf,
			 gnutls_x509_crt_t issuer, const gnutls_datum_t *nonce,
			 time_t now, const char *url, struct ocsp_result *r)
{
	gnutls_ocsp_resp_t resp = NULL;
	unsigned vs = 0;
	int st, rc;

	if (gnutls_ocsp_resp_init(&resp) < 0) {
		verdict(r, OCSP_UNAVAILABLE, "out of memory");
		return;
	}
	if (gnutls_ocsp_resp_import(resp, der) < 0) {
		verdict(r, OCSP_UNAVAILABLE, "OCSP responder %s: the answer is "
			"no OCSP response", url);
		goto cleanup;
	}
	st = gnutls_ocsp_resp_get_status(resp);
	if (st != GNUTLS_OCSP_RESP_SUCCESSFUL) {
		verdict(r, OCSP_UNAVAILABLE, "OCSP responder %s answered %s",
			url, st < 0 ? "an unknown status" : resp_status_text(st));
		goto cleanup;
	}
	rc = gnutls_ocsp_resp_verify_direct(resp, issuer, &vs, 0);
	if (rc < 0 || vs != 0) {
		verdict(r, OCSP_INVALID, "OCSP responder %s: response %s", url,
			rc < 0 ? gnutls_strerror(rc) : verify_text(vs));
		goto cleanup;
	}
	if (gnutls_ocsp_resp_check_crt(resp, 0, leaf) < 0) {
		verdict(r, OCSP_INVALID, "OCSP responder %s: the response is "
			"about another certificate", url);
		goto cleanup;
	}
	if (judge_single(resp, now, url, nonce_matches(resp, nonce), r) < 0)
		goto cleanup;
	verdict(r, OCSP_GOOD, "OCSP responder %s says good", url);
cleanup:
	gnutls_ocsp_resp_deinit(resp);
}

/* ---- asking ---- */

static int build_request(gnutls_x509_crt_t leaf, gnutls_x509_crt_t issuer,
			 gnutls_datum_t *der, gnutls_datum_t *nonce)
{
	gnutls_ocsp_req_t req;
	int rc;

	if (gnutls_ocsp_req_init(&req) < 0)
		return -ENOMEM;
	rc = gnutls_ocsp_req_add_cert(req, GNUTLS_DIG_SHA1, issuer, leaf);
	if (rc == 0)
		rc = gnutls_ocsp_req_randomize_nonce(req);
	if (rc == 0)
		rc = gnutls_ocsp_req_get_nonce(req, NULL, nonce);
	if (rc == 0)
		rc = gnutls_ocsp_req_export(req, der);
	gnutls_ocsp_req_deinit(req);
	if (rc < 0) {
		gnutls_free(nonce->data);
		nonce->data = NULL;
		return -EINVAL;
	}
	return 0;
}

void ocsp_fetch_run(const struct ocsp_query *q, unsigned tmo,
		    struct ocsp_result *r)
{
	gnutls_x509_crt_t leaf = NULL, issuer = NULL;
	gnutls_datum_t req = { NULL, 0 }, nonce = { NULL, 0 };
	struct ocsp_url u;
	uint8_t *body = NULL;
	size_t blen = 0;
	char why[VALEXP_WHYLEN];

	if (ocsp_url_parse(q->url, &u) < 0) {
		verdict(r, OCSP_UNAVAILABLE, "unusable OCSP responder URL");
		return;
	}
	if (gnutls_x509_crt_init(&leaf) < 0 ||
	    gnutls_x509_crt_init(&issuer) < 0 ||
	    gnutls_x509_crt_import(leaf, &q->leaf, GNUTLS_X509_FMT_DER) < 0 ||
	    gnutls_x509_crt_import(issuer, &q->issuer, GNUTLS_X509_FMT_DER) < 0 ||
	    build_request(leaf, issuer, &req, &nonce) < 0) {
		verdict(r, OCSP_UNAVAILABLE, "cannot build the OCSP request "
			"for %s", q->url);
		goto cleanup;
	}
	if (ocsp_http_exchange(&u, &req, tmo, &body, &blen, why,
			       sizeof(why)) < 0) {
		verdict(r, OCSP_UNAVAILABLE, "OCSP responder %s: %s", q->url,
			why);
		goto cleanup;
	}
	{
		gnutls_datum_t d = { body, (unsigned)blen };

		ocsp_check_response(&d, leaf, issuer, &nonce, time(NULL),
				    q->url, r);
	}
cleanup:
	free(body);
	gnutls_free(req.data);
	gnutls_free(nonce.data);
	if (leaf != NULL)
		gnutls_x509_crt_deinit(leaf);
	if (issuer != NULL)
		gnutls_x509_crt_deinit(issuer);
}

/* ---- the exchange (blocking, bounded by a deadline) ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for fd to be readable (out: writable) until deadline: 1 ready,
 * 0 timed out, -errno. */
static int wait_fd(int fd, int out, uint64_t deadline)
{
	for (;;) {
		uint64_t now = mono_ms();
		int rc;

		if (now >= deadline)
			return 0;
		rc = out ? sockio_wait_out(fd, (int)(deadline - now))
			 : sockio_wait_in(fd, (int)(deadline - now));
		if (rc > 0)
			return 1;
		if (rc == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Connect to one address: fd, or -errno (-ETIMEDOUT at the deadline). */
static int connect_one(const struct addrinfo *ai, uint64_t deadline)
{
	int fd, rc, err;

	err = sockio_connect_start(ai, &fd);
	if (err == 0)
		return fd;
	if (err != -EINPROGRESS)
		return err;
	rc = wait_fd(fd, 1, deadline);
	if (rc <= 0) {
		err = rc == 0 ? -ETIMEDOUT : rc;
		goto fail;
	}
	err = sockio_connect_result(fd);
	if (err == 0)
		return fd;
fail:
	sockio_close(fd);
	return err;
}

/* strerror, starting in lower case ("connection refused"). */
static const char *err_text(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(err));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && (buf[1] < 'A' || buf[1] > 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

static int resolve(const struct ocsp_url *u, struct addrinfo **res,
		   char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_NUMERICHOST };
	int rc;

	rc = getaddrinfo(u->host, u->port, &hints, res);
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		rc = getaddrinfo(u->host, u->port, &hints, res);
	}
	if (rc != 0) {
		snprintf(why, whylen, "unreachable: cannot resolve %s: %s",
			 u->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

static int send_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t k = sockio_send(fd, p, n);
		int rc;

		if (k > 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		rc = wait_fd(fd, 1, deadline);
		if (rc <= 0)
			return rc == 0 ? -ETIMEDOUT : rc;
	}
	return 0;
}

/* Read until the response is complete, the peer closes, it grows too
 * big or the deadline passes; the body is moved to the front of buf. */
static int read_response(int fd, uint8_t *buf, size_t *blen,
			 uint64_t deadline, char *why, size_t whylen)
{
	size_t len = 0, off = 0;
	int eof = 0, rc;

	for (;;) {
		rc = ocsp_http_parse(buf, len, eof, &off, blen, why, whylen);
		if (rc != -EAGAIN)
			break;
		rc = wait_fd(fd, 0, deadline);
		if (rc <= 0)
			return rc == 0 ? -ETIMEDOUT : rc;
		{
			ssize_t k = sockio_recv(fd, buf + len,
						OCSP_RESPONSE_MAX + 1 - len);

			if (k < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (k < 0)
				return -errno;
			if (k == 0)
				eof = 1;
			len += (size_t)k;
		}
	}
	if (rc == 0)
		memmove(buf, buf + off, *blen);
	return rc;
}

int ocsp_http_exchange(const struct ocsp_url *u, const gnutls_datum_t *req,
		       unsigned tmo, uint8_t **resp, size_t *resplen,
		       char *why, size_t whylen)
{
	uint64_t deadline = mono_ms() + tmo;
	struct addrinfo *ai = NULL;
	char head[OCSP_URL_MAX + 512];
	uint8_t *buf = NULL;
	const char *phase = "connection lost";
	char text[64];
	int fd = -ETIMEDOUT, rc, hl;

	*resp = NULL;
	*resplen = 0;
	why[0] = '\0';
	hl = ocsp_http_request(u, req->size, head, sizeof(head));
	if (hl < 0) {
		snprintf(why, whylen, "the request does not fit");
		return hl;
	}
	rc = resolve(u, &ai, why, whylen);
	if (rc < 0)
		return rc;
	for (const struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		fd = connect_one(a, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		rc = fd;
		phase = "unreachable";
		goto out;
	}
	rc = send_all(fd, (const uint8_t *)head, (size_t)hl, deadline);
	if (rc == 0)
		rc = send_all(fd, req->data, req->size, deadline);
	if (rc == 0) {
		buf = malloc(OCSP_RESPONSE_MAX + 1);
		rc = buf == NULL ? -ENOMEM
				 : read_response(fd, buf, resplen, deadline,
						 why, whylen);
	}
	sockio_close(fd);
out:
	if (rc == -ETIMEDOUT)
		snprintf(why, whylen, "timed out after %u ms", tmo);
	else if (rc < 0 && why[0] == '\0')
		snprintf(why, whylen, "%s: %s", phase, err_text(-rc, text,
								sizeof(text)));
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*resp = buf;
	return 0;
}

/* ---- the helper pool ---- */

struct ocsp_job {
	struct ocsp_query q;
	unsigned timeout_ms;
	void (*done)(void *arg, const struct ocsp_result *r);
	void *arg;
	struct ocsp_result r;
};

static struct bgjob_pool pool =
	BGJOB_POOL_INIT("ocsp", OCSP_THREADS, OCSP_QUEUE_MAX);

/* On a helper thread. */
static void job_run(void *arg)
{
	struct ocsp_job *j = arg;

	ocsp_fetch_run(&j->q, j->timeout_ms, &j->r);
	ocsp_query_clear(&j->q);
}

/* On the asking worker. */
static void job_finish(void *arg)
{
	struct ocsp_job *j = arg;

	j->done(j->arg, &j->r);
	free(j);
}

int ocsp_fetch_start(struct worker *w, struct ocsp_query *q,
		     unsigned tmo,
		     void (*done)(void *arg, const struct ocsp_result *r),
		     void *arg)
{
	struct ocsp_job *j;
	int rc;

	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		ocsp_query_clear(q);
		return -ENOMEM;
	}
	j->q = *q;
	memset(q, 0, sizeof(*q));
	j->timeout_ms = tmo;
	j->done = done;
	j->arg = arg;
	rc = bgjob_pool_start(&pool, w, job_run, job_finish, j);
	if (rc < 0) {
		ocsp_query_clear(&j->q);
		free(j);
	}
	return rc;
}

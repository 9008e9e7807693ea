/* Unit tests for daemon/ocsp_http.c and daemon/ocsp_fetch.c: responder
 * URLs, the HTTP request, the HTTP response parser with hostile input,
 * the blocking exchange against loopback listeners (refused, silent,
 * oversized, dripping, good), what a certificate's AIA makes of a query,
 * and a result posted back to the asking worker.  The verdicts on real
 * OCSP responses are covered by tests/integration/t_ocsp.sh (openssl
 * ocsp as the responder). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "ocsp_fetch.h"
#include "worker.h"

/* ---- URLs ---- */

static void url_ok(const char *url, const char *host, const char *port,
		   const char *path)
{
	struct ocsp_url u;

	assert_int_equal(ocsp_url_parse(url, &u), 0);
	assert_string_equal(u.host, host);
	assert_string_equal(u.port, port);
	assert_string_equal(u.path, path);
}

static void test_url_good(void **state)
{
	(void)state;
	url_ok("http://127.0.0.1:5678/", "127.0.0.1", "5678", "/");
	url_ok("http://ocsp.example.com", "ocsp.example.com", "80", "/");
	url_ok("HTTP://Ocsp.Example.COM/", "Ocsp.Example.COM", "80", "/");
	url_ok("http://h:80/a/b?c=d", "h", "80", "/a/b?c=d");
	url_ok("http://h?x=1", "h", "80", "/?x=1");
	url_ok("http://h/p#frag", "h", "80", "/p");
	url_ok("http://h#frag", "h", "80", "/");
	url_ok("http://[::1]:8080/ocsp", "::1", "8080", "/ocsp");
	url_ok("http://[2001:db8::1]/", "2001:db8::1", "80", "/");
	url_ok("http://h:00443/", "h", "443", "/");
	url_ok("http://h:65535", "h", "65535", "/");
}

static void test_url_bad(void **state)
{
	static const char *bad[] = {
		"", "http", "http:/h/", "http://", "http:///", "http://:80/",
		"http://h:/", "http://h:0/", "http://h:65536/",
		"http://h:99999999/", "http://h:8a/", "http://a:b:c/",
		"http://u@h/", "http://u:p@h/", "http://h /",
		"http://h/\r\nX-Injected: 1", "http://h/\x7f", "http://h\t/",
		"http://[::1/", "http://[zz]/", "http://[::1]x/",
		"http://[::1]:/", "http://[1]/", "http://h%41/", "://h/",
		"http://h\xc3\xa9/",
	};
	static const char *other[] = {
		"https://h/", "ftp://h/", "ldap://h/", "httpx://h/",
		"HTTPS://h:443/",
	};
	struct ocsp_url u;
	char longurl[OCSP_URL_MAX + 10];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ocsp_url_parse(bad[i], &u);

		if (rc != -EINVAL)
			fail_msg("\"%s\": %d, want -EINVAL", bad[i], rc);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		assert_int_equal(ocsp_url_parse(other[i], &u),
				 -EPROTONOSUPPORT);
	assert_int_equal(ocsp_url_parse(NULL, &u), -EINVAL);
	memset(longurl, 'a', sizeof(longurl) - 1);
	longurl[sizeof(longurl) - 1] = '\0';
	memcpy(longurl, "http://h/", 9);
	assert_int_equal(ocsp_url_parse(longurl, &u), -EINVAL);
	/* a host name longer than the buffer */
	memset(longurl + 7, 'b', 150);
	longurl[157] = '\0';
	assert_int_equal(ocsp_url_parse(longurl, &u), -EINVAL);
}

static void test_http_request(void **state)
{
	struct ocsp_url u;
	char buf[512];
	int n;

	(void)state;
	assert_int_equal(ocsp_url_parse("http://127.0.0.1:5678/x", &u), 0);
	n = ocsp_http_request(&u, 99, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf,
		"POST /x HTTP/1.0\r\nHost: 127.0.0.1:5678\r\n"
		"Content-Type: application/ocsp-request\r\n"
		"Accept: application/ocsp-response\r\n"
		"Content-Length: 99\r\nConnection: close\r\n\r\n");
	assert_int_equal(ocsp_url_parse("http://[::1]/", &u), 0);
	assert_true(ocsp_http_request(&u, 1, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\r\nHost: [::1]\r\n"));
	assert_int_equal(ocsp_http_request(&u, 1, buf, 20), -ENOSPC);
}

/* ---- HTTP responses ---- */

static int parse(const char *text, size_t len, int eof, size_t *off,
		 size_t *blen, char *why)
{
	why[0] = '\0';
	return ocsp_http_parse((const uint8_t *)text, len, eof, off, blen, why,
			       128);
}

#define GOOD_RESP "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n" \
		  "Content-Length: 5\r\n\r\nABCDE"

static void test_http_good(void **state)
{
	size_t off, blen;
	char why[128];
	const char *lf = "HTTP/1.1 200 OK\nContent-type: Application/OCSP-Response; x=y\n\nXYZ";
	const char *extra = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nABCDE";
	const char *twice = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-length:  2 \r\n\r\nAB";

	(void)state;
	assert_int_equal(parse(GOOD_RESP, strlen(GOOD_RESP), 0, &off, &blen,
			       why), 0);
	assert_int_equal(blen, 5);
	assert_memory_equal(GOOD_RESP + off, "ABCDE", 5);
	/* no Content-Length: the body ends at EOF */
	assert_int_equal(parse(lf, strlen(lf), 0, &off, &blen, why), -EAGAIN);
	assert_int_equal(parse(lf, strlen(lf), 1, &off, &blen, why), 0);
	assert_int_equal(blen, 3);
	assert_memory_equal(lf + off, "XYZ", 3);
	/* bytes after the announced body are ignored */
	assert_int_equal(parse(extra, strlen(extra), 1, &off, &blen, why), 0);
	assert_int_equal(blen, 2);
	/* the same length twice is fine */
	assert_int_equal(parse(twice, strlen(twice), 1, &off, &blen, why), 0);
	assert_int_equal(blen, 2);
}

static void test_http_every_truncation(void **state)
{
	size_t n = strlen(GOOD_RESP), off, blen;
	char why[128];

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char *copy = malloc(i + 1);	/* exact size for ASan */
		int rc;

		memcpy(copy, GOOD_RESP, i);
		rc = parse(copy, i, 0, &off, &blen, why);
		if (rc != -EAGAIN)
			fail_msg("prefix %zu: %d, want -EAGAIN", i, rc);
		rc = parse(copy, i, 1, &off, &blen, why);
		if (rc != -EBADMSG && rc != -EPROTO)
			fail_msg("prefix %zu at EOF: %d, want -EBADMSG", i, rc);
		assert_true(why[0] != '\0');
		free(copy);
	}
}

struct bad_case {
	const char *text;
	int want;
	const char *why;	/* substring of the reason */
};

static void test_http_hostile(void **state)
{
	static const struct bad_case cases[] = {
		{ "HTTP/1.0 404 Not Found\r\n\r\n", -EPROTO, "HTTP status 404" },
		{ "HTTP/1.0 500\r\nContent-Length: 1\r\n\r\nX", -EPROTO, "500" },
		{ "HTTP/1.0 302 Found\r\nLocation: http://x/\r\n\r\n", -EPROTO, "302" },
		{ "HTTP/2 200 OK\r\n\r\nX", -EBADMSG, "not an HTTP/1" },
		{ "HTTP/1.0 2000 OK\r\n\r\nX", -EBADMSG, "not an HTTP/1" },
		{ "HTTP/1.0 20 OK\r\n\r\nX", -EBADMSG, "not an HTTP/1" },
		{ "ICY 200 OK\r\n\r\nX", -EBADMSG, "not an HTTP/1" },
		{ "\r\n\r\nX", -EBADMSG, "not an HTTP/1" },
		{ "\x16\x03\x01\x01\x05hello\n\nX", -EBADMSG, "not an HTTP/1" },
		{ "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nABCDE\r\n0\r\n\r\n",
		  -EBADMSG, "transfer encoding" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nABC",
		  -EBADMSG, "Content-Length" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\nABC", -EBADMSG, "Content-Length" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 0x10\r\n\r\nABC", -EBADMSG, "Content-Length" },
		{ "HTTP/1.0 200 OK\r\nContent-Length:\r\n\r\nABC", -EBADMSG, "Content-Length" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1 2\r\n\r\nABC", -EBADMSG, "Content-Length" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nA",
		  -EBADMSG, "Content-Length" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 70000\r\n\r\nA", -EMSGSIZE, "exceeds" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nABC", -EBADMSG, "truncated HTTP body" },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", -EBADMSG, "empty HTTP body" },
		{ "HTTP/1.0 200 OK\r\n\r\n", -EBADMSG, "empty HTTP body" },
		{ "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", -EBADMSG, "Content-Type" },
		{ "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-responsex\r\n\r\nA",
		  -EBADMSG, "Content-Type" },
		{ "HTTP/1.0 200 OK\r\nno colon here\r\n\r\nA", -EBADMSG, "malformed HTTP header" },
		{ "HTTP/1.0 200 OK\r\n: empty name\r\n\r\nA", -EBADMSG, "malformed HTTP header" },
		{ "HTTP/1.0 200 OK\r\nX: a\r\n folded\r\n\r\nA", -EBADMSG, "malformed HTTP header" },
		{ "HTTP/1.0 200 OK\r\nBad Name: a\r\n\r\nA", -EBADMSG, "malformed HTTP header" },
		{ "HTTP/1.0 200 OK\r\nTruncated", -EBADMSG, "truncated HTTP header" },
		{ "", -EBADMSG, "empty HTTP response" },
	};
	size_t off, blen;
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].text, strlen(cases[i].text), 1, &off,
			       &blen, why);

		if (rc != cases[i].want || strstr(why, cases[i].why) == NULL)
			fail_msg("case %zu: %d \"%s\", want %d \"%s\"", i, rc,
				 why, cases[i].want, cases[i].why);
		for (const char *p = why; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
}

static void test_http_binary_and_size(void **state)
{
	static const char nul[] = "HTTP/1.0 200 OK\r\nX-A\0: b\r\n\r\nZ";
	static const char nulv[] = "HTTP/1.0 200 OK\r\nX-A: \0\x01\xff\r\n\r\nZ";
	uint8_t *big = malloc(OCSP_RESPONSE_MAX + 2);
	size_t off, blen;
	char why[128];
	int rc;

	(void)state;
	assert_int_equal(parse(nul, sizeof(nul) - 1, 1, &off, &blen, why),
			 -EBADMSG);
	/* NUL and high bytes in a value of an unknown header are ignored */
	assert_int_equal(parse(nulv, sizeof(nulv) - 1, 1, &off, &blen, why), 0);
	assert_int_equal(blen, 1);
	/* headers that never end, past the bound */
	assert_non_null(big);
	memset(big, 'A', OCSP_RESPONSE_MAX + 2);
	memcpy(big, "HTTP/1.0 200 OK\r\nX: ", 20);
	rc = ocsp_http_parse(big, OCSP_RESPONSE_MAX + 1, 0, &off, &blen, why,
			     sizeof(why));
	assert_int_equal(rc, -EMSGSIZE);
	rc = ocsp_http_parse(big, OCSP_RESPONSE_MAX, 0, &off, &blen, why,
			     sizeof(why));
	assert_int_equal(rc, -EAGAIN);
	free(big);
}

/* Random and mutated input: only the documented answers, no crash. */
static void test_http_fuzz(void **state)
{
	size_t n = strlen(GOOD_RESP), off, blen;
	uint8_t buf[128];
	char why[128];

	(void)state;
	srand(12345);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % sizeof(buf);
		int rc;

		if (i % 2) {
			memcpy(buf, GOOD_RESP, n);
			len = n;
			buf[rand() % n] = (uint8_t)rand();
			if (i % 3 == 0)
				buf[rand() % n] = (uint8_t)(i % 4 ? '\n' : ':');
		} else {
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rand();
		}
		rc = ocsp_http_parse(buf, len, i % 5 != 0, &off, &blen, why,
				     sizeof(why));
		assert_true(rc == 0 || rc == -EAGAIN || rc == -EBADMSG ||
			    rc == -EPROTO || rc == -EMSGSIZE);
		if (rc == 0)
			assert_true(off + blen <= len && blen > 0);
	}
}

/* ---- the exchange against loopback listeners ---- */

static int listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct server {
	int lfd;
	const char *reply;	/* NULL: a 70000-byte flood */
	int drip;		/* send one byte every 100 ms */
	char got[2048];
	size_t gotlen;
	pthread_t t;
};

static void *serve(void *arg)
{
	struct server *sv = arg;
	struct pollfd p = { .fd = sv->lfd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, 5000) != 1)
		return NULL;
	fd = accept(sv->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	/* the request: header and a body of its Content-Length */
	for (;;) {
		struct pollfd q = { .fd = fd, .events = POLLIN };
		const char *cl, *end;
		ssize_t k;

		if (poll(&q, 1, 2000) != 1)
			break;
		k = recv(fd, sv->got + sv->gotlen,
			 sizeof(sv->got) - 1 - sv->gotlen, 0);
		if (k <= 0)
			break;
		sv->gotlen += (size_t)k;
		sv->got[sv->gotlen] = '\0';
		cl = strstr(sv->got, "Content-Length: ");
		end = memmem(sv->got, sv->gotlen, "\r\n\r\n", 4);
		if (cl && end && sv->gotlen >= (size_t)(end + 4 - sv->got) +
					       strtoul(cl + 16, NULL, 10))
			break;
	}
	if (sv->reply == NULL) {
		static char flood[70000];

		memcpy(flood, "HTTP/1.0 200 OK\r\n\r\n", 19);
		memset(flood + 19, 'x', sizeof(flood) - 19);
		send(fd, flood, sizeof(flood), MSG_NOSIGNAL);
	} else if (sv->drip) {
		for (const char *c = sv->reply; *c; c++) {
			if (send(fd, c, 1, MSG_NOSIGNAL) != 1)
				break;
			usleep(100000);
		}
	} else {
		send(fd, sv->reply, strlen(sv->reply), MSG_NOSIGNAL);
	}
	close(fd);
	return NULL;
}

static void start_server(struct server *sv, int *port)
{
	sv->lfd = listener(port);
	assert_int_equal(pthread_create(&sv->t, NULL, serve, sv), 0);
}

static void stop_server(struct server *sv)
{
	pthread_join(sv->t, NULL);
	close(sv->lfd);
}

static int exchange(int port, unsigned tmo, uint8_t **resp, size_t *len,
		    char *why)
{
	struct ocsp_url u;
	char url[64];
	uint8_t body[3] = { 1, 2, 3 };
	gnutls_datum_t req = { body, 3 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ocsp", port);
	assert_int_equal(ocsp_url_parse(url, &u), 0);
	return ocsp_http_exchange(&u, &req, tmo, resp, len, why, 128);
}

static void test_exchange_refused(void **state)
{
	uint8_t *resp;
	size_t len;
	char why[128];
	int port, fd = listener(&port);

	(void)state;
	close(fd);	/* nothing listens there now */
	assert_int_equal(exchange(port, 1000, &resp, &len, why), -ECONNREFUSED);
	assert_string_equal(why, "unreachable: connection refused");
	assert_null(resp);
}

static void test_exchange_silent(void **state)
{
	uint8_t *resp;
	size_t len;
	char why[128];
	int port, fd = listener(&port);	/* never accepts: the kernel does */
	uint64_t t0 = now_ms(), took;

	(void)state;
	assert_int_equal(exchange(port, 300, &resp, &len, why), -ETIMEDOUT);
	took = now_ms() - t0;
	assert_string_equal(why, "timed out after 300 ms");
	assert_true(took >= 290 && took < 1500);
	close(fd);
}

static void test_exchange_good(void **state)
{
	struct server sv = {
		.reply = "HTTP/1.0 200 OK\r\nContent-Type: "
			 "application/ocsp-response\r\nContent-Length: 4\r\n"
			 "\r\nWXYZ",
	};
	uint8_t *resp;
	size_t len;
	char why[128];
	int port;

	(void)state;
	start_server(&sv, &port);
	assert_int_equal(exchange(port, 2000, &resp, &len, why), 0);
	stop_server(&sv);
	assert_int_equal(len, 4);
	assert_memory_equal(resp, "WXYZ", 4);
	free(resp);
	assert_true(strncmp(sv.got, "POST /ocsp HTTP/1.0\r\n", 21) == 0);
	assert_non_null(strstr(sv.got, "\r\nContent-Type: application/ocsp-request\r\n"));
	assert_non_null(strstr(sv.got, "\r\nContent-Length: 3\r\n"));
	assert_memory_equal(sv.got + sv.gotlen - 3, "\1\2\3", 3);
}

static void test_exchange_hostile(void **state)
{
	struct server flood = { .reply = NULL };
	struct server status = { .reply = "HTTP/1.0 503 Busy\r\n\r\n" };
	struct server drip = { .reply = "HTTP/1.0 200 OK\r\n\r\nABCDEFGH",
			       .drip = 1 };
	struct server garbage = { .reply = "\x30\x03\x0a\x01\x01" };
	uint8_t *resp;
	size_t len;
	char why[128];
	int port;

	(void)state;
	start_server(&flood, &port);
	assert_int_equal(exchange(port, 3000, &resp, &len, why), -EMSGSIZE);
	assert_non_null(strstr(why, "exceeds"));
	stop_server(&flood);

	start_server(&status, &port);
	assert_int_equal(exchange(port, 3000, &resp, &len, why), -EPROTO);
	assert_string_equal(why, "HTTP status 503");
	stop_server(&status);

	start_server(&drip, &port);
	assert_int_equal(exchange(port, 500, &resp, &len, why), -ETIMEDOUT);
	assert_string_equal(why, "timed out after 500 ms");
	stop_server(&drip);

	start_server(&garbage, &port);
	assert_int_equal(exchange(port, 3000, &resp, &len, why), -EBADMSG);
	stop_server(&garbage);
}

/* ---- certificates: what a query needs ---- */

struct pki {
	gnutls_x509_privkey_t cakey, key;
	gnutls_x509_crt_t ca, leaf;
};

static void make_crt(gnutls_x509_crt_t *crt, gnutls_x509_privkey_t *key,
		     const char *cn, gnutls_x509_crt_t ca,
		     gnutls_x509_privkey_t cakey, const char *aia)
{
	unsigned char serial[8] = { 1, 2, 3, 4, 5, 6, 7, (unsigned char)cn[0] };
	time_t now = time(NULL);

	assert_int_equal(gnutls_x509_privkey_init(key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	assert_int_equal(gnutls_x509_crt_init(crt), 0);
	gnutls_x509_crt_set_version(*crt, 3);
	gnutls_x509_crt_set_serial(*crt, serial, sizeof(serial));
	gnutls_x509_crt_set_dn_by_oid(*crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
				      (unsigned)strlen(cn));
	gnutls_x509_crt_set_activation_time(*crt, now - 3600);
	gnutls_x509_crt_set_expiration_time(*crt, now + 86400);
	gnutls_x509_crt_set_key(*crt, *key);
	gnutls_x509_crt_set_basic_constraints(*crt, ca == NULL, -1);
	if (aia != NULL) {
		gnutls_datum_t d = { (unsigned char *)aia, (unsigned)strlen(aia) };

		assert_int_equal(gnutls_x509_crt_set_authority_info_access(
			*crt, GNUTLS_IA_OCSP_URI, &d), 0);
	}
	assert_int_equal(gnutls_x509_crt_sign2(*crt, ca ? ca : *crt,
					       cakey ? cakey : *key,
					       GNUTLS_DIG_SHA256, 0), 0);
}

static void pki_make(struct pki *p, const char *aia)
{
	make_crt(&p->ca, &p->cakey, "CA", NULL, NULL, NULL);
	make_crt(&p->leaf, &p->key, "leaf", p->ca, p->cakey, aia);
}

static void pki_free(struct pki *p)
{
	gnutls_x509_crt_deinit(p->leaf);
	gnutls_x509_crt_deinit(p->ca);
	gnutls_x509_privkey_deinit(p->key);
	gnutls_x509_privkey_deinit(p->cakey);
}

static void test_prepare(void **state)
{
	struct pki none, https, http;
	struct ocsp_query q;
	struct ocsp_result r;

	(void)state;
	pki_make(&none, NULL);
	assert_int_equal(ocsp_fetch_prepare(none.leaf, none.ca, &q, &r), 0);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	assert_string_equal(r.why, "no OCSP responder in the certificate");
	pki_free(&none);

	pki_make(&https, "https://ocsp.example/");
	assert_int_equal(ocsp_fetch_prepare(https.leaf, https.ca, &q, &r), 0);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	assert_non_null(strstr(r.why, "no usable OCSP responder"));
	assert_non_null(strstr(r.why, "https://ocsp.example/"));
	pki_free(&https);

	/* user info is never sent anywhere */
	pki_make(&https, "http://user@h:99/x");
	assert_int_equal(ocsp_fetch_prepare(https.leaf, https.ca, &q, &r), 0);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	assert_string_equal(r.why, "no usable OCSP responder in the certificate "
			    "(http://user@h:99/x)");
	ocsp_query_clear(&q);
	pki_free(&https);

	pki_make(&http, "http://127.0.0.1:1/");
	assert_int_equal(ocsp_fetch_prepare(http.leaf, NULL, &q, &r), 0);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	assert_non_null(strstr(r.why, "issuer certificate is not known"));
	assert_int_equal(ocsp_fetch_prepare(http.leaf, http.ca, &q, &r), 1);
	assert_string_equal(q.url, "http://127.0.0.1:1/");
	assert_true(q.leaf.size > 0 && q.issuer.size > 0);
	ocsp_query_clear(&q);
	assert_null(q.leaf.data);
	pki_free(&http);
}

/* A responder that answers garbage or an HTTP error: UNAVAILABLE. */
static void test_run_unusable_answers(void **state)
{
	struct server status = {
		.reply = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n\x30\x03\x0a\x01\x01",
	};
	struct server garbage = {
		.reply = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n<html",
	};
	struct server err = { .reply = "HTTP/1.0 500 Oops\r\n\r\n" };
	struct pki p;
	struct ocsp_query q;
	struct ocsp_result r;
	char url[128];
	int port;

	(void)state;
	start_server(&garbage, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	pki_make(&p, url);
	assert_int_equal(ocsp_fetch_prepare(p.leaf, p.ca, &q, &r), 1);
	ocsp_fetch_run(&q, 2000, &r);
	stop_server(&garbage);
	ocsp_query_clear(&q);
	pki_free(&p);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	assert_non_null(strstr(r.why, "the answer is no OCSP response"));

	start_server(&status, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	pki_make(&p, url);
	assert_int_equal(ocsp_fetch_prepare(p.leaf, p.ca, &q, &r), 1);
	ocsp_fetch_run(&q, 2000, &r);
	stop_server(&status);
	ocsp_query_clear(&q);
	pki_free(&p);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	/* 30 03 0a 01 01: a well-formed OCSPResponse, malformedRequest */
	snprintf(url, sizeof(url), "OCSP responder http://127.0.0.1:%d/ "
		 "answered malformedRequest", port);
	assert_string_equal(r.why, url);

	start_server(&err, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	pki_make(&p, url);
	assert_int_equal(ocsp_fetch_prepare(p.leaf, p.ca, &q, &r), 1);
	ocsp_fetch_run(&q, 2000, &r);
	stop_server(&err);
	ocsp_query_clear(&q);
	pki_free(&p);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	snprintf(url, sizeof(url), "OCSP responder http://127.0.0.1:%d/: "
		 "HTTP status 500", port);
	assert_string_equal(r.why, url);
}

/* ---- the pool posts the result back to the asking worker ---- */

struct asked {
	struct worker *w;
	int on_worker;
	struct ocsp_result r;
};

static void answered(void *arg, const struct ocsp_result *r)
{
	struct asked *a = arg;

	a->on_worker = worker_self() == a->w;
	a->r = *r;
	worker_loop_stop(a->w);
}

static void test_start_posts_back(void **state)
{
	struct asked a = { 0 };
	struct pki p;
	struct ocsp_query q;
	struct ocsp_result r;
	char url[128];
	int port, fd = listener(&port);

	(void)state;
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	pki_make(&p, url);
	a.w = worker_create();
	assert_non_null(a.w);
	assert_int_equal(ocsp_fetch_prepare(p.leaf, p.ca, &q, &r), 1);
	assert_int_equal(ocsp_fetch_start(a.w, &q, 1000, answered, &a), 0);
	assert_null(q.leaf.data);	/* taken over */
	worker_run(a.w);
	worker_destroy(a.w);
	pki_free(&p);
	assert_true(a.on_worker);
	assert_int_equal(a.r.verdict, OCSP_UNAVAILABLE);
	snprintf(url, sizeof(url), "OCSP responder http://127.0.0.1:%d/: "
		 "unreachable: connection refused", port);
	assert_string_equal(a.r.why, url);
}

static void test_timeout_setting(void **state)
{
	struct ocsp_result r;

	(void)state;
	assert_int_equal(ocsp_fetch_timeout(), OCSP_TIMEOUT_DEFAULT_MS);
	ocsp_fetch_set_timeout(750);
	assert_int_equal(ocsp_fetch_timeout(), 750);
	ocsp_fetch_set_timeout(OCSP_TIMEOUT_MAX_MS + 1);
	assert_int_equal(ocsp_fetch_timeout(), OCSP_TIMEOUT_MAX_MS);
	ocsp_fetch_set_timeout(0);
	assert_int_equal(ocsp_fetch_timeout(), OCSP_TIMEOUT_DEFAULT_MS);
	ocsp_result_timeout(&r, "http://h/", 2000);
	assert_int_equal(r.verdict, OCSP_UNAVAILABLE);
	assert_string_equal(r.why, "OCSP responder http://h/: timed out after "
			    "2000 ms");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_good),
		cmocka_unit_test(test_url_bad),
		cmocka_unit_test(test_http_request),
		cmocka_unit_test(test_http_good),
		cmocka_unit_test(test_http_every_truncation),
		cmocka_unit_test(test_http_hostile),
		cmocka_unit_test(test_http_binary_and_size),
		cmocka_unit_test(test_http_fuzz),
		cmocka_unit_test(test_exchange_refused),
		cmocka_unit_test(test_exchange_silent),
		cmocka_unit_test(test_exchange_good),
		cmocka_unit_test(test_exchange_hostile),
		cmocka_unit_test(test_prepare),
		cmocka_unit_test(test_run_unusable_answers),
		cmocka_unit_test(test_start_posts_back),
		cmocka_unit_test(test_timeout_setting),
	};

	gnutls_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

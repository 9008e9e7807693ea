/* ocsp_http -- the pure parts of the online OCSP check (ocsp_fetch.h):
 * the responder's URL, the HTTP/1.0 request header and the parser of
 * what comes back.  No I/O here; every function is unit tested with
 * hostile input (tests/unit/test_ocsp.c). */
#include "ocsp_fetch.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- URL ---- */

static int host_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

static int ipv6_char(char c)
{
	return isxdigit((unsigned char)c) || c == ':' || c == '.';
}

static int parse_port(const char *p, size_t n, char out[6])
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	snprintf(out, 6, "%lu", v);
	return 0;
}

/* host[:port] or [v6][:port], n bytes at a. */
static int parse_authority(const char *a, size_t n, struct ocsp_url *u)
{
	const char *h = a, *colon;
	size_t hn;

	if (n > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (close == NULL)
			return -EINVAL;
		h = a + 1;
		hn = (size_t)(close - h);
		colon = close + 1 < a + n ? close + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -EINVAL;
		for (size_t i = 0; i < hn; i++)
			if (!ipv6_char(h[i]))
				return -EINVAL;
		if (hn < 2 || memchr(h, ':', hn) == NULL)
			return -EINVAL;
	} else {
		colon = memchr(a, ':', n);
		hn = colon ? (size_t)(colon - a) : n;
		for (size_t i = 0; i < hn; i++)
			if (!host_char(h[i]))
				return -EINVAL;
	}
	if (hn == 0 || hn >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, h, hn);
	u->host[hn] = '\0';
	if (colon == NULL) {
		strcpy(u->port, "80");
		return 0;
	}
	return parse_port(colon + 1, (size_t)(a + n - colon - 1), u->port);
}

int ocsp_url_parse(const char *url, struct ocsp_url *u)
{
	const char *auth, *end, *frag;
	size_t n;
	int rc;

	memset(u, 0, sizeof(*u));
	if (url == NULL)
		return -EINVAL;
	n = strlen(url);
	if (n == 0 || n >= OCSP_URL_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return -EINVAL;
	auth = strstr(url, "://");
	if (auth == NULL || auth == url)
		return -EINVAL;
	if (auth - url != 4 || strncasecmp(url, "http", 4) != 0)
		return -EPROTONOSUPPORT;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return -EINVAL;		/* user info: never sent anywhere */
	rc = parse_authority(auth, (size_t)(end - auth), u);
	if (rc < 0)
		return rc;
	frag = strchr(end, '#');
	n = frag ? (size_t)(frag - end) : strlen(end);
	if (n == 0 || end[0] != '/') {
		/* "http://h" or "http://h?q": the path is "/" */
		if (n + 2 > sizeof(u->path))
			return -EINVAL;
		u->path[0] = '/';
		memcpy(u->path + 1, end, n);
		u->path[n + 1] = '\0';
		return 0;
	}
	memcpy(u->path, end, n);
	u->path[n] = '\0';
	return 0;
}

int ocsp_http_request(const struct ocsp_url *u, size_t bodylen, char *buf,
		      size_t len)
{
	int v6 = strchr(u->host, ':') != NULL;
	int def = strcmp(u->port, "80") == 0;
	int n;

	n = snprintf(buf, len,
		     "POST %s HTTP/1.0\r\n"
		     "Host: %s%s%s%s%s\r\n"
		     "Content-Type: application/ocsp-request\r\n"
		     "Accept: application/ocsp-response\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n"
		     "\r\n",
		     u->path, v6 ? "[" : "", u->host, v6 ? "]" : "",
		     def ? "" : ":", def ? "" : u->port, bodylen);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

/* ---- the response ---- */

/* A printable copy of n bytes (for reasons that quote the peer). */
static void printable(char *dst, size_t dlen, const uint8_t *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < dlen; i++)
		dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
	dst[j] = '\0';
}

/* Where the header ends (the byte after the blank line), or 0. */
static size_t header_end(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One header line [p, p+n) without its line end; trims OWS around the
 * value.  0 and name/value, or -1 when it is no "name: value" line. */
static int split_header(const uint8_t *p, size_t n, const uint8_t **name,
			size_t *nlen, const uint8_t **val, size_t *vlen)
{
	const uint8_t *colon = memchr(p, ':', n);

	if (colon == NULL || colon == p)
		return -1;
	for (const uint8_t *q = p; q < colon; q++)
		if (*q <= 0x20 || *q >= 0x7f)
			return -1;	/* also obsolete line folding */
	*name = p;
	*nlen = (size_t)(colon - p);
	*val = colon + 1;
	*vlen = n - *nlen - 1;
	while (*vlen > 0 && (**val == ' ' || **val == '\t')) {
		(*val)++;
		(*vlen)--;
	}
	while (*vlen > 0 && ((*val)[*vlen - 1] == ' ' ||
			     (*val)[*vlen - 1] == '\t'))
		(*vlen)--;
	return 0;
}

static int is_name(const uint8_t *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) &&
	       strncasecmp((const char *)name, want, nlen) == 0;
}

/* "HTTP/1.x NNN[ reason]": the status, or -1. */
static int status_line(const uint8_t *p, size_t n)
{
	int code = 0;

	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !isdigit(p[7]) ||
	    p[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++) {
		if (!isdigit(p[i]))
			return -1;
		code = code * 10 + (p[i] - '0');
	}
	if (n > 12 && p[12] != ' ')
		return -1;
	return code;
}

struct hdrs {
	long clen;	/* -1: none */
};

static int header_line(struct hdrs *h, const uint8_t *p, size_t n,
		       char *why, size_t whylen)
{
	const uint8_t *name, *val;
	size_t nlen, vlen;
	char show[48];

	if (split_header(p, n, &name, &nlen, &val, &vlen) < 0) {
		printable(show, sizeof(show), p, n);
		snprintf(why, whylen, "malformed HTTP header line \"%s\"", show);
		return -EBADMSG;
	}
	printable(show, sizeof(show), val, vlen);
	if (is_name(name, nlen, "Transfer-Encoding")) {
		snprintf(why, whylen, "HTTP transfer encoding \"%s\" is not "
			 "accepted", show);
		return -EBADMSG;
	}
	if (is_name(name, nlen, "Content-Type")) {
		static const char want[] = "application/ocsp-response";
		size_t wl = sizeof(want) - 1;

		if (vlen < wl || strncasecmp((const char *)val, want, wl) != 0 ||
		    (vlen > wl && val[wl] != ';' && val[wl] != ' ')) {
			snprintf(why, whylen, "HTTP Content-Type \"%s\" is not "
				 "%s", show, want);
			return -EBADMSG;
		}
		return 0;
	}
	if (is_name(name, nlen, "Content-Length")) {
		long v = 0;

		if (vlen == 0 || vlen > 9)
			goto bad_len;
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit(val[i]))
				goto bad_len;
			v = v * 10 + (val[i] - '0');
		}
		if (h->clen >= 0 && h->clen != v)
			goto bad_len;
		h->clen = v;
		return 0;
bad_len:
		snprintf(why, whylen, "bad or conflicting HTTP Content-Length "
			 "\"%s\"", show);
		return -EBADMSG;
	}
	return 0;
}

int ocsp_http_parse(const uint8_t *buf, size_t len, int eof,
		    size_t *body_off, size_t *body_len, char *why,
		    size_t whylen)
{
	struct hdrs h = { .clen = -1 };
	size_t end, pos, have;
	int code, rc;

	if (len > OCSP_RESPONSE_MAX) {
		snprintf(why, whylen, "the response exceeds %d bytes",
			 OCSP_RESPONSE_MAX);
		return -EMSGSIZE;
	}
	end = header_end(buf, len);
	if (end == 0) {
		if (!eof)
			return -EAGAIN;
		snprintf(why, whylen, len ? "truncated HTTP header"
					  : "empty HTTP response");
		return -EBADMSG;
	}
	for (pos = 0; pos < end;) {
		const uint8_t *nl = memchr(buf + pos, '\n', end - pos);
		size_t n = (size_t)(nl - (buf + pos));

		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (pos == 0) {
			code = status_line(buf, n);
			if (code < 0) {
				char show[48];

				printable(show, sizeof(show), buf, n);
				snprintf(why, whylen, "not an HTTP/1 response: "
					 "\"%s\"", show);
				return -EBADMSG;
			}
			if (code != 200) {
				snprintf(why, whylen, "HTTP status %d", code);
				return -EPROTO;
			}
		} else if (n > 0) {
			rc = header_line(&h, buf + pos, n, why, whylen);
			if (rc < 0)
				return rc;
		}
		pos = (size_t)(nl - buf) + 1;
	}
	have = len - end;
	if (h.clen > OCSP_RESPONSE_MAX) {
		snprintf(why, whylen, "HTTP Content-Length %ld exceeds %d "
			 "bytes", h.clen, OCSP_RESPONSE_MAX);
		return -EMSGSIZE;
	}
	if (h.clen >= 0 && have < (size_t)h.clen) {
		if (!eof)
			return -EAGAIN;
		snprintf(why, whylen, "truncated HTTP body: %zu of %ld bytes",
			 have, h.clen);
		return -EBADMSG;
	}
	if (h.clen < 0 && !eof)
		return -EAGAIN;
	*body_off = end;
	*body_len = h.clen >= 0 ? (size_t)h.clen : have;
	if (*body_len == 0) {
		snprintf(why, whylen, "empty HTTP body");
		return -EBADMSG;
	}
	return 0;
}

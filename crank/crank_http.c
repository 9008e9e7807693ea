/* crank_http: the request parser of `crank serve` (crank_http.h). */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "crank_http.h"

#define REFUSE(st, text)                                                      \
	do {                                                                  \
		*status = (st);                                               \
		*why = (text);                                                \
		return -EINVAL;                                               \
	} while (0)

static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* A byte allowed in a header value: visible ASCII, space, tab, and
 * bytes >= 0x80 (obs-text). */
static int is_vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A byte allowed in the target: visible ASCII but '#' (no fragment). */
static int is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

static int name_is(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

int crank_http_eq(struct crank_http_str s, const char *lit)
{
	return s.p != NULL && strlen(lit) == s.len && memcmp(s.p, lit, s.len) == 0;
}

static int request_line(const char *p, size_t n, struct crank_http_req *req,
			int *status, const char **why)
{
	const char *sp1 = memchr(p, ' ', n), *sp2, *t, *q;
	size_t tlen;

	if (sp1 == NULL || sp1 == p)
		REFUSE(400, "malformed request line");
	for (t = p; t < sp1; t++)
		if (!is_tchar((unsigned char)*t))
			REFUSE(400, "malformed method");
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p));
	if (sp2 == NULL)
		REFUSE(400, "malformed request line");
	t = sp1 + 1;
	tlen = (size_t)(sp2 - t);
	if (tlen == 0 || t[0] != '/')
		REFUSE(400, "the target must be an absolute path");
	if (tlen > CRANK_HTTP_MAXTARGET)
		REFUSE(414, "target too long");
	for (size_t i = 0; i < tlen; i++)
		if (!is_target_char((unsigned char)t[i]))
			REFUSE(400, "bad character in the target");
	if ((size_t)(p + n - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		if ((size_t)(p + n - (sp2 + 1)) == 8 && memcmp(sp2 + 1, "HTTP/", 5) == 0)
			REFUSE(505, "only HTTP/1.0 and HTTP/1.1");
		REFUSE(400, "malformed version");
	}
	if (sp2[8] != '0' && sp2[8] != '1')
		REFUSE(505, "only HTTP/1.0 and HTTP/1.1");
	req->minor = sp2[8] - '0';
	req->method = (struct crank_http_str){ p, (size_t)(sp1 - p) };
	q = memchr(t, '?', tlen);
	if (q != NULL) {
		req->path = (struct crank_http_str){ t, (size_t)(q - t) };
		req->query = (struct crank_http_str){ q + 1, tlen - (size_t)(q - t) - 1 };
	} else {
		req->path = (struct crank_http_str){ t, tlen };
		req->query = (struct crank_http_str){ q, 0 };
	}
	return 0;
}

static int set_once(struct crank_http_str *f, const char *v, size_t n,
		    int *status, const char **why)
{
	if (f->p != NULL)
		REFUSE(400, "repeated header field");
	*f = (struct crank_http_str){ v, n };
	return 0;
}

static int header_line(const char *p, size_t n, struct crank_http_req *req,
		       int *have_cl, int *status, const char **why)
{
	const char *colon = memchr(p, ':', n), *v, *e;
	size_t nlen;

	if (p[0] == ' ' || p[0] == '\t')
		REFUSE(400, "obsolete line folding");
	if (colon == NULL || colon == p)
		REFUSE(400, "malformed header field");
	nlen = (size_t)(colon - p);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar((unsigned char)p[i]))
			REFUSE(400, "malformed header field name");
	v = colon + 1;
	e = p + n;
	for (const char *c = v; c < e; c++)
		if (!is_vchar((unsigned char)*c))
			REFUSE(400, "control character in a header field");
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (name_is(p, nlen, "Transfer-Encoding"))
		REFUSE(501, "Transfer-Encoding is not supported");
	if (name_is(p, nlen, "Content-Length")) {
		size_t cl = 0;

		if (*have_cl)
			REFUSE(400, "repeated Content-Length");
		if (v == e || e - v > 9)
			REFUSE(v == e ? 400 : 413, v == e ? "malformed Content-Length"
							  : "body too large");
		for (const char *c = v; c < e; c++) {
			if (*c < '0' || *c > '9')
				REFUSE(400, "malformed Content-Length");
			cl = cl * 10 + (size_t)(*c - '0');
		}
		if (cl > CRANK_HTTP_MAXBODY)
			REFUSE(413, "body too large");
		req->content_length = cl;
		*have_cl = 1;
		return 0;
	}
	if (name_is(p, nlen, "Host"))
		return set_once(&req->host, v, (size_t)(e - v), status, why);
	if (name_is(p, nlen, "Authorization"))
		return set_once(&req->auth, v, (size_t)(e - v), status, why);
	if (name_is(p, nlen, "Content-Type"))
		return set_once(&req->ctype, v, (size_t)(e - v), status, why);
	if (name_is(p, nlen, "Origin"))
		return set_once(&req->origin, v, (size_t)(e - v), status, why);
	return 0;
}

int crank_http_parse(const char *buf, size_t len, struct crank_http_req *req,
		     int *status, const char **why)
{
	size_t off = 0, nhdr = 0;
	int have_cl = 0, rc;

	memset(req, 0, sizeof(*req));
	*status = 0;
	*why = "";
	for (;;) {
		const char *lf = memchr(buf + off, '\n', len - off);
		size_t n;

		if (lf == NULL) {
			if (len - off >= CRANK_HTTP_MAXHEAD || len >= CRANK_HTTP_MAXHEAD)
				REFUSE(431, "request head too large");
			return -EAGAIN;
		}
		n = (size_t)(lf - (buf + off));
		if (off + n + 1 > CRANK_HTTP_MAXHEAD)
			REFUSE(431, "request head too large");
		if (n == 0 || buf[off + n - 1] != '\r')
			REFUSE(400, "lines must end in CRLF");
		n--;
		for (size_t i = 0; i < n; i++)
			if (buf[off + i] == '\r' || buf[off + i] == '\0')
				REFUSE(400, "bare CR or NUL in the head");
		if (off == 0) {
			if (n == 0)
				REFUSE(400, "empty request line");
			rc = request_line(buf, n, req, status, why);
		} else if (n == 0) {
			req->head_len = off + 2;
			break;
		} else if (++nhdr > CRANK_HTTP_MAXHDRS) {
			REFUSE(431, "too many header fields");
		} else {
			rc = header_line(buf + off, n, req, &have_cl, status, why);
		}
		if (rc < 0)
			return rc;
		off += n + 2;
	}
	if (req->minor == 1 && req->host.p == NULL)
		REFUSE(400, "HTTP/1.1 without Host");
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int crank_http_query(struct crank_http_str query, const char *name,
		     char *out, size_t cap)
{
	size_t nlen = strlen(name), i = 0;
	int found = 0;

	if (cap == 0)
		return -ENOSPC;
	while (query.p != NULL && i < query.len) {
		const char *amp = memchr(query.p + i, '&', query.len - i);
		size_t end = amp ? (size_t)(amp - query.p) : query.len, o = 0;
		const char *eq = memchr(query.p + i, '=', end - i);
		size_t kend = eq ? (size_t)(eq - query.p) : end;

		if (kend - i == nlen && memcmp(query.p + i, name, nlen) == 0) {
			if (found)
				return -EINVAL;
			found = 1;
			for (size_t j = eq ? kend + 1 : end; j < end; j++) {
				int c = (unsigned char)query.p[j];

				if (c == '%') {
					int h, l;

					if (j + 2 >= end)
						return -EINVAL;
					h = hexval(query.p[j + 1]);
					l = hexval(query.p[j + 2]);
					if (h < 0 || l < 0)
						return -EINVAL;
					c = h * 16 + l;
					j += 2;
				} else if (c == '+') {
					c = ' ';
				}
				if (c < 0x20 || c == 0x7f)
					return -EINVAL;
				if (o + 1 >= cap)
					return -ENOSPC;
				out[o++] = (char)c;
			}
			out[o] = '\0';
		}
		i = end + 1;
	}
	return found ? 0 : -ENOENT;
}

const char *crank_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

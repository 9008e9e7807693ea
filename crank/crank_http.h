/* crank_http -- a small, strict HTTP/1.1 request parser for `crank
 * serve` (doc/crank.md, "HTTP interface").  Parsing only: no I/O.
 *
 * Accepted: "METHOD SP origin-form SP HTTP/1.x CRLF", then header
 * fields "name: value CRLF" and an empty line.  Refused: bare LF, line
 * folding, space before the colon, control characters, a target that is
 * not an absolute path (with an optional query; no fragment), more than
 * CRANK_HTTP_MAXHDRS fields or CRANK_HTTP_MAXHEAD bytes of head, a
 * missing Host on HTTP/1.1, Transfer-Encoding (only Content-Length
 * bodies), a repeated or non-decimal Content-Length or one above
 * CRANK_HTTP_MAXBODY.  The status to answer a refusal with is given.
 */
#ifndef CRANK_HTTP_H
#define CRANK_HTTP_H

#include <stddef.h>

#define CRANK_HTTP_MAXHEAD 8192
#define CRANK_HTTP_MAXHDRS 48
#define CRANK_HTTP_MAXBODY (1024 * 1024)
#define CRANK_HTTP_MAXTARGET 2048

struct crank_http_str {
	const char *p;		/* into the buffer; not NUL-terminated */
	size_t len;
};

struct crank_http_req {
	struct crank_http_str method, path, query;	/* query: after '?' */
	int minor;			/* HTTP/1.minor */
	struct crank_http_str host, auth, ctype, origin;
	size_t content_length;
	size_t head_len;		/* bytes up to and with the empty line */
};

/* Parse the head at buf (len bytes received so far).  0: complete
 * (the body is the content_length bytes after head_len), -EAGAIN: need
 * more bytes, -EINVAL: refused with *status (400, 413, 414, 431, 501,
 * 505) and a reason in why (static text). */
int crank_http_parse(const char *buf, size_t len, struct crank_http_req *req,
		     int *status, const char **why);

/* s equals lit exactly (case-sensitive). */
int crank_http_eq(struct crank_http_str s, const char *lit);

/* Find parameter name in a query ("a=1&b=x%20y") and percent-decode its
 * value ('+' is a space) into out (cap bytes, NUL-terminated).  0,
 * -ENOENT when absent, -EINVAL when malformed (bad %XX, %00, a repeated
 * name, control characters), -ENOSPC when too long. */
int crank_http_query(struct crank_http_str query, const char *name,
		     char *out, size_t cap);

/* The reason phrase of a status code. */
const char *crank_http_reason(int status);

#endif

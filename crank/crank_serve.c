/* crank serve: listening, reading requests, access control, logging and
 * the static page (crank_serve.h).  The API is crank_api.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crank_main.h"
#include "crank_serve.h"

#define TOKEN_MIN 32
#define TOKEN_MAX 256
#define IO_TIMEOUT 10

static const char csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; "
	"connect-src 'self'; img-src 'self'; base-uri 'none'; "
	"form-action 'none'; frame-ancestors 'none'";

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

int crank_serve_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* ADDR:PORT or [ADDR]:PORT into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *sl, char *host, size_t hostlen)
{
	const char *colon = strrchr(s, ':'), *h = s;
	size_t hl;
	char *end;
	long port;

	if (colon == NULL)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 2 || s[hl - 1] != ']')
			return -EINVAL;
		h = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno || port < 0 || port > 65535)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*sl = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*sl = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

/* The token from a file (first line, TOKEN_MIN.. printable bytes; the
 * file must not be readable by group or others), or a random one. */
static int load_token(const char *path, char *tok, size_t cap, int *printed)
{
	struct stat st;
	FILE *f;
	size_t n;

	*printed = 0;
	if (path == NULL) {
		uint8_t r[32];

		randombytes_buf(r, sizeof(r));
		sodium_bin2hex(tok, cap, r, sizeof(r));
		sodium_memzero(r, sizeof(r));
		*printed = 1;
		return 0;
	}
	f = fopen(path, "re");
	if (f == NULL || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "crank: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -EINVAL;
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "crank: %s: readable by group or others; "
			"chmod 600 it\n", path);
		fclose(f);
		return -EINVAL;
	}
	if (fgets(tok, (int)cap, f) == NULL)
		tok[0] = '\0';
	fclose(f);
	n = strcspn(tok, "\r\n");
	tok[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (tok[i] <= 0x20 || tok[i] >= 0x7f)
			n = 0;
	if (n < TOKEN_MIN || n >= TOKEN_MAX - 1) {
		fprintf(stderr, "crank: %s: the token must be one line of %d to "
			"%d printable characters without spaces\n", path,
			TOKEN_MIN, TOKEN_MAX - 2);
		sodium_memzero(tok, cap);
		return -EINVAL;
	}
	return 0;
}

/* Compare in constant time, whatever the lengths: compare hashes. */
static int token_ok(const struct crank_http_req *req, const char *token)
{
	uint8_t a[32], b[32];
	const char *given = "";
	size_t glen = 0;
	int ok;

	if (req->auth.p != NULL && req->auth.len > 7 &&
	    strncmp(req->auth.p, "Bearer ", 7) == 0) {
		given = req->auth.p + 7;
		glen = req->auth.len - 7;
	}
	crypto_generichash(a, sizeof(a), (const uint8_t *)given, glen, NULL, 0);
	crypto_generichash(b, sizeof(b), (const uint8_t *)token, strlen(token),
			   NULL, 0);
	ok = sodium_memcmp(a, b, sizeof(a)) == 0 && glen > 0;
	return ok;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void respond(int fd, int status, const char *type, const char *body,
		    size_t blen, const char *extra)
{
	char head[1024];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Content-Security-Policy: %s\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "X-Frame-Options: DENY\r\n"
			 "Referrer-Policy: no-referrer\r\n"
			 "Cache-Control: no-store\r\n"
			 "%s"
			 "Connection: close\r\n\r\n",
			 status, crank_http_reason(status), type, blen, csp,
			 extra ? extra : "");

	if (n > 0 && (size_t)n < sizeof(head) && send_all(fd, head, (size_t)n) == 0)
		send_all(fd, body, blen);
}

static size_t respond_error(int fd, int status, const char *msg,
			    const char *extra)
{
	struct crank_jbuf b = { 0 };
	size_t n;

	crank_jb_open(&b, '{');
	crank_jb_kstr(&b, "error", msg);
	crank_jb_close(&b, '}');
	respond(fd, status, "application/json", b.err ? "{}" : b.p,
		b.err ? 2 : b.len, extra);
	n = b.err ? 2 : b.len;
	crank_jb_free(&b);
	return n;
}

static void log_request(const char *peer, const struct crank_http_req *req,
			int status, size_t bytes)
{
	if (req != NULL && req->method.p != NULL)
		fprintf(stderr, "crank serve: %s \"%.*s %.*s%s%.*s\" %d %zu\n",
			peer, (int)req->method.len, req->method.p,
			(int)req->path.len, req->path.p, req->query.p ? "?" : "",
			(int)req->query.len, req->query.p ? req->query.p : "",
			status, bytes);
	else
		fprintf(stderr, "crank serve: %s \"-\" %d %zu\n", peer, status,
			bytes);
}

static int is_json(const struct crank_http_req *req)
{
	static const char t[] = "application/json";
	size_t n = sizeof(t) - 1;

	return req->ctype.p != NULL && req->ctype.len >= n &&
	       strncasecmp(req->ctype.p, t, n) == 0 &&
	       (req->ctype.len == n || req->ctype.p[n] == ';');
}

/* A browser names the page's origin in Origin: it must be this server
 * as the browser reached it (http://HOST), or the request came from
 * another site's page. */
static int same_origin(const struct crank_http_req *req)
{
	if (req->origin.p == NULL)
		return 1;
	return req->host.p != NULL && req->origin.len == 7 + req->host.len &&
	       memcmp(req->origin.p, "http://", 7) == 0 &&
	       memcmp(req->origin.p + 7, req->host.p, req->host.len) == 0;
}

/* Answer one complete request (the body follows its head in buf). */
static void answer(int fd, const char *peer, const struct crank_serve_opts *o,
		   const char *token, const struct crank_http_req *r,
		   const char *buf)
{
	const struct crank_http_req req = *r;
	size_t sent = 0;
	int status = 0;

	if (req.path.len < 5 || memcmp(req.path.p, "/api/", 5) != 0) {
		const struct crank_web_asset *a = crank_web_assets;

		while (a->path != NULL && !crank_http_eq(req.path, a->path))
			a++;
		if (a->path == NULL) {
			status = 404;
			sent = respond_error(fd, 404, "no such page", NULL);
		} else if (!crank_http_eq(req.method, "GET")) {
			status = 405;
			sent = respond_error(fd, 405, "only GET", "Allow: GET\r\n");
		} else {
			status = 200;
			sent = strlen(a->data);
			respond(fd, 200, a->type, a->data, sent, NULL);
		}
		log_request(peer, &req, status, sent);
		return;
	}
	if (!same_origin(&req)) {
		status = 403;
		sent = respond_error(fd, 403, "cross-origin request refused",
				     NULL);
	} else if (!token_ok(&req, token)) {
		status = 401;
		sent = respond_error(fd, 401, req.auth.p ? "wrong token"
					      : "missing Authorization: Bearer token",
				     "WWW-Authenticate: Bearer realm=\"crank\"\r\n");
	} else if (req.content_length > 0 && !is_json(&req)) {
		status = 415;
		sent = respond_error(fd, 415, "the body must be application/json",
				     NULL);
	} else {
		struct crank_api_resp resp = { 0, { 0 } };

		crank_api_handle(o, &req, buf + req.head_len, req.content_length,
				 &resp);
		if (resp.body.err || resp.body.p == NULL) {
			status = 500;
			sent = respond_error(fd, 500, "out of memory", NULL);
		} else {
			status = resp.status;
			sent = resp.body.len;
			respond(fd, status, "application/json", resp.body.p, sent,
				status == 405 ? "Allow: GET, POST, PUT, DELETE\r\n"
					      : NULL);
		}
		crank_jb_free(&resp.body);
	}
	log_request(peer, &req, status, sent);
}

static void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
		snprintf(out, cap, "%s:%u", a, port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
		snprintf(out, cap, "[%s]:%u", a, port);
	}
}

/* Close after an answer given before the whole request was read,
 * without losing it: closing with unread input makes the kernel send a
 * reset, which can overtake the answer.  So end our side, and read what
 * the client still sends (bounded: one second without data, or 64 KiB). */
static void linger_close(int c)
{
	struct timeval tv = { 1, 0 };
	size_t total = 0;
	char buf[4096];
	ssize_t r;

	shutdown(c, SHUT_WR);
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (total < 65536 && (r = recv(c, buf, sizeof(buf), 0)) > 0)
		total += (size_t)r;
	close(c);
}

/* ---- connections: requests are read from up to MAXCONN clients at
 * once (an idle one, such as a browser's spare connection, blocks no
 * other), and answered one at a time. ---- */

#define MAXCONN 16

struct conn {
	int fd;
	char peer[INET6_ADDRSTRLEN + 10];
	char *buf;
	size_t have, cap;
	struct crank_http_req req;
	int head;			/* the head is parsed */
	struct timespec start;
};

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Switch to blocking with a send timeout, to answer. */
static void to_blocking(int fd)
{
	struct timeval tv = { IO_TIMEOUT, 0 };
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void conn_end(struct conn *c, int drain)
{
	if (drain) {
		linger_close(c->fd);
	} else {
		shutdown(c->fd, SHUT_WR);
		close(c->fd);
	}
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Refuse what was read so far with status. */
static void conn_refuse(struct conn *c, int status, const char *why)
{
	size_t sent;

	to_blocking(c->fd);
	sent = respond_error(c->fd, status, why, NULL);
	log_request(c->peer, c->head ? &c->req : NULL, status, sent);
	conn_end(c, 1);
}

static void conn_read(struct conn *c, const struct crank_serve_opts *o,
		      const char *token)
{
	size_t want = c->head ? c->req.head_len + c->req.content_length
			      : CRANK_HTTP_MAXHEAD;
	const char *why;
	ssize_t r;
	int status, rc;

	if (c->cap < want) {
		char *nb = realloc(c->buf, want);

		if (nb == NULL) {
			conn_refuse(c, 500, "out of memory");
			return;
		}
		c->buf = nb;
		c->cap = want;
		/* the head's fields point into the buffer: parse it again */
		if (c->head && crank_http_parse(c->buf, c->have, &c->req, &status,
						&why) != 0) {
			conn_refuse(c, 500, "internal error");
			return;
		}
	}
	if (c->have == want) {		/* the body is in already */
		r = 0;
	} else {
		r = recv(c->fd, c->buf + c->have, want - c->have, 0);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR))
			return;
		if (r <= 0) {
			if (c->have > 0)
				conn_refuse(c, 400, c->head ? "incomplete body"
							    : "incomplete request");
			else
				conn_end(c, 0);
			return;
		}
		c->have += (size_t)r;
	}
	if (!c->head) {
		rc = crank_http_parse(c->buf, c->have, &c->req, &status, &why);
		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			conn_refuse(c, status, why);
			return;
		}
		c->head = 1;
	}
	if (c->have < c->req.head_len + c->req.content_length) {
		if (c->cap < c->req.head_len + c->req.content_length)
			conn_read(c, o, token);		/* grow, go on */
		return;
	}
	to_blocking(c->fd);
	answer(c->fd, c->peer, o, token, &c->req, c->buf);
	conn_end(c, c->have > c->req.head_len + c->req.content_length);
}

static void conn_accept(int lfd, struct conn *conns)
{
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	struct conn *c = NULL;
	int fd;

	for (int i = 0; i < MAXCONN && c == NULL; i++)
		if (conns[i].fd < 0)
			c = &conns[i];
	if (c == NULL)
		return;
	fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
		     SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			fprintf(stderr, "crank serve: accept: %s\n",
				strerror(errno));
		return;
	}
	c->buf = malloc(CRANK_HTTP_MAXHEAD);
	if (c->buf == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->cap = CRANK_HTTP_MAXHEAD;
	c->have = 0;
	c->head = 0;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	peer_name(&peer, c->peer, sizeof(c->peer));
}

static void serve_loop(int lfd, const struct crank_serve_opts *o,
		       const char *token)
{
	struct conn conns[MAXCONN];

	for (int i = 0; i < MAXCONN; i++) {
		memset(&conns[i], 0, sizeof(conns[i]));
		conns[i].fd = -1;
	}
	while (!stopping) {
		struct pollfd pf[MAXCONN + 1];
		int at[MAXCONN + 1], nf = 0, room = 0, n;

		for (int i = 0; i < MAXCONN; i++) {
			if (conns[i].fd < 0) {
				room = 1;
				continue;
			}
			pf[nf] = (struct pollfd){ conns[i].fd, POLLIN, 0 };
			at[nf++] = i;
		}
		if (room) {
			pf[nf] = (struct pollfd){ lfd, POLLIN, 0 };
			at[nf++] = -1;
		}
		n = poll(pf, (nfds_t)nf, 500);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "crank serve: poll: %s\n", strerror(errno));
			break;
		}
		for (int k = 0; n > 0 && k < nf; k++) {
			if (pf[k].revents == 0)
				continue;
			if (at[k] < 0)
				conn_accept(lfd, conns);
			else if (conns[at[k]].fd >= 0)
				conn_read(&conns[at[k]], o, token);
		}
		for (int i = 0; i < MAXCONN; i++)
			if (conns[i].fd >= 0 &&
			    ms_since(&conns[i].start) > IO_TIMEOUT * 1000L) {
				if (conns[i].have > 0)
					conn_refuse(&conns[i], 408,
						    "request timed out");
				else
					conn_end(&conns[i], 0);
			}
	}
	for (int i = 0; i < MAXCONN; i++)
		if (conns[i].fd >= 0)
			conn_end(&conns[i], 0);
}

int crank_serve(const struct crank_serve_opts *o)
{
	struct sockaddr_storage ss;
	struct sigaction sa;
	socklen_t sl;
	char host[INET6_ADDRSTRLEN + 1], token[TOKEN_MAX];
	int fd = -1, one = 1, printed, rc = CRANK_EXIT_USAGE;
	struct stat st;

	if (sodium_init() < 0) {
		fprintf(stderr, "crank: cannot initialise libsodium\n");
		return CRANK_EXIT_SOURCE;
	}
	if (stat(o->source, &st) < 0) {
		fprintf(stderr, "crank: %s: %s\n", o->source, strerror(errno));
		return CRANK_EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "crank: %s: serve edits one source file, not a "
			"directory\n", o->source);
		return CRANK_EXIT_USAGE;
	}
	if (parse_listen(o->listen, &ss, &sl, host, sizeof(host)) < 0) {
		fprintf(stderr, "crank: --listen %s: give ADDRESS:PORT or "
			"[ADDRESS]:PORT with a numeric address\n", o->listen);
		return CRANK_EXIT_USAGE;
	}
	if (!crank_serve_is_loopback(host) && !o->allow_remote) {
		fprintf(stderr, "crank: --listen %s: not a loopback address; "
			"add --allow-remote to serve it\n", o->listen);
		return CRANK_EXIT_USAGE;
	}
	if (load_token(o->token_file, token, sizeof(token), &printed) < 0)
		return CRANK_EXIT_USAGE;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		fprintf(stderr, "crank: listening on %s: %s\n", o->listen,
			strerror(errno));
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	{
		char url[INET6_ADDRSTRLEN + 16];
		unsigned port = ntohs(ss.ss_family == AF_INET
				      ? ((struct sockaddr_in *)&ss)->sin_port
				      : ((struct sockaddr_in6 *)&ss)->sin6_port);

		snprintf(url, sizeof(url), ss.ss_family == AF_INET ? "%s:%u"
			 : "[%s]:%u", host, port);
		/* the URL on stdout, for the one who started us; the log
		 * (stderr) never carries the token */
		printf("listening on http://%s/\n", url);
		if (printed)
			printf("open http://%s/#token=%s\n", url, token);
		fflush(stdout);
		fprintf(stderr, "crank serve: listening on %s for %s (%s)\n",
			url, o->source, o->token_file ? "token from file"
						     : "token on stdout");
	}
	serve_loop(fd, o, token);
	fprintf(stderr, "crank serve: stopped\n");
	rc = CRANK_EXIT_OK;
out:
	sodium_memzero(token, sizeof(token));
	if (fd >= 0)
		close(fd);
	return rc;
}

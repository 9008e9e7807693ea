/* crank_serve -- `crank serve`: the operations of crank over HTTP/1.1
 * with JSON, and a web page to use them (doc/crank.md, "HTTP
 * interface"; crank(1)).
 *
 * One request per connection (Connection: close); requests are read
 * from up to 16 connections at once and answered one at a time, with a
 * 10-second limit to send one.  Loopback addresses only,
 * unless allow_remote.  Every /api/ request needs "Authorization:
 * Bearer TOKEN"; the token is compared in constant time and never
 * logged.  Every request is logged to stderr: peer, method, target,
 * status, bytes. */
#ifndef CRANK_SERVE_H
#define CRANK_SERVE_H

#include <stddef.h>

#include "crank_build.h"
#include "crank_http.h"
#include "crank_json.h"

struct crank_serve_opts {
	const char *source;		/* a file: the editor writes it */
	const char *config;		/* crank.conf, for plan/apply/entries */
	const char *listen;		/* ADDR:PORT, [ADDR]:PORT */
	const char *token_file;		/* NULL: a random token, printed */
	int allow_remote;
	const struct crank_build_opts *bo;
};

/* Run until SIGTERM or SIGINT: an exit code of crank(1). */
int crank_serve(const struct crank_serve_opts *o);

/* Whether the textual address is a loopback one (127.0.0.0/8, ::1). */
int crank_serve_is_loopback(const char *addr);

/* crank_api.c: answer one authenticated /api/ request. */
struct crank_api_resp {
	int status;
	struct crank_jbuf body;
};

void crank_api_handle(const struct crank_serve_opts *o,
		      const struct crank_http_req *req, const char *body,
		      size_t blen, struct crank_api_resp *resp);

/* crank_web_assets.c (generated from crank/web/): the page. */
struct crank_web_asset {
	const char *path, *type, *data;
};
extern const struct crank_web_asset crank_web_assets[];

#endif

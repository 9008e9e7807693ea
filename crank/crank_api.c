/* crank serve: the JSON API (doc/crank.md, "HTTP interface").  The
 * operations are the CLI's (crank_load_report, crank_publish_report),
 * with a report that writes JSON; the editor is crank_rules. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crank_main.h"
#include "crank_rules.h"
#include "crank_serve.h"

#define SOURCE_MAX CRANK_HTTP_MAXBODY

/* What the report callbacks collect: one JSON array each. */
struct jrep {
	struct crank_jbuf diags, changes, results, entries, leave;
	char error[1024];
	unsigned count[5], failed;
	char base[512], pk[65];
};

static void j_diag(void *ctx, const char *file, unsigned line, unsigned col,
		   const char *sev, const char *msg)
{
	struct crank_jbuf *b = &((struct jrep *)ctx)->diags;

	crank_jb_open(b, '{');
	crank_jb_kstr(b, "file", file);
	crank_jb_kint(b, "line", line);
	crank_jb_kint(b, "col", col);
	crank_jb_kstr(b, "severity", sev);
	crank_jb_kstr(b, "message", msg);
	crank_jb_close(b, '}');
}

static void j_srcdiag(void *ctx, const struct crank_pos *pos,
		      const char *sev, const char *msg)
{
	j_diag(ctx, pos->file ? pos->file : "-", pos->line, pos->col, sev, msg);
}

static void j_error(void *ctx, const char *msg)
{
	struct jrep *j = ctx;

	if (j->error[0] == '\0')
		snprintf(j->error, sizeof(j->error), "%s", msg);
}

static void j_plan_head(void *ctx, const char *base, const char *pk)
{
	struct jrep *j = ctx;

	snprintf(j->base, sizeof(j->base), "%s", base);
	snprintf(j->pk, sizeof(j->pk), "%s", pk);
}

static void j_leave(void *ctx, const char *dn)
{
	crank_jb_estr(&((struct jrep *)ctx)->leave, dn);
}

static void j_change(void *ctx, const char *op, const char *label,
		     const char *dn, const struct crank_report_attr *a, int n,
		     const char *was, const char *now)
{
	struct crank_jbuf *b = &((struct jrep *)ctx)->changes;

	crank_jb_open(b, '{');
	crank_jb_kstr(b, "op", op);
	crank_jb_kstr(b, "label", label);
	crank_jb_kstr(b, "dn", dn);
	crank_jb_key(b, "attrs");
	crank_jb_open(b, '[');
	for (int i = 0; i < n; i++) {
		crank_jb_open(b, '{');
		crank_jb_kstr(b, "type", a[i].type);
		crank_jb_kstr(b, "before", a[i].before);
		crank_jb_kstr(b, "after", a[i].after);
		crank_jb_close(b, '}');
	}
	crank_jb_close(b, ']');
	crank_jb_kstr(b, "was", was);
	crank_jb_kstr(b, "now", now);
	crank_jb_close(b, '}');
}

static void j_result(void *ctx, const char *op, const char *label,
		     const char *dn, const char *err)
{
	struct crank_jbuf *b = &((struct jrep *)ctx)->results;

	crank_jb_open(b, '{');
	crank_jb_kstr(b, "op", op);
	crank_jb_kstr(b, "label", label);
	crank_jb_kstr(b, "dn", dn);
	crank_jb_kbool(b, "ok", err == NULL);
	crank_jb_kstr(b, "error", err);
	crank_jb_close(b, '}');
}

static void j_summary(void *ctx, int apply, const unsigned c[5],
		      unsigned failed)
{
	struct jrep *j = ctx;

	(void)apply;
	memcpy(j->count, c, sizeof(j->count));
	j->failed = failed;
}

static void j_entry(void *ctx, const char *dn, const char *label, int policy,
		    const char *record, const char *valexp)
{
	struct crank_jbuf *b = &((struct jrep *)ctx)->entries;

	crank_jb_open(b, '{');
	crank_jb_kstr(b, "dn", dn);
	crank_jb_kstr(b, "label", label);
	crank_jb_kbool(b, "policy", policy);
	crank_jb_kstr(b, "record", record);
	crank_jb_kstr(b, "valexp", valexp[0] ? valexp : NULL);
	crank_jb_close(b, '}');
}

static void jrep_init(struct jrep *j, struct crank_report *r)
{
	memset(j, 0, sizeof(*j));
	crank_jb_open(&j->diags, '[');
	crank_jb_open(&j->changes, '[');
	crank_jb_open(&j->results, '[');
	crank_jb_open(&j->entries, '[');
	crank_jb_open(&j->leave, '[');
	*r = (struct crank_report){ j, j_diag, j_error, j_plan_head, j_leave,
				    j_change, j_result, j_summary, j_entry };
}

static void jrep_free(struct jrep *j)
{
	crank_jb_free(&j->diags);
	crank_jb_free(&j->changes);
	crank_jb_free(&j->results);
	crank_jb_free(&j->entries);
	crank_jb_free(&j->leave);
}

/* Append the array a (closing it) as member name of b. */
static void put_array(struct crank_jbuf *b, const char *name,
		      struct crank_jbuf *a)
{
	crank_jb_close(a, ']');
	crank_jb_key(b, name);
	if (a->err)
		b->err = a->err;
	else
		crank_jb_raw(b, a->p);
	b->comma = 1;
}

static void fail(struct crank_api_resp *resp, int status, const char *msg)
{
	crank_jb_free(&resp->body);
	resp->status = status;
	crank_jb_open(&resp->body, '{');
	crank_jb_kstr(&resp->body, "error", msg);
	crank_jb_close(&resp->body, '}');
}

/* ---- the source file ---- */

static int read_source(const char *path, char **text, size_t *len,
		       char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t r;

	*text = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SOURCE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
			 path, SOURCE_MAX);
		close(fd);
		return -EIO;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (*text == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*len = 0;
	while ((r = read(fd, *text + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)r;
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(*text);
		*text = NULL;
		return -EIO;
	}
	(*text)[*len] = '\0';
	return 0;
}

/* Write atomically: a temporary file beside it, then rename.  A
 * symbolic link stays one: the file it names is replaced. */
static int write_source(const char *source, const char *text, size_t len,
			char *err, size_t errlen)
{
	char tmp[4096], *real = realpath(source, NULL);
	const char *path = real ? real : source;
	struct stat st;
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "path too long");
		free(real);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%.900s: %s", tmp, strerror(errno));
		free(real);
		return -EIO;
	}
	if (stat(path, &st) == 0)
		fchmod(fd, st.st_mode & 07777);
	for (size_t off = 0; rc == 0 && off < len;) {
		ssize_t w = write(fd, text + off, len - off);

		if (w <= 0)
			rc = -EIO;
		else
			off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -EIO;
	if (close(fd) < 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -EIO;
	if (rc < 0) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(real);
	return rc;
}

static void version_of(const char *text, size_t len, char hex[33])
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), (const uint8_t *)text, len, NULL, 0);
	sodium_bin2hex(hex, 33, h, sizeof(h));
}

/* ---- operations ---- */

static void op_check(const struct crank_serve_opts *o, const char *text,
		     size_t len, struct crank_api_resp *resp)
{
	struct crank_loaded l;
	struct crank_report r;
	struct jrep j;
	struct crank_jbuf *b = &resp->body;
	int rc;

	jrep_init(&j, &r);
	rc = crank_load_report(o->source, text, len, o->bo, &l, &r);
	resp->status = 200;
	crank_jb_open(b, '{');
	crank_jb_kbool(b, "ok", rc == 0);
	crank_jb_kint(b, "errors", l.errors);
	crank_jb_kint(b, "warnings", l.warnings);
	crank_jb_kint(b, "records", rc == 0 ? (long long)l.recs.n : 0);
	put_array(b, "diagnostics", &j.diags);
	if (j.error[0])
		crank_jb_kstr(b, "error", j.error);
	crank_jb_close(b, '}');
	if (rc == 0)
		crank_loaded_free(&l);
	jrep_free(&j);
}

static void op_publish(const struct crank_serve_opts *o, int apply,
		       struct crank_api_resp *resp)
{
	static const int status[] = { 200, 422, 500, 502, 200 };
	struct crank_report r;
	struct jrep j;
	struct crank_jbuf *b = &resp->body;
	int rc;

	jrep_init(&j, &r);
	rc = crank_publish_report(o->source, o->bo, o->config, apply, &r);
	resp->status = rc >= 0 && rc <= 4 ? status[rc] : 500;
	crank_jb_open(b, '{');
	crank_jb_kint(b, "exit", rc);
	if (rc == CRANK_EXIT_SOURCE && !j.error[0])
		snprintf(j.error, sizeof(j.error), "the source has errors");
	if (j.error[0])
		crank_jb_kstr(b, "error", j.error);
	if (j.base[0]) {
		crank_jb_kstr(b, "base", j.base);
		crank_jb_kstr(b, "signing_key", j.pk);
	}
	put_array(b, "diagnostics", &j.diags);
	if (rc == CRANK_EXIT_OK || rc == CRANK_EXIT_PARTIAL) {
		if (apply)
			put_array(b, "results", &j.results);
		else {
			put_array(b, "changes", &j.changes);
			put_array(b, "leave", &j.leave);
		}
		crank_jb_key(b, "counts");
		crank_jb_open(b, '{');
		crank_jb_kint(b, "add", j.count[1]);
		crank_jb_kint(b, "modify", j.count[2]);
		crank_jb_kint(b, "replace", j.count[3]);
		crank_jb_kint(b, "delete", j.count[4]);
		crank_jb_kint(b, "unchanged", j.count[0]);
		if (apply)
			crank_jb_kint(b, "failed", j.failed);
		crank_jb_close(b, '}');
	}
	crank_jb_close(b, '}');
	jrep_free(&j);
}

static void op_entries(const struct crank_serve_opts *o,
		       struct crank_api_resp *resp)
{
	struct crank_report r;
	struct jrep j;
	struct crank_jbuf *b = &resp->body;
	int rc;

	jrep_init(&j, &r);
	rc = crank_publish_list(o->config, &r);
	if (rc != CRANK_EXIT_OK) {
		fail(resp, rc == CRANK_EXIT_LDAP ? 502 : 500,
		     j.error[0] ? j.error : "cannot read the subtree");
	} else {
		resp->status = 200;
		crank_jb_open(b, '{');
		put_array(b, "entries", &j.entries);
		crank_jb_close(b, '}');
	}
	jrep_free(&j);
}

static void rule_json(struct crank_jbuf *b, const struct crank_rule_text *r,
		      const char *text)
{
	crank_jb_kstr(b, "id", r->id);
	crank_jb_kint(b, "line", r->line);
	crank_jb_key(b, "text");
	crank_jb_strn(b, text + r->start, r->end - r->start);
	b->comma = 1;
}

/* GET /api/source, /api/rules, /api/rule?id= */
static void op_read(const struct crank_serve_opts *o, const char *what,
		    const char *id, struct crank_api_resp *resp)
{
	struct crank_rules rs = { NULL, 0 };
	struct crank_report r;
	struct jrep j;
	struct crank_jbuf *b = &resp->body;
	char *text = NULL, err[1024], ver[33];
	size_t len = 0;
	long at;

	jrep_init(&j, &r);
	if (read_source(o->source, &text, &len, err, sizeof(err)) < 0) {
		fail(resp, 500, err);
		goto out;
	}
	version_of(text, len, ver);
	crank_jb_open(b, '{');
	crank_jb_kstr(b, "path", o->source);
	crank_jb_kstr(b, "version", ver);
	if (strcmp(what, "source") == 0) {
		crank_jb_key(b, "text");
		crank_jb_strn(b, text, len);
		b->comma = 1;
		crank_jb_close(b, '}');
		resp->status = 200;
		goto out;
	}
	if (crank_rules_list(o->source, text, len, &rs, j_srcdiag, &j) < 0) {
		resp->status = 422;
		crank_jb_kstr(b, "error", "the source has syntax errors");
		put_array(b, "diagnostics", &j.diags);
		crank_jb_close(b, '}');
		goto out;
	}
	resp->status = 200;
	if (id == NULL) {
		crank_jb_key(b, "rules");
		crank_jb_open(b, '[');
		for (size_t i = 0; i < rs.n; i++) {
			crank_jb_open(b, '{');
			rule_json(b, &rs.r[i], text);
			crank_jb_close(b, '}');
		}
		crank_jb_close(b, ']');
	} else if ((at = crank_rules_find(&rs, id)) >= 0) {
		rule_json(b, &rs.r[at], text);
	} else {
		fail(resp, 404, "no such rule");
		goto out;
	}
	crank_jb_close(b, '}');
out:
	crank_rules_free(&rs);
	free(text);
	jrep_free(&j);
}

/* PUT /api/rule {"id"?, "text", "version"?}, DELETE /api/rule?id=. */
static void op_edit(const struct crank_serve_opts *o, const char *id,
		    const char *item, const char *version,
		    struct crank_api_resp *resp)
{
	struct crank_report r;
	struct crank_loaded l;
	struct jrep j;
	struct crank_jbuf *b = &resp->body;
	char *text = NULL, *out = NULL, err[1024], ver[33];
	size_t len = 0, olen = 0;
	int rc;

	jrep_init(&j, &r);
	if (read_source(o->source, &text, &len, err, sizeof(err)) < 0) {
		fail(resp, 500, err);
		goto out;
	}
	version_of(text, len, ver);
	if (version != NULL && strcmp(version, ver) != 0) {
		fail(resp, 409, "the source changed since it was read; "
		     "reload it");
		goto out;
	}
	rc = crank_rules_edit(o->source, text, len, id, item, &out, &olen, err,
			      sizeof(err), j_srcdiag, &j);
	if (rc < 0) {
		resp->status = rc == -ENOENT ? 404 : rc == -EEXIST ? 409
			       : rc == -ENOMEM ? 500 : 422;
		crank_jb_open(b, '{');
		crank_jb_kstr(b, "error", err);
		put_array(b, "diagnostics", &j.diags);
		crank_jb_close(b, '}');
		goto out;
	}
	/* the whole new source must pass check before it is written */
	if (crank_load_report(o->source, out, olen, o->bo, &l, &r) < 0) {
		resp->status = 422;
		crank_jb_open(b, '{');
		crank_jb_kstr(b, "error", j.error[0] ? j.error :
			      "the source would have errors; not written");
		put_array(b, "diagnostics", &j.diags);
		crank_jb_close(b, '}');
		goto out;
	}
	crank_loaded_free(&l);
	if (write_source(o->source, out, olen, err, sizeof(err)) < 0) {
		fail(resp, 500, err);
		goto out;
	}
	version_of(out, olen, ver);
	resp->status = 200;
	crank_jb_open(b, '{');
	crank_jb_kstr(b, "version", ver);
	crank_jb_kint(b, "warnings", l.warnings);
	put_array(b, "diagnostics", &j.diags);
	crank_jb_close(b, '}');
out:
	free(text);
	free(out);
	jrep_free(&j);
}

static int body_obj(const char *body, size_t blen, struct crank_json_obj *obj,
		    const char *const *names, struct crank_api_resp *resp)
{
	char err[256];

	memset(obj, 0, sizeof(*obj));
	if (blen == 0)
		return 0;
	if (crank_json_parse(body, blen, obj, err, sizeof(err)) < 0 ||
	    crank_json_only(obj, names, err, sizeof(err)) < 0) {
		crank_json_free(obj);
		fail(resp, 400, err);
		return -EINVAL;
	}
	return 0;
}

void crank_api_handle(const struct crank_serve_opts *o,
		      const struct crank_http_req *req, const char *body,
		      size_t blen, struct crank_api_resp *resp)
{
	static const char *const none[] = { NULL };
	static const char *const check_names[] = { "text", NULL };
	static const char *const put_names[] = { "id", "text", "version", NULL };
	struct crank_http_str p = req->path, m = req->method;
	struct crank_json_obj obj;
	const struct crank_json_member *t;
	char id[1024], ver[64];
	int get = crank_http_eq(m, "GET"), post = crank_http_eq(m, "POST");
	int rc;

	memset(&obj, 0, sizeof(obj));
	if (crank_http_eq(p, "/api/check") && post) {
		if (body_obj(body, blen, &obj, check_names, resp) < 0)
			return;
		t = crank_json_get(&obj, "text");
		if (t != NULL)
			op_check(o, t->value, t->vlen, resp);
		else
			op_check(o, NULL, 0, resp);
	} else if ((crank_http_eq(p, "/api/plan") || crank_http_eq(p, "/api/apply"))
		   && post) {
		if (body_obj(body, blen, &obj, none, resp) < 0)
			return;
		op_publish(o, p.p[5] == 'a', resp);
	} else if (crank_http_eq(p, "/api/entries") && get) {
		op_entries(o, resp);
	} else if (crank_http_eq(p, "/api/source") && get) {
		op_read(o, "source", NULL, resp);
	} else if (crank_http_eq(p, "/api/rules") && get) {
		op_read(o, "rules", NULL, resp);
	} else if (crank_http_eq(p, "/api/rule") && get) {
		rc = crank_http_query(req->query, "id", id, sizeof(id));
		if (rc < 0)
			fail(resp, 400, rc == -ENOENT ? "give ?id=RULE"
				   : "malformed id in the query");
		else
			op_read(o, "rule", id, resp);
	} else if (crank_http_eq(p, "/api/rule") && crank_http_eq(m, "DELETE")) {
		rc = crank_http_query(req->query, "id", id, sizeof(id));
		if (rc < 0) {
			fail(resp, 400, rc == -ENOENT ? "give ?id=RULE"
				   : "malformed id in the query");
			return;
		}
		rc = crank_http_query(req->query, "version", ver, sizeof(ver));
		if (rc < 0 && rc != -ENOENT)
			fail(resp, 400, "malformed version in the query");
		else
			op_edit(o, id, NULL, rc == 0 ? ver : NULL, resp);
	} else if (crank_http_eq(p, "/api/rule") && crank_http_eq(m, "PUT")) {
		const struct crank_json_member *i, *v;

		if (body_obj(body, blen, &obj, put_names, resp) < 0)
			return;
		t = crank_json_get(&obj, "text");
		i = crank_json_get(&obj, "id");
		v = crank_json_get(&obj, "version");
		if (t == NULL)
			fail(resp, 400, "give the rule as \"text\"");
		else
			op_edit(o, i ? i->value : NULL, t->value,
				v ? v->value : NULL, resp);
	} else if (crank_http_eq(p, "/api/check") || crank_http_eq(p, "/api/plan") ||
		   crank_http_eq(p, "/api/apply") || crank_http_eq(p, "/api/entries") ||
		   crank_http_eq(p, "/api/source") || crank_http_eq(p, "/api/rules") ||
		   crank_http_eq(p, "/api/rule")) {
		fail(resp, 405, "method not allowed here");
	} else {
		fail(resp, 404, "no such API endpoint");
	}
	crank_json_free(&obj);
}

/* ctlconn -- one application's control connection to the daemon. */
#include "ctlconn.h"
#include "ctlconn_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "codec.h"
#include "ctlkey.h"
#include "lidentry.h"
#include "localcmd.h"
#include "metrics.h"
#include "pinentry.h"
#include "session.h"
#include "sockio.h"
#include "tplog.h"
#include "worker.h"

/* PING answer: the API semantics date we implement, then who we are. */
#define DAEMON_IDENTITY "20151111tlspool-daemon-" PACKAGE_VERSION

static atomic_uint open_count;
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctlconn *all_conns;
static _Atomic uint32_t granted = PIOF_FACILITY_ALL_CURRENT;

void ctlconn_set_facilities(uint32_t facilities)
{
	granted = facilities;
}

unsigned ctlconn_count(void)
{
	return open_count;
}

const char *ctlconn_peer(const struct ctlconn *c)
{
	return c->peer;
}

uid_t ctlconn_uid(const struct ctlconn *c)
{
	return c->uid;
}

struct worker *ctlconn_worker(const struct ctlconn *c)
{
	return c->w;
}

struct ctlkey_owner *ctlconn_owner(struct ctlconn *c)
{
	return &c->owner;
}

void ctlconn_ref(struct ctlconn *c)
{
	atomic_fetch_add(&c->refs, 1);
}

static void drop_output(struct ctlconn *c)
{
	struct outmsg *m;

	while ((m = c->out_head) != NULL) {
		c->out_head = m->next;
		free(m);
	}
	c->out_tail = NULL;
	c->out_off = 0;
}

void ctlconn_unref(struct ctlconn *c)
{

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	pthread_mutex_lock(&all_lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&all_lock);
	drop_output(c);
	ctlconn_tp_free(c->tp);
	pthread_mutex_destroy(&c->cb_lock);
	free(c->cbs);
	free(c);
	atomic_fetch_sub(&open_count, 1);
}

static void fail_callbacks(struct ctlconn *c);

void ctlconn_close(struct ctlconn *c, const char *why)
{
	if (c->closed)
		return;
	c->closed = 1;
	tplog(LOG_INFO, "%s: control connection closed: %s", c->peer, why);
	ctlconn_tp_close(c);
	lidentry_connection_gone(c);
	pinentry_connection_gone(c);
	fail_callbacks(c);
	ctlkey_owner_gone(&c->owner, session_controller_gone);
	ctlconn_unref(c);
}

static void close_posted(void *arg)
{
	struct ctlconn *c = arg;

	ctlconn_close(c, c->write_error ? strerror(c->write_error)
					: "daemon stopping");
	ctlconn_unref(c);
}

/* Close later, from the event loop: a failed send is found deep inside
 * callers (a session replying) that must not see the connection and its
 * sessions vanish under them. */
static void close_soon(struct ctlconn *c)
{
	ctlconn_ref(c);
	if (worker_post(c->w, close_posted, c) < 0)
		ctlconn_unref(c);
}

void ctlconn_write_failed(struct ctlconn *c, int err)
{
	c->write_error = err;
	drop_output(c);
	close_soon(c);
}

void ctlconn_out_pop(struct ctlconn *c)
{
	struct outmsg *m = c->out_head;

	c->out_head = m->next;
	if (c->out_head == NULL)
		c->out_tail = NULL;
	c->out_off = 0;
	free(m);
}

static void enqueue_local(struct ctlconn *c, struct outmsg *m)
{
	if (c->closed || c->write_error) {
		free(m);
		return;
	}
	m->next = NULL;
	if (c->out_tail != NULL)
		c->out_tail->next = m;
	else
		c->out_head = m;
	c->out_tail = m;
	ctlconn_tp_flush(c);
}

struct posted_msg {
	struct ctlconn *c;
	struct outmsg *m;
};

static void enqueue_posted(void *arg)
{
	struct posted_msg *p = arg;

	enqueue_local(p->c, p->m);
	ctlconn_unref(p->c);
	free(p);
}

void ctlconn_send(struct ctlconn *c, const struct tlspool_command *cmd)
{
	struct outmsg *m = malloc(sizeof(*m));
	struct posted_msg *p;

	if (m == NULL) {
		tplog(LOG_ERR, "%s: out of memory, reply dropped", c->peer);
		return;
	}
	m->cmd = *cmd;
	if (worker_self() == c->w) {
		enqueue_local(c, m);
		return;
	}
	p = malloc(sizeof(*p));
	if (p == NULL)
		goto fail;
	p->c = c;
	p->m = m;
	ctlconn_ref(c);
	if (worker_post(c->w, enqueue_posted, p) == 0)
		return;
	ctlconn_unref(c);
	free(p);
fail:
	free(m);
	tplog(LOG_ERR, "%s: out of memory, reply dropped", c->peer);
}

void ctlconn_send_error(struct ctlconn *c, uint16_t reqid, int err,
			const char *fmt, ...)
{
	struct tlspool_command cmd;
	char msg[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_reqid = reqid;
	codec_set_error(&cmd, err, "%s", msg);
	ctlconn_send(c, &cmd);
}

static int cb_grow(struct ctlconn *c)
{
	size_t cap = c->capcbs ? 2 * c->capcbs : 4;
	struct pending_cb *n;

	if (cap > 65535)
		return -ENOSPC;
	n = realloc(c->cbs, cap * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	c->cbs = n;
	c->capcbs = cap;
	return 0;
}

static uint16_t add_callback(struct ctlconn *c, struct session *s,
			     ctlconn_answer_fn fn, void *arg,
			     struct tlspool_command *cmd)
{
	uint16_t id = 0;

	pthread_mutex_lock(&c->cb_lock);
	if (c->cb_closed || (c->ncbs == c->capcbs && cb_grow(c) < 0))
		goto out;
	do {
		id = ++c->next_cbid;
		for (size_t i = 0; id != 0 && i < c->ncbs; i++)
			if (c->cbs[i].cbid == id)
				id = 0;
	} while (id == 0);
	c->cbs[c->ncbs].cbid = id;
	c->cbs[c->ncbs].s = s;
	c->cbs[c->ncbs].fn = fn;
	c->cbs[c->ncbs].arg = arg;
	c->ncbs++;
	if (s != NULL)
		session_ref(s);
out:
	pthread_mutex_unlock(&c->cb_lock);
	if (id != 0) {
		cmd->pio_cbid = id;
		ctlconn_send(c, cmd);
	}
	return id;
}

uint16_t ctlconn_callback(struct ctlconn *c, struct session *s,
			  struct tlspool_command *cmd)
{
	return add_callback(c, s, NULL, NULL, cmd);
}

uint16_t ctlconn_callback_fn(struct ctlconn *c, ctlconn_answer_fn fn,
			     void *arg, struct tlspool_command *cmd)
{
	return add_callback(c, NULL, fn, arg, cmd);
}

/* The entry waiting for cbid (its session with the table's reference),
 * removed from the table; 0 when there is none. */
static int take_callback(struct ctlconn *c, uint16_t cbid,
			 struct pending_cb *out)
{
	int found = 0;

	pthread_mutex_lock(&c->cb_lock);
	for (size_t i = 0; i < c->ncbs; i++) {
		if (c->cbs[i].cbid == cbid) {
			*out = c->cbs[i];
			c->cbs[i] = c->cbs[--c->ncbs];
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&c->cb_lock);
	return found;
}

void ctlconn_callback_cancel(struct ctlconn *c, uint16_t cbid)
{
	struct pending_cb p;

	if (!take_callback(c, cbid, &p))
		return;
	if (p.fn != NULL)
		p.fn(p.arg, NULL);
	else
		session_unref(p.s);
}

/* The connection ends: every session still waiting for an answer here
 * gets an ERROR answer instead of waiting for its deadline. */
static void fail_callbacks(struct ctlconn *c)
{
	struct tlspool_command err;

	pthread_mutex_lock(&c->cb_lock);
	c->cb_closed = 1;
	pthread_mutex_unlock(&c->cb_lock);
	memset(&err, 0, sizeof(err));
	codec_set_error(&err, ECONNRESET, "the application answering the "
			"callback disconnected");
	for (;;) {
		struct pending_cb p = { 0, NULL, NULL, NULL };
		int any = 0;

		pthread_mutex_lock(&c->cb_lock);
		if (c->ncbs > 0) {
			p = c->cbs[--c->ncbs];
			any = 1;
		}
		pthread_mutex_unlock(&c->cb_lock);
		if (!any)
			return;
		if (p.fn != NULL)
			p.fn(p.arg, NULL);
		else
			session_deliver_answer(p.s, &err, -1);
	}
}

static void reply_simple(struct ctlconn *c, const struct tlspool_command *req,
			 int rc, const char *what)
{
	struct tlspool_command r;

	if (rc < 0) {
		ctlconn_send_error(c, req->pio_reqid, -rc, "%s: %s", what,
				   strerror(-rc));
		return;
	}
	memset(&r, 0, sizeof(r));
	r.pio_reqid = req->pio_reqid;
	r.pio_cmd = PIOC_SUCCESS_V2;
	ctlconn_send(c, &r);
}

static void do_ping(struct ctlconn *c, const struct tlspool_command *req)
{
	struct tlspool_command r = *req;

	memset(&r.pio_data, 0, sizeof(r.pio_data));
	snprintf(r.pio_data.pioc_ping.YYYYMMDD_producer,
		 sizeof(r.pio_data.pioc_ping.YYYYMMDD_producer), "%s",
		 DAEMON_IDENTITY);
	r.pio_data.pioc_ping.facilities =
		req->pio_data.pioc_ping.facilities & granted;
	ctlconn_send(c, &r);
}

static void do_session_op(struct ctlconn *c, const struct tlspool_command *req,
			  const uint8_t *key, int prng)
{
	struct session *s = ctlkey_find(key);

	if (s == NULL) {
		ctlconn_send_error(c, req->pio_reqid, ENOENT,
				   "no session with that control key");
		return;
	}
	if (prng)
		session_request_prng(s, c, req);
	else
		session_request_info(s, c, req);
	session_unref(s);
}

/* A slice of the metrics text, for root and the daemon's own uid. */
static void do_metrics(struct ctlconn *c, const struct tlspool_command *req)
{
	struct tlspool_command r = *req;
	struct pioc_local_text t;
	char *text;
	size_t total;

	if (!c->privileged) {
		ctlconn_send_error(c, req->pio_reqid, EPERM,
				   "metrics: uid %u may not read them",
				   (unsigned)c->uid);
		return;
	}
	text = metrics_format();
	if (text == NULL) {
		ctlconn_send_error(c, req->pio_reqid, ENOMEM, "metrics: %s",
				   strerror(ENOMEM));
		return;
	}
	total = strlen(text);
	memset(&t, 0, sizeof(t));
	memcpy(&t.offset, req->pio_data.pioc_raw, sizeof(t.offset));
	t.total = (uint32_t)total;
	if (t.offset < total) {
		t.len = (uint16_t)(total - t.offset < LOCALCMD_TEXTLEN
				   ? total - t.offset : LOCALCMD_TEXTLEN);
		memcpy(t.text, text + t.offset, t.len);
	}
	free(text);
	memset(r.pio_data.pioc_raw, 0, sizeof(r.pio_data.pioc_raw));
	memcpy(r.pio_data.pioc_raw, &t, sizeof(t));
	ctlconn_send(c, &r);
}

/* Registration as the PIN service, for root and the daemon's own uid:
 * the PIN service's answers are tried on tokens. */
static void do_pinentry(struct ctlconn *c, const struct tlspool_command *req)
{
	int rc;

	if (!c->privileged) {
		ctlconn_send_error(c, req->pio_reqid, EPERM,
				   "PINENTRY: uid %u may not be the PIN service",
				   (unsigned)c->uid);
		return;
	}
	rc = pinentry_register(c, req->pio_reqid, &req->pio_data.pioc_pinentry);
	if (rc == -EBUSY)
		ctlconn_send_error(c, req->pio_reqid, EBUSY,
				   "another PIN service is registered");
	else if (rc < 0)
		ctlconn_send_error(c, req->pio_reqid, -rc, "PINENTRY: %s",
				   strerror(-rc));
}

static void dispatch_request(struct ctlconn *c,
			     const struct tlspool_command *req, int *fd)
{
	const union pio_data *d = &req->pio_data;

	switch (req->pio_cmd) {
	case PIOC_PING_V2:
		do_ping(c, req);
		return;
	case PIOC_STARTTLS_V2:
		if (!(granted & PIOF_FACILITY_STARTTLS)) {
			ctlconn_send_error(c, req->pio_reqid, EPERM,
					   "facility STARTTLS is denied by configuration");
			return;
		}
		if (*fd < 0) {
			ctlconn_send_error(c, req->pio_reqid, EINVAL,
					   "STARTTLS needs the connection's socket as SCM_RIGHTS");
			return;
		}
		session_start(c, req, *fd);
		*fd = -1;
		return;
	case PIOC_CONTROL_DETACH_V2:
		reply_simple(c, req, ctlkey_detach(d->pioc_control.ctlkey, c),
			     "detach");
		return;
	case PIOC_CONTROL_REATTACH_V2:
		reply_simple(c, req,
			     ctlkey_reattach(d->pioc_control.ctlkey, c, &c->owner),
			     "reattach");
		return;
	case PIOC_PRNG_V2:
		do_session_op(c, req, d->pioc_prng.buffer, 1);
		return;
	case PIOC_INFO_V2:
		do_session_op(c, req, d->pioc_info.ctlkey, 0);
		return;
	case PIOC_LOCAL_METRICS_V1:
		do_metrics(c, req);
		return;
	case PIOC_LIDENTRY_REGISTER_V2:
		if (lidentry_register(c, req->pio_reqid,
				      &d->pioc_lidentry) < 0)
			ctlconn_send_error(c, req->pio_reqid, EBUSY,
					   "another local identity chooser is "
					   "registered");
		return;
	case PIOC_PINENTRY_V2:
		do_pinentry(c, req);
		return;
	default:
		ctlconn_send_error(c, req->pio_reqid, EPROTO,
				   "%s is only valid as a callback answer",
				   codec_cmd_name(req->pio_cmd));
		return;
	}
}

static void dispatch(struct ctlconn *c, const struct tlspool_command *cmd,
		     int *fd)
{
	char why[128];

	if (codec_check(cmd, sizeof(*cmd), CODEC_TO_DAEMON, why,
			sizeof(why)) < 0) {
		tplog(LOG_NOTICE, "%s: malformed request: %s", c->peer, why);
		ctlconn_send_error(c, cmd->pio_reqid, EPROTO, "malformed: %s",
				   why);
		return;
	}
	tplog(LOG_INFO, "%s: %s reqid=%u cbid=%u", c->peer,
	      codec_cmd_name(cmd->pio_cmd), cmd->pio_reqid, cmd->pio_cbid);
	if (cmd->pio_cbid != 0) {
		struct pending_cb p;

		if (!take_callback(c, cmd->pio_cbid, &p)) {
			tplog(LOG_NOTICE, "%s: answer to unknown callback %u",
			      c->peer, cmd->pio_cbid);
			return;
		}
		if (p.fn != NULL) {
			p.fn(p.arg, cmd);
			return;
		}
		session_deliver_answer(p.s, cmd, *fd);
		*fd = -1;
		return;
	}
	dispatch_request(c, cmd, fd);
}

void ctlconn_message(struct ctlconn *c, struct tlspool_command *cmd, int *fd)
{
	ctlconn_ref(c);
	dispatch(c, cmd, fd);
	/* a PINENTRY answer held a PIN */
	sodium_memzero(cmd, sizeof(*cmd));
	if (*fd >= 0) {
		sockio_close(*fd);
		*fd = -1;
	}
	ctlconn_unref(c);
}

struct ctlconn *ctlconn_new(struct worker *w)
{
	struct ctlconn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		tplog(LOG_ERR, "out of memory for a control connection");
		return NULL;
	}
	atomic_fetch_add(&open_count, 1);
	pthread_mutex_lock(&all_lock);
	c->next = all_conns;
	if (all_conns != NULL)
		all_conns->prev = c;
	all_conns = c;
	pthread_mutex_unlock(&all_lock);
	c->w = w;
	c->refs = 1;
	pthread_mutex_init(&c->cb_lock, NULL);
	c->uid = (uid_t)-1;
	snprintf(c->peer, sizeof(c->peer), "uid=? pid=?");
	return c;
}

void ctlconn_close_all(void)
{
	pthread_mutex_lock(&all_lock);
	for (struct ctlconn *c = all_conns; c != NULL; c = c->next) {
		int r = atomic_load(&c->refs);

		/* Skip one whose last reference is being dropped right now
		 * (it waits for all_lock to unlink itself). */
		while (r > 0 && !atomic_compare_exchange_weak(&c->refs, &r, r + 1))
			;
		if (r == 0)
			continue;
		if (worker_post(c->w, close_posted, c) < 0)
			ctlconn_unref(c);
	}
	pthread_mutex_unlock(&all_lock);
}

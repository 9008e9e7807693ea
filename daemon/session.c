/* session -- one STARTTLS request from callbacks to relay. */
#include "session_int.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <gnutls/x509.h>

#include "codec.h"
#include "cred.h"
#include "ctlconn.h"
#include "dconfig.h"
#include "metrics.h"
#include "onthefly.h"
#include "ocsp_fetch.h"
#include "polsel.h"
#include "relay.h"
#include "sockio.h"
#include "tplog.h"

static struct {
	pthread_mutex_t lock;
	struct cred_store *creds;
	char *priority;
	char *default_localid;
	unsigned timeout_ms;
	struct policydb *db;
} conf = { .lock = PTHREAD_MUTEX_INITIALIZER };

void session_set_policydb(struct policydb *db)
{
	pthread_mutex_lock(&conf.lock);
	conf.db = db;
	pthread_mutex_unlock(&conf.lock);
}

static atomic_uint live_sessions;
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session *all_sessions;

void session_set_config(const struct dconfig *cfg, struct cred_store *creds)
{
	char *prio = strdup(cfg->tls_priority);
	char *def = cfg->default_localid ? strdup(cfg->default_localid) : NULL;

	cred_store_ref(creds);
	pthread_mutex_lock(&conf.lock);
	if (conf.creds != NULL)
		cred_store_unref(conf.creds);
	free(conf.priority);
	free(conf.default_localid);
	conf.creds = creds;
	conf.priority = prio;
	conf.default_localid = def;
	conf.timeout_ms = cfg->handshake_timeout_ms;
	pthread_mutex_unlock(&conf.lock);
	ocsp_fetch_set_timeout(cfg->ocsp_timeout_ms);	/* valexp O/o */
	session_kdh_set_config(cfg);			/* TLS-KDH */
	if (dnssec_configure(cfg->dnssec_rootkey, cfg->dnssec_config,
			     cfg->dnssec_forwarder) < 0 ||	/* valexp D/d */
	    session_dane_set_ports(cfg->dane_service_ports) < 0)
		tplog(LOG_ERR, "DNSSEC settings: out of memory");
	gdir_set_anchors(cfg->trust_anchors);	/* valexp G/g */
}

void session_config_clear(void)
{
	pthread_mutex_lock(&conf.lock);
	if (conf.creds != NULL)
		cred_store_unref(conf.creds);
	free(conf.priority);
	free(conf.default_localid);
	conf.creds = NULL;
	conf.priority = conf.default_localid = NULL;
	pthread_mutex_unlock(&conf.lock);
	session_dane_set_ports(NULL);
}

unsigned session_count(void)
{
	return live_sessions;
}

int session_established(const struct session *s)
{
	return s->state == S_RELAY;
}

void session_ref(struct session *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void session_unref(struct session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	pthread_mutex_lock(&all_lock);
	if (s->all_prev != NULL)
		s->all_prev->all_next = s->all_next;
	else
		all_sessions = s->all_next;
	if (s->all_next != NULL)
		s->all_next->all_prev = s->all_prev;
	pthread_mutex_unlock(&all_lock);
	if (s->tls != NULL)
		gnutls_deinit(s->tls);
	onthefly_release(s->otf);	/* after the TLS session using it */
	session_kdh_free(s);		/* after the TLS session using it */
	session_kbind_free(s);
	if (s->creds != NULL)
		cred_store_unref(s->creds);
	free(s->priority);
	dnssec_answer_clear(&s->dane);
	dnssec_answer_clear(&s->gdir_srv);
	if (s->decision != NULL) {
		polsel_decision_free(s->decision);
		free(s->decision);
	}
	free(s);
	atomic_fetch_sub(&live_sessions, 1);
}

static void on_deadline(struct ev_timer *t);

struct session *session_new(struct ctlconn *ctl,
			    const struct tlspool_command *cmd, int cryptfd)
{
	struct session *s = calloc(1, sizeof(*s));
	uint32_t tmo = cmd->pio_data.pioc_starttls.timeout;

	if (s == NULL)
		return NULL;
	atomic_fetch_add(&live_sessions, 1);
	s->refs = 1;
	pthread_mutex_lock(&all_lock);
	s->all_next = all_sessions;
	if (all_sessions != NULL)
		all_sessions->all_prev = s;
	all_sessions = s;
	pthread_mutex_unlock(&all_lock);
	s->w = ctlconn_worker(ctl);
	s->req = *cmd;
	s->server = (cmd->pio_data.pioc_starttls.flags &
		     PIOF_STARTTLS_LOCALROLE_PEER) == PIOF_STARTTLS_LOCALROLE_SERVER;
	s->cryptfd = cryptfd;
	s->plainfd = -1;
	s->link.self = s;
	memcpy(s->link.key, cmd->pio_data.pioc_starttls.ctlkey,
	       TLSPOOL_CTLKEYLEN);
	s->deadline.fire = on_deadline;
	s->started_ms = worker_now_ms();
	snprintf(s->peer, sizeof(s->peer), "%s", ctlconn_peer(ctl));
	s->uid = ctlconn_uid(ctl);
	pthread_mutex_lock(&conf.lock);
	s->creds = conf.creds;
	s->db = conf.db;
	if (s->creds != NULL)
		cred_store_ref(s->creds);
	s->priority = strdup(conf.priority ? conf.priority : "NORMAL");
	if (s->server && conf.default_localid != NULL)
		snprintf(s->localid, sizeof(s->localid), "%s",
			 conf.default_localid);
	if (tmo == TLSPOOL_TIMEOUT_DEFAULT)
		tmo = conf.timeout_ms;
	pthread_mutex_unlock(&conf.lock);
	if (s->creds == NULL || s->priority == NULL) {
		session_unref(s);
		return NULL;
	}
	if (tmo != TLSPOOL_TIMEOUT_INFINITE &&
	    worker_timer_set(s->w, &s->deadline, tmo) < 0) {
		session_unref(s);
		return NULL;
	}
	return s;
}

const char *session_state_name(enum session_state st)
{
	static const char *names[] = { "ClientHello", "identity chooser",
				       "local identity", "handshake",
				       "OCSP validation",
				       "plaintext connection", "relay",
				       "Kerberos ticket", "Kerberos exchange",
				       "done" };
	return names[st];
}

/* Release everything the session holds; the struct lives on while
 * references remain (lookups see S_DONE). */
void session_end(struct session *s)
{
	if (s->state == S_DONE)
		return;
	s->state = S_DONE;
	ctlkey_unregister(&s->link);
	if (s->cbid != 0) {
		ctlconn_callback_cancel(s->cbctl, s->cbid);
		s->cbid = 0;
	}
	if (s->cbctl != NULL) {
		ctlconn_unref(s->cbctl);
		s->cbctl = NULL;
	}
	worker_timer_cancel(s->w, &s->deadline);
	worker_timer_cancel(s->w, &s->retry);
	if (s->relay != NULL) {
		relay_free(s->relay);
		s->relay = NULL;
	} else if (s->src.registered) {
		worker_unwatch(s->w, &s->src);
	}
	if (s->cryptfd >= 0)
		sockio_close(s->cryptfd);
	if (s->plainfd >= 0)
		sockio_close(s->plainfd);
	s->cryptfd = s->plainfd = -1;
	session_unref(s);
}

static void send_to_controller(struct session *s,
			       const struct tlspool_command *cmd)
{
	struct ctlconn *ctl = ctlkey_controller(&s->link);

	if (ctl == NULL)
		return;
	ctlconn_send(ctl, cmd);
	ctlconn_unref(ctl);
}

/* Refuse the request: log, ERROR reply naming the reason, end. */
void session_record(struct session *s, const char *refusal,
		    enum metrics_refusal why)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	struct metrics_event ev = {
		.peer = s->peer,
		.server = s->server,
		.localid = refusal ? st->localid : s->localid,
		.remoteid = refusal ? st->remoteid : s->remoteid,
		.rule = s->decision ? s->decision->rule : "",
		.reason = refusal,
		.refusal = why,
	};

	if (refusal != NULL)
		metrics_refused(&ev);
	else
		metrics_accepted(&ev);
}

void session_fail(struct session *s, int err, const char *fmt, ...)
{
	struct tlspool_command r;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tplog(LOG_NOTICE, "%s: refused %s role, local=\"%s\" remote=\"%s\": %s",
	      s->peer, s->server ? "server" : "client",
	      s->req.pio_data.pioc_starttls.localid,
	      s->req.pio_data.pioc_starttls.remoteid, msg);
	session_record(s, msg, metrics_classify(err));
	memset(&r, 0, sizeof(r));
	r.pio_reqid = s->req.pio_reqid;
	codec_set_error(&r, err, "%s", msg);
	session_ref(s);
	send_to_controller(s, &r);
	session_end(s);
	session_unref(s);
}

static void on_deadline(struct ev_timer *t)
{
	struct session *s = container_of(t, struct session, deadline);

	session_fail(s, ETIMEDOUT, "timed out in the %s step after %llu ms",
		     session_state_name(s->state),
		     (unsigned long long)(worker_now_ms() - s->started_ms));
}

/* Ask the application something; the answer comes to
 * session_callback_answer. */
int session_callback_to(struct session *s, struct ctlconn *ctl,
			struct tlspool_command *cb)
{
	if (ctl == NULL)
		return -ENOTCONN;
	s->cbid = ctlconn_callback(ctl, s, cb);
	if (s->cbid == 0) {
		ctlconn_unref(ctl);
		return -ENOTCONN;
	}
	s->cbctl = ctl;
	return 0;
}

int session_send_callback(struct session *s, uint32_t pio_cmd,
			  const char *localid, const char *remoteid)
{
	struct tlspool_command cb = s->req;
	struct pioc_starttls *st = &cb.pio_data.pioc_starttls;

	cb.pio_cmd = pio_cmd;
	snprintf(st->localid, sizeof(st->localid), "%s", localid);
	snprintf(st->remoteid, sizeof(st->remoteid), "%s", remoteid);
	return session_callback_to(s, ctlkey_controller(&s->link), &cb);
}

void session_watch_tls(struct session *s, uint32_t events)
{
	if (worker_watch(s->w, &s->src, events) < 0)
		session_fail(s, EIO, "cannot watch the connection");
}

static void callback_answer(struct session *s,
			    const struct tlspool_command *cmd, int fd)
{
	const struct pioc_starttls *st = &cmd->pio_data.pioc_starttls;
	int is_error = cmd->pio_cmd == PIOC_ERROR_V2;

	if (s->state == S_DONE) {
		if (fd >= 0)
			sockio_close(fd);
		return;
	}
	session_ref(s);
	s->cbid = 0;
	if (s->cbctl != NULL) {
		ctlconn_unref(s->cbctl);
		s->cbctl = NULL;
	}
	if (s->state == S_LOCALID_CB && !is_error &&
	    cmd->pio_cmd == PIOC_STARTTLS_LOCALID_V2) {
		snprintf(s->localid, sizeof(s->localid), "%s", st->localid);
		if (fd >= 0)	/* an fd here also accepts the identity */
			s->plainfd = fd;
		session_localid_answered(s);
	} else if (s->state == S_LIDENTRY_CB && !is_error &&
		   cmd->pio_cmd == PIOC_LIDENTRY_CALLBACK_V2) {
		if (fd >= 0)
			sockio_close(fd);
		session_lidentry_answered(s, &cmd->pio_data.pioc_lidentry);
	} else if (s->state == S_PLAIN_CB && !is_error &&
		   cmd->pio_cmd == PIOC_PLAINTEXT_CONNECT_V2 && fd >= 0) {
		s->plainfd = fd;
		session_go_relay(s);
	} else {
		if (fd >= 0)
			sockio_close(fd);
		session_fail(s, is_error ? EPERM : EPROTO,
			     "application %s the %s callback",
			     is_error ? "refused" : "gave no valid answer to",
			     session_state_name(s->state));
	}
	session_unref(s);
}

struct posted_answer {
	struct session *s;
	struct tlspool_command cmd;
	int fd;
};

static void answer_posted(void *arg)
{
	struct posted_answer *a = arg;

	callback_answer(a->s, &a->cmd, a->fd);
	session_unref(a->s);
	free(a);
}

void session_deliver_answer(struct session *s,
			    const struct tlspool_command *cmd, int fd)
{
	struct posted_answer *a;

	if (worker_self() == s->w) {
		callback_answer(s, cmd, fd);
		session_unref(s);
		return;
	}
	a = malloc(sizeof(*a));
	if (a != NULL) {
		a->s = s;
		a->cmd = *cmd;
		a->fd = fd;
		if (worker_post(s->w, answer_posted, a) == 0)
			return;
		free(a);
	}
	tplog(LOG_ERR, "out of memory handing an answer to a session");
	if (fd >= 0)
		sockio_close(fd);
	session_unref(s);
}

static void controller_gone_here(struct session *s)
{
	if (s->state == S_RELAY &&
	    (s->req.pio_data.pioc_starttls.flags & PIOF_STARTTLS_FORK)) {
		tplog(LOG_INFO, "session local=\"%s\" remote=\"%s\" detached "
		      "(FORK): its control connection closed", s->localid,
		      s->remoteid);
	} else if (s->state != S_DONE) {
		tplog(LOG_INFO, "session local=\"%s\" remote=\"%s\" ended: its "
		      "control connection closed in %s", s->localid,
		      s->remoteid, session_state_name(s->state));
		session_end(s);
	}
	session_unref(s);
}

struct posted_op {
	struct session *s;
	struct ctlconn *ctl;
	struct tlspool_command cmd;
	void (*fn)(struct session *, struct ctlconn *,
		   const struct tlspool_command *);
};

static void run_posted_op(void *arg)
{
	struct posted_op *op = arg;

	if (op->fn != NULL)
		op->fn(op->s, op->ctl, &op->cmd);
	else
		controller_gone_here(op->s);
	if (op->fn != NULL)
		session_unref(op->s);
	if (op->ctl != NULL)
		ctlconn_unref(op->ctl);
	free(op);
}

static void post_op(struct session *s, struct ctlconn *ctl,
		    const struct tlspool_command *cmd,
		    void (*fn)(struct session *, struct ctlconn *,
			       const struct tlspool_command *))
{
	struct posted_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		goto fail;
	op->s = s;
	op->ctl = ctl;
	op->fn = fn;
	if (cmd != NULL)
		op->cmd = *cmd;
	if (ctl != NULL)
		ctlconn_ref(ctl);
	if (fn != NULL)
		session_ref(s);
	if (worker_self() == s->w) {
		run_posted_op(op);
		return;
	}
	if (worker_post(s->w, run_posted_op, op) == 0)
		return;
	if (ctl != NULL)
		ctlconn_unref(ctl);
	if (fn != NULL)
		session_unref(s);
	free(op);
fail:
	tplog(LOG_ERR, "out of memory handing work to a session");
	if (ctl != NULL && cmd != NULL)
		ctlconn_send_error(ctl, cmd->pio_reqid, ENOMEM, "out of memory");
}

void session_run_op(struct session *s, struct ctlconn *ctl,
		    const struct tlspool_command *cmd,
		    void (*fn)(struct session *s, struct ctlconn *ctl,
			       const struct tlspool_command *cmd))
{
	post_op(s, ctl, cmd, fn);
}

/* Called with a reference that this function consumes. */
void session_controller_gone(struct session *s)
{
	post_op(s, NULL, NULL, NULL);
}

static void end_posted(void *arg)
{
	struct session *s = arg;

	if (s->state != S_DONE)
		tplog(LOG_INFO, "session local=\"%s\" remote=\"%s\" ended: "
		      "daemon stopping", s->localid, s->remoteid);
	session_end(s);
	session_unref(s);
}

void session_end_all(void)
{
	pthread_mutex_lock(&all_lock);
	for (struct session *s = all_sessions; s != NULL; s = s->all_next) {
		int r = atomic_load(&s->refs);

		while (r > 0 && !atomic_compare_exchange_weak(&s->refs, &r, r + 1))
			;
		if (r == 0)
			continue;
		if (worker_post(s->w, end_posted, s) < 0)
			session_unref(s);
	}
	pthread_mutex_unlock(&all_lock);
}

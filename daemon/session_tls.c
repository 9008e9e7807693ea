/* session_tls -- STARTTLS checks, the non-blocking handshake and the
 * hand-over to the relay (peer validation: session_validate.c). */
#include "session_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cred.h"
#include "ctlconn.h"
#include "hello.h"
#include "onthefly.h"
#include "polsel.h"
#include "priority.h"
#include "relay.h"
#include "session_rawpk.h"
#include "sockio.h"
#include "tplog.h"

/* The ClientHello is read whole from its first record (16 KiB + the
 * header and some slack); a partial one is looked at again after
 * HELLO_RETRY_MS. */
#define REC_MAX (16384 + 5 + 256)
#define HELLO_RETRY_MS 10

static void step_handshake(struct session *s);

static int check_flags(uint32_t flags, char *why, size_t whylen)
{
	uint32_t local = flags & PIOF_STARTTLS_LOCALROLE_PEER;

	if (local == 0 || local == PIOF_STARTTLS_LOCALROLE_PEER) {
		snprintf(why, whylen, "STARTTLS needs exactly one local role, "
			 "client or server");
		return -EINVAL;
	}
	if (flags & PIOF_STARTTLS_DTLS) {
		snprintf(why, whylen, "DTLS is not supported");
		return -EPROTONOSUPPORT;
	}
	if (flags & PIOF_STARTTLS_RENEGOTIATE) {
		snprintf(why, whylen, "RENEGOTIATE is not supported");
		return -ENOTSUP;
	}
	if ((flags & PIOF_STARTTLS_LOCALID_ONTHEFLY) && !onthefly_enabled()) {
		snprintf(why, whylen, "LOCALID_ONTHEFLY needs "
			 "tls_onthefly_signcert and tls_onthefly_signkey");
		return -ENOTSUP;
	}
	return 0;
}

/* The host part of a remote identity, for SNI and name checks. */
static const char *domain_of(const char *id)
{
	const char *at = strrchr(id, '@');

	return at ? at + 1 : id;
}

static int is_ip_literal(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	       inet_pton(AF_INET6, name, buf) == 1;
}

/* Find the rule for this connection (polsel.h); the subject is the
 * remote identity as a client, the served name as a server. */
static int decide(struct session *s, char *why, size_t whylen)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	struct polsel_query q = {
		.role = s->server ? POLREC_ROLE_SERVER : POLREC_ROLE_CLIENT,
		.localid = s->server ? s->localid : st->localid,
		.remoteid = st->remoteid,
		.uid = s->uid,
	};

	s->decision = malloc(sizeof(*s->decision));
	if (s->decision == NULL) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	return polsel_decide(s->db, &q, s->decision, why, whylen);
}

/* The rule's priority string (or the configured one) with its version
 * bounds, from the cache. */
static int apply_priority(struct session *s)
{
	static const struct polrec_policy none;
	const struct polrec_policy *p = s->decision ? &s->decision->pol : &none;
	const char *rule = s->decision && s->decision->rule[0]
			   ? s->decision->rule : "(default)";
	char text[1024];
	const char *errpos = NULL;
	gnutls_priority_t prio;
	int rc;

	if (priority_with_versions(p->priority ? p->priority : s->priority,
				   p->min_version, p->max_version, text,
				   sizeof(text)) < 0 ||
	    session_rawpk_priority(p->kinds, session_rawpk_local(s), s->server,
				   text, sizeof(text)) < 0) {
		snprintf(s->why, sizeof(s->why), "rule %s: priority too long",
			 rule);
		return GNUTLS_E_INVALID_REQUEST;
	}
	rc = priority_get(text, &prio, &errpos);
	if (rc < 0) {
		snprintf(s->why, sizeof(s->why), "rule %s: priority \"%.60s\" "
			 "refused by GnuTLS%s%.20s: %s", rule, text, errpos ? " at " : "", errpos ? errpos : "",
			 gnutls_strerror(rc));
		return rc;
	}
	return gnutls_priority_set(s->tls, prio);
}

/* Client authentication the server asks for: the rule's setting, else
 * what the application's flags say (required by default). */
gnutls_certificate_request_t session_client_auth(const struct session *s)
{
	uint32_t flags = s->req.pio_data.pioc_starttls.flags;

	switch (s->decision ? s->decision->pol.client_auth
			    : POLREC_CAUTH_DEFAULT) {
	case POLREC_CAUTH_NONE: return GNUTLS_CERT_IGNORE;
	case POLREC_CAUTH_OPTIONAL: return GNUTLS_CERT_REQUEST;
	case POLREC_CAUTH_REQUIRED: return GNUTLS_CERT_REQUIRE;
	default: break;
	}
	if (flags & PIOF_STARTTLS_IGNORE_REMOTEID)
		return GNUTLS_CERT_IGNORE;
	if (flags & PIOF_STARTTLS_REQUEST_REMOTEID)
		return GNUTLS_CERT_REQUEST;
	return GNUTLS_CERT_REQUIRE;
}

static int use_identity(struct session *s, const char *name)
{
	s->ident = cred_find(s->creds, name);
	if (s->ident == NULL && (s->req.pio_data.pioc_starttls.flags &
				 PIOF_STARTTLS_LOCALID_ONTHEFLY)) {
		/* a configured identity first, else one made on the fly
		 * (kept by the session: GnuTLS may use it until the end) */
		if (s->otf == NULL &&
		    onthefly_get(name, &s->otf, s->why, sizeof(s->why)) < 0)
			return -ENOENT;
		s->ident = onthefly_identity(s->otf);
	}
	if (s->ident == NULL) {
		snprintf(s->why, sizeof(s->why),
			 "no credential for local identity \"%s\"", name);
		return -ENOENT;
	}
	if (cred_identity_allowed(s->ident, s->server, s->uid, s->why,
				  sizeof(s->why)) < 0) {
		s->ident = NULL;
		return -EACCES;
	}
	if (session_rawpk_check_identity(s) < 0) {
		s->ident = NULL;
		return -EACCES;
	}
	return gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE,
				      s->ident->cred);
}

/* Server side: pick the identity once the ClientHello (and its SNI) is
 * known, unless the application already chose it (LOCALID_CHECK, asked
 * before the handshake started: see on_hello). */
static int post_client_hello(gnutls_session_t tls)
{
	struct session *s = gnutls_session_get_ptr(tls);
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	int rc;

	if (!s->localid_checked) {
		char sni[sizeof(s->localid)];
		size_t len = sizeof(sni);
		unsigned type;

		if (st->localid[0] != '\0')
			snprintf(s->localid, sizeof(s->localid), "%s", st->localid);
		else if (gnutls_server_name_get(tls, sni, &len, &type, 0) == 0 &&
			 type == GNUTLS_NAME_DNS)
			memcpy(s->localid, sni, sizeof(sni));
		else if (s->localid[0] == '\0') {
			snprintf(s->why, sizeof(s->why), "no local identity: "
				 "none requested, no SNI, no default_localid");
			return GNUTLS_E_UNRECOGNIZED_NAME;
		}
		s->localid_checked = 1;
	}
	if (s->localid[0] == '\0') {
		snprintf(s->why, sizeof(s->why),
			 "the application gave no local identity");
		return GNUTLS_E_UNRECOGNIZED_NAME;
	}
	if (s->decision == NULL) {
		rc = decide(s, s->why, sizeof(s->why));
		if (rc < 0)
			return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
		rc = apply_priority(s);
		if (rc < 0)
			return rc;
		gnutls_certificate_server_set_request(tls,
						      session_client_auth(s));
	}
	rc = session_kdh_setup(s);	/* TLS-KDH, when the rule says so */
	if (rc != 0)
		return rc < 0 ? rc : 0;	/* 1: Kerberos only, no certificate */
	return use_identity(s, s->localid) < 0 ? GNUTLS_E_UNRECOGNIZED_NAME : 0;
}

static int setup_client(struct session *s)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	const char *host = domain_of(st->remoteid);
	int rc;

	rc = session_kdh_setup(s);	/* TLS-KDH with the fetched ticket */
	if (rc < 0)
		return rc;
	if (rc == 1) {
		/* Kerberos identity: no certificate credentials */
	} else if (s->localid[0] != '\0') {
		rc = use_identity(s, s->localid);
		if (rc < 0)
			return rc;
	} else {
		rc = gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE,
					    cred_anonymous(s->creds));
		if (rc < 0)
			return rc;
	}
	if (!(st->flags & PIOF_STARTTLS_WITHOUT_SNI) && host[0] != '\0' &&
	    !is_ip_literal(host))
		return gnutls_server_name_set(s->tls, GNUTLS_NAME_DNS, host,
					      strlen(host));
	return 0;
}

static int setup_server(struct session *s)
{
	gnutls_certificate_server_set_request(s->tls, session_client_auth(s));
	gnutls_handshake_set_post_client_hello_function(s->tls,
							post_client_hello);
	/* Credentials are chosen in post_client_hello; until then the
	 * anonymous set keeps GnuTLS's early checks content. */
	return gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE,
				      cred_anonymous(s->creds));
}

static void begin_handshake(struct session *s)
{
	int rc;

	if (!s->server && session_kdh_client_prepare(s) != 0)
		return;		/* fetching the ticket, or refused */
	rc = gnutls_init(&s->tls, (s->server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
			 GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
			 GNUTLS_ENABLE_RAWPK);
	if (rc < 0)
		goto fail;
	gnutls_session_set_ptr(s->tls, s);
	session_rawpk_setup(s);	/* raw keys only where a rule allows them */
	/* A server's rule is known only once the ClientHello names it. */
	rc = apply_priority(s);
	if (rc < 0)
		goto fail;
	rc = s->server ? setup_server(s) : setup_client(s);
	if (rc < 0)
		goto fail;
	gnutls_transport_set_int(s->tls, s->cryptfd);
	s->state = S_HANDSHAKE;
	step_handshake(s);
	return;
fail:
	if (s->why[0] != '\0')
		session_fail(s, EACCES, "%s", s->why);
	else
		session_fail(s, EINVAL, "TLS setup failed: %s",
			     gnutls_strerror(rc));
}

void session_tls_begin(struct session *s)
{
	begin_handshake(s);
}

static const char *alert_text(struct session *s, int rc)
{
	if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED ||
	    rc == GNUTLS_E_WARNING_ALERT_RECEIVED) {
		const char *n = gnutls_alert_get_name(gnutls_alert_get(s->tls));

		return n ? n : "unknown alert";
	}
	return "";
}

static void handshake_done(struct session *s)
{
	s->why[0] = '\0';
	session_validate(s);
}

static void step_handshake(struct session *s)
{
	int rc;

	do {
		rc = gnutls_handshake(s->tls);
	} while (rc == GNUTLS_E_WARNING_ALERT_RECEIVED ||
		 rc == GNUTLS_E_INTERRUPTED);
	if (rc == 0) {
		handshake_done(s);
	} else if (rc == GNUTLS_E_AGAIN) {
		session_watch_tls(s, gnutls_record_get_direction(s->tls) ?
				  WORKER_OUT : WORKER_IN);
	} else if (s->why[0] != '\0') {
		gnutls_alert_send_appropriate(s->tls, rc);
		session_fail(s, EACCES, "%s", s->why);
	} else if (session_rawpk_explain(s, rc, s->why, sizeof(s->why))) {
		const char *alert = alert_text(s, rc);

		gnutls_alert_send_appropriate(s->tls, rc);
		session_fail(s, ECONNABORTED, "%s: TLS handshake failed: %s%s%s",
			     s->why, gnutls_strerror(rc), alert[0] ? ": " : "",
			     alert);
	} else {
		const char *alert = alert_text(s, rc);
		const char *rule = s->decision && s->decision->have_record
				   ? s->decision->rule : NULL;

		gnutls_alert_send_appropriate(s->tls, rc);
		/* A rule's versions, ciphers or client authentication may be
		 * why: name it. */
		session_fail(s, ECONNABORTED, "%s%s%sTLS handshake failed: %s%s%s",
			     rule ? "rule " : "", rule ? rule : "",
			     rule ? ": " : "", gnutls_strerror(rc),
			     alert[0] ? ": " : "", alert);
	}
}

static void on_tls_event(struct ev_source *src, uint32_t events)
{
	struct session *s = container_of(src, struct session, src);

	(void)events;
	if (s->state == S_HANDSHAKE)
		step_handshake(s);
	else if (s->state == S_KDH_BIND)
		session_kbind_step(s);	/* valexp K */
}

/* LOCALID_CHECK in the server role: before GnuTLS chooses a cipher
 * suite and a certificate, read (without consuming) the ClientHello's
 * server name and let the application confirm or change the identity. */
static void on_hello(struct ev_source *src, uint32_t events)
{
	struct session *s = container_of(src, struct session, src);
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	uint8_t buf[REC_MAX];
	char sni[sizeof(s->localid)];
	ssize_t n;
	int rc;

	(void)events;
	n = sockio_peek(s->cryptfd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		session_fail(s, ECONNABORTED, "the peer closed before its "
			     "ClientHello");
		return;
	}
	rc = hello_sni(buf, (size_t)n, sni, sizeof(sni));
	if (rc == -EAGAIN) {
		/* Part of it is here: look again shortly, without spinning
		 * on the readable socket. */
		session_watch_tls(s, 0);
		if (worker_timer_set(s->w, &s->retry, HELLO_RETRY_MS) < 0)
			session_fail(s, ENOMEM, "out of memory");
		return;
	}
	if (rc < 0) {
		session_fail(s, EPROTO, "the peer did not send a TLS ClientHello");
		return;
	}
	if (st->localid[0] != '\0')
		snprintf(s->localid, sizeof(s->localid), "%s", st->localid);
	else if (rc == 1)
		memcpy(s->localid, sni, sizeof(sni));
	session_watch_tls(s, 0);
	if (session_send_callback(s, PIOC_STARTTLS_LOCALID_V2, s->localid,
				  "") < 0) {
		session_fail(s, ENOTCONN, "control connection closed");
		return;
	}
	s->state = S_LOCALID_CB;
}

static void on_hello_retry(struct ev_timer *t)
{
	struct session *s = container_of(t, struct session, retry);

	if (s->state == S_HELLO)
		on_hello(&s->src, 0);
}

void session_localid_answered(struct session *s)
{
	if (s->server) {
		s->localid_checked = 1;
		s->src.handle = on_tls_event;
	}
	begin_handshake(s);
}

static void go_relay_closed(void *ctx, int err)
{
	struct session *s = ctx;
	struct relay_stats st;

	relay_get_stats(s->relay, &st);
	tplog(err == 0 ? LOG_INFO : LOG_NOTICE,
	      "session local=\"%s\" remote=\"%s\" ended (%s): %llu bytes "
	      "in, %llu bytes out", s->localid, s->remoteid,
	      err == 0 ? "closed" : "error", (unsigned long long)st.crypt_to_plain,
	      (unsigned long long)st.plain_to_crypt);
	metrics_closed(s->decision ? s->decision->rule : "", s->server,
		       st.crypt_to_plain, st.plain_to_crypt);
	session_end(s);
}

void session_go_relay(struct session *s)
{
	struct tlspool_command r = s->req;
	struct pioc_starttls *st = &r.pio_data.pioc_starttls;
	struct ctlconn *ctl;
	char *desc;
	int rc;

	rc = sockio_set_nonblock(s->plainfd);
	if (rc < 0) {
		session_fail(s, -rc, "plaintext descriptor unusable: %s",
			     strerror(-rc));
		return;
	}
	worker_timer_cancel(s->w, &s->deadline);
	if (s->src.registered)
		worker_unwatch(s->w, &s->src);
	s->relay = relay_start(s->w, s->tls, s->cryptfd, s->plainfd,
			       go_relay_closed, s);
	if (s->relay == NULL) {
		session_fail(s, ENOMEM, "cannot start the relay");
		return;
	}
	s->state = S_RELAY;
	snprintf(st->localid, sizeof(st->localid), "%s", s->localid);
	snprintf(st->remoteid, sizeof(st->remoteid), "%s", s->remoteid);
	desc = session_rawpk_desc(s->tls);
	tplog(LOG_INFO, "%s: established %s role: local=\"%s\" remote=\"%s\" %s",
	      s->peer, s->server ? "server" : "client", s->localid, s->remoteid,
	      desc ? desc : "");
	gnutls_free(desc);
	session_record(s, NULL, METRICS_REFUSED_OTHER);
	session_lidentry_commit(s);
	ctl = ctlkey_controller(&s->link);
	if (ctl == NULL)
		return;
	ctlconn_send(ctl, &r);
	if (st->flags & PIOF_STARTTLS_DETACH)
		ctlkey_detach(s->link.key, ctl);
	ctlconn_unref(ctl);
}

void session_start(struct ctlconn *ctl, const struct tlspool_command *cmd,
		   int cryptfd)
{
	const struct pioc_starttls *st = &cmd->pio_data.pioc_starttls;
	struct session *s;
	char why[128];
	int rc;

	rc = check_flags(st->flags, why, sizeof(why));
	if (rc == 0)
		rc = sockio_check_stream(cryptfd, why, sizeof(why));
	if (rc < 0) {
		tplog(LOG_NOTICE, "%s: refused STARTTLS: %s", ctlconn_peer(ctl),
		      why);
		ctlconn_send_error(ctl, cmd->pio_reqid, -rc, "%s", why);
		sockio_close(cryptfd);
		return;
	}
	s = session_new(ctl, cmd, cryptfd);
	if (s == NULL) {
		ctlconn_send_error(ctl, cmd->pio_reqid, ENOMEM, "out of memory");
		sockio_close(cryptfd);
		return;
	}
	rc = ctlkey_register(&s->link, ctl, ctlconn_owner(ctl));
	if (rc < 0) {
		ctlconn_send_error(ctl, cmd->pio_reqid, EEXIST,
				   "control key already in use");
		s->state = S_DONE;
		sockio_close(s->cryptfd);
		session_unref(s);
		return;
	}
	s->src.fd = cryptfd;
	s->src.handle = on_tls_event;
	if (s->server && (st->flags & PIOF_STARTTLS_LOCALID_CHECK)) {
		s->src.handle = on_hello;
		s->retry.fire = on_hello_retry;
		s->state = S_HELLO;
		session_watch_tls(s, WORKER_IN);
		return;
	}
	if (s->server) {
		begin_handshake(s);
		return;
	}
	if (decide(s, why, sizeof(why)) < 0) {
		session_fail(s, EACCES, "%s", why);
		return;
	}
	/* The requested identity, or what disclose.db shows this peer;
	 * a registered identity chooser may be asked first. */
	snprintf(s->localid, sizeof(s->localid), "%s", s->decision->localid);
	if (st->localid[0] == '\0' && session_ask_chooser(s) != 0)
		return;
	session_client_identity_chosen(s);
}

/* Client role, the local identity settled: confirm it with the
 * application (LOCALID_CHECK) or start the handshake. */
void session_client_identity_chosen(struct session *s)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;

	if (st->flags & PIOF_STARTTLS_LOCALID_CHECK) {
		if (session_send_callback(s, PIOC_STARTTLS_LOCALID_V2,
					  s->localid, st->remoteid) < 0) {
			session_fail(s, ENOTCONN, "control connection closed");
			return;
		}
		s->state = S_LOCALID_CB;
		return;
	}
	begin_handshake(s);
}

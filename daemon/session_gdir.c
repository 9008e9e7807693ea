/* session_gdir -- a session waits for the global directory (valexp G/g).
 *
 * Two waits in S_VALIDATE, as in session_ocsp.c and session_dane.c:
 * the DNSSEC lookup of the SRV records (dnssec.c, on the worker), then
 * the LDAP exchange (gdir.c, on a helper thread).  Each holds a
 * reference on the session, dropped when its answer comes; a session
 * that ended meanwhile ignores the answer.  The session deadline bounds
 * both; the LDAP exchange has its own timeouts as well.
 */
#include "session_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tplog.h"

/* The SRV type (RFC 2782), ldns's LDNS_RR_TYPE_SRV: this file needs no
 * DNS library (the Windows build has none yet, windows/dane_none.c). */
#define RR_TYPE_SRV 33

static void wait_validate(struct session *s, int state)
{
	if (s->src.registered)
		worker_unwatch(s->w, &s->src);
	s->state = S_VALIDATE;
	s->gdir_state = state;
	session_ref(s);			/* the lookup's or the query's */
}

static void srv_resume(struct session *s, const struct dnssec_answer *a)
{
	dnssec_answer_clear(&s->gdir_srv);
	if (dnssec_answer_copy(&s->gdir_srv, a) < 0) {
		s->gdir_srv.sec = DNSSEC_FAILED;
		snprintf(s->gdir_srv.why, sizeof(s->gdir_srv.why),
			 "out of memory");
	}
	s->gdir_state = GDIR_ST_SRV_ANSWERED;
	session_validate(s);
}

static void srv_answered(void *arg, const struct dnssec_answer *a)
{
	struct session *s = arg;

	if (s->state == S_VALIDATE && s->gdir_state == GDIR_ST_SRV_ASKING)
		srv_resume(s, a);
	session_unref(s);
}

void session_ask_gdir_srv(struct session *s, const char *name)
{
	struct dnssec_answer a;
	int rc;

	memset(&a, 0, sizeof(a));
	wait_validate(s, GDIR_ST_SRV_ASKING);
	rc = dnssec_lookup(s->w, name, RR_TYPE_SRV, srv_answered, s, &a);
	if (rc == 0) {
		tplog(LOG_INFO, "%s: looking up SRV %s", s->peer, name);
		return;
	}
	session_unref(s);
	if (rc < 0) {
		a.sec = DNSSEC_FAILED;
		snprintf(a.why, sizeof(a.why), "not asked: %s", strerror(-rc));
	}
	srv_resume(s, &a);
	dnssec_answer_clear(&a);
}

static void gdir_resume(struct session *s, const struct gdir_result *r)
{
	s->gdir = *r;
	s->gdir_state = GDIR_ST_ANSWERED;
	tplog(LOG_INFO, "%s: %s", s->peer, r->why);
	session_validate(s);
}

static void gdir_answered(void *arg, const struct gdir_result *r)
{
	struct session *s = arg;

	if (s->state == S_VALIDATE && s->gdir_state == GDIR_ST_ASKING)
		gdir_resume(s, r);
	session_unref(s);
}

void session_ask_gdir(struct session *s, struct gdir_query *q)
{
	struct gdir_result r;
	char host[sizeof(q->host)];
	int rc;

	snprintf(host, sizeof(host), "%s", q->host);
	wait_validate(s, GDIR_ST_ASKING);
	rc = gdir_start(s->w, q, gdir_answered, s);
	if (rc == 0) {
		tplog(LOG_INFO, "%s: asking the global directory %s", s->peer,
		      host);
		return;
	}
	session_unref(s);
	r.verdict = GDIR_UNAVAILABLE;
	snprintf(r.why, sizeof(r.why), "directory %.64s: not asked: %s", host,
		 rc == -EAGAIN ? "too many queries at once" : strerror(-rc));
	gdir_resume(s, &r);
}

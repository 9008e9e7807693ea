/* session_ocsp -- a session waits for the OCSP responder (valexp O/o).
 *
 * session_validate (session_validate.c) finds that the rule's expression asks
 * O or o and that the responder must be asked: session_ask_ocsp hands
 * the query to ocsp_fetch's helper threads, and the session waits in
 * S_VALIDATE with its deadline running and its socket unwatched.  The
 * query holds a reference on the session, dropped on the session's
 * worker when the answer is posted back (ocsp_answered), so a session
 * that ended meanwhile (deadline, control connection gone, shutdown)
 * stays valid and only ignores the answer.  ocsp_timer bounds the wait
 * should the helper be slower than its own timeout (a slow name
 * lookup); an answer after it is ignored as well, and the timer is
 * cancelled before the query's reference is dropped.  The stored answer
 * is then what O and o read when session_validate evaluates again.
 */
#include "session_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tplog.h"

#define OCSP_GRACE_MS 250

static void ocsp_resume(struct session *s, const struct ocsp_result *r)
{
	worker_timer_cancel(s->w, &s->ocsp_timer);
	s->ocsp = *r;
	s->ocsp_state = OCSP_ST_ANSWERED;
	tplog(LOG_INFO, "%s: %s", s->peer, r->why);
	session_validate(s);
}

/* On s's worker, with the query's reference. */
static void ocsp_answered(void *arg, const struct ocsp_result *r)
{
	struct session *s = arg;

	if (s->state == S_VALIDATE && s->ocsp_state == OCSP_ST_ASKING)
		ocsp_resume(s, r);
	worker_timer_cancel(s->w, &s->ocsp_timer);
	session_unref(s);
}

static void ocsp_timed_out(struct ev_timer *t)
{
	struct session *s = container_of(t, struct session, ocsp_timer);
	struct ocsp_result r;

	if (s->state != S_VALIDATE || s->ocsp_state != OCSP_ST_ASKING)
		return;
	ocsp_result_timeout(&r, s->ocsp_url, s->ocsp_timeout_ms);
	ocsp_resume(s, &r);
}

void session_ask_ocsp(struct session *s, struct ocsp_query *q)
{
	struct ocsp_result r;
	int rc;

	snprintf(s->ocsp_url, sizeof(s->ocsp_url), "%s", q->url);
	s->ocsp_timeout_ms = ocsp_fetch_timeout();
	s->ocsp_timer.fire = ocsp_timed_out;
	/* Not watched meanwhile: a hang-up would wake the loop each turn. */
	if (s->src.registered)
		worker_unwatch(s->w, &s->src);
	s->state = S_VALIDATE;
	s->ocsp_state = OCSP_ST_ASKING;
	session_ref(s);			/* the query's */
	rc = ocsp_fetch_start(s->w, q, s->ocsp_timeout_ms, ocsp_answered, s);
	if (rc < 0) {
		session_unref(s);
		r.verdict = OCSP_UNAVAILABLE;
		snprintf(r.why, sizeof(r.why), "OCSP responder %.64s: not asked: %.32s",
			 s->ocsp_url, rc == -EAGAIN ? "too many queries waiting"
						    : strerror(-rc));
		ocsp_resume(s, &r);
		return;
	}
	tplog(LOG_INFO, "%s: asking the OCSP responder %s", s->peer,
	      s->ocsp_url);
	if (worker_timer_set(s->w, &s->ocsp_timer,
			     s->ocsp_timeout_ms + OCSP_GRACE_MS) < 0)
		tplog(LOG_WARNING, "%s: no timer for the OCSP query; the "
		      "helper's own timeout applies", s->peer);
}

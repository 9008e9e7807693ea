/* session_dane -- a session waits for its TLSA lookup (valexp D/d).
 *
 * Like session_ocsp.c: session_validate finds that the expression asks D
 * or d before the TLSA records are known; session_ask_dane starts the
 * lookup on the session's worker (dnssec.c, libunbound's fd in the
 * worker's loop) and the session waits in S_VALIDATE, its socket
 * unwatched and its deadline running.  The lookup holds a reference on
 * the session, dropped when the answer comes; a session that ended
 * meanwhile ignores it.  A cached answer resumes at once.
 */
#include "session_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <ldns/ldns.h>

#include "tplog.h"

static void dane_resume(struct session *s, const struct dnssec_answer *a)
{
	dnssec_answer_clear(&s->dane);
	if (dnssec_answer_copy(&s->dane, a) < 0) {
		s->dane.sec = DNSSEC_FAILED;
		snprintf(s->dane.why, sizeof(s->dane.why), "out of memory");
	}
	s->dane_state = OCSP_ST_ANSWERED;
	session_validate(s);
}

/* On s's worker, with the lookup's reference. */
static void dane_answered(void *arg, const struct dnssec_answer *a)
{
	struct session *s = arg;

	if (s->state == S_VALIDATE && s->dane_state == OCSP_ST_ASKING)
		dane_resume(s, a);
	session_unref(s);
}

void session_ask_dane(struct session *s, const char *name)
{
	struct dnssec_answer a;
	int rc;

	memset(&a, 0, sizeof(a));
	if (s->src.registered)
		worker_unwatch(s->w, &s->src);
	s->state = S_VALIDATE;
	s->dane_state = OCSP_ST_ASKING;
	session_ref(s);			/* the lookup's */
	rc = dnssec_lookup(s->w, name, LDNS_RR_TYPE_TLSA, dane_answered, s, &a);
	if (rc == 0) {
		tplog(LOG_INFO, "%s: looking up TLSA %s", s->peer, name);
		return;
	}
	session_unref(s);
	if (rc < 0) {
		a.sec = DNSSEC_FAILED;
		snprintf(a.why, sizeof(a.why), "not asked: %s", strerror(-rc));
	}
	dane_resume(s, &a);
	dnssec_answer_clear(&a);
}

unsigned session_peer_port(const struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(s->cryptfd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

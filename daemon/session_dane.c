/* session_dane -- a session waits for its TLSA lookup (valexp D/d).
 *
 * Like session_ocsp.c: session_validate finds that the expression asks D
 * or d before the TLSA records are known; session_ask_dane starts the
 * lookup on the session's worker (dnssec.c, libunbound's fd in the
 * worker's loop) and the session waits in S_VALIDATE, its socket
 * unwatched and its deadline running.  The lookup holds a reference on
 * the session, dropped when the answer comes; a session that ended
 * meanwhile ignores it.  A cached answer resumes at once.  The answer
 * kept (s->dane) is the TLSA one that decides, its name in qname.
 */
#include "session_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <ldns/ldns.h>

#include "dane.h"
#include "tplog.h"

/* RFC 7671 section 7: when the host name is (securely) an alias, the
 * TLSA records of the final name come first, those of the name itself
 * second.  The steps: the address records of the host (A) for its
 * canonical name, then TLSA at _<port>._tcp.<canonical name>, then TLSA
 * at _<port>._tcp.<host>.  An insecure or failed address lookup skips to
 * the last step; a bogus one ends the lookup (bogus refuses). */
enum { STEP_HOST = 1, STEP_TARGET, STEP_NAME };

static void dane_next(struct session *s, int step, const char *name);

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

static const char *host_of(const char *tlsa_name)
{
	const char *h = strstr(tlsa_name, "._tcp.");

	return h != NULL ? h + 6 : tlsa_name;
}

static void dane_step_done(struct session *s, const struct dnssec_answer *a)
{
	char target[DNSSEC_NAME_MAX];
	size_t plen = (size_t)(host_of(s->dane_name) - s->dane_name);

	switch (s->dane_step) {
	case STEP_HOST:
		if (a->sec == DNSSEC_BOGUS) {
			dane_resume(s, a);
		} else if (a->sec == DNSSEC_SECURE && a->canon[0] != '\0' &&
			   plen + strlen(a->canon) < sizeof(target)) {
			memcpy(target, s->dane_name, plen);
			memcpy(target + plen, a->canon, strlen(a->canon) + 1);
			tplog(LOG_INFO, "%s: %s is an alias of %s", s->peer,
			      host_of(s->dane_name), a->canon);
			dane_next(s, STEP_TARGET, target);
		} else {
			dane_next(s, STEP_NAME, s->dane_name);
		}
		break;
	case STEP_TARGET:
		if (a->sec == DNSSEC_BOGUS ||
		    (a->sec == DNSSEC_SECURE && a->havedata && a->rcode == 0))
			dane_resume(s, a);
		else
			dane_next(s, STEP_NAME, s->dane_name);
		break;
	default:
		dane_resume(s, a);
	}
}

/* On s's worker, with the lookup's reference. */
static void dane_answered(void *arg, const struct dnssec_answer *a)
{
	struct session *s = arg;

	if (s->state == S_VALIDATE && s->dane_state == OCSP_ST_ASKING)
		dane_step_done(s, a);
	session_unref(s);
}

static void dane_next(struct session *s, int step, const char *name)
{
	struct dnssec_answer a;
	int rc;

	memset(&a, 0, sizeof(a));
	s->dane_step = step;
	session_ref(s);			/* the lookup's */
	rc = dnssec_lookup(s->w, step == STEP_HOST ? host_of(name) : name,
			   step == STEP_HOST ? LDNS_RR_TYPE_A
					     : LDNS_RR_TYPE_TLSA,
			   dane_answered, s, &a);
	if (rc == 0) {
		tplog(LOG_INFO, "%s: looking up %s %s", s->peer,
		      step == STEP_HOST ? "A" : "TLSA",
		      step == STEP_HOST ? host_of(name) : name);
		return;
	}
	session_unref(s);
	if (rc < 0) {
		a.sec = DNSSEC_FAILED;
		snprintf(a.why, sizeof(a.why), "not asked: %s", strerror(-rc));
		dane_resume(s, &a);
	} else {
		dane_step_done(s, &a);
	}
	dnssec_answer_clear(&a);
}

void session_ask_dane(struct session *s, const char *name)
{
	if (s->src.registered)
		worker_unwatch(s->w, &s->src);
	s->state = S_VALIDATE;
	s->dane_state = OCSP_ST_ASKING;
	snprintf(s->dane_name, sizeof(s->dane_name), "%s", name);
	dane_next(s, STEP_HOST, name);
}

/* dane_service_ports, replaced on reload (copied: sessions read it on
 * their workers while the main thread reloads). */
static struct {
	pthread_mutex_t lock;
	char *map;
} ports = { PTHREAD_MUTEX_INITIALIZER, NULL };

int session_dane_set_ports(const char *map)
{
	char *copy = map != NULL ? strdup(map) : NULL;

	if (map != NULL && copy == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&ports.lock);
	free(ports.map);
	ports.map = copy;
	pthread_mutex_unlock(&ports.lock);
	return 0;
}

/* The port the request's service publishes its TLSA records under, when
 * dane_service_ports names it (an application behind a proxy or a port
 * forward connects elsewhere); else 0. */
static unsigned service_port(const struct session *s)
{
	char service[sizeof(s->req.pio_data.pioc_starttls.service) + 1];
	char why[8];
	int port = 0;

	memcpy(service, s->req.pio_data.pioc_starttls.service,
	       sizeof(service) - 1);
	service[sizeof(service) - 1] = '\0';
	if (service[0] == '\0')
		return 0;
	pthread_mutex_lock(&ports.lock);
	if (ports.map != NULL)
		port = dane_service_port(ports.map, service, why, sizeof(why));
	pthread_mutex_unlock(&ports.lock);
	return port > 0 ? (unsigned)port : 0;
}

unsigned session_peer_port(const struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port = service_port(s);

	if (port != 0)
		return port;
	if (getpeername(s->cryptfd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

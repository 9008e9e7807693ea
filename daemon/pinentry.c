/* pinentry -- the registered PIN service. */
#include "pinentry.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ctlconn.h"
#include "keyproc.h"
#include "tplog.h"
#include "worker.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctlconn *service;
static uint32_t service_flags, service_timeout_us;
static uint16_t service_reqid;

/* One question in flight: the asking thread and the answer callback
 * share it (refs 2 until the callback ran). */
struct pin_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	clockid_t clock;	/* cond's: monotonic where supported */
	int refs;
	int done;
	int answered;		/* an answer came (not a cancel) */
	struct tlspool_command answer;
};

unsigned pinentry_timeout_ms(uint32_t timeout_us)
{
	unsigned ms = timeout_us / 1000;

	if (timeout_us == 0)
		return PINENTRY_DEFAULT_MS;
	if (ms == 0)
		ms = 1;
	return ms > PINENTRY_MAX_MS ? PINENTRY_MAX_MS : ms;
}

int pinentry_register(struct ctlconn *c, uint16_t reqid,
		      const struct pioc_pinentry *req)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (service != NULL && service != c) {
		rc = -EBUSY;
	} else {
		if (service == NULL)
			ctlconn_ref(c);
		service = c;
		service_flags = req->flags;
		service_timeout_us = req->timeout_us;
		service_reqid = reqid;
		keyproc_set_pin_source(pinentry_ask);
	}
	pthread_mutex_unlock(&lock);
	if (rc == 0)
		tplog(LOG_NOTICE, "%s: registered as the PIN service (answers "
		      "within %u ms)", ctlconn_peer(c),
		      pinentry_timeout_ms(req->timeout_us));
	return rc;
}

void pinentry_connection_gone(struct ctlconn *c)
{
	int was = 0;

	pthread_mutex_lock(&lock);
	if (service == c) {
		service = NULL;
		keyproc_set_pin_source(NULL);
		was = 1;
	}
	pthread_mutex_unlock(&lock);
	if (was) {
		tplog(LOG_NOTICE, "%s: the PIN service left", ctlconn_peer(c));
		ctlconn_unref(c);
	}
}

static void wait_unref(struct pin_wait *w)
{
	int left;

	pthread_mutex_lock(&w->lock);
	left = --w->refs;
	pthread_mutex_unlock(&w->lock);
	if (left > 0)
		return;
	sodium_memzero(&w->answer, sizeof(w->answer));
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* ctlconn_answer_fn: the service answered (or NULL: cancelled, gone). */
static void on_answer(void *arg, const struct tlspool_command *answer)
{
	struct pin_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	if (answer != NULL) {
		w->answer = *answer;
		w->answered = 1;
	}
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	wait_unref(w);
}

static struct pin_wait *wait_new(void)
{
	struct pin_wait *w = calloc(1, sizeof(*w));
	pthread_condattr_t a;

	if (w == NULL)
		return NULL;
	pthread_condattr_init(&a);
	/* winpthreads' conditions wait on the real-time clock only */
	w->clock = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 ?
		   CLOCK_MONOTONIC : CLOCK_REALTIME;
	pthread_cond_init(&w->cond, &a);
	pthread_condattr_destroy(&a);
	pthread_mutex_init(&w->lock, NULL);
	w->refs = 2;
	return w;
}

/* Copy s into a fixed field, always NUL-terminated. */
static void put(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

static void make_question(struct tlspool_command *cb,
			  const struct keyproc_pin_request *q, uint16_t reqid,
			  uint32_t flags, unsigned ms)
{
	struct pioc_pinentry *p = &cb->pio_data.pioc_pinentry;

	memset(cb, 0, sizeof(*cb));
	cb->pio_reqid = reqid;
	cb->pio_cmd = PIOC_PINENTRY_V2;
	p->flags = flags;
	p->attempt = q->attempt;
	p->timeout_us = ms * 1000u;
	snprintf(p->prompt, sizeof(p->prompt), "%sPIN for token %s "
		 "(identity %s)", q->wrong ? "Wrong PIN. " : "",
		 q->label[0] ? q->label : "(unnamed)", q->identity);
	put(p->token_manuf, sizeof(p->token_manuf), q->manufacturer);
	put(p->token_model, sizeof(p->token_model), q->model);
	put(p->token_serial, sizeof(p->token_serial), q->serial);
	put(p->token_label, sizeof(p->token_label), q->label);
}

/* Wait until done or ms passed; w->lock held. */
static void wait_done(struct pin_wait *w, unsigned ms)
{
	struct timespec until;

	clock_gettime(w->clock, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!w->done)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0)
			break;
}

/* The PIN from a finished wait; 0 or -errno with the reason logged. */
static int take_pin(struct pin_wait *w, int timed_out, const char *peer,
		    const char *label, unsigned ms, char *pin, size_t size)
{
	const struct pioc_pinentry *a = &w->answer.pio_data.pioc_pinentry;

	if (timed_out) {
		tplog(LOG_ERR, "PIN service %s: no answer for token %s within "
		      "%u ms", peer, label, ms);
		return -ETIMEDOUT;
	}
	if (!w->answered) {
		tplog(LOG_ERR, "PIN service %s: left without a PIN for token "
		      "%s", peer, label);
		return -ECANCELED;
	}
	if (w->answer.pio_cmd == PIOC_ERROR_V2) {
		tplog(LOG_ERR, "PIN service %s: no PIN for token %s: %.128s",
		      peer, label, w->answer.pio_data.pioc_error.message);
		return -ECANCELED;
	}
	if (w->answer.pio_cmd != PIOC_PINENTRY_V2 || a->pin[0] == '\0') {
		tplog(LOG_ERR, "PIN service %s: %s for token %s", peer,
		      w->answer.pio_cmd != PIOC_PINENTRY_V2 ? "wrong answer"
							  : "empty PIN", label);
		return -ECANCELED;
	}
	if (strlen(a->pin) >= size) {
		tplog(LOG_ERR, "PIN service %s: the PIN for token %s is longer "
		      "than %zu characters", peer, label, size - 1);
		return -ECANCELED;
	}
	memcpy(pin, a->pin, strlen(a->pin) + 1);
	return 0;
}

int pinentry_ask(const struct keyproc_pin_request *q, char *pin, size_t size)
{
	struct tlspool_command cb;
	struct ctlconn *c;
	struct pin_wait *w;
	char peer[64];
	uint32_t flags, tmo;
	uint16_t reqid, cbid;
	unsigned ms;
	int rc, timed_out;

	pin[0] = '\0';
	if (worker_self() != NULL)
		return -EDEADLK;	/* a worker never waits for a human */
	pthread_mutex_lock(&lock);
	c = service;
	if (c != NULL)
		ctlconn_ref(c);
	flags = service_flags;
	tmo = service_timeout_us;
	reqid = service_reqid;
	pthread_mutex_unlock(&lock);
	if (c == NULL) {
		tplog(LOG_ERR, "PKCS#11 token %s: no PIN service registered",
		      q->label);
		return -ENOENT;
	}
	snprintf(peer, sizeof(peer), "%s", ctlconn_peer(c));
	ms = pinentry_timeout_ms(tmo);
	w = wait_new();
	rc = -ENOMEM;
	if (w == NULL)
		goto out;
	make_question(&cb, q, reqid, flags, ms);
	tplog(LOG_NOTICE, "PIN service %s: asking for the PIN of token %s "
	      "(identity %s, attempt %u)", peer, q->label, q->identity,
	      q->attempt);
	cbid = ctlconn_callback_fn(c, on_answer, w, &cb);
	if (cbid == 0) {
		w->refs = 1;
		w->done = 1;	/* not sent: as if it left */
	}
	pthread_mutex_lock(&w->lock);
	wait_done(w, ms);
	timed_out = !w->done;
	pthread_mutex_unlock(&w->lock);
	if (timed_out)
		ctlconn_callback_cancel(c, cbid);	/* may run on_answer */
	pthread_mutex_lock(&w->lock);
	rc = take_pin(w, timed_out && !w->answered, peer, q->label, ms, pin,
		      size);
	pthread_mutex_unlock(&w->lock);
	wait_unref(w);
out:
	ctlconn_unref(c);
	return rc;
}

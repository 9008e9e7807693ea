/* dnssec_win32 -- libunbound's answers on Windows (dnssec_watch.h).
 * There libunbound's result "pipe" is an event object (util/tube.c under
 * USE_WINSOCK) and ub_fd() returns -1, so WSAPoll cannot watch it.  While
 * answers are outstanding a worker timer asks ub_poll every few
 * milliseconds and lets dnssec.c process them; an idle context costs
 * nothing.  No extra thread: ub_process runs on the worker's thread, as
 * on POSIX. */
#include "dnssec_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <unbound.h>

#include "worker.h"

#define DNSSEC_POLL_MS 5

struct dnssec_watch {
	struct worker *w;
	struct ub_ctx *ub;
	struct ev_timer tick;
	int armed;
	int (*ready)(void *arg);
	void *arg;
};

static void arm(struct dnssec_watch *wt)
{
	if (wt->armed)
		return;
	/* -ENOMEM: the timer heap cannot grow; the next ask retries */
	if (worker_timer_set(wt->w, &wt->tick, DNSSEC_POLL_MS) == 0)
		wt->armed = 1;
}

static void tick(struct ev_timer *t)
{
	struct dnssec_watch *wt = container_of(t, struct dnssec_watch, tick);

	wt->armed = 0;
	if (!ub_poll(wt->ub)) {
		arm(wt);	/* still waiting for libunbound's thread */
		return;
	}
	if (wt->ready(wt->arg))	/* 0: idle, or wt is freed */
		arm(wt);
}

int dnssec_watch_start(struct worker *w, struct ub_ctx *ub,
		       int (*ready)(void *arg), void *arg,
		       struct dnssec_watch **out)
{
	struct dnssec_watch *wt = calloc(1, sizeof(*wt));

	if (wt == NULL)
		return -ENOMEM;
	wt->w = w;
	wt->ub = ub;
	wt->tick.fire = tick;
	wt->ready = ready;
	wt->arg = arg;
	*out = wt;
	return 0;
}

void dnssec_watch_asked(struct dnssec_watch *wt)
{
	arm(wt);
}

void dnssec_watch_stop(struct dnssec_watch *wt, int worker_gone)
{
	if (wt == NULL)
		return;
	if (!worker_gone && wt->armed)
		worker_timer_cancel(wt->w, &wt->tick);
	free(wt);
}

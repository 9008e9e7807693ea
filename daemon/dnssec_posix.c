/* dnssec_posix -- libunbound's answers on POSIX: ub_fd() is the read end
 * of its result pipe, watched in the worker's loop (dnssec_watch.h). */
#include "dnssec_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <unbound.h>

#include "worker.h"

struct dnssec_watch {
	struct worker *w;
	struct ev_source src;
	int (*ready)(void *arg);
	void *arg;
};

static void readable(struct ev_source *src, uint32_t events)
{
	struct dnssec_watch *wt = container_of(src, struct dnssec_watch, src);

	(void)events;
	(void)wt->ready(wt->arg);	/* may stop and free wt */
}

int dnssec_watch_start(struct worker *w, struct ub_ctx *ub,
		       int (*ready)(void *arg), void *arg,
		       struct dnssec_watch **out)
{
	struct dnssec_watch *wt = calloc(1, sizeof(*wt));

	if (wt == NULL)
		return -ENOMEM;
	wt->w = w;
	wt->ready = ready;
	wt->arg = arg;
	wt->src.fd = ub_fd(ub);
	wt->src.handle = readable;
	if (wt->src.fd < 0 || worker_watch(w, &wt->src, WORKER_IN) < 0) {
		free(wt);
		return -EIO;
	}
	*out = wt;
	return 0;
}

void dnssec_watch_asked(struct dnssec_watch *wt)
{
	(void)wt;		/* the fd is always watched */
}

void dnssec_watch_stop(struct dnssec_watch *wt, int worker_gone)
{
	if (wt == NULL)
		return;
	if (!worker_gone && wt->src.registered)
		worker_unwatch(wt->w, &wt->src);
	free(wt);
}

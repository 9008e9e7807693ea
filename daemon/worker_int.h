/* worker_int -- the readiness backend behind worker.c.
 *
 * worker.c owns what is portable (timers, posted calls, the loop, the
 * thread pool); a backend owns fd readiness and the wake-up: epoll and an
 * eventfd on Linux (daemon/worker_epoll.c), WSAPoll and a loopback socket
 * pair on Windows (windows/worker_win32.c).  All functions but
 * worker_io_wake run on the worker's thread.
 */
#ifndef TP_WORKER_INT_H
#define TP_WORKER_INT_H

#include "worker.h"

struct worker_io;

/* A new backend, or NULL (logged). */
struct worker_io *worker_io_create(void);
void worker_io_destroy(struct worker_io *io);

/* worker_watch / worker_unwatch for this backend: watch src for events
 * (src->registered: already watched, src->events the old events), and
 * stop watching a registered src.  worker.c keeps src->registered and
 * src->events. */
int worker_io_watch(struct worker_io *io, struct ev_source *src,
		    uint32_t events);
void worker_io_unwatch(struct worker_io *io, struct ev_source *src);

/* From worker_io_wait: hand src the ready events it asked for, and
 * errors and hang-ups always (worker.c). */
void worker_deliver(struct ev_source *src, uint32_t ready);

/* Wait up to timeout_ms (-1: no limit) for readiness or a wake-up and
 * dispatch the ready sources.  0, or -errno on a fatal error. */
int worker_io_wait(struct worker_io *io, int timeout_ms);

/* Make a current or the next worker_io_wait return soon.  Any thread. */
void worker_io_wake(struct worker_io *io);

/* Online processors, at least 1 (the default worker count). */
unsigned worker_io_ncpus(void);

#endif

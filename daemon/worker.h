/* worker -- one event loop per thread: fd readiness, timers, posted calls.
 *
 * Everything a worker owns (control connections, TLS sessions, relays) is
 * touched only from that worker's thread.  Other threads hand work over
 * with worker_post.  Nothing in a handler may block.
 */
#ifndef TP_WORKER_H
#define TP_WORKER_H

#include <stddef.h>
#include <stdint.h>

struct worker;

/* Readiness bits for ev_source.events and handlers.  Their values are the
 * epoll ones (the epoll backend passes them through unchanged); other
 * backends translate. */
#define WORKER_IN	0x001u
#define WORKER_OUT	0x004u
#define WORKER_ERR	0x008u
#define WORKER_HUP	0x010u

/* An fd watched by a worker; embed it in the owning object and recover
 * the object with container_of in the handler. */
struct ev_source {
	int fd;
	uint32_t events;	/* WORKER_IN / WORKER_OUT currently watched */
	int registered;
	void (*handle)(struct ev_source *src, uint32_t events);
};

/* A one-shot deadline; embed it in the owning object. */
struct ev_timer {
	uint64_t deadline_ms;	/* CLOCK_MONOTONIC milliseconds */
	size_t heap_idx;	/* 0 = not armed */
	void (*fire)(struct ev_timer *t);
};

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* Start n workers; 0 or -errno. */
int worker_start_all(unsigned n);
/* Ask every worker to stop after draining and join them.  Their memory
 * is freed only when no helper thread may still post to one (see
 * worker_helper_begin): the process is exiting then anyway. */
void worker_stop_all(void);

/* A helper thread (bgjob, gdir) that will worker_post its result calls
 * begin before it is started and end after its post. */
void worker_helper_begin(void);
void worker_helper_end(void);
/* Round-robin choice of a worker for a new connection. */
struct worker *worker_next(void);
/* The worker whose thread is calling, or NULL. */
struct worker *worker_self(void);

/* Watch src->fd for events (WORKER_IN/WORKER_OUT, level-triggered); events 0
 * keeps it registered but quiet.  0 or -errno.
 *
 * Rules for everything below but worker_post and worker_loop_stop: call
 * them on w's thread only (or before its loop runs).  A handler receives
 * the ready events masked to src->events plus WORKER_ERR/WORKER_HUP; the
 * kernel reports those two even for events 0, so a source that is not
 * interested in an fd that may hang up should worker_unwatch it rather
 * than watch it with 0, or its handler will be called on every turn.
 *
 * Dispatch safety: a handler (or timer callback, or posted call) may
 * worker_unwatch and free any source, its own included; events still
 * queued for that source in the current epoll_wait batch are discarded.
 * Unwatch before freeing or closing: a source freed while still watched
 * is a use-after-free. */
int worker_watch(struct worker *w, struct ev_source *src, uint32_t events);
/* Stop watching (before closing the fd). */
void worker_unwatch(struct worker *w, struct ev_source *src);

/* Arm t to fire once in_ms from now (re-arming moves the deadline);
 * cancel of an unarmed timer is a no-op.  Both may be called from fd
 * handlers and timer callbacks, also on the firing timer itself.  Timers
 * fire in deadline order (equal deadlines in no particular order); a
 * timer armed with 0 from a callback fires on the next loop turn, after
 * pending I/O, never in the same pass.  Zero ev_timer before first use. */
/* 0, or -ENOMEM when the timer heap cannot grow (the timer is not armed). */
int worker_timer_set(struct worker *w, struct ev_timer *t, uint64_t in_ms);
void worker_timer_cancel(struct worker *w, struct ev_timer *t);
uint64_t worker_now_ms(void);

/* Run fn(arg) on w's thread, soon.  Safe from any thread.  0 or -ENOMEM. */
int worker_post(struct worker *w, void (*fn)(void *arg), void *arg);

/* Run one worker loop on the calling thread until worker_loop_stop; for
 * tests that need an event loop without the daemon's thread pool.
 * worker_loop_stop may be called from any thread, also from a handler;
 * the loop ends after its current turn and then runs the calls posted so
 * far.  worker_destroy (after worker_run returned) drops, with a warning,
 * calls posted later. */
struct worker *worker_create(void);
void worker_run(struct worker *w);
void worker_loop_stop(struct worker *w);
void worker_destroy(struct worker *w);

#endif

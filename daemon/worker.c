/* worker -- one event loop per thread: fd readiness, timers, posted calls.
 *
 * A worker is a readiness backend (worker_int.h: epoll on Linux, WSAPoll
 * on Windows), a binary min-heap of armed timers ordered by deadline, and
 * a queue of posted calls that any thread may append to; the backend's
 * wake-up ends its wait when the queue turns non-empty.
 *
 * Dispatch safety is the backend's: while it dispatches one batch of
 * ready sources, worker_unwatch removes the source from what is left of
 * the batch, so a handler may unwatch and free its own or any other
 * object.
 */
#include "worker.h"
#include "worker_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tplog.h"

struct posted {
	struct posted *next;
	void (*fn)(void *arg);
	void *arg;
};

struct worker {
	struct worker_io *io;
	atomic_int stop;
	pthread_t thread;

	pthread_mutex_t lock;		/* protects head and tail */
	struct posted *head, *tail;

	struct ev_timer **heap;		/* heap[1..hlen]; heap[0] unused */
	size_t hlen, hcap;
};

static __thread struct worker *self;

static struct worker **pool;
static unsigned npool;
static atomic_uint rr_next;

uint64_t worker_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct worker *worker_self(void)
{
	return self;
}

/* ---- fd watching: the backend ---- */

int worker_watch(struct worker *w, struct ev_source *src, uint32_t events)
{
	int rc = worker_io_watch(w->io, src, events);

	if (rc < 0)
		return rc;
	src->events = events;
	src->registered = 1;
	return 0;
}

void worker_unwatch(struct worker *w, struct ev_source *src)
{
	if (!src->registered)
		return;
	worker_io_unwatch(w->io, src);
	src->registered = 0;
	src->events = 0;
}

void worker_deliver(struct ev_source *src, uint32_t ready)
{
	ready &= src->events | WORKER_ERR | WORKER_HUP;
	if (ready)
		src->handle(src, ready);
}

/* ---- timers: binary min-heap, 1-based, heap_idx 0 = not armed ---- */

static void heap_place(struct worker *w, size_t i, struct ev_timer *t)
{
	w->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct worker *w, size_t i)
{
	struct ev_timer *t = w->heap[i];

	while (i > 1 && w->heap[i / 2]->deadline_ms > t->deadline_ms) {
		heap_place(w, i, w->heap[i / 2]);
		i /= 2;
	}
	heap_place(w, i, t);
}

static void heap_down(struct worker *w, size_t i)
{
	struct ev_timer *t = w->heap[i];

	for (;;) {
		size_t c = 2 * i;

		if (c > w->hlen)
			break;
		if (c < w->hlen &&
		    w->heap[c + 1]->deadline_ms < w->heap[c]->deadline_ms)
			c++;
		if (w->heap[c]->deadline_ms >= t->deadline_ms)
			break;
		heap_place(w, i, w->heap[c]);
		i = c;
	}
	heap_place(w, i, t);
}

static int heap_grow(struct worker *w)
{
	size_t cap = w->hcap ? 2 * w->hcap : 64;
	struct ev_timer **h = realloc(w->heap, cap * sizeof(*h));

	if (!h)
		return -ENOMEM;
	w->heap = h;
	w->hcap = cap;
	return 0;
}

void worker_timer_cancel(struct worker *w, struct ev_timer *t)
{
	size_t i = t->heap_idx;
	struct ev_timer *last;

	if (i == 0)
		return;
	t->heap_idx = 0;
	last = w->heap[w->hlen--];
	if (last == t)
		return;
	heap_place(w, i, last);
	heap_up(w, i);
	heap_down(w, last->heap_idx);
}

int worker_timer_set(struct worker *w, struct ev_timer *t, uint64_t in_ms)
{
	worker_timer_cancel(w, t);
	t->deadline_ms = worker_now_ms() + in_ms;
	/* hlen + 1 must be a valid index: heap[0] is unused */
	if (w->hlen + 2 > w->hcap && heap_grow(w) < 0) {
		tplog(LOG_ERR, "worker: out of memory arming a timer");
		return -ENOMEM;
	}
	w->heap[++w->hlen] = t;
	heap_up(w, w->hlen);
	return 0;
}

/* Fire the timers due now.  At most as many as were armed when the pass
 * began, so a callback that re-arms itself with 0 ms cannot starve I/O. */
static void timers_run(struct worker *w)
{
	size_t budget = w->hlen;
	uint64_t now = worker_now_ms();

	while (budget-- > 0 && w->hlen > 0 && w->heap[1]->deadline_ms <= now) {
		struct ev_timer *t = w->heap[1];

		worker_timer_cancel(w, t);
		t->fire(t);
	}
}

static int timers_timeout(struct worker *w)
{
	uint64_t now, dl;

	if (w->hlen == 0)
		return -1;
	now = worker_now_ms();
	dl = w->heap[1]->deadline_ms;
	if (dl <= now)
		return 0;
	if (dl - now > INT_MAX)
		return INT_MAX;
	return (int)(dl - now);
}

/* ---- posted calls ---- */

static void wake_up(struct worker *w)
{
	worker_io_wake(w->io);
}

int worker_post(struct worker *w, void (*fn)(void *arg), void *arg)
{
	struct posted *p = malloc(sizeof(*p));
	int was_empty;

	if (!p)
		return -ENOMEM;
	p->next = NULL;
	p->fn = fn;
	p->arg = arg;
	pthread_mutex_lock(&w->lock);
	was_empty = (w->head == NULL);
	if (w->tail)
		w->tail->next = p;
	else
		w->head = p;
	w->tail = p;
	pthread_mutex_unlock(&w->lock);
	/* A non-empty queue already has a wake-up on its way. */
	if (was_empty)
		wake_up(w);
	return 0;
}

static struct posted *posted_take(struct worker *w)
{
	struct posted *list;

	pthread_mutex_lock(&w->lock);
	list = w->head;
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->lock);
	return list;
}

static void posted_run(struct worker *w)
{
	struct posted *p = posted_take(w);

	while (p) {
		struct posted *next = p->next;

		p->fn(p->arg);
		free(p);
		p = next;
	}
}

/* ---- the loop ---- */

void worker_run(struct worker *w)
{
	struct worker *outer = self;

	self = w;
	while (!atomic_load(&w->stop)) {
		if (worker_io_wait(w->io, timers_timeout(w)) < 0)
			break;
		/* The backend consumed the wake-up before this takes the
		 * queue, so a racing post is either taken now or wakes the
		 * next wait. */
		posted_run(w);
		timers_run(w);
	}
	/* Calls posted before the stop still run. */
	posted_run(w);
	self = outer;
}

void worker_loop_stop(struct worker *w)
{
	atomic_store(&w->stop, 1);
	wake_up(w);
}

struct worker *worker_create(void)
{
	struct worker *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		goto fail;
	w->io = worker_io_create();
	if (!w->io)
		goto fail_free;
	rc = pthread_mutex_init(&w->lock, NULL);
	if (rc != 0) {
		tplog(LOG_ERR, "worker: mutex: %s", strerror(rc));
		goto fail_io;
	}
	atomic_init(&w->stop, 0);
	return w;

fail_io:
	worker_io_destroy(w->io);
fail_free:
	free(w);
fail:
	tplog(LOG_ERR, "worker: cannot create a worker");
	return NULL;
}

void worker_destroy(struct worker *w)
{
	struct posted *p;

	if (!w)
		return;
	p = posted_take(w);
	while (p) {
		struct posted *next = p->next;

		tplog(LOG_WARNING, "worker: dropping a call posted after stop");
		free(p);
		p = next;
	}
	free(w->heap);
	pthread_mutex_destroy(&w->lock);
	worker_io_destroy(w->io);
	free(w);
}

/* ---- the daemon's pool ---- */

static void *worker_thread(void *arg)
{
	worker_run(arg);
	return NULL;
}

static int pool_add(struct worker **slot)
{
	int rc;

	*slot = worker_create();
	if (!*slot)
		return -ENOMEM;
	rc = pthread_create(&(*slot)->thread, NULL, worker_thread, *slot);
	if (rc != 0) {
		tplog(LOG_ERR, "worker: pthread_create: %s", strerror(rc));
		worker_destroy(*slot);
		*slot = NULL;
		return -rc;
	}
	return 0;
}

int worker_start_all(unsigned n)
{
	int rc = 0;

	if (pool)
		return -EALREADY;
	if (n == 0)
		n = worker_io_ncpus();
	pool = calloc(n, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	for (npool = 0; npool < n; npool++) {
		rc = pool_add(&pool[npool]);
		if (rc < 0)
			goto fail;
	}
	return 0;

fail:
	worker_stop_all();
	return rc;
}

static atomic_uint helpers_out;
/* Workers a late helper may still post to (volatile: the store must
 * happen, it is what keeps them reachable for leak checkers). */
static struct worker **volatile kept;

void worker_helper_begin(void)
{
	atomic_fetch_add(&helpers_out, 1);
}

void worker_helper_end(void)
{
	atomic_fetch_sub(&helpers_out, 1);
}

void worker_stop_all(void)
{
	unsigned out;

	for (unsigned i = 0; i < npool; i++)
		worker_loop_stop(pool[i]);
	for (unsigned i = 0; i < npool; i++)
		pthread_join(pool[i]->thread, NULL);
	/* No worker starts a helper any more; one still out (a KDC or a
	 * directory slower than the drain) will post to its worker: keep
	 * them rather than free what it writes to. */
	out = atomic_load(&helpers_out);
	if (out > 0) {
		tplog(LOG_WARNING, "%u helper job(s) still running at stop; "
		      "their results are dropped", out);
		kept = pool;	/* still referenced: not a leak */
		pool = NULL;
		npool = 0;
		return;
	}
	for (unsigned i = 0; i < npool; i++)
		worker_destroy(pool[i]);
	free(pool);
	pool = NULL;
	npool = 0;
}

struct worker *worker_next(void)
{
	if (npool == 0)
		return NULL;
	return pool[atomic_fetch_add(&rr_next, 1) % npool];
}

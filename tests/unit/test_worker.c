/* Unit tests for the worker: posted calls, timers, dispatch safety. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

/* ---- a loop on its own thread ---- */

struct loop {
	struct worker *w;
	pthread_t thread;
};

static void *loop_main(void *arg)
{
	worker_run(arg);
	return NULL;
}

static void loop_start(struct loop *l)
{
	l->w = worker_create();
	assert_non_null(l->w);
	assert_int_equal(pthread_create(&l->thread, NULL, loop_main, l->w), 0);
}

static void loop_end(struct loop *l)
{
	worker_loop_stop(l->w);
	assert_int_equal(pthread_join(l->thread, NULL), 0);
	worker_destroy(l->w);
}

static void sem_wait_ok(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	assert_int_equal(sem_timedwait(s, &ts), 0);
}

struct call {
	void (*fn)(void *arg);
	void *arg;
	sem_t done;
};

static void call_trampoline(void *arg)
{
	struct call *c = arg;

	c->fn(c->arg);
	sem_post(&c->done);
}

/* Run fn(arg) on w's thread and wait for it. */
static void on_worker(struct worker *w, void (*fn)(void *), void *arg)
{
	struct call c = { .fn = fn, .arg = arg };

	sem_init(&c.done, 0, 0);
	assert_int_equal(worker_post(w, call_trampoline, &c), 0);
	sem_wait_ok(&c.done);
	sem_destroy(&c.done);
}

/* ---- posted calls ---- */

#define PRODUCERS 4
#define POSTS 5000

struct post_state {
	struct worker *w;
	pthread_t loop_thread;
	long count;		/* touched on the worker thread only */
	long wrong_thread;
};

static void count_call(void *arg)
{
	struct post_state *ps = arg;

	if (worker_self() != ps->w ||
	    !pthread_equal(pthread_self(), ps->loop_thread))
		ps->wrong_thread++;
	ps->count++;
}

static void *producer(void *arg)
{
	struct post_state *ps = arg;

	for (int i = 0; i < POSTS; i++)
		if (worker_post(ps->w, count_call, ps) != 0)
			abort();
	return NULL;
}

static void read_count(void *arg)
{
	long *out = arg;
	struct post_state *ps = (struct post_state *)out[0];

	out[1] = ps->count;
	out[2] = ps->wrong_thread;
}

static void test_post_from_threads(void **state)
{
	struct loop l;
	struct post_state ps = { 0 };
	pthread_t prod[PRODUCERS];
	long res[3];

	(void)state;
	loop_start(&l);
	ps.w = l.w;
	ps.loop_thread = l.thread;
	assert_null(worker_self());
	for (int i = 0; i < PRODUCERS; i++)
		assert_int_equal(pthread_create(&prod[i], NULL, producer, &ps),
				 0);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	/* Posted after all producers: runs after all their calls. */
	res[0] = (long)&ps;
	on_worker(l.w, read_count, res);
	assert_int_equal(res[1], PRODUCERS * POSTS);
	assert_int_equal(res[2], 0);
	loop_end(&l);
}

/* ---- the daemon's pool ---- */

struct pool_probe {
	struct worker *target;
	atomic_int ok, bad;
};

static void pool_call(void *arg)
{
	struct pool_probe *p = arg;

	if (worker_self() == p->target)
		atomic_fetch_add(&p->ok, 1);
	else
		atomic_fetch_add(&p->bad, 1);
}

static void test_pool(void **state)
{
	struct pool_probe probes[9];
	struct worker *seen[3];

	(void)state;
	assert_int_equal(worker_start_all(3), 0);
	for (int i = 0; i < 3; i++) {
		seen[i] = worker_next();
		assert_non_null(seen[i]);
	}
	assert_ptr_not_equal(seen[0], seen[1]);
	assert_ptr_not_equal(seen[1], seen[2]);
	assert_ptr_not_equal(seen[0], seen[2]);
	assert_ptr_equal(worker_next(), seen[0]);	/* round robin */
	for (int i = 0; i < 9; i++) {
		probes[i].target = seen[i % 3];
		atomic_init(&probes[i].ok, 0);
		atomic_init(&probes[i].bad, 0);
		assert_int_equal(worker_post(probes[i].target, pool_call,
					     &probes[i]), 0);
	}
	/* Stopping drains: every call posted before runs. */
	worker_stop_all();
	for (int i = 0; i < 9; i++) {
		assert_int_equal(atomic_load(&probes[i].ok), 1);
		assert_int_equal(atomic_load(&probes[i].bad), 0);
	}
	assert_null(worker_next());
	/* Zero means one per online CPU. */
	assert_int_equal(worker_start_all(0), 0);
	assert_non_null(worker_next());
	worker_stop_all();
}

/* ---- timers ---- */

#define NTIMERS 12

struct tstate {
	struct worker *w;
	struct ev_timer t[NTIMERS];
	int order[NTIMERS * 2];
	int nfired;
	uint64_t last_deadline;
	int out_of_order;
	sem_t done;
};

static struct tstate *cur_ts;

static void timer_fired(struct ev_timer *t)
{
	struct tstate *ts = cur_ts;
	int idx = (int)(t - ts->t);

	if (t->deadline_ms < ts->last_deadline)
		ts->out_of_order++;
	ts->last_deadline = t->deadline_ms;
	ts->order[ts->nfired++] = idx;
	if (idx == 0) {
		/* Cancel 5, move 6 earlier, add 7 at +5 ms from in here. */
		worker_timer_cancel(ts->w, &ts->t[5]);
		worker_timer_set(ts->w, &ts->t[6], 30);
		worker_timer_set(ts->w, &ts->t[7], 5);
	}
	if (idx == 4)
		sem_post(&ts->done);
}

static void timers_arm(void *arg)
{
	struct tstate *ts = arg;

	for (int i = 0; i < NTIMERS; i++)
		ts->t[i].fire = timer_fired;
	/* Gaps are wide so that a slow (sanitized) run keeps the order. */
	worker_timer_set(ts->w, &ts->t[4], 800);	/* last, ends test */
	worker_timer_set(ts->w, &ts->t[6], 5000);	/* moved to ~+130 */
	worker_timer_set(ts->w, &ts->t[3], 600);
	worker_timer_set(ts->w, &ts->t[5], 400);	/* cancelled by 0 */
	worker_timer_set(ts->w, &ts->t[1], 300);
	worker_timer_set(ts->w, &ts->t[8], 450);	/* cancelled below */
	worker_timer_set(ts->w, &ts->t[0], 100);
	worker_timer_set(ts->w, &ts->t[2], 340);
	worker_timer_set(ts->w, &ts->t[9], 50);
	worker_timer_set(ts->w, &ts->t[9], 500);	/* re-armed later */
	worker_timer_cancel(ts->w, &ts->t[8]);
	worker_timer_cancel(ts->w, &ts->t[10]);		/* never armed */
}

static void test_timer_order(void **state)
{
	static const int want[] = { 0, 7, 6, 1, 2, 9, 3, 4 };
	struct loop l;
	struct tstate *ts = calloc(1, sizeof(*ts));

	(void)state;
	assert_non_null(ts);
	loop_start(&l);
	ts->w = l.w;
	cur_ts = ts;
	sem_init(&ts->done, 0, 0);
	on_worker(l.w, timers_arm, ts);
	sem_wait_ok(&ts->done);
	loop_end(&l);
	/* 0 fires at 100 and arms 7 (+5) and 6 (+30). */
	assert_int_equal(ts->nfired, (int)(sizeof(want) / sizeof(want[0])));
	for (int i = 0; i < ts->nfired; i++)
		assert_int_equal(ts->order[i], want[i]);
	assert_int_equal(ts->out_of_order, 0);
	for (int i = 0; i < NTIMERS; i++)
		assert_int_equal(ts->t[i].heap_idx, 0);
	sem_destroy(&ts->done);
	free(ts);
}

/* Many timers, random deadlines, half cancelled: heap invariants. */
#define NMANY 2000

struct many {
	struct worker *w;
	struct ev_timer t[NMANY];
	int cancelled[NMANY];
	int fired[NMANY];
	int nfired, expect, out_of_order;
	uint64_t last;
	sem_t done;
};

static struct many *cur_many;

static void many_fired(struct ev_timer *t)
{
	struct many *m = cur_many;

	if (t->deadline_ms < m->last)
		m->out_of_order++;
	m->last = t->deadline_ms;
	m->fired[t - m->t]++;
	if (++m->nfired == m->expect)
		sem_post(&m->done);
}

static void many_arm(void *arg)
{
	struct many *m = arg;
	unsigned seed = 12345;

	for (int i = 0; i < NMANY; i++) {
		m->t[i].fire = many_fired;
		worker_timer_set(m->w, &m->t[i], rand_r(&seed) % 200);
	}
	for (int i = 0; i < NMANY; i++) {
		if (rand_r(&seed) % 2) {
			worker_timer_cancel(m->w, &m->t[i]);
			m->cancelled[i] = 1;
		} else {
			m->expect++;
		}
	}
}

static void test_timer_heap(void **state)
{
	struct loop l;
	struct many *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	loop_start(&l);
	m->w = l.w;
	cur_many = m;
	sem_init(&m->done, 0, 0);
	on_worker(l.w, many_arm, m);
	sem_wait_ok(&m->done);
	usleep(50 * 1000);	/* a cancelled one firing late would show */
	loop_end(&l);
	assert_int_equal(m->out_of_order, 0);
	for (int i = 0; i < NMANY; i++)
		assert_int_equal(m->fired[i], m->cancelled[i] ? 0 : 1);
	sem_destroy(&m->done);
	free(m);
}

/* A timer re-arming itself with 0 must not starve posted calls. */
struct spin {
	struct worker *w;
	struct ev_timer t;
	long fires;
	int stop;
};

static void spin_fire(struct ev_timer *t)
{
	struct spin *s = container_of(t, struct spin, t);

	s->fires++;
	if (!s->stop)
		worker_timer_set(s->w, t, 0);
}

static void spin_start(void *arg)
{
	struct spin *s = arg;

	s->t.fire = spin_fire;
	worker_timer_set(s->w, &s->t, 0);
}

static void spin_stop(void *arg)
{
	struct spin *s = arg;

	s->stop = 1;
	worker_timer_cancel(s->w, &s->t);
}

static void test_timer_zero_rearm(void **state)
{
	struct loop l;
	struct spin s = { 0 };

	(void)state;
	loop_start(&l);
	s.w = l.w;
	on_worker(l.w, spin_start, &s);
	usleep(20 * 1000);
	on_worker(l.w, spin_stop, &s);	/* gets through: no starvation */
	assert_true(s.fires > 1);
	loop_end(&l);
}

/* ---- dispatch safety ---- */

struct obj {
	struct ev_source src;
	int peer_fd;
	struct obj **other;	/* slot of the partner object */
	struct obj **self;	/* own slot */
	int *calls;
};

static void obj_free(struct worker *w, struct obj *o)
{
	worker_unwatch(w, &o->src);
	close(o->src.fd);
	close(o->peer_fd);
	*o->self = NULL;
	free(o);
}

/* Each handler frees its partner and then itself. */
static void obj_handle(struct ev_source *src, uint32_t events)
{
	struct obj *o = container_of(src, struct obj, src);
	struct worker *w = worker_self();

	(void)events;
	(*o->calls)++;
	if (*o->other)
		obj_free(w, *o->other);
	obj_free(w, o);
}

#define NPAIRS 8

struct objs {
	struct worker *w;
	struct obj *o[2 * NPAIRS];
	int calls[NPAIRS];
};

static struct obj *obj_new(struct objs *os, int i)
{
	struct obj *o = calloc(1, sizeof(*o));
	int sv[2];

	if (!o || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	o->src.fd = sv[0];
	o->src.handle = obj_handle;
	o->peer_fd = sv[1];
	o->self = &os->o[i];
	o->other = &os->o[i ^ 1];
	o->calls = &os->calls[i / 2];
	/* Readable before the loop looks: all land in one batch. */
	if (write(sv[1], "x", 1) != 1)
		abort();
	return o;
}

static void objs_setup(void *arg)
{
	struct objs *os = arg;

	for (int i = 0; i < 2 * NPAIRS; i++)
		os->o[i] = obj_new(os, i);
	for (int i = 0; i < 2 * NPAIRS; i++)
		if (worker_watch(os->w, &os->o[i]->src, WORKER_IN) != 0)
			abort();
}

static void nop(void *arg)
{
	(void)arg;
}

static void test_free_in_batch(void **state)
{
	struct loop l;
	struct objs os = { 0 };

	(void)state;
	loop_start(&l);
	os.w = l.w;
	on_worker(l.w, objs_setup, &os);
	usleep(50 * 1000);
	on_worker(l.w, nop, NULL);
	for (int i = 0; i < NPAIRS; i++)
		assert_int_equal(os.calls[i], 1);
	for (int i = 0; i < 2 * NPAIRS; i++)
		assert_null(os.o[i]);
	loop_end(&l);
}

/* events 0: registered and quiet; then WORKER_IN wakes it. */
struct quiet {
	struct worker *w;
	struct ev_source src;
	int sv[2];
	int calls;
};

static void quiet_handle(struct ev_source *src, uint32_t events)
{
	struct quiet *q = container_of(src, struct quiet, src);
	char c;

	q->calls++;
	if (events & WORKER_IN)
		(void)!read(src->fd, &c, 1);
}

static void quiet_zero(void *arg)
{
	struct quiet *q = arg;

	if (worker_watch(q->w, &q->src, 0) != 0)
		abort();
}

static void quiet_in(void *arg)
{
	struct quiet *q = arg;

	if (worker_watch(q->w, &q->src, WORKER_IN) != 0)
		abort();
}

static void quiet_unwatch(void *arg)
{
	struct quiet *q = arg;

	worker_unwatch(q->w, &q->src);
}

static void test_watch_zero(void **state)
{
	struct loop l;
	struct quiet q = { 0 };

	(void)state;
	loop_start(&l);
	q.w = l.w;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    q.sv), 0);
	q.src.fd = q.sv[0];
	q.src.handle = quiet_handle;
	on_worker(l.w, quiet_zero, &q);
	assert_int_equal(write(q.sv[1], "x", 1), 1);
	usleep(30 * 1000);
	on_worker(l.w, nop, NULL);
	assert_int_equal(q.calls, 0);
	assert_int_equal(q.src.registered, 1);
	on_worker(l.w, quiet_in, &q);
	usleep(30 * 1000);
	on_worker(l.w, quiet_unwatch, &q);
	assert_int_equal(q.calls, 1);
	assert_int_equal(q.src.registered, 0);
	loop_end(&l);
	close(q.sv[0]);
	close(q.sv[1]);
}

/* worker_loop_stop from inside a handler ends worker_run. */
static void stop_self(void *arg)
{
	worker_loop_stop(arg);
}

static void test_stop_from_inside(void **state)
{
	struct worker *w = worker_create();

	(void)state;
	assert_non_null(w);
	assert_int_equal(worker_post(w, stop_self, w), 0);
	worker_run(w);		/* returns */
	assert_null(worker_self());
	worker_destroy(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_from_threads),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_timer_heap),
		cmocka_unit_test(test_timer_zero_rearm),
		cmocka_unit_test(test_free_in_batch),
		cmocka_unit_test(test_watch_zero),
		cmocka_unit_test(test_stop_from_inside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

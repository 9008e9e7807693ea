/* bgjob -- run blocking calls (Kerberos to the KDC, OCSP responders) off
 * the workers.
 *
 * A pool is a fixed set of at most max_threads helper threads, started
 * on demand and never stopped (they wait on a condition variable when
 * idle), serving a queue of at most max_queue jobs.  run(arg) executes on
 * a helper thread; done(arg) then runs on the worker that asked
 * (worker_post).  Each user has its own pool (BGJOB_POOL_INIT), so a slow
 * KDC cannot starve OCSP checks and vice versa; bgjob_start uses the
 * Kerberos pool.
 */
#ifndef TP_BGJOB_H
#define TP_BGJOB_H

#include <pthread.h>

struct worker;
struct bgjob;

#define BGJOB_THREADS 4
#define BGJOB_QUEUE_MAX 256

struct bgjob_pool {
	const char *name;	/* in log lines */
	unsigned max_threads, max_queue;
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct bgjob *head, *tail;
	unsigned queued;	/* in the queue */
	unsigned busy;		/* being run */
	unsigned threads;	/* started (never stop) */
};

#define BGJOB_POOL_INIT(nm, nthreads, nqueue) \
	{ .name = (nm), .max_threads = (nthreads), .max_queue = (nqueue), \
	  .lock = PTHREAD_MUTEX_INITIALIZER, \
	  .more = PTHREAD_COND_INITIALIZER }

/* 0, or -ENOMEM / -EAGAIN (queue full) / -errno from pthread_create,
 * when neither run nor done will be called. */
int bgjob_pool_start(struct bgjob_pool *p, struct worker *w,
		     void (*run)(void *arg), void (*done)(void *arg),
		     void *arg);

/* bgjob_pool_start on the Kerberos pool (BGJOB_THREADS, BGJOB_QUEUE_MAX). */
int bgjob_start(struct worker *w, void (*run)(void *arg),
		void (*done)(void *arg), void *arg);

#endif

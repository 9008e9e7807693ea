/* bgjob -- run blocking calls (Kerberos to the KDC) off the workers.
 *
 * A fixed pool of at most BGJOB_THREADS helper threads, started on
 * demand and never stopped, serves a queue of at most BGJOB_QUEUE_MAX
 * jobs.  run(arg) executes on a helper thread; done(arg) then runs on the
 * worker that asked (worker_post).  The same shape as ocsp_fetch's pool,
 * kept apart so a slow KDC cannot starve OCSP checks and vice versa.
 */
#ifndef TP_BGJOB_H
#define TP_BGJOB_H

struct worker;

#define BGJOB_THREADS 4
#define BGJOB_QUEUE_MAX 256

/* 0, or -ENOMEM / -EAGAIN (queue full) / -errno from pthread_create,
 * when neither run nor done will be called. */
int bgjob_start(struct worker *w, void (*run)(void *arg),
		void (*done)(void *arg), void *arg);

#endif

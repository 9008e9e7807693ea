/* test_bgjob -- the helper pool (daemon/bgjob.c): run() happens on a
 * helper thread, done() on the asking worker's thread, for every job,
 * also when more jobs than threads are queued at once. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "bgjob.h"
#include "worker.h"

#define JOBS (3 * BGJOB_THREADS)

struct job {
	struct worker *w;
	pthread_t loop;		/* the worker's thread */
	pthread_t ran_on;
	int ran, done_ok;
	int *remaining;
};

static void run(void *arg)
{
	struct job *j = arg;

	usleep(2000);		/* a blocking call */
	j->ran_on = pthread_self();
	j->ran = 1;
}

static void done(void *arg)
{
	struct job *j = arg;

	j->done_ok = j->ran && pthread_equal(pthread_self(), j->loop) &&
		     !pthread_equal(j->ran_on, j->loop);
	if (--*j->remaining == 0)
		worker_loop_stop(j->w);
}

static void all_jobs_come_back(void **state)
{
	struct job jobs[JOBS];
	struct worker *w = worker_create();
	int remaining = JOBS;

	(void)state;
	assert_non_null(w);
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){ .w = w, .loop = pthread_self(),
					.remaining = &remaining };
		assert_int_equal(bgjob_start(w, run, done, &jobs[i]), 0);
	}
	worker_run(w);
	worker_destroy(w);
	assert_int_equal(remaining, 0);
	for (int i = 0; i < JOBS; i++)
		assert_true(jobs[i].done_ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_jobs_come_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

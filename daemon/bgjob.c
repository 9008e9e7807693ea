/* bgjob -- a helper-thread pool that posts results back to workers. */
#include "bgjob.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "tplog.h"
#include "worker.h"

struct job {
	struct job *next;
	struct worker *w;
	void (*run)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct job *head, *tail;
	unsigned queued, busy, threads;
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
	   0, 0, 0 };

static void job_finish(void *arg)
{
	struct job *j = arg;

	j->done(j->arg);
	free(j);
}

static void post_back(struct job *j)
{
	for (int i = 0; worker_post(j->w, job_finish, j) < 0; i++) {
		if (i == 100) {
			tplog(LOG_ERR, "bgjob: cannot hand a result back to "
			      "its worker: out of memory");
			free(j);
			return;
		}
		usleep(20000);
	}
}

static void *helper_main(void *unused)
{
	(void)unused;
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&pool.lock);
		while (pool.head == NULL)
			pthread_cond_wait(&pool.more, &pool.lock);
		j = pool.head;
		pool.head = j->next;
		if (pool.head == NULL)
			pool.tail = NULL;
		pool.queued--;
		pool.busy++;
		pthread_mutex_unlock(&pool.lock);

		j->run(j->arg);

		pthread_mutex_lock(&pool.lock);
		pool.busy--;
		pthread_mutex_unlock(&pool.lock);
		post_back(j);
	}
	return NULL;
}

static int add_thread(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, helper_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -rc;
	pool.threads++;
	return 0;
}

int bgjob_start(struct worker *w, void (*run)(void *arg),
		void (*done)(void *arg), void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	int rc = 0;

	if (j == NULL)
		return -ENOMEM;
	j->w = w;
	j->run = run;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&pool.lock);
	if (pool.queued >= BGJOB_QUEUE_MAX) {
		rc = -EAGAIN;
		goto unlock;
	}
	if (pool.queued + pool.busy + 1 > pool.threads &&
	    pool.threads < BGJOB_THREADS) {
		rc = add_thread();
		if (rc < 0 && pool.threads > 0)
			rc = 0;
		if (rc < 0)
			goto unlock;
	}
	if (pool.tail != NULL)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	pool.queued++;
	pthread_cond_signal(&pool.more);
unlock:
	pthread_mutex_unlock(&pool.lock);
	if (rc < 0)
		free(j);
	return rc;
}

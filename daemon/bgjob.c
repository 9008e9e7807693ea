/* bgjob -- helper-thread pools that post results back to workers. */
#include "bgjob.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "tplog.h"
#include "worker.h"

struct bgjob {
	struct bgjob *next;
	struct worker *w;
	void (*run)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

static struct bgjob_pool krb5_pool =
	BGJOB_POOL_INIT("bgjob", BGJOB_THREADS, BGJOB_QUEUE_MAX);

/* On the asking worker. */
static void job_finish(void *arg)
{
	struct bgjob *j = arg;

	j->done(j->arg);
	free(j);
}

static void post_back(struct bgjob_pool *p, struct bgjob *j)
{
	for (int i = 0; worker_post(j->w, job_finish, j) < 0; i++) {
		if (i == 100) {
			/* done cannot run anywhere else: its reference on
			 * the caller's object is lost. */
			tplog(LOG_ERR, "%s: cannot hand a result back to "
			      "its worker: out of memory", p->name);
			free(j);
			return;
		}
		usleep(20000);
	}
}

static void post_back_end(struct bgjob_pool *p, struct bgjob *j)
{
	post_back(p, j);
	worker_helper_end();
}

static void *helper_main(void *arg)
{
	struct bgjob_pool *p = arg;

	for (;;) {
		struct bgjob *j;

		pthread_mutex_lock(&p->lock);
		while (p->head == NULL)
			pthread_cond_wait(&p->more, &p->lock);
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		p->busy++;
		pthread_mutex_unlock(&p->lock);

		j->run(j->arg);

		pthread_mutex_lock(&p->lock);
		p->busy--;
		pthread_mutex_unlock(&p->lock);
		post_back_end(p, j);
	}
	return NULL;
}

/* With p->lock held: one more thread; 0 or -errno. */
static int add_thread(struct bgjob_pool *p)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, helper_main, p);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		return -rc;
	p->threads++;
	return 0;
}

int bgjob_pool_start(struct bgjob_pool *p, struct worker *w,
		     void (*run)(void *arg), void (*done)(void *arg),
		     void *arg)
{
	struct bgjob *j = calloc(1, sizeof(*j));
	int rc = 0;

	if (j == NULL)
		return -ENOMEM;
	j->w = w;
	j->run = run;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	if (p->queued >= p->max_queue) {
		rc = -EAGAIN;
		goto unlock;
	}
	/* Every queued job should find a thread that is not busy. */
	if (p->queued + p->busy + 1 > p->threads &&
	    p->threads < p->max_threads) {
		rc = add_thread(p);
		if (rc < 0 && p->threads > 0)
			rc = 0;		/* the others will get to it */
		if (rc < 0)
			goto unlock;
	}
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	worker_helper_begin();
	pthread_cond_signal(&p->more);
unlock:
	pthread_mutex_unlock(&p->lock);
	if (rc < 0)
		free(j);
	return rc;
}

int bgjob_start(struct worker *w, void (*run)(void *arg),
		void (*done)(void *arg), void *arg)
{
	return bgjob_pool_start(&krb5_pool, w, run, done, arg);
}

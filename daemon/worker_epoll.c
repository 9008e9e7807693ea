/* worker_epoll -- the Linux readiness backend of worker.c: an epoll
 * instance (level-triggered) and an eventfd that wakes it.
 *
 * Dispatch safety: one epoll_wait fills io->batch; while its entries are
 * dispatched, worker_io_unwatch clears every entry of that batch that
 * still points at the source being removed.  A handler may therefore
 * unwatch and free its own or any other object; a freed source is never
 * dispatched from the batch it was removed in.
 */
#include "worker_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tplog.h"

_Static_assert(WORKER_IN == EPOLLIN && WORKER_OUT == EPOLLOUT &&
	       WORKER_ERR == EPOLLERR && WORKER_HUP == EPOLLHUP,
	       "worker event bits are the epoll ones");

#define WORKER_BATCH 64

struct worker_io {
	int epfd;
	int evfd;
	struct epoll_event batch[WORKER_BATCH];
	int nbatch;			/* entries being dispatched, else 0 */
	struct ev_source wake;		/* the eventfd */
};

int worker_io_watch(struct worker_io *io, struct ev_source *src,
		    uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = src };
	int op = src->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (src->registered && src->events == events)
		return 0;
	if (epoll_ctl(io->epfd, op, src->fd, &ev) < 0) {
		int err = errno;

		tplog(LOG_ERR, "worker: epoll_ctl(fd %d): %s", src->fd,
		      strerror(err));
		return -err;
	}
	return 0;
}

void worker_io_unwatch(struct worker_io *io, struct ev_source *src)
{
	if (epoll_ctl(io->epfd, EPOLL_CTL_DEL, src->fd, NULL) < 0)
		tplog(LOG_WARNING, "worker: epoll_ctl(DEL fd %d): %s", src->fd,
		      strerror(errno));
	for (int i = 0; i < io->nbatch; i++)
		if (io->batch[i].data.ptr == src)
			io->batch[i].data.ptr = NULL;
}

void worker_io_wake(struct worker_io *io)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: awake anyway */
	if (write(io->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		tplog(LOG_ERR, "worker: eventfd write: %s", strerror(errno));
}

static void wake_handle(struct ev_source *src, uint32_t events)
{
	struct worker_io *io = container_of(src, struct worker_io, wake);
	uint64_t cnt;

	(void)events;
	/* Reset the counter; worker.c takes the queue after this wait. */
	if (read(io->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		tplog(LOG_ERR, "worker: eventfd read: %s", strerror(errno));
}

static void dispatch(struct worker_io *io, int n)
{
	io->nbatch = n;
	for (int i = 0; i < n; i++) {
		struct ev_source *src = io->batch[i].data.ptr;

		if (src)	/* else unwatched earlier in this batch */
			worker_deliver(src, io->batch[i].events);
	}
	io->nbatch = 0;
}

int worker_io_wait(struct worker_io *io, int timeout_ms)
{
	int n = epoll_wait(io->epfd, io->batch, WORKER_BATCH, timeout_ms);

	if (n < 0) {
		int err = errno;

		if (err == EINTR)
			return 0;
		tplog(LOG_CRIT, "worker: epoll_wait: %s", strerror(err));
		return -err;
	}
	dispatch(io, n);
	return 0;
}

struct worker_io *worker_io_create(void)
{
	struct worker_io *io = calloc(1, sizeof(*io));

	if (!io)
		goto fail;
	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (io->epfd < 0)
		goto fail_free;
	io->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io->evfd < 0)
		goto fail_ep;
	io->wake.fd = io->evfd;
	io->wake.handle = wake_handle;
	if (worker_io_watch(io, &io->wake, EPOLLIN) < 0)
		goto fail_ev;
	io->wake.events = EPOLLIN;	/* as worker_watch would */
	io->wake.registered = 1;
	return io;

fail_ev:
	close(io->evfd);
fail_ep:
	close(io->epfd);
fail_free:
	free(io);
fail:
	tplog(LOG_ERR, "worker: cannot create an epoll set: %s",
	      strerror(errno));
	return NULL;
}

void worker_io_destroy(struct worker_io *io)
{
	if (!io)
		return;
	close(io->evfd);
	close(io->epfd);
	free(io);
}

unsigned worker_io_ncpus(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus > 0 ? (unsigned)cpus : 1;
}

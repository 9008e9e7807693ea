/* worker_win32 -- the Windows readiness backend of worker.c (worker_int.h):
 * WSAPoll over the watched sockets plus a self-connected loopback UDP
 * socket that worker_io_wake sends one byte to.
 *
 * Only sockets can be watched (WSAPoll knows nothing else); ev_source.fd
 * holds the SOCKET (Windows socket handles fit in 32 bits).  Named pipes
 * are served by threads that worker_post (windows/ctlconn_win32.c).
 *
 * Dispatch safety as in the epoll backend: the WSAPoll set of one turn is
 * a copy (io->batch); worker_io_unwatch clears the entries of that copy
 * that point at the source being removed.
 */
#include "worker_int.h"

#include <winsock2.h>
#include <windows.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tplog.h"

struct watched {
	struct ev_source *src;
	SOCKET s;
};

struct worker_io {
	struct watched *set;		/* the watched sources */
	size_t n, cap;

	/* One turn: the poll array and its sources ([0] is the wake-up). */
	WSAPOLLFD *pfd;
	struct ev_source **batch;
	size_t nbatch, batch_cap;

	SOCKET wake;			/* UDP, connected to itself */
	atomic_int wake_pending;
};

static SOCKET fd_socket(int fd)
{
	return (SOCKET)(intptr_t)fd;
}

static short to_poll(uint32_t events)
{
	short ev = 0;

	if (events & WORKER_IN)
		ev |= POLLRDNORM;
	if (events & WORKER_OUT)
		ev |= POLLWRNORM;
	return ev;
}

static uint32_t from_poll(short rev)
{
	uint32_t ev = 0;

	if (rev & (POLLRDNORM | POLLRDBAND))
		ev |= WORKER_IN;
	if (rev & POLLWRNORM)
		ev |= WORKER_OUT;
	if (rev & (POLLERR | POLLNVAL))
		ev |= WORKER_ERR;
	if (rev & POLLHUP)
		ev |= WORKER_HUP;
	return ev;
}

int worker_io_watch(struct worker_io *io, struct ev_source *src,
		    uint32_t events)
{
	(void)events;		/* worker.c keeps src->events, read per turn */
	if (src->registered)
		return 0;
	if (io->n == io->cap) {
		size_t cap = io->cap ? 2 * io->cap : 16;
		struct watched *set = realloc(io->set, cap * sizeof(*set));

		if (!set) {
			tplog(LOG_ERR, "worker: out of memory watching a socket");
			return -ENOMEM;
		}
		io->set = set;
		io->cap = cap;
	}
	io->set[io->n].src = src;
	io->set[io->n].s = fd_socket(src->fd);
	io->n++;
	return 0;
}

void worker_io_unwatch(struct worker_io *io, struct ev_source *src)
{
	for (size_t i = 0; i < io->n; i++)
		if (io->set[i].src == src) {
			io->set[i] = io->set[--io->n];
			break;
		}
	for (size_t i = 0; i < io->nbatch; i++)
		if (io->batch[i] == src)
			io->batch[i] = NULL;
}

void worker_io_wake(struct worker_io *io)
{
	char one = 1;

	/* One byte in flight is enough; the loop clears the flag before
	 * draining, so a later wake sends again. */
	if (atomic_exchange(&io->wake_pending, 1))
		return;
	if (send(io->wake, &one, 1, 0) == SOCKET_ERROR)
		tplog(LOG_ERR, "worker: wake-up send: WSA error %d",
		      WSAGetLastError());
}

static void wake_drain(struct worker_io *io)
{
	char buf[64];

	atomic_store(&io->wake_pending, 0);
	while (recv(io->wake, buf, sizeof(buf), 0) > 0)
		;
}

static int batch_fill(struct worker_io *io)
{
	size_t need = io->n + 1;

	if (need > io->batch_cap) {
		WSAPOLLFD *pfd = realloc(io->pfd, need * sizeof(*pfd));
		struct ev_source **b;

		if (!pfd)
			return -ENOMEM;
		io->pfd = pfd;
		b = realloc(io->batch, need * sizeof(*b));
		if (!b)
			return -ENOMEM;
		io->batch = b;
		io->batch_cap = need;
	}
	io->pfd[0].fd = io->wake;
	io->pfd[0].events = POLLRDNORM;
	io->pfd[0].revents = 0;
	io->batch[0] = NULL;
	for (size_t i = 0; i < io->n; i++) {
		io->pfd[i + 1].fd = io->set[i].s;
		io->pfd[i + 1].events = to_poll(io->set[i].src->events);
		io->pfd[i + 1].revents = 0;
		io->batch[i + 1] = io->set[i].src;
	}
	return (int)need;
}

int worker_io_wait(struct worker_io *io, int timeout_ms)
{
	int n = batch_fill(io);
	int rc;

	if (n < 0) {
		tplog(LOG_CRIT, "worker: out of memory for the poll set");
		return n;
	}
	rc = WSAPoll(io->pfd, (ULONG)n, timeout_ms);
	if (rc == SOCKET_ERROR) {
		tplog(LOG_CRIT, "worker: WSAPoll: WSA error %d",
		      WSAGetLastError());
		return -EIO;
	}
	if (rc == 0)
		return 0;
	if (io->pfd[0].revents)
		wake_drain(io);
	io->nbatch = (size_t)n;
	for (size_t i = 1; i < io->nbatch; i++) {
		struct ev_source *src = io->batch[i];

		if (src && io->pfd[i].revents != 0)
			worker_deliver(src, from_poll(io->pfd[i].revents));
	}
	io->nbatch = 0;
	return 0;
}

static SOCKET wake_socket(void)
{
	struct sockaddr_in sa;
	int len = sizeof(sa);
	u_long nb = 1;
	SOCKET s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);

	if (s == INVALID_SOCKET)
		return s;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == SOCKET_ERROR ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == SOCKET_ERROR ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) == SOCKET_ERROR ||
	    ioctlsocket(s, FIONBIO, &nb) == SOCKET_ERROR) {
		closesocket(s);
		return INVALID_SOCKET;
	}
	return s;
}

struct worker_io *worker_io_create(void)
{
	WSADATA wsa;
	struct worker_io *io;
	int rc = WSAStartup(MAKEWORD(2, 2), &wsa);

	if (rc != 0) {
		tplog(LOG_ERR, "worker: WSAStartup: error %d", rc);
		return NULL;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		goto fail;
	io->wake = wake_socket();
	if (io->wake == INVALID_SOCKET) {
		tplog(LOG_ERR, "worker: loopback wake-up socket: WSA error %d",
		      WSAGetLastError());
		goto fail_free;
	}
	atomic_init(&io->wake_pending, 0);
	return io;

fail_free:
	free(io);
fail:
	WSACleanup();
	return NULL;
}

void worker_io_destroy(struct worker_io *io)
{
	if (!io)
		return;
	closesocket(io->wake);
	free(io->set);
	free(io->pfd);
	free(io->batch);
	free(io);
	WSACleanup();
}

unsigned worker_io_ncpus(void)
{
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	return si.dwNumberOfProcessors > 0 ? si.dwNumberOfProcessors : 1;
}

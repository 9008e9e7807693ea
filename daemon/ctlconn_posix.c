/* ctlconn_posix -- the transport of control connections on POSIX: a
 * UNIX stream socket carrying fixed-size commands, a descriptor riding
 * along as SCM_RIGHTS (ctlconn_int.h), the peer from SO_PEERCRED. */
#include "ctlconn_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "fdpass.h"
#include "tplog.h"
#include "worker.h"

/* Messages handled per readiness event before yielding to others. */
#define BATCH 16

struct ctlconn_tp {
	struct ctlconn *c;
	struct ev_source src;
	unsigned char in[sizeof(struct tlspool_command)];
	size_t inlen;
	int infd;
};

static void update_watch(struct ctlconn *c)
{
	struct ctlconn_tp *t = c->tp;
	uint32_t ev = WORKER_IN | (c->out_head != NULL ? WORKER_OUT : 0);

	if (!c->closed && ev != t->src.events)
		worker_watch(c->w, &t->src, ev);
}

void ctlconn_tp_flush(struct ctlconn *c)
{
	struct ctlconn_tp *t = c->tp;

	while (c->out_head != NULL && !c->closed && !c->write_error) {
		struct outmsg *m = c->out_head;
		const char *p = (const char *)&m->cmd + c->out_off;
		ssize_t n = send(t->src.fd, p, sizeof(m->cmd) - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			ctlconn_write_failed(c, errno);
			return;
		}
		c->out_off += (size_t)n;
		if (c->out_off == sizeof(m->cmd))
			ctlconn_out_pop(c);
	}
	update_watch(c);
}

void ctlconn_tp_close(struct ctlconn *c)
{
	struct ctlconn_tp *t = c->tp;

	worker_unwatch(c->w, &t->src);
	close(t->src.fd);
	if (t->infd >= 0)
		close(t->infd);
	t->infd = -1;
}

void ctlconn_tp_free(struct ctlconn_tp *tp)
{
	free(tp);
}

static void on_readable(struct ctlconn *c)
{
	struct ctlconn_tp *t = c->tp;

	for (int i = 0; i < BATCH && !c->closed; i++) {
		ssize_t n = fdpass_recv_some(t->src.fd, t->in + t->inlen,
					     sizeof(t->in) - t->inlen, &t->infd);

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n <= 0) {
			ctlconn_close(c, n == 0 ? "end of file" : strerror((int)-n));
			return;
		}
		t->inlen += (size_t)n;
		if (t->inlen < sizeof(t->in))
			continue;
		t->inlen = 0;
		ctlconn_message(c, (struct tlspool_command *)t->in, &t->infd);
	}
}

static void on_event(struct ev_source *src, uint32_t events)
{
	struct ctlconn *c = container_of(src, struct ctlconn_tp, src)->c;

	ctlconn_ref(c);
	if (events & WORKER_OUT)
		ctlconn_tp_flush(c);
	if (events & (WORKER_IN | WORKER_HUP | WORKER_ERR))
		on_readable(c);
	ctlconn_unref(c);
}

void ctlconn_accept(struct worker *w, int fd)
{
	struct ctlconn_tp *t = calloc(1, sizeof(*t));
	struct ctlconn *c = t != NULL ? ctlconn_new(w) : NULL;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (c == NULL) {
		if (t == NULL)
			tplog(LOG_ERR, "out of memory for a control connection");
		free(t);
		close(fd);
		return;
	}
	c->tp = t;
	t->c = c;
	t->infd = -1;
	t->src.fd = fd;
	t->src.handle = on_event;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
		c->uid = cred.uid;
		c->privileged = cred.uid == 0 || cred.uid == geteuid();
		snprintf(c->peer, sizeof(c->peer), "uid=%u pid=%d",
			 (unsigned)cred.uid, (int)cred.pid);
	}
	tplog(LOG_INFO, "%s: control connection opened", c->peer);
	if (worker_watch(w, &t->src, WORKER_IN) < 0) {
		tplog(LOG_ERR, "%s: cannot watch control connection", c->peer);
		close(fd);
		ctlconn_unref(c);
	}
}

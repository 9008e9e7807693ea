/* dnssec_watch -- how a worker learns that its libunbound context has
 * answers (dnssec.c).  One implementation per platform:
 * daemon/dnssec_posix.c watches ub_fd() in the worker's event loop;
 * windows/dnssec_win32.c polls, because libunbound on Windows signals
 * answers through an event object that ub_fd() does not expose.
 *
 * ready(arg) runs on the worker's thread and calls ub_process; it returns
 * 1 when answers are still outstanding, 0 when none are or when it has
 * stopped (and freed) the watch itself. */
#ifndef TP_DNSSEC_WATCH_H
#define TP_DNSSEC_WATCH_H

struct ub_ctx;
struct worker;
struct dnssec_watch;

/* 0 and *out set, or -errno. */
int dnssec_watch_start(struct worker *w, struct ub_ctx *ub,
		       int (*ready)(void *arg), void *arg,
		       struct dnssec_watch **out);
/* A query was handed to libunbound: expect an answer. */
void dnssec_watch_asked(struct dnssec_watch *wt);
/* Stop and free; worker_gone: the worker loop no longer exists (only
 * free).  NULL is a no-op. */
void dnssec_watch_stop(struct dnssec_watch *wt, int worker_gone);

#endif

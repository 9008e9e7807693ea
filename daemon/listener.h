/* listener -- the pool's UNIX socket and the acceptor. */
#ifndef TP_LISTENER_H
#define TP_LISTENER_H

#include <stddef.h>

struct dconfig;

/* Create, bind and listen on cfg->socket_name with the configured mode
 * and owner (a stale socket file is replaced; a live daemon on it is an
 * error).  A socket passed by the service manager (sockact.h) is used
 * instead; listener_close then leaves its file alone.  Returns the fd or
 * -errno with a message in err. */
int listener_open(const struct dconfig *cfg, char *err, size_t errlen);

/* Accept connections and hand each to a worker until stop_fd is readable
 * (a signalfd or eventfd); returns 0 or -errno. */
int listener_run(int lfd, int stop_fd, int (*on_stop)(void));

void listener_close(int lfd, const struct dconfig *cfg);

#endif

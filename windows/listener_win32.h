/* listener_win32 -- the pool's named pipe and its acceptor thread (the
 * Windows counterpart of daemon/listener.c). */
#ifndef TP_LISTENER_WIN32_H
#define TP_LISTENER_WIN32_H

#include <stddef.h>

#define LISTENER_WIN32_DEFAULT_PIPE "\\\\.\\pipe\\tlspool"

/* Create the first instance of pipe name (another process serving it is
 * an error) and start accepting, each client handed to worker_next().
 * 0 or -errno with a message in err. */
int listener_win32_start(const char *name, char *err, size_t errlen);
/* Stop accepting and close the waiting instance. */
void listener_win32_stop(void);

#endif

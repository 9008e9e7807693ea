/* sockact -- take the pool socket from the service manager (socket
 * activation, the sd_listen_fds protocol without libsystemd). */
#ifndef TP_SOCKACT_H
#define TP_SOCKACT_H

#include <stddef.h>

/* The first passed descriptor (SD_LISTEN_FDS_START). */
#define SOCKACT_FD_START 3

/* When LISTEN_PID is this process and LISTEN_FDS >= 1, find among the
 * passed descriptors (3 .. 3 + LISTEN_FDS - 1) the listening AF_UNIX
 * stream socket bound to socket_name (the same file, so /var/run and
 * /run agree), make it non-blocking and close-on-exec, set *fd and
 * return 1; the LISTEN_* variables are removed so that children do not
 * see them.  Returns 0 when nothing was passed to this process, and
 * -errno with the reason in err when something was passed but no
 * descriptor is usable (the daemon then refuses to start rather than
 * create a second socket). */
int sockact_take(const char *socket_name, int *fd, char *err, size_t errlen);

#endif

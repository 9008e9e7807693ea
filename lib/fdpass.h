/* fdpass -- messages with an optional file descriptor over UNIX sockets. */
#ifndef TP_FDPASS_H
#define TP_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/* Send len bytes with fd (or -1) as SCM_RIGHTS on the first byte.  Loops
 * over short writes and EINTR; on a non-blocking socket that is full
 * before the first byte returns -EAGAIN.  Returns 0 or -errno. */
int fdpass_send(int sock, const void *buf, size_t len, int fd);

/* One recvmsg of up to len bytes.  A received descriptor is stored in
 * *fd when *fd is -1, otherwise closed (only one fd per message counts);
 * descriptors are received close-on-exec.  Returns the byte count, 0 at
 * end of file, or -errno. */
ssize_t fdpass_recv_some(int sock, void *buf, size_t len, int *fd);

/* Read exactly len bytes (looping over short reads and EINTR), collecting
 * at most one fd.  Returns len, 0 on EOF before the first byte, -EPIPE on
 * EOF inside a message, or -errno. */
ssize_t fdpass_recv(int sock, void *buf, size_t len, int *fd);

#endif

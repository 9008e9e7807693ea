/* poolconn -- the platform interface of libtlspool's connection to the
 * pool, and of the sockets that travel over it.
 *
 * One message is one struct tlspool_command (TLSPOOL_MSGLEN bytes), with
 * at most one socket attached.  POSIX (lib/poolconn_posix.c): an AF_UNIX
 * stream socket, the socket as SCM_RIGHTS (lib/fdpass.c).  Windows
 * (windows/poolconn_win32.c): a named pipe in message mode, the socket as
 * a WSAPROTOCOL_INFOW for the pipe server's process in pio_ancil_data, or
 * as our own handle value when we may not open that process.
 *
 * All functions return 0 (or the documented count) or -errno; none of
 * them sets errno except where said.
 */
#ifndef TP_POOLCONN_H
#define TP_POOLCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <tlspool/commands.h>
#include <tlspool/starttls.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <fcntl.h>
#ifndef O_CLOEXEC
#define O_CLOEXEC _O_NOINHERIT	/* for open() of the pid file */
#endif
#ifndef ETOOMANYREFS
#define ETOOMANYREFS WSAETOOMANYREFS	/* never returned on Windows */
#endif
typedef SOCKET poolconn_sock_t;
#define POOLCONN_NOSOCK INVALID_SOCKET
/* The public API carries a SOCKET in an int (see tlspool/starttls.h). */
#define POOLCONN_SOCK(fd) ((SOCKET)(intptr_t)(fd))
#define POOLCONN_INT(s) ((int)(intptr_t)(s))
/* A pipe name: \\.\pipe\ plus at most 256 characters. */
#define POOLCONN_PATHLEN 300
#else
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
typedef int poolconn_sock_t;
#define POOLCONN_NOSOCK (-1)
#define POOLCONN_SOCK(fd) (fd)
#define POOLCONN_INT(s) (s)
#define POOLCONN_PATHLEN sizeof(((struct sockaddr_un *)0)->sun_path)
#endif

/* One connection to the pool; opaque, owned by whoever connected it. */
struct poolconn;

/* ---- the connection ---- */

/* Connect to the pool at path (a socket path, or a pipe name on
 * Windows), one attempt (Windows waits a little while the pipe is busy),
 * not inherited by child processes.  -ENOENT / -ECONNREFUSED when nobody
 * serves path.  Stores the new connection in *pc.  0 or -errno. */
int poolconn_connect(const char *path, struct poolconn **pc);

/* The handle to show the application (tlspool_open_poolhandle,
 * tlspool_async_pool.handle). */
pool_handle_t poolconn_handle(const struct poolconn *pc);

/* Send one message with sock (or POOLCONN_NOSOCK) attached; the caller
 * keeps sock.  Safe against one concurrent poolconn_recv, not against
 * another sender.  -EBADF (or -ETOOMANYREFS) when sock could not be
 * attached and nothing was sent.  0 or -errno. */
int poolconn_send(struct poolconn *pc, const struct tlspool_command *cmd,
		  poolconn_sock_t sock);

/* Wait for one whole message; an attached socket is stored in *sock
 * (else POOLCONN_NOSOCK).  1 for a message, 0 at end of file before it,
 * -EPIPE for a truncated message, or -errno. */
int poolconn_recv(struct poolconn *pc, struct tlspool_command *cmd,
		  poolconn_sock_t *sock);

/* Make poolconn_recv_nb usable (POSIX: O_NONBLOCK).  0 or -errno. */
int poolconn_set_nonblock(struct poolconn *pc);

/* Non-blocking receive: like poolconn_recv, but -EAGAIN when no whole
 * message is there yet (the part already read is kept in pc). */
int poolconn_recv_nb(struct poolconn *pc, struct tlspool_command *cmd,
		     poolconn_sock_t *sock);

/* Make blocked and later sends and receives fail at once, from any
 * thread; pc stays valid until poolconn_close. */
void poolconn_shutdown(struct poolconn *pc);

/* Has the daemon closed this idle connection?  Never blocks. */
bool poolconn_stale(struct poolconn *pc);

/* Close the connection and free pc (NULL is ignored). */
void poolconn_close(struct poolconn *pc);

/* ---- sockets (the cryptfd and plaintext side of STARTTLS) ---- */

/* 0 when s is an open socket (POSIX: any open descriptor), else
 * -EBADF. */
int poolconn_sock_check(poolconn_sock_t s);

void poolconn_sock_close(poolconn_sock_t s);

/* A connected pair of sockets of type (SOCK_STREAM, SOCK_DGRAM,
 * SOCK_SEQPACKET), not inherited by child processes.  Windows only has
 * SOCK_STREAM (-EPROTONOSUPPORT otherwise).  0 or -errno. */
int poolconn_socketpair(int type, poolconn_sock_t sv[2]);

/* ---- the process ---- */

/* pthread_atfork where processes fork (0 on Windows).  0 or -errno. */
int poolconn_atfork(void (*prepare)(void), void (*parent)(void),
		    void (*child)(void));

/* Is process pid alive (POSIX: kill(pid, 0) does not say ESRCH)?
 * 0, or -ESRCH (errno set too). */
int poolconn_pid_alive(long pid);

#endif

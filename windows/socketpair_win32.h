/* socketpair_win32 -- socketpair() for Windows: two connected TCP
 * sockets on 127.0.0.1 (SOCK_STREAM only).
 *
 * A listener on 127.0.0.1, port 0, gets exactly one connection from our
 * own socket; an accepted connection whose peer address and port are not
 * those of our connecting socket is closed and not used (anyone on the
 * host may connect to the listener while it exists).  Both sockets are
 * overlapped-capable and not inherited by child processes.
 */
#ifndef TP_SOCKETPAIR_WIN32_H
#define TP_SOCKETPAIR_WIN32_H

#include <winsock2.h>
#include <ws2tcpip.h>

/* sv[0] the accepted, sv[1] the connecting end.  WSAStartup must have
 * been called.  0 or -errno. */
int socketpair_win32(SOCKET sv[2]);

/* The same, calling hook(listener address, arg) after listen() and
 * before our own connect (tests use it to provoke a foreign
 * connection). */
int socketpair_win32_hooked(SOCKET sv[2],
			    void (*hook)(const struct sockaddr_in *, void *),
			    void *arg);

#endif

/* tunnel_plat -- what tlstunnel needs from the platform: TCP sockets as
 * int descriptors (a SOCKET cast to int on Windows, as libtlspool takes
 * them) and the --stdio copy loop.
 *
 * POSIX: tools/tunnel_posix.c.  Windows: windows/tunnel_win32.c.
 * Functions that fail return -1 with errno set.
 */
#ifndef TP_TUNNEL_PLAT_H
#define TP_TUNNEL_PLAT_H

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#ifndef EAI_SYSTEM
#define EAI_SYSTEM (-11)	/* never returned by Winsock's getaddrinfo */
#endif
#else
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

/* Before anything else: ignore SIGPIPE / start Winsock.  0 or -1. */
int tunnel_plat_init(void);

/* A socket not inherited by child processes. */
int tunnel_plat_socket(int family, int type, int protocol);

/* SO_REUSEADDR (not on Windows, where it means something else), bind
 * and listen.  0 or -1. */
int tunnel_plat_listen(int fd, const struct sockaddr *addr, socklen_t len);

/* 0 or -1. */
int tunnel_plat_connect(int fd, const struct sockaddr *addr,
			socklen_t len);

/* A connection from lfd, not inherited by child processes. */
int tunnel_plat_accept(int lfd);

/* A second descriptor of the same connection (closed independently). */
int tunnel_plat_dup(int fd);

void tunnel_plat_close(int fd);

/* Copy stdin to sock and sock to stdout until both directions ended;
 * stdin's end shuts down sock's sending side. */
void tunnel_plat_copy(int sock);

#endif

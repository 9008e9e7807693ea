/* netdb.h for the Windows daemon build: Winsock (windows/daemon_compat.h). */
#ifndef TP_POSIX_NETDB_H
#define TP_POSIX_NETDB_H
#include <winsock2.h>
#include <ws2tcpip.h>
#endif

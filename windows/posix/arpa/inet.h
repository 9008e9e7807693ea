/* arpa/inet.h for the Windows daemon build: Winsock (windows/daemon_compat.h). */
#ifndef TP_POSIX_ARPA_INET_H
#define TP_POSIX_ARPA_INET_H
#include <winsock2.h>
#include <ws2tcpip.h>
#endif

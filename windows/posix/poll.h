/* poll.h for the Windows daemon build: Winsock (windows/daemon_compat.h). */
#ifndef TP_POSIX_POLL_H
#define TP_POSIX_POLL_H
#include <winsock2.h>
#include <ws2tcpip.h>
#endif

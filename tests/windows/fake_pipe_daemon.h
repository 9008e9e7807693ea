/* fake_pipe_daemon -- a named-pipe stand-in for the Windows daemon (tests
 * of the client library only; the process runs until exit). */
#ifndef TP_FAKE_PIPE_DAEMON_H
#define TP_FAKE_PIPE_DAEMON_H

#include <winsock2.h>
#include <windows.h>
#include <stdlib.h>

#include <tlspool/commands.h>

#define FAKE_IDENTITY "20151111fake@tests.windows"
/* A PING with this producer makes the daemon close the connection. */
#define FAKE_HANG_UP "hang up, please"

struct fake_daemon {
	char path[128];			/* \\.\pipe\NAME for the library */
	WCHAR name[128];
	HANDLE first;			/* the first pipe instance */
	volatile LONG sockets_received;
	volatile LONG handles_received;	/* of them as handle values */
};

struct fake_conn_arg {
	struct fake_daemon *f;
	HANDLE pipe;
};

/* Serve \\.\pipe\name from a thread.  0 or -1. */
int fake_daemon_start(struct fake_daemon *f, const char *name);

#endif

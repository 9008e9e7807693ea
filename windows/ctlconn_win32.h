/* ctlconn_win32 -- control connections over a named pipe instance. */
#ifndef TP_CTLCONN_WIN32_H
#define TP_CTLCONN_WIN32_H

#include <winsock2.h>
#include <windows.h>

struct worker;

/* Take over a connected pipe instance (opened FILE_FLAG_OVERLAPPED,
 * message mode) for worker w; any thread.  The handle is closed on
 * failure. */
void ctlconn_win32_accept(struct worker *w, HANDLE pipe);

#endif

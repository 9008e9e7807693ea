/* win32err -- errno values for Win32 and Winsock error codes. */
#ifndef TP_WIN32ERR_H
#define TP_WIN32ERR_H

#include <winsock2.h>
#include <windows.h>

/* The errno value closest to err, a GetLastError() or WSAGetLastError()
 * code; EIO when there is none. */
int win32err_errno(DWORD err);

#endif

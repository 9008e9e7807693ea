/* sockio_win32 -- Windows-only helpers next to sockio.h. */
#ifndef TP_SOCKIO_WIN32_H
#define TP_SOCKIO_WIN32_H

/* The errno value for a Winsock error (EIO when there is none). */
int sockio_win32_errno(int wsa);

#endif

/* sys/uio.h for the Windows build: struct iovec with the layout of
 * GnuTLS's giovec_t on Windows (windows/sockio_win32.c sends them). */
#ifndef TP_POSIX_SYS_UIO_H
#define TP_POSIX_SYS_UIO_H
#include <stddef.h>
struct iovec {
	void *iov_base;
	size_t iov_len;
};
#endif

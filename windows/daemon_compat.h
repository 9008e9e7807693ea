/* daemon_compat -- included first in every file of the Windows daemon
 * build (-include, windows/Makefile.am): the few POSIX names the portable
 * modules use that mingw-w64 lacks.  Header names that do not exist on
 * Windows (sys/socket.h, poll.h, syslog.h, ...) are the small files in
 * windows/posix/, which include Winsock.  Nothing here changes behaviour:
 * socket I/O that must work differently is behind sockio.h. */
#ifndef TP_DAEMON_COMPAT_H
#define TP_DAEMON_COMPAT_H

/* C99 printf formats (%zu, %llu) in mingw's stdio. */
#ifndef __USE_MINGW_ANSI_STDIO
#define __USE_MINGW_ANSI_STDIO 1
#endif

/* gmtime_r and localtime_r in mingw's time.h. */
#ifndef _POSIX_THREAD_SAFE_FUNCTIONS
#define _POSIX_THREAD_SAFE_FUNCTIONS 200112L
#endif

#include <winsock2.h>
#include <ws2tcpip.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* A Windows peer has no uid: the daemon keeps the field and gives it
 * (uid_t)-1 ("unknown") unless a rule maps the client's SID. */
typedef unsigned int uid_t;
typedef unsigned int gid_t;

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0		/* Windows has no SIGPIPE */
#endif

/* Files: permissions are ACLs (the directory's, inherited), not modes;
 * _commit is fsync; a directory cannot be opened (its fsync is skipped
 * by the caller when open fails). */
#include <fcntl.h>
#include <io.h>
static inline int tp_fchmod(int fd, unsigned mode)
{
	(void)fd;
	(void)mode;
	return 0;
}
#define fchmod tp_fchmod
#define fsync _commit
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC _O_NOINHERIT
#endif

/* explicit_bzero: a wipe the compiler keeps. */
#define explicit_bzero(p, n) SecureZeroMemory((p), (n))

/* strndup is not in msvcrt. */
static inline char *tp_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = malloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}
#define strndup tp_strndup

#endif

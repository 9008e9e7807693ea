/* syslog.h for the Windows build: the priority names tplog takes.  There
 * is no syslog: what would go there goes to stderr (the daemon's service
 * mode points stderr at its log file, windows/service_win32.c). */
#ifndef TP_POSIX_SYSLOG_H
#define TP_POSIX_SYSLOG_H

#include <stdarg.h>
#include <stdio.h>

#define LOG_EMERG	0
#define LOG_ALERT	1
#define LOG_CRIT	2
#define LOG_ERR		3
#define LOG_WARNING	4
#define LOG_NOTICE	5
#define LOG_INFO	6
#define LOG_DEBUG	7

#define LOG_PID		0x01
#define LOG_NDELAY	0x08
#define LOG_DAEMON	(3 << 3)

static inline void openlog(const char *ident, int option, int facility)
{
	(void)ident;
	(void)option;
	(void)facility;
}

static inline void vsyslog(int priority, const char *fmt, va_list ap)
{
	(void)priority;
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#endif

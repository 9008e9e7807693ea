/* syslog.h for the Windows build: the priority names tplog takes. */
#ifndef TP_POSIX_SYSLOG_H
#define TP_POSIX_SYSLOG_H
#define LOG_EMERG	0
#define LOG_ALERT	1
#define LOG_CRIT	2
#define LOG_ERR		3
#define LOG_WARNING	4
#define LOG_NOTICE	5
#define LOG_INFO	6
#define LOG_DEBUG	7
#endif

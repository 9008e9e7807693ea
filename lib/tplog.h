/* tplog -- logging for the daemon and tools (never used by libtlspool's
 * public calls, which report through errno only). */
#ifndef TP_TPLOG_H
#define TP_TPLOG_H

#include <syslog.h>

/* to_stderr: 1 = stderr, 0 = syslog.  level: LOG_ERR .. LOG_DEBUG. */
void tplog_init(const char *ident, int to_stderr, int level);
void tplog_set_level(int level);
int tplog_level(void);
/* Parse "error", "warning", "notice", "info", "debug" or a digit. */
int tplog_parse_level(const char *s);
void tplog(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

/* tplog -- logging for the daemon and tools. */
#include "tplog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int log_stderr = 1;
static int log_level = LOG_NOTICE;
static const char *log_ident = "tlspool";

void tplog_init(const char *ident, int to_stderr, int level)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_level = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void tplog_set_level(int level)
{
	log_level = level;
}

int tplog_level(void)
{
	return log_level;
}

int tplog_parse_level(const char *s)
{
	static const char *names[] = { "emerg", "alert", "crit", "error",
				       "warning", "notice", "info", "debug" };

	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 8; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void tplog(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (log_stderr) {
		static const char tag[] = "!ACEWNID";
		char line[1024];
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%c] %s\n", tm.tm_hour,
			tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
			tag[level & 7], line);
	} else {
		vsyslog(level, fmt, ap);
	}
	va_end(ap);
}

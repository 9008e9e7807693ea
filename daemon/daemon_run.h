/* daemon_run -- the daemon's platform-neutral life: the configuration,
 * the policy databases, the credentials, the workers, reload and the
 * ordered stop.  daemon/main.c (signals, fork, socket activation, pid
 * file) and windows/main_win32.c (console, service, the named pipe) each
 * keep only their platform's parts around these calls. */
#ifndef TP_DAEMON_RUN_H
#define TP_DAEMON_RUN_H

#include "dconfig.h"

struct daemon_run_ops {
	int level_override;	/* -l LEVEL, or -1: log_level as configured */
	/* Start the key process for c; check: for -t, one connection (the
	 * main thread's), its log on stderr.  0 or -errno. */
	int (*start_keyproc)(const struct dconfig *c, int check);
	/* After the credentials are loaded and before they are in force
	 * (POSIX: drop privileges); NULL: nothing.  0 or -errno. */
	int (*confine)(const struct dconfig *c);
};

/* The options both daemons take: -c CONFIG, -f, -t, -l LEVEL, -h. */
struct daemon_run_args {
	const char *path;	/* -c, else NULL: embedded defaults */
	int foreground;		/* -f */
	int check;		/* -t */
	int level;		/* -l, else -1 */
};

/* Parse argv (getopt) into a: 0, 1 for -h, -1 on a usage error (an
 * unknown option or level, an argument left over). */
int daemon_run_args(int argc, char **argv, struct daemon_run_args *a);

/* The configuration in force (the start-up one until a reload). */
struct dconfig *daemon_run_config(void);

/* Load the start-up configuration from path (NULL: embedded defaults)
 * and set the log level from it; 0 or -errno (logged).
 * daemon_run_free frees it. */
int daemon_run_load(const struct daemon_run_ops *ops, const char *path);
void daemon_run_free(void);

/* Key process, policy databases, credentials, confine, credential
 * watcher, workers; 0, or -errno with all of that undone (logged). */
int daemon_run_start(void);

/* Serving on `where`: say so. */
void daemon_run_started(const char *where);

/* Configuration, files and databases read anew; the previous ones stay
 * in force when anything fails. */
void daemon_run_reload(void);

/* The listener is closed: let sessions drain, end what remains, stop the
 * workers and undo daemon_run_start. */
void daemon_run_stop(void);

/* -t: load everything as the daemon would, then say so; exit status. */
int daemon_run_check(const struct daemon_run_ops *ops, const char *path);

#endif

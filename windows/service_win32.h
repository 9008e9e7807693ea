/* service_win32 -- tlspool-daemon.exe as a Windows service. */
#ifndef TP_SERVICE_WIN32_H
#define TP_SERVICE_WIN32_H

#define SERVICE_WIN32_NAME L"tlspool"

/* main_win32.c: run the daemon until daemon_win32_stop (started() once
 * it serves); the exit status.  daemon_win32_reload: read the
 * configuration again.  Any thread. */
int daemon_win32_run(void (*started)(void));
void daemon_win32_stop(void);
void daemon_win32_reload(void);

/* Connect to the SCM and run the service (--service), logging to
 * tlspool-daemon.log beside config (beside the exe without); exit status. */
int service_win32_dispatch(const char *config);
/* Register the service, started as "EXE --service [-c CONFIG]" with
 * CONFIG made absolute (an existing one is updated to that command
 * line); exit status, messages on stderr. */
int service_win32_install(const char *config);
/* Start it and wait (30 s at most) until it runs; exit status. */
int service_win32_start(void);
/* Stop it and wait (15 s at most) until it has; exit status. */
int service_win32_stop(void);
/* Stop and delete it; exit status. */
int service_win32_uninstall(void);

#endif

/* paths -- where the pool's socket and state live by default.
 *
 * A daemon started without a config file by a non-root user keeps its
 * socket in $XDG_RUNTIME_DIR/tlspool/ (else /tmp/tlspool-UID/) and its
 * state in $XDG_STATE_HOME/tlspool/ (else ~/.local/state/tlspool/); root
 * uses /var/run/tlspool.sock and /var/lib/tlspool.
 *
 * POSIX: lib/paths.c.  Windows: windows/paths_win32.c (the pipe
 * \\.\pipe\tlspool, state and pid file under %ProgramData%\tlspool).
 */
#ifndef TP_PATHS_H
#define TP_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* Each fills buf and returns 0, or -ENAMETOOLONG / -ENOENT. */
int paths_runtime_dir(char *buf, size_t size);
int paths_default_socket(char *buf, size_t size);
int paths_default_pidfile(char *buf, size_t size);
int paths_state_dir(char *buf, size_t size);
/* The config file a client reads by default (TLSPOOL_DEFAULT_CONFIG_PATH
 * on POSIX, %ProgramData%\tlspool\tlspool.conf on Windows). */
int paths_default_config(char *buf, size_t size);

/* Is path a socket the pool may listen on?  (Windows: a pipe name.) */
bool paths_is_socket(const char *path);

/* Is path absolute (POSIX: starts with '/'; Windows: "C:\..." or a
 * "\\server\share" name)?  Key file references must be. */
bool paths_is_absolute(const char *path);

/* mkdir -p with mode for every created component; 0 or -errno. */
int paths_mkdir_p(const char *path, unsigned mode);

#endif

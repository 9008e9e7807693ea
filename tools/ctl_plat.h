/* ctl_plat -- what tlspool-ctl needs from the platform: uids, absolute
 * paths and the config file read without -c.
 *
 * POSIX: tools/ctl_posix.c.  Windows: windows/ctl_win32.c, where a
 * client has no uid (the daemon gives Windows peers (uid_t)-1) and user
 * names do not map to uids.
 */
#ifndef TP_CTL_PLAT_H
#define TP_CTL_PLAT_H

#include <stddef.h>
#include <stdint.h>

/* The uid the daemon would see for this process (explain's default). */
uint32_t ctl_plat_uid(void);

/* The uid of user name; 0, -ENOENT (no such user) or -ENOTSUP (the
 * platform has no user names for uids). */
int ctl_plat_user_uid(const char *name, uint32_t *uid);

/* The absolute, canonical name of the existing file path (a key file
 * the daemon opens later, from another directory).  0 or -errno. */
int ctl_plat_abspath(const char *path, char *out, size_t size);

/* The config file to read when -c is not given: NULL (the embedded
 * defaults) on POSIX; %ProgramData%\tlspool\tlspool.conf on Windows when
 * it exists (the installed service's).  Static storage. */
const char *ctl_plat_default_config(void);

#endif

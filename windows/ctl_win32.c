/* ctl_win32 -- tlspool-ctl's platform part on Windows (ctl_plat.h).
 *
 * A Windows client of the pool has no uid: the daemon gives it
 * (uid_t)-1, so explain assumes that, and a policy's --uids take
 * numbers only.  Without -c it reads the installed service's config. */
#include "ctl_plat.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "paths.h"

uint32_t ctl_plat_uid(void)
{
	return (uint32_t)-1;
}

int ctl_plat_user_uid(const char *name, uint32_t *uid)
{
	(void)name;
	(void)uid;
	return -ENOTSUP;
}

int ctl_plat_abspath(const char *path, char *out, size_t size)
{
	struct _stat st;

	if (_stat(path, &st) != 0)
		return -errno;
	if (_fullpath(out, path, size) == NULL)
		return -ENAMETOOLONG;
	return 0;
}

const char *ctl_plat_default_config(void)
{
	static char path[1024];
	struct _stat st;

	if (paths_default_config(path, sizeof(path)) < 0 ||
	    _stat(path, &st) != 0)
		return NULL;
	return path;
}

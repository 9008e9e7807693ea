/* ctl_posix -- tlspool-ctl's platform part on POSIX (ctl_plat.h). */
#include "ctl_plat.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint32_t ctl_plat_uid(void)
{
	return (uint32_t)getuid();
}

int ctl_plat_user_uid(const char *name, uint32_t *uid)
{
	struct passwd *pw = getpwnam(name);

	if (pw == NULL)
		return -ENOENT;
	*uid = (uint32_t)pw->pw_uid;
	return 0;
}

int ctl_plat_abspath(const char *path, char *out, size_t size)
{
	char buf[PATH_MAX];

	if (realpath(path, buf) == NULL)
		return -errno;
	if (strlen(buf) >= size)
		return -ENAMETOOLONG;
	strcpy(out, buf);
	return 0;
}

const char *ctl_plat_default_config(void)
{
	return NULL;
}

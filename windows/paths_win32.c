/* paths_win32 -- where the pool's pipe and state live on Windows.
 *
 * The pipe is \\.\pipe\tlspool for everyone; the pid file, the state and
 * the config file live in %ProgramData%\tlspool (C:\ProgramData\tlspool
 * when the variable is unset).
 */
#include "paths.h"

#include <direct.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tlspool/starttls.h>

#define PATHS_PIPE_PREFIX "\\\\.\\pipe\\"

static int fmt(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);

	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

int paths_runtime_dir(char *buf, size_t size)
{
	const char *pd = getenv("ProgramData");

	if (pd == NULL || pd[0] == '\0')
		pd = "C:\\ProgramData";
	return fmt(buf, size, pd, "\\tlspool");
}

int paths_default_socket(char *buf, size_t size)
{
	return fmt(buf, size, TLSPOOL_DEFAULT_SOCKET_PATH, "");
}

static int paths_in_runtime(char *buf, size_t size, const char *name)
{
	size_t len;
	int rc = paths_runtime_dir(buf, size);

	if (rc < 0)
		return rc;
	len = strlen(buf);
	return fmt(buf + len, size - len, name, "");
}

int paths_default_pidfile(char *buf, size_t size)
{
	return paths_in_runtime(buf, size, "\\tlspool.pid");
}

int paths_state_dir(char *buf, size_t size)
{
	return paths_runtime_dir(buf, size);
}

int paths_default_config(char *buf, size_t size)
{
	return paths_in_runtime(buf, size, "\\tlspool.conf");
}

bool paths_is_socket(const char *path)
{
	return _strnicmp(path, PATHS_PIPE_PREFIX,
			 strlen(PATHS_PIPE_PREFIX)) == 0;
}

/* Where the components start: after "C:\" or "\\server\share\". */
static size_t paths_root_len(const char *p)
{
	size_t i = 0;

	if (p[0] != '\0' && p[1] == ':')
		return (p[2] == '\\' || p[2] == '/') ? 3 : 2;
	if ((p[0] == '\\' || p[0] == '/') && (p[1] == '\\' || p[1] == '/')) {
		int seps = 0;

		for (i = 2; p[i] != '\0' && seps < 2; i++)
			if (p[i] == '\\' || p[i] == '/')
				seps++;
		return i;
	}
	return (p[0] == '\\' || p[0] == '/') ? 1 : 0;
}

bool paths_is_absolute(const char *path)
{
	return paths_root_len(path) > 2;	/* a drive or server root, not C:x */
}

int paths_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t len = strlen(path);

	(void)mode;	/* the directory inherits the parent's ACL */
	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (size_t i = paths_root_len(path); i <= len; i++) {
		struct _stat st;

		if (tmp[i] != '\\' && tmp[i] != '/' && tmp[i] != '\0')
			continue;
		if (i == 0 || tmp[i - 1] == '\\' || tmp[i - 1] == '/')
			continue;
		tmp[i] = '\0';
		if (_mkdir(tmp) < 0) {
			if (errno != EEXIST)
				return -errno;
			if (_stat(tmp, &st) < 0 || !(st.st_mode & _S_IFDIR))
				return path[i] == '\0' ? -EEXIST : -ENOTDIR;
		}
		tmp[i] = path[i];
	}
	return 0;
}

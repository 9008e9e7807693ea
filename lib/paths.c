/* paths -- where the pool's socket and state live by default. */
#include "paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tlspool/starttls.h>

static int fmt(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);

	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

/* Append tail to the string in buf (which fits in size). */
static int append(char *buf, size_t size, const char *tail)
{
	size_t len = strlen(buf);

	return fmt(buf + len, size - len, tail, "");
}

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	pw = getpwuid(getuid());
	return pw ? pw->pw_dir : NULL;
}

int paths_runtime_dir(char *buf, size_t size)
{
	const char *x = getenv("XDG_RUNTIME_DIR");
	char tmp[64];

	if (getuid() == 0)
		return fmt(buf, size, "/var/run", "");
	if (x != NULL && x[0] == '/')
		return fmt(buf, size, x, "/tlspool");
	snprintf(tmp, sizeof(tmp), "/tmp/tlspool-%u", (unsigned)getuid());
	return fmt(buf, size, tmp, "");
}

int paths_default_socket(char *buf, size_t size)
{
	int rc = paths_runtime_dir(buf, size);

	if (rc < 0)
		return rc;
	return append(buf, size, "/tlspool.sock");
}

int paths_default_pidfile(char *buf, size_t size)
{
	int rc = paths_runtime_dir(buf, size);

	if (rc < 0)
		return rc;
	return append(buf, size, "/tlspool.pid");
}

int paths_state_dir(char *buf, size_t size)
{
	const char *x = getenv("XDG_STATE_HOME");
	const char *h;

	if (getuid() == 0)
		return fmt(buf, size, "/var/lib/tlspool", "");
	if (x != NULL && x[0] == '/')
		return fmt(buf, size, x, "/tlspool");
	h = home_dir();
	if (h == NULL)
		return -ENOENT;
	return fmt(buf, size, h, "/.local/state/tlspool");
}

int paths_default_config(char *buf, size_t size)
{
	return fmt(buf, size, TLSPOOL_DEFAULT_CONFIG_PATH, "");
}

bool paths_is_absolute(const char *path)
{
	return path[0] == '/';
}

bool paths_is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

int paths_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, mode) < 0) {
			struct stat st;

			if (errno != EEXIST)
				return -errno;
			/* EEXIST also covers files and dangling links */
			if (stat(tmp, &st) < 0 || !S_ISDIR(st.st_mode))
				return path[i] == '\0' ? -EEXIST : -ENOTDIR;
		}
		tmp[i] = path[i];
	}
	return 0;
}

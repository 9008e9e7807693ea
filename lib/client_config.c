/* client_config -- tlspool_configvar() and tlspool_pid(): what a client
 * can learn about the daemon from its files.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tlspool/starttls.h>

#include "paths.h"
#include "poolconn.h"
#include "tpconfig.h"

char *tlspool_configvar(char *cfgfile, char *varname)
{
	struct tpconfig cfg;
	char err[256];
	const char *val;
	char *copy = NULL, def[4096];
	int rc, saved;

	if (varname == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (cfgfile == NULL && paths_default_config(def, sizeof(def)) == 0)
		cfgfile = def;
	if (cfgfile == NULL)
		cfgfile = TLSPOOL_DEFAULT_CONFIG_PATH;
	rc = tpconfig_load(&cfg, cfgfile, err, sizeof(err));
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	val = tpconfig_get(&cfg, varname);
	if (val == NULL)
		saved = ENOENT;
	else if ((copy = strdup(val)) == NULL)
		saved = ENOMEM;
	else
		saved = 0;
	tpconfig_free(&cfg);
	if (copy == NULL)
		errno = saved;
	return copy;
}

/* Read a decimal pid from path: 0 or -errno. */
static int client_config_read_pid(const char *path, long *pid)
{
	char buf[64], *end;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	buf[n] = '\0';
	errno = 0;
	*pid = strtol(buf, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno != 0 || end == buf || *end != '\0' || *pid <= 0 ||
	    *pid > (long)(~0u >> 1))
		rc = -EINVAL;
out:
	close(fd);
	return rc;
}

int tlspool_pid(char *opt_pidfile)
{
	char def[4096];
	const char *path = opt_pidfile;
	char *conf = NULL;	/* daemon_pidfile of the system config */
	struct stat st;
	long pid = 0;
	int rc;

	if (path == NULL) {
		if (paths_default_pidfile(def, sizeof(def)) == 0 &&
		    stat(def, &st) == 0)
			path = def;
		else if ((conf = tlspool_configvar(NULL, "daemon_pidfile")))
			path = conf;
		else
			path = TLSPOOL_DEFAULT_PIDFILE_PATH;
	}
	rc = client_config_read_pid(path, &pid);
	free(conf);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	if (poolconn_pid_alive(pid) < 0)
		return -1;	/* ESRCH: the daemon is gone */
	return (int)pid;
}

/* pulley -- keep the daemon's policy equal to what the directory says:
 * SyncRepl from LDAP, PulleyScript, pulleyback backends (doc/pulley.8). */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pconf.h"
#include "pscript.h"
#include "psync.h"
#include "tplog.h"

#ifndef PULLEY_CONFIG_DEFAULT
#define PULLEY_CONFIG_DEFAULT "/etc/tlspool/pulley.conf"
#endif

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pulley [-c CONFIG] [-t] [-1]\n"
		"  -c CONFIG  configuration file (default %s)\n"
		"  -t         check the configuration and the script, then "
		"exit\n"
		"  -1         exit after the refresh (one batch)\n",
		PULLEY_CONFIG_DEFAULT);
}

struct script_err {
	const char *path;
	unsigned n;
};

static void script_error(void *ctx, unsigned line, unsigned col,
			 const char *msg)
{
	struct script_err *e = ctx;

	fprintf(stderr, "%s:%u:%u: %s\n", e->path, line, col, msg);
	tplog(LOG_ERR, "%s:%u:%u: %s", e->path, line, col, msg);
	e->n++;
}

static int load_script(const char *path, struct pscript **out)
{
	struct script_err e = { path, 0 };
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc;

	if (f == NULL) {
		rc = -errno;
		tplog(LOG_ERR, "script %s: %s", path, strerror(errno));
		return rc;
	}
	do {
		if (cap - len < 4096) {
			char *t = cap > (4u << 20) ? NULL
						   : realloc(text, cap + 65536);

			if (t == NULL) {
				rc = -EFBIG;
				tplog(LOG_ERR, "script %s: too large", path);
				goto out;
			}
			text = t;
			cap += 65536;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	rc = pscript_compile(text, len, out, script_error, &e);
	if (rc < 0 && e.n == 0)
		tplog(LOG_ERR, "script %s: %s", path, strerror(-rc));
out:
	fclose(f);
	free(text);
	return rc;
}

static void pause_for(unsigned secs)
{
	struct timespec ts = { (time_t)secs, 0 };

	while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	const char *cfgpath = PULLEY_CONFIG_DEFAULT;
	struct pscript *ps = NULL;
	struct sigaction sa;
	struct psync sync;
	struct pconf cf;
	char err[512];
	unsigned delay;
	int opt, check = 0, once = 0, rc;

	while ((opt = getopt(argc, argv, "c:t1h")) != -1) {
		switch (opt) {
		case 'c':
			cfgpath = optarg;
			break;
		case 't':
			check = 1;
			break;
		case '1':
			once = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (pconf_load(&cf, cfgpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "pulley: %s\n", err);
		return 1;
	}
	tplog_init("pulley", cf.log_stderr || check, cf.log_level);
	if (sodium_init() < 0) {
		fprintf(stderr, "pulley: libsodium does not initialise\n");
		pconf_free(&cf);
		return 1;
	}
	if (cf.tls == PCONF_TLS_NONE && strncmp(cf.ldap_uri, "ldapi:", 6) != 0)
		tplog(LOG_WARNING, "pulley: tls none: policy travels in the "
		      "clear and the directory is not authenticated (%s)",
		      cf.ldap_uri);
	rc = load_script(cf.script, &ps);
	if (rc < 0) {
		fprintf(stderr, "pulley: script %s does not compile\n",
			cf.script);
		pconf_free(&cf);
		return 1;
	}
	if (check) {
		printf("pulley: %s and %s are valid\n", cfgpath, cf.script);
		pscript_free(ps);
		pconf_free(&cf);
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: polls return */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	rc = psync_open(&sync, &cf, ps, &stop);
	if (rc < 0) {
		pscript_free(ps);
		pconf_free(&cf);
		return 1;
	}
	delay = cf.retry_min;
	while (!stop) {
		unsigned long before = sync.st.batches;

		rc = psync_session(&sync, once);
		if (rc == 0 && once)
			break;
		if (rc == -EAGAIN)
			continue;
		if (rc == 0)
			continue;
		if (sync.st.batches != before)
			delay = cf.retry_min;
		if (once) {
			rc = 1;
			break;
		}
		tplog(LOG_NOTICE, "pulley: retrying in %u s", delay);
		pause_for(delay);
		delay = delay * 2 > cf.retry_max ? cf.retry_max : delay * 2;
	}
	tplog(LOG_NOTICE, "pulley: stopping (%lu batches, %lu entries, "
	      "%lu deletes, %lu refused, %lu rolled back)", sync.st.batches,
	      sync.st.entries, sync.st.deletes, sync.st.refused,
	      sync.st.rollbacks);
	psync_close(&sync);
	pscript_free(ps);
	pconf_free(&cf);
	if (stop)
		return 0;	/* asked to stop: not a failure */
	return rc < 0 ? 1 : rc;
}

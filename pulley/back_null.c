/* back_null -- a pulleyback backend that only logs what it is given, for
 * debugging PulleyScripts and for exercising the two-phase commit.
 *
 * Parameters (all optional, each at most once):
 *   label=TEXT     prefix for its log lines (default "null")
 *   refuse=VALUE   prepare fails while the batch added a tuple with a
 *                  variable equal to VALUE (to test that pulley rolls
 *                  every backend back when one cannot commit)
 * Values are logged as text when printable, else as hex.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pulleyback.h"

struct nullb {
	char label[64];
	char *refuse;
	int varc;
	int poisoned;
	unsigned long adds, dels;
	struct pulleyback_host host;
	int have_host;
};

static void nlog(struct nullb *n, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void nlog(struct nullb *n, int level, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL && n->have_host && n->host.log != NULL)
		n->host.log(n->host.ctx, level, msg);
	else
		fprintf(stderr, "pulleyback_null: %s\n", msg);
}

void *pulleyback_open(int argc, char **argv, int varc)
{
	struct nullb *n = calloc(1, sizeof(*n));
	int i, have_label = 0;

	if (n == NULL)
		return NULL;
	snprintf(n->label, sizeof(n->label), "null");
	n->varc = varc;
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "label=", 6) == 0 && !have_label) {
			snprintf(n->label, sizeof(n->label), "%s", argv[i] + 6);
			have_label = 1;
		} else if (strncmp(argv[i], "refuse=", 7) == 0 &&
			   n->refuse == NULL) {
			n->refuse = strdup(argv[i] + 7);
			if (n->refuse == NULL)
				goto fail;
		} else {
			nlog(NULL, LOG_ERR, "unknown or repeated parameter "
			     "'%s' (label=, refuse=)", argv[i]);
			goto fail;
		}
	}
	return n;
fail:
	free(n->refuse);
	free(n);
	return NULL;
}

void pulleyback_close(void *pbh)
{
	struct nullb *n = pbh;

	if (n == NULL)
		return;
	free(n->refuse);
	free(n);
}

int pulleyback_host(void *pbh, const struct pulleyback_host *host)
{
	struct nullb *n = pbh;

	if (host == NULL || host->version != PULLEYBACK_API_VERSION)
		return 0;
	n->host = *host;
	n->have_host = 1;
	return 1;
}

static void show(const uint8_t *v, size_t len, char *buf, size_t cap)
{
	size_t i, o = 0;
	int text = 1;

	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] >= 0x7f)
			text = 0;
	buf[0] = 0;
	for (i = 0; i < len && o + 4 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, text ? "%c" : "%02x",
				      v[i]);
	if (i < len && cap > 4)
		snprintf(buf + cap - 4, 4, "...");
}

static int tuple(struct nullb *n, uint8_t **fd, const char *what)
{
	char line[1024], one[256];
	size_t o = 0, len;
	const uint8_t *v;
	int i;

	line[0] = 0;
	for (i = 0; i < n->varc; i++) {
		if (pulleyback_der_unwrap(fd[i], SIZE_MAX, &v, &len) != 0) {
			nlog(n, LOG_ERR, "%s: %s: variable %d is not a DER "
			     "OCTET STRING", n->label, what, i + 1);
			return 0;
		}
		show(v, len, one, sizeof(one));
		if (o < sizeof(line))
			o += (size_t)snprintf(line + o, sizeof(line) - o,
					      "%s%s", i ? ", " : "", one);
		if (n->refuse != NULL && what[0] == 'a' &&
		    len == strlen(n->refuse) &&
		    memcmp(v, n->refuse, len) == 0)
			n->poisoned = 1;
	}
	nlog(n, LOG_NOTICE, "%s: %s (%s)", n->label, what, line);
	return 1;
}

int pulleyback_add(void *pbh, uint8_t **forkdata)
{
	struct nullb *n = pbh;

	n->adds++;
	return tuple(n, forkdata, "add");
}

int pulleyback_del(void *pbh, uint8_t **forkdata)
{
	struct nullb *n = pbh;

	n->dels++;
	return tuple(n, forkdata, "del");
}

int pulleyback_reset(void *pbh)
{
	struct nullb *n = pbh;

	nlog(n, LOG_NOTICE, "%s: reset", n->label);
	return 1;
}

int pulleyback_prepare(void *pbh)
{
	struct nullb *n = pbh;

	if (n->poisoned) {
		nlog(n, LOG_ERR, "%s: prepare refused: the batch added "
		     "the value '%s' (refuse=)", n->label, n->refuse);
		return 0;
	}
	nlog(n, LOG_INFO, "%s: prepare (%lu add, %lu del)", n->label, n->adds,
	     n->dels);
	return 1;
}

int pulleyback_commit(void *pbh)
{
	struct nullb *n = pbh;

	nlog(n, LOG_NOTICE, "%s: commit (%lu add, %lu del)", n->label,
	     n->adds, n->dels);
	n->adds = n->dels = 0;
	return 1;
}

void pulleyback_rollback(void *pbh)
{
	struct nullb *n = pbh;

	nlog(n, LOG_NOTICE, "%s: rollback (%lu add, %lu del dropped)",
	     n->label, n->adds, n->dels);
	n->adds = n->dels = 0;
	n->poisoned = 0;
}

int pulleyback_collaborate(void *pbh1, void *pbh2)
{
	(void)pbh1;
	(void)pbh2;
	return 0;
}

/* priority -- GnuTLS priority caches by text. */
#include "priority.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	gnutls_priority_t prio;
	char text[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *entries;

int priority_get(const char *text, gnutls_priority_t *out,
		 const char **errpos)
{
	struct entry *e;
	int rc = 0;

	*errpos = NULL;
	pthread_mutex_lock(&lock);
	for (e = entries; e != NULL; e = e->next)
		if (strcmp(e->text, text) == 0)
			goto found;
	e = malloc(sizeof(*e) + strlen(text) + 1);
	if (e == NULL) {
		rc = GNUTLS_E_MEMORY_ERROR;
		goto out;
	}
	strcpy(e->text, text);
	rc = gnutls_priority_init2(&e->prio, text, errpos,
				   0);
	if (rc < 0) {
		/* errpos points into text, which the caller still holds */
		free(e);
		goto out;
	}
	e->next = entries;
	entries = e;
found:
	*out = e->prio;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int priority_with_versions(const char *base, uint16_t min, uint16_t max,
			   char *buf, size_t len)
{
	static const struct { uint16_t v; const char *name; } vers[] = {
		{ 0x0301, "+VERS-TLS1.0" }, { 0x0302, "+VERS-TLS1.1" },
		{ 0x0303, "+VERS-TLS1.2" }, { 0x0304, "+VERS-TLS1.3" },
	};
	size_t used;
	int n;

	n = snprintf(buf, len, "%s", base);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	if (min == 0 && max == 0)
		return 0;
	used = (size_t)n;
	n = snprintf(buf + used, len - used, ":-VERS-ALL");
	if (n < 0 || (size_t)n >= len - used)
		return -ENOSPC;
	used += (size_t)n;
	for (size_t i = 0; i < sizeof(vers) / sizeof(vers[0]); i++) {
		if ((min && vers[i].v < min) || (max && vers[i].v > max))
			continue;
		n = snprintf(buf + used, len - used, ":%s", vers[i].name);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	return 0;
}

void priority_clear(void)
{
	pthread_mutex_lock(&lock);
	while (entries != NULL) {
		struct entry *e = entries;

		entries = e->next;
		gnutls_priority_deinit(e->prio);
		free(e);
	}
	pthread_mutex_unlock(&lock);
}

/* lidentry -- the registered local identity chooser. */
#include "lidentry.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "ctlconn.h"
#include "donai.h"
#include "tplog.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctlconn *chooser;
static uint32_t chooser_flags;
static uint16_t chooser_reqid;

int lidentry_register(struct ctlconn *c, uint16_t reqid,
		      const struct pioc_lidentry *req)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (chooser != NULL && chooser != c) {
		rc = -EBUSY;
	} else {
		if (chooser == NULL)
			ctlconn_ref(c);
		chooser = c;
		chooser_flags = req->flags & PIOF_LIDENTRY_REGFLAGS;
		chooser_reqid = reqid;
	}
	pthread_mutex_unlock(&lock);
	if (rc == 0)
		tplog(LOG_NOTICE, "%s: registered as the local identity chooser "
		      "(flags 0x%03x)", ctlconn_peer(c), req->flags &
		      PIOF_LIDENTRY_REGFLAGS);
	return rc;
}

void lidentry_connection_gone(struct ctlconn *c)
{
	int was = 0;

	pthread_mutex_lock(&lock);
	if (chooser == c) {
		chooser = NULL;
		was = 1;
	}
	pthread_mutex_unlock(&lock);
	if (was) {
		tplog(LOG_NOTICE, "%s: the local identity chooser left",
		      ctlconn_peer(c));
		ctlconn_unref(c);
	}
}

struct ctlconn *lidentry_chooser(uint32_t *regflags, uint16_t *reqid)
{
	struct ctlconn *c;

	pthread_mutex_lock(&lock);
	c = chooser;
	if (c != NULL)
		ctlconn_ref(c);
	*regflags = chooser_flags;
	*reqid = chooser_reqid;
	pthread_mutex_unlock(&lock);
	return c;
}

static int has_all(uint32_t flags, uint32_t value)
{
	return (flags & value) == value;
}

/* Labels of a domain ("" has none). */
static unsigned labels(const char *d)
{
	unsigned n = d[0] != '\0';

	for (; *d != '\0'; d++)
		n += *d == '.';
	return n;
}

int lidentry_may_skip(uint32_t regflags, const char *sel,
		      const char *remoteid)
{
	struct donai_selector s;
	struct donai id;
	char why[64];
	unsigned up;

	if (!has_all(regflags, PIOF_LIDENTRY_SKIP_DBENTRY) || sel[0] == '\0')
		return 0;
	if (donai_selector_parse(sel, &s, why, sizeof(why)) < 0 ||
	    donai_parse(remoteid, &id, why, sizeof(why)) < 0)
		return 0;
	/* How many labels the selector dropped from the remote's domain. */
	up = labels(id.domain) - labels(s.domain);
	if (has_all(regflags, PIOF_LIDENTRY_SKIP_USER) && id.user[0] != '\0' &&
	    s.user[0] == '\0')
		return 0;
	if (has_all(regflags, PIOF_LIDENTRY_SKIP_DOMAIN_SUB)) {
		if (up > 1)
			return 0;
	} else if (has_all(regflags, PIOF_LIDENTRY_SKIP_DOMAIN_SAME) && up != 0) {
		return 0;
	} else if (has_all(regflags, PIOF_LIDENTRY_SKIP_DOMAIN_ONEUP) &&
		   up != 1) {
		return 0;
	}
	if (has_all(regflags, PIOF_LIDENTRY_SKIP_NOTROOT) && s.domain[0] == '\0')
		return 0;
	return 1;
}

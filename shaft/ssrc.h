/* ssrc -- one crank's subtree as shaft follows it: SyncRepl
 * (refreshAndPersist, libldap's ldap_sync_*), each entry verified with
 * the crank's key, the last good version of every entry kept, and the
 * cookie with those entries saved in a state file written atomically
 * (doc/shaft.md, "State"). */
#ifndef TP_SSRC_H
#define TP_SSRC_H

#include <ldap.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pscript.h"
#include "puuidset.h"
#include "sconf.h"
#include "smerge.h"

struct sent {
	uint8_t uuid[16];
	char *dn;
	uint8_t *canon;
	size_t canonlen;
	struct smerge_key k;
	struct sent *next;
};

struct ssrc_stats {
	unsigned long entries, deletes, refused;
};

struct ssrc {
	const struct sconf *cf;
	const struct sconf_source *s;
	unsigned idx;
	struct sent **tab;		/* by entryUUID */
	size_t cap, n;
	uint8_t *cookie;
	size_t cookielen;
	int dirty;			/* the state file is behind */
	int changed;			/* entries changed since the merge */
	int failed;			/* this session went wrong */
	struct puuidset seen;
	int present_done;
	ldap_sync_t *ls;		/* NULL: not connected */
	time_t retry_at;
	time_t saved_at;		/* last state file write */
	unsigned backoff;
	int loaded;			/* a saved state was read */
	int ever;			/* a refresh completed */
	struct ssrc_stats st;
};

/* Set up and load the state file (a missing or unreadable one, or one
 * for another base or key, means a full resync).  0 or -ENOMEM. */
int ssrc_init(struct ssrc *r, const struct sconf *cf, unsigned idx);
void ssrc_fini(struct ssrc *r);

/* Connect and refresh (blocking); then r->ls is ready for ssrc_poll.
 * 0, or -errno (logged; the last good entries stay). */
int ssrc_start(struct ssrc *r);
/* Process what arrived (no waiting).  0, or -errno when the session
 * ended (r->ls is NULL then). */
int ssrc_poll(struct ssrc *r);
void ssrc_stop(struct ssrc *r);
/* The socket to wait on, or -1. */
int ssrc_fd(const struct ssrc *r);

/* Write the state file if it is behind.  0 or -errno (logged). */
int ssrc_save(struct ssrc *r);

/* Call fn for every entry kept. */
int ssrc_each(const struct ssrc *r, int (*fn)(void *, const struct sent *),
	      void *ctx);

/* For ssrc_sync.c: the entries kept. */
int ssrc_sent_new(const uint8_t *u, const char *dn, const uint8_t *c,
		  size_t cl, struct sent **out, char *why, size_t whylen);
int ssrc_put(struct ssrc *r, struct sent *e);	/* takes e */
void ssrc_sent_free(struct sent *e);
void ssrc_drop(struct ssrc *r, const uint8_t *u);
void ssrc_drop_all(struct ssrc *r);
int ssrc_find_uuid(struct ssrc *r, const uint8_t *u);	/* 1: kept */

#endif

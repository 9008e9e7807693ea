/* gdir_none -- the global directory (valexp G and g) in the Windows
 * build: not available (OpenLDAP has no Windows build here).  G and g
 * evaluate false with the reason (short: it must fit in a reply with the
 * rule's name).  Replaces gdir.c, validate_gdir.c and
 * session_gdir.c (doc/windows.md). */
#include <errno.h>
#include <stdio.h>

#include "gdir.h"
#include "session_int.h"
#include "validate.h"

#define NO_GDIR "LDAP is not available in the Windows build"

int validate_gdir(const struct validate_input *in,
		  const gnutls_datum_t *chain, unsigned n, int relaxed,
		  char *proven, size_t provenlen, char *why, size_t whylen)
{
	(void)in;
	(void)chain;
	(void)n;
	(void)relaxed;
	(void)proven;
	(void)provenlen;
	snprintf(why, whylen, NO_GDIR);
	return 0;
}

void gdir_set_anchors(const char *path)
{
	(void)path;
}

void gdir_query_clear(struct gdir_query *q)
{
	(void)q;
}

/* validate_gdir never asks; refuse rather than leave a session waiting. */
void session_ask_gdir_srv(struct session *s, const char *name)
{
	session_fail(s, ENOTSUP, "SRV lookup at %s: " NO_GDIR, name);
}

void session_ask_gdir(struct session *s, struct gdir_query *q)
{
	(void)q;
	session_fail(s, ENOTSUP, NO_GDIR);
}

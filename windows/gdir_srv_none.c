/* gdir_srv_none -- the global directory's SRV answer (valexp G and g) in
 * the Windows build, which has no ldns yet: replaces daemon/gdir_srv.c.
 * Only a DNSSEC-secure answer is ever read, and windows/dane_none.c
 * gives none (G and g evaluate false, "DNSSEC is not available in the
 * Windows build"), so this is not reached; were it, the answer counts
 * as malformed (unavailable), never as "no directory". */
#include <errno.h>

#include "gdir.h"

int gdir_parse_srv(const uint8_t *wire, size_t len, char *host,
		   size_t hostlen, unsigned *port)
{
	(void)wire;
	(void)len;
	(void)host;
	(void)hostlen;
	(void)port;
	return -EBADMSG;
}

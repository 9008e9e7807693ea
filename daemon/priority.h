/* priority -- GnuTLS priority caches by text, parsed once per distinct
 * string for the life of the daemon (policy names few distinct ones). */
#ifndef TP_PRIORITY_H
#define TP_PRIORITY_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

/* The cache for text; 0, or a GnuTLS error with the position of the
 * problem in *errpos (NULL when unknown). */
int priority_get(const char *text, gnutls_priority_t *out,
		 const char **errpos);

/* base with the protocol versions limited to [min, max] (0x0303 style,
 * 0 = no bound) appended; 0 or -ENOSPC. */
int priority_with_versions(const char *base, uint16_t min, uint16_t max,
			   char *buf, size_t len);

/* Free every cache (at exit). */
void priority_clear(void);

#endif

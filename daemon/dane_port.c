/* dane_port -- dane_service_ports of tlspool.conf (dane.h); apart from
 * the TLSA matching in dane.c, so the config reader (dconfig.c, also
 * in tlspool-ctl) does not pull in the credential store. */
#include "dane.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dane_service_port(const char *map, const char *service, char *why,
		      size_t whylen)
{
	const char *p = map;

	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, " \t,"), name;
		const char *eq = memchr(p, '=', n);
		unsigned long port = 0;
		char *end;

		if (n == 0) {
			p++;
			continue;
		}
		if (eq == NULL || eq == p || (name = (size_t)(eq - p)) > 15) {
			snprintf(why, whylen, "'%.*s': not SERVICE=PORT (a "
				 "service name of 1 to 15 characters)", (int)n,
				 p);
			return -EINVAL;
		}
		errno = 0;
		port = strtoul(eq + 1, &end, 10);
		if (end != p + n || end == eq + 1 || errno != 0 || port == 0 ||
		    port > 65535) {
			snprintf(why, whylen, "'%.*s': the port must be 1 to "
				 "65535", (int)n, p);
			return -EINVAL;
		}
		if (service != NULL && strlen(service) == name &&
		    strncmp(service, p, name) == 0)
			return (int)port;
		p += n;
	}
	return 0;
}

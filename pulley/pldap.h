/* pldap -- pulley's LDAP connection: TLS (StartTLS or ldaps, the server
 * certificate always verified) and the bind (none, simple, SASL
 * EXTERNAL or GSSAPI). */
#ifndef TP_PLDAP_H
#define TP_PLDAP_H

#include <ldap.h>
#include <stddef.h>

#include "pconf.h"

/* 0 with a bound *ld, or -errno with the reason (libldap's message)
 * in err. */
int pldap_connect(const struct pconf *c, LDAP **ld, char *err,
		  size_t errlen);

#endif

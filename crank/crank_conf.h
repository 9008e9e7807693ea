/* crank_conf -- crank's configuration file (crank(1), "CONFIGURATION").
 *
 * "key value" lines (lib/tpconfig).  The directory keys have the names
 * and meaning of pulley's (ldap_uri, tls, bind, ...) and fill a struct
 * pconf for the shared connection code (pulley/pldap); ldap_base is the
 * crank's own subtree; signing_key the file with its Ed25519 key.  An
 * unknown key, a bad value or a missing required key is an error with
 * file:line.  Parsing only: nothing is opened here. */
#ifndef CRANK_CONF_H
#define CRANK_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "pconf.h"

struct crank_conf {
	struct pconf ldap;		/* ldap_uri, ldap_base, tls, bind... */
	char *signing_key;		/* required */
};

/* 0, -EINVAL with "path:line: reason" (or "path: reason") in err, or
 * -ENOMEM. */
int crank_conf_parse(struct crank_conf *c, const char *path, const char *text,
		     char *err, size_t errlen);
int crank_conf_load(struct crank_conf *c, const char *path, char *err,
		    size_t errlen);
void crank_conf_free(struct crank_conf *c);

/* The signing key file: one line of 64 hex digits, the Ed25519 seed.
 * The file must not be readable by group or others.  sk: libsodium's
 * 64-byte secret key, pk the public key.  0 or -errno with err. */
int crank_conf_signing_key(const char *path, uint8_t sk[64], uint8_t pk[32],
			   char *err, size_t errlen);

/* Write a new seed to path (created 0600, never overwritten) and give
 * the public key.  0 or -errno with err. */
int crank_conf_keygen(const char *path, uint8_t pk[32], char *err,
		      size_t errlen);

#endif

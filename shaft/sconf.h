/* sconf -- shaft's configuration file (doc/shaft.8).
 *
 * pulley's "key value" format and connection keys (pulley/pconf.c:
 * ldap_uri, tls*, bind*, sasl_*, retry_*, log_*), plus:
 *   source NAME PRECEDENCE PUBKEY BASE   one per crank (2..32 of them)
 *   output_base DN                       the merged subtree (required)
 *   sign_key FILE                        shaft's Ed25519 seed, 32 bytes
 *   state_dir DIR                        cookies and last good entries
 * Parsing only: files are not opened here. */
#ifndef TP_SCONF_H
#define TP_SCONF_H

#include <stddef.h>
#include <stdint.h>

#include "pconf.h"

#define SCONF_SOURCES_MAX 32

struct sconf_source {
	char *name;			/* [A-Za-z0-9_-]{1,64}, unique */
	unsigned prec;			/* 1..1000000, unique; higher wins */
	uint8_t pk[32];			/* the crank's Ed25519 public key */
	char *base;			/* the crank's subtree */
};

struct sconf {
	struct pconf conn;		/* ldap_uri, TLS, bind, retry, log */
	struct sconf_source src[SCONF_SOURCES_MAX];
	size_t nsrc;
	char *output_base;
	char *sign_key;
	char *state_dir;
};

/* 0, -EINVAL with "path:line: reason" (or "path: reason") in err, or
 * -ENOMEM. */
int sconf_parse(struct sconf *c, const char *path, const char *text,
		char *err, size_t errlen);
int sconf_load(struct sconf *c, const char *path, char *err, size_t errlen);
void sconf_free(struct sconf *c);

#endif

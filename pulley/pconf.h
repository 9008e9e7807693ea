/* pconf -- pulley's configuration file (doc/pulley.8).
 *
 * "key value" lines (lib/tpconfig); an unknown key, a bad value or a
 * missing required key is an error with file:line.  Parsing only: the
 * values are checked for form, nothing is opened here. */
#ifndef TP_PCONF_H
#define TP_PCONF_H

#include <stddef.h>
#include <stdint.h>

enum pconf_tls { PCONF_TLS_STARTTLS = 0, PCONF_TLS_LDAPS, PCONF_TLS_NONE };
enum pconf_bind { PCONF_BIND_NONE = 0, PCONF_BIND_SIMPLE, PCONF_BIND_SASL };

struct pconf {
	char *ldap_uri;			/* required */
	char *ldap_base;		/* required */
	char *ldap_filter;		/* default (objectClass=*) */
	enum pconf_tls tls;		/* from the URI and "tls" */
	char *tls_cacert;		/* CA file; default: system store */
	char *tls_cert, *tls_key;	/* client certificate (EXTERNAL) */
	enum pconf_bind bind;
	char *bind_dn;
	char *bind_password_file;	/* simple: first line is the secret */
	char *sasl_mech;		/* EXTERNAL or GSSAPI */
	char *sasl_authzid;
	char *script;			/* PulleyScript file */
	char *backend_dir;
	char *dbenv_dir;		/* required */
	char *name;			/* state name in meta: [A-Za-z0-9_-] */
	int have_verify_key;
	uint8_t verify_key[32];		/* Ed25519 public key */
	unsigned retry_min, retry_max;	/* seconds */
	int log_level;
	int log_stderr;
};

/* Parse text named path.  0, -EINVAL with "path:line: reason" (or
 * "path: reason" for a missing key) in err, or -ENOMEM. */
int pconf_parse(struct pconf *c, const char *path, const char *text,
		char *err, size_t errlen);
int pconf_load(struct pconf *c, const char *path, char *err, size_t errlen);
void pconf_free(struct pconf *c);

/* A key pconf does not know (shaft's own keys): 0, -EINVAL with *why,
 * or -ENOMEM. */
typedef int pconf_other_fn(void *ctx, const char *key, const char *value,
			   unsigned line, const char **why);
/* As pconf_parse / pconf_load, unknown keys given to other (when not
 * NULL); then ldap_base and dbenv_dir are not required. */
int pconf_parse_ext(struct pconf *c, const char *path, const char *text,
		    pconf_other_fn *other, void *ctx, char *err,
		    size_t errlen);
int pconf_load_ext(struct pconf *c, const char *path, pconf_other_fn *other,
		   void *ctx, char *err, size_t errlen);

/* Helpers for configuration files that build on pconf (shaft's sconf):
 * replace *dst with a copy of v (0 or -ENOMEM); and 64 hex digits into
 * 32 bytes (0, or -EINVAL when v is anything else). */
int pconf_set_str(char **dst, const char *v);
int pconf_hex32(const char *v, uint8_t out[32]);

#endif

/* pconf -- pulley's configuration file. */
#include "pconf.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "tpconfig.h"
#include "tplog.h"

#ifndef PULLEY_SCRIPT_DEFAULT
#define PULLEY_SCRIPT_DEFAULT "/etc/tlspool/pulley/pool.ps"
#endif
#ifndef PULLEY_BACKEND_DIR
#define PULLEY_BACKEND_DIR "/usr/lib/tlspool"
#endif

enum kind { K_STR, K_PATH, K_UINT, K_BOOL, K_LEVEL, K_TLS, K_BIND, K_KEY,
	    K_NAME, K_MECH };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
};

#define OFF(f) offsetof(struct pconf, f)

static const struct key keys[] = {
	{ "ldap_uri", K_STR, OFF(ldap_uri) },
	{ "ldap_base", K_STR, OFF(ldap_base) },
	{ "ldap_filter", K_STR, OFF(ldap_filter) },
	{ "tls", K_TLS, OFF(tls) },
	{ "tls_cacert", K_PATH, OFF(tls_cacert) },
	{ "tls_cert", K_PATH, OFF(tls_cert) },
	{ "tls_key", K_PATH, OFF(tls_key) },
	{ "bind", K_BIND, OFF(bind) },
	{ "bind_dn", K_STR, OFF(bind_dn) },
	{ "bind_password_file", K_PATH, OFF(bind_password_file) },
	{ "sasl_mech", K_MECH, OFF(sasl_mech) },
	{ "sasl_authzid", K_STR, OFF(sasl_authzid) },
	{ "script", K_PATH, OFF(script) },
	{ "backend_dir", K_PATH, OFF(backend_dir) },
	{ "dbenv_dir", K_PATH, OFF(dbenv_dir) },
	{ "name", K_NAME, OFF(name) },
	{ "verify_key", K_KEY, OFF(verify_key) },
	{ "retry_min", K_UINT, OFF(retry_min) },
	{ "retry_max", K_UINT, OFF(retry_max) },
	{ "log_level", K_LEVEL, OFF(log_level) },
	{ "log_stderr", K_BOOL, OFF(log_stderr) },
};

int pconf_set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pconf_hex32(const char *v, uint8_t out[32])
{
	size_t i;

	if (strlen(v) != 64)
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int apply(struct pconf *c, const struct key *k, const char *v,
		 const char **why)
{
	void *p = (char *)c + k->off;
	unsigned long n;
	char *end;
	size_t i;

	switch (k->kind) {
	case K_PATH:
		if (v[0] != '/') {
			*why = "must be an absolute path";
			return -EINVAL;
		}
		return pconf_set_str(p, v);
	case K_STR:
		return pconf_set_str(p, v);
	case K_NAME:
		for (i = 0; v[i]; i++)
			if (!((v[i] >= 'a' && v[i] <= 'z') ||
			      (v[i] >= 'A' && v[i] <= 'Z') ||
			      (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
			      v[i] == '-'))
				break;
		if (v[i] != 0 || i == 0 || i > 64) {
			*why = "must be 1..64 of A-Z a-z 0-9 _ -";
			return -EINVAL;
		}
		return pconf_set_str(p, v);
	case K_MECH:
		if (strcmp(v, "EXTERNAL") != 0 && strcmp(v, "GSSAPI") != 0) {
			*why = "must be EXTERNAL or GSSAPI";
			return -EINVAL;
		}
		return pconf_set_str(p, v);
	case K_UINT:
		errno = 0;
		n = strtoul(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end || errno || n == 0 ||
		    n > 86400) {
			*why = "must be a number of seconds, 1..86400";
			return -EINVAL;
		}
		*(unsigned *)p = (unsigned)n;
		return 0;
	case K_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
			*(int *)p = 1;
		else if (!strcmp(v, "no") || !strcmp(v, "false") ||
			 !strcmp(v, "0"))
			*(int *)p = 0;
		else {
			*why = "must be yes or no";
			return -EINVAL;
		}
		return 0;
	case K_LEVEL:
		*(int *)p = tplog_parse_level(v);
		if (*(int *)p < 0) {
			*why = "must be error, warning, notice, info or debug";
			return -EINVAL;
		}
		return 0;
	case K_TLS:
		if (!strcmp(v, "starttls"))
			c->tls = PCONF_TLS_STARTTLS;
		else if (!strcmp(v, "ldaps"))
			c->tls = PCONF_TLS_LDAPS;
		else if (!strcmp(v, "none"))
			c->tls = PCONF_TLS_NONE;
		else {
			*why = "must be starttls, ldaps or none";
			return -EINVAL;
		}
		return 0;
	case K_BIND:
		if (!strcmp(v, "none"))
			c->bind = PCONF_BIND_NONE;
		else if (!strcmp(v, "simple"))
			c->bind = PCONF_BIND_SIMPLE;
		else if (!strcmp(v, "sasl"))
			c->bind = PCONF_BIND_SASL;
		else {
			*why = "must be none, simple or sasl";
			return -EINVAL;
		}
		return 0;
	case K_KEY:
		if (pconf_hex32(v, c->verify_key) < 0) {
			*why = "must be 64 hex digits (an Ed25519 public key)";
			return -EINVAL;
		}
		c->have_verify_key = 1;
		return 0;
	}
	return -EINVAL;
}

/* Whole-file checks; 0 or -EINVAL with why. */
static int check(struct pconf *c, int tls_given, int conn_only,
		 const char **why)
{
	if (c->ldap_uri == NULL)
		return *why = "ldap_uri is required", -EINVAL;
	if (c->ldap_base == NULL && !conn_only)
		return *why = "ldap_base is required", -EINVAL;
	if (c->dbenv_dir == NULL && !conn_only)
		return *why = "dbenv_dir is required", -EINVAL;
	if (strncasecmp(c->ldap_uri, "ldaps://", 8) == 0) {
		if (tls_given && c->tls != PCONF_TLS_LDAPS)
			return *why = "an ldaps:// URI needs tls ldaps",
			       -EINVAL;
		c->tls = PCONF_TLS_LDAPS;
	} else if (strncasecmp(c->ldap_uri, "ldap://", 7) == 0) {
		if (c->tls == PCONF_TLS_LDAPS)
			return *why = "tls ldaps needs an ldaps:// URI",
			       -EINVAL;
	} else if (strncasecmp(c->ldap_uri, "ldapi://", 8) == 0) {
		/* A local socket: no TLS, the kernel names the peer. */
		c->tls = PCONF_TLS_NONE;
	} else {
		return *why = "ldap_uri must be ldap://, ldaps:// or ldapi://",
		       -EINVAL;
	}
	if (c->bind == PCONF_BIND_SIMPLE &&
	    (c->bind_dn == NULL || c->bind_password_file == NULL))
		return *why = "bind simple needs bind_dn and "
			      "bind_password_file", -EINVAL;
	if (c->bind == PCONF_BIND_SASL && c->sasl_mech == NULL)
		return *why = "bind sasl needs sasl_mech", -EINVAL;
	if ((c->tls_cert == NULL) != (c->tls_key == NULL))
		return *why = "tls_cert and tls_key go together", -EINVAL;
	if (c->retry_min > c->retry_max)
		return *why = "retry_min is above retry_max", -EINVAL;
	return 0;
}

static int defaults(struct pconf *c)
{
	int rc = 0;

	if (c->ldap_filter == NULL)
		rc = pconf_set_str(&c->ldap_filter, "(objectClass=*)");
	if (rc == 0 && c->script == NULL)
		rc = pconf_set_str(&c->script, PULLEY_SCRIPT_DEFAULT);
	if (rc == 0 && c->backend_dir == NULL)
		rc = pconf_set_str(&c->backend_dir, PULLEY_BACKEND_DIR);
	if (rc == 0 && c->name == NULL)
		rc = pconf_set_str(&c->name, "default");
	return rc;
}

int pconf_parse(struct pconf *c, const char *path, const char *text,
		char *err, size_t errlen)
{
	return pconf_parse_ext(c, path, text, NULL, NULL, err, errlen);
}

/* The connection keys only; a key the table lacks goes to other (for
 * shaft); with other, ldap_base and dbenv_dir are not required. */
int pconf_parse_ext(struct pconf *c, const char *path, const char *text,
		    pconf_other_fn *other, void *ctx, char *err,
		    size_t errlen)
{
	struct tpconfig tc = { 0 };
	const char *why = NULL;
	int rc, tls_given = 0;
	size_t i, k;

	memset(c, 0, sizeof(*c));
	c->retry_min = 1;
	c->retry_max = 60;
	c->log_level = LOG_NOTICE;
	rc = tpconfig_parse(&tc, path, text, err, errlen);
	if (rc < 0)
		return rc;
	for (i = 0; i < tc.count; i++) {
		const struct tpconfig_entry *e = &tc.entries[i];

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strcmp(keys[k].name, e->key) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0]) && other != NULL) {
			why = "bad value";
			rc = other(ctx, e->key, e->value, e->line, &why);
			if (rc == -EINVAL)
				snprintf(err, errlen, "%s:%u: %s: %s", path,
					 e->line, e->key, why);
			if (rc < 0)
				goto fail;
			continue;
		}
		if (k == sizeof(keys) / sizeof(keys[0])) {
			snprintf(err, errlen, "%s:%u: unknown key '%s'", path,
				 e->line, e->key);
			rc = -EINVAL;
			goto fail;
		}
		why = "bad value";
		rc = apply(c, &keys[k], e->value, &why);
		if (rc == -EINVAL)
			snprintf(err, errlen, "%s:%u: %s: %s", path, e->line,
				 e->key, why);
		if (rc < 0)
			goto fail;
		if (keys[k].kind == K_TLS)
			tls_given = 1;
	}
	rc = check(c, tls_given, other != NULL, &why);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	rc = defaults(c);
	if (rc < 0)
		goto fail;
	tpconfig_free(&tc);
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	tpconfig_free(&tc);
	pconf_free(c);
	return rc;
}

int pconf_load(struct pconf *c, const char *path, char *err, size_t errlen)
{
	return pconf_load_ext(c, path, NULL, NULL, err, errlen);
}

int pconf_load_ext(struct pconf *c, const char *path, pconf_other_fn *other,
		   void *ctx, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc;

	memset(c, 0, sizeof(*c));
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	do {
		if (cap - len < 4096) {
			char *t;

			if (cap > (1u << 20)) {
				snprintf(err, errlen, "%s: too large", path);
				rc = -EFBIG;
				goto out;
			}
			t = realloc(text, cap + 8192);
			if (t == NULL) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			text = t;
			cap += 8192;
		}
		n = fread(text + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	text[len] = 0;
	rc = pconf_parse_ext(c, path, text, other, ctx, err, errlen);
out:
	fclose(f);
	free(text);
	return rc;
}

void pconf_free(struct pconf *c)
{
	char **strs[] = { &c->ldap_uri, &c->ldap_base, &c->ldap_filter,
			  &c->tls_cacert, &c->tls_cert, &c->tls_key,
			  &c->bind_dn, &c->bind_password_file, &c->sasl_mech,
			  &c->sasl_authzid, &c->script, &c->backend_dir,
			  &c->dbenv_dir, &c->name };
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

/* sconf -- shaft's configuration file (see sconf.h). */
#include "sconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The next white-space separated word of *p (into w, cap bytes). */
static int word(const char **p, char *w, size_t cap)
{
	const char *s = *p;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strcspn(s, " \t");
	if (n == 0 || n >= cap)
		return -1;
	memcpy(w, s, n);
	w[n] = 0;
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	*p = s;
	return 0;
}

/* A DN as written: not empty, at least one "=". */
static int dn_ok(const char *v)
{
	return v[0] != 0 && strchr(v, '=') != NULL;
}

static int source(struct sconf *c, const char *v, const char **why)
{
	struct sconf_source *s;
	char name[80], prec[16], key[80], *end;
	unsigned long n;
	size_t i;

	if (c->nsrc == SCONF_SOURCES_MAX)
		return *why = "too many sources (at most 32)", -EINVAL;
	if (word(&v, name, sizeof(name)) < 0 ||
	    word(&v, prec, sizeof(prec)) < 0 ||
	    word(&v, key, sizeof(key)) < 0 || !dn_ok(v))
		return *why = "must be NAME PRECEDENCE PUBKEY BASE-DN",
		       -EINVAL;
	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
		      name[i] == '-'))
			break;
	if (name[i] != 0 || i > 64)
		return *why = "NAME must be 1..64 of A-Z a-z 0-9 _ -", -EINVAL;
	errno = 0;
	n = strtoul(prec, &end, 10);
	if (prec[0] < '0' || prec[0] > '9' || *end || errno || n == 0 ||
	    n > 1000000)
		return *why = "PRECEDENCE must be a number, 1..1000000",
		       -EINVAL;
	s = &c->src[c->nsrc];
	if (pconf_hex32(key, s->pk) < 0)
		return *why = "PUBKEY must be 64 hex digits (Ed25519)",
		       -EINVAL;
	for (i = 0; i < c->nsrc; i++) {
		if (strcmp(c->src[i].name, name) == 0)
			return *why = "a second source of this NAME", -EINVAL;
		if (c->src[i].prec == n)
			return *why = "two sources of equal PRECEDENCE "
				      "(the order must be total)", -EINVAL;
	}
	s->prec = (unsigned)n;
	s->name = strdup(name);
	s->base = strdup(v);
	c->nsrc++;
	if (s->name == NULL || s->base == NULL)
		return -ENOMEM;
	return 0;
}

static int other(void *ctx, const char *key, const char *v, unsigned line,
		 const char **why)
{
	struct sconf *c = ctx;

	(void)line;
	if (strcmp(key, "source") == 0)
		return source(c, v, why);
	if (strcmp(key, "output_base") == 0) {
		if (!dn_ok(v))
			return *why = "must be a DN", -EINVAL;
		return pconf_set_str(&c->output_base, v);
	}
	if (strcmp(key, "sign_key") == 0 || strcmp(key, "state_dir") == 0) {
		if (v[0] != '/')
			return *why = "must be an absolute path", -EINVAL;
		return pconf_set_str(key[1] == 'i' ? &c->sign_key
						   : &c->state_dir, v);
	}
	*why = "unknown key";
	return -EINVAL;
}

/* dn is base or below it (by the string, case-insensitively). */
static int dn_within(const char *dn, const char *base)
{
	size_t l = strlen(dn), b = strlen(base);

	if (l < b || strcasecmp(dn + l - b, base) != 0)
		return 0;
	return l == b || dn[l - b - 1] == ',';
}

static int check(struct sconf *c, const char **why)
{
	size_t i, j;

	if (c->conn.ldap_base != NULL || c->conn.dbenv_dir != NULL)
		return *why = "ldap_base and dbenv_dir are pulley's keys "
			      "(use source and output_base)", -EINVAL;
	if (c->nsrc == 0)
		return *why = "at least one source is required", -EINVAL;
	if (c->output_base == NULL)
		return *why = "output_base is required", -EINVAL;
	if (c->sign_key == NULL)
		return *why = "sign_key is required", -EINVAL;
	if (c->state_dir == NULL)
		return *why = "state_dir is required", -EINVAL;
	for (i = 0; i < c->nsrc; i++) {
		if (dn_within(c->output_base, c->src[i].base) ||
		    dn_within(c->src[i].base, c->output_base))
			return *why = "output_base overlaps a source's base",
			       -EINVAL;
		for (j = 0; j < i; j++)
			if (dn_within(c->src[i].base, c->src[j].base) ||
			    dn_within(c->src[j].base, c->src[i].base))
				return *why = "two sources' bases overlap",
				       -EINVAL;
	}
	return 0;
}

int sconf_parse(struct sconf *c, const char *path, const char *text,
		char *err, size_t errlen)
{
	const char *why = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = pconf_parse_ext(&c->conn, path, text, other, c, err, errlen);
	if (rc < 0)
		goto fail;
	rc = check(c, &why);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	return 0;
fail:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	sconf_free(c);
	return rc;
}

int sconf_load(struct sconf *c, const char *path, char *err, size_t errlen)
{
	const char *why = NULL;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = pconf_load_ext(&c->conn, path, other, c, err, errlen);
	if (rc < 0)
		goto fail;
	rc = check(c, &why);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	return 0;
fail:
	sconf_free(c);
	return rc;
}

void sconf_free(struct sconf *c)
{
	size_t i;

	pconf_free(&c->conn);
	for (i = 0; i < c->nsrc; i++) {
		free(c->src[i].name);
		free(c->src[i].base);
	}
	free(c->output_base);
	free(c->sign_key);
	free(c->state_dir);
	memset(c, 0, sizeof(*c));
}

/* crank_conf: crank's configuration file and signing key. */
#include "crank_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tpconfig.h"

enum kind { K_STR, K_TLS, K_BIND, K_MECH, K_PATH };

static const struct ckey {
	const char *name;
	enum kind kind;
	char **(*field)(struct crank_conf *c);
} *find_key(const char *name);

#define FIELD(n, expr) \
	static char **n(struct crank_conf *c) { return &(expr); }
FIELD(f_uri, c->ldap.ldap_uri)
FIELD(f_base, c->ldap.ldap_base)
FIELD(f_cacert, c->ldap.tls_cacert)
FIELD(f_cert, c->ldap.tls_cert)
FIELD(f_key, c->ldap.tls_key)
FIELD(f_binddn, c->ldap.bind_dn)
FIELD(f_pwfile, c->ldap.bind_password_file)
FIELD(f_mech, c->ldap.sasl_mech)
FIELD(f_authzid, c->ldap.sasl_authzid)
FIELD(f_signing, c->signing_key)

static const struct ckey keys[] = {
	{ "ldap_uri", K_STR, f_uri }, { "ldap_base", K_STR, f_base },
	{ "tls", K_TLS, NULL }, { "tls_cacert", K_PATH, f_cacert },
	{ "tls_cert", K_PATH, f_cert }, { "tls_key", K_PATH, f_key },
	{ "bind", K_BIND, NULL }, { "bind_dn", K_STR, f_binddn },
	{ "bind_password_file", K_PATH, f_pwfile },
	{ "sasl_mech", K_MECH, f_mech }, { "sasl_authzid", K_STR, f_authzid },
	{ "signing_key", K_PATH, f_signing },
};

static const struct ckey *find_key(const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

void crank_conf_free(struct crank_conf *c)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].field != NULL)
			free(*keys[i].field(c));
	memset(c, 0, sizeof(*c));
}

static const char *apply(struct crank_conf *c, const struct ckey *k,
			 const char *v, int *tls_given)
{
	char **dst;

	switch (k->kind) {
	case K_TLS:
		*tls_given = 1;
		if (strcmp(v, "starttls") == 0)
			c->ldap.tls = PCONF_TLS_STARTTLS;
		else if (strcmp(v, "ldaps") == 0)
			c->ldap.tls = PCONF_TLS_LDAPS;
		else if (strcmp(v, "none") == 0)
			c->ldap.tls = PCONF_TLS_NONE;
		else
			return "must be starttls, ldaps or none";
		return NULL;
	case K_BIND:
		if (strcmp(v, "simple") == 0)
			c->ldap.bind = PCONF_BIND_SIMPLE;
		else if (strcmp(v, "sasl") == 0)
			c->ldap.bind = PCONF_BIND_SASL;
		else
			return "must be simple or sasl (a crank writes as its "
			       "own identity)";
		return NULL;
	case K_MECH:
		if (strcmp(v, "EXTERNAL") != 0 && strcmp(v, "GSSAPI") != 0)
			return "must be EXTERNAL or GSSAPI";
		break;
	case K_PATH:
		if (v[0] != '/')
			return "must be an absolute path";
		break;
	default:
		break;
	}
	dst = k->field(c);
	free(*dst);
	*dst = strdup(v);
	return *dst == NULL ? "out of memory" : NULL;
}

static const char *check(struct crank_conf *c, int tls_given)
{
	const char *u = c->ldap.ldap_uri;

	if (u == NULL)
		return "ldap_uri is required";
	if (c->ldap.ldap_base == NULL)
		return "ldap_base (the crank's subtree) is required";
	if (c->signing_key == NULL)
		return "signing_key is required";
	if (c->ldap.bind == PCONF_BIND_NONE)
		return "bind (simple or sasl) is required";
	if (strncasecmp(u, "ldaps://", 8) == 0) {
		if (tls_given && c->ldap.tls != PCONF_TLS_LDAPS)
			return "an ldaps:// URI needs tls ldaps";
		c->ldap.tls = PCONF_TLS_LDAPS;
	} else if (strncasecmp(u, "ldap://", 7) == 0) {
		if (c->ldap.tls == PCONF_TLS_LDAPS)
			return "tls ldaps needs an ldaps:// URI";
	} else if (strncasecmp(u, "ldapi://", 8) == 0) {
		c->ldap.tls = PCONF_TLS_NONE;
	} else {
		return "ldap_uri must be ldap://, ldaps:// or ldapi://";
	}
	if (c->ldap.bind == PCONF_BIND_SIMPLE &&
	    (c->ldap.bind_dn == NULL || c->ldap.bind_password_file == NULL))
		return "bind simple needs bind_dn and bind_password_file";
	if (c->ldap.bind == PCONF_BIND_SASL && c->ldap.sasl_mech == NULL)
		return "bind sasl needs sasl_mech";
	if ((c->ldap.tls_cert == NULL) != (c->ldap.tls_key == NULL))
		return "tls_cert and tls_key go together";
	return NULL;
}

int crank_conf_parse(struct crank_conf *c, const char *path, const char *text,
		     char *err, size_t errlen)
{
	struct tpconfig tc = { 0 };
	const char *why;
	int rc, tls_given = 0;

	memset(c, 0, sizeof(*c));
	rc = tpconfig_parse(&tc, path, text, err, errlen);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < tc.count; i++) {
		const struct tpconfig_entry *e = &tc.entries[i];
		const struct ckey *k = find_key(e->key);

		why = k == NULL ? "unknown key" : apply(c, k, e->value, &tls_given);
		if (why != NULL) {
			snprintf(err, errlen, "%s:%u: %s: %s", path, e->line, e->key,
				 why);
			rc = -EINVAL;
			goto out;
		}
	}
	why = check(c, tls_given);
	if (why != NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		rc = -EINVAL;
	}
out:
	tpconfig_free(&tc);
	if (rc < 0)
		crank_conf_free(c);
	return rc;
}

int crank_conf_load(struct crank_conf *c, const char *path, char *err,
		    size_t errlen)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n == sizeof(buf) - 1) {
		snprintf(err, errlen, "%s: too large", path);
		return -EFBIG;
	}
	buf[n] = '\0';
	return crank_conf_parse(c, path, buf, err, errlen);
}

int crank_conf_signing_key(const char *path, uint8_t sk[64], uint8_t pk[32],
			   char *err, size_t errlen)
{
	uint8_t seed[32];
	char line[80];
	struct stat st;
	size_t len;
	int fd = open(path, O_RDONLY | O_NOFOLLOW), rc = 0;
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errlen, "signing_key %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "signing_key %s: readable by group or "
			 "others (chmod 600 it)", path);
		close(fd);
		return -EPERM;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = '\0';
	len = strcspn(line, "\r\n");
	if (len != 64 || sodium_hex2bin(seed, sizeof(seed), line, 64, NULL,
					NULL, NULL) != 0) {
		snprintf(err, errlen, "signing_key %s: the first line must be 64 "
			 "hex digits (an Ed25519 seed; crank keygen makes one)",
			 path);
		rc = -EINVAL;
	} else if (crypto_sign_seed_keypair(pk, sk, seed) != 0) {
		snprintf(err, errlen, "signing_key %s: unusable", path);
		rc = -EINVAL;
	}
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(line, sizeof(line));
	return rc;
}

int crank_conf_keygen(const char *path, uint8_t pk[32], char *err,
		      size_t errlen)
{
	uint8_t seed[32], sk[64];
	char hex[65 + 1];
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_bin2hex(hex, sizeof(hex), seed, sizeof(seed));
	hex[64] = '\n';
	if (write(fd, hex, 65) != 65 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -EIO;
		unlink(path);
	}
	close(fd);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

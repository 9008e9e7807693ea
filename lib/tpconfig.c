/* tpconfig -- "key value" configuration files. */
#include "tpconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* strndup, which Windows' C library lacks. */
static char *tpconfig_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static int add_entry(struct tpconfig *cfg, const char *key, size_t keylen,
		     const char *val, size_t vallen, unsigned line)
{
	struct tpconfig_entry *e;

	e = realloc(cfg->entries, (cfg->count + 1) * sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	cfg->entries = e;
	e = &cfg->entries[cfg->count];
	e->key = tpconfig_strndup(key, keylen);
	e->value = tpconfig_strndup(val, vallen);
	e->line = line;
	if (e->key == NULL || e->value == NULL) {
		free(e->key);
		free(e->value);
		return -ENOMEM;
	}
	cfg->count++;
	return 0;
}

static int parse_line(struct tpconfig *cfg, const char *s, size_t len,
		      unsigned line, char *err, size_t errlen)
{
	size_t i = 0, k0, k1, v0;

	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i == len || s[i] == '#')
		return 0;
	while (len > i && isspace((unsigned char)s[len - 1]))
		len--;
	k0 = i;
	while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_' ||
			   s[i] == '-' || s[i] == '.'))
		i++;
	k1 = i;
	if (k1 == k0 || (i < len && !isspace((unsigned char)s[i]))) {
		snprintf(err, errlen, "%s:%u: expected \"key value\"",
			 cfg->path, line);
		return -EINVAL;
	}
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	v0 = i;
	if (v0 == len) {
		snprintf(err, errlen, "%s:%u: key %.*s has no value", cfg->path,
			 line, (int)(k1 - k0), s + k0);
		return -EINVAL;
	}
	return add_entry(cfg, s + k0, k1 - k0, s + v0, len - v0, line);
}

int tpconfig_parse(struct tpconfig *cfg, const char *path, const char *text,
		   char *err, size_t errlen)
{
	unsigned line = 0;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	if (cfg->path == NULL)
		return -ENOMEM;
	while (*text != '\0') {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		/* one CR may end the line (CRLF); any other is stray */
		size_t body = len > 0 && text[len - 1] == '\r' ? len - 1 : len;

		line++;
		if (memchr(text, '\r', body) != NULL) {
			snprintf(err, errlen, "%s:%u: stray carriage return",
				 path, line);
			rc = -EINVAL;
			goto fail;
		}
		rc = parse_line(cfg, text, len, line, err, errlen);
		if (rc < 0)
			goto fail;
		text += len + (nl ? 1 : 0);
	}
	return 0;
fail:
	tpconfig_free(cfg);
	return rc;
}

int tpconfig_load(struct tpconfig *cfg, const char *path, char *err,
		  size_t errlen)
{
	FILE *f;
	char *text = NULL;
	size_t size = 0, used = 0;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	for (;;) {
		size_t n;

		if (size - used < 4096) {
			char *t = realloc(text, size + 65536);

			if (t == NULL) {
				rc = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			text = t;
			size += 65536;
		}
		n = fread(text + used, 1, size - used - 1, f);
		used += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	text[used] = '\0';
	if (strlen(text) != used) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		goto out;
	}
	rc = tpconfig_parse(cfg, path, text, err, errlen);
out:
	free(text);
	fclose(f);
	return rc;
}

const char *tpconfig_get(const struct tpconfig *cfg, const char *key)
{
	for (size_t i = cfg->count; i > 0; i--)
		if (strcmp(cfg->entries[i - 1].key, key) == 0)
			return cfg->entries[i - 1].value;
	return NULL;
}

void tpconfig_free(struct tpconfig *cfg)
{
	for (size_t i = 0; i < cfg->count; i++) {
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

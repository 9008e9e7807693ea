/* tpconfig -- "key value" configuration files.
 *
 * Lines are "key value" (value may contain spaces, trailing white space
 * dropped); '#' starts a comment line; blank lines are ignored.  The
 * parser only reads; callers check keys against what they know.
 */
#ifndef TP_TPCONFIG_H
#define TP_TPCONFIG_H

#include <stddef.h>

struct tpconfig_entry {
	char *key;
	char *value;
	unsigned line;
};

struct tpconfig {
	char *path;
	struct tpconfig_entry *entries;
	size_t count;
};

/* Parse text (NUL-terminated) named path for messages.  Returns 0, or
 * -EINVAL with "path:line: reason" in err, or -ENOMEM. */
int tpconfig_parse(struct tpconfig *cfg, const char *path, const char *text,
		   char *err, size_t errlen);

/* Read and parse a file.  Returns 0 or -errno with a message in err. */
int tpconfig_load(struct tpconfig *cfg, const char *path, char *err,
		  size_t errlen);

/* Last value given for key, or NULL. */
const char *tpconfig_get(const struct tpconfig *cfg, const char *key);

void tpconfig_free(struct tpconfig *cfg);

#endif

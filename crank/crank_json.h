/* crank_json -- the JSON of `crank serve`: an encoder into a growing
 * buffer, and a strict decoder of the only shape requests have, one
 * object whose members are strings (RFC 8259).
 *
 * The encoder escapes '"', '\\', control characters and, so that a
 * value can never close a <script> or be read as markup, '<', '>' and
 * '&'; bytes that are not UTF-8 become U+FFFD.  A failed allocation
 * sticks (err) and the caller checks once at the end.
 *
 * The decoder refuses anything else: other value types, duplicate
 * names, bad escapes, lone surrogates, invalid UTF-8, \u0000, control
 * characters, trailing data, more than CRANK_JSON_MAXMEMBERS members. */
#ifndef CRANK_JSON_H
#define CRANK_JSON_H

#include <stddef.h>

#define CRANK_JSON_MAXMEMBERS 8

struct crank_jbuf {
	char *p;
	size_t len, cap;
	int err;		/* -ENOMEM once an allocation failed */
	int comma;		/* a value was written at this level */
};

void crank_jb_raw(struct crank_jbuf *b, const char *s);
void crank_jb_str(struct crank_jbuf *b, const char *s);	/* "..." */
void crank_jb_strn(struct crank_jbuf *b, const char *s, size_t n);
/* Structure: a member name starts "name": and the separators are
 * written for the caller. */
void crank_jb_open(struct crank_jbuf *b, char c);	/* '{' or '[' */
void crank_jb_close(struct crank_jbuf *b, char c);	/* '}' or ']' */
void crank_jb_key(struct crank_jbuf *b, const char *name);
/* A member: "name": value. */
void crank_jb_kstr(struct crank_jbuf *b, const char *name, const char *v);
void crank_jb_kint(struct crank_jbuf *b, const char *name, long long v);
void crank_jb_kbool(struct crank_jbuf *b, const char *name, int v);
/* An element of an array. */
void crank_jb_estr(struct crank_jbuf *b, const char *v);
void crank_jb_free(struct crank_jbuf *b);

struct crank_json_member {
	char *name, *value;	/* NUL-terminated, malloc'ed */
	size_t vlen;
};

struct crank_json_obj {
	struct crank_json_member m[CRANK_JSON_MAXMEMBERS];
	size_t n;
};

/* Decode text (len bytes).  0, -EINVAL with a reason and the byte
 * offset in err, or -ENOMEM. */
int crank_json_parse(const char *text, size_t len, struct crank_json_obj *o,
		     char *err, size_t errlen);
/* The value of member name, or NULL. */
const struct crank_json_member *crank_json_get(const struct crank_json_obj *o,
					       const char *name);
/* Every member is one of the NULL-terminated names: 0, or -EINVAL
 * naming the first other one in err. */
int crank_json_only(const struct crank_json_obj *o, const char *const *names,
		    char *err, size_t errlen);
void crank_json_free(struct crank_json_obj *o);

#endif

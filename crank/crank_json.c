/* crank_json: JSON encoder and strict decoder (crank_json.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crank_json.h"

/* ---- encoder ---- */

static void put(struct crank_jbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void crank_jb_raw(struct crank_jbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Length of the UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

void crank_jb_strn(struct crank_jbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0;

	put(b, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];
		char esc[8];
		size_t k;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' &&
		    c != '>' && c != '&') {
			i++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_len(u + i, n - i)) > 0) {
			i += k;
			continue;
		}
		put(b, s + start, i - start);
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (c == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (c == '\r')
			snprintf(esc, sizeof(esc), "\\r");
		else if (c >= 0x80)
			snprintf(esc, sizeof(esc), "\\ufffd");
		else
			snprintf(esc, sizeof(esc), "\\u%04x", c);
		put(b, esc, strlen(esc));
		start = ++i;
	}
	put(b, s + start, i - start);
	put(b, "\"", 1);
}

void crank_jb_str(struct crank_jbuf *b, const char *s)
{
	crank_jb_strn(b, s, strlen(s));
}

static void sep(struct crank_jbuf *b)
{
	if (b->comma)
		put(b, ",", 1);
	b->comma = 1;
}

void crank_jb_open(struct crank_jbuf *b, char c)
{
	char s[2] = { c, 0 };

	if (b->comma < 0)	/* right after a key */
		b->comma = 0;
	else
		sep(b);
	put(b, s, 1);
	b->comma = 0;
}

void crank_jb_close(struct crank_jbuf *b, char c)
{
	char s[2] = { c, 0 };

	put(b, s, 1);
	b->comma = 1;
}

void crank_jb_key(struct crank_jbuf *b, const char *name)
{
	sep(b);
	crank_jb_str(b, name);
	put(b, ":", 1);
	b->comma = -1;
}

static void value_start(struct crank_jbuf *b)
{
	if (b->comma < 0)
		b->comma = 1;
	else
		sep(b);
}

void crank_jb_kstr(struct crank_jbuf *b, const char *name, const char *v)
{
	crank_jb_key(b, name);
	value_start(b);
	if (v == NULL)
		put(b, "null", 4);
	else
		crank_jb_str(b, v);
}

void crank_jb_kint(struct crank_jbuf *b, const char *name, long long v)
{
	char num[32];

	crank_jb_key(b, name);
	value_start(b);
	snprintf(num, sizeof(num), "%lld", v);
	crank_jb_raw(b, num);
}

void crank_jb_kbool(struct crank_jbuf *b, const char *name, int v)
{
	crank_jb_key(b, name);
	value_start(b);
	crank_jb_raw(b, v ? "true" : "false");
}

void crank_jb_estr(struct crank_jbuf *b, const char *v)
{
	value_start(b);
	crank_jb_str(b, v);
}

void crank_jb_free(struct crank_jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- decoder ---- */

struct dec {
	const unsigned char *s;
	size_t n, i;
	char *err;
	size_t errlen;
};

static int fail(struct dec *d, const char *why)
{
	snprintf(d->err, d->errlen, "JSON: %s at byte %zu", why, d->i);
	return -EINVAL;
}

static void ws(struct dec *d)
{
	while (d->i < d->n && (d->s[d->i] == ' ' || d->s[d->i] == '\t' ||
			       d->s[d->i] == '\n' || d->s[d->i] == '\r'))
		d->i++;
}

static int hex4(struct dec *d, uint32_t *v)
{
	*v = 0;
	if (d->n - d->i < 4)
		return fail(d, "short \\u escape");
	for (int k = 0; k < 4; k++) {
		unsigned char c = d->s[d->i++];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return fail(d, "bad \\u escape");
	}
	return 0;
}

static size_t utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at d->i (on the '"'): malloc'ed into *out. */
static int string(struct dec *d, char **out, size_t *olen)
{
	char *o;
	size_t k = 0;

	if (d->i >= d->n || d->s[d->i] != '"')
		return fail(d, "expected a string");
	d->i++;
	/* decoding never grows the text */
	o = malloc(d->n - d->i + 1);
	if (o == NULL)
		return -ENOMEM;
	for (;;) {
		unsigned char c;
		size_t u;

		if (d->i >= d->n) {
			free(o);
			return fail(d, "unterminated string");
		}
		c = d->s[d->i];
		if (c == '"') {
			d->i++;
			break;
		}
		if (c < 0x20) {
			free(o);
			return fail(d, "control character in a string");
		}
		if (c >= 0x80) {
			u = utf8_len(d->s + d->i, d->n - d->i);
			if (u == 0) {
				free(o);
				return fail(d, "invalid UTF-8");
			}
			memcpy(o + k, d->s + d->i, u);
			k += u;
			d->i += u;
			continue;
		}
		d->i++;
		if (c != '\\') {
			o[k++] = (char)c;
			continue;
		}
		if (d->i >= d->n) {
			free(o);
			return fail(d, "unterminated escape");
		}
		c = d->s[d->i++];
		switch (c) {
		case '"': case '\\': case '/':
			o[k++] = (char)c;
			break;
		case 'b': o[k++] = '\b'; break;
		case 'f': o[k++] = '\f'; break;
		case 'n': o[k++] = '\n'; break;
		case 'r': o[k++] = '\r'; break;
		case 't': o[k++] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;

			if (hex4(d, &cp) < 0)
				goto bad;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(d, "lone low surrogate");
				goto bad;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (d->n - d->i < 2 || d->s[d->i] != '\\' ||
				    d->s[d->i + 1] != 'u') {
					fail(d, "lone high surrogate");
					goto bad;
				}
				d->i += 2;
				if (hex4(d, &lo) < 0)
					goto bad;
				if (lo < 0xdc00 || lo > 0xdfff) {
					fail(d, "bad surrogate pair");
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0) {
				fail(d, "\\u0000 is not allowed");
				goto bad;
			}
			k += utf8_put(o + k, cp);
			break;
		}
		default:
			d->i--;
			fail(d, "bad escape");
			goto bad;
		}
	}
	o[k] = '\0';
	*out = o;
	*olen = k;
	return 0;
bad:
	free(o);
	return -EINVAL;
}

int crank_json_parse(const char *text, size_t len, struct crank_json_obj *o,
		     char *err, size_t errlen)
{
	struct dec d = { (const unsigned char *)text, len, 0, err, errlen };
	int rc;

	memset(o, 0, sizeof(*o));
	ws(&d);
	if (d.i >= d.n || d.s[d.i] != '{')
		return fail(&d, "expected an object");
	d.i++;
	ws(&d);
	if (d.i < d.n && d.s[d.i] == '}') {
		d.i++;
		goto end;
	}
	for (;;) {
		struct crank_json_member *m;
		size_t nl;

		if (o->n == CRANK_JSON_MAXMEMBERS) {
			rc = fail(&d, "too many members");
			goto bad;
		}
		m = &o->m[o->n];
		ws(&d);
		rc = string(&d, &m->name, &nl);
		if (rc < 0)
			goto bad;
		o->n++;
		for (size_t j = 0; j + 1 < o->n; j++)
			if (strcmp(o->m[j].name, m->name) == 0) {
				rc = fail(&d, "duplicate member");
				goto bad;
			}
		ws(&d);
		if (d.i >= d.n || d.s[d.i] != ':') {
			rc = fail(&d, "expected ':'");
			goto bad;
		}
		d.i++;
		ws(&d);
		if (d.i < d.n && d.s[d.i] != '"') {
			rc = fail(&d, "only string values are accepted");
			goto bad;
		}
		rc = string(&d, &m->value, &m->vlen);
		if (rc < 0)
			goto bad;
		ws(&d);
		if (d.i < d.n && d.s[d.i] == ',') {
			d.i++;
			continue;
		}
		if (d.i < d.n && d.s[d.i] == '}') {
			d.i++;
			break;
		}
		rc = fail(&d, "expected ',' or '}'");
		goto bad;
	}
end:
	ws(&d);
	if (d.i != d.n) {
		rc = fail(&d, "trailing data");
		goto bad;
	}
	return 0;
bad:
	crank_json_free(o);
	return rc;
}

const struct crank_json_member *crank_json_get(const struct crank_json_obj *o,
					       const char *name)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->m[i].name, name) == 0)
			return &o->m[i];
	return NULL;
}

int crank_json_only(const struct crank_json_obj *o, const char *const *names,
		    char *err, size_t errlen)
{
	for (size_t i = 0; i < o->n; i++) {
		size_t k = 0;

		while (names[k] != NULL && strcmp(names[k], o->m[i].name) != 0)
			k++;
		if (names[k] == NULL) {
			char shown[64];
			struct crank_jbuf b = { 0 };

			crank_jb_str(&b, o->m[i].name);
			snprintf(shown, sizeof(shown), "%s", b.p ? b.p : "?");
			crank_jb_free(&b);
			snprintf(err, errlen, "unknown member %s", shown);
			return -EINVAL;
		}
	}
	return 0;
}

void crank_json_free(struct crank_json_obj *o)
{
	for (size_t i = 0; i < CRANK_JSON_MAXMEMBERS; i++) {
		free(o->m[i].name);
		free(o->m[i].value);
	}
	memset(o, 0, sizeof(*o));
}

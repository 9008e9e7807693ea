/* donai -- Domain-or-Network-Access-Identifiers and their selectors. */
#include "donai.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Refuse with "offset N: reason". */
static int fail(char *why, size_t whylen, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (why == NULL || whylen == 0)
		return -EINVAL;
	n = snprintf(why, whylen, "offset %zu: ", off);
	if (n >= 0 && (size_t)n < whylen) {
		va_start(ap, fmt);
		vsnprintf(why + n, whylen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void set_ok(char *why, size_t whylen)
{
	if (why != NULL && whylen > 0)
		why[0] = '\0';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* RFC 5322 atext. */
static int is_atext(int c)
{
	return is_alpha(c) || is_digit(c) ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* Printable form of a character for messages. */
static const char *show(int c, char *buf, size_t len)
{
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", (unsigned)(unsigned char)c);
	return buf;
}

/* ---- Punycode (RFC 3492), only to check that an A-label decodes ---- */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38,
       PC_DAMP = 700, PC_BIAS = 72, PC_N = 128 };

static uint32_t pc_adapt(uint32_t delta, uint32_t points, int first)
{
	uint32_t k = 0;

	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static int pc_digit(int c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return -1;
}

/* Read one generalised variable-length integer into *i.  Returns the
 * number of characters used, or 0 when the input is malformed. */
static size_t pc_varint(const char *s, size_t len, uint32_t bias,
			uint32_t *i)
{
	uint32_t w = 1, k, t;
	size_t used = 0;

	for (k = PC_BASE;; k += PC_BASE) {
		int digit;

		if (used == len || (digit = pc_digit(s[used])) < 0)
			return 0;
		used++;
		if ((uint32_t)digit > (UINT32_MAX - *i) / w)
			return 0;
		*i += (uint32_t)digit * w;
		t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX
							      : k - bias;
		if ((uint32_t)digit < t)
			return used;
		if (w > UINT32_MAX / (PC_BASE - t))
			return 0;
		w *= PC_BASE - t;
	}
}

/* True when s[0..len) (lower case, after "xn--") decodes to a string
 * with at least one non-ASCII code point and no invalid ones. */
static int punycode_ok(const char *s, size_t len)
{
	const char *dash = NULL;
	uint32_t n = PC_N, i = 0, bias = PC_BIAS, out = 0;
	size_t pos = 0;

	for (size_t k = 0; k < len; k++)
		if (s[k] == '-')
			dash = s + k;
	if (dash != NULL) {
		out = (uint32_t)(dash - s);
		pos = out + 1;
	}
	if (pos == len)
		return 0;	/* nothing encoded: not an IDN */
	while (pos < len) {
		uint32_t oldi = i;
		size_t used = pc_varint(s + pos, len - pos, bias, &i);

		if (used == 0)
			return 0;
		pos += used;
		bias = pc_adapt(i - oldi, out + 1, oldi == 0);
		if (i / (out + 1) > UINT32_MAX - n)
			return 0;
		n += i / (out + 1);
		i %= out + 1;
		if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff))
			return 0;
		out++;
		i++;
	}
	return 1;
}

/* ---- syntax ---- */

/* Check the dot-atom user part s[0..len), found at offset base. */
static int check_user(const char *s, size_t len, size_t base, char *why,
		      size_t whylen)
{
	char cb[16];

	if (len == 0)
		return fail(why, whylen, base, "empty user part before '@'");
	if (len > DONAI_USER_MAX)
		return fail(why, whylen, base + DONAI_USER_MAX,
			    "user part longer than %d characters",
			    DONAI_USER_MAX);
	for (size_t k = 0; k < len; k++) {
		if (s[k] == '.') {
			if (k == 0)
				return fail(why, whylen, base,
					    "user part starts with '.'");
			if (k + 1 == len)
				return fail(why, whylen, base + k,
					    "user part ends with '.'");
			if (s[k + 1] == '.')
				return fail(why, whylen, base + k + 1,
					    "two dots in a row in the user "
					    "part");
		} else if (!is_atext((unsigned char)s[k])) {
			return fail(why, whylen, base + k,
				    "%s not allowed in the user part",
				    show((unsigned char)s[k], cb, sizeof(cb)));
		}
	}
	return 0;
}

/* Check one label s[0..len) at offset base. */
static int check_label(const char *s, size_t len, size_t base, char *why,
		       size_t whylen)
{
	char cb[16], low[DONAI_LABEL_MAX];

	if (len > DONAI_LABEL_MAX)
		return fail(why, whylen, base + DONAI_LABEL_MAX,
			    "label longer than %d characters",
			    DONAI_LABEL_MAX);
	for (size_t k = 0; k < len; k++) {
		int c = (unsigned char)s[k];

		if (c >= 0x80)
			return fail(why, whylen, base + k,
				    "non-ASCII byte 0x%02x; write "
				    "internationalised names as A-labels "
				    "(xn--...)", (unsigned)c);
		if (!is_alpha(c) && !is_digit(c) && c != '-')
			return fail(why, whylen, base + k,
				    "%s not allowed in a domain name",
				    show(c, cb, sizeof(cb)));
		low[k] = (char)to_lower(c);
	}
	if (s[0] == '-')
		return fail(why, whylen, base, "label starts with '-'");
	if (s[len - 1] == '-')
		return fail(why, whylen, base + len - 1,
			    "label ends with '-'");
	if (len >= 4 && memcmp(low, "xn--", 4) == 0 &&
	    !punycode_ok(low + 4, len - 4))
		return fail(why, whylen, base,
			    "\"%.*s\" is not a valid A-label (bad Punycode)",
			    (int)len, s);
	return 0;
}

/* Check the domain s[0..len) at offset base and store it in lower case
 * into out (at least len + 1 bytes). */
static int check_domain(const char *s, size_t len, size_t base, char *out,
			char *why, size_t whylen)
{
	size_t start = 0;
	int rc;

	if (len == 0)
		return fail(why, whylen, base, "empty domain");
	for (size_t k = 0; k <= len; k++) {
		if (k < len && s[k] != '.')
			continue;
		if (k == start) {
			if (k == len)
				return fail(why, whylen, base + k - 1,
					    "trailing dot not allowed");
			return fail(why, whylen, base + k,
				    k == 0 ? "empty label: domain starts "
					     "with '.'"
					   : "empty label: two dots in a row");
		}
		rc = check_label(s + start, k - start, base + start, why,
				 whylen);
		if (rc < 0)
			return rc;
		start = k + 1;
	}
	for (size_t k = 0; k < len; k++)
		out[k] = (char)to_lower((unsigned char)s[k]);
	out[len] = '\0';
	return 0;
}

/* Common checks of a whole text; finds the one '@' (or NULL). */
static int check_text(const char *text, const char **at, char *why,
		      size_t whylen)
{
	size_t len;

	if (text == NULL)
		return fail(why, whylen, 0, "no text");
	len = strnlen(text, DONAI_MAXLEN + 1);
	if (len == 0)
		return fail(why, whylen, 0, "empty");
	if (len > DONAI_MAXLEN)
		return fail(why, whylen, DONAI_MAXLEN,
			    "longer than %d characters", DONAI_MAXLEN);
	*at = strchr(text, '@');
	if (*at != NULL && strchr(*at + 1, '@') != NULL)
		return fail(why, whylen,
			    (size_t)(strchr(*at + 1, '@') - text),
			    "second '@'; at most one is allowed");
	return 0;
}

int donai_parse(const char *text, struct donai *out, char *why,
		size_t whylen)
{
	const char *at, *dom;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_text(text, &at, why, whylen);
	if (rc < 0)
		return rc;
	dom = text;
	if (at != NULL) {
		rc = check_user(text, (size_t)(at - text), 0, why, whylen);
		if (rc < 0)
			return rc;
		memcpy(out->user, text, (size_t)(at - text));
		dom = at + 1;
	}
	rc = check_domain(dom, strlen(dom), (size_t)(dom - text),
			  out->domain, why, whylen);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	set_ok(why, whylen);
	return 0;
}

/* Join up to three pieces into buf; returns length or -ENOSPC. */
static int join3(char *buf, size_t len, const char *a, const char *b,
		 const char *c)
{
	int n;

	if (buf == NULL || len == 0)
		return -ENOSPC;
	n = snprintf(buf, len, "%s%s%s", a, b, c);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

int donai_format(const struct donai *d, char *buf, size_t len)
{
	if (d->user[0] == '\0')
		return join3(buf, len, "", "", d->domain);
	return join3(buf, len, d->user, "@", d->domain);
}

/* ---- selectors ---- */

void donai_iter_init(struct donai_iter *it, const struct donai *d)
{
	memset(it, 0, sizeof(*it));
	it->d = d;
}

static void iter_advance(struct donai_iter *it)
{
	const char *dot;

	it->level++;
	if (it->d->user[0] != '\0' && !it->anyuser) {
		it->anyuser = 1;
		return;
	}
	it->anyuser = 0;
	if (it->root) {
		it->done = 1;
		return;
	}
	dot = strchr(it->d->domain + it->off, '.');
	it->stripped = 1;
	if (dot == NULL)
		it->root = 1;
	else
		it->off = (size_t)(dot + 1 - it->d->domain);
}

int donai_iter_next(struct donai_iter *it, char *sel, size_t sellen,
		    unsigned *level)
{
	char dpart[DONAI_BUFSIZE + 1];
	int n;

	if (it->done)
		return 0;
	snprintf(dpart, sizeof(dpart), "%s%s", it->stripped ? "." : "",
		 it->root ? "" : it->d->domain + it->off);
	if (it->d->user[0] == '\0')
		n = join3(sel, sellen, "", "", dpart);
	else
		n = join3(sel, sellen, it->anyuser ? "" : it->d->user, "@",
			  dpart);
	if (n < 0)
		return n;
	if (level != NULL)
		*level = it->level;
	iter_advance(it);
	return 1;
}

int donai_selector_parse(const char *sel, struct donai_selector *out,
			 char *why, size_t whylen)
{
	const char *at, *dom;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_text(sel, &at, why, whylen);
	if (rc < 0)
		return rc;
	dom = sel;
	if (at != NULL) {
		/* "@..." means any user; otherwise a real user part */
		if (at != sel) {
			rc = check_user(sel, (size_t)(at - sel), 0, why,
					whylen);
			if (rc < 0)
				return rc;
			memcpy(out->user, sel, (size_t)(at - sel));
		}
		out->has_at = 1;
		dom = at + 1;
	}
	if (dom[0] == '.') {
		out->subdomains = 1;
		dom++;
		if (dom[0] == '\0')
			goto ok;	/* ".", "@.", "user@." */
	}
	rc = check_domain(dom, strlen(dom), (size_t)(dom - sel), out->domain,
			  why, whylen);
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
ok:
	set_ok(why, whylen);
	return 0;
}

int donai_selector_format(const struct donai_selector *s, char *buf,
			  size_t len)
{
	char dpart[DONAI_BUFSIZE + 1];

	snprintf(dpart, sizeof(dpart), "%s%s", s->subdomains ? "." : "",
		 s->domain);
	if (!s->has_at)
		return join3(buf, len, "", "", dpart);
	return join3(buf, len, s->user, "@", dpart);
}

static unsigned count_labels(const char *domain)
{
	unsigned n = domain[0] != '\0';

	for (const char *p = domain; *p != '\0'; p++)
		n += *p == '.';
	return n;
}

/* How many labels the iteration strips from id's domain before it
 * produces s's domain part, or -1 when it never does. */
static int strip_count(const struct donai_selector *s, const char *domain)
{
	size_t dl = strlen(domain), sl = strlen(s->domain);

	if (!s->subdomains)
		return strcmp(s->domain, domain) == 0 ? 0 : -1;
	if (sl == 0)
		return (int)count_labels(domain);
	if (dl <= sl + 1 || domain[dl - sl - 1] != '.' ||
	    strcmp(domain + dl - sl, s->domain) != 0)
		return -1;
	return (int)(count_labels(domain) - count_labels(s->domain));
}

int donai_selector_level(const struct donai_selector *s,
			 const struct donai *id)
{
	int k;

	if (!s->has_at != (id->user[0] == '\0'))
		return -1;
	if (s->user[0] != '\0' && strcmp(s->user, id->user) != 0)
		return -1;
	k = strip_count(s, id->domain);
	if (k < 0)
		return -1;
	if (!s->has_at)
		return k;
	return 2 * k + (s->user[0] == '\0');
}

int donai_selector_covers(const char *selector, const struct donai *id)
{
	struct donai_selector s;

	if (donai_selector_parse(selector, &s, NULL, 0) < 0)
		return -EINVAL;
	return donai_selector_level(&s, id) >= 0;
}

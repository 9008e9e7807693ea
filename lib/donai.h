/* donai -- Domain-or-Network-Access-Identifiers and their selectors.
 *
 * A DoNAI is "user@domain" or a bare "domain".  The domain is a sequence
 * of LDH labels (letters, digits, hyphens; 1..63 characters, no hyphen at
 * either end) separated by single dots, without a trailing dot, stored in
 * lower case.  Internationalised names must be given in A-label ("xn--")
 * form; the Punycode of such a label is checked.  The user part is 1..64
 * characters of RFC 5322 dot-atom text, case preserved.  The whole text is
 * at most DONAI_MAXLEN (127) characters so that it fits the 128-byte
 * fields of the wire protocol; this also keeps every domain well below
 * the DNS limit of 253 characters.
 *
 * Policy is keyed by selectors, which abstract an identity step by step:
 *   user@sub.example.com  @sub.example.com  user@.example.com
 *   @.example.com  user@.com  @.com  user@.  @.
 * and for a bare domain
 *   sub.example.com  .example.com  .com  .
 * A leading dot means "any proper subdomain of"; "." alone matches every
 * domain.  The most concrete selector (lowest level) wins.
 *
 * Nothing here allocates; every function is safe to call from any thread.
 */
#ifndef TP_DONAI_H
#define TP_DONAI_H

#include <stddef.h>

#define DONAI_MAXLEN 127	/* characters of a DoNAI or a selector */
#define DONAI_USER_MAX 64	/* characters of the user part */
#define DONAI_LABEL_MAX 63	/* characters of one domain label */
#define DONAI_BUFSIZE (DONAI_MAXLEN + 1)	/* fits any DoNAI/selector */

struct donai {
	char user[DONAI_USER_MAX + 1];	/* "" for a bare domain */
	char domain[DONAI_BUFSIZE];	/* lower case, never empty */
};

/* A parsed selector.  The forms, by (user, has_at, subdomains):
 *   "user@domain"  (u, 1, 0)    "domain"  ("", 0, 0)
 *   "@domain"      ("", 1, 0)   ".domain" ("", 0, 1)
 *   "user@.domain" (u, 1, 1)    "user@."  (u, 1, 1) with domain ""
 *   "@.domain"     ("", 1, 1)   "@." and "." with domain "" */
struct donai_selector {
	char user[DONAI_USER_MAX + 1];	/* "" when any user matches */
	char domain[DONAI_BUFSIZE];	/* lower case, no leading dot */
	unsigned char has_at;		/* matches user identities only */
	unsigned char subdomains;	/* proper subdomains of domain */
};

struct donai_iter {
	const struct donai *d;
	size_t off;		/* start of the current domain suffix */
	unsigned level;		/* level of the next selector */
	unsigned char stripped;	/* at least one label removed */
	unsigned char root;	/* all labels removed: "." */
	unsigned char anyuser;	/* next one is the "@..." form */
	unsigned char done;
};

/* Parse a DoNAI.  Returns 0, or -EINVAL with "offset N: reason" in why
 * (always NUL-terminated when whylen > 0; offsets count from 0). */
int donai_parse(const char *text, struct donai *out, char *why,
		size_t whylen);

/* Write "user@domain" or "domain" into buf.  Returns the length, or
 * -ENOSPC when it does not fit (buf then holds a truncated string). */
int donai_format(const struct donai *d, char *buf, size_t len);

/* Iterate over the selectors of d, most concrete first.  d must stay in
 * place while iterating.  donai_iter_next writes the next selector into
 * sel and its level (0 for d itself, then 1, 2, ...) into *level (may be
 * NULL); it returns 1 when it produced one, 0 at the end, or -ENOSPC
 * when sellen is too small (DONAI_BUFSIZE always suffices; the iterator
 * does not advance then). */
void donai_iter_init(struct donai_iter *it, const struct donai *d);
int donai_iter_next(struct donai_iter *it, char *sel, size_t sellen,
		    unsigned *level);

/* Parse a selector in any of the forms above.  Returns 0, or -EINVAL
 * with "offset N: reason" in why. */
int donai_selector_parse(const char *sel, struct donai_selector *out,
			 char *why, size_t whylen);

/* Canonical text of a parsed selector (domain in lower case).  Returns
 * the length or -ENOSPC, like donai_format. */
int donai_selector_format(const struct donai_selector *s, char *buf,
			  size_t len);

/* The level at which the iteration over id produces s, or -1 when it
 * never does. */
int donai_selector_level(const struct donai_selector *s,
			 const struct donai *id);

/* 1 when the iteration over id produces selector (compared in canonical
 * form), 0 when not, -EINVAL when selector is malformed. */
int donai_selector_covers(const char *selector, const struct donai *id);

#endif

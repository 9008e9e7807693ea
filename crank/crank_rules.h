/* crank_rules -- one rule (item) of a policy source as text, for the
 * editor of `crank serve`: list the items of a source with their exact
 * bytes, and replace, add or remove one, leaving every other byte of
 * the file (comments, layout) as it was.
 *
 * An item is named by its head line: the keyword and the arguments,
 * separated by one space, an argument that was a string written in
 * quotes ("policy @.example.com client", "anchor certs/ca.pem").  Its
 * text runs from the start of its head line to the end of the line of
 * its closing brace (or of the head line when it has no block).
 * Text only: nothing is checked beyond the syntax (crank_src). */
#ifndef CRANK_RULES_H
#define CRANK_RULES_H

#include <stddef.h>

#include "crank_src.h"

struct crank_rule_text {
	char *id;
	unsigned line;		/* of the head */
	size_t start, end;	/* byte range in the text */
};

struct crank_rules {
	struct crank_rule_text *r;
	size_t n;
};

/* The items of text (named file for messages).  0, -EINVAL when the
 * text has syntax errors (reported through diag), -ENOMEM. */
int crank_rules_list(const char *file, const char *text, size_t len,
		     struct crank_rules *rs, crank_diag_fn diag, void *ctx);
void crank_rules_free(struct crank_rules *rs);
/* The index of the rule with that id, or -1. */
long crank_rules_find(const struct crank_rules *rs, const char *id);

/* A new source: text with rule id replaced by item (id NULL: item
 * appended; item NULL: rule id removed).  item must be exactly one item
 * without syntax errors; another rule with the new item's id is a
 * conflict.  0 with *out (malloc'ed, *outlen bytes), -ENOENT (no rule
 * id), -EEXIST (conflict), -EINVAL (item or text not valid; reason in
 * err, syntax errors through diag), -ENOMEM. */
int crank_rules_edit(const char *file, const char *text, size_t len,
		     const char *id, const char *item, char **out,
		     size_t *outlen, char *err, size_t errlen,
		     crank_diag_fn diag, void *ctx);

#endif

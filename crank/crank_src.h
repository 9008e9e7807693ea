/* crank_src -- the syntax of a crank policy source (doc/crank.md).
 *
 * A source is a sequence of items, one per line, each optionally with a
 * block of settings in braces:
 *
 *   policy @.example.com client {
 *       min-version TLS1.2
 *       valexp "IT&"
 *   }
 *
 * Words are runs of printable characters other than space, '"', '{',
 * '}' and '#'; strings are in double quotes with \" and \\ escapes and
 * no line break.  '#' outside a string starts a comment up to the end
 * of the line.  A setting takes one line; "{ setting }" may stand on
 * the line of the item.  Blocks do not nest.
 *
 * This module knows only the syntax: no keyword is interpreted and no
 * file is opened.  Every token keeps its file, line and column (1-based;
 * a column counts characters, a UTF-8 sequence is one), so every later
 * stage can point at the exact place.
 */
#ifndef CRANK_SRC_H
#define CRANK_SRC_H

#include <stddef.h>

#define CRANK_SRC_MAXTOK 4096	/* bytes of one word or string */
#define CRANK_SRC_MAXARGS 300	/* arguments of one line */

struct crank_pos {
	const char *file;	/* owned by the crank_src */
	unsigned line, col;
};

struct crank_tok {
	char *text;		/* unquoted, NUL-terminated */
	int quoted;		/* written as a string */
	struct crank_pos pos;
};

/* One line: a keyword and its arguments. */
struct crank_stmt {
	struct crank_tok kw;
	struct crank_tok *args;
	size_t nargs;
};

/* A top-level item: its head line and the settings of its block. */
struct crank_item {
	struct crank_stmt head;
	int has_block;
	struct crank_stmt *set;
	size_t nset;
};

struct crank_src {
	char **files;		/* names for positions, in reading order */
	size_t nfiles;
	struct crank_item *items;
	size_t nitems;
};

/* Diagnostics: severity "error" or "warning". */
typedef void (*crank_diag_fn)(void *ctx, const struct crank_pos *pos,
			      const char *severity, const char *msg);

/* Parse text (len bytes, need not be NUL-terminated) named file and
 * append its items to src (zero it before the first call).  Every error
 * goes to diag; parsing goes on after an error at the next line, so one
 * run reports them all.  Returns the number of errors (0: fine), or
 * -ENOMEM. */
int crank_src_parse(struct crank_src *src, const char *file,
		    const char *text, size_t len, crank_diag_fn diag,
		    void *ctx);

/* Read a source: a file, or every regular file named *.crank in a
 * directory (not recursive), in byte order of their names.  Returns
 * the number of errors, or -errno when a file cannot be read (reported
 * through diag as well). */
int crank_src_load(struct crank_src *src, const char *path,
		   crank_diag_fn diag, void *ctx);

void crank_src_free(struct crank_src *src);

/* The position of byte off of t->text in the source: a UTF-8 sequence
 * is one column, and inside a string '"' and '\\' took two (escaped). */
struct crank_pos crank_tok_pos(const struct crank_tok *t, size_t off);

/* "file:line:col" for messages. */
void crank_pos_format(const struct crank_pos *pos, char *buf, size_t len);

#endif

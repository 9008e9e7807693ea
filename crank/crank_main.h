/* crank: what the commands share (crank.c). */
#ifndef CRANK_MAIN_H
#define CRANK_MAIN_H

#include "crank_build.h"
#include "crank_model.h"
#include "crank_src.h"

/* Exit codes (crank(1)). */
#define CRANK_EXIT_OK 0
#define CRANK_EXIT_SOURCE 1	/* the source has errors */
#define CRANK_EXIT_USAGE 2	/* usage or configuration */
#define CRANK_EXIT_LDAP 3	/* directory unreachable, bind or read refused */
#define CRANK_EXIT_PARTIAL 4	/* apply: some entries were not written */

struct crank_loaded {
	struct crank_src src;
	struct crank_model model;
	struct crank_recs recs;
	unsigned errors, warnings;
};

/* Parse, check and build source, printing every diagnostic to stderr
 * in source order as "file:line:col: severity: message".  0, or -EINVAL when there were
 * errors (l is then empty). */
int crank_load(const char *source, const struct crank_build_opts *o,
	       struct crank_loaded *l);
void crank_loaded_free(struct crank_loaded *l);

/* Where crank_load and crank_publish send what they find: the CLI
 * prints it (crank_report_print), `crank serve` turns it into JSON.
 * Any callback may be NULL. */
struct crank_report_attr {
	const char *type, *before, *after;	/* values as text */
};

struct crank_report {
	void *ctx;
	/* a source diagnostic, in source order (line 0: no position) */
	void (*diag)(void *ctx, const char *file, unsigned line, unsigned col,
		     const char *severity, const char *msg);
	/* anything else that went wrong (configuration, LDAP, memory) */
	void (*error)(void *ctx, const char *msg);
	void (*plan_head)(void *ctx, const char *base, const char *pkhex);
	/* a non-policy entry that plan and apply leave alone */
	void (*leave)(void *ctx, const char *dn);
	/* plan: one change (op "add", "modify", "replace", "delete"); for a
	 * modify the changed attributes and the record before and after */
	void (*change)(void *ctx, const char *op, const char *label,
		       const char *dn, const struct crank_report_attr *attrs,
		       int nattrs, const char *was, const char *now);
	/* apply: one write (op "added", ...), err NULL when it succeeded */
	void (*result)(void *ctx, const char *op, const char *label,
		       const char *dn, const char *err);
	/* counts by op: none, add, modify, replace, delete */
	void (*summary)(void *ctx, int apply, const unsigned count[5],
			unsigned failed);
	/* crank_publish_list: one entry of the subtree */
	void (*entry)(void *ctx, const char *dn, const char *label,
		      int is_policy, const char *record, const char *valexp);
};

/* The CLI's report: diagnostics and errors on stderr, the rest on
 * stdout, in the formats of crank(1). */
extern const struct crank_report crank_report_print;

/* crank_load with the diagnostics going to r (sorted); l->errors and
 * l->warnings count them.  text (len bytes) replaces the content of
 * source when not NULL (source must then be a file name). */
int crank_load_report(const char *source, const char *text, size_t len,
		      const struct crank_build_opts *o, struct crank_loaded *l,
		      const struct crank_report *r);

/* plan (apply 0) or apply (crank_publish.c): an exit code. */
int crank_publish(const char *source, const struct crank_build_opts *o,
		  const char *config, int apply);
int crank_publish_report(const char *source, const struct crank_build_opts *o,
			 const char *config, int apply,
			 const struct crank_report *r);
/* The entries of the crank's subtree, through r->entry. */
int crank_publish_list(const char *config, const struct crank_report *r);

#endif

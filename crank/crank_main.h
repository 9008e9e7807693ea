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

/* plan (apply 0) or apply (crank_publish.c): an exit code. */
int crank_publish(const char *source, const struct crank_build_opts *o,
		  const char *config, int apply);

#endif

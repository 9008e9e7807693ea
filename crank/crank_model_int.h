/* crank_model internals shared by crank_model.c (items and settings)
 * and crank_model_dup.c (contradictions). */
#ifndef CRANK_MODEL_INT_H
#define CRANK_MODEL_INT_H

#include "crank_model.h"

#define CRANK_MODEL_SETTINGS 24

struct ctx {
	crank_diag_fn diag;
	void *dctx;
	int errors;
	const struct crank_stmt *seen[CRANK_MODEL_SETTINGS];
};

/* Report an error (counted) or a warning at pos. */
void crank_model_err(struct ctx *c, const struct crank_pos *pos,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void crank_model_warn(struct ctx *c, const struct crank_pos *pos,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define err crank_model_err
#define warn crank_model_warn

/* The contradictions between items (crank_model_dup.c).  0 or -ENOMEM. */
int crank_model_contradictions(struct ctx *c, const struct crank_model *m);

#endif

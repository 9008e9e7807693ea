/* pscript_fixture -- a BerkeleyDB environment under mkdtemp with a
 * compiled PulleyScript and its runtime, entries built from C strings,
 * and the runtime's outputs recorded as text, for test_pscript_run and
 * test_pscript_rand. */
#ifndef TP_PSCRIPT_FIXTURE_H
#define TP_PSCRIPT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "pscript.h"

struct psf_env {
	char dir[64];
	DB_ENV *env;
	struct pscript *s;
	struct pscript_run *rt;
	char log[8192];		/* events of the last calls, one a line:
				 * "driver+ v1|v2" or "driver- ..." */
	int saw_add;		/* a del after an add in one call is a bug */
	int fail_with;		/* the output callback returns this */
};

#define PSF_MAXV 8
struct psf_attr {
	const char *type;
	const char *v[PSF_MAXV];	/* NULL-terminated */
};

/* A fresh environment with script compiled and its run open (the fresh
 * state must ask for a reset). */
struct psf_env *psf_setup(const char *script);
void psf_teardown(struct psf_env *e);
void psf_env_open(struct psf_env *e);
void psf_env_close(struct psf_env *e);
/* Compile text (unless e->s is set) and open the run; returns
 * reset_needed. */
int psf_run_open(struct psf_env *e, const char *text);
void psf_run_close(struct psf_env *e);
DB_TXN *psf_begin(struct psf_env *e);
void psf_commit(DB_TXN *t);

int psf_on_out(void *ctx, size_t d, int add, const struct pscript_value *v,
	       size_t nv);
/* The events logged since the last call equal want, as sets of lines. */
void psf_expect(struct psf_env *e, const char *want);

/* Run an entry (uuid ee 00.. uuid) or delete one; in a transaction of
 * its own when t is NULL. */
int psf_put(struct psf_env *e, DB_TXN *t, int uuid, const char *dn,
	    const struct psf_attr *a, size_t na);
int psf_del(struct psf_env *e, DB_TXN *t, int uuid);
/* The uuids held, as a bit mask of their last byte (1..30). */
unsigned psf_uuids(struct psf_env *e);

#endif

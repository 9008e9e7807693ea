/* pback -- pulleyback instances: loading the plugins and running a
 * batch as a two-phase commit across all of them. */
#ifndef TP_PBACK_H
#define TP_PBACK_H

#include <stddef.h>
#include <stdint.h>

#include "pulleyback.h"

struct pback_fns {
	void *(*open)(int, char **, int);
	void (*close)(void *);
	int (*add)(void *, uint8_t **);
	int (*del)(void *, uint8_t **);
	int (*reset)(void *);
	int (*prepare)(void *);
	int (*commit)(void *);
	void (*rollback)(void *);
	int (*collaborate)(void *, void *);
	int (*host)(void *, const struct pulleyback_host *);
};

struct pback {
	char *name;
	void *dl;
	struct pback_fns f;
	void *h;
	int varc;
};

/* Load dir/pulleyback_NAME.so and open an instance with argv =
 * { name, params... }.  0 or -errno with a message in err. */
int pback_load(struct pback *b, const char *dir, const char *name,
	       char **params, int nparams, int varc,
	       const struct pulleyback_host *host, char *err, size_t errlen);
void pback_unload(struct pback *b);

/* One change to instance b: vals[0..varc) are raw values, wrapped into
 * DER here.  0 or -EIO (the backend refused) / -ENOMEM. */
int pback_change(struct pback *b, int add, const uint8_t *const *vals,
		 const size_t *lens);

/* Two-phase commit of n instances: prepare all; if all agree call
 * commit_own(ctx) (pulley's own transaction) and, if that succeeds,
 * commit all; otherwise roll all back.  0, or -EAGAIN when a prepare
 * failed (*failed gets its index), or commit_own's error. */
int pback_2pc(struct pback *b, size_t n, int (*commit_own)(void *),
	      void (*abort_own)(void *), void *ctx, size_t *failed);
/* Roll every instance back (the batch is abandoned). */
void pback_rollback_all(struct pback *b, size_t n);

#endif

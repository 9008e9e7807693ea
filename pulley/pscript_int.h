/* pscript_int -- the compiled form of a PulleyScript, shared by the
 * parser (pscript_parse.c), the compiler (pscript_compile.c), the entry
 * matcher (pscript_match.c), the runtime (pscript_run.c) and its
 * BerkeleyDB store (pscript_store.c).  Not a public interface. */
#ifndef TP_PSCRIPT_INT_H
#define TP_PSCRIPT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pscript.h"

/* Limits that keep a hostile script or entry from exhausting memory. */
#define PSCRIPT_MAX_VARS 1024		/* variables in a script */
#define PSCRIPT_MAX_GENS 256		/* generator lines */
#define PSCRIPT_MAX_LINES 8192		/* statements in a script */
#define PSCRIPT_MAX_RECORDS 65536	/* bindings of one generator for one entry */
#define PSCRIPT_MAX_COND_DEPTH 32	/* nesting of (&(|(!...))) */

/* A variable or a string constant, with where it was written. */
struct ps_term {
	int is_var;
	unsigned var;			/* index in pscript.vars when is_var */
	char *name;			/* variable name (parser) */
	uint8_t *data;			/* constant bytes (binary safe) */
	size_t len;
	unsigned line, col;
};

/* "Attr: term" (an attribute value) or "Attr=term" (an RDN value). */
struct ps_item {
	char *type;			/* lower-case */
	struct ps_term t;
};

/* One RDN of the DN pattern, its AVAs joined by '+'. */
struct ps_step {
	size_t nitem;
	struct ps_item *item;
};

struct ps_gen {
	unsigned line, col;
	size_t nattr;			/* attribute items of the entry */
	struct ps_item *attr;
	size_t nstep;			/* RDNs from the entry upwards */
	struct ps_step *step;
	int has_rest;			/* "@var": the rest of the DN */
	struct ps_term rest;
	char *world;			/* the source after "<-" */
	unsigned world_line, world_col;
	/* filled by the compiler */
	uint8_t id[8];			/* stable key: hash of its canonical line */
	size_t nvars;			/* the variables it binds, record order */
	unsigned *vars;
	int used;			/* some driver needs its records */
	uint8_t *indexed;		/* per record slot: kept in the index */
};

enum ps_cop { PS_EQ, PS_NE, PS_AND, PS_OR, PS_NOT };

struct ps_cond {
	enum ps_cop op;
	unsigned line, col;
	struct ps_term a, b;		/* PS_EQ, PS_NE */
	size_t nsub;			/* PS_AND, PS_OR, PS_NOT */
	struct ps_cond *sub;
};

struct ps_driver {
	unsigned line, col;
	char *name;
	size_t nvars;
	struct ps_term *out;		/* variables, in output order */
	char **varname;			/* out[i].name, for pscript_driver_var */
	size_t nparams;
	char **param;			/* "name=value" */
	unsigned *param_col;
	uint8_t id[8];			/* stable key: hash of its canonical line */
};

/* How the join for driver d proceeds when generator start changes: the
 * other generators of the driver, each looked up through the index of
 * one slot (the value of a bound variable or a constant) or scanned,
 * and the conditions that become decidable at each step. */
struct ps_jstep {
	unsigned gen;
	int slot;			/* -1: scan all records of gen */
	const struct ps_term *key;	/* bound variable or constant */
	size_t ncond;
	const struct ps_cond **cond;
};

struct ps_plan {
	unsigned start;
	size_t nstep;			/* [0] is start itself (no lookup) */
	struct ps_jstep *step;
};

struct ps_dplan {
	size_t ngen;			/* generators joined for the driver */
	unsigned *gen;
	struct ps_plan *plan;		/* one per generator in gen[] */
};

struct ps_var {
	char *name;
	int gen;			/* binding generator, -1 if none */
	unsigned slot;			/* position in that generator's record */
};

/* One parsed line, kept for the canonical form. */
enum ps_kind { PS_GEN, PS_COND, PS_DRIVER };

struct pscript {
	size_t ngen;
	struct ps_gen *gen;
	size_t ncond;
	struct ps_cond *cond;		/* top-level lines, conjoined */
	size_t ndriver;
	struct ps_driver *driver;
	size_t nvars;
	struct ps_var *vars;
	size_t nattrs;
	char **attrs;
	struct ps_dplan *dplan;		/* per driver */
	uint8_t identity[32];
};

/* ---- parser (pscript_parse.c) ---- */

/* Parse text into s->gen, s->cond, s->driver (terms hold names, not yet
 * resolved).  Returns the number of errors reported, or -ENOMEM. */
int ps_parse(struct pscript *s, const char *text, size_t len,
	     pscript_error_fn err, void *ctx);
void ps_parse_free(struct pscript *s);
void ps_cond_free(struct ps_cond *c);
void ps_term_free(struct ps_term *t);
/* Canonical text of a line, appended to a growing buffer. */
struct ps_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void ps_buf_add(struct ps_buf *b, const void *data, size_t len);
void ps_buf_str(struct ps_buf *b, const char *s);
void ps_canon_gen(struct ps_buf *b, const struct ps_gen *g);
void ps_canon_cond(struct ps_buf *b, const struct ps_cond *c);
void ps_canon_driver(struct ps_buf *b, const struct ps_driver *d);

/* ---- compiler (pscript_compile.c) ---- */
int ps_plan_build(struct pscript *s);
void ps_plan_free(struct pscript *s);

/* ---- matching an entry (pscript_match.c) ---- */

/* The records one generator yields for one entry: nrec records of
 * g->nvars values each, vals[r * nvars + v]. */
struct ps_recs {
	size_t nrec;
	struct pscript_value *vals;	/* point into the entry and the DN */
};

struct ps_dn;
int ps_dn_parse(const char *dn, struct ps_dn **out);
void ps_dn_free(struct ps_dn *dn);
/* 0 (nrec may be 0: no match), -ENOMEM, -E2BIG (too many records). */
int ps_gen_match(const struct ps_gen *g, const struct ps_dn *dn,
		 const struct pscript_entry *e, struct ps_recs *out);
void ps_recs_free(struct ps_recs *r);

/* Evaluate a condition with every variable it names set in vals[]. */
int ps_cond_eval(const struct ps_cond *c, const struct pscript_value *vals);

/* ---- the BerkeleyDB store (pscript_store.c) ----
 *
 *  <prefix>.meta   "identity" -> SHA-256 of the script
 *  <prefix>.entry  uuid(16) -> [gen id(8) count(4)]...: what it holds
 *  <prefix>.rec    gen id(8) uuid(16) n(4) -> record
 *  <prefix>.idx    gen id(8) slot(2) value -> uuid(16) n(4)  (duplicates)
 *  <prefix>.out    driver id(8) tuple -> reference count(4)
 *
 * Numbers are big-endian; a record or tuple is [len(4) bytes]... per
 * value.  Ids are stable under reordering of the script's lines. */
struct pscript_run {
	const struct pscript *s;
	DB_ENV *env;
	DB *meta, *entry, *rec, *idx, *out;
};

#define PS_UUID 16
#define PS_ID 8

int ps_store_open(struct pscript_run *rt, DB_TXN *txn, const char *prefix);
void ps_store_close(struct pscript_run *rt);
int ps_store_err(int ret, const char *what);
int ps_store_get(DB *db, DB_TXN *txn, const void *key, size_t klen,
		 uint8_t **val, size_t *vlen);	/* -ENOENT when missing */
int ps_store_put(DB *db, DB_TXN *txn, const void *key, size_t klen,
		 const void *val, size_t vlen);
int ps_store_del(DB *db, DB_TXN *txn, const void *key, size_t klen);
int ps_store_truncate(struct pscript_run *rt, DB_TXN *txn);

typedef int (*ps_rec_fn)(void *ctx, const uint8_t *rec, size_t len);
/* Every record of generator gen, or those whose slot holds value. */
int ps_store_scan(struct pscript_run *rt, DB_TXN *txn, const uint8_t *gen,
		  ps_rec_fn fn, void *ctx);
int ps_store_lookup(struct pscript_run *rt, DB_TXN *txn, const uint8_t *gen,
		    unsigned slot, const struct pscript_value *value,
		    ps_rec_fn fn, void *ctx);
int ps_store_rec_put(struct pscript_run *rt, DB_TXN *txn,
		     const struct ps_gen *g, const uint8_t uuid[16], uint32_t n,
		     const uint8_t *rec, size_t len);
int ps_store_rec_del(struct pscript_run *rt, DB_TXN *txn,
		     const struct ps_gen *g, const uint8_t uuid[16], uint32_t n,
		     const uint8_t *rec, size_t len);
int ps_store_uuids(struct pscript_run *rt, DB_TXN *txn, pscript_uuid_fn fn,
		   void *ctx);

/* Records and tuples as bytes. */
size_t ps_rec_size(const struct pscript_value *v, size_t n);
void ps_rec_encode(const struct pscript_value *v, size_t n, uint8_t *out);
/* 0, or -EIO when the bytes do not hold n values. */
int ps_rec_decode(const uint8_t *p, size_t len, struct pscript_value *v,
		  size_t n);
void ps_put32(uint8_t *p, uint32_t v);
uint32_t ps_get32(const uint8_t *p);

#endif

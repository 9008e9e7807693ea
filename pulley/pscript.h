/* pscript -- PulleyScript: compile a script, and run it over the stream
 * of LDAP entries that SyncRepl delivers.
 *
 * This header is the contract between the language (pscript*.c: lexer,
 * parser, compiler, runtime) and pulley's sync layer and backends.  The
 * language is documented in doc/pulleyscript.md.
 *
 * Compiling: every error is reported with line and column (1-based)
 * through the error callback, all of them (not just the first), in the
 * order of the text; the compiler checks that every variable is bound by
 * exactly one generator and that every driver outputs only bound
 * variables.
 *
 * Running: the sync layer hands every added/modified entry (the full
 * entry: a MODIFY replaces the previous version with the same entryUUID)
 * and every deleted entryUUID to the runtime, inside a BerkeleyDB
 * transaction of the caller's.  The runtime keeps its intermediate state
 * (entries' bindings, partial and complete tuples, output reference
 * counts) in BerkeleyDB databases of the caller's environment, in that
 * same transaction, so the state commits or aborts with the cookie and
 * the backends' data.  A driver sees "add" when a tuple's reference count
 * goes 0 -> 1 and "del" when it goes 1 -> 0, never twice in a row for the
 * same tuple.  Values are handed to the output callback as the raw
 * attribute bytes (binary safe, never cut at a NUL); the sync layer
 * wraps them into DER for the pulleyback API.
 *
 * Errors: 0 or -errno (-EINVAL bad input, -ENOMEM, -EDEADLK when
 * BerkeleyDB lost a deadlock: abort the transaction and retry, -EIO for
 * other BerkeleyDB failures, with the library's message logged once).
 */
#ifndef TP_PSCRIPT_H
#define TP_PSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include <db.h>

struct pscript;
struct pscript_run;

/* ---- compiling ---- */

typedef void (*pscript_error_fn)(void *ctx, unsigned line, unsigned col,
				 const char *msg);

/* 0 with *out, or -EINVAL after reporting every error through err (err
 * may be NULL), or -ENOMEM.  text need not be NUL-terminated. */
int pscript_compile(const char *text, size_t len, struct pscript **out,
		    pscript_error_fn err, void *ctx);
void pscript_free(struct pscript *s);

/* Script identity: SHA-256 over the canonical form of its lines, sorted,
 * so that reordering lines or changing comments and white space keeps
 * it, and any change of meaning changes it.  Pulley resyncs by reset
 * when it changes. */
void pscript_identity(const struct pscript *s, uint8_t out[32]);

/* The attribute types the generators read (lower-case, deduplicated),
 * for the sync layer's search request.  Valid while s lives. */
size_t pscript_nattrs(const struct pscript *s);
const char *pscript_attr(const struct pscript *s, size_t i);

/* Drivers, in the order of their first appearance in the script.  Each
 * driver line is one driver: several lines may name the same backend
 * (with different parameters); each gets its own index d. */
size_t pscript_ndrivers(const struct pscript *s);
const char *pscript_driver_name(const struct pscript *s, size_t d);
/* Number of variables the driver outputs (the varc of pulleyback_open). */
size_t pscript_driver_nvars(const struct pscript *s, size_t d);
const char *pscript_driver_var(const struct pscript *s, size_t d, size_t v);
/* The driver's parameters, each "name=value" as written (unquoted). */
size_t pscript_driver_nparams(const struct pscript *s, size_t d);
const char *pscript_driver_param(const struct pscript *s, size_t d,
				 size_t p);

/* ---- running ---- */

struct pscript_value {
	const uint8_t *data;
	size_t len;
};

struct pscript_attr {
	const char *type;		/* as the server sent it; compared
					 * case-insensitively, options
					 * (";binary") ignored */
	size_t nvals;
	const struct pscript_value *vals;
};

struct pscript_entry {
	uint8_t uuid[16];		/* entryUUID, raw */
	const char *dn;			/* string form (RFC 4514) */
	size_t nattrs;
	const struct pscript_attr *attrs;
};

/* One output change: driver d gains (add = 1) or loses (add = 0) the
 * tuple vals[0..nvals-1] (nvals == pscript_driver_nvars).  A non-zero
 * return stops processing and is returned by the runtime call (the
 * caller then aborts its transaction). */
typedef int (*pscript_output_fn)(void *ctx, size_t d, int add,
				 const struct pscript_value *vals,
				 size_t nvals);

/* Open (creating in txn when missing) the runtime state for script s in
 * env: databases named "<prefix>.<something>" in file "<prefix>.db".
 * The state records the script identity; if it differs (another script
 * ran before), the state is emptied and *reset_needed is set to 1 so the
 * caller resyncs from scratch (and resets its backends).  A fresh state
 * (no identity recorded yet) also sets *reset_needed: nothing is known
 * of what the backends hold.  prefix holds no '/'.  If txn aborts, close
 * the run: its handles may name databases that the abort undid. */
int pscript_run_open(struct pscript_run **rt, const struct pscript *s,
		     DB_ENV *env, DB_TXN *txn, const char *prefix,
		     int *reset_needed);
void pscript_run_close(struct pscript_run *rt);

/* An entry was added or modified (replaces what the same uuid held).
 * Within one call, every "del" comes before any "add", so that a
 * backend keyed on part of a tuple sees a changed value as del + add.
 * -EINVAL: the entry was refused (its DN is not RFC 4514, or one
 * generator would yield more than 65536 bindings for it); this is
 * logged with the DN, nothing was changed and txn stays usable. */
int pscript_run_entry(struct pscript_run *rt, DB_TXN *txn,
		      const struct pscript_entry *e, pscript_output_fn out,
		      void *ctx);
/* An entry was deleted; unknown uuids are not an error. */
int pscript_run_delete(struct pscript_run *rt, DB_TXN *txn,
		       const uint8_t uuid[16], pscript_output_fn out,
		       void *ctx);
/* Forget everything without output (the caller resets its backends). */
int pscript_run_reset(struct pscript_run *rt, DB_TXN *txn);

/* Every entryUUID the state holds (for the present phase: the caller
 * deletes those the server neither presented nor added).  Only entries
 * that some generator matched are held: the others contributed nothing.
 * The list is read first, so fn may call the runtime (e.g. delete the
 * uuid it is given).  A non-zero return of fn stops and is returned. */
typedef int (*pscript_uuid_fn)(void *ctx, const uint8_t uuid[16]);
int pscript_run_uuids(struct pscript_run *rt, DB_TXN *txn,
		      pscript_uuid_fn fn, void *ctx);

#endif

/* smerge -- shaft's merge rule (doc/shaft.md, "The merge rule").
 *
 * An entry is handled as its canonical form (pulley/psign.c: the signed
 * attributes, types lower case, sorted, values sorted), which is also
 * what shaft publishes and signs.  smerge_key reads the record key out
 * of it; smerge_run is a pure function from the verified entries of all
 * sources to the merged set, sorted by key, independent of input order.
 */
#ifndef TP_SMERGE_H
#define TP_SMERGE_H

#include <stddef.h>
#include <stdint.h>

enum smerge_class {
	SMERGE_LOCALID = 1,
	SMERGE_DISCLOSE,
	SMERGE_TRUST,
	SMERGE_POLICY,
};

enum smerge_tkind {
	SMERGE_T_NONE = 0,
	SMERGE_T_ANCHOR,
	SMERGE_T_PIN,
	SMERGE_T_REVOKED,
	SMERGE_T_CRL,
};

#define SMERGE_KEY_MAX 1024

/* The record key of one entry. */
struct smerge_key {
	enum smerge_class cls;
	enum smerge_tkind tkind;
	char hash[65];			/* trust: 64 lower-case hex */
	/* grouping key (malloc'ed): class, then the key values (ASCII
	 * lower case, as the directory compares them), NUL separated */
	uint8_t *key;
	size_t keylen;
};

#define SMERGE_RDN_MAX (3 * SMERGE_KEY_MAX)

/* One attribute in a canonical form: type (lower case, not NUL
 * terminated) and its values. */
struct smerge_attr {
	const char *type;
	size_t typelen;
	size_t nvals;
	const uint8_t *p;		/* first value's length field */
	const uint8_t *end;
};

/* Walk a canonical form: *pos starts at 0; 1 with the next attribute,
 * 0 at the end, -EBADMSG when the bytes are not a canonical form. */
int smerge_next_attr(const uint8_t *c, size_t len, size_t *pos,
		     struct smerge_attr *a);
/* Value i of a (0 or -EBADMSG). */
int smerge_attr_val(const struct smerge_attr *a, size_t i,
		    const uint8_t **v, size_t *vlen);

/* The single value of attribute type (lower case) as a NUL-terminated
 * copy into buf: 1, 0 when absent, -EBADMSG when repeated, too long for
 * cap or holding a NUL. */
int smerge_value(const uint8_t *canon, size_t len, const char *type,
		 char *buf, size_t cap);

/* The key of an entry in canonical form.  0, or -EBADMSG with the
 * reason in why (not one of the four classes, a key attribute missing,
 * repeated or malformed). */
int smerge_key(const uint8_t *canon, size_t len, struct smerge_key *k,
	       char *why, size_t whylen);
void smerge_key_free(struct smerge_key *k);
/* The entry's RDN below the output base, RFC 4514 escaped, into rdn
 * (SMERGE_RDN_MAX bytes).  0 or -EBADMSG. */
int smerge_rdn(const uint8_t *canon, size_t len, char *rdn);

/* One verified entry of one source. */
struct smerge_in {
	unsigned prec;			/* the source's precedence */
	unsigned source;		/* index, for messages */
	const uint8_t *canon;
	size_t canonlen;
	struct smerge_key k;
};

/* Merge n entries: *out receives the winners (pointers into in), sorted
 * by key, *nout of them.  in is not changed.  0 or -ENOMEM. */
int smerge_run(const struct smerge_in *in, size_t n,
	       const struct smerge_in ***out, size_t *nout);

/* Order of two keys (memcmp order, a shorter prefix first). */
int smerge_keycmp(const struct smerge_key *a, const struct smerge_key *b);

#endif

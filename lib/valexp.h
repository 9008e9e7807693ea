/* valexp -- validation expressions.
 *
 * A validation expression says what a peer must prove, in reverse Polish
 * notation over one-letter predicates:
 *
 *   I i  identity proven (and matching the remote identity)
 *   F f  forward secrecy
 *   T t  chain to a trust anchor (t: a self-signed certificate will do)
 *   R r  revocation checked (CRL, stapled OCSP)
 *   E e  extended key usage fits the service
 *   P p  pinned key (p: trust on first use)
 *   U    user part matches
 *   S s  local role is server     C c  local role is client
 *   L l  security level (key and cipher strength)
 *   Q q  post-quantum key exchange
 *   O o  online revocation check (o: an unreachable responder is accepted)
 *   D d  DANE                      G g  LDAP global directory
 *   A a  anonymous precursor: always refused, since it needs
 *        renegotiation, which TLS 1.3 removed
 *
 * Upper case is the required form, lower case the relaxed one.  Constants
 * are 0 and 1; operators are & (and), | (or), ~ (not) and ? (if): "eti?"
 * pops i (the condition), then t (the value when i holds), then e (the
 * value otherwise).  Spaces are ignored; the expression must leave
 * exactly one value.
 *
 * Compilation checks every letter against the set the caller can
 * evaluate, so an expression never depends on a predicate that would
 * have to be faked.  Evaluation is lazy (& and | stop at the first
 * operand that decides, ? evaluates only the chosen branch) and asks for
 * each predicate at most once.  A compiled expression is read-only and
 * may be evaluated from several threads at once.
 */
#ifndef TP_VALEXP_H
#define TP_VALEXP_H

#include <stddef.h>

#define VALEXP_MAXLEN 255	/* characters of an expression, spaces too */
#define VALEXP_WHYLEN 128	/* room for one predicate's reason */

/* Every predicate letter the language knows, except A/a. */
#define VALEXP_LETTERS "IiFfTtRrEePpUSsCcLlQqOoDdGgK"

struct valexp;

/* The predicate callback: return 1 when letter holds, 0 when it does
 * not, or -errno when it cannot be decided; why (whylen bytes, starts
 * empty) may receive the reason, e.g. "chain does not lead to a trust
 * anchor".  ctx is passed through. */
typedef int (*valexp_pred_fn)(void *ctx, char letter, char *why,
			      size_t whylen);

/* Compile text.  supported lists the predicate letters the caller can
 * evaluate (NULL: none).  Returns 0 with *out set (free it with
 * valexp_free), -EINVAL with the reason in why and the offending offset
 * (from 0) in *errpos (may be NULL), or -ENOMEM. */
int valexp_compile(const char *text, const char *supported,
		   struct valexp **out, char *why, size_t whylen,
		   size_t *errpos);

/* Evaluate e.  Returns 1 (accept), 0 (refuse) or the -errno of a
 * predicate that could not be decided (refuse as well).  On 0, failed
 * (may be NULL) receives what made the expression false, e.g.
 * "T: chain does not lead to a trust anchor; P: no pin"; on an error,
 * the predicate and its reason; on 1, "". */
int valexp_eval(const struct valexp *e, valexp_pred_fn pred, void *ctx,
		char *failed, size_t failedlen);

/* Infix text for people, e.g. "(identity proven AND (trust-anchor chain
 * OR pinned key))".  Returns its length, or -ENOSPC when it does not fit
 * (buf then holds a truncated string). */
int valexp_describe(const struct valexp *e, char *buf, size_t len);

/* The expression as compiled, without spaces. */
const char *valexp_text(const struct valexp *e);

/* Name of a predicate letter, or NULL when the letter is not one. */
const char *valexp_predicate_name(char letter);

void valexp_free(struct valexp *e);

#endif

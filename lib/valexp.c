/* valexp -- validation expressions. */
#include "valexp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One node of the expression tree.  Leaves are predicate letters or the
 * constants '0' and '1'.  For '&' and '|', a is the left operand (pushed
 * first) and b the right one; for '~', a is the operand; for '?', c is
 * the condition, a the value when it holds and b the value otherwise. */
struct vnode {
	char op;
	uint8_t pos;		/* offset of the token in the text */
	uint8_t first;		/* offset where its subexpression starts */
	uint8_t a, b, c;
};

struct valexp {
	char text[VALEXP_MAXLEN + 1];	/* without spaces */
	unsigned n;
	unsigned root;
	struct vnode node[];
};

struct predname {
	char letter;
	const char *name;
};

static const struct predname names[] = {
	{ 'I', "identity proven" },
	{ 'i', "identity proven (relaxed)" },
	{ 'F', "forward secrecy" },
	{ 'f', "forward secrecy (relaxed)" },
	{ 'T', "trust-anchor chain" },
	{ 't', "trust-anchor chain or self-signed" },
	{ 'R', "revocation checked" },
	{ 'r', "revocation checked (relaxed)" },
	{ 'E', "extended key usage" },
	{ 'e', "extended key usage (relaxed)" },
	{ 'P', "pinned key" },
	{ 'p', "pinned key or trust on first use" },
	{ 'U', "user part matches" },
	{ 'S', "local server role" },
	{ 's', "local server role (relaxed)" },
	{ 'C', "local client role" },
	{ 'c', "local client role (relaxed)" },
	{ 'L', "security level" },
	{ 'l', "security level (relaxed)" },
	{ 'Q', "post-quantum key exchange" },
	{ 'q', "post-quantum key exchange (relaxed)" },
	{ 'O', "online revocation check" },
	{ 'o', "online revocation check (unreachable responder accepted)" },
	{ 'A', "anonymous precursor" },
	{ 'a', "anonymous precursor (relaxed)" },
	{ 'D', "DANE" },
	{ 'd', "DANE (relaxed)" },
	{ 'G', "LDAP global directory" },
	{ 'g', "LDAP global directory (relaxed)" },
	{ 'K', "Kerberos identity proven" },
};

const char *valexp_predicate_name(char letter)
{
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (names[k].letter == letter)
			return names[k].name;
	return NULL;
}

const char *valexp_text(const struct valexp *e)
{
	return e->text;
}

void valexp_free(struct valexp *e)
{
	free(e);
}

/* ---- compilation ---- */

struct compiler {
	const char *supported;
	struct vnode node[VALEXP_MAXLEN];
	uint8_t stack[VALEXP_MAXLEN];
	unsigned n, depth;
	char *why;
	size_t whylen;
	size_t *errpos;
};

static int refuse(struct compiler *cc, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct compiler *cc, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (cc->errpos != NULL)
		*cc->errpos = pos;
	if (cc->why != NULL && cc->whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(cc->why, cc->whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* May this program use the predicate at pos? */
static int check_letter(struct compiler *cc, char c, size_t pos)
{
	const char *name = valexp_predicate_name(c);
	char up = c >= 'a' ? (char)(c - 'a' + 'A') : c;

	if (name == NULL)
		return refuse(cc, pos, "offset %zu: unknown predicate '%c'",
			      pos, c);
	if (up == 'A')
		return refuse(cc, pos, "offset %zu: A/a (anonymous precursor) "
			      "needs renegotiation, which TLS 1.3 removed",
			      pos);
	if (cc->supported != NULL && strchr(cc->supported, c) != NULL)
		return 0;
	return refuse(cc, pos, "offset %zu: predicate '%c' (%s) cannot be "
		      "evaluated here", pos, c, name);
}

static int arity(char c)
{
	switch (c) {
	case '~':
		return 1;
	case '&':
	case '|':
		return 2;
	case '?':
		return 3;
	default:
		return 0;
	}
}

/* Add the token c at pos, popping its operands. */
static int push_token(struct compiler *cc, char c, size_t pos)
{
	struct vnode *v = &cc->node[cc->n];
	int k = arity(c);
	uint8_t *top;

	if (cc->depth < (unsigned)k)
		return refuse(cc, pos, "offset %zu: '%c' needs %d operand%s, "
			      "found %u", pos, c, k, k > 1 ? "s" : "",
			      cc->depth);
	memset(v, 0, sizeof(*v));
	v->op = c;
	v->pos = v->first = (uint8_t)pos;
	cc->depth -= (unsigned)k;
	top = &cc->stack[cc->depth];
	if (k == 1) {
		v->a = top[0];
	} else if (k == 2) {
		v->a = top[0];
		v->b = top[1];
	} else if (k == 3) {
		v->b = top[0];
		v->a = top[1];
		v->c = top[2];
	}
	if (k > 0)
		v->first = cc->node[top[0]].first;
	cc->stack[cc->depth++] = (uint8_t)cc->n++;
	return 0;
}

static int compile_tokens(struct compiler *cc, const char *text,
			  size_t len)
{
	int rc;

	for (size_t pos = 0; pos < len; pos++) {
		char c = text[pos];

		if (c == ' ')
			continue;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
			rc = check_letter(cc, c, pos);
			if (rc < 0)
				return rc;
		} else if (c != '0' && c != '1' && arity(c) == 0) {
			if (c > 0x20 && c < 0x7f)
				return refuse(cc, pos, "offset %zu: unexpected "
					      "character '%c'", pos, c);
			return refuse(cc, pos, "offset %zu: unexpected byte "
				      "0x%02x", pos, (unsigned)(uint8_t)c);
		}
		rc = push_token(cc, c, pos);
		if (rc < 0)
			return rc;
	}
	if (cc->depth == 0)
		return refuse(cc, 0, "empty expression");
	if (cc->depth > 1)
		return refuse(cc, cc->node[cc->stack[1]].first,
			      "offset %u: %u values are left at the end; "
			      "join them with '&' or '|'",
			      cc->node[cc->stack[1]].first, cc->depth);
	return 0;
}

int valexp_compile(const char *text, const char *supported,
		   struct valexp **out, char *why, size_t whylen,
		   size_t *errpos)
{
	struct compiler *cc;
	struct valexp *e = NULL;
	size_t len, k = 0;
	int rc;

	*out = NULL;
	cc = calloc(1, sizeof(*cc));
	if (cc == NULL)
		return -ENOMEM;
	cc->supported = supported;
	cc->why = why;
	cc->whylen = whylen;
	cc->errpos = errpos;
	if (text == NULL) {
		rc = refuse(cc, 0, "no expression");
		goto out;
	}
	len = strnlen(text, VALEXP_MAXLEN + 1);
	if (len > VALEXP_MAXLEN) {
		rc = refuse(cc, VALEXP_MAXLEN, "offset %d: longer than %d "
			    "characters", VALEXP_MAXLEN, VALEXP_MAXLEN);
		goto out;
	}
	rc = compile_tokens(cc, text, len);
	if (rc < 0)
		goto out;
	e = calloc(1, sizeof(*e) + cc->n * sizeof(e->node[0]));
	if (e == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t pos = 0; pos < len; pos++)
		if (text[pos] != ' ')
			e->text[k++] = text[pos];
	e->n = cc->n;
	e->root = cc->stack[0];
	memcpy(e->node, cc->node, cc->n * sizeof(e->node[0]));
	*out = e;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (errpos != NULL)
		*errpos = 0;
out:
	free(cc);
	return rc;
}

/* ---- text building ---- */

struct sbuf {
	char *buf;
	size_t len, used;
	int overflow;
};

static void sb_init(struct sbuf *sb, char *buf, size_t len)
{
	sb->buf = buf;
	sb->len = buf != NULL ? len : 0;
	sb->used = 0;
	sb->overflow = 0;
	if (sb->len > 0)
		buf[0] = '\0';
}

static void sb_add(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->overflow || sb->len == 0) {
		sb->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->used, sb->len - sb->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->len - sb->used) {
		sb->overflow = 1;
		sb->used = sb->len - 1;
		return;
	}
	sb->used += (size_t)n;
}

/* ---- evaluation ---- */

#define SLOTS 54	/* A-Z, a-z, then the constants 0 and 1 */

struct evaluation {
	const struct valexp *e;
	valexp_pred_fn pred;
	void *ctx;
	signed char val[VALEXP_MAXLEN];	/* per node: -1 not evaluated */
	signed char memo[SLOTS];	/* per predicate: -1 not asked */
	char why[SLOTS][VALEXP_WHYLEN];
	uint64_t blamed;
	struct sbuf out;
};

static int slot(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	return 52 + (c == '1');
}

static int ask(struct evaluation *ev, char letter)
{
	int s = slot(letter), r;

	if (ev->memo[s] >= 0)
		return ev->memo[s];
	ev->why[s][0] = '\0';
	r = ev->pred(ev->ctx, letter, ev->why[s], VALEXP_WHYLEN);
	ev->why[s][VALEXP_WHYLEN - 1] = '\0';
	if (r < 0) {
		sb_add(&ev->out, "%c: %s", letter, ev->why[s][0] ? ev->why[s]
			      : "could not be decided");
		return r;
	}
	ev->memo[s] = r > 0;
	return ev->memo[s];
}

static int eval_node(struct evaluation *ev, unsigned i)
{
	const struct vnode *v = &ev->e->node[i];
	int r;

	switch (v->op) {
	case '0':
	case '1':
		r = v->op == '1';
		break;
	case '~':
		r = eval_node(ev, v->a);
		if (r >= 0)
			r = !r;
		break;
	case '&':
	case '|':
		r = eval_node(ev, v->a);
		if (r == (v->op == '&'))
			r = eval_node(ev, v->b);
		break;
	case '?':
		r = eval_node(ev, v->c);
		if (r >= 0)
			r = eval_node(ev, r ? v->a : v->b);
		break;
	default:
		r = ask(ev, v->op);
		break;
	}
	if (r >= 0)
		ev->val[i] = (signed char)r;
	return r;
}

/* Explain a leaf that came out as it did. */
static void blame_leaf(struct evaluation *ev, char c, int val)
{
	int s = slot(c);
	const char *why = ev->why[s];

	if (ev->blamed & ((uint64_t)1 << s))
		return;
	ev->blamed |= (uint64_t)1 << s;
	if (ev->out.used > 0)
		sb_add(&ev->out, "; ");
	if (c == '0' || c == '1')
		sb_add(&ev->out, "constant %c", c);
	else if (val == 0 && why[0] != '\0')
		sb_add(&ev->out, "%c: %s", c, why);
	else if (val == 0)
		sb_add(&ev->out, "%c (%s) does not hold", c,
		       valexp_predicate_name(c));
	else
		sb_add(&ev->out, "%c (%s) holds, but must not%s%s", c,
		       valexp_predicate_name(c), why[0] ? ": " : "", why);
}

/* Name the evaluated operands that gave node i its value: the false
 * operands of a false '&', both of a false '|', the operand of '~'
 * (whose value is the opposite), the chosen branch of '?'. */
static void blame(struct evaluation *ev, unsigned i)
{
	const struct vnode *v = &ev->e->node[i];
	int val = ev->val[i];

	if (arity(v->op) == 0) {
		blame_leaf(ev, v->op, val);
		return;
	}
	if (v->op == '~') {
		blame(ev, v->a);
		return;
	}
	if (ev->val[v->a] == val)
		blame(ev, v->a);
	if (ev->val[v->b] == val)
		blame(ev, v->b);
}

int valexp_eval(const struct valexp *e, valexp_pred_fn pred, void *ctx,
		char *failed, size_t failedlen)
{
	struct evaluation *ev;
	int r;

	ev = malloc(sizeof(*ev));
	if (ev == NULL) {
		if (failed != NULL && failedlen > 0)
			snprintf(failed, failedlen, "out of memory");
		return -ENOMEM;
	}
	ev->e = e;
	ev->pred = pred;
	ev->ctx = ctx;
	memset(ev->val, -1, sizeof(ev->val));
	memset(ev->memo, -1, sizeof(ev->memo));
	ev->blamed = 0;
	sb_init(&ev->out, failed, failedlen);
	r = eval_node(ev, e->root);
	if (r == 0)
		blame(ev, e->root);
	free(ev);
	return r;
}

/* ---- description ---- */

static void describe_node(struct sbuf *sb, const struct valexp *e,
			  unsigned i);

/* Operands of a chain of the same associative operator, flattened. */
static void describe_chain(struct sbuf *sb, const struct valexp *e,
			   unsigned i, char op)
{
	const struct vnode *v = &e->node[i];

	if (v->op != op) {
		describe_node(sb, e, i);
		return;
	}
	describe_chain(sb, e, v->a, op);
	sb_add(sb, op == '&' ? " AND " : " OR ");
	describe_chain(sb, e, v->b, op);
}

static void describe_node(struct sbuf *sb, const struct valexp *e,
			  unsigned i)
{
	const struct vnode *v = &e->node[i];

	switch (v->op) {
	case '0':
		sb_add(sb, "FALSE");
		break;
	case '1':
		sb_add(sb, "TRUE");
		break;
	case '~':
		sb_add(sb, "NOT ");
		describe_node(sb, e, v->a);
		break;
	case '&':
	case '|':
		sb_add(sb, "(");
		describe_chain(sb, e, i, v->op);
		sb_add(sb, ")");
		break;
	case '?':
		sb_add(sb, "(IF ");
		describe_node(sb, e, v->c);
		sb_add(sb, " THEN ");
		describe_node(sb, e, v->a);
		sb_add(sb, " ELSE ");
		describe_node(sb, e, v->b);
		sb_add(sb, ")");
		break;
	default:
		sb_add(sb, "%s", valexp_predicate_name(v->op));
		break;
	}
}

int valexp_describe(const struct valexp *e, char *buf, size_t len)
{
	struct sbuf sb;

	sb_init(&sb, buf, len);
	describe_node(&sb, e, e->root);
	if (sb.overflow)
		return -ENOSPC;
	return (int)sb.used;
}

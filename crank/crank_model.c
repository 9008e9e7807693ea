/* crank_model: items and settings of a policy source into typed values,
 * with the contradictions that show in the text (see the header). */
#include "crank_model.h"
#include "crank_model_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "polsel.h"
#include "valexp.h"

enum {
	S_CHAIN = 1 << 0, S_KEY = 1 << 1, S_PKCS11 = 1 << 2,
	S_PUBKEY = 1 << 3, S_KEYTAB = 1 << 4, S_ROLE = 1 << 5,
	S_UIDS = 1 << 6, S_DISABLED = 1 << 7, S_SHOW = 1 << 8,
	S_NONE = 1 << 9, S_PEERS = 1 << 10, S_FOR = 1 << 11,
	S_MIN = 1 << 12, S_MAX = 1 << 13, S_PRIO = 1 << 14,
	S_CAUTH = 1 << 15, S_KINDS = 1 << 16, S_VALEXP = 1 << 17,
};

static const struct setting {
	const char *name;
	unsigned bit;
	int amin, amax;		/* arguments */
} settings[] = {
	{ "chain", S_CHAIN, 1, 1 }, { "key", S_KEY, 1, 1 },
	{ "pkcs11", S_PKCS11, 1, 1 }, { "public-key", S_PUBKEY, 1, 1 },
	{ "keytab", S_KEYTAB, 1, 1 }, { "role", S_ROLE, 1, 1 },
	{ "uids", S_UIDS, 1, POLREC_UIDS_MAX }, { "disabled", S_DISABLED, 0, 0 },
	{ "show", S_SHOW, 1, POLREC_IDS_MAX }, { "none", S_NONE, 0, 0 },
	{ "peers", S_PEERS, 1, 1 }, { "for", S_FOR, 1, 1 },
	{ "min-version", S_MIN, 1, 1 }, { "max-version", S_MAX, 1, 1 },
	{ "priority", S_PRIO, 1, 1 }, { "client-auth", S_CAUTH, 1, 1 },
	{ "kinds", S_KINDS, 1, 3 }, { "valexp", S_VALEXP, 1, 1 },
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

_Static_assert(NSETTINGS <= CRANK_MODEL_SETTINGS, "room for every setting");

static void report(struct ctx *c, const struct crank_pos *pos,
		   const char *sev, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (c->diag != NULL)
		c->diag(c->dctx, pos, sev, msg);
}

void crank_model_err(struct ctx *c, const struct crank_pos *pos,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, pos, "error", fmt, ap);
	va_end(ap);
	c->errors++;
}

void crank_model_warn(struct ctx *c, const struct crank_pos *pos,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(c, pos, "warning", fmt, ap);
	va_end(ap);
}

void crank_model_free(struct crank_model *m)
{
	for (size_t i = 0; i < m->nidents; i++)
		free(m->idents[i].uids);
	for (size_t i = 0; i < m->ndiscl; i++) {
		for (size_t j = 0; j < m->discl[i].nids; j++)
			free(m->discl[i].ids[j]);
		free(m->discl[i].ids);
		free(m->discl[i].id_pos);
	}
	for (size_t i = 0; i < m->nrules; i++)
		free(m->rules[i].uids);
	free(m->idents);
	free(m->discl);
	free(m->trust);
	free(m->rules);
	memset(m, 0, sizeof(*m));
}

/* One more element; the capacity doubles at powers of two, so adding n
 * elements costs O(n). */
static void *grow(void *arr, size_t *n, size_t size)
{
	char *na = arr;

	if ((*n & (*n - 1)) == 0)
		na = realloc(arr, (*n ? 2 * *n : 1) * size);
	if (na == NULL)
		return NULL;
	memset(na + *n * size, 0, size);
	(*n)++;
	return na;
}

/* ---- values ---- */

static int val_id(struct ctx *c, const struct crank_tok *t, char *out)
{
	struct donai d;
	char why[128];

	if (donai_parse(t->text, &d, why, sizeof(why)) < 0 ||
	    donai_format(&d, out, DONAI_BUFSIZE) < 0) {
		out[0] = '\0';
		err(c, &t->pos, "'%s' is not an identity: %s", t->text, why);
		return -1;
	}
	return 0;
}

static int val_sel(struct ctx *c, const struct crank_tok *t, char *out)
{
	struct donai_selector s;
	char why[128];

	if (donai_selector_parse(t->text, &s, why, sizeof(why)) < 0 ||
	    donai_selector_format(&s, out, DONAI_BUFSIZE) < 0) {
		out[0] = '\0';
		err(c, &t->pos, "'%s' is not a selector: %s", t->text, why);
		return -1;
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Numbers only: user names would be looked up here, not on the hosts
 * the policy goes to. */
static int val_uids(struct ctx *c, const struct crank_stmt *s, uint32_t **out,
		    size_t *n)
{
	uint32_t *u = calloc(s->nargs, sizeof(*u));

	if (u == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->nargs; i++) {
		const char *t = s->args[i].text;
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(t, &end, 10);
		if (!isdigit((unsigned char)t[0]) || *end != '\0' || errno != 0 ||
		    v >= UINT32_MAX) {
			err(c, &s->args[i].pos, "'%s' is not a uid (a number; user "
			    "names are not resolved here, they may differ on the "
			    "hosts)", t);
			free(u);
			return -1;
		}
		u[i] = (uint32_t)v;
	}
	qsort(u, s->nargs, sizeof(*u), cmp_u32);
	for (size_t i = 1; i < s->nargs; i++)
		if (u[i] == u[i - 1]) {
			err(c, &s->kw.pos, "uid %u is listed twice", u[i]);
			free(u);
			return -1;
		}
	*out = u;
	*n = s->nargs;
	return 0;
}

static int val_valexp(struct ctx *c, const struct crank_tok *t)
{
	struct valexp *e = NULL;
	char why[VALEXP_WHYLEN + 64];
	size_t off = 0;
	struct crank_pos pos;

	if (valexp_compile(t->text, POLSEL_PREDICATES, &e, why, sizeof(why),
			   &off) < 0) {
		pos = crank_tok_pos(t, off);
		err(c, &pos, "validation expression '%s': %s", t->text, why);
		return -1;
	}
	valexp_free(e);
	return 0;
}

static int val_abs_path(struct ctx *c, const struct crank_tok *t,
			const char *what)
{
	if (t->text[0] != '/') {
		err(c, &t->pos, "%s '%s' must be an absolute path: it names the "
		    "file on the hosts that use this identity", what, t->text);
		return -1;
	}
	return 0;
}

/* "sha256:HEX" (64 hex digits) into hex; 1 if so, 0 if not that form,
 * -1 after an error. */
static int val_hash(struct ctx *c, const struct crank_tok *t, char hex[65])
{
	const char *h = t->text + 7;

	if (strncmp(t->text, "sha256:", 7) != 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)h[i])) {
			err(c, &t->pos, "'%s': sha256: takes 64 hex digits", t->text);
			return -1;
		}
		hex[i] = (char)tolower((unsigned char)h[i]);
	}
	if (h[64] != '\0') {
		err(c, &t->pos, "'%s': sha256: takes 64 hex digits", t->text);
		return -1;
	}
	hex[64] = '\0';
	return 1;
}

/* ---- settings of one item ---- */

/* Check the settings of it against allowed; fill c->seen.  0 or -1. */
static int check_settings(struct ctx *c, const struct crank_item *it,
			  unsigned allowed, const char *what)
{
	int bad = 0;

	memset(c->seen, 0, sizeof(c->seen));
	for (size_t i = 0; i < it->nset; i++) {
		const struct crank_stmt *s = &it->set[i];
		size_t k;

		for (k = 0; k < NSETTINGS; k++)
			if (strcmp(settings[k].name, s->kw.text) == 0)
				break;
		if (k == NSETTINGS || !(settings[k].bit & allowed)) {
			char known[256] = "";

			for (size_t j = 0; j < NSETTINGS; j++)
				if (settings[j].bit & allowed)
					snprintf(known + strlen(known),
						 sizeof(known) - strlen(known),
						 "%s%s", known[0] ? ", " : "",
						 settings[j].name);
			err(c, &s->kw.pos, "'%s' is not a setting of %s (%s: %s)",
			    s->kw.text, what, known[0] ? "settings" : "it takes",
			    known[0] ? known : "none");
			bad = 1;
			continue;
		}
		if (c->seen[k] != NULL) {
			err(c, &s->kw.pos, "'%s' is set twice in this block "
			    "(first at line %u)", s->kw.text,
			    c->seen[k]->kw.pos.line);
			bad = 1;
			continue;
		}
		if (s->nargs < (size_t)settings[k].amin ||
		    s->nargs > (size_t)settings[k].amax) {
			if (settings[k].amin == settings[k].amax)
				err(c, &s->kw.pos, "'%s' takes %d argument%s, not "
				    "%zu", s->kw.text, settings[k].amin,
				    settings[k].amin == 1 ? "" : "s", s->nargs);
			else
				err(c, &s->kw.pos, "'%s' takes %d to %d arguments, "
				    "not %zu", s->kw.text, settings[k].amin,
				    settings[k].amax, s->nargs);
			bad = 1;
			continue;
		}
		c->seen[k] = s;
	}
	return bad ? -1 : 0;
}

static const struct crank_stmt *seen(struct ctx *c, unsigned bit)
{
	for (size_t k = 0; k < NSETTINGS; k++)
		if (settings[k].bit == bit)
			return c->seen[k];
	return NULL;
}

static const struct crank_tok *arg1(struct ctx *c, unsigned bit)
{
	const struct crank_stmt *s = seen(c, bit);

	return s != NULL ? &s->args[0] : NULL;
}

static int head_args(struct ctx *c, const struct crank_item *it, size_t n,
		     const char *usage)
{
	if (it->head.nargs != n) {
		err(c, &it->head.kw.pos, "expected '%s'", usage);
		return -1;
	}
	return 0;
}

/* ---- items ---- */

static int item_identity(struct ctx *c, const struct crank_item *it,
			 struct crank_model *m)
{
	static const char usage[] = "identity ID x509|rawpk|krb5 { ... }";
	const unsigned kind_set[] = { 0,
		S_CHAIN | S_KEY | S_PKCS11,		/* x509 */
		S_PUBKEY | S_KEY | S_PKCS11,		/* rawpk */
		S_KEYTAB,				/* krb5 */
	};
	const unsigned common = S_ROLE | S_UIDS | S_DISABLED;
	struct crank_ident *r, *n;
	const struct crank_tok *t;
	char what[32];
	int kind, bad = 0, sbad = 0;

	if (head_args(c, it, 2, usage) < 0)
		return 0;
	kind = polrec_cred_parse(it->head.args[1].text);
	if (kind < 0) {
		err(c, &it->head.args[1].pos, "'%s' is not a credential kind "
		    "(x509, rawpk, krb5)", it->head.args[1].text);
		return 0;
	}
	n = grow(m->idents, &m->nidents, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	m->idents = n;
	r = &n[m->nidents - 1];
	r->pos = it->head.kw.pos;
	r->kind = (enum polrec_cred)kind;
	r->roles = POLREC_ROLE_BOTH;
	bad |= val_id(c, &it->head.args[0], r->id);
	snprintf(what, sizeof(what), "a%s %s identity",
		 kind == POLREC_CRED_X509 ? "n" : "", polrec_cred_name(r->kind));
	if (check_settings(c, it, kind_set[kind] | common, what) < 0)
		bad = sbad = 1;
	if ((t = arg1(c, S_ROLE)) != NULL) {
		int role = polrec_role_parse(t->text);

		if (role < 0) {
			err(c, &t->pos, "'%s' is not a role (client, server, "
			    "both)", t->text);
			bad = 1;
		} else {
			r->roles = (unsigned)role;
		}
	}
	r->disabled = seen(c, S_DISABLED) != NULL;
	if (seen(c, S_UIDS) != NULL) {
		int rc = val_uids(c, seen(c, S_UIDS), &r->uids, &r->nuids);

		if (rc == -ENOMEM)
			return rc;
		bad |= rc < 0;
	}
	if ((t = arg1(c, S_CHAIN)) != NULL)
		r->chain = t->text, r->chain_pos = t->pos;
	if ((t = arg1(c, S_PUBKEY)) != NULL)
		r->pubkey = t->text, r->pubkey_pos = t->pos;
	if ((t = arg1(c, S_KEY)) != NULL) {
		r->key = t->text, r->key_pos = t->pos;
		bad |= val_abs_path(c, t, "key");
	}
	if ((t = arg1(c, S_KEYTAB)) != NULL) {
		r->keytab = t->text, r->keytab_pos = t->pos;
		bad |= val_abs_path(c, t, "keytab");
	}
	if ((t = arg1(c, S_PKCS11)) != NULL) {
		r->pkcs11 = t->text;
		if (strncmp(t->text, "pkcs11:", 7) != 0) {
			err(c, &t->pos, "'%s' is not a pkcs11: URI", t->text);
			bad = 1;
		}
	}
	if (!sbad && kind == POLREC_CRED_X509 && r->chain == NULL) {
		err(c, &it->head.kw.pos, "an x509 identity needs 'chain FILE'");
		bad = 1;
	}
	if (!sbad && kind == POLREC_CRED_RAWPK && r->pubkey == NULL) {
		err(c, &it->head.kw.pos, "a rawpk identity needs 'public-key "
		    "FILE'");
		bad = 1;
	}
	if (!sbad && kind != POLREC_CRED_KRB5 && (r->key == NULL) == (r->pkcs11 == NULL)) {
		err(c, &it->head.kw.pos, "a%s %s identity needs either 'key "
		    "/PATH' or 'pkcs11 URI'%s", kind == POLREC_CRED_X509 ? "n" : "",
		    polrec_cred_name(r->kind), r->key ? ", not both" : "");
		bad = 1;
	}
	r->bad = bad;
	return 0;
}

static int item_disclose(struct ctx *c, const struct crank_item *it,
			 struct crank_model *m)
{
	struct crank_disclose *r, *n;
	const struct crank_stmt *show;
	int bad = 0;

	if (head_args(c, it, 1, "disclose SELECTOR { show ID... | none }") < 0)
		return 0;
	n = grow(m->discl, &m->ndiscl, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	m->discl = n;
	r = &n[m->ndiscl - 1];
	r->pos = it->head.kw.pos;
	bad |= val_sel(c, &it->head.args[0], r->sel);
	bad |= check_settings(c, it, S_SHOW | S_NONE, "disclose") < 0;
	show = seen(c, S_SHOW);
	if (!bad && (show == NULL) == (seen(c, S_NONE) == NULL)) {
		err(c, &it->head.kw.pos, "disclose needs either 'show ID...' or "
		    "'none'%s", show ? ", not both" : "");
		bad = 1;
	}
	if (!bad && show != NULL) {
		r->ids = calloc(show->nargs, sizeof(*r->ids));
		r->id_pos = calloc(show->nargs, sizeof(*r->id_pos));
		if (r->ids == NULL || r->id_pos == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < show->nargs; i++) {
			char id[DONAI_BUFSIZE];

			if (val_id(c, &show->args[i], id) < 0) {
				bad = 1;
				continue;
			}
			for (size_t j = 0; j < r->nids; j++)
				if (strcmp(r->ids[j], id) == 0) {
					err(c, &show->args[i].pos, "%s is "
					    "already in this list", id);
					bad = 1;
				}
			r->id_pos[r->nids] = show->args[i].pos;
			r->ids[r->nids] = strdup(id);
			if (r->ids[r->nids++] == NULL)
				return -ENOMEM;
		}
	}
	r->bad = bad;
	return 0;
}

static int item_trust(struct ctx *c, const struct crank_item *it,
		      struct crank_model *m, enum polrec_trust_kind kind)
{
	const char *name = polrec_trust_kind_name(kind);
	const char *art = kind == POLREC_TRUST_ANCHOR ? "an" : "a";
	unsigned allowed = kind == POLREC_TRUST_ANCHOR ? S_PEERS | S_VALEXP :
			   kind == POLREC_TRUST_PIN ? S_PEERS | S_FOR | S_VALEXP : 0;
	struct crank_trust *r, *n;
	const struct crank_tok *t;
	int bad = 0, h;

	if (it->head.nargs != 1) {
		err(c, &it->head.kw.pos, "expected '%s %s'", name,
		    kind == POLREC_TRUST_PIN || kind == POLREC_TRUST_REVOKED
			    ? "FILE|sha256:HEX" : "FILE");
		return 0;
	}
	n = grow(m->trust, &m->ntrust, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	m->trust = n;
	r = &n[m->ntrust - 1];
	r->pos = it->head.kw.pos;
	r->kind = kind;
	bad |= check_settings(c, it, allowed, name) < 0;
	h = val_hash(c, &it->head.args[0], r->hex);
	if (h < 0)
		bad = 1;
	else if (h == 1 && (kind == POLREC_TRUST_ANCHOR || kind == POLREC_TRUST_CRL)) {
		err(c, &it->head.args[0].pos, "%s %s needs its file, not a hash",
		    art, name);
		bad = 1;
	} else if (h == 0) {
		r->file = it->head.args[0].text;
		r->file_pos = it->head.args[0].pos;
	}
	if (kind == POLREC_TRUST_ANCHOR || kind == POLREC_TRUST_PIN)
		r->peers = POLREC_TRUSTF_MASK;
	if ((t = arg1(c, S_VALEXP)) != NULL) {
		/* the rule's expression decides what a peer proves; the daemon
		 * never reads one stored on a trust record */
		err(c, &t->pos, "%s %s takes no validation expression: the daemon "
		    "applies the expression of the connection policy rule (put it "
		    "in a 'policy' block)", art, name);
		bad = 1;
	}
	if ((t = arg1(c, S_PEERS)) != NULL) {
		if (strcmp(t->text, "clients") == 0)
			r->peers = POLREC_TRUSTF_CLIENTS;
		else if (strcmp(t->text, "servers") == 0)
			r->peers = POLREC_TRUSTF_SERVERS;
		else if (strcmp(t->text, "both") != 0) {
			err(c, &t->pos, "'%s': peers are clients, servers or both",
			    t->text);
			bad = 1;
		}
	}
	if ((t = arg1(c, S_FOR)) != NULL)
		bad |= val_id(c, t, r->for_id);
	r->bad = bad;
	return 0;
}

/* S/s and C/c name the local role, which a rule already fixes: in it
 * they are constants, which is seldom what the writer meant. */
static void role_letters(struct ctx *c, const struct crank_tok *t,
			 unsigned role)
{
	for (const char *p = t->text; *p != '\0'; p++) {
		int is_s = *p == 'S' || *p == 's', is_c = *p == 'C' || *p == 'c';
		struct crank_pos pos;

		if (!is_s && !is_c)
			continue;
		pos = crank_tok_pos(t, (size_t)(p - t->text));
		warn(c, &pos, "'%c' is always %s in a rule for the %s role", *p,
		     (is_s && role == POLREC_ROLE_SERVER) ||
		     (is_c && role == POLREC_ROLE_CLIENT) ? "true" : "false",
		     polrec_role_name(role));
	}
}

static int rule_version(struct ctx *c, unsigned bit, uint16_t *out)
{
	const struct crank_tok *t = arg1(c, bit);
	int v;

	if (t == NULL)
		return 0;
	v = polrec_version_parse(t->text);
	if (v < 0) {
		err(c, &t->pos, "'%s' is not a TLS version (TLS1.0 ... TLS1.3, "
		    "any)", t->text);
		return 1;
	}
	*out = (uint16_t)v;
	return 0;
}

static int rule_kinds(struct ctx *c, unsigned *kinds)
{
	const struct crank_stmt *s = seen(c, S_KINDS);

	*kinds = 0;
	for (size_t i = 0; s != NULL && i < s->nargs; i++) {
		unsigned k;

		if (polrec_kinds_parse(s->args[i].text, &k) < 0 ||
		    strchr(s->args[i].text, ',') != NULL ||
		    (k == 0 && s->nargs > 1)) {
			err(c, &s->args[i].pos, "'%s' is not a credential kind "
			    "(x509, rawpk, krb5; or any alone)", s->args[i].text);
			return 1;
		}
		if (*kinds & k) {
			err(c, &s->args[i].pos, "%s is listed twice",
			    s->args[i].text);
			return 1;
		}
		*kinds |= k;
	}
	return 0;
}

static int item_policy(struct ctx *c, const struct crank_item *it,
		       struct crank_model *m)
{
	struct crank_rule *r, *n;
	const struct crank_tok *t;
	int bad = 0, role;

	if (head_args(c, it, 2, "policy SELECTOR client|server { ... }") < 0)
		return 0;
	role = polrec_role_parse(it->head.args[1].text);
	if (role != POLREC_ROLE_CLIENT && role != POLREC_ROLE_SERVER) {
		err(c, &it->head.args[1].pos, "'%s': a rule is for the local role "
		    "client or server (write two rules for both)",
		    it->head.args[1].text);
		return 0;
	}
	n = grow(m->rules, &m->nrules, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	m->rules = n;
	r = &n[m->nrules - 1];
	r->pos = it->head.kw.pos;
	r->role = (unsigned)role;
	bad |= val_sel(c, &it->head.args[0], r->sel);
	bad |= check_settings(c, it, S_MIN | S_MAX | S_PRIO | S_CAUTH | S_KINDS |
			      S_VALEXP | S_UIDS, "policy") < 0;
	bad |= rule_version(c, S_MIN, &r->min_version);
	bad |= rule_version(c, S_MAX, &r->max_version);
	if (r->min_version && r->max_version && r->min_version > r->max_version) {
		err(c, &arg1(c, S_MIN)->pos, "min-version %s is above max-version "
		    "%s", polrec_version_name(r->min_version),
		    polrec_version_name(r->max_version));
		bad = 1;
	}
	bad |= rule_kinds(c, &r->kinds);
	if ((t = arg1(c, S_PRIO)) != NULL) {
		r->priority = t->text, r->priority_tok = t;
		if (t->text[0] == '\0') {
			err(c, &t->pos, "empty priority string (leave 'priority' "
			    "out for the daemon's default)");
			bad = 1;
		}
	}
	if ((t = arg1(c, S_VALEXP)) != NULL) {
		r->valexp = t->text;
		if (val_valexp(c, t) < 0)
			bad = 1;
		else
			role_letters(c, t, (unsigned)role);
	}
	if ((t = arg1(c, S_CAUTH)) != NULL) {
		int a = polrec_cauth_parse(t->text);

		if (a < 0) {
			err(c, &t->pos, "'%s': client-auth is required, optional, "
			    "none or default", t->text);
			bad = 1;
		} else if (role == POLREC_ROLE_CLIENT && a != POLREC_CAUTH_DEFAULT) {
			err(c, &t->pos, "client-auth applies to the server role; "
			    "this rule is for the client role");
			bad = 1;
		} else {
			r->client_auth = (enum polrec_client_auth)a;
		}
	}
	if (seen(c, S_UIDS) != NULL) {
		int rc = val_uids(c, seen(c, S_UIDS), &r->uids, &r->nuids);

		if (rc == -ENOMEM)
			return rc;
		bad |= rc < 0;
	}
	r->bad = bad;
	return 0;
}

int crank_model_build(const struct crank_src *src, struct crank_model *m,
		      crank_diag_fn diag, void *dctx)
{
	struct ctx c = { diag, dctx, 0, { 0 } };
	int rc = 0;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; rc == 0 && i < src->nitems; i++) {
		const struct crank_item *it = &src->items[i];
		const char *kw = it->head.kw.text;

		if (strcmp(kw, "identity") == 0)
			rc = item_identity(&c, it, m);
		else if (strcmp(kw, "disclose") == 0)
			rc = item_disclose(&c, it, m);
		else if (strcmp(kw, "anchor") == 0)
			rc = item_trust(&c, it, m, POLREC_TRUST_ANCHOR);
		else if (strcmp(kw, "pin") == 0)
			rc = item_trust(&c, it, m, POLREC_TRUST_PIN);
		else if (strcmp(kw, "revoked") == 0)
			rc = item_trust(&c, it, m, POLREC_TRUST_REVOKED);
		else if (strcmp(kw, "crl") == 0)
			rc = item_trust(&c, it, m, POLREC_TRUST_CRL);
		else if (strcmp(kw, "policy") == 0)
			rc = item_policy(&c, it, m);
		else
			err(&c, &it->head.kw.pos, "'%s' is not an item (identity, "
			    "disclose, anchor, pin, revoked, crl, policy)", kw);
	}
	if (rc == 0)
		rc = crank_model_contradictions(&c, m);
	if (rc < 0) {
		crank_model_free(m);
		return rc;
	}
	return c.errors;
}

/* tlspool-ctl: command lines and txn files into struct ctl_cmd.  Syntax
 * and values only; no file is opened here. */
#include "ctl.h"
#include "ctl_plat.h"
#include "ctl_rawpk.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "donai.h"
#include "polsel.h"
#include "valexp.h"

enum {
	O_CHAIN = 1 << 0, O_KEY = 1 << 1, O_PKCS11 = 1 << 2, O_ROLE = 1 << 3,
	O_UIDS = 1 << 4, O_KIND = 1 << 5, O_VALEXP = 1 << 6, O_FOR = 1 << 7,
	O_PEERS = 1 << 8, O_MIN = 1 << 9, O_MAX = 1 << 10, O_PRIO = 1 << 11,
	O_CAUTH = 1 << 12, O_KINDS = 1 << 13,
};

static const struct { const char *name; unsigned bit; } options[] = {
	{ "chain", O_CHAIN }, { "key", O_KEY }, { "pkcs11", O_PKCS11 },
	{ "role", O_ROLE }, { "uid", O_UIDS }, { "uids", O_UIDS },
	{ "kind", O_KIND }, { "valexp", O_VALEXP }, { "for", O_FOR },
	{ "peers", O_PEERS }, { "min-version", O_MIN },
	{ "max-version", O_MAX }, { "priority", O_PRIO },
	{ "client-auth", O_CAUTH }, { "kinds", O_KINDS },
};

struct spec {
	const char *db, *op;
	enum ctl_op code;
	int pmin, pmax;		/* positional arguments */
	unsigned opts;
	const char *usage;
};

static const struct spec specs[] = {
	{ "localid", "list", CTL_LIST, 0, 0, 0, "localid list" },
	{ "localid", "get", CTL_GET, 1, 1, O_KIND, "localid get ID [--kind K]" },
	{ "localid", "set", CTL_SET, 1, 1,
	  O_CHAIN | O_KEY | O_PKCS11 | O_ROLE | O_UIDS | O_KIND,
	  "localid set ID --chain FILE.pem (--key FILE.key | --pkcs11 URI)"
	  " [--role client|server|both] [--uid N,...]" },
	{ "localid", "del", CTL_DEL, 1, 1, O_KIND, "localid del ID [--kind K]" },
	{ "disclose", "list", CTL_LIST, 0, 0, 0, "disclose list" },
	{ "disclose", "get", CTL_GET, 1, 1, 0, "disclose get SEL" },
	{ "disclose", "set", CTL_SET, 1, 1 + POLREC_IDS_MAX, 0,
	  "disclose set SEL [ID...]" },
	{ "disclose", "del", CTL_DEL, 1, 1, 0, "disclose del SEL" },
	{ "trust", "list", CTL_LIST, 0, 0, 0, "trust list" },
	{ "trust", "get", CTL_GET, 1, 1, 0, "trust get KEY" },
	{ "trust", "add-anchor", CTL_ADD_ANCHOR, 1, 1, O_PEERS,
	  "trust add-anchor FILE.pem [--peers clients|servers|both]" },
	{ "trust", "add-pin", CTL_ADD_PIN, 1, 1, O_FOR | O_PEERS,
	  "trust add-pin FILE.pem|SHA256HEX [--for ID]"
	  " [--peers clients|servers|both]" },
	{ "trust", "revoke", CTL_REVOKE, 1, 1, 0,
	  "trust revoke FILE.pem|SHA256HEX" },
	{ "trust", "add-crl", CTL_ADD_CRL, 1, 1, 0, "trust add-crl FILE" },
	{ "trust", "del", CTL_DEL, 1, 1, 0, "trust del KEY" },
	{ "policy", "list", CTL_LIST, 0, 0, 0, "policy list" },
	{ "policy", "get", CTL_GET, 2, 2, 0, "policy get SEL client|server" },
	{ "policy", "set", CTL_SET, 2, 2,
	  O_MIN | O_MAX | O_PRIO | O_VALEXP | O_CAUTH | O_KINDS | O_UIDS,
	  "policy set SEL client|server [--min-version TLS1.2]"
	  " [--max-version TLS1.3] [--priority STR] [--valexp EXPR]"
	  " [--client-auth required|optional|none|default] [--kinds x509,...]"
	  " [--uids N,...]" },
	{ "policy", "del", CTL_DEL, 2, 2, 0, "policy del SEL client|server" },
	{ "import-dir", "", CTL_IMPORT_DIR, 1, 1, O_ROLE,
	  "import-dir DIR [--role client|server|both]" },
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

void ctl_usage(FILE *out)
{
	fprintf(out, "usage: tlspool-ctl [-c CONFIG] [-d DBENV_DIR] COMMAND\n"
		     "commands:\n");
	for (size_t i = 0; i < NSPECS; i++)
		fprintf(out, "  %s\n", specs[i].usage);
	ctl_rawpk_usage(out);
	fprintf(out, "  txn FILE   (the commands above that change something,"
		     " one per line, in one transaction)\n"
		     "  explain --role client|server [--local ID] [--remote ID]"
		     " [--service NAME] [--uid N]\n"
		     "  dane --local HOSTNAME [--port N]   (TLSA records to "
		     "publish)\n"
		     "  status     (counters per rule, from the running daemon)\n"
		     "  metrics    (the same in Prometheus text format)\n");
}

static int fail(const struct ctl_cmd *c, char *err, size_t errlen,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(const struct ctl_cmd *c, char *err, size_t errlen,
		const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s", c->where ? c->where : "");

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_id(struct ctl_cmd *c, const char *s, char *out,
		    char *err, size_t errlen)
{
	struct donai d;
	char why[128];

	if (donai_parse(s, &d, why, sizeof(why)) < 0)
		return fail(c, err, errlen, "bad identity '%s': %s", s, why);
	if (donai_format(&d, out, CTL_NAMELEN) < 0)
		return fail(c, err, errlen, "identity '%s' is too long", s);
	return 0;
}

static int parse_sel(struct ctl_cmd *c, const char *s, char *err,
		     size_t errlen)
{
	struct donai_selector sel;
	char why[128];

	if (donai_selector_parse(s, &sel, why, sizeof(why)) < 0)
		return fail(c, err, errlen, "bad selector '%s': %s", s, why);
	if (donai_selector_format(&sel, c->name, sizeof(c->name)) < 0)
		return fail(c, err, errlen, "selector '%s' is too long", s);
	return 0;
}

static int cmp_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* "1000,www-data,0": numbers or user names; sorted, duplicates merged. */
static int parse_uids(struct ctl_cmd *c, const char *s, char *err,
		      size_t errlen)
{
	char buf[4096], *save = NULL;
	size_t n = 0;

	if (strlen(s) >= sizeof(buf) || s[0] == '\0')
		return fail(c, err, errlen, "bad uid list '%s'", s);
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v;
		uint32_t uid;
		int rc;

		errno = 0;
		v = strtoul(t, &end, 10);
		if (isdigit((unsigned char)t[0]) && *end == '\0' && errno == 0 &&
		    v <= UINT32_MAX - 1) {
			c->uids[n] = (uint32_t)v;
		} else if ((rc = ctl_plat_user_uid(t, &uid)) == 0) {
			c->uids[n] = uid;
		} else if (rc == -ENOTSUP) {
			return fail(c, err, errlen, "'%s' is no uid (user names "
				    "have no uid on this platform)", t);
		} else {
			return fail(c, err, errlen, "'%s' is no uid or user name", t);
		}
		if (++n == POLREC_UIDS_MAX)
			return fail(c, err, errlen, "more than %d uids", POLREC_UIDS_MAX - 1);
	}
	qsort(c->uids, n, sizeof(c->uids[0]), cmp_uid);
	c->nuids = 0;
	for (size_t i = 0; i < n; i++)
		if (c->nuids == 0 || c->uids[c->nuids - 1] != c->uids[i])
			c->uids[c->nuids++] = c->uids[i];
	return 0;
}

static int parse_valexp(struct ctl_cmd *c, const char *s, char *err,
			size_t errlen)
{
	struct valexp *e = NULL;
	char why[VALEXP_WHYLEN + 64];
	/* what the daemon evaluates: refuse now what it would refuse */
	if (valexp_compile(s, POLSEL_PREDICATES, &e, why, sizeof(why), NULL) < 0)
		return fail(c, err, errlen, "bad --valexp '%s': %s", s, why);
	valexp_free(e);
	c->valexp = s;
	return 0;
}

/* 64 hex digits (either case) into c->hex, lower case; 1 if so. */
static int take_hex(struct ctl_cmd *c, const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return 0;
		c->hex[i] = (char)tolower((unsigned char)s[i]);
	}
	c->hex[64] = '\0';
	return 1;
}

static int parse_option(struct ctl_cmd *c, unsigned bit, const char *name,
			const char *v, char *err, size_t errlen)
{
	int n;

	switch (bit) {
	case O_CHAIN: c->chain = v; return 0;
	case O_KEY: c->keyfile = v; return 0;
	case O_PKCS11:
		if (strncmp(v, "pkcs11:", 7) != 0)
			return fail(c, err, errlen, "--pkcs11 needs a pkcs11: URI");
		c->pkcs11 = v;
		return 0;
	case O_ROLE:
		if ((n = polrec_role_parse(v)) < 0)
			return fail(c, err, errlen, "--role is client, server or both");
		c->roles = (unsigned)n;
		return 0;
	case O_UIDS: return parse_uids(c, v, err, errlen);
	case O_KIND:
		if ((n = polrec_cred_parse(v)) < 0)
			return fail(c, err, errlen, "--kind is x509, rawpk or krb5");
		c->kind = n;
		return 0;
	case O_VALEXP: return parse_valexp(c, v, err, errlen);
	case O_FOR: return parse_id(c, v, c->for_id, err, errlen);
	case O_PEERS:
		if ((n = polrec_role_parse(strcmp(v, "clients") == 0 ? "client" :
					   strcmp(v, "servers") == 0 ? "server" :
					   strcmp(v, "both") == 0 ? v : "")) < 0)
			return fail(c, err, errlen, "--peers is clients, servers or both");
		c->peers = (unsigned)n;	/* same bits as POLREC_TRUSTF_* */
		return 0;
	case O_MIN:
	case O_MAX:
		if ((n = polrec_version_parse(v)) < 0)
			return fail(c, err, errlen, "--%s is TLS1.0 .. TLS1.3 or any",
				    name);
		*(bit == O_MIN ? &c->min_version : &c->max_version) = (uint16_t)n;
		return 0;
	case O_PRIO: c->priority = v; return 0;
	case O_CAUTH:
		if ((n = polrec_cauth_parse(v)) < 0)
			return fail(c, err, errlen, "--client-auth is required, "
				    "optional, none or default");
		c->client_auth = n;
		return 0;
	case O_KINDS:
		if (polrec_kinds_parse(v, &c->kinds) < 0)
			return fail(c, err, errlen, "--kinds is a list of x509, rawpk, "
				    "krb5, or any");
		return 0;
	}
	return fail(c, err, errlen, "internal: option %s", name);
}

static int parse_role(struct ctl_cmd *c, const char *s, char *err,
		      size_t errlen)
{
	if (strcmp(s, "client") == 0)
		c->role = POLREC_ROLE_CLIENT;
	else if (strcmp(s, "server") == 0)
		c->role = POLREC_ROLE_SERVER;
	else
		return fail(c, err, errlen, "role '%s' is not client or server", s);
	return 0;
}

static int parse_trust_key(struct ctl_cmd *c, const char *s, char *err,
			   size_t errlen)
{
	char why[160];

	if (polrec_trust_key_check(s, strlen(s), NULL, why, sizeof(why)) < 0)
		return fail(c, err, errlen, "bad trust key '%s': %s", s, why);
	snprintf(c->name, sizeof(c->name), "%s", s);
	return 0;
}

static int parse_ids(struct ctl_cmd *c, int n, char **v, char *err,
		     size_t errlen)
{
	c->ids = calloc((size_t)n + 1, sizeof(*c->ids));
	if (c->ids == NULL)
		return fail(c, err, errlen, "out of memory");
	for (int i = 0; i < n; i++) {
		char id[CTL_NAMELEN];
		int rc = parse_id(c, v[i], id, err, errlen);

		if (rc < 0)
			return rc;
		for (size_t j = 0; j < c->nids; j++)
			if (strcmp(c->ids[j], id) == 0)
				return fail(c, err, errlen, "identity %s given twice",
					    id);
		if ((c->ids[c->nids] = strdup(id)) == NULL)
			return fail(c, err, errlen, "out of memory");
		c->nids++;
	}
	return 0;
}

/* The positional arguments of s, in pos[0..npos). */
static int positional(struct ctl_cmd *c, const struct spec *s, int npos,
		      char **pos, char *err, size_t errlen)
{
	int rc = 0;

	switch (c->op) {
	case CTL_LIST:
		return 0;
	case CTL_IMPORT_DIR:
		c->dir = pos[0];
		return 0;
	case CTL_ADD_ANCHOR:
	case CTL_ADD_CRL:
		c->file = pos[0];
		return 0;
	case CTL_ADD_PIN:
	case CTL_REVOKE:
		if (!take_hex(c, pos[0]))
			c->file = pos[0];
		return 0;
	default:
		break;
	}
	if (c->db == POLICYDB_LOCALID)
		rc = parse_id(c, pos[0], c->name, err, errlen);
	else if (c->db == POLICYDB_TRUST)
		rc = parse_trust_key(c, pos[0], err, errlen);
	else
		rc = parse_sel(c, pos[0], err, errlen);
	if (rc == 0 && c->db == POLICYDB_POLICY)
		rc = parse_role(c, pos[1], err, errlen);
	if (rc == 0 && c->db == POLICYDB_DISCLOSE && c->op == CTL_SET)
		rc = parse_ids(c, npos - 1, pos + 1, err, errlen);
	(void)s;
	return rc;
}

/* What options alone cannot say. */
static int cross_check(struct ctl_cmd *c, char *err, size_t errlen)
{
	if (c->db == POLICYDB_LOCALID && c->op == CTL_SET) {
		if (c->chain == NULL)
			return fail(c, err, errlen, "localid set needs --chain");
		if ((c->keyfile == NULL) == (c->pkcs11 == NULL))
			return fail(c, err, errlen,
				    "localid set needs one of --key and --pkcs11");
		if (c->kind != 0 && c->kind != POLREC_CRED_X509)
			return fail(c, err, errlen, "only x509 credentials can be "
				    "set today");
	}
	if (c->min_version && c->max_version &&
	    c->min_version > c->max_version)
		return fail(c, err, errlen, "--min-version is above --max-version");
	return 0;
}

static const struct spec *find_spec(const char *db, const char *op)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (strcmp(specs[i].db, db) == 0 && strcmp(specs[i].op, op) == 0)
			return &specs[i];
	return NULL;
}

static int db_of(const char *name)
{
	for (int i = 0; i < POLICYDB_META; i++)
		if (strcmp(name, policydb_name((enum policydb_which)i)) == 0)
			return i;
	return POLICYDB_LOCALID;	/* import-dir */
}

/* Options (--name VALUE or --name=VALUE) anywhere; the rest positional. */
static int scan_args(struct ctl_cmd *c, const struct spec *s, int argc,
		     char **argv, char **pos, int *npos, char *err,
		     size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *v;
		size_t nl;
		unsigned bit = 0;
		int rc;

		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (*npos == s->pmax)
				return fail(c, err, errlen, "unexpected argument '%s'"
					    " (usage: %s)", a, s->usage);
			pos[(*npos)++] = argv[i];
			continue;
		}
		eq = strchr(a, '=');
		nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (size_t j = 0; j < sizeof(options) / sizeof(options[0]); j++)
			if (strlen(options[j].name) == nl &&
			    strncmp(options[j].name, a + 2, nl) == 0)
				bit = options[j].bit;
		if (bit == 0 || !(s->opts & bit))
			return fail(c, err, errlen, "option '%.*s' is not known here"
				    " (usage: %s)", (int)nl + 2, a, s->usage);
		if (eq == NULL && i + 1 >= argc)
			return fail(c, err, errlen, "option %s needs a value", a);
		v = eq ? eq + 1 : argv[++i];
		rc = parse_option(c, bit, a + 2, v, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int ctl_parse(const char *dbname, int argc, char **argv, struct ctl_cmd *c,
	      char *err, size_t errlen)
{
	const char *where = c->where;
	const struct spec *s;
	char **pos;
	int npos = 0, rc;

	memset(c, 0, sizeof(*c));
	c->where = where != NULL ? where : "";
	if (strcmp(dbname, "import-dir") == 0)
		s = find_spec(dbname, "");
	else
		s = argc > 0 ? find_spec(dbname, argv[0]) : NULL;
	if (s == NULL)
		return fail(c, err, errlen, "unknown command '%s%s%s'", dbname,
			    argc > 0 ? " " : "", argc > 0 ? argv[0] : "");
	if (s->code != CTL_IMPORT_DIR) {
		argc--;
		argv++;
	}
	c->db = (enum policydb_which)db_of(s->db);
	c->op = s->code;
	pos = calloc((size_t)s->pmax + 1, sizeof(*pos));
	if (pos == NULL)
		return fail(c, err, errlen, "out of memory");
	rc = scan_args(c, s, argc, argv, pos, &npos, err, errlen);
	if (rc == 0 && npos < s->pmin)
		rc = fail(c, err, errlen, "missing argument (usage: %s)", s->usage);
	if (rc == 0)
		rc = positional(c, s, npos, pos, err, errlen);
	if (rc == 0)
		rc = cross_check(c, err, errlen);
	free(pos);
	if (rc < 0)
		ctl_cmd_free(c);
	return rc;
}

void ctl_cmd_free(struct ctl_cmd *c)
{
	for (size_t i = 0; c->ids != NULL && i < c->nids; i++)
		free(c->ids[i]);
	free(c->ids);
	c->ids = NULL;
	c->nids = 0;
}

int ctl_is_change(const struct ctl_cmd *c)
{
	return c->op != CTL_LIST && c->op != CTL_GET;
}

/* ---- txn files ---- */

/* One word at *p (quoted or bare), unquoted in place; NULL at the end of
 * the line.  *bad set on an unterminated quote. */
static char *next_word(char **p, int *bad)
{
	char *s = *p, *w, *o;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	if (*s == '\0' || *s == '#')
		return NULL;
	w = o = s;
	while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r') {
		if (*s != '"') {
			*o++ = *s++;
			continue;
		}
		for (s++; *s != '"'; s++) {
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			if (*s == '\0') {
				*bad = 1;
				return NULL;
			}
			*o++ = *s;
		}
		s++;
	}
	if (*s != '\0')
		s++;
	*o = '\0';
	*p = s;
	return w;
}

int ctl_split_lines(char *text, const char *path,
		    int (*fn)(void *ctx, unsigned line, int argc, char **argv),
		    void *ctx, char *err, size_t errlen)
{
	char *words[POLREC_IDS_MAX + 8];
	unsigned line = 0;
	char *next;

	for (char *l = text; l != NULL; l = next) {
		int argc = 0, bad = 0, rc;
		char *w, *p = l;

		next = strchr(l, '\n');
		if (next != NULL)
			*next++ = '\0';
		line++;
		while ((w = next_word(&p, &bad)) != NULL) {
			if (argc == (int)(sizeof(words) / sizeof(words[0]))) {
				snprintf(err, errlen, "%s:%u: too many words", path,
					 line);
				return -EINVAL;
			}
			words[argc++] = w;
		}
		if (bad) {
			snprintf(err, errlen, "%s:%u: unterminated quote", path, line);
			return -EINVAL;
		}
		if (argc > 0 && (rc = fn(ctx, line, argc, words)) != 0)
			return rc;
	}
	return 0;
}

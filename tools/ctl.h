/* tlspool-ctl internals: parse (ctl_parse.c) -> build (ctl_build.c) ->
 * apply or show (ctl_exec.c).  Parsing checks syntax and values only;
 * building reads the files a command names and encodes records; only
 * ctl_exec touches the database. */
#ifndef TP_CTL_H
#define TP_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policydb.h"
#include "polrec.h"

#define CTL_ERRLEN 512
#define CTL_NAMELEN (POLREC_KEY_MAX + 1)

/* Exit codes. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

enum ctl_op {
	CTL_LIST, CTL_GET, CTL_SET, CTL_DEL,
	CTL_ADD_ANCHOR, CTL_ADD_PIN, CTL_REVOKE, CTL_ADD_CRL,
	CTL_IMPORT_DIR,
};

/* One parsed command.  Strings point into argv (or into the text of a
 * txn file), except name, which holds the canonical form. */
struct ctl_cmd {
	enum policydb_which db;		/* CTL_IMPORT_DIR: POLICYDB_LOCALID */
	enum ctl_op op;
	char name[CTL_NAMELEN];		/* ID, SEL or trust KEY */
	unsigned role;			/* policy: client or server */
	unsigned roles;			/* localid --role; 0: both */
	int kind;			/* localid --kind; 0: any */
	char **ids;			/* disclose set, canonical, owned */
	size_t nids;
	const char *chain, *keyfile, *pkcs11, *file, *dir;
	char hex[65];			/* pin / revoke by hash */
	char for_id[CTL_NAMELEN];	/* pin bound to this identity */
	const char *valexp, *priority;
	unsigned peers;			/* POLREC_TRUSTF_*; 0: both */
	uint32_t uids[POLREC_UIDS_MAX];
	size_t nuids;
	int have_min, have_max;
	uint16_t min_version, max_version;
	int client_auth;
	unsigned kinds;
	const char *where;		/* "file:line: " in txn files, or "" */
};

/* A change, ready for the database. */
struct ctl_action {
	enum policydb_which db;
	int del;			/* 0: put val under key */
	int localid_kind;		/* del of a localid: kind or 0 (all) */
	char key[POLREC_KEY_MAX + 1];	/* raw key (may hold a NUL) */
	size_t keylen;
	char label[CTL_NAMELEN + 32];	/* "localid a@b x509" for output */
	uint8_t *val;
	size_t vallen;
};

struct ctl_actions {
	struct ctl_action *a;
	size_t n, cap;
};

/* ctl_parse.c: argv after the database name ("localid", ...) or after
 * "import-dir".  0, or -EINVAL with the message in err (a usage error). */
int ctl_parse(const char *dbname, int argc, char **argv, struct ctl_cmd *c,
	      char *err, size_t errlen);
void ctl_cmd_free(struct ctl_cmd *c);
int ctl_is_change(const struct ctl_cmd *c);
void ctl_usage(FILE *out);
/* Split a txn file's text into lines of words ("..." quoting with \\
 * and \" escapes, '#' comments).  Calls fn for every non-empty line;
 * stops at the first non-zero return.  Modifies text in place. */
int ctl_split_lines(char *text, const char *path,
		    int (*fn)(void *ctx, unsigned line, int argc, char **argv),
		    void *ctx, char *err, size_t errlen);

/* ctl_build.c: append the changes c stands for.  0 or -errno with err. */
int ctl_build(const struct ctl_cmd *c, struct ctl_actions *out, char *err,
	      size_t errlen);
void ctl_actions_free(struct ctl_actions *acts);
/* Append the encoded record rec (a polrec_localid, _disclose, _trust or
 * _policy, as db says) under key, shown as label.  0, or the encoder's
 * -errno with "LABEL: reason" in err. */
int ctl_action_put(struct ctl_actions *acts, enum policydb_which db,
		   const char *key, size_t keylen, const char *label,
		   const void *rec, char *err, size_t errlen);
/* SHA-256 of a DER certificate's SubjectPublicKeyInfo; 0 or -EINVAL. */
int ctl_der_spki_hex(const struct polrec_blob *der, char hex[65]);

/* ctl_exec.c */
/* Apply every action in one write transaction (retried on deadlock);
 * prints one line per action and "serial N".  0 or -errno with err. */
int ctl_apply(struct policydb *db, const struct ctl_actions *acts, char *err,
	      size_t errlen);
/* list / get in a snapshot; 0, -ENOENT (nothing matched) or -errno;
 * *corrupt is set when corrupt records were skipped. */
int ctl_show(struct policydb *db, const struct ctl_cmd *c, int *corrupt,
	     char *err, size_t errlen);

/* ctl_report.c: explain a hypothetical connection with the daemon's own
 * rule selection (db may be NULL: defaults only); print the daemon's
 * counters (summary: one line per rule).  Exit codes. */
struct dconfig;
int ctl_explain(struct policydb *db, const struct dconfig *cfg, int argc,
		char **argv);
int ctl_metrics(const struct dconfig *cfg, int summary);
/* ctl_dane.c: print the TLSA records to publish for a local identity
 * (dane --local ID [--port N]); db may be NULL.  Exit codes. */
int ctl_dane(struct policydb *db, const struct dconfig *cfg, int argc,
	     char **argv);

#endif

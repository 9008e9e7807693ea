/* crank_model -- the meaning of a policy source (doc/crank.md): items
 * and settings checked and turned into typed values, one per policy
 * record (or, for a file of anchors, per certificate in it).
 *
 * Checked here, without opening any file: keywords, required and
 * repeated settings, identities and selectors (lib/donai), validation
 * expressions against the predicates the daemon evaluates (lib/valexp,
 * POLSEL_PREDICATES), versions, kinds, roles, uids, and contradictions
 * that show in the text: two rules for the same selector and role, the
 * same identity and kind twice, two disclose lists for one selector, an
 * identity disclosed twice in one list or disclosed although it is for
 * the server role only, client-auth on a client-role rule.  Files named
 * by the source are read later (crank_build).
 */
#ifndef CRANK_MODEL_H
#define CRANK_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "crank_src.h"
#include "donai.h"
#include "polrec.h"

struct crank_ident {
	struct crank_pos pos;
	int bad;			/* has errors: not built */		/* of the item */
	char id[DONAI_BUFSIZE];		/* canonical */
	enum polrec_cred kind;
	unsigned roles;
	int disabled;
	const char *chain;		/* x509: file (source-relative) */
	struct crank_pos chain_pos;
	const char *key;		/* absolute path on the hosts */
	struct crank_pos key_pos;
	const char *pkcs11;		/* "pkcs11:" URI */
	const char *pubkey;		/* rawpk: file (source-relative) */
	struct crank_pos pubkey_pos;
	const char *keytab;		/* krb5: absolute path on the hosts */
	struct crank_pos keytab_pos;
	uint32_t *uids;
	size_t nuids;
};

struct crank_disclose {
	struct crank_pos pos;
	int bad;			/* has errors: not built */
	char sel[DONAI_BUFSIZE];
	char **ids;			/* canonical */
	struct crank_pos *id_pos;
	size_t nids;
};

struct crank_trust {
	struct crank_pos pos;
	int bad;			/* has errors: not built */
	enum polrec_trust_kind kind;
	const char *file;		/* certificate/CRL file, or NULL */
	struct crank_pos file_pos;
	char hex[65];			/* sha256:HEX given instead of file */
	uint32_t peers;			/* POLREC_TRUSTF_* (anchors, pins) */
	char for_id[DONAI_BUFSIZE];	/* pins: bound identity or "" */
};

struct crank_rule {
	struct crank_pos pos;
	int bad;			/* has errors: not built */
	char sel[DONAI_BUFSIZE];
	unsigned role;			/* POLREC_ROLE_CLIENT or _SERVER */
	uint16_t min_version, max_version;
	enum polrec_client_auth client_auth;
	unsigned kinds;
	const char *priority;
	const struct crank_tok *priority_tok;
	const char *valexp;
	uint32_t *uids;
	size_t nuids;
};

/* Items with errors stay in the model (bad set), so that the checks for
 * contradictions still see them; crank_build skips them.
 * Strings point into the crank_src, which must outlive the model. */
struct crank_model {
	struct crank_ident *idents;
	size_t nidents;
	struct crank_disclose *discl;
	size_t ndiscl;
	struct crank_trust *trust;
	size_t ntrust;
	struct crank_rule *rules;
	size_t nrules;
};

/* Build the model from src.  Every problem goes to diag (errors and
 * warnings); returns the number of errors, or -ENOMEM. */
int crank_model_build(const struct crank_src *src, struct crank_model *m,
		      crank_diag_fn diag, void *ctx);
void crank_model_free(struct crank_model *m);

#endif

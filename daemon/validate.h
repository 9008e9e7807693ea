/* validate -- evaluate a policy rule's validation expression on an
 * established handshake.
 *
 * Every predicate the daemon accepts (POLSEL_PREDICATES) is real; the
 * meaning of each is in doc/validation.md.  A refusal names the rule,
 * the expression and the predicates that made it false, with reasons.
 */
#ifndef TP_VALIDATE_H
#define TP_VALIDATE_H

#include <stddef.h>
#include <gnutls/gnutls.h>

struct cred_store;
struct ocsp_query;
struct ocsp_result;
struct policydb;
struct dnssec_answer;
struct gdir_query;
struct gdir_result;

struct validate_input {
	gnutls_session_t tls;
	int server;			/* local role */
	const char *remoteid;		/* requested remote identity or "" */
	const char *rule;		/* selector of the rule, for messages */
	const char *valexp;		/* the expression */
	const struct cred_store *creds;	/* trust anchors */
	struct policydb *db;		/* pins, revoked keys, CRLs; or NULL */
	/* The online check (O/o): its result once the responder was asked
	 * (NULL before); ocsp_query receives what to ask (NULL: the
	 * caller cannot ask, O/o then count the responder as unavailable). */
	const struct ocsp_result *ocsp;
	struct ocsp_query *ocsp_query;
	/* A TLS-KDH peer (validate_kdh.c): its mapped identity, its
	 * principal and whether its realm is in kerberos_realm_map; NULL
	 * for a certificate peer. */
	const char *kdh_peer;
	const char *kdh_principal;
	int kdh_realm_trusted;
	/* K on a certificate session ("enhanced" mode, session_kdh_bind.c):
	 * the outcome of the Kerberos exchange bound to the channel (NULL
	 * before it ran); kbind_wanted (NULL: cannot run here) is set to 1
	 * when K needs it, and K then answers -EINPROGRESS. */
	const struct validate_kbind *kbind;
	int *kbind_wanted;
	/* DANE (D/d): the TLSA answer once asked (NULL before); tlsa_name
	 * (DNSSEC_NAME_MAX bytes, or NULL: the caller cannot ask) receives
	 * the name to ask; port: the peer's TCP port (0: unknown). */
	const struct dnssec_answer *tlsa;
	char *tlsa_name;
	unsigned port;
	/* Global directory (G/g): the SRV answer once looked up (NULL
	 * before; gdir_srv_name, DNSSEC_NAME_MAX bytes or NULL, receives
	 * the name), then the directory's verdict (NULL before; gdir_query,
	 * or NULL, receives what to ask). */
	const struct dnssec_answer *gdir_srv;
	char *gdir_srv_name;
	const struct gdir_result *gdir;
	struct gdir_query *gdir_query;
};

struct validate_kbind {
	int ok;				/* 1 proven, 0 failed (why) */
	char id[128];			/* the peer's mapped principal */
	char principal[256];
	char why[200];
};

/* 0 accept (with the proven identity in remoteid_out, "" when the peer
 * showed none), -EACCES refuse with the reason in why.  -EINPROGRESS:
 * the expression asked O or o before the responder was: *ocsp_query is
 * filled (ocsp_fetch.h); ask it and call again with ocsp set.  Or it
 * asked D or d before the TLSA lookup: tlsa_name is filled; look it up
 * (dnssec.h) and call again with tlsa set.  Or G/g: gdir_srv_name (look
 * up the SRV records, call again with gdir_srv set) or gdir_query (ask
 * the directory, gdir.h, call again with gdir set) is filled.  Other
 * predicates are then asked again, so none may depend on being asked
 * once (p's pin written on first use is found the second time). */
int validate_rule(const struct validate_input *in, char *remoteid_out,
		  size_t remoteid_len, char *why, size_t whylen);

/* L l: a peer key of algorithm pk and bits, and the negotiated cipher,
 * each give at least need; 1, or 0 with the reason in why.  For the
 * certificate's key here and for a raw key (validate_rawpk.c). */
int validate_level(gnutls_session_t tls, gnutls_pk_algorithm_t pk,
		   unsigned bits, gnutls_sec_param_t need, char *why,
		   size_t len);

/* validate_kdh.c: predicate letter for a TLS-KDH peer: 1, 0 (reason in
 * why), or VALIDATE_KDH_GENERIC when the letter concerns the session
 * and is evaluated as for any peer. */
#define VALIDATE_KDH_GENERIC 2
int validate_kdh(const struct validate_input *in, char letter, char *proven,
		 size_t provenlen, char *why, size_t len);
/* K: the peer proved a Kerberos identity (the KDH ticket, or the
 * channel-bound exchange after a certificate handshake). */
int validate_kdh_k(const struct validate_input *in, char *proven,
		   size_t provenlen, char *why, size_t len);

/* validate_dane.c: the D (strict) and d predicates on the peer's chain;
 * 1, 0, -EACCES (refuse whatever the rest says: bogus DNSSEC, or secure
 * TLSA records that the chain does not match, for d) or -EINPROGRESS
 * (tlsa_name filled).  proven receives the host name on a match. */
int validate_dane(const struct validate_input *in,
		  const gnutls_datum_t *chain, unsigned n, int strict,
		  char *proven, size_t provenlen, char *why, size_t whylen);

/* validate_gdir.c: G (relaxed 0) and g on the peer's chain; 1, 0 or
 * -EINPROGRESS (gdir_srv_name or gdir_query filled). */
int validate_gdir(const struct validate_input *in,
		  const gnutls_datum_t *chain, unsigned n, int relaxed,
		  char *proven, size_t provenlen, char *why, size_t whylen);

#endif

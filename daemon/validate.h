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
 * filled (ocsp_fetch.h); ask it and call again with ocsp set.  Other
 * predicates are then asked again, so none may depend on being asked
 * once (p's pin written on first use is found the second time). */
int validate_rule(const struct validate_input *in, char *remoteid_out,
		  size_t remoteid_len, char *why, size_t whylen);

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

#endif

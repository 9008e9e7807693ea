/* gdir -- the LDAP global directory (valexp G and g).
 *
 * For a remote identity user@domain: the DNSSEC-secure SRV records of
 * _ldap._tcp.<domain> name the directory (the caller looks them up with
 * dnssec.c and hands the answer to gdir_prepare); the directory is
 * asked over LDAP with StartTLS, the server's certificate verified
 * against the daemon's trust anchors (trust_anchors) and its name (the
 * SRV target), anonymously, under the base dc=<label>,... of the domain,
 * for entries (mail=user@domain) and their userCertificate;binary
 * values; the peer's certificate must equal one of them, byte for byte.
 *
 * Verdicts: MATCH (G and g hold), MISMATCH (the user has certificates,
 * none is the peer's: both fail), NOT_FOUND (no such entry or none with
 * a certificate, or a DNSSEC-secure proof that the domain has no
 * directory: G fails, g holds), UNAVAILABLE (insecure or bogus SRV, no
 * answer, unreachable, TLS or LDAP error, timeout: both fail).
 *
 * The LDAP calls block: each query runs on its own helper thread (at
 * most GDIR_THREADS at once; more are answered UNAVAILABLE at once) and
 * the result is posted back to the asking worker.  The host name of the
 * SRV target is resolved by the system resolver.  Bounded by
 * GDIR_TIMEOUT_MS for the connection and for each operation.
 */
#ifndef TP_GDIR_H
#define TP_GDIR_H

#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>

struct worker;
struct dnssec_answer;

#define GDIR_THREADS 8
#define GDIR_TIMEOUT_MS 3000
#define GDIR_WHYLEN 256

enum gdir_verdict {
	GDIR_UNAVAILABLE = 0,
	GDIR_MATCH,
	GDIR_MISMATCH,
	GDIR_NOT_FOUND,
};

struct gdir_result {
	enum gdir_verdict verdict;
	char why[GDIR_WHYLEN];
};

struct gdir_query {
	char host[256];
	unsigned port;
	char base[512];		/* dc=...,dc=... */
	char filter[600];	/* (mail=...) escaped */
	char cafile[512];	/* trust anchors, "" none */
	gnutls_datum_t cert;	/* the peer's leaf, DER (gnutls_malloc) */
};

/* ---- pure parts ---- */

/* The SRV name for user@domain ("_ldap._tcp.<domain>"); 0, or -EINVAL
 * when id has no user part or no domain. */
int gdir_srv_name(const char *id, char *name, size_t len);
/* Base DN and filter for user@domain; 0 or -EINVAL / -ENAMETOOLONG. */
int gdir_base_filter(const char *id, char *base, size_t blen, char *filter,
		     size_t flen);
/* The best SRV record (lowest priority, then highest weight) of a DNS
 * answer in wire form: 0 with host (no final dot) and port; -ENOENT
 * when there is none or it says "no service" ("."), -EBADMSG.  In
 * gdir_srv.c (ldns). */
int gdir_parse_srv(const uint8_t *wire, size_t len, char *host,
		   size_t hostlen, unsigned *port);

/* The daemon's trust_anchors (file or directory; NULL none), used for
 * the directory's certificate by gdir_prepare with cafile NULL. */
void gdir_set_anchors(const char *path);

/* From the SRV answer to a query: 1 with q filled (free it with
 * gdir_query_clear) when the directory must be asked; 0 with r set when
 * the answer alone decides (insecure, bogus, no directory). */
int gdir_prepare(const char *id, const struct dnssec_answer *srv,
		 const gnutls_datum_t *peer_cert, const char *cafile,
		 struct gdir_query *q, struct gdir_result *r);
void gdir_query_clear(struct gdir_query *q);

/* ---- asking ---- */

/* Blocking: the LDAP exchange for q. */
void gdir_run(const struct gdir_query *q, struct gdir_result *r);
/* Run q (taken over) on a helper thread; done(arg, r) then runs on w.
 * 0, or -EAGAIN (too many at once) / -ENOMEM / -errno, when done will
 * not be called. */
int gdir_start(struct worker *w, struct gdir_query *q,
	       void (*done)(void *arg, const struct gdir_result *r),
	       void *arg);

#endif

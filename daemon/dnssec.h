/* dnssec -- DNSSEC-validated lookups for DANE (valexp D/d), through
 * libunbound's asynchronous API, without blocking a worker.
 *
 * Every worker thread has its own libunbound context, made on first use
 * from the current settings (dnssec_configure): the resolver config file
 * (dnssec_config, e.g. auth-zone or stub blocks), the forwarder
 * (dnssec_forwarder, "addr[@port]") and the trust anchor file
 * (dnssec_rootkey, DS or DNSKEY records in zone format).  The context's
 * ub_fd is watched in the worker's epoll loop; ub_process there runs the
 * callbacks, which call the caller's done on the same worker.  A changed
 * setting makes each worker start a fresh context for its next lookup.
 *
 * Answers are kept per worker for their TTL (at most DNSSEC_TTL_MAX
 * seconds, at most DNSSEC_CACHE_MAX of them): secure and insecure ones
 * only, never bogus answers or failures.
 *
 * Security of an answer: SECURE (DNSSEC-validated, data or a proven
 * denial), INSECURE (no chain of trust reaches the name: an unsigned
 * delegation, or no trust anchor for it), BOGUS (validation failed: bad
 * or expired signatures, missing records), FAILED (no answer: SERVFAIL,
 * timeout, no resolver).  Each is logged once per lookup as such.
 */
#ifndef TP_DNSSEC_H
#define TP_DNSSEC_H

#include <stddef.h>
#include <stdint.h>

struct worker;

#define DNSSEC_NAME_MAX 256
#define DNSSEC_WHYLEN 128
#define DNSSEC_TTL_MAX 3600
#define DNSSEC_CACHE_MAX 256

enum dnssec_security {
	DNSSEC_FAILED = 0,
	DNSSEC_SECURE,
	DNSSEC_INSECURE,
	DNSSEC_BOGUS,
};

struct dnssec_answer {
	enum dnssec_security sec;
	int rcode;		/* DNS rcode (0 NOERROR, 3 NXDOMAIN) */
	int havedata;		/* records of the asked type are there */
	uint8_t *wire;		/* the answer packet (malloc), or NULL */
	size_t wirelen;
	unsigned ttl;
	char qname[DNSSEC_NAME_MAX];	/* the name asked */
	char canon[DNSSEC_NAME_MAX];	/* the name after CNAMEs, no final
					 * dot; "" when there were none */
	char why[DNSSEC_WHYLEN];	/* e.g. why bogus */
};

/* Set what new contexts are made from (NULL: not set); workers switch
 * on their next lookup.  0 or -ENOMEM. */
int dnssec_configure(const char *rootkey, const char *config_file,
		     const char *forwarder);
/* Whether a trust anchor or a resolver config file is set: without
 * either, no answer can be secure. */
int dnssec_enabled(void);
/* Free the contexts of all workers (after worker_stop_all). */
void dnssec_shutdown(void);

const char *dnssec_security_name(enum dnssec_security sec);
/* Whether two DNS names are the same (case and a final dot ignored). */
int dnssec_name_eq(const char *a, const char *b);

/* Deep copy (dst's old wire is not freed) and release. */
int dnssec_answer_copy(struct dnssec_answer *dst,
		       const struct dnssec_answer *src);
void dnssec_answer_clear(struct dnssec_answer *a);

/* Look up name/rrtype (class IN) from worker w's thread.  1: answered
 * from the cache into *cached (the caller clears it), done not called;
 * 0: asked, done(arg, answer) runs later on w (the answer is valid
 * during the call only); -errno (no context: the reason is logged),
 * done not called. */
int dnssec_lookup(struct worker *w, const char *name, int rrtype,
		  void (*done)(void *arg, const struct dnssec_answer *a),
		  void *arg, struct dnssec_answer *cached);

#endif

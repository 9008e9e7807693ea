/* Shared fixture for the cred unit tests (test_cred*.c): a temp dir with
 * a CA and a boot identity from idgen, a key process, certtool helpers,
 * certificate chains, stderr capture and a loopback handshake.
 */
#ifndef CRED_FIXTURE_H
#define CRED_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "cred.h"
#include "dconfig.h"
#include "fixture.h"

struct env {
	char dir[256];
	char state[320];	/* the trusted CA */
	char boot[320];		/* idgen_ensure's host identity */
	char ids[320];		/* localid_dir under test */
	char work[320];		/* certtool scratch */
	char ca_pem[400];
	char ca_key[400];
	char err[512];
	char why[1024];
	char log[400];		/* fx_capture file */
	struct fx_capture cap;
	struct dconfig cfg;
	struct cred_store *store;
};

/* The certificates of a PEM file as DER. */
struct chain {
	gnutls_datum_t der[20];
	unsigned n;
};

/* cmocka setup/teardown: a fresh env per test, with a key process;
 * *state is the env. */
int setup(void **state);
int teardown(void **state);

void xmkdir(const char *p);
/* Run a shell command; its output goes to work/cmd.log, shown on failure. */
void sh(struct env *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void write_file(const char *path, const char *text);
/* idgen_issue name into the localid dir under test. */
void issue(struct env *e, const char *name);
/* (Re)load e->store from e->cfg; the store must come back. */
void load(struct env *e);
void copy(struct env *e, const char *from, const char *to);

void chain_load(struct chain *c, const char *path);
void chain_free(struct chain *c);
void id_chain(struct env *e, struct chain *c, const char *name);
void certtool_cert(struct env *e, const char *tag, const char *tmpl,
		   const char *ca_pem, const char *ca_key, const char *extra);
void tool_chain(struct env *e, struct chain *c, const char *tag,
		const char *ca_pem);

int verify(struct env *e, const struct chain *c, const char *name,
	   int domain_ok, const char *purpose);
void assert_refused(struct env *e, int rc, const char *reason);

/* Handshake over a socketpair with server credential srv; verify what the
 * client saw with cred_verify_peer for name. */
void handshake_verify(struct env *e, gnutls_certificate_credentials_t srv,
		      const char *name);

#endif /* CRED_FIXTURE_H */

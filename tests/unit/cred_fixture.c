/* Shared fixture for the cred unit tests; see cred_fixture.h. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cred_fixture.h"

#include <gnutls/x509.h>

#include "idgen.h"
#include "keyproc.h"
#include "tplog.h"

void xmkdir(const char *p)
{
	assert_int_equal(mkdir(p, 0700), 0);
}

int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[256];

	if (e == NULL)
		return -1;
	if (fx_mkdtemp(e->dir, sizeof(e->dir), "test_cred") < 0)
		return -1;
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(e->boot, sizeof(e->boot), "%s/boot", e->dir);
	snprintf(e->ids, sizeof(e->ids), "%s/ids", e->dir);
	snprintf(e->work, sizeof(e->work), "%s/work", e->dir);
	snprintf(e->ca_pem, sizeof(e->ca_pem), "%s/ca.pem", e->state);
	snprintf(e->ca_key, sizeof(e->ca_key), "%s/ca.key", e->state);
	snprintf(e->log, sizeof(e->log), "%s/log.txt", e->work);
	if (mkdir(e->work, 0700) < 0)
		return -1;
	if (idgen_ensure(e->state, e->boot, "boot.example", err,
			 sizeof(err)) < 0) {
		fprintf(stderr, "idgen_ensure: %s\n", err);
		return -1;
	}
	e->cfg.localid_dir = e->ids;
	e->cfg.trust_anchors = e->ca_pem;
	*state = e;
	/* The keys live in a key process (forked: this test is single-threaded
	 * when it starts one), which inherits the environment and stderr. */
	return fx_keyproc_start(2) < 0 ? -1 : 0;
}

int teardown(void **state)
{
	struct env *e = *state;

	cred_store_unref(e->store);
	keyproc_stop();
	fx_rmtree(e->dir);
	free(e);
	return 0;
}

/* Run a shell command; its output goes to work/cmd.log, shown on failure. */
void sh(struct env *e, const char *fmt, ...)
{
	char show[600];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = fx_vsh(e->work, 0, fmt, ap);
	va_end(ap);
	if (rc != 0) {
		va_start(ap, fmt);
		fprintf(stderr, "command failed (%d): ", rc);
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
		va_end(ap);
		snprintf(show, sizeof(show), "cat %s/cmd.log >&2", e->work);
		if (system(show) != 0)
			fprintf(stderr, "(no log)\n");
	}
	assert_int_equal(rc, 0);
}

void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

void issue(struct env *e, const char *name)
{
	assert_int_equal(idgen_issue(e->state, e->ids, name, e->err,
				     sizeof(e->err)), 0);
}

void load(struct env *e)
{
	cred_store_unref(e->store);
	e->store = NULL;
	e->err[0] = '\0';
	if (cred_store_load(&e->store, &e->cfg, e->err, sizeof(e->err)) != 0)
		fprintf(stderr, "cred_store_load: %s\n", e->err);
	assert_non_null(e->store);
}

void chain_load(struct chain *c, const char *path)
{
	gnutls_x509_crt_t *list;
	gnutls_datum_t pem;
	unsigned n = 0;

	assert_int_equal(gnutls_load_file(path, &pem), 0);
	assert_int_equal(gnutls_x509_crt_list_import2(&list, &n, &pem,
						      GNUTLS_X509_FMT_PEM, 0),
			 0);
	gnutls_free(pem.data);
	assert_true(n > 0 && n + c->n <= 20);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(gnutls_x509_crt_export2(list[i],
							 GNUTLS_X509_FMT_DER,
							 &c->der[c->n + i]),
				 0);
		gnutls_x509_crt_deinit(list[i]);
	}
	gnutls_free(list);
	c->n += n;
}

void chain_free(struct chain *c)
{
	for (unsigned i = 0; i < c->n; i++)
		gnutls_free(c->der[i].data);
	c->n = 0;
}

void id_chain(struct env *e, struct chain *c, const char *name)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.pem", e->ids, name);
	memset(c, 0, sizeof(*c));
	chain_load(c, p);
}

/* A certificate made by certtool from template text, signed by
 * ca_pem/ca_key (the trusted CA when NULL).  Writes work/<tag>.key and
 * work/<tag>.crt; extra goes on certtool's command line. */
void certtool_cert(struct env *e, const char *tag, const char *tmpl,
		   const char *ca_pem, const char *ca_key, const char *extra)
{
	char t[512];

	snprintf(t, sizeof(t), "%s/%s.tmpl", e->work, tag);
	write_file(t, tmpl);
	sh(e, "certtool --generate-privkey --key-type=ecdsa --outfile %s/%s.key"
	      " && certtool --generate-certificate --load-privkey %s/%s.key"
	      " --load-ca-certificate %s --load-ca-privkey %s --template %s"
	      " --outfile %s/%s.crt %s",
	   e->work, tag, e->work, tag, ca_pem ? ca_pem : e->ca_pem,
	   ca_key ? ca_key : e->ca_key, t, e->work, tag, extra ? extra : "");
}

/* work/<tag>.crt followed by the CA that signed it (trusted CA if NULL). */
void tool_chain(struct env *e, struct chain *c, const char *tag,
		const char *ca_pem)
{
	char p[512];

	memset(c, 0, sizeof(*c));
	snprintf(p, sizeof(p), "%s/%s.crt", e->work, tag);
	chain_load(c, p);
	chain_load(c, ca_pem ? ca_pem : e->ca_pem);
}

int verify(struct env *e, const struct chain *c, const char *name,
	   int domain_ok, const char *purpose)
{
	e->why[0] = '\0';
	return cred_verify_peer(e->store, c->der, c->n, name, domain_ok,
				purpose, e->why, sizeof(e->why));
}

void assert_refused(struct env *e, int rc, const char *reason)
{
	if (rc != -EACCES || strstr(e->why, reason) == NULL)
		fprintf(stderr, "expected refusal with \"%s\", got %d: %s\n",
			reason, rc, e->why);
	assert_int_equal(rc, -EACCES);
	assert_non_null(strstr(e->why, reason));
}

void copy(struct env *e, const char *from, const char *to)
{
	sh(e, "cp '%s/%s' '%s/%s'", e->ids, from, e->ids, to);
}

/* Handshake over a socketpair with server credential srv; verify what the
 * client saw with cred_verify_peer for name. */
void handshake_verify(struct env *e, gnutls_certificate_credentials_t srv,
		      const char *name)
{
	gnutls_session_t cli;
	const gnutls_datum_t *peers;
	unsigned npeers = 0;
	struct fx_server sv;
	int sp[2], rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(gnutls_init(&sv.s, GNUTLS_SERVER), 0);
	assert_int_equal(gnutls_set_default_priority(sv.s), 0);
	assert_int_equal(gnutls_credentials_set(sv.s, GNUTLS_CRD_CERTIFICATE,
						srv), 0);
	gnutls_transport_set_int(sv.s, sp[0]);
	assert_int_equal(gnutls_init(&cli, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_set_default_priority(cli), 0);
	assert_int_equal(gnutls_credentials_set(cli, GNUTLS_CRD_CERTIFICATE,
						cred_anonymous(e->store)), 0);
	assert_int_equal(gnutls_server_name_set(cli, GNUTLS_NAME_DNS, name,
						strlen(name)), 0);
	gnutls_transport_set_int(cli, sp[1]);
	rc = fx_handshake(&sv, cli, sp[1]);
	if (rc < 0 || sv.rc < 0)
		fprintf(stderr, "handshake: client %s, server %s\n",
			gnutls_strerror(rc), gnutls_strerror(sv.rc));
	assert_int_equal(rc, 0);
	assert_int_equal(sv.rc, 0);
	peers = gnutls_certificate_get_peers(cli, &npeers);
	assert_non_null(peers);
	assert_int_equal(npeers, 2);
	assert_int_equal(cred_verify_peer(e->store, peers, npeers, name, 0,
					  GNUTLS_KP_TLS_WWW_SERVER, e->why,
					  sizeof(e->why)), 0);
	assert_refused(e, cred_verify_peer(e->store, peers, npeers,
					   "other.example", 0,
					   GNUTLS_KP_TLS_WWW_SERVER, e->why,
					   sizeof(e->why)),
		       "name mismatch");
	gnutls_deinit(cli);
	gnutls_deinit(sv.s);
	close(sp[0]);
	close(sp[1]);
}

/* bench_tls -- the in-process GnuTLS side of tlsbench: one priority
 * cache, one server credential, one client credential that trusts the
 * benchmark CA and checks the name "localhost". */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int bench_tls_load(struct bench_tls *t, const struct bench_opts *o)
{
	const char *errpos = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = gnutls_priority_init(&t->prio, o->prio ? o->prio : "NORMAL",
				  &errpos);
	if (rc < 0) {
		fprintf(stderr, "tlsbench: priority %s: %s at %s\n", o->prio,
			gnutls_strerror(rc), errpos ? errpos : "?");
		return -1;
	}
	if (o->cert != NULL && o->key != NULL) {
		rc = gnutls_certificate_allocate_credentials(&t->server_cred);
		if (rc >= 0)
			rc = gnutls_certificate_set_x509_key_file(
				t->server_cred, o->cert, o->key,
				GNUTLS_X509_FMT_PEM);
		if (rc < 0) {
			fprintf(stderr, "tlsbench: %s / %s: %s\n", o->cert,
				o->key, gnutls_strerror(rc));
			goto fail;
		}
	}
	if (o->ca != NULL) {
		rc = gnutls_certificate_allocate_credentials(&t->client_cred);
		if (rc >= 0)
			rc = gnutls_certificate_set_x509_trust_file(
				t->client_cred, o->ca, GNUTLS_X509_FMT_PEM);
		if (rc <= 0) {
			fprintf(stderr, "tlsbench: CA %s: %s\n", o->ca,
				rc == 0 ? "no certificate" : gnutls_strerror(rc));
			goto fail;
		}
	}
	return 0;
fail:
	bench_tls_free(t);
	return -1;
}

void bench_tls_free(struct bench_tls *t)
{
	if (t->client_cred != NULL)
		gnutls_certificate_free_credentials(t->client_cred);
	if (t->server_cred != NULL)
		gnutls_certificate_free_credentials(t->server_cred);
	if (t->prio != NULL)
		gnutls_priority_deinit(t->prio);
	memset(t, 0, sizeof(*t));
}

/* Tickets off on both ends: every handshake is a full one. */
static gnutls_session_t new_session(const struct bench_tls *t, int fd,
				    unsigned flags,
				    gnutls_certificate_credentials_t cred)
{
	gnutls_session_t s = NULL;
	int rc;

	if (cred == NULL) {
		fprintf(stderr, "tlsbench: no credentials for this role\n");
		return NULL;
	}
	rc = gnutls_init(&s, flags | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS);
	if (rc < 0)
		goto fail;
	rc = gnutls_priority_set(s, t->prio);
	if (rc < 0)
		goto fail;
	rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	if (rc < 0)
		goto fail;
	gnutls_transport_set_int(s, fd);
	return s;
fail:
	fprintf(stderr, "tlsbench: session setup: %s\n", gnutls_strerror(rc));
	if (s != NULL)
		gnutls_deinit(s);
	return NULL;
}

gnutls_session_t bench_tls_server_session(const struct bench_tls *t, int fd)
{
	gnutls_session_t s = new_session(t, fd, GNUTLS_SERVER, t->server_cred);

	if (s != NULL)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_IGNORE);
	return s;
}

gnutls_session_t bench_tls_client_session(const struct bench_tls *t, int fd)
{
	gnutls_session_t s = new_session(t, fd, GNUTLS_CLIENT, t->client_cred);
	int rc;

	if (s == NULL)
		return NULL;
	rc = gnutls_server_name_set(s, GNUTLS_NAME_DNS, BENCH_SERVER_NAME,
				    strlen(BENCH_SERVER_NAME));
	if (rc < 0) {
		fprintf(stderr, "tlsbench: SNI: %s\n", gnutls_strerror(rc));
		gnutls_deinit(s);
		return NULL;
	}
	gnutls_session_set_verify_cert(s, BENCH_SERVER_NAME, 0);
	return s;
}

/* Blocking handshake: 0 or a GnuTLS error. */
int bench_tls_handshake(gnutls_session_t s)
{
	int rc;

	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	return rc;
}

int bench_tls_send_all(gnutls_session_t s, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		size_t n = len < BENCH_RECORD ? len : BENCH_RECORD;
		ssize_t rc = gnutls_record_send(s, p, n);

		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
			continue;
		if (rc < 0) {
			fprintf(stderr, "tlsbench: TLS send: %s\n",
				gnutls_strerror((int)rc));
			return -1;
		}
		p += rc;
		len -= (size_t)rc;
	}
	return 0;
}

long bench_tls_recv_all(gnutls_session_t s, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t rc = gnutls_record_recv(s, p + got, len - got);

		if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
			continue;
		if (rc == 0 || rc == GNUTLS_E_PREMATURE_TERMINATION) {
			if (got == 0)
				return 0;
			errno = EPIPE;
			return -1;
		}
		if (rc < 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)rc;
	}
	return (long)got;
}

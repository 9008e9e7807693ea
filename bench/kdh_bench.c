/* kdhbench -- TLS-KDH handshakes per second against X.509 ECDSA P-256
 * handshakes per second, in one process, same run (bench/kdh.sh).
 *
 *   kdhbench CERT.pem KEY.pem CA.pem SERVICE HOST REALM MAP KEYTAB N
 *
 * Both kinds: TLS 1.3, AES-128-GCM, X25519, full handshakes over a
 * socketpair, server on a second thread, no session tickets.
 * - KDH: per handshake the client makes a fresh AP-REQ with the default
 *   credentials cache (the service ticket is cached after the first:
 *   krb5_mk_req with a new subkey, as the daemon does) and the server
 *   runs krb5_rd_req with KEYTAB (replay cache included) in its PSK
 *   callback; both derive the PSK.
 * - X.509: the server shows the ECDSA leaf, the client verifies the chain
 *   to CA and the name HOST.
 * Prints handshakes per second for each and the ratio.  Not a test.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "kdh_krb5.h"

#define PRIO_X509 "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:" \
		  "-GROUP-ALL:+GROUP-X25519"
#define PRIO_KDH PRIO_X509 ":-KX-ALL:+ECDHE-PSK"

static const char *service, *host, *realm, *keytab;
static struct kdh_map map;
static int kdh_fail;

struct side {
	int fd;
	int kdh;
	gnutls_certificate_credentials_t xcred;
	int rc;
};

static int server_cb(gnutls_session_t s, const gnutls_datum_t *user,
		     gnutls_datum_t *key)
{
	struct kdh_accept a;
	char why[200];

	(void)s;
	if (kdh_krb5_server(keytab, user->data, user->size, service, host,
			    &map, &a, why, sizeof(why)) < 0) {
		fprintf(stderr, "kdhbench: server: %s\n", why);
		kdh_fail = 1;
		return -1;
	}
	key->data = gnutls_malloc(KDH_PSK_LEN);
	memcpy(key->data, a.psk, KDH_PSK_LEN);
	key->size = KDH_PSK_LEN;
	return 0;
}

static int handshake(gnutls_session_t s)
{
	int rc;

	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	return rc;
}

static void *server_main(void *arg)
{
	struct side *sd = arg;
	gnutls_session_t s;
	gnutls_psk_server_credentials_t pcred = NULL;

	gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_TICKETS);
	if (sd->kdh) {
		gnutls_psk_allocate_server_credentials(&pcred);
		gnutls_psk_set_server_credentials_function2(pcred, server_cb);
		gnutls_credentials_set(s, GNUTLS_CRD_PSK, pcred);
		gnutls_priority_set_direct(s, PRIO_KDH, NULL);
	} else {
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, sd->xcred);
		gnutls_priority_set_direct(s, PRIO_X509, NULL);
	}
	gnutls_transport_set_int(s, sd->fd);
	sd->rc = handshake(s);
	if (sd->rc < 0)
		gnutls_alert_send_appropriate(s, sd->rc);
	gnutls_deinit(s);
	if (pcred != NULL)
		gnutls_psk_free_server_credentials(pcred);
	return NULL;
}

static int one(int kdh, gnutls_certificate_credentials_t scred,
	       gnutls_certificate_credentials_t ccred)
{
	struct side sd = { .kdh = kdh, .xcred = scred };
	gnutls_session_t c;
	gnutls_psk_client_credentials_t pcred = NULL;
	struct kdh_ticket t = { 0 };
	pthread_t th;
	int fds[2], rc;
	char why[256];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		return -1;
	sd.fd = fds[1];
	gnutls_init(&c, GNUTLS_CLIENT | GNUTLS_NO_TICKETS);
	if (kdh) {
		gnutls_datum_t id, key;

		if (kdh_krb5_client(NULL, service, host, realm, &map, &t, why,
				    sizeof(why)) < 0) {
			fprintf(stderr, "kdhbench: client: %s\n", why);
			return -1;
		}
		id.data = t.apreq;
		id.size = (unsigned)t.apreq_len;
		key.data = t.psk;
		key.size = KDH_PSK_LEN;
		gnutls_psk_allocate_client_credentials(&pcred);
		gnutls_psk_set_client_credentials2(pcred, &id, &key,
						   GNUTLS_PSK_KEY_RAW);
		gnutls_credentials_set(c, GNUTLS_CRD_PSK, pcred);
		gnutls_priority_set_direct(c, PRIO_KDH, NULL);
	} else {
		gnutls_credentials_set(c, GNUTLS_CRD_CERTIFICATE, ccred);
		gnutls_priority_set_direct(c, PRIO_X509, NULL);
		gnutls_session_set_verify_cert(c, host, 0);
	}
	gnutls_transport_set_int(c, fds[0]);
	pthread_create(&th, NULL, server_main, &sd);
	rc = handshake(c);
	pthread_join(th, NULL);
	gnutls_deinit(c);
	if (pcred != NULL)
		gnutls_psk_free_client_credentials(pcred);
	kdh_ticket_clear(&t);
	close(fds[0]);
	close(fds[1]);
	if (rc < 0 || sd.rc < 0) {
		fprintf(stderr, "kdhbench: %s handshake: %s / %s\n",
			kdh ? "KDH" : "X.509", gnutls_strerror(rc),
			gnutls_strerror(sd.rc));
		return -1;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double rate(int kdh, int n, gnutls_certificate_credentials_t scred,
		   gnutls_certificate_credentials_t ccred)
{
	double t0 = now();

	for (int i = 0; i < n; i++)
		if (one(kdh, scred, ccred) < 0)
			return -1;
	return n / (now() - t0);
}

int main(int argc, char **argv)
{
	gnutls_certificate_credentials_t scred, ccred;
	double k, x;
	char why[128];
	int n;

	if (argc != 10) {
		fprintf(stderr, "usage: kdhbench CERT KEY CA SERVICE HOST "
			"REALM MAP KEYTAB N\n");
		return 2;
	}
	service = argv[4];
	host = argv[5];
	realm = argv[6];
	keytab = argv[8];
	n = atoi(argv[9]);
	if (kdh_map_parse(argv[7], &map, why, sizeof(why)) < 0) {
		fprintf(stderr, "kdhbench: map: %s\n", why);
		return 2;
	}
	gnutls_certificate_allocate_credentials(&scred);
	gnutls_certificate_allocate_credentials(&ccred);
	if (gnutls_certificate_set_x509_key_file(scred, argv[1], argv[2],
						 GNUTLS_X509_FMT_PEM) < 0 ||
	    gnutls_certificate_set_x509_trust_file(ccred, argv[3],
						   GNUTLS_X509_FMT_PEM) <= 0) {
		fprintf(stderr, "kdhbench: cannot load the certificates\n");
		return 2;
	}
	/* warm up: the first KDH round fetches the service ticket */
	if (one(1, scred, ccred) < 0 || one(0, scred, ccred) < 0)
		return 1;
	k = rate(1, n, scred, ccred);
	x = rate(0, n, scred, ccred);
	if (k < 0 || x < 0 || kdh_fail)
		return 1;
	printf("TLS-KDH (ECDHE-PSK, krb5 mk_req + rd_req): %8.1f handshakes/s\n",
	       k);
	printf("X.509 ECDSA P-256 (chain verified):        %8.1f handshakes/s\n",
	       x);
	printf("ratio KDH / X.509: %.2f  (%d handshakes each, one thread "
	       "pair)\n", k / x, n);
	gnutls_certificate_free_credentials(scred);
	gnutls_certificate_free_credentials(ccred);
	return 0;
}

/* kdh_peer -- a TLS-KDH client outside the pool, for the replay and
 * HelloRetryRequest cases of t_kdh.sh.
 *
 *   kdh_peer PORT SERVICE HOST REALM MAP [--twice] [--groups PRIO]
 *            [--delay SECONDS]
 *
 * Makes one AP-REQ with the default credentials cache (KRB5CCNAME) for
 * SERVICE/HOST@REALM through the daemon's own kdh_krb5_client, then
 * handshakes with 127.0.0.1:PORT using it as the PSK identity (GnuTLS,
 * TLS 1.3 psk_dhe_ke only), sends a line and expects it echoed.  With
 * --twice a second connection presents the very same AP-REQ (a replay).
 * --groups appends to the priority string (e.g. a key share the server
 * does not take, to force a HelloRetryRequest).  --delay waits between
 * making the AP-REQ and using it (an old authenticator).  One line per connection:
 *   conn N: ok hrr=0|1 kx=ECDHE-PSK
 *   conn N: failed: <GnuTLS error>[: <alert>]
 * Exit status: 0 when the first connection succeeded (and, with --twice,
 * the second failed), 1 otherwise, 2 for usage or setup errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "kdh_krb5.h"
#include "testutil.h"

/* ClientHellos sent in the current handshake: 2 after a
 * HelloRetryRequest. */
static int hellos;

static int count_hello(gnutls_session_t s, unsigned htype, unsigned when,
		       unsigned incoming, const gnutls_datum_t *msg)
{
	(void)s; (void)htype; (void)when; (void)incoming; (void)msg;
	hellos++;
	return 0;
}

static int connect_once(int n, int port, const struct kdh_ticket *t,
			const char *groups)
{
	gnutls_session_t s;
	gnutls_psk_client_credentials_t cred;
	gnutls_datum_t id = { t->apreq, (unsigned)t->apreq_len };
	gnutls_datum_t key = { (unsigned char *)t->psk, KDH_PSK_LEN };
	char prio[512], buf[64];
	int fd, rc, ok = 0;

	snprintf(prio, sizeof(prio), "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:"
		 "+ECDHE-PSK:+DHE-PSK%s%s", groups ? ":" : "",
		 groups ? groups : "");
	fd = tu_connect_tcp("127.0.0.1", port, 5000);
	if (fd < 0) {
		printf("conn %d: failed: cannot connect\n", n);
		return 0;
	}
	gnutls_psk_allocate_client_credentials(&cred);
	gnutls_psk_set_client_credentials2(cred, &id, &key, GNUTLS_PSK_KEY_RAW);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_credentials_set(s, GNUTLS_CRD_PSK, cred);
	rc = gnutls_priority_set_direct(s, prio, NULL);
	if (rc < 0) {
		printf("conn %d: failed: priority: %s\n", n, gnutls_strerror(rc));
		goto out;
	}
	hellos = 0;
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO,
					   GNUTLS_HOOK_POST, count_hello);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 10000);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0) {
		const char *a = rc == GNUTLS_E_FATAL_ALERT_RECEIVED
			? gnutls_alert_get_name(gnutls_alert_get(s)) : NULL;

		printf("conn %d: failed: %s%s%s\n", n, gnutls_strerror(rc),
		       a ? ": " : "", a ? a : "");
		goto out;
	}
	rc = (int)gnutls_record_send(s, "kdh ping\n", 9);
	if (rc == 9)
		rc = (int)gnutls_record_recv(s, buf, sizeof(buf));
	if (rc != 9 || memcmp(buf, "kdh ping\n", 9) != 0) {
		printf("conn %d: failed: no echo (%d)\n", n, rc);
		goto out;
	}
	printf("conn %d: ok hrr=%d kx=%s\n", n,
	       hellos > 1,
	       gnutls_kx_get_name(gnutls_kx_get(s)));
	ok = 1;
	gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	gnutls_deinit(s);
	gnutls_psk_free_client_credentials(cred);
	close(fd);
	fflush(stdout);
	return ok;
}

int main(int argc, char **argv)
{
	struct kdh_map map;
	struct kdh_ticket t;
	const char *groups = NULL;
	char why[256];
	int twice = 0, delay = 0, ok;

	if (argc < 6)
		goto usage;
	for (int i = 6; i < argc; i++) {
		if (strcmp(argv[i], "--twice") == 0)
			twice = 1;
		else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc)
			groups = argv[++i];
		else if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc)
			delay = atoi(argv[++i]);
		else
			goto usage;
	}
	if (kdh_map_parse(argv[5], &map, why, sizeof(why)) < 0) {
		fprintf(stderr, "kdh_peer: map: %s\n", why);
		return 2;
	}
	if (kdh_krb5_client(NULL, argv[2], argv[3], argv[4], &map, &t, why,
			    sizeof(why)) < 0) {
		fprintf(stderr, "kdh_peer: %s\n", why);
		return 2;
	}
	printf("apreq %zu bytes as %s\n", t.apreq_len, t.client);
	if (delay > 0)
		sleep((unsigned)delay);
	ok = connect_once(1, atoi(argv[1]), &t, groups);
	if (twice)
		ok = ok && !connect_once(2, atoi(argv[1]), &t, groups);
	kdh_ticket_clear(&t);
	return ok ? 0 : 1;
usage:
	fprintf(stderr, "usage: kdh_peer PORT SERVICE HOST REALM MAP "
		"[--twice] [--groups PRIO] [--delay SECONDS]\n");
	return 2;
}

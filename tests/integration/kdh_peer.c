/* kdh_peer -- a TLS-KDH client outside the pool, for the replay and
 * HelloRetryRequest cases of t_kdh.sh.
 *
 *   kdh_peer PORT SERVICE HOST REALM MAP [--twice] [--groups PRIO]
 *            [--delay SECONDS] [--bind good|foreign] [--switch]
 *
 * Makes one AP-REQ with the default credentials cache (KRB5CCNAME) for
 * SERVICE/HOST@REALM through the daemon's own kdh_krb5_client, then
 * handshakes with 127.0.0.1:PORT using it as the PSK identity (GnuTLS,
 * TLS 1.3 psk_dhe_ke only), sends a line and expects it echoed.  With
 * --twice a second connection presents the very same AP-REQ (a replay).
 * --groups appends to the priority string (e.g. a key share the server
 * does not take, to force a HelloRetryRequest).  --delay waits between
 * making the AP-REQ and using it (an old authenticator).  --bind speaks
 * the enhanced mode instead (doc/kdh.md, session_kdh_bind.c): a
 * certificate handshake (the server's certificate is not checked here),
 * then the AP-REQ with its MAC over this channel's tls-exporter value
 * ("good") or over another value, as if relayed from another channel
 * ("foreign"); prints "bind: ok" (the server's MAC verified, data echoed)
 * or "bind: refused".  --switch presents a second, different AP-REQ in
 * the ClientHello after a HelloRetryRequest.  One line per connection:
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
#include <gnutls/crypto.h>

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

/* --switch: the first ClientHello carries cb_t[0], later ones cb_t[1]. */
static const struct kdh_ticket *cb_t[2];
static int cb_calls;

static int switch_cb(gnutls_session_t s, gnutls_datum_t *user,
		     gnutls_datum_t *key)
{
	const struct kdh_ticket *t = cb_t[cb_calls++ > 0];

	(void)s;
	user->data = gnutls_malloc(t->apreq_len);
	key->data = gnutls_malloc(KDH_PSK_LEN);
	if (user->data == NULL || key->data == NULL)
		return -1;
	memcpy(user->data, t->apreq, t->apreq_len);
	user->size = (unsigned)t->apreq_len;
	memcpy(key->data, t->psk, KDH_PSK_LEN);
	key->size = KDH_PSK_LEN;
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
	if (cb_t[1] != NULL)
		gnutls_psk_set_client_credentials_function2(cred, switch_cb);
	else
		gnutls_psk_set_client_credentials2(cred, &id, &key,
						   GNUTLS_PSK_KEY_RAW);
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

static int hmac_x(const uint8_t *key, const char *label, const uint8_t x[32],
		  uint8_t out[32])
{
	uint8_t text[64];
	size_t n = strlen(label);

	memcpy(text, label, n);
	memcpy(text + n, x, 32);
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, KDH_PSK_LEN, text,
				n + 32, out);
}

static int recv_all(gnutls_session_t s, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = gnutls_record_recv(s, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int bind_once(int port, const struct kdh_ticket *t, int foreign)
{
	static uint8_t msg[8 + 16384 + 32];
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	uint8_t x[32], reply[39], want[32], buf[16];
	int fd, rc, ok = 0;
	size_t len = t->apreq_len;

	fd = tu_connect_tcp("127.0.0.1", port, 5000);
	if (fd < 0 || len > 16384)
		return 0;
	gnutls_certificate_allocate_credentials(&cred);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 10000);
	do {
		rc = gnutls_handshake(s);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0 || gnutls_prf_rfc5705(s, 24, "EXPORTER-Channel-Binding", 0,
					 NULL, 32, (char *)x) < 0) {
		printf("bind: failed: %s\n", gnutls_strerror(rc));
		goto out;
	}
	if (foreign)
		x[0] ^= 0x80;	/* the value of some other channel */
	memcpy(msg, "TPKDH\1", 6);
	msg[6] = (uint8_t)(len >> 8);
	msg[7] = (uint8_t)len;
	memcpy(msg + 8, t->apreq, len);
	hmac_x(t->psk, "tlspool kdh bind client", x, msg + 8 + len);
	if (gnutls_record_send(s, msg, 8 + len + 32) != (ssize_t)(8 + len + 32) ||
	    recv_all(s, reply, sizeof(reply)) < 0) {
		printf("bind: refused (connection closed)\n");
		goto out;
	}
	hmac_x(t->psk, "tlspool kdh bind server", x, want);
	if (memcmp(reply, "TPKDH\1", 6) != 0 || reply[6] != 0 ||
	    memcmp(reply + 7, want, 32) != 0) {
		printf("bind: refused (status %u)\n", reply[6]);
		goto out;
	}
	if (gnutls_record_send(s, "kdh ping\n", 9) != 9 ||
	    recv_all(s, buf, 9) < 0 || memcmp(buf, "kdh ping\n", 9) != 0) {
		printf("bind: ok, but no echo\n");
		goto out;
	}
	printf("bind: ok\n");
	ok = 1;
out:
	fflush(stdout);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	struct kdh_map map;
	struct kdh_ticket t;
	const char *groups = NULL;
	char why[256];
	struct kdh_ticket t2 = { 0 };
	int twice = 0, delay = 0, bind = -1, sw = 0, ok;

	if (argc < 6)
		goto usage;
	for (int i = 6; i < argc; i++) {
		if (strcmp(argv[i], "--twice") == 0)
			twice = 1;
		else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc)
			groups = argv[++i];
		else if (strcmp(argv[i], "--delay") == 0 && i + 1 < argc)
			delay = atoi(argv[++i]);
		else if (strcmp(argv[i], "--switch") == 0)
			sw = 1;
		else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
			bind = strcmp(argv[++i], "foreign") == 0;
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
	if (sw && kdh_krb5_client(NULL, argv[2], argv[3], argv[4], &map, &t2,
				  why, sizeof(why)) < 0) {
		fprintf(stderr, "kdh_peer: %s\n", why);
		return 2;
	}
	if (sw) {
		cb_t[0] = &t;
		cb_t[1] = &t2;
	}
	printf("apreq %zu bytes as %s\n", t.apreq_len, t.client);
	if (delay > 0)
		sleep((unsigned)delay);
	if (bind >= 0) {
		ok = bind_once(atoi(argv[1]), &t, bind);
		kdh_ticket_clear(&t);
		return ok ? 0 : 1;
	}
	ok = connect_once(1, atoi(argv[1]), &t, groups);
	if (twice)
		ok = ok && !connect_once(2, atoi(argv[1]), &t, groups);
	kdh_ticket_clear(&t);
	kdh_ticket_clear(&t2);
	return ok ? 0 : 1;
usage:
	fprintf(stderr, "usage: kdh_peer PORT SERVICE HOST REALM MAP "
		"[--twice] [--groups PRIO] [--delay SECONDS] "
		"[--bind good|foreign] [--switch]\n");
	return 2;
}

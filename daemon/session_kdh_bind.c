/* session_kdh_bind -- "enhanced" mode: after a certificate handshake,
 * mutual Kerberos authentication bound to the TLS channel, done by the
 * daemons before the application gets its socket (doc/kdh.md).
 *
 * Asked for by the validation predicate K (validate_kdh_k) on a session
 * that did not use TLS-KDH: the first evaluation answers -EINPROGRESS,
 * session_validate starts the exchange here, and evaluates again with its
 * outcome.  TLS 1.3 only.  With X = the tls-exporter value (RFC 9266:
 * label "EXPORTER-Channel-Binding", no context, 32 bytes) and K = kdh_kdf
 * over the authenticator subkey:
 *   client -> server  "TPKDH\1" len(2, big endian) AP-REQ
 *                     HMAC-SHA256(K, "tlspool kdh bind client" || X)
 *   server -> client  "TPKDH\1" status(1: 0 ok, 1 refused)
 *                     HMAC-SHA256(K, "tlspool kdh bind server" || X)
 *                     (zeros when refused)
 * as TLS application data.  The AP-REQ goes through krb5_rd_req with the
 * server's keytab exactly as for TLS-KDH (replay cache, enc_part2 only);
 * the MACs bind it to this channel both ways, so an AP-REQ relayed into
 * another TLS connection is useless, and only the holder of the service
 * key can answer.  The client fetches its ticket on a helper thread.
 */
#include "session_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/crypto.h>

#include "bgjob.h"
#include "kdh_krb5.h"
#include "tplog.h"
#include "validate.h"

#define MAGIC "TPKDH\1"
#define MAGIC_LEN 6
#define HDR_LEN (MAGIC_LEN + 2)
#define MAC_LEN 32
#define APREQ_MAX 16000
#define REPLY_LEN (MAGIC_LEN + 1 + MAC_LEN)
#define EXPORTER_LABEL "EXPORTER-Channel-Binding"

enum { B_FETCH, B_SEND, B_RECV, B_DONE };

struct kdh_bind {
	int phase;
	struct kdh_map map;
	char keytab[PATH_MAX], ccache[PATH_MAX];
	char service[TLSPOOL_SERVICELEN];
	char host[DONAI_BUFSIZE];
	char realm[KDH_REALM_MAX];
	uint8_t x[32];			/* tls-exporter */
	struct kdh_ticket t;		/* client */
	int rc;
	char why[200];
	uint8_t psk[KDH_PSK_LEN];
	uint8_t out[HDR_LEN + APREQ_MAX + MAC_LEN];
	size_t outlen, outoff;
	uint8_t in[HDR_LEN + APREQ_MAX + MAC_LEN];
	size_t inlen, need;
	struct validate_kbind res;
};

void session_kbind_free(struct session *s)
{
	if (s->kbind == NULL)
		return;
	kdh_ticket_clear(&s->kbind->t);
	gnutls_memset(s->kbind, 0, sizeof(*s->kbind));
	free(s->kbind);
	s->kbind = NULL;
}

const struct validate_kbind *session_kbind_result(const struct session *s)
{
	return s->kbind != NULL && s->kbind->phase == B_DONE ? &s->kbind->res
							      : NULL;
}

static int mac(const uint8_t *key, const char *label, const uint8_t x[32],
	       uint8_t out[MAC_LEN])
{
	uint8_t text[64];
	size_t n = strlen(label);

	memcpy(text, label, n);
	memcpy(text + n, x, 32);
	return gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, KDH_PSK_LEN, text,
				n + 32, out) < 0 ? -EIO : 0;
}

static int same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* The outcome is known: evaluate the expression again. */
static void finish(struct session *s, int ok, const char *why)
{
	struct kdh_bind *b = s->kbind;

	b->phase = B_DONE;
	b->res.ok = ok;
	if (!ok && why != b->res.why)
		snprintf(b->res.why, sizeof(b->res.why), "%.*s",
			 (int)sizeof(b->res.why) - 1, why);
	if (ok)	/* a refusal is logged with its reason by the validation */
		tplog(LOG_INFO, "%s: channel-bound Kerberos: %s (%s)", s->peer,
		      b->res.id, b->res.principal);
	session_watch_tls(s, 0);
	if (s->state == S_DONE)
		return;
	s->state = S_VALIDATE;
	session_validate(s);
}

static void server_process(struct session *s);
static void client_process(struct session *s);

void session_kbind_step(struct session *s)
{
	struct kdh_bind *b = s->kbind;
	ssize_t n;

	while (b->phase == B_SEND || b->phase == B_RECV) {
		if (b->phase == B_SEND)
			n = gnutls_record_send(s->tls, b->out + b->outoff,
					       b->outlen - b->outoff);
		else
			n = gnutls_record_recv(s->tls, b->in + b->inlen,
					       b->need - b->inlen);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			session_watch_tls(s, b->phase == B_SEND ? WORKER_OUT
								: WORKER_IN);
			return;
		}
		if (n <= 0) {
			char why[160];

			snprintf(why, sizeof(why), "Kerberos exchange: %s",
				 n == 0 ? "the peer closed"
					: gnutls_strerror((int)n));
			finish(s, 0, why);
			return;
		}
		if (b->phase == B_SEND) {
			b->outoff += (size_t)n;
			if (b->outoff < b->outlen)
				continue;
			if (s->server) {
				finish(s, b->res.ok, b->res.why);
				return;
			}
			b->phase = B_RECV;
			b->need = REPLY_LEN;
			continue;
		}
		b->inlen += (size_t)n;
		if (s->server && b->inlen == HDR_LEN) {
			size_t len = (size_t)b->in[MAGIC_LEN] << 8 |
				     b->in[MAGIC_LEN + 1];

			if (memcmp(b->in, MAGIC, MAGIC_LEN) != 0 || len == 0 ||
			    len > APREQ_MAX) {
				finish(s, 0, "Kerberos exchange: malformed "
				       "request from the client");
				return;
			}
			b->need = HDR_LEN + len + MAC_LEN;
		}
		if (b->inlen < b->need)
			continue;
		if (!s->server) {
			client_process(s);	/* finishes: s may be gone */
			return;
		}
		server_process(s);		/* queues the reply */
	}
}

/* Server: check the AP-REQ and the client's MAC, queue the reply. */
static void server_process(struct session *s)
{
	struct kdh_bind *b = s->kbind;
	struct kdh_accept acc;
	size_t len = b->need - HDR_LEN - MAC_LEN;
	uint8_t want[MAC_LEN];
	char why[200];
	int ok = 0;

	if (kdh_krb5_server(b->keytab, b->in + HDR_LEN, len, b->service,
			    b->host, &b->map, &acc, why, sizeof(why)) < 0) {
		snprintf(b->res.why, sizeof(b->res.why), "Kerberos exchange: "
			 "%.170s", why);
	} else if (mac(acc.psk, "tlspool kdh bind client", b->x, want) < 0 ||
		   !same(want, b->in + HDR_LEN + len, MAC_LEN)) {
		snprintf(b->res.why, sizeof(b->res.why), "Kerberos exchange: "
			 "the AP-REQ is not bound to this TLS channel");
	} else {
		ok = 1;
		snprintf(b->res.id, sizeof(b->res.id), "%s", acc.client);
		snprintf(b->res.principal, sizeof(b->res.principal), "%s",
			 acc.client_princ);
	}
	b->res.ok = ok;
	memcpy(b->out, MAGIC, MAGIC_LEN);
	b->out[MAGIC_LEN] = ok ? 0 : 1;
	memset(b->out + MAGIC_LEN + 1, 0, MAC_LEN);
	if (ok && mac(acc.psk, "tlspool kdh bind server", b->x,
		      b->out + MAGIC_LEN + 1) < 0)
		b->out[MAGIC_LEN] = 1, b->res.ok = 0;
	gnutls_memset(&acc, 0, sizeof(acc));
	b->outlen = REPLY_LEN;
	b->outoff = 0;
	b->phase = B_SEND;
}

static void client_process(struct session *s)
{
	struct kdh_bind *b = s->kbind;
	uint8_t want[MAC_LEN];

	if (memcmp(b->in, MAGIC, MAGIC_LEN) != 0 || b->in[MAGIC_LEN] != 0) {
		finish(s, 0, "Kerberos exchange: the server refused it");
		return;
	}
	if (mac(b->psk, "tlspool kdh bind server", b->x, want) < 0 ||
	    !same(want, b->in + MAGIC_LEN + 1, MAC_LEN)) {
		finish(s, 0, "Kerberos exchange: the server's answer is not "
		       "bound to this channel (no service key)");
		return;
	}
	snprintf(b->res.id, sizeof(b->res.id), "%s", b->host);
	snprintf(b->res.principal, sizeof(b->res.principal), "%s",
		 b->t.server_princ);
	finish(s, 1, "");
}

/* ---- client: the ticket first ---- */

static void fetch_run(void *arg)
{
	struct session *s = arg;
	struct kdh_bind *b = s->kbind;

	b->rc = kdh_krb5_client(b->ccache[0] ? b->ccache : NULL, b->service,
				b->host, b->realm, &b->map, &b->t, b->why,
				sizeof(b->why));
}

static void fetch_done(void *arg)
{
	struct session *s = arg;
	struct kdh_bind *b = s->kbind;

	if (s->state != S_KDH_TICKET) {
		session_unref(s);
		return;
	}
	s->state = S_KDH_BIND;
	if (b->rc < 0 || b->t.apreq_len > APREQ_MAX ||
	    mac(b->t.psk, "tlspool kdh bind client", b->x,
		b->out + HDR_LEN + b->t.apreq_len) < 0) {
		char why[240];

		snprintf(why, sizeof(why), "Kerberos exchange: %s",
			 b->rc < 0 ? b->why : "AP-REQ too large");
		finish(s, 0, why);
		session_unref(s);
		return;
	}
	memcpy(b->psk, b->t.psk, KDH_PSK_LEN);
	memcpy(b->out, MAGIC, MAGIC_LEN);
	b->out[MAGIC_LEN] = (uint8_t)(b->t.apreq_len >> 8);
	b->out[MAGIC_LEN + 1] = (uint8_t)b->t.apreq_len;
	memcpy(b->out + HDR_LEN, b->t.apreq, b->t.apreq_len);
	b->outlen = HDR_LEN + b->t.apreq_len + MAC_LEN;
	b->phase = B_SEND;
	session_kbind_step(s);
	session_unref(s);
}

/* 1: the outcome is already known (evaluate again), 0: running. */
int session_kbind_start(struct session *s)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	const char *at, *realm, *fail = NULL;
	struct kdh_bind *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	s->kbind = b;
	b->phase = B_DONE;
	snprintf(b->service, sizeof(b->service), "%s", st->service);
	if (session_kdh_conf(s, &b->map, b->keytab, b->ccache) < 0)
		fail = "configuration";
	else if (gnutls_protocol_get_version(s->tls) != GNUTLS_TLS1_3)
		fail = "needs TLS 1.3";
	else if (b->service[0] == '\0')
		fail = "no service name in the request";
	else if (gnutls_prf_rfc5705(s->tls, strlen(EXPORTER_LABEL),
				    EXPORTER_LABEL, 0, NULL, sizeof(b->x),
				    (char *)b->x) < 0)
		fail = "no tls-exporter value";
	if (fail == NULL && s->server) {
		snprintf(b->host, sizeof(b->host), "%s", s->localid);
		if (b->keytab[0] == '\0')
			fail = "no kerberos_server_keytab";
	} else if (fail == NULL) {
		at = strrchr(st->remoteid, '@');
		snprintf(b->host, sizeof(b->host), "%s",
			 at ? at + 1 : st->remoteid);
		realm = kdh_map_realm_for_host(&b->map, b->host);
		if (realm == NULL)
			fail = "no realm in kerberos_realm_map for the host";
		else
			snprintf(b->realm, sizeof(b->realm), "%s", realm);
	}
	if (fail != NULL) {
		snprintf(b->res.why, sizeof(b->res.why), "Kerberos exchange: %s",
			 fail);
		return 1;
	}
	if (s->server) {
		s->state = S_KDH_BIND;
		b->phase = B_RECV;
		b->need = HDR_LEN;
		session_kbind_step(s);
		return 0;
	}
	b->phase = B_FETCH;
	s->state = S_KDH_TICKET;
	session_watch_tls(s, 0);
	session_ref(s);
	if (bgjob_start(s->w, fetch_run, fetch_done, s) < 0) {
		session_unref(s);
		b->phase = B_DONE;
		snprintf(b->res.why, sizeof(b->res.why), "Kerberos exchange: "
			 "cannot start a helper");
		return 1;
	}
	return 0;
}

/* session_kdh -- TLS-KDH in a session: Kerberos-authenticated TLS 1.3
 * (external PSK in psk_dhe_ke mode), see doc/kdh.md.
 *
 * Client: when the rule that applies is a policy record whose kinds
 * include krb5, the service ticket is fetched and the AP-REQ made on a
 * helper thread (bgjob) while the session waits in S_KDH_TICKET; the
 * handshake then starts with PSK credentials whose callback hands GnuTLS
 * the same AP-REQ and PSK for every ClientHello (a HelloRetryRequest
 * asks twice).  A failed fetch falls back to certificates when the rule
 * allows x509, and refuses otherwise.
 *
 * Server: when the rule (known in post_client_hello) includes krb5 and
 * kerberos_server_keytab is configured, PSK server credentials are set;
 * the callback runs krb5_rd_req once per session and remembers the
 * result, so the second ClientHello after a HelloRetryRequest (same
 * identity, RFC 8446 4.1.2) succeeds without a second pass through the
 * replay cache, while the same AP-REQ in another connection is refused
 * by it.
 */
#include "session_int.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgjob.h"
#include "dconfig.h"
#include "kdh_krb5.h"
#include "polsel.h"
#include "priority.h"
#include "tplog.h"

/* psk_dhe_ke only: +PSK (psk_ke) is left out. */
#define KDH_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK:+DHE-PSK"
/* Kerberos or certificates (server with kinds krb5 and x509). */
#define KDH_PRIORITY_MIXED "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK"

enum { KDH_IDLE, KDH_FETCHING, KDH_READY, KDH_FALLBACK, KDH_SERVER };

struct session_kdh {
	int phase;
	int krb5_only;			/* the rule allows no x509 */
	struct kdh_map map;
	char keytab[PATH_MAX];
	char ccache[PATH_MAX];		/* "" : krb5's default */
	char service[TLSPOOL_SERVICELEN];
	char host[DONAI_BUFSIZE];
	char realm[KDH_REALM_MAX];
	char rule[DONAI_BUFSIZE];
	/* client */
	struct kdh_ticket t;
	int rc;
	char why[256];
	gnutls_psk_client_credentials_t ccred;
	/* server */
	gnutls_psk_server_credentials_t scred;
	int accepted;			/* rd_req passed: id, acc */
	uint8_t *id;
	size_t idlen;
	struct kdh_accept acc;
};

static struct {
	pthread_mutex_t lock;
	char *keytab, *ccache, *map;
} conf = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, NULL };

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void session_kdh_set_config(const struct dconfig *cfg)
{
	char *kt = dup_or_null(cfg->kerberos_server_keytab);
	char *cc = dup_or_null(cfg->kerberos_client_credcache);
	char *map = dup_or_null(cfg->kerberos_realm_map);

	pthread_mutex_lock(&conf.lock);
	free(conf.keytab);
	free(conf.ccache);
	free(conf.map);
	conf.keytab = kt;
	conf.ccache = cc;
	conf.map = map;
	pthread_mutex_unlock(&conf.lock);
}

int session_kdh_conf(const struct session *s, struct kdh_map *m,
		     char keytab[PATH_MAX], char ccache[PATH_MAX])
{
	char why[128];
	int rc = 0;

	pthread_mutex_lock(&conf.lock);
	if (kdh_map_parse(conf.map, m, why, sizeof(why)) < 0)
		rc = -EINVAL;	/* checked at load: not reached */
	snprintf(keytab, PATH_MAX, "%s", conf.keytab ? conf.keytab : "");
	ccache[0] = '\0';
	if (conf.ccache != NULL &&
	    kdh_ccache_expand(conf.ccache, (unsigned)s->uid, ccache, PATH_MAX) < 0)
		rc = -ENAMETOOLONG;
	pthread_mutex_unlock(&conf.lock);
	return rc;
}

static struct session_kdh *kdh_new(struct session *s)
{
	struct session_kdh *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if (session_kdh_conf(s, &k->map, k->keytab, k->ccache) < 0) {
		free(k);
		return NULL;
	}
	snprintf(k->service, sizeof(k->service), "%s",
		 s->req.pio_data.pioc_starttls.service);
	snprintf(k->rule, sizeof(k->rule), "%s",
		 s->decision->rule[0] ? s->decision->rule : "(default)");
	s->kdh = k;
	return k;
}

void session_kdh_free(struct session *s)
{
	struct session_kdh *k = s->kdh;

	if (k == NULL)
		return;
	if (k->ccred != NULL)
		gnutls_psk_free_client_credentials(k->ccred);
	if (k->scred != NULL)
		gnutls_psk_free_server_credentials(k->scred);
	kdh_ticket_clear(&k->t);
	free(k->id);
	gnutls_memset(k, 0, sizeof(*k));
	free(k);
	s->kdh = NULL;
}

static int rule_wants_krb5(const struct session *s)
{
	return s->decision != NULL && s->decision->have_record &&
	       (s->decision->pol.kinds &
		POLREC_KIND_BIT(POLREC_CRED_KRB5)) != 0;
}

static int rule_allows_x509(const struct session *s)
{
	return s->decision->pol.kinds == 0 ||
	       (s->decision->pol.kinds & POLREC_KIND_BIT(POLREC_CRED_X509));
}

/* ---- client: the ticket, fetched on a helper thread ---- */

static void fetch_run(void *arg)
{
	struct session *s = arg;
	struct session_kdh *k = s->kdh;

	k->rc = kdh_krb5_client(k->ccache[0] ? k->ccache : NULL, k->service,
				k->host, k->realm, &k->map, &k->t, k->why,
				sizeof(k->why));
}

/* The fetch failed or does not fit: fall back or refuse.  0 go on. */
static int no_kdh(struct session *s, const char *why)
{
	struct session_kdh *k = s->kdh;

	if (!rule_allows_x509(s)) {
		session_fail(s, EACCES, "rule %s: TLS-KDH: %s", k->rule, why);
		return -1;
	}
	tplog(LOG_NOTICE, "%s: rule %s: no TLS-KDH (%s), using certificates",
	      s->peer, k->rule, why);
	kdh_ticket_clear(&k->t);
	k->phase = KDH_FALLBACK;
	return 0;
}

static void fetch_done(void *arg)
{
	struct session *s = arg;
	struct session_kdh *k = s->kdh;

	if (s->state != S_KDH_TICKET || k == NULL) {
		session_unref(s);	/* ended meanwhile */
		return;
	}
	k->phase = KDH_READY;
	if (k->rc < 0) {
		if (no_kdh(s, k->why) == 0)
			session_tls_begin(s);
	} else if (s->localid[0] != '\0' &&
		   strcmp(s->localid, k->t.client) != 0) {
		char why[DONAI_BUFSIZE * 2 + 64];

		snprintf(why, sizeof(why), "the credentials cache holds %s, "
			 "not the local identity %s", k->t.client, s->localid);
		if (no_kdh(s, why) == 0)
			session_tls_begin(s);
	} else {
		tplog(LOG_INFO, "%s: TLS-KDH ticket for %s as %s (%zu bytes "
		      "AP-REQ)", s->peer, k->t.server_princ, k->t.client_princ,
		      k->t.apreq_len);
		session_tls_begin(s);
	}
	session_unref(s);
}

int session_kdh_client_prepare(struct session *s)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	struct session_kdh *k = s->kdh;
	const char *at, *realm;
	int rc;

	if (k != NULL)
		return 0;	/* fetched already (or fell back) */
	if (!rule_wants_krb5(s))
		return 0;	/* policy decides: no ticket otherwise */
	k = kdh_new(s);
	if (k == NULL) {
		session_fail(s, ENOMEM, "out of memory");
		return -1;
	}
	at = strrchr(st->remoteid, '@');
	snprintf(k->host, sizeof(k->host), "%s", at ? at + 1 : st->remoteid);
	realm = kdh_map_realm_for_host(&k->map, k->host);
	if (k->service[0] == '\0' || k->host[0] == '\0' || realm == NULL) {
		char why[160];

		snprintf(why, sizeof(why), "%s", k->service[0] == '\0'
			 ? "no service name in the request"
			 : k->host[0] == '\0' ? "no remote identity"
			 : "no realm in kerberos_realm_map for the host");
		return no_kdh(s, why) == 0 ? 0 : -1;
	}
	snprintf(k->realm, sizeof(k->realm), "%s", realm);
	k->phase = KDH_FETCHING;
	s->state = S_KDH_TICKET;
	session_ref(s);			/* the job's */
	rc = bgjob_start(s->w, fetch_run, fetch_done, s);
	if (rc < 0) {
		session_unref(s);
		s->state = S_HANDSHAKE;
		return no_kdh(s, "cannot start a helper") == 0 ? 0 : -1;
	}
	return 1;
}

static int client_cb(gnutls_session_t tls, gnutls_datum_t *user,
		     gnutls_datum_t *key)
{
	struct session *s = gnutls_session_get_ptr(tls);
	struct session_kdh *k = s->kdh;

	user->data = gnutls_malloc(k->t.apreq_len);
	key->data = gnutls_malloc(KDH_PSK_LEN);
	if (user->data == NULL || key->data == NULL) {
		gnutls_free(user->data);
		gnutls_free(key->data);
		return -1;
	}
	memcpy(user->data, k->t.apreq, k->t.apreq_len);
	user->size = (unsigned)k->t.apreq_len;
	memcpy(key->data, k->t.psk, KDH_PSK_LEN);
	key->size = KDH_PSK_LEN;
	return 0;
}

/* ---- server: the AP-REQ, checked once per session ---- */

static int server_cb(gnutls_session_t tls, const gnutls_datum_t *user,
		     gnutls_datum_t *key)
{
	struct session *s = gnutls_session_get_ptr(tls);
	struct session_kdh *k = s->kdh;

	if (!k->accepted) {
		char why[200];

		if (kdh_krb5_server(k->keytab, user->data, user->size,
				    k->service, k->host, &k->map, &k->acc, why,
				    sizeof(why)) < 0) {
			snprintf(s->why, sizeof(s->why), "rule %.60s: TLS-KDH: %.170s",
				 k->rule, why);
			return -1;
		}
		k->id = malloc(user->size);
		if (k->id == NULL)
			return -1;
		memcpy(k->id, user->data, user->size);
		k->idlen = user->size;
		k->accepted = 1;
	} else if (user->size != k->idlen ||
		   memcmp(user->data, k->id, k->idlen) != 0) {
		snprintf(s->why, sizeof(s->why), "rule %s: TLS-KDH: the second "
			 "ClientHello carries another AP-REQ", k->rule);
		return -1;
	}
	key->data = gnutls_malloc(KDH_PSK_LEN);
	if (key->data == NULL)
		return -1;
	memcpy(key->data, k->acc.psk, KDH_PSK_LEN);
	key->size = KDH_PSK_LEN;
	return 0;
}

static int set_priority(struct session *s, const char *text)
{
	const char *errpos = NULL;
	gnutls_priority_t prio;
	int rc;

	if (s->decision->pol.priority != NULL)
		return 0;	/* the rule's own string stands */
	rc = priority_get(text, &prio, &errpos);
	if (rc < 0) {
		snprintf(s->why, sizeof(s->why), "TLS-KDH priority refused: %s",
			 gnutls_strerror(rc));
		return rc;
	}
	return gnutls_priority_set(s->tls, prio);
}

static int setup_client(struct session *s)
{
	struct session_kdh *k = s->kdh;
	int rc;

	if (k == NULL || k->phase != KDH_READY)
		return 0;
	rc = gnutls_psk_allocate_client_credentials(&k->ccred);
	if (rc < 0)
		return rc;
	gnutls_psk_set_client_credentials_function2(k->ccred, client_cb);
	rc = gnutls_credentials_set(s->tls, GNUTLS_CRD_PSK, k->ccred);
	if (rc == 0)
		rc = set_priority(s, KDH_PRIORITY);
	return rc < 0 ? rc : 1;
}

static int setup_server(struct session *s)
{
	struct session_kdh *k = s->kdh;
	int rc;

	if (k != NULL)
		return k->krb5_only;	/* second ClientHello */
	if (!rule_wants_krb5(s))
		return 0;
	k = kdh_new(s);
	if (k == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	k->phase = KDH_SERVER;
	k->krb5_only = !rule_allows_x509(s);
	snprintf(k->host, sizeof(k->host), "%s", s->localid);
	if (k->keytab[0] == '\0' || k->service[0] == '\0') {
		snprintf(s->why, sizeof(s->why), "rule %s: TLS-KDH needs %s",
			 k->rule, k->keytab[0] == '\0' ? "kerberos_server_keytab"
			 : "a service name in the request");
		if (k->krb5_only)
			return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
		s->why[0] = '\0';
		k->krb5_only = 0;
		return 0;
	}
	rc = gnutls_psk_allocate_server_credentials(&k->scred);
	if (rc < 0)
		return rc;
	gnutls_psk_set_server_credentials_function2(k->scred, server_cb);
	rc = gnutls_credentials_set(s->tls, GNUTLS_CRD_PSK, k->scred);
	if (rc == 0)
		rc = set_priority(s, k->krb5_only ? KDH_PRIORITY
						  : KDH_PRIORITY_MIXED);
	return rc < 0 ? rc : k->krb5_only;
}

int session_kdh_setup(struct session *s)
{
	return s->server ? setup_server(s) : setup_client(s);
}

/* ---- after the handshake ---- */

int session_kdh_used(const struct session *s)
{
	return s->kdh != NULL && gnutls_auth_get_type(s->tls) == GNUTLS_CRD_PSK &&
	       (s->server ? s->kdh->accepted : s->kdh->phase == KDH_READY);
}

const char *session_kdh_peer(const struct session *s)
{
	return s->server ? s->kdh->acc.client : s->kdh->host;
}

const char *session_kdh_local(const struct session *s)
{
	return s->server ? s->kdh->host : s->kdh->t.client;
}

const char *session_kdh_principal(const struct session *s)
{
	return s->server ? s->kdh->acc.client_princ : s->kdh->t.server_princ;
}

/* The peer's realm (after the principal's last '@': realm names here
 * hold none) is in kerberos_realm_map. */
int session_kdh_realm_trusted(const struct session *s)
{
	const char *at = strrchr(session_kdh_principal(s), '@');

	return at != NULL && kdh_map_domain(&s->kdh->map, at + 1) != NULL;
}

/* After the handshake of a session whose rule includes krb5: 1 the
 * handshake used certificates and the rule allows that, 0 TLS-KDH was
 * used properly, -EACCES otherwise.  Kerberos alone (psk_ke) gives no
 * forward secrecy: refused. */
int session_kdh_check(struct session *s, char *why, size_t whylen)
{
	gnutls_kx_algorithm_t kx = gnutls_kx_get(s->tls);

	if (!session_kdh_used(s)) {
		if (rule_allows_x509(s))
			return 1;
		snprintf(why, whylen, "rule %s: allows only krb5, the peer did "
			 "not use TLS-KDH", s->kdh->rule);
		return -EACCES;
	}
	if (kx != GNUTLS_KX_ECDHE_PSK && kx != GNUTLS_KX_DHE_PSK) {
		snprintf(why, whylen, "rule %s: TLS-KDH without (EC)DHE (%s)",
			 s->kdh->rule, gnutls_kx_get_name(kx) ?
			 gnutls_kx_get_name(kx) : "?");
		return -EACCES;
	}
	tplog(LOG_INFO, "%s: TLS-KDH %s: client %s, service %s", s->peer,
	      s->server ? "accepted" : "done",
	      s->server ? s->kdh->acc.client_princ : s->kdh->t.client_princ,
	      s->server ? s->kdh->acc.server_princ : s->kdh->t.server_princ);
	return 0;
}

/* Without a rule expression.  Client role: the server proved that it
 * holds the key of service/host, host taken from the requested remote
 * identity, so that host is the remote identity.  Server role: the
 * client's mapped principal must be the requested remote identity, when
 * one was requested. */
int session_kdh_default(struct session *s, char *why, size_t whylen)
{
	const char *want = s->req.pio_data.pioc_starttls.remoteid;
	const char *peer = session_kdh_peer(s);

	if (s->server && want[0] != '\0' && strcmp(want, peer) != 0) {
		snprintf(why, whylen, "rule %s: Kerberos identity %s is not "
			 "the requested %s (mismatch)", s->kdh->rule, peer, want);
		return -EACCES;
	}
	snprintf(s->remoteid, sizeof(s->remoteid), "%s", peer);
	return 0;
}

/* session_validate -- after the handshake: check the peer against the
 * rule (its validation expression, else the secure default the flags
 * imply), ask what the expression waits for (OCSP, TLSA, the global
 * directory, channel-bound Kerberos), then refuse or go on to the
 * PLAINTEXT_CONNECT callback or the relay.  Split from session_tls.c,
 * which runs the handshake. */
#include "session_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cred.h"
#include "polsel.h"
#include "session_rawpk.h"
#include "trust_key.h"
#include "validate.h"

static int validate_server(struct session *s, const gnutls_datum_t *chain,
			   unsigned n, char *why, size_t whylen)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	int domain_ok = !!(st->flags & PIOF_STARTTLS_DOMAIN_REPRESENTS_USER);

	if (st->remoteid[0] == '\0') {
		snprintf(why, whylen, "client role needs a remote identity "
			 "to check the server's name (or IGNORE_REMOTEID)");
		return -EINVAL;
	}
	if (cred_verify_peer(s->creds, chain, n, st->remoteid, domain_ok,
			     GNUTLS_KP_TLS_WWW_SERVER, why, whylen) < 0)
		return -EACCES;
	snprintf(s->remoteid, sizeof(s->remoteid), "%s", st->remoteid);
	return 0;
}

static int validate_client(struct session *s, const gnutls_datum_t *chain,
			   unsigned n, char *why, size_t whylen)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	const char *name = st->remoteid[0] != '\0' ? st->remoteid : NULL;
	int domain_ok = !!(st->flags & PIOF_STARTTLS_DOMAIN_REPRESENTS_USER);

	if (cred_verify_peer(s->creds, chain, n, name, domain_ok,
			     GNUTLS_KP_TLS_WWW_CLIENT, why, whylen) < 0)
		return -EACCES;
	if (name != NULL) {
		snprintf(s->remoteid, sizeof(s->remoteid), "%s", name);
		return 0;
	}
	if (cred_cert_identity(&chain[0], s->remoteid, sizeof(s->remoteid)) < 0) {
		snprintf(why, whylen, "client certificate names no identity");
		return -EACCES;
	}
	return 0;
}

/* The negotiated version must lie within the rule's bounds (a server
 * cannot narrow them before the ClientHello is read). */
static int check_version(struct session *s, char *why, size_t whylen)
{
	const struct polrec_policy *p = &s->decision->pol;
	gnutls_protocol_t v = gnutls_protocol_get_version(s->tls);
	unsigned wire = v == GNUTLS_TLS1_3 ? 0x0304 : v == GNUTLS_TLS1_2 ? 0x0303
		      : v == GNUTLS_TLS1_1 ? 0x0302 : 0x0301;

	if ((p->min_version && wire < p->min_version) ||
	    (p->max_version && wire > p->max_version)) {
		snprintf(why, whylen, "rule %s: negotiated %s is outside %s..%s",
			 s->decision->rule, gnutls_protocol_get_name(v),
			 polrec_version_name(p->min_version),
			 polrec_version_name(p->max_version));
		return -EACCES;
	}
	return 0;
}

/* A rule with a validation expression decides alone; the application's
 * flags cannot relax what the administrator requires.  -EINPROGRESS:
 * the OCSP responder must be asked first, the TLSA records or the
 * directory's SRV records looked up, or the directory asked (a says
 * which). */
struct asks {
	struct ocsp_query q;		/* O/o */
	char tname[DNSSEC_NAME_MAX];	/* D/d */
	char gname[DNSSEC_NAME_MAX];	/* G/g: the SRV name */
	struct gdir_query gq;		/* G/g: the directory */
};

static int validate_expr(struct session *s, const char *rule,
			 const char *valexp, struct asks *a, char *why,
			 size_t whylen)
{
	struct validate_input in = {
		.tls = s->tls,
		.server = s->server,
		.remoteid = s->req.pio_data.pioc_starttls.remoteid,
		.rule = rule,
		.valexp = valexp,
		.creds = s->creds,
		.db = s->db,
		.ocsp = s->ocsp_state == OCSP_ST_ANSWERED ? &s->ocsp : NULL,
		.ocsp_query = s->ocsp_state == OCSP_ST_NONE ? &a->q : NULL,
		.tlsa = s->dane_state == OCSP_ST_ANSWERED ? &s->dane : NULL,
		.tlsa_name = s->dane_state == OCSP_ST_NONE ? a->tname : NULL,
		.port = session_peer_port(s),
		.gdir_srv = s->gdir_state >= GDIR_ST_SRV_ANSWERED ?
			    &s->gdir_srv : NULL,
		.gdir_srv_name = s->gdir_state == GDIR_ST_NONE ? a->gname
							       : NULL,
		.gdir = s->gdir_state == GDIR_ST_ANSWERED ? &s->gdir : NULL,
		.gdir_query = s->gdir_state == GDIR_ST_SRV_ANSWERED ? &a->gq
								   : NULL,
	};

	in.kbind = session_kbind_result(s);
	in.kbind_wanted = s->kbind == NULL ? &s->kbind_wanted : NULL;
	if (session_kdh_used(s)) {
		in.kdh_peer = session_kdh_peer(s);
		in.kdh_principal = session_kdh_principal(s);
		in.kdh_realm_trusted = session_kdh_realm_trusted(s);
	}

	return validate_rule(&in, s->remoteid, sizeof(s->remoteid), why,
			     whylen);
}

/* A bare key has no chain, so the T of the DANE default never holds for
 * it: DANE 3 1 x where secure TLSA exists, else its pin (I), as
 * session_rawpk_validate does without DNSSEC. */
#define DEFAULT_CLIENT_DANE_RAWPK "dI|"

static int peer_rawpk(struct session *s)
{
	return gnutls_certificate_type_get2(s->tls, GNUTLS_CTYPE_PEERS) ==
	       GNUTLS_CRT_RAWPK;
}

/* Fail closed: without a rule's expression, what the peer must prove
 * follows from the flags (the secure default).  A client with DNSSEC
 * configured also takes DANE where DNSSEC-secure TLSA records exist
 * (POLSEL_DEFAULT_CLIENT_DANE). */
static int validate_peer(struct session *s, struct asks *a, char *why,
			 size_t whylen)
{
	const struct pioc_starttls *st = &s->req.pio_data.pioc_starttls;
	uint32_t flags = st->flags;
	unsigned n = 0;
	const gnutls_datum_t *chain;
	int rc;

	s->remoteid[0] = '\0';
	rc = check_version(s, why, whylen);
	if (rc == 0)
		rc = session_rawpk_check_negotiated(s, why, whylen);
	if (rc == 0)
		rc = trust_key_presented_revoked(s->db, s->tls, why, whylen);
	if (rc < 0)
		return rc;
	rc = s->kdh != NULL ? session_kdh_check(s, why, whylen) : 1;
	if (rc < 0)
		return rc;
	if (rc == 0 && !(s->decision->have_record &&
			 s->decision->pol.valexp != NULL))
		return session_kdh_default(s, why, whylen);	/* TLS-KDH */
	if (s->decision->have_record && s->decision->pol.valexp != NULL)
		return validate_expr(s, s->decision->rule,
				     s->decision->valexp, a, why, whylen);
	if (flags & PIOF_STARTTLS_IGNORE_REMOTEID)
		return 0;
	if (!s->server && st->remoteid[0] != '\0' && dnssec_enabled())
		return validate_expr(s, "", peer_rawpk(s) ?
				     DEFAULT_CLIENT_DANE_RAWPK : flags &
				     PIOF_STARTTLS_DOMAIN_REPRESENTS_USER ?
				     POLSEL_DEFAULT_CLIENT_DANE_DOMAIN :
				     POLSEL_DEFAULT_CLIENT_DANE, a, why, whylen);
	chain = gnutls_certificate_get_peers(s->tls, &n);
	if (chain == NULL || n == 0) {
		if (s->server && session_client_auth(s) != GNUTLS_CERT_REQUIRE)
			return 0;
		snprintf(why, whylen, "the peer presented no certificate");
		return -EACCES;
	}
	if (peer_rawpk(s))
		return session_rawpk_validate(s, &chain[0], why, whylen);
	return s->server ? validate_client(s, chain, n, why, whylen)
			 : validate_server(s, chain, n, why, whylen);
}

static void validated(struct session *s, int rc, const char *why)
{
	if (rc < 0) {
		gnutls_alert_send(s->tls, GNUTLS_AL_FATAL,
				  GNUTLS_A_BAD_CERTIFICATE);
		session_fail(s, -rc, "peer validation failed: %s", why);
		return;
	}
	if (s->ident != NULL)
		snprintf(s->localid, sizeof(s->localid), "%s", s->ident->name);
	else if (session_kdh_used(s))
		snprintf(s->localid, sizeof(s->localid), "%s",
			 session_kdh_local(s));
	else
		s->localid[0] = '\0';
	session_watch_tls(s, 0);
	if (s->state == S_DONE)
		return;
	if (s->plainfd >= 0) {
		session_go_relay(s);
		return;
	}
	if (session_send_callback(s, PIOC_PLAINTEXT_CONNECT_V2, s->localid,
				  s->remoteid) < 0) {
		session_fail(s, ENOTCONN, "control connection closed");
		return;
	}
	s->state = S_PLAIN_CB;
}

/* Validate the peer and go on; asked again once the OCSP responder
 * answered (session_ocsp.c). */
void session_validate(struct session *s)
{
	struct asks a;
	char why[200];
	int rc;

	memset(&a, 0, sizeof(a));
	s->kbind_wanted = 0;
	rc = validate_peer(s, &a, why, sizeof(why));
	if (rc == -EINPROGRESS && s->kbind_wanted) {
		rc = session_kbind_start(s);		/* valexp K */
		if (rc > 0)
			session_validate(s);
		else if (rc < 0)
			session_fail(s, ENOMEM, "out of memory");
	} else if (rc == -EINPROGRESS && a.tname[0] != '\0') {
		session_ask_dane(s, a.tname);		/* valexp D/d */
	} else if (rc == -EINPROGRESS && a.gname[0] != '\0') {
		session_ask_gdir_srv(s, a.gname);	/* valexp G/g */
	} else if (rc == -EINPROGRESS && a.gq.host[0] != '\0') {
		session_ask_gdir(s, &a.gq);		/* takes gq over */
	} else if (rc == -EINPROGRESS && s->ocsp_state == OCSP_ST_NONE) {
		session_ask_ocsp(s, &a.q);		/* valexp O/o */
	} else {
		if (rc == -EINPROGRESS) {
			rc = -EACCES;
			snprintf(why, sizeof(why), "the OCSP, TLSA, directory "
				 "or Kerberos check did not finish");
		}
		validated(s, rc, why);
	}
	ocsp_query_clear(&a.q);
	gdir_query_clear(&a.gq);
}

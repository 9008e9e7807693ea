/* session_rawpk -- raw public keys in a session: negotiation by policy,
 * named refusals and the default validation by pin. */
#include "session_int.h"
#include "session_rawpk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cred.h"
#include "polsel.h"
#include "rawpk.h"
#include "validate_rawpk.h"

/* TLS extensions (RFC 7250) and certificate type values. */
#define EXT_CLIENT_CTYPE 19
#define EXT_SERVER_CTYPE 20
#define CTYPE_X509 0
#define CTYPE_RAWPK 2

/* s->rawpk_offer: what the ClientHello offered (RAWPK_T_*), for the
 * server's certificate (low byte) and the client's (next byte). */
#define OFFER_SEEN 0x10000u
#define OFFER_CLI_SHIFT 8

unsigned session_rawpk_allowed(unsigned kinds)
{
	unsigned t = 0;

	if (kinds == 0 || (kinds & POLREC_KIND_BIT(POLREC_CRED_X509)))
		t |= RAWPK_T_X509;
	if (kinds & POLREC_KIND_BIT(POLREC_CRED_RAWPK))
		t |= RAWPK_T_RAWPK;
	return t;
}

static unsigned rule_kinds(const struct session *s)
{
	return s->decision && s->decision->have_record
	       ? s->decision->pol.kinds : 0;
}

static const char *rule_name(const struct session *s)
{
	return s->decision && s->decision->rule[0] ? s->decision->rule
						   : "(default)";
}

static const char *types_text(unsigned t)
{
	switch (t & (RAWPK_T_X509 | RAWPK_T_RAWPK)) {
	case RAWPK_T_X509: return "X.509 certificates only";
	case RAWPK_T_RAWPK: return "raw public keys only";
	case RAWPK_T_X509 | RAWPK_T_RAWPK: return "X.509 certificates and "
						  "raw public keys";
	default: return "no certificate type";
	}
}

static int add_types(char *buf, size_t len, const char *who, unsigned t)
{
	size_t used = strlen(buf);
	int n = snprintf(buf + used, len - used, ":-CTYPE-%s-ALL%s%s", who,
			 (t & RAWPK_T_X509) ? (strcmp(who, "CLI") == 0
					       ? ":+CTYPE-CLI-X509"
					       : ":+CTYPE-SRV-X509") : "",
			 (t & RAWPK_T_RAWPK) ? (strcmp(who, "CLI") == 0
						? ":+CTYPE-CLI-RAWPK"
						: ":+CTYPE-SRV-RAWPK") : "");

	return n < 0 || (size_t)n >= len - used ? -ENOSPC : 0;
}

int session_rawpk_priority(unsigned kinds, int local, int server, char *buf,
			   size_t len)
{
	unsigned t = session_rawpk_allowed(kinds);
	unsigned own = t, peer = t;

	if (local >= 0 && (t & (local ? RAWPK_T_RAWPK : RAWPK_T_X509)))
		own = local ? RAWPK_T_RAWPK : RAWPK_T_X509;
	if (t == 0 || (own == RAWPK_T_X509 && peer == RAWPK_T_X509))
		return 0;	/* GnuTLS's default: X.509 only; no certificate
				 * kind: identities are refused by name */
	if (add_types(buf, len, server ? "SRV" : "CLI", own) < 0 ||
	    add_types(buf, len, server ? "CLI" : "SRV", peer) < 0)
		return -ENOSPC;
	return 0;
}

int session_rawpk_local(const struct session *s)
{
	const struct cred_identity *id;

	if (s->localid[0] == '\0' || s->creds == NULL)
		return -1;
	id = cred_find(s->creds, s->localid);
	return id == NULL ? -1 : id->rawpk;
}

/* The certificate types listed in a ClientHello extension. */
static unsigned ctype_list(const unsigned char *data, unsigned size)
{
	unsigned t = 0;

	if (size < 1 || data[0] != size - 1)
		return 0;
	for (unsigned i = 1; i < size; i++)
		t |= data[i] == CTYPE_X509 ? RAWPK_T_X509
		   : data[i] == CTYPE_RAWPK ? RAWPK_T_RAWPK : 0;
	return t;
}

struct offer_scan {
	unsigned srv, cli;
	int have_srv, have_cli;
};

static int offer_ext(void *ctx, unsigned tls_id, const unsigned char *data,
		     unsigned size)
{
	struct offer_scan *o = ctx;

	if (tls_id == EXT_SERVER_CTYPE) {
		o->srv = ctype_list(data, size);
		o->have_srv = 1;
	} else if (tls_id == EXT_CLIENT_CTYPE) {
		o->cli = ctype_list(data, size);
		o->have_cli = 1;
	}
	return 0;
}

static int on_client_hello(gnutls_session_t tls, unsigned htype,
			   unsigned when, unsigned incoming,
			   const gnutls_datum_t *msg)
{
	struct session *s = gnutls_session_get_ptr(tls);
	struct offer_scan o = { 0 };

	(void)htype;
	(void)when;
	if (!incoming || s == NULL)
		return 0;
	if (gnutls_ext_raw_parse(&o, offer_ext, msg,
				 GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO) < 0)
		return 0;	/* GnuTLS itself will refuse it */
	/* without the extension, X.509 is what the peer means */
	s->rawpk_offer = OFFER_SEEN | (o.have_srv ? o.srv : RAWPK_T_X509) |
			 ((o.have_cli ? o.cli : RAWPK_T_X509) << OFFER_CLI_SHIFT);
	return 0;
}

void session_rawpk_setup(struct session *s)
{
	s->rawpk_offer = 0;
	if (s->server)
		gnutls_handshake_set_hook_function(s->tls,
						   GNUTLS_HANDSHAKE_CLIENT_HELLO,
						   GNUTLS_HOOK_PRE,
						   on_client_hello);
}

int session_rawpk_check_identity(struct session *s)
{
	unsigned t = session_rawpk_allowed(rule_kinds(s));

	if (s->ident == NULL)
		return 0;
	if (s->ident->rawpk && !(t & RAWPK_T_RAWPK)) {
		snprintf(s->why, sizeof(s->why), "rule %s allows %s (policy "
			 "kinds); local identity \"%s\" holds a raw public key",
			 rule_name(s), types_text(t), s->ident->name);
		return -EACCES;
	}
	if (!s->ident->rawpk && !(t & RAWPK_T_X509)) {
		snprintf(s->why, sizeof(s->why), "rule %s allows %s (policy "
			 "kinds); local identity \"%s\" holds an X.509 "
			 "certificate", rule_name(s), types_text(t),
			 s->ident->name);
		return -EACCES;
	}
	return 0;
}

static int is_type_failure(struct session *s, int rc)
{
	gnutls_alert_description_t a;

	switch (rc) {
	case GNUTLS_E_UNSUPPORTED_CERTIFICATE_TYPE:
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
		return 1;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		a = gnutls_alert_get(s->tls);
		return a == GNUTLS_A_HANDSHAKE_FAILURE ||
		       a == GNUTLS_A_UNSUPPORTED_CERTIFICATE ||
		       a == GNUTLS_A_UNSUPPORTED_EXTENSION ||
		       a == GNUTLS_A_CERTIFICATE_REQUIRED;
	default:
		return 0;
	}
}

int session_rawpk_explain(struct session *s, int rc, char *why, size_t len)
{
	unsigned t = session_rawpk_allowed(rule_kinds(s));
	unsigned srv = s->rawpk_offer & 0xffu;
	unsigned cli = (s->rawpk_offer >> OFFER_CLI_SHIFT) & 0xffu;

	if (s->server && (s->rawpk_offer & OFFER_SEEN) && !(srv & t)) {
		snprintf(why, len, "rule %s allows %s (policy kinds); the "
			 "client accepts %s from the server", rule_name(s),
			 types_text(t), types_text(srv));
		return 1;
	}
	if (s->server && (s->rawpk_offer & OFFER_SEEN) && !(cli & t) &&
	    is_type_failure(s, rc)) {
		snprintf(why, len, "rule %s allows %s (policy kinds); the "
			 "client can show %s", rule_name(s), types_text(t),
			 types_text(cli));
		return 1;
	}
	/* A client cannot see what the server holds: say what it offered. */
	if (!s->server && t == RAWPK_T_RAWPK && is_type_failure(s, rc)) {
		snprintf(why, len, "rule %s offers %s (policy kinds); the "
			 "server did not agree", rule_name(s), types_text(t));
		return 1;
	}
	if (!s->server && t == RAWPK_T_X509 && is_type_failure(s, rc)) {
		snprintf(why, len, "rule %s offers %s (policy kinds; a server "
			 "that has only a raw public key cannot agree)",
			 rule_name(s), types_text(t));
		return 1;
	}
	return 0;
}

static unsigned type_bit(gnutls_certificate_type_t t)
{
	return t == GNUTLS_CRT_RAWPK ? RAWPK_T_RAWPK
	     : t == GNUTLS_CRT_X509 ? RAWPK_T_X509 : 0;
}

int session_rawpk_check_negotiated(struct session *s, char *why, size_t len)
{
	unsigned t = session_rawpk_allowed(rule_kinds(s));
	unsigned n = 0;
	unsigned peer = type_bit(gnutls_certificate_type_get2(s->tls,
							GNUTLS_CTYPE_PEERS));

	if (gnutls_certificate_get_peers(s->tls, &n) == NULL || n == 0)
		return 0;	/* nothing shown: the validation decides */
	if (peer & t)
		return 0;
	snprintf(why, len, "rule %s allows %s (policy kinds); the peer showed "
		 "%s", rule_name(s), types_text(t),
		 peer == RAWPK_T_RAWPK ? "a raw public key" : "an X.509 "
		 "certificate");
	return -EACCES;
}

int session_rawpk_validate(struct session *s, const gnutls_datum_t *spki,
			   char *why, size_t len)
{
	const char *id = s->req.pio_data.pioc_starttls.remoteid;
	char hex[RAWPK_HEX_LEN + 1];
	int bound = 0, any = 0;

	if (rawpk_pin_hex(spki, hex) < 0) {
		snprintf(why, len, "the peer's raw public key does not parse");
		return -EACCES;
	}
	if (s->db == NULL) {
		snprintf(why, len, "raw public key %.16s... cannot be checked: "
			 "no policy database for pins", hex);
		return -EACCES;
	}
	if (!s->server && id[0] == '\0') {
		snprintf(why, len, "client role needs a remote identity to "
			 "check the server's raw public key");
		return -EINVAL;
	}
	if (id[0] == '\0') {
		if (validate_rawpk_bound_id(s->db, hex, 0, s->remoteid,
					    sizeof(s->remoteid)) == 0 &&
		    s->remoteid[0] != '\0')
			return 0;
		validate_rawpk_pins(s->db, hex, NULL, 0, &bound, &any);
		if (any)
			return 0;	/* pinned, names nobody */
		snprintf(why, len, "raw public key %s is not pinned (trust.db "
			 "pin:ID:%.8s...)", hex, hex);
		return -EACCES;
	}
	if (validate_rawpk_pins(s->db, hex, id, !s->server, &bound,
				&any) < 0) {
		snprintf(why, len, "raw public key %.16s...: cannot read pins",
			 hex);
		return -EACCES;
	}
	/* DANE: a DNSSEC-secure TLSA 3 1 x for id that matches spki is the
	 * other way to bind the key (the dane module's SPKI matcher joins
	 * here, before the refusal). */
	if (!bound && !any) {
		snprintf(why, len, "raw public key %s is not pinned for %s "
			 "(trust.db)", hex, id);
		return -EACCES;
	}
	snprintf(s->remoteid, sizeof(s->remoteid), "%s", id);
	return 0;
}

char *session_rawpk_desc(gnutls_session_t tls)
{
	char *desc = gnutls_session_get_desc(tls);
	char *x;

	/* GNUTLS_ENABLE_RAWPK makes GnuTLS name the certificate type even
	 * for X.509 sessions: keep their description as it was. */
	if (desc != NULL &&
	    gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_CLIENT) ==
		    GNUTLS_CRT_X509 &&
	    gnutls_certificate_type_get2(tls, GNUTLS_CTYPE_SERVER) ==
		    GNUTLS_CRT_X509 &&
	    (x = strstr(desc, "-X.509)")) != NULL)
		memmove(x, x + 6, strlen(x + 6) + 1);
	return desc;
}

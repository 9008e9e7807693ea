/* validate_dane -- the valexp predicates D and d (doc/validation.md).
 *
 * The TLSA name is _<port>._tcp.<host>, host the remote identity (a DNS
 * name; the client role only) and port the connected socket's peer port.
 * The lookup itself is the caller's (-EINPROGRESS with in->tlsa_name);
 * it may answer for the host's alias target instead (RFC 7671, see
 * session_dane.c), whose name then appears in the reasons.
 *
 *               D            d
 *   match       1            1
 *   no match    0            refuse (-EACCES): TLSA published, no fallback
 *   unusable    0            0      (RFC 7671: as if there were no TLSA)
 *   none        0            0      (a DNSSEC-secure denial)
 *   insecure    0            0
 *   no answer   0            refuse (cannot tell whether DANE applies)
 *   bogus       refuse       refuse
 */
#include "validate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/x509.h>

#include "dane.h"
#include "dnssec.h"

static int host_ok(const char *h)
{
	unsigned char buf[16];

	return h[0] != '\0' && strchr(h, '@') == NULL &&
	       inet_pton(AF_INET, h, buf) != 1 &&
	       inet_pton(AF_INET6, h, buf) != 1 && strlen(h) < 200;
}

static int secure_records(const struct validate_input *in,
			  const gnutls_datum_t *chain, unsigned n,
			  int strict, const char *name, char *why,
			  size_t whylen)
{
	const struct dnssec_answer *a = in->tlsa;
	struct dane_rrset rs;
	char m[96];
	enum dane_verdict v;

	if (!a->havedata || a->rcode != 0) {
		snprintf(why, whylen, "no TLSA record at %s (DNSSEC-secure)",
			 name);
		return 0;
	}
	if (dane_parse_answer(a->wire, a->wirelen, &rs, m, sizeof(m)) < 0) {
		snprintf(why, whylen, "TLSA at %s: %s", name, m);
		return -EACCES;
	}
	if (gnutls_certificate_type_get2(in->tls, GNUTLS_CTYPE_PEERS) ==
	    GNUTLS_CRT_RAWPK)	/* RFC 7250: chain[0] is the bare SPKI */
		v = dane_match_spki(&rs, chain[0].data, chain[0].size, m,
				    sizeof(m));
	else
		v = dane_match_chain(&rs, chain, n, in->remoteid,
				     GNUTLS_KP_TLS_WWW_SERVER, in->creds, m,
				     sizeof(m));
	dane_rrset_free(&rs);
	snprintf(why, whylen, "%s: %s", name, m);
	switch (v) {
	case DANE_MATCH:
		return 1;
	case DANE_UNUSABLE:
		return 0;
	default:
		return strict ? 0 : -EACCES;
	}
}

int validate_dane(const struct validate_input *in,
		  const gnutls_datum_t *chain, unsigned n, int strict,
		  char *proven, size_t provenlen, char *why, size_t whylen)
{
	const struct dnssec_answer *a = in->tlsa;
	char name[DNSSEC_NAME_MAX];
	int rc;

	if (in->server) {
		snprintf(why, whylen, "DANE is checked for servers only");
		return 0;
	}
	if (!host_ok(in->remoteid)) {
		snprintf(why, whylen, "\"%s\" is no host name for DANE",
			 in->remoteid);
		return 0;
	}
	if (in->port == 0) {
		snprintf(why, whylen, "the peer's port is unknown");
		return 0;
	}
	snprintf(name, sizeof(name), "_%u._tcp.%s", in->port, in->remoteid);
	if (a == NULL) {
		if (in->tlsa_name == NULL) {
			snprintf(why, whylen, "TLSA cannot be looked up here");
			return 0;
		}
		snprintf(in->tlsa_name, DNSSEC_NAME_MAX, "%s", name);
		snprintf(why, whylen, "waiting for TLSA %s", name);
		return -EINPROGRESS;
	}
	if (a->qname[0] != '\0')
		snprintf(name, sizeof(name), "%s", a->qname);	/* an alias's */
	switch (a->sec) {
	case DNSSEC_BOGUS:
		snprintf(why, whylen, "DNSSEC bogus at %s: %s", name, a->why);
		return -EACCES;
	case DNSSEC_INSECURE:
		snprintf(why, whylen, "TLSA at %s is insecure (no DNSSEC)",
			 name);
		return 0;
	case DNSSEC_SECURE:
		rc = secure_records(in, chain, n, strict, name, why, whylen);
		if (rc == 1)
			snprintf(proven, provenlen, "%s", in->remoteid);
		return rc;
	default:
		snprintf(why, whylen, "no DNS answer for %s: %s", name, a->why);
		return strict ? 0 : -EACCES;
	}
}

/* dane_none -- DANE and DNSSEC in the Windows build: not available
 * (libunbound and ldns have no Windows build here).  Everything answers
 * fail-closed with the reason: D and d evaluate false, a configured
 * dane_service_ports is a configuration error, dnssec_* settings are
 * reported as ignored, a lookup (the global directory's SRV records,
 * valexp G and g) is answered at once as failed, so G and g evaluate
 * false.  Replaces dnssec.c, dane.c, validate_dane.c and session_dane.c
 * (doc/windows.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dane.h"
#include "dnssec.h"
#include "session_int.h"
#include "tplog.h"
#include "validate.h"

#define NO_DANE "DANE is not available in the Windows build"
#define NO_DNSSEC "DNSSEC is not available in the Windows build"

int validate_dane(const struct validate_input *in,
		  const gnutls_datum_t *chain, unsigned n, int strict,
		  char *proven, size_t provenlen, char *why, size_t whylen)
{
	(void)in;
	(void)chain;
	(void)n;
	(void)strict;
	(void)proven;
	(void)provenlen;
	snprintf(why, whylen, NO_DANE);
	return 0;
}

/* validate_dane never asks for a lookup; should a caller still come
 * here, the session is refused rather than left waiting. */
void session_ask_dane(struct session *s, const char *name)
{
	session_fail(s, ENOTSUP, "TLSA lookup at %s: " NO_DANE, name);
}

unsigned session_peer_port(const struct session *s)
{
	(void)s;
	return 0;
}

int session_dane_set_ports(const char *map)
{
	(void)map;
	return 0;
}

int dane_service_port(const char *map, const char *service, char *why,
		      size_t whylen)
{
	(void)map;
	(void)service;
	snprintf(why, whylen, NO_DANE);
	return -ENOTSUP;
}

int dnssec_configure(const char *rootkey, const char *config_file,
		     const char *forwarder)
{
	if (rootkey != NULL || config_file != NULL || forwarder != NULL)
		tplog(LOG_WARNING, "dnssec_rootkey, dnssec_config, "
		      "dnssec_forwarder ignored: " NO_DANE
		      " (predicates D and d evaluate false)");
	return 0;
}

int dnssec_enabled(void)
{
	return 0;
}

void dnssec_shutdown(void)
{
}

void dnssec_answer_clear(struct dnssec_answer *a)
{
	free(a->wire);
	a->wire = NULL;
	a->wirelen = 0;
}

int dnssec_answer_copy(struct dnssec_answer *dst,
		       const struct dnssec_answer *src)
{
	*dst = *src;
	dst->wire = NULL;	/* no answer here carries a packet */
	dst->wirelen = 0;
	return 0;
}

/* "Answered from the cache": no answer, with the reason (G and g then
 * say "SRV <name>: no answer: DNSSEC is not available ..."). */
int dnssec_lookup(struct worker *w, const char *name, int rrtype,
		  void (*done)(void *arg, const struct dnssec_answer *a),
		  void *arg, struct dnssec_answer *cached)
{
	(void)w;
	(void)rrtype;
	(void)done;
	(void)arg;
	memset(cached, 0, sizeof(*cached));
	cached->sec = DNSSEC_FAILED;
	snprintf(cached->qname, sizeof(cached->qname), "%s", name);
	snprintf(cached->why, sizeof(cached->why), NO_DNSSEC);
	return 1;
}

/* gdir_srv -- the global directory's SRV answer, read with ldns (see
 * gdir.h).  Apart from gdir.c so that the LDAP part builds without a DNS
 * library (the Windows build until it has ldns and libunbound). */
#include "gdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ldns/ldns.h>

int gdir_parse_srv(const uint8_t *wire, size_t len, char *host,
		   size_t hostlen, unsigned *port)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *ans;
	const ldns_rr *best = NULL;
	unsigned bp = 0, bw = 0;
	char *t;
	int rc = -ENOENT;

	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
		return -EBADMSG;
	ans = ldns_pkt_answer(pkt);
	for (size_t i = 0; ans != NULL && i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);
		unsigned p, w;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SRV)
			continue;
		if (ldns_rr_rd_count(rr) != 4 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 2 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 1)) != 2 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) != 2 ||
		    ldns_rdf_get_type(ldns_rr_rdf(rr, 3)) != LDNS_RDF_TYPE_DNAME) {
			rc = -EBADMSG;
			goto out;
		}
		p = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		w = ldns_rdf2native_int16(ldns_rr_rdf(rr, 1));
		if (best == NULL || p < bp || (p == bp && w > bw)) {
			best = rr;
			bp = p;
			bw = w;
		}
	}
	if (best == NULL)
		goto out;
	*port = ldns_rdf2native_int16(ldns_rr_rdf(best, 2));
	t = ldns_rdf2str(ldns_rr_rdf(best, 3));
	if (t == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (t[0] != '.' && t[0] != '\0' && *port != 0 &&
	    strlen(t) < hostlen) {
		snprintf(host, hostlen, "%s", t);
		if (host[strlen(host) - 1] == '.')
			host[strlen(host) - 1] = '\0';
		rc = 0;
	}
	free(t);
out:
	ldns_pkt_free(pkt);
	return rc;
}

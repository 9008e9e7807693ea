/* validate_gdir -- the valexp predicates G and g (doc/validation.md).
 *
 * Two steps, each asked by the caller: first the SRV lookup of
 * _ldap._tcp.<domain> (-EINPROGRESS with in->gdir_srv_name), then the
 * directory itself (-EINPROGRESS with in->gdir_query, gdir.c).
 *
 *                       G   g
 *   certificate found   1   1
 *   another one there   0   0
 *   user not found      0   1   (also: a DNSSEC-secure "no directory")
 *   unavailable         0   0   (insecure/bogus SRV, no answer, errors)
 */
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnssec.h"
#include "gdir.h"

int validate_gdir(const struct validate_input *in,
		  const gnutls_datum_t *chain, unsigned n, int relaxed,
		  char *proven, size_t provenlen, char *why, size_t whylen)
{
	const char *id = in->remoteid;
	const struct gdir_result *r = in->gdir;
	struct gdir_result here;
	struct gdir_query scratch, *q = in->gdir_query ? in->gdir_query
						       : &scratch;
	char name[DNSSEC_NAME_MAX];
	int rc;

	if (n == 0)
		return snprintf(why, whylen, "no certificate"), 0;
	if (gdir_srv_name(id, name, sizeof(name)) < 0) {
		snprintf(why, whylen, "\"%s\" is no user@domain", id);
		return 0;
	}
	if (r == NULL && in->gdir_srv == NULL) {
		if (in->gdir_srv_name == NULL) {
			snprintf(why, whylen, "the directory cannot be asked "
				 "here");
			return 0;
		}
		snprintf(in->gdir_srv_name, DNSSEC_NAME_MAX, "%s", name);
		snprintf(why, whylen, "waiting for SRV %s", name);
		return -EINPROGRESS;
	}
	if (r == NULL) {
		rc = gdir_prepare(id, in->gdir_srv, &chain[0], NULL, q, &here);
		if (rc > 0 && in->gdir_query != NULL) {
			snprintf(why, whylen, "asking the directory %s",
				 in->gdir_query->host);
			return -EINPROGRESS;
		}
		if (rc > 0) {
			gdir_query_clear(&scratch);
			here.verdict = GDIR_UNAVAILABLE;
			snprintf(here.why, sizeof(here.why), "the directory "
				 "cannot be asked here");
		}
		r = &here;
	}
	snprintf(why, whylen, "%s", r->why);
	switch (r->verdict) {
	case GDIR_MATCH:
		snprintf(proven, provenlen, "%s", id);
		return 1;
	case GDIR_NOT_FOUND:
		return relaxed;
	default:
		return 0;
	}
}

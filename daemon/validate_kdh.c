/* validate_kdh -- the validation predicates for a TLS-KDH peer
 * (doc/kdh.md, doc/validation.md).
 *
 * A Kerberos peer has no certificate; what its ticket proves:
 *   I  the peer's mapped principal is the requested remote identity (or
 *      none was requested: then it is proven as is); i also accepts a
 *      host principal for user@host (the domain represents the user).
 *   U  the mapped principal is a user (user@domain) and the requested one.
 *   T t the KDC of a realm in kerberos_realm_map issued the ticket; every
 *      accepted KDH peer passed that check in the handshake, it is
 *      evaluated again here from the principal's realm.
 *   E e P p R r O o L l  refer to certificates and keys: false, with the
 *      reason "TLS-KDH peer: no certificate".
 *   F f Q q S s C c  concern the session: evaluated as for any peer.
 *   K  holds for a KDH peer (the ticket); see validate_kdh_k.
 */
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *domain_of(const char *id)
{
	const char *at = strrchr(id, '@');

	return at ? at + 1 : id;
}

static void prove(char *proven, size_t len, const char *id)
{
	if (proven[0] == '\0')
		snprintf(proven, len, "%s", id);
}

int validate_kdh(const struct validate_input *in, char letter, char *proven,
		 size_t provenlen, char *why, size_t len)
{
	const char *peer = in->kdh_peer, *want = in->remoteid;

	switch (letter) {
	case 'I':
	case 'i':
		if (want[0] == '\0' || strcmp(want, peer) == 0 ||
		    (letter == 'i' && strchr(peer, '@') == NULL &&
		     strcmp(domain_of(want), peer) == 0)) {
			prove(proven, provenlen, want[0] ? want : peer);
			return 1;
		}
		snprintf(why, len, "Kerberos principal %s is %s, not %s",
			 in->kdh_principal, peer, want);
		return 0;
	case 'U':
		if (strchr(peer, '@') != NULL &&
		    (want[0] == '\0' || strcmp(want, peer) == 0)) {
			prove(proven, provenlen, peer);
			return 1;
		}
		snprintf(why, len, "Kerberos principal %s is not the user %s",
			 in->kdh_principal, want[0] ? want : "(any)");
		return 0;
	case 'T':
	case 't':
		if (in->kdh_realm_trusted)
			return 1;
		snprintf(why, len, "the realm of %s is not in "
			 "kerberos_realm_map", in->kdh_principal);
		return 0;
	case 'E': case 'e': case 'P': case 'p': case 'R': case 'r':
	case 'O': case 'o': case 'L': case 'l':
		snprintf(why, len, "TLS-KDH peer %s: no certificate for %c",
			 in->kdh_principal, letter);
		return 0;
	default:
		return VALIDATE_KDH_GENERIC;
	}
}

/* K.  A KDH peer: its ticket proved it (realm in the map).  A
 * certificate peer: the channel-bound Kerberos exchange must have run
 * and succeeded; its mapped principal must be the requested remote
 * identity when the peer is a client and one was requested (a server
 * peer proved the service key of the requested host by construction). */
int validate_kdh_k(const struct validate_input *in, char *proven,
		   size_t provenlen, char *why, size_t len)
{
	const struct validate_kbind *b = in->kbind;

	if (in->kdh_peer != NULL) {
		if (!in->kdh_realm_trusted) {
			snprintf(why, len, "the realm of %s is not in "
				 "kerberos_realm_map", in->kdh_principal);
			return 0;
		}
		prove(proven, provenlen, in->kdh_peer);
		return 1;
	}
	if (b == NULL) {
		if (in->kbind_wanted == NULL) {
			snprintf(why, len, "the Kerberos exchange cannot run "
				 "here");
			return 0;
		}
		*in->kbind_wanted = 1;
		snprintf(why, len, "waiting for the Kerberos exchange");
		return -EINPROGRESS;
	}
	if (!b->ok) {
		snprintf(why, len, "%s", b->why);
		return 0;
	}
	if (in->server && in->remoteid[0] != '\0' &&
	    strcmp(in->remoteid, b->id) != 0) {
		snprintf(why, len, "Kerberos principal %s is %s, not %s",
			 b->principal, b->id, in->remoteid);
		return 0;
	}
	prove(proven, provenlen, b->id);
	return 1;
}

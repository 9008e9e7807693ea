/* psign -- the canonical form of a policy entry and its Ed25519
 * signature (doc/ldap-policy.md, "Signatures").  Crank signs with
 * psign_sign; pulley (and shaft) check with psign_verify. */
#ifndef TP_PSIGN_H
#define TP_PSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "pscript.h"

#define PSIGN_DOMAIN "tlspool-ldap-entry-v1"
#define PSIGN_SIG_ATTR "tlspoolsignature"

/* The canonical bytes of an entry's signed attributes (malloc'ed).
 * 0, -EBADMSG with why (an attribute given twice), or -ENOMEM. */
int psign_canon(const struct pscript_attr *attrs, size_t nattrs,
		uint8_t **out, size_t *outlen, char *why, size_t whylen);

/* 0 when the entry carries exactly one tlsPoolSignature value that
 * verifies against pk; -EBADMSG with why otherwise; -ENOMEM. */
int psign_verify(const struct pscript_attr *attrs, size_t nattrs,
		 const uint8_t pk[32], char *why, size_t whylen);

/* Detached signature over the canonical form (tlsPoolSignature itself
 * is left out, whether present or not).  sk: libsodium's 64-byte
 * Ed25519 secret key.  0, -EBADMSG or -ENOMEM. */
int psign_sign(const struct pscript_attr *attrs, size_t nattrs,
	       const uint8_t sk[64], uint8_t sig[64]);

#endif

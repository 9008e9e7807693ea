/* ctl_rawpk -- tlspool-ctl rawpk: raw public key identities (RFC 7250).
 *
 *   rawpk generate ID (--key FILE | --pkcs11 TOKEN-URI [--label L])
 *                  [--algo ed25519|ecdsa|rsa] [--role R] [--uids N,...]
 *   rawpk import ID (--key FILE | --pkcs11 KEY-URI) [--role R] [--uids N,...]
 *   rawpk pin (ID | --file FILE.pem)
 *
 * generate and import store a localid.db record of kind rawpk (the
 * SubjectPublicKeyInfo and the key reference) and print the pin; pin
 * prints "sha256 HEX" and "tlsa 3 1 1 HEX" for the key of a stored
 * identity or of a PEM public key or certificate.  Parsing
 * (ctl_rawpk_parse) checks syntax and values only; building reads and
 * writes the key files and the token.
 */
#ifndef TP_CTL_RAWPK_H
#define TP_CTL_RAWPK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl.h"

enum ctl_rawpk_op { CTL_RAWPK_GENERATE, CTL_RAWPK_IMPORT, CTL_RAWPK_PIN };
enum ctl_rawpk_algo { CTL_RAWPK_ED25519, CTL_RAWPK_ECDSA, CTL_RAWPK_RSA };

struct ctl_rawpk_cmd {
	enum ctl_rawpk_op op;
	char id[CTL_NAMELEN];		/* "" with pin --file */
	const char *keyfile, *pkcs11, *label, *file;
	enum ctl_rawpk_algo algo;
	unsigned roles;			/* POLREC_ROLE_*; 0: both */
	uint32_t uids[POLREC_UIDS_MAX];
	size_t nuids;
};

/* argv after "rawpk".  0, or -EINVAL with the message in err. */
int ctl_rawpk_parse(int argc, char **argv, struct ctl_rawpk_cmd *c,
		    char *err, size_t errlen);
void ctl_rawpk_usage(FILE *out);

/* generate / import: make or read the key, append the localid record
 * to acts and put the key's SPKI (DER, malloc'ed) in *spki, *spkilen.
 * 0 or -errno with err. */
int ctl_rawpk_build(const struct ctl_rawpk_cmd *c, struct ctl_actions *acts,
		    uint8_t **spki, size_t *spkilen, char *err, size_t errlen);
/* The SPKI of a PEM public key or certificate file (malloc'ed).  0 or
 * -errno with err. */
int ctl_rawpk_file_spki(const char *path, uint8_t **spki, size_t *spkilen,
			char *err, size_t errlen);
/* trust add-pin / revoke with a file: when path is a PEM public key,
 * its pin in hex and 1; 0 when it holds no public key block (a
 * certificate file); -errno with err. */
int ctl_rawpk_file_pin(const char *path, char hex[65], char *err,
		       size_t errlen);
/* The SPKI of the stored rawpk identity id (malloc'ed).  0, -ENOENT or
 * -errno with err. */
int ctl_rawpk_db_spki(struct policydb *db, const char *id, uint8_t **spki,
		      size_t *spkilen, char *err, size_t errlen);
/* Print "sha256 HEX" and "tlsa 3 1 1 HEX".  0 or -EINVAL. */
int ctl_rawpk_print_pin(FILE *out, const uint8_t *spki, size_t len);

#endif

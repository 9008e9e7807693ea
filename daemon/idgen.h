/* idgen -- first-start local CA and host identity for embedded defaults.
 *
 * In state_dir: ca.pem + ca.key (ECDSA P-256, 10 years); in localid_dir:
 * <hostname>.pem (leaf + CA) + <hostname>.key, SAN dNSName hostname and
 * "localhost", usable for TLS server and client auth, 1 year.  Keys are
 * written 0600 through a temp file and rename.  Existing files are kept.
 */
#ifndef TP_IDGEN_H
#define TP_IDGEN_H

#include <stddef.h>
#include <gnutls/x509.h>

/* 0 or -errno with a message in err. */
int idgen_ensure(const char *state_dir, const char *localid_dir,
		 const char *hostname, char *err, size_t errlen);

/* Issue <name>.pem/.key in localid_dir signed by the CA in state_dir
 * (used for extra identities in tests and tools).  0 or -errno. */
int idgen_issue(const char *state_dir, const char *localid_dir,
		const char *name, char *err, size_t errlen);

/* Is name usable for a certificate: letters, digits, . - _ + and at
 * most one @ (user@domain), 1..127 bytes, no leading dot? */
int idgen_name_ok(const char *name);

/* Read a PEM certificate into *crt (the caller deinits it).  0 or a
 * GnuTLS error code; *crt is NULL on failure. */
int idgen_crt_load(const char *path, gnutls_x509_crt_t *crt);

#endif

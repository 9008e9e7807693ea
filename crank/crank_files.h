/* crank_files -- read and check the files a policy source names that
 * only crank reads: keytabs, and the warnings about a leaf certificate.
 * Certificates, keys and CRLs are credfile's (lib/credfile.h).  Messages
 * go to err and name the file. */
#ifndef CRANK_FILES_H
#define CRANK_FILES_H

#include <stddef.h>

#include <gnutls/x509.h>

/* A keytab that MIT krb5 reads and that holds at least one key. */
int crank_files_keytab(const char *path, char *err, size_t errlen);
/* Warnings about a leaf for identity id: validity, name.  Writes
 * up to two messages (empty when none) into w1, w2. */
void crank_files_leaf_warnings(gnutls_x509_crt_t leaf, const char *id,
			       char *w1, char *w2, size_t len);

#endif

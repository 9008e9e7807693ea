/* crank_files: keytab files and leaf warnings (see the header). */
#include "crank_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <krb5.h>

#include "credfile.h"

int crank_files_keytab(const char *path, char *err, size_t errlen)
{
	krb5_context ctx = NULL;
	krb5_keytab kt = NULL;
	krb5_kt_cursor cur;
	krb5_keytab_entry ent;
	char name[4200];
	krb5_error_code kr;
	FILE *f = fopen(path, "rb");
	int rc = 0, started = 0;

	if (f == NULL)
		return credfile_fail(err, errlen, -errno, "%s: cannot read: %s", path,
			    strerror(errno));
	fclose(f);
	snprintf(name, sizeof(name), "FILE:%s", path);
	kr = krb5_init_context(&ctx);
	if (kr != 0)
		return credfile_fail(err, errlen, -EIO, "krb5: cannot initialise: %d", kr);
	kr = krb5_kt_resolve(ctx, name, &kt);
	if (kr == 0 && (kr = krb5_kt_start_seq_get(ctx, kt, &cur)) == 0)
		started = 1;
	if (kr == 0)
		kr = krb5_kt_next_entry(ctx, kt, &ent, &cur);
	if (kr == 0)
		krb5_free_keytab_entry_contents(ctx, &ent);
	if (kr != 0) {
		const char *msg = krb5_get_error_message(ctx, kr);

		rc = credfile_fail(err, errlen, -EINVAL,
				   "%s: not a keytab with a key: %s", path, kr == KRB5_KT_END ? "no entries" : msg);
		krb5_free_error_message(ctx, msg);
	}
	if (started)
		krb5_kt_end_seq_get(ctx, kt, &cur);
	if (kt != NULL)
		krb5_kt_close(ctx, kt);
	krb5_free_context(ctx);
	return rc;
}

void crank_files_leaf_warnings(gnutls_x509_crt_t leaf, const char *id,
			       char *w1, char *w2, size_t len)
{
	time_t now = time(NULL);
	time_t nb = gnutls_x509_crt_get_activation_time(leaf);
	time_t na = gnutls_x509_crt_get_expiration_time(leaf);
	const char *at = strchr(id, '@');
	int ok;

	w1[0] = w2[0] = '\0';
	if (nb != (time_t)-1 && now < nb)
		snprintf(w1, len, "the certificate is not valid yet");
	else if (na != (time_t)-1 && now > na)
		snprintf(w1, len, "the certificate has expired");
	ok = at != NULL ? gnutls_x509_crt_check_email(leaf, id, 0) ||
			  gnutls_x509_crt_check_hostname2(leaf, at + 1, 0)
			: gnutls_x509_crt_check_hostname2(leaf, id, 0);
	if (!ok)
		snprintf(w2, len, "the certificate does not name %s", id);
}

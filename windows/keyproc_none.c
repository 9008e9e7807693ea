/* keyproc_none -- the Windows build without a key process: private keys
 * are never loaded into this network-facing process, so every key load
 * fails with the reason and the daemon serves the client role only
 * (server-role STARTTLS finds no credential; the load failure names
 * why).  Replaces keyproc.c, keyproc_key.c, keyproc_server.c,
 * keyproc_pin.c and keyproc_ca.c (doc/windows.md). */
#include "keyproc.h"

#include <errno.h>
#include <stdio.h>

#include "tplog.h"

#define NO_KEYS "the Windows build has no key process yet: private keys " \
	"are not loaded (server role and client certificates unavailable)"

int keyproc_start(const struct keyproc_opts *o)
{
	(void)o;
	tplog(LOG_NOTICE, NO_KEYS);
	return 0;
}

void keyproc_stop(void)
{
}

int keyproc_available(void)
{
	return 0;
}

int keyproc_privkey_file(const char *name, const char *path,
			 gnutls_privkey_t *out)
{
	(void)name;
	(void)path;
	*out = NULL;
	return KEYPROC_E_UNAVAILABLE;
}

int keyproc_privkey_url(const char *name, const char *uri, const char *pin,
			gnutls_privkey_t *out)
{
	(void)name;
	(void)uri;
	(void)pin;
	*out = NULL;
	return KEYPROC_E_UNAVAILABLE;
}

void keyproc_set_pin_source(keyproc_pin_source fn)
{
	(void)fn;
}

int keyproc_has_pin_source(void)
{
	return 0;
}

unsigned keyproc_generation(void)
{
	return 1;
}

int keyproc_ca_setup(const char *cert, const char *key,
		     struct keyproc_ca *out)
{
	(void)cert;
	(void)key;
	(void)out;
	return KEYPROC_E_UNAVAILABLE;
}

int keyproc_ca_issue(const char *name, unsigned lifetime_s,
		     gnutls_datum_t *der)
{
	(void)name;
	(void)lifetime_s;
	der->data = NULL;
	der->size = 0;
	return KEYPROC_E_UNAVAILABLE;
}

int keyproc_ca_leaf_key(const struct keyproc_ca *ca, gnutls_privkey_t *out)
{
	(void)ca;
	*out = NULL;
	return KEYPROC_E_UNAVAILABLE;
}

const char *keyproc_strerror(int rc)
{
	return rc == KEYPROC_E_UNAVAILABLE ? NO_KEYS : gnutls_strerror(rc);
}

int keyproc_idgen(const char *state_dir, const char *localid_dir,
		  const char *host, char *err, size_t errlen)
{
	(void)state_dir;
	(void)localid_dir;
	(void)host;
	snprintf(err, errlen, "generate_identity: %s", NO_KEYS);
	return -ENOTSUP;
}

/* kdh_none -- TLS-KDH in the Windows build: not available (MIT krb5's
 * Windows build needs MSVC).  A rule that needs Kerberos credentials is
 * refused with the reason; one that also allows X.509 goes on with
 * certificates, as on Linux when no ticket can be had; K evaluates false.
 * Replaces kdh_krb5.c, session_kdh.c and session_kdh_bind.c; kdh_map.c
 * (config parsing) and validate_kdh.c stay (doc/windows.md). */
#include <errno.h>
#include <stdio.h>

#include <gnutls/gnutls.h>

#include "dconfig.h"
#include "polrec.h"
#include "polsel.h"
#include "session_int.h"
#include "tplog.h"
#include "validate.h"

#define NO_KDH "TLS-KDH (Kerberos) is not available in the Windows build"

static const struct validate_kbind no_kbind = { .ok = 0, .why = NO_KDH };

static int rule_wants_krb5(const struct session *s)
{
	return s->decision != NULL && s->decision->have_record &&
	       (s->decision->pol.kinds &
		POLREC_KIND_BIT(POLREC_CRED_KRB5)) != 0;
}

static int rule_allows_x509(const struct session *s)
{
	return s->decision->pol.kinds == 0 ||
	       (s->decision->pol.kinds & POLREC_KIND_BIT(POLREC_CRED_X509));
}

void session_kdh_set_config(const struct dconfig *cfg)
{
	if (cfg->kerberos_server_keytab != NULL ||
	    cfg->kerberos_client_credcache != NULL)
		tplog(LOG_WARNING, "kerberos_* settings ignored: " NO_KDH);
}

int session_kdh_client_prepare(struct session *s)
{
	if (!rule_wants_krb5(s) || rule_allows_x509(s))
		return 0;
	session_fail(s, ENOTSUP, "rule %s needs Kerberos credentials: "
		     NO_KDH, s->decision->rule);
	return -1;
}

int session_kdh_setup(struct session *s)
{
	if (!rule_wants_krb5(s) || rule_allows_x509(s))
		return 0;
	snprintf(s->why, sizeof(s->why), "rule %s needs Kerberos "
		 "credentials: " NO_KDH, s->decision->rule);
	return GNUTLS_E_INSUFFICIENT_CREDENTIALS;
}

int session_kdh_used(const struct session *s)
{
	(void)s;
	return 0;
}

const char *session_kdh_peer(const struct session *s)
{
	(void)s;
	return NULL;
}

const char *session_kdh_local(const struct session *s)
{
	(void)s;
	return NULL;
}

const char *session_kdh_principal(const struct session *s)
{
	(void)s;
	return NULL;
}

int session_kdh_realm_trusted(const struct session *s)
{
	(void)s;
	return 0;
}

/* Only called with s->kdh set, which this build never does. */
int session_kdh_check(struct session *s, char *why, size_t whylen)
{
	(void)s;
	snprintf(why, whylen, NO_KDH);
	return -EACCES;
}

int session_kdh_default(struct session *s, char *why, size_t whylen)
{
	(void)s;
	snprintf(why, whylen, NO_KDH);
	return -EACCES;
}

void session_kdh_free(struct session *s)
{
	(void)s;
}

/* K after a certificate handshake: the outcome is known at once. */
int session_kbind_start(struct session *s)
{
	(void)s;
	return 1;
}

void session_kbind_step(struct session *s)
{
	(void)s;
}

const struct validate_kbind *session_kbind_result(const struct session *s)
{
	(void)s;
	return &no_kbind;
}

void session_kbind_free(struct session *s)
{
	(void)s;
}

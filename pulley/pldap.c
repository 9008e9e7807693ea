/* pldap -- pulley's LDAP connection, TLS and bind. */
#include "pldap.h"

#include <errno.h>
#include <sasl/sasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PW_MAX 1024

static int set_opt(LDAP *ld, int opt, const void *v, const char *what,
		   char *err, size_t errlen)
{
	int rc = ldap_set_option(ld, opt, v);

	if (rc != LDAP_OPT_SUCCESS) {
		snprintf(err, errlen, "setting %s: %s", what,
			 ldap_err2string(rc));
		return -EINVAL;
	}
	return 0;
}

static int setup_tls(const struct pconf *c, LDAP *ld, char *err,
		     size_t errlen)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;

	rc = set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand,
		     "certificate verification", err, errlen);
	if (rc == 0 && c->tls_cacert != NULL)
		rc = set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE, c->tls_cacert,
			     "tls_cacert", err, errlen);
	if (rc == 0 && c->tls_cert != NULL)
		rc = set_opt(ld, LDAP_OPT_X_TLS_CERTFILE, c->tls_cert,
			     "tls_cert", err, errlen);
	if (rc == 0 && c->tls_key != NULL)
		rc = set_opt(ld, LDAP_OPT_X_TLS_KEYFILE, c->tls_key,
			     "tls_key", err, errlen);
	if (rc == 0)
		rc = set_opt(ld, LDAP_OPT_X_TLS_NEWCTX, &zero, "TLS context",
			     err, errlen);
	return rc;
}

/* The secret is the first line of the file; it is wiped after use. */
static int read_password(const char *path, char *pw, size_t cap, char *err,
			 size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "bind_password_file %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	if (fgets(pw, (int)cap, f) == NULL) {
		fclose(f);
		snprintf(err, errlen, "bind_password_file %s: empty", path);
		return -EINVAL;
	}
	fclose(f);
	n = strcspn(pw, "\r\n");
	pw[n] = 0;
	return 0;
}

struct sasl_defs {
	const char *authzid;
};

static int interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
	struct sasl_defs *d = defaults;
	sasl_interact_t *i;

	(void)ld;
	(void)flags;
	for (i = in; i->id != SASL_CB_LIST_END; i++) {
		const char *v = "";

		if (i->id == SASL_CB_USER && d->authzid != NULL)
			v = d->authzid;
		else if (i->defresult != NULL)
			v = i->defresult;
		i->result = v;
		i->len = (unsigned)strlen(v);
	}
	return LDAP_SUCCESS;
}

static int do_bind(const struct pconf *c, LDAP *ld, char *err,
		   size_t errlen)
{
	struct berval cred;
	struct sasl_defs d = { c->sasl_authzid };
	char pw[PW_MAX];
	int rc;

	switch (c->bind) {
	case PCONF_BIND_NONE:
		return 0;
	case PCONF_BIND_SIMPLE:
		rc = read_password(c->bind_password_file, pw, sizeof(pw), err,
				   errlen);
		if (rc < 0)
			return rc;
		cred.bv_val = pw;
		cred.bv_len = strlen(pw);
		rc = ldap_sasl_bind_s(ld, c->bind_dn, LDAP_SASL_SIMPLE, &cred,
				      NULL, NULL, NULL);
		explicit_bzero(pw, sizeof(pw));
		break;
	case PCONF_BIND_SASL:
		rc = ldap_sasl_interactive_bind_s(ld, NULL, c->sasl_mech, NULL,
						  NULL, LDAP_SASL_QUIET,
						  interact, &d);
		break;
	default:
		rc = LDAP_PARAM_ERROR;
	}
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "bind (%s) to %s: %s%s",
			 c->bind == PCONF_BIND_SASL ? c->sasl_mech : "simple",
			 c->ldap_uri, ldap_err2string(rc),
			 rc == LDAP_SERVER_DOWN && c->tls == PCONF_TLS_LDAPS ?
			 " (ldaps: no connection or the TLS handshake failed: "
			 "server certificate not trusted, or not for this "
			 "host name)" : "");
		return -EACCES;
	}
	return 0;
}

int pldap_connect(const struct pconf *c, LDAP **out, char *err,
		  size_t errlen)
{
	struct timeval tv = { 10, 0 };
	int v3 = LDAP_VERSION3, rc;
	LDAP *ld = NULL;

	rc = ldap_initialize(&ld, c->ldap_uri);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "%s: %s", c->ldap_uri,
			 ldap_err2string(rc));
		return -EINVAL;
	}
	rc = set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &v3, "LDAPv3", err,
		     errlen);
	if (rc == 0)
		rc = set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv,
			     "network timeout", err, errlen);
	if (rc == 0)
		rc = set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals",
			     err, errlen);
	if (rc == 0 && c->tls != PCONF_TLS_NONE)
		rc = setup_tls(c, ld, err, errlen);
	if (rc < 0)
		goto fail;
	if (c->tls == PCONF_TLS_STARTTLS) {
		int lrc = ldap_start_tls_s(ld, NULL, NULL);

		if (lrc != LDAP_SUCCESS) {
			char *diag = NULL;

			ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
			snprintf(err, errlen, "StartTLS with %s: %s%s%s%s",
				 c->ldap_uri, ldap_err2string(lrc),
				 diag ? ": " : "", diag ? diag : "",
				 lrc == LDAP_CONNECT_ERROR ?
				 " (TLS handshake failed: server certificate "
				 "not trusted, or not for this host name)" :
				 "");
			ldap_memfree(diag);
			rc = lrc == LDAP_SERVER_DOWN ? -ECONNREFUSED
						     : -EPROTO;
			goto fail;
		}
	}
	rc = do_bind(c, ld, err, errlen);
	if (rc < 0)
		goto fail;
	*out = ld;
	return 0;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc;
}

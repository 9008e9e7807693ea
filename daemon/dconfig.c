/* dconfig -- the daemon's configuration: file keys and embedded defaults. */
#include "dconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tlspool/commands.h>
#include <tlspool/starttls.h>

#include "dane.h"
#include "kdh_map.h"
#include "ocsp_fetch.h"
#include "paths.h"
#include "tpconfig.h"
#include "tplog.h"

#define DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

enum kind { K_STR, K_BOOL, K_UINT, K_MODE, K_LEVEL, K_FACIL, K_IGNORED,
	    K_OCSP_MS, K_KRB_MAP, K_DANE_PORTS };

struct key {
	const char *name;
	enum kind kind;
	size_t off;
};

#define OFF(f) offsetof(struct dconfig, f)

/* Anchor-compatible names where they apply.  K_IGNORED: keys the ARPA2
 * TLS Pool knows whose function is still to come here; they are accepted
 * with a warning so an old config keeps working. */
static const struct key keys[] = {
	{ "socket_name", K_STR, OFF(socket_name) },
	{ "socket_user", K_STR, OFF(socket_user) },
	{ "socket_group", K_STR, OFF(socket_group) },
	{ "socket_mode", K_MODE, OFF(socket_mode) },
	{ "daemon_user", K_STR, OFF(daemon_user) },
	{ "daemon_group", K_STR, OFF(daemon_group) },
	{ "daemon_pidfile", K_STR, OFF(pid_file) },
	{ "state_dir", K_STR, OFF(state_dir) },
	{ "dbenv_dir", K_STR, OFF(dbenv_dir) },
	{ "localid_dir", K_STR, OFF(localid_dir) },
	{ "trust_anchors", K_STR, OFF(trust_anchors) },
	{ "trust_system", K_BOOL, OFF(trust_system) },
	{ "default_localid", K_STR, OFF(default_localid) },
	{ "tls_priority", K_STR, OFF(tls_priority) },
	{ "dnssec_rootkey", K_STR, OFF(dnssec_rootkey) },
	{ "dnssec_config", K_STR, OFF(dnssec_config) },
	{ "dnssec_forwarder", K_STR, OFF(dnssec_forwarder) },
	{ "dane_service_ports", K_DANE_PORTS, OFF(dane_service_ports) },
	{ "pkcs11_pin", K_STR, OFF(pkcs11_pin) },
	{ "tls_onthefly_signcert", K_STR, OFF(tls_onthefly_signcert) },
	{ "tls_onthefly_signkey", K_STR, OFF(tls_onthefly_signkey) },
	{ "log_level", K_LEVEL, OFF(log_level) },
	{ "log_stderr", K_BOOL, OFF(log_stderr) },
	{ "allow_facilities", K_FACIL, 0 },
	{ "deny_facilities", K_FACIL, 1 },
	{ "workers", K_UINT, OFF(workers) },
	{ "handshake_timeout", K_UINT, OFF(handshake_timeout_ms) },
	{ "ocsp_timeout", K_OCSP_MS, OFF(ocsp_timeout_ms) },
	{ "generate_identity", K_BOOL, OFF(generate_identity) },
	{ "kerberos_server_keytab", K_STR, OFF(kerberos_server_keytab) },
	{ "kerberos_client_credcache", K_STR, OFF(kerberos_client_credcache) },
	{ "kerberos_realm_map", K_KRB_MAP, OFF(kerberos_realm_map) },
	{ "pkcs11_path", K_IGNORED, 0 },
	{ "pkcs11_token", K_IGNORED, 0 },
	{ "cache_dir", K_IGNORED, 0 },
};

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (s == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int parse_facilities(const char *v, uint32_t *out)
{
	char buf[256], *save = NULL;
	uint32_t f = 0;

	if (strlen(v) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	for (char *t = strtok_r(buf, " ,", &save); t != NULL;
	     t = strtok_r(NULL, " ,", &save)) {
		if (strcasecmp(t, "starttls") == 0)
			f |= PIOF_FACILITY_STARTTLS;
		else if (strcasecmp(t, "startgss") == 0)
			f |= PIOF_FACILITY_STARTGSS;
		else if (strcasecmp(t, "startssh") == 0)
			f |= PIOF_FACILITY_STARTSSH;
		else
			return -EINVAL;
	}
	*out = f;
	return 0;
}

static int parse_uint(const char *v, unsigned base, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, base);
	if (errno != 0 || *end != '\0' || end == v || n > UINT_MAX ||
	    v[0] == '-')
		return -EINVAL;
	*out = (unsigned)n;
	return 0;
}

static int apply_key(struct dconfig *c, const struct key *k, const char *v,
		     uint32_t facil[2])
{
	void *p = (char *)c + k->off;

	switch (k->kind) {
	case K_STR:
		return set_str(p, v);
	case K_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
		    strcmp(v, "1") == 0)
			*(int *)p = 1;
		else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
			 strcmp(v, "0") == 0)
			*(int *)p = 0;
		else
			return -EINVAL;
		return 0;
	case K_UINT:
		return parse_uint(v, 10, p);
	case K_MODE:
		if (parse_uint(v, 8, p) < 0 || *(unsigned *)p > 0777)
			return -EINVAL;
		return 0;
	case K_LEVEL:
		*(int *)p = tplog_parse_level(v);
		return *(int *)p < 0 ? -EINVAL : 0;
	case K_FACIL:
		return parse_facilities(v, &facil[k->off]);
	case K_IGNORED:
		return 0;
	case K_OCSP_MS:		/* milliseconds, 1..OCSP_TIMEOUT_MAX_MS */
		if (parse_uint(v, 10, p) < 0 || *(unsigned *)p == 0 ||
		    *(unsigned *)p > OCSP_TIMEOUT_MAX_MS)
			return -EINVAL;
		return 0;
	case K_KRB_MAP: {	/* checked here, parsed again per session */
		struct kdh_map m;
		char why[128];

		if (kdh_map_parse(v, &m, why, sizeof(why)) < 0) {
			tplog(LOG_ERR, "kerberos_realm_map: %s", why);
			return -EINVAL;
		}
		return set_str(p, v);
	}
	case K_DANE_PORTS: {	/* checked here, looked up per session */
		char why[128];

		if (dane_service_port(v, NULL, why, sizeof(why)) < 0) {
			tplog(LOG_ERR, "dane_service_ports: %s", why);
			return -EINVAL;
		}
		return set_str(p, v);
	}
	}
	return -EINVAL;
}

static int path_join(char **dst, const char *dir, const char *leaf)
{
	char buf[PATH_MAX];
	int n = snprintf(buf, sizeof(buf), "%s/%s", dir, leaf);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	return set_str(dst, buf);
}

/* Fill what the file left unset with the embedded defaults. */
static int fill_defaults(struct dconfig *c, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	int rc = 0;

	if (c->socket_name == NULL) {
		rc = paths_default_socket(buf, sizeof(buf));
		if (rc == 0)
			rc = set_str(&c->socket_name, buf);
	}
	if (rc == 0 && c->pid_file == NULL) {
		rc = paths_default_pidfile(buf, sizeof(buf));
		if (rc == 0)
			rc = set_str(&c->pid_file, buf);
	}
	if (rc == 0 && c->state_dir == NULL) {
		rc = paths_state_dir(buf, sizeof(buf));
		if (rc == 0)
			rc = set_str(&c->state_dir, buf);
	}
	if (rc == 0 && c->localid_dir == NULL)
		rc = path_join(&c->localid_dir, c->state_dir, "localid");
	/* tlspool-ctl finds the same place from the same config. */
	if (rc == 0 && c->dbenv_dir == NULL)
		rc = path_join(&c->dbenv_dir, c->state_dir, "db");
	if (rc == 0 && c->trust_anchors == NULL && c->generate_identity)
		rc = path_join(&c->trust_anchors, c->state_dir, "ca.pem");
	if (rc == 0 && c->tls_priority == NULL)
		rc = set_str(&c->tls_priority, DEFAULT_PRIORITY);
	if (rc < 0)
		snprintf(err, errlen, "cannot determine default paths: %s",
			 strerror(-rc));
	return rc;
}

static int apply_file(struct dconfig *c, const struct tpconfig *tc,
		      char *err, size_t errlen)
{
	uint32_t facil[2] = { PIOF_FACILITY_ALL_CURRENT, 0 };

	for (size_t i = 0; i < tc->count; i++) {
		const struct tpconfig_entry *e = &tc->entries[i];
		const struct key *k = NULL;
		int rc;

		for (size_t j = 0; j < sizeof(keys) / sizeof(keys[0]); j++)
			if (strcmp(keys[j].name, e->key) == 0)
				k = &keys[j];
		if (k == NULL) {
			snprintf(err, errlen, "%s:%u: unknown key %s", tc->path,
				 e->line, e->key);
			return -EINVAL;
		}
		rc = apply_key(c, k, e->value, facil);
		if (rc < 0) {
			snprintf(err, errlen, "%s:%u: bad value for %s: %s",
				 tc->path, e->line, e->key, e->value);
			return rc;
		}
		if (k->kind == K_IGNORED)
			tplog(LOG_WARNING, "%s:%u: %s is not used by this daemon",
			      tc->path, e->line, e->key);
	}
	c->facilities = facil[0] & ~facil[1] & PIOF_FACILITY_ALL_CURRENT;
	return 0;
}

int dconfig_load(struct dconfig *c, const char *path, char *err,
		 size_t errlen)
{
	struct tpconfig tc;
	int rc;

	memset(c, 0, sizeof(*c));
	c->socket_mode = 0666;
	c->trust_system = 1;
	c->log_level = LOG_NOTICE;
	c->facilities = PIOF_FACILITY_ALL_CURRENT;
	c->handshake_timeout_ms = 30000;
	c->ocsp_timeout_ms = OCSP_TIMEOUT_DEFAULT_MS;
	c->generate_identity = (path == NULL);
	if (path != NULL) {
		rc = set_str(&c->config_file, path);
		if (rc < 0)
			goto fail;
		rc = tpconfig_load(&tc, path, err, errlen);
		if (rc < 0)
			goto fail;
		rc = apply_file(c, &tc, err, errlen);
		tpconfig_free(&tc);
		if (rc < 0)
			goto fail;
	} else {
		/* One user on one machine: only the owner may connect. */
		c->socket_mode = 0600;
	}
	rc = fill_defaults(c, err, errlen);
	if (rc < 0)
		goto fail;
	if ((c->tls_onthefly_signcert == NULL) !=
	    (c->tls_onthefly_signkey == NULL)) {
		snprintf(err, errlen, "%s: tls_onthefly_signcert and "
			 "tls_onthefly_signkey go together", path);
		rc = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	dconfig_free(c);
	return rc;
}

void dconfig_free(struct dconfig *c)
{
	char **strs[] = { &c->config_file, &c->socket_name, &c->socket_user,
			  &c->socket_group, &c->daemon_user, &c->daemon_group,
			  &c->pid_file, &c->state_dir, &c->dbenv_dir,
			  &c->localid_dir, &c->trust_anchors,
			  &c->default_localid, &c->tls_priority,
			  &c->dnssec_rootkey, &c->dnssec_config,
			  &c->dnssec_forwarder, &c->dane_service_ports,
			  &c->pkcs11_pin,
			  &c->tls_onthefly_signcert, &c->tls_onthefly_signkey,
			  &c->kerberos_server_keytab,
			  &c->kerberos_client_credcache,
			  &c->kerberos_realm_map };

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

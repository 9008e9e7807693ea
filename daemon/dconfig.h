/* dconfig -- the daemon's configuration: file keys and embedded defaults. */
#ifndef TP_DCONFIG_H
#define TP_DCONFIG_H

#include <stddef.h>
#include <stdint.h>

struct dconfig {
	char *config_file;	/* NULL: embedded defaults */
	char *socket_name;
	char *socket_user;
	char *socket_group;
	unsigned socket_mode;
	char *daemon_user;
	char *daemon_group;
	char *pid_file;
	char *state_dir;	/* generated CA and identities */
	char *dbenv_dir;
	char *localid_dir;	/* <identity>.pem + .key / .p11 */
	char *trust_anchors;	/* PEM file or directory; NULL: none */
	int trust_system;	/* also trust the system store */
	char *default_localid;	/* server identity when nothing names one */
	char *tls_priority;	/* GnuTLS priority string */
	char *dnssec_rootkey;	/* DNSSEC trust anchor file (DANE) */
	char *dnssec_config;	/* libunbound config file, or NULL */
	char *dane_service_ports;	/* "service=port ..." (dane.h) */
	char *dnssec_forwarder;	/* "addr[@port]", or NULL: full recursion */
	char *pkcs11_pin;	/* PIN for PKCS#11 keys, or NULL */
	char *tls_onthefly_signcert;	/* LOCALID_ONTHEFLY CA (PEM), or NULL */
	char *tls_onthefly_signkey;	/* its key (PEM; key process only) */
	int log_level;
	int log_stderr;
	uint32_t facilities;	/* granted: allow & ~deny */
	unsigned workers;	/* 0: online cores */
	unsigned handshake_timeout_ms;
	unsigned ocsp_timeout_ms;	/* valexp O/o: asking the responder */
	int generate_identity;	/* create CA + host identity when missing */
	char *kerberos_server_keytab;	/* TLS-KDH server keytab, or NULL */
	char *kerberos_client_credcache; /* "%u": requester's uid; NULL: default */
	char *kerberos_realm_map;	/* "REALM=domain ..." (kdh_map.h) */
};

/* Load path (NULL: embedded defaults for the calling user).  Unknown keys
 * and bad values are errors with "file:line: reason" in err.
 * 0 or -errno. */
int dconfig_load(struct dconfig *c, const char *path, char *err,
		 size_t errlen);
void dconfig_free(struct dconfig *c);

#endif

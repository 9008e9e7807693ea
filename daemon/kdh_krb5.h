/* kdh_krb5 -- the Kerberos half of TLS-KDH, through MIT krb5.
 *
 * Client (kdh_krb5_client, BLOCKING: it may ask the KDC for a service
 * ticket; helper threads only): with the credentials cache ccache (NULL:
 * krb5's default), get a ticket for service/host@realm and make an
 * AP-REQ with a fresh random authenticator subkey (AP_OPTS_USE_SUBKEY,
 * always).  The AP-REQ bytes become the TLS PSK identity, kdh_kdf over
 * the subkey the PSK.
 *
 * Server (kdh_krb5_server; reads the keytab and writes krb5's replay
 * cache, never the network): krb5_rd_req with the keytab checks the
 * ticket (its key, its lifetime, the clock skew) and the authenticator
 * (replay cache: an AP-REQ is accepted once per replay cache).  Only
 * what the service key authenticates is used: the server principal the
 * key belongs to (must be service/host) and the ticket's encrypted part
 * (enc_part2: the client principal with its realm); the subkey must be
 * there.  Every refusal says why, with krb5's own message.
 *
 * Each call makes its own krb5_context (contexts are not shared between
 * threads).
 */
#ifndef TP_KDH_KRB5_H
#define TP_KDH_KRB5_H

#include <stddef.h>
#include <stdint.h>

#include "kdh_map.h"

#define KDH_PRINC_MAX 256

struct kdh_ticket {
	uint8_t *apreq;			/* malloc'ed AP-REQ (PSK identity) */
	size_t apreq_len;
	uint8_t psk[KDH_PSK_LEN];
	char client[DONAI_BUFSIZE];	/* the cache's principal, mapped */
	char client_princ[KDH_PRINC_MAX];
	char server_princ[KDH_PRINC_MAX];
};

struct kdh_accept {
	uint8_t psk[KDH_PSK_LEN];
	char client[DONAI_BUFSIZE];	/* enc_part2's client, mapped */
	char client_princ[KDH_PRINC_MAX];
	char server_princ[KDH_PRINC_MAX];
};

/* 0, or -EACCES / -ENOMEM with the reason in why.  t is zeroed first;
 * free with kdh_ticket_clear. */
int kdh_krb5_client(const char *ccache, const char *service, const char *host,
		    const char *realm, const struct kdh_map *m,
		    struct kdh_ticket *t, char *why, size_t whylen);
void kdh_ticket_clear(struct kdh_ticket *t);

/* keytab NULL: krb5's default.  0, or -EACCES with the reason. */
int kdh_krb5_server(const char *keytab, const uint8_t *apreq, size_t len,
		    const char *service, const char *host,
		    const struct kdh_map *m, struct kdh_accept *a, char *why,
		    size_t whylen);

#endif

/* kdh_krb5 -- AP-REQ out, AP-REQ in, through MIT krb5. */
#include "kdh_krb5.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <krb5.h>
#include <gnutls/gnutls.h>

/* "what: krb5's message" into why. */
static void kerr(krb5_context ctx, krb5_error_code code, const char *what,
		 char *why, size_t whylen)
{
	const char *msg = krb5_get_error_message(ctx, code);

	snprintf(why, whylen, "%s: %s", what, msg ? msg : "unknown error");
	krb5_free_error_message(ctx, msg);
}

static void unparse(krb5_context ctx, krb5_const_principal p, char *out,
		    size_t len)
{
	char *s = NULL;

	if (krb5_unparse_name(ctx, p, &s) == 0) {
		snprintf(out, len, "%s", s);
		krb5_free_unparsed_name(ctx, s);
	} else {
		snprintf(out, len, "?");
	}
}

/* The components and realm of p as C strings (no NUL inside). */
static int princ_map(krb5_const_principal p, const struct kdh_map *m,
		     char *out, size_t outlen, char *why, size_t whylen)
{
	char comp[2][DONAI_BUFSIZE], realm[KDH_REALM_MAX];
	const char *cp[2] = { comp[0], comp[1] };
	krb5_int32 n = p->length;

	if (n < 1 || n > 2) {
		snprintf(why, whylen, "principal with %d components is not "
			 "mapped", (int)n);
		return -EACCES;
	}
	for (krb5_int32 i = 0; i < n; i++) {
		const krb5_data *d = &p->data[i];

		if (d->length >= sizeof(comp[i]) ||
		    memchr(d->data, '\0', d->length) != NULL) {
			snprintf(why, whylen, "principal component too long "
				 "or with a NUL byte");
			return -EACCES;
		}
		memcpy(comp[i], d->data, d->length);
		comp[i][d->length] = '\0';
	}
	if (p->realm.length >= sizeof(realm) ||
	    memchr(p->realm.data, '\0', p->realm.length) != NULL) {
		snprintf(why, whylen, "realm name too long or with a NUL byte");
		return -EACCES;
	}
	memcpy(realm, p->realm.data, p->realm.length);
	realm[p->realm.length] = '\0';
	return kdh_map_principal(m, cp, (unsigned)n, realm, out, outlen, why,
				 whylen);
}

static int subkey_psk(krb5_context ctx, krb5_key k, uint8_t psk[KDH_PSK_LEN])
{
	krb5_keyblock *kb = NULL;
	int rc;

	if (krb5_k_key_keyblock(ctx, k, &kb) != 0)
		return -EIO;
	rc = kdh_kdf(kb->enctype, kb->contents, kb->length, psk);
	krb5_free_keyblock(ctx, kb);
	return rc;
}

void kdh_ticket_clear(struct kdh_ticket *t)
{
	free(t->apreq);
	gnutls_memset(t, 0, sizeof(*t));
}

int kdh_krb5_client(const char *ccache, const char *service, const char *host,
		    const char *realm, const struct kdh_map *m,
		    struct kdh_ticket *t, char *why, size_t whylen)
{
	krb5_context ctx = NULL;
	krb5_ccache cc = NULL;
	krb5_principal me = NULL, srv = NULL;
	krb5_creds in, *out = NULL;
	krb5_auth_context ac = NULL;
	krb5_data req = { 0 };
	krb5_key sub = NULL;
	krb5_error_code code;
	int rc = -EACCES;

	memset(t, 0, sizeof(*t));
	memset(&in, 0, sizeof(in));
	if (krb5_init_context(&ctx) != 0) {
		snprintf(why, whylen, "krb5: cannot make a context");
		return -ENOMEM;
	}
	code = ccache ? krb5_cc_resolve(ctx, ccache, &cc)
		      : krb5_cc_default(ctx, &cc);
	if (code != 0) {
		kerr(ctx, code, "credentials cache", why, whylen);
		goto out;
	}
	code = krb5_cc_get_principal(ctx, cc, &me);
	if (code != 0) {
		kerr(ctx, code, "credentials cache", why, whylen);
		goto out;
	}
	unparse(ctx, me, t->client_princ, sizeof(t->client_princ));
	if (princ_map(me, m, t->client, sizeof(t->client), why, whylen) < 0)
		goto out;
	code = krb5_build_principal(ctx, &srv, (unsigned)strlen(realm), realm,
				    service, host, (char *)NULL);
	if (code != 0) {
		kerr(ctx, code, "service principal", why, whylen);
		goto out;
	}
	unparse(ctx, srv, t->server_princ, sizeof(t->server_princ));
	in.client = me;
	in.server = srv;
	code = krb5_get_credentials(ctx, 0, cc, &in, &out);
	if (code != 0) {
		char what[KDH_PRINC_MAX + 32];

		snprintf(what, sizeof(what), "ticket for %s", t->server_princ);
		kerr(ctx, code, what, why, whylen);
		goto out;
	}
	code = krb5_auth_con_init(ctx, &ac);
	if (code == 0)
		code = krb5_mk_req_extended(ctx, &ac, AP_OPTS_USE_SUBKEY, NULL,
					    out, &req);
	if (code != 0) {
		kerr(ctx, code, "AP-REQ", why, whylen);
		goto out;
	}
	code = krb5_auth_con_getsendsubkey_k(ctx, ac, &sub);
	if (code != 0 || sub == NULL || subkey_psk(ctx, sub, t->psk) < 0) {
		snprintf(why, whylen, "AP-REQ: no usable subkey");
		goto out;
	}
	t->apreq = malloc(req.length);
	if (t->apreq == NULL) {
		snprintf(why, whylen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	memcpy(t->apreq, req.data, req.length);
	t->apreq_len = req.length;
	rc = 0;
out:
	if (rc < 0)
		kdh_ticket_clear(t);
	krb5_k_free_key(ctx, sub);
	krb5_free_data_contents(ctx, &req);
	if (ac != NULL)
		krb5_auth_con_free(ctx, ac);
	krb5_free_creds(ctx, out);
	krb5_free_principal(ctx, srv);
	krb5_free_principal(ctx, me);
	if (cc != NULL)
		krb5_cc_close(ctx, cc);
	krb5_free_context(ctx);
	return rc;
}

/* The key that decrypted the ticket belongs to ticket->server: it must
 * be service/host (any realm: the keytab's keys decide). */
static int check_server(krb5_const_principal p, const char *service,
			const char *host, const char *name, char *why,
			size_t whylen)
{
	if (p->length == 2 && p->data[0].length == strlen(service) &&
	    memcmp(p->data[0].data, service, p->data[0].length) == 0 &&
	    p->data[1].length == strlen(host) &&
	    strncasecmp(p->data[1].data, host, p->data[1].length) == 0)
		return 0;
	snprintf(why, whylen, "the ticket is for %s, not %s/%s", name, service,
		 host);
	return -EACCES;
}

int kdh_krb5_server(const char *keytab, const uint8_t *apreq, size_t len,
		    const char *service, const char *host,
		    const struct kdh_map *m, struct kdh_accept *a, char *why,
		    size_t whylen)
{
	krb5_context ctx = NULL;
	krb5_keytab kt = NULL;
	krb5_auth_context ac = NULL;
	krb5_ticket *tkt = NULL;
	krb5_key sub = NULL;
	krb5_flags opts = 0;
	krb5_data req = { .data = (char *)apreq, .length = (unsigned)len };
	krb5_error_code code;
	int rc = -EACCES;

	memset(a, 0, sizeof(*a));
	if (krb5_init_context(&ctx) != 0) {
		snprintf(why, whylen, "krb5: cannot make a context");
		return -ENOMEM;
	}
	code = keytab ? krb5_kt_resolve(ctx, keytab, &kt)
		      : krb5_kt_default(ctx, &kt);
	if (code != 0) {
		kerr(ctx, code, "keytab", why, whylen);
		goto out;
	}
	code = krb5_auth_con_init(ctx, &ac);
	if (code == 0)
		code = krb5_rd_req(ctx, &ac, &req, NULL, kt, &opts, &tkt);
	if (code != 0) {
		kerr(ctx, code, "AP-REQ refused", why, whylen);
		goto out;
	}
	unparse(ctx, tkt->server, a->server_princ, sizeof(a->server_princ));
	if (check_server(tkt->server, service, host, a->server_princ, why,
			 whylen) < 0)
		goto out;
	/* enc_part2: what the service key authenticates. */
	if (tkt->enc_part2 == NULL || tkt->enc_part2->client == NULL) {
		snprintf(why, whylen, "the ticket's encrypted part is missing");
		goto out;
	}
	unparse(ctx, tkt->enc_part2->client, a->client_princ,
		sizeof(a->client_princ));
	if (princ_map(tkt->enc_part2->client, m, a->client, sizeof(a->client),
		      why, whylen) < 0)
		goto out;
	code = krb5_auth_con_getrecvsubkey_k(ctx, ac, &sub);
	if (code != 0 || sub == NULL) {
		snprintf(why, whylen, "the authenticator of %s carries no "
			 "subkey", a->client_princ);
		goto out;
	}
	if (subkey_psk(ctx, sub, a->psk) < 0) {
		snprintf(why, whylen, "cannot derive the PSK");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		gnutls_memset(a->psk, 0, sizeof(a->psk));
	krb5_k_free_key(ctx, sub);
	if (tkt != NULL)
		krb5_free_ticket(ctx, tkt);
	if (ac != NULL)
		krb5_auth_con_free(ctx, ac);
	if (kt != NULL)
		krb5_kt_close(ctx, kt);
	krb5_free_context(ctx);
	return rc;
}

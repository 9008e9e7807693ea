/* cred_verify -- peer chain verification and the identity a certificate
 * proves.  Everything here is read-only on the store, so any number of
 * workers may call it at once.
 */
#include "cred_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_CHAIN 16
#define SAN_MAX 512
#define NAMES_SHOWN 8

/* A reason being built: parts joined with "; ". */
struct why {
	char *buf;
	size_t len, size;
};

static void why_add(struct why *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void why_add(struct why *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->buf == NULL || w->size == 0 || w->len + 1 >= w->size)
		return;
	if (w->len > 0) {
		n = snprintf(w->buf + w->len, w->size - w->len, "; ");
		w->len += (size_t)n;
		if (w->len >= w->size) {
			w->len = w->size - 1;
			return;
		}
	}
	va_start(ap, fmt);
	n = vsnprintf(w->buf + w->len, w->size - w->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->len += (size_t)n;
	if (w->len >= w->size)
		w->len = w->size - 1;
}

/* Copy a certificate-supplied string for a message: printable ASCII only. */
static void printable(char *dst, size_t size, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < size && i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
}

/* "a.example, b.example" from the leaf's SANs, else its CN. */
static void cert_names(gnutls_x509_crt_t crt, char *out, size_t size)
{
	char buf[SAN_MAX], shown[SAN_MAX];
	unsigned count = 0;
	size_t used = 0, len;

	out[0] = '\0';
	for (unsigned seq = 0;; seq++) {
		int type;

		len = sizeof(buf) - 1;
		type = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &len,
							    NULL);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (type < 0)
			break;
		if (type != GNUTLS_SAN_DNSNAME && type != GNUTLS_SAN_RFC822NAME)
			continue;
		if (++count > NAMES_SHOWN || used + 1 >= size)
			continue;
		printable(shown, sizeof(shown), buf, len);
		snprintf(out + used, size - used, "%s%s", used ? ", " : "",
			 shown);
		used = strlen(out);
	}
	if (count > NAMES_SHOWN && used + 1 < size)
		snprintf(out + used, size - used, ", ... (%u names)", count);
	if (count > 0)
		return;
	len = sizeof(buf) - 1;
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
					  0, buf, &len) >= 0) {
		printable(shown, sizeof(shown), buf, len);
		snprintf(out, size, "CN=%s", shown);
	} else {
		snprintf(out, size, "(no names)");
	}
}

int cred_leaf_matches(gnutls_x509_crt_t leaf, const char *name,
		      int domain_ok)
{
	const char *at = strrchr(name, '@');

	if (at == NULL)
		return gnutls_x509_crt_check_hostname2(leaf, name, 0) != 0;
	if (at[1] == '\0')
		return 0;
	if (at != name && gnutls_x509_crt_check_email(leaf, name, 0) != 0)
		return 1;
	return domain_ok && gnutls_x509_crt_check_hostname2(leaf, at + 1, 0);
}

static const char *purpose_name(const char *oid)
{
	if (strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER) == 0)
		return "TLS server";
	if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
		return "TLS client";
	return oid;
}

static const struct {
	unsigned bit;
	const char *text;
} reasons[] = {
	{ GNUTLS_CERT_SIGNER_NOT_FOUND, "untrusted chain: signer not found" },
	{ GNUTLS_CERT_SIGNER_NOT_CA, "untrusted chain: signer is not a CA" },
	{ GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE,
	  "untrusted chain: signer constraints violated" },
	{ GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature in chain" },
	{ GNUTLS_CERT_REVOKED, "certificate revoked" },
	{ GNUTLS_CERT_EXPIRED, "certificate expired" },
	{ GNUTLS_CERT_NOT_ACTIVATED, "certificate not yet valid" },
	{ GNUTLS_CERT_INSECURE_ALGORITHM, "insecure algorithm" },
};

static void explain(struct why *w, unsigned status, gnutls_x509_crt_t leaf,
		    const char *name, int name_ok, const char *purpose)
{
	unsigned known = GNUTLS_CERT_INVALID | GNUTLS_CERT_UNEXPECTED_OWNER;
	unsigned other;
	char names[1024], shown[SAN_MAX];
	gnutls_datum_t txt;

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		known |= reasons[i].bit;
		if (status & reasons[i].bit)
			why_add(w, "%s", reasons[i].text);
	}
	known |= GNUTLS_CERT_PURPOSE_MISMATCH;
	if (status & GNUTLS_CERT_PURPOSE_MISMATCH)
		why_add(w, "key purpose mismatch: not valid for %s",
			purpose ? purpose_name(purpose) : "the purpose");
	if (!name_ok) {
		cert_names(leaf, names, sizeof(names));
		printable(shown, sizeof(shown), name, strlen(name));
		why_add(w, "name mismatch: certificate for %s does not match %s",
			names, shown);
	}
	other = status & ~known;
	if (other != 0 || (w->len == 0 && status != 0)) {
		if (gnutls_certificate_verification_status_print(
			    other != 0 ? other : status, GNUTLS_CRT_X509, &txt,
			    0) >= 0) {
			why_add(w, "%s", (const char *)txt.data);
			gnutls_free(txt.data);
		} else {
			why_add(w, "verification failed (status 0x%x)", status);
		}
	}
	if (w->len == 0)
		why_add(w, "verification failed");
}

/* The anchors for a purpose: a server's key purpose means the peer is a
 * server, a client's a client; none: every anchor. */
static int list_for(const char *purpose)
{
	if (purpose != NULL && strcmp(purpose, GNUTLS_KP_TLS_WWW_SERVER) == 0)
		return CRED_TL_SERVERS;
	if (purpose != NULL && strcmp(purpose, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
		return CRED_TL_CLIENTS;
	return CRED_TL_ALL;
}

static int verify(const struct cred_store *s, const gnutls_datum_t *chain,
		  unsigned n, const char *name, int domain_ok,
		  const char *purpose, int tl, char *why, size_t whylen)
{
	gnutls_x509_crt_t crts[MAX_CHAIN];
	gnutls_typed_vdata_st data[2];
	struct why w = { why, 0, whylen };
	unsigned imported = 0, nd = 0, status = 0;
	int rc = -EACCES, name_ok = 1, grc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (chain == NULL || n == 0) {
		why_add(&w, "empty chain");
		goto out;
	}
	if (n > MAX_CHAIN) {
		why_add(&w, "chain too long: %u certificates, at most %d", n,
			MAX_CHAIN);
		goto out;
	}
	if (name != NULL && name[0] == '\0') {
		why_add(&w, "empty name to match");
		goto out;
	}
	for (; imported < n; imported++) {
		const gnutls_datum_t *d = &chain[imported];

		if (d->data == NULL || d->size == 0) {
			why_add(&w, "empty certificate %u in chain", imported);
			goto out;
		}
		grc = gnutls_x509_crt_init(&crts[imported]);
		if (grc < 0) {
			why_add(&w, "certificate %u: %s", imported,
				gnutls_strerror(grc));
			goto out;
		}
		grc = gnutls_x509_crt_import(crts[imported], d,
					     GNUTLS_X509_FMT_DER);
		if (grc < 0) {
			gnutls_x509_crt_deinit(crts[imported]);
			why_add(&w, "unparsable certificate %u in chain: %s",
				imported, gnutls_strerror(grc));
			goto out;
		}
	}
	if (s == NULL || s->anchors[CRED_TL_ALL] == 0) {
		why_add(&w, "no trust anchors configured");
		goto out;
	}
	if (s->anchors[tl] == 0) {
		why_add(&w, "untrusted chain: no trust anchor vouches for TLS "
			"%ss", tl == CRED_TL_SERVERS ? "server" : "client");
		goto out;
	}
	if (purpose != NULL) {
		data[nd].type = GNUTLS_DT_KEY_PURPOSE_OID;
		data[nd].data = (unsigned char *)purpose;
		data[nd].size = 0;
		nd++;
	}
	if (name != NULL && strchr(name, '@') == NULL) {
		data[nd].type = GNUTLS_DT_DNS_HOSTNAME;
		data[nd].data = (unsigned char *)name;
		data[nd].size = 0;
		nd++;
	}
	grc = gnutls_x509_trust_list_verify_crt2(s->trust[tl], crts, n,
						 data, nd, 0, &status, NULL);
	if (grc < 0) {
		why_add(&w, "verification error: %s", gnutls_strerror(grc));
		goto out;
	}
	if (name != NULL)
		name_ok = cred_leaf_matches(crts[0], name, domain_ok);
	if (status == 0 && name_ok) {
		rc = 0;
		goto out;
	}
	explain(&w, status, crts[0], name ? name : "", name_ok, purpose);
out:
	while (imported > 0)
		gnutls_x509_crt_deinit(crts[--imported]);
	return rc;
}

int cred_verify_peer(const struct cred_store *s, const gnutls_datum_t *chain,
		     unsigned n, const char *name, int domain_ok,
		     const char *purpose, char *why, size_t whylen)
{
	return verify(s, chain, n, name, domain_ok, purpose, list_for(purpose),
		      why, whylen);
}

int cred_verify_chain(const struct cred_store *s, const gnutls_datum_t *chain,
		      unsigned n, int peer_server, char *why, size_t whylen)
{
	return verify(s, chain, n, NULL, 0, NULL,
		      peer_server ? CRED_TL_SERVERS : CRED_TL_CLIENTS, why,
		      whylen);
}

/* ---- the identity a certificate proves -------------------------------- */

/* A usable name from a certificate: no NUL inside, no control bytes,
 * no spaces for SAN values. */
static int clean(const char *s, size_t len, int allow_space)
{
	if (len == 0 || strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c == ' ' && !allow_space))
			return 0;
	}
	return 1;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int hostname_like(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' &&
		    *s != '_' && *s != '*')
			return 0;
	return 1;
}

/* Lowercase the domain: after the last '@', or all of a host name. */
static void normalise(char *s)
{
	char *at = strrchr(s, '@');

	if (at != NULL)
		lower(at + 1);
	else if (hostname_like(s))
		lower(s);
}

int cred_cert_identity(const gnutls_datum_t *der, char *out, size_t outlen)
{
	char buf[SAN_MAX], email[SAN_MAX] = "", dns[SAN_MAX] = "";
	const char *pick = NULL;
	gnutls_x509_crt_t crt;
	int rc;

	if (der == NULL || der->data == NULL || der->size == 0 ||
	    out == NULL || outlen == 0)
		return -EINVAL;
	if (gnutls_x509_crt_init(&crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		rc = -EINVAL;
		goto out;
	}
	for (unsigned seq = 0; email[0] == '\0'; seq++) {
		size_t len = sizeof(buf) - 1;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf,
								&len, NULL);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (type < 0)
			break;
		buf[len] = '\0';
		if (!clean(buf, len, 0))
			continue;
		if (type == GNUTLS_SAN_RFC822NAME) {
			const char *at = strrchr(buf, '@');

			if (at != NULL && at != buf && at[1] != '\0')
				memcpy(email, buf, len + 1);
		} else if (type == GNUTLS_SAN_DNSNAME && dns[0] == '\0') {
			memcpy(dns, buf, len + 1);
		}
	}
	if (email[0] != '\0') {
		pick = email;
	} else if (dns[0] != '\0') {
		pick = dns;
	} else {
		size_t len = sizeof(buf) - 1;

		if (gnutls_x509_crt_get_dn_by_oid(crt,
						  GNUTLS_OID_X520_COMMON_NAME,
						  0, 0, buf, &len) >= 0) {
			buf[len] = '\0';
			if (clean(buf, len, 1))
				pick = buf;
		}
	}
	if (pick == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if (strlen(pick) >= outlen) {
		rc = -ENOSPC;
		goto out;
	}
	strcpy(out, pick);
	normalise(out);
	rc = 0;
out:
	gnutls_x509_crt_deinit(crt);
	return rc;
}

/* kdh_map -- realm map, principal mapping and the TLS-KDH KDF. */
#include "kdh_map.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

/* Realm names: printable ASCII without spaces, '=', ',', '/', '@'. */
static int realm_ok(const char *r, size_t len)
{
	if (len == 0 || len >= KDH_REALM_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)r[i];

		if (c <= ' ' || c >= 0x7f || c == '=' || c == ',' ||
		    c == '/' || c == '@' || c == '\\')
			return 0;
	}
	return 1;
}

static int add_entry(struct kdh_map *m, const char *tok, unsigned idx,
		     char *why, size_t whylen)
{
	const char *eq = strchr(tok, '=');
	struct donai d;
	char err[96];
	struct kdh_map_entry *e;

	memset(&d, 0, sizeof(d));

	if (eq == NULL) {
		snprintf(why, whylen, "entry %u: \"%.40s\" is not REALM=domain",
			 idx, tok);
		return -EINVAL;
	}
	if (!realm_ok(tok, (size_t)(eq - tok))) {
		snprintf(why, whylen, "entry %u: bad realm name", idx);
		return -EINVAL;
	}
	if (donai_parse(eq + 1, &d, err, sizeof(err)) < 0 ||
	    d.user[0] != '\0') {
		snprintf(why, whylen, "entry %u: bad domain \"%.60s\"", idx,
			 eq + 1);
		return -EINVAL;
	}
	if (m->n >= KDH_MAP_MAX) {
		snprintf(why, whylen, "entry %u: more than %d entries", idx,
			 KDH_MAP_MAX);
		return -EINVAL;
	}
	e = &m->e[m->n];
	memcpy(e->realm, tok, (size_t)(eq - tok));
	e->realm[eq - tok] = '\0';
	snprintf(e->domain, sizeof(e->domain), "%s", d.domain);
	for (unsigned i = 0; i < m->n; i++) {
		if (strcmp(m->e[i].realm, e->realm) == 0 ||
		    strcmp(m->e[i].domain, e->domain) == 0) {
			snprintf(why, whylen, "entry %u: realm or domain "
				 "already mapped", idx);
			return -EINVAL;
		}
	}
	m->n++;
	return 0;
}

int kdh_map_parse(const char *text, struct kdh_map *m, char *why,
		  size_t whylen)
{
	char tok[KDH_REALM_MAX + DONAI_BUFSIZE + 2];
	unsigned idx = 0;
	const char *p = text ? text : "";

	memset(m, 0, sizeof(*m));
	if (whylen > 0)
		why[0] = '\0';
	for (;;) {
		size_t len;
		int rc;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		len = strcspn(p, " \t,");
		idx++;
		if (len >= sizeof(tok)) {
			snprintf(why, whylen, "entry %u: too long", idx);
			memset(m, 0, sizeof(*m));
			return -EINVAL;
		}
		memcpy(tok, p, len);
		tok[len] = '\0';
		rc = add_entry(m, tok, idx, why, whylen);
		if (rc < 0) {
			memset(m, 0, sizeof(*m));
			return rc;
		}
		p += len;
	}
}

const char *kdh_map_domain(const struct kdh_map *m, const char *realm)
{
	for (unsigned i = 0; i < m->n; i++)
		if (strcmp(m->e[i].realm, realm) == 0)
			return m->e[i].domain;
	return NULL;
}

/* host is domain or a subdomain of it (host in lower case). */
static int within(const char *host, const char *domain)
{
	size_t hl = strlen(host), dl = strlen(domain);

	if (hl == dl)
		return strcmp(host, domain) == 0;
	return hl > dl && host[hl - dl - 1] == '.' &&
	       strcmp(host + hl - dl, domain) == 0;
}

const char *kdh_map_realm_for_host(const struct kdh_map *m, const char *host)
{
	char low[DONAI_BUFSIZE];
	const char *best = NULL;
	size_t bestlen = 0, n = strlen(host);

	if (n >= sizeof(low))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)host[i]);
	for (unsigned i = 0; i < m->n; i++) {
		size_t dl = strlen(m->e[i].domain);

		if (within(low, m->e[i].domain) && dl > bestlen) {
			best = m->e[i].realm;
			bestlen = dl;
		}
	}
	return best;
}

int kdh_map_principal(const struct kdh_map *m, const char *const *comp,
		      unsigned ncomp, const char *realm, char *out,
		      size_t outlen, char *why, size_t whylen)
{
	const char *domain = kdh_map_domain(m, realm);
	char text[DONAI_BUFSIZE * 2], err[96];
	struct donai d;

	if (domain == NULL) {
		snprintf(why, whylen, "realm %.64s is not in kerberos_realm_map",
			 realm);
		return -EACCES;
	}
	if (ncomp == 1) {
		snprintf(text, sizeof(text), "%s@%s", comp[0], domain);
	} else if (ncomp == 2 && strcmp(comp[0], "host") == 0) {
		snprintf(text, sizeof(text), "%s", comp[1]);
	} else {
		snprintf(why, whylen, "principal form %.32s%s with %u "
			 "components is not mapped (only user@REALM and "
			 "host/name@REALM)", ncomp ? comp[0] : "",
			 ncomp > 1 ? "/..." : "", ncomp);
		return -EACCES;
	}
	if (donai_parse(text, &d, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "principal in %.64s does not make a "
			 "DoNAI: %s", realm, err);
		return -EACCES;
	}
	if (ncomp == 2 && (d.user[0] != '\0' || !within(d.domain, domain))) {
		snprintf(why, whylen, "host %.64s is outside %s, the domain "
			 "of realm %.64s", comp[1], domain, realm);
		return -EACCES;
	}
	if (donai_format(&d, out, outlen) < 0) {
		snprintf(why, whylen, "mapped identity too long");
		return -EACCES;
	}
	return 0;
}

int kdh_ccache_expand(const char *tmpl, unsigned uid, char *out, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return -ENAMETOOLONG;
	for (const char *p = tmpl; *p != '\0'; p++) {
		int n;

		if (p[0] == '%' && p[1] == 'u') {
			n = snprintf(out + o, len - o, "%u", uid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			n = snprintf(out + o, len - o, "%%");
			p++;
		} else {
			n = snprintf(out + o, len - o, "%c", *p);
		}
		if (n < 0 || (size_t)n >= len - o) {
			out[0] = '\0';
			return -ENAMETOOLONG;
		}
		o += (size_t)n;
	}
	out[o] = '\0';
	return 0;
}

int kdh_kdf(int32_t enctype, const uint8_t *key, size_t keylen,
	    uint8_t out[KDH_PSK_LEN])
{
	uint8_t prk[32], info[sizeof(KDH_KDF_LABEL) - 1 + 4];
	gnutls_datum_t ikm = { (unsigned char *)key, (unsigned)keylen };
	gnutls_datum_t salt = { NULL, 0 };
	gnutls_datum_t kprk = { prk, sizeof(prk) };
	gnutls_datum_t dinfo = { info, sizeof(info) };
	uint32_t et = (uint32_t)enctype;
	int rc;

	if (keylen == 0)
		return -EIO;
	memcpy(info, KDH_KDF_LABEL, sizeof(KDH_KDF_LABEL) - 1);
	info[sizeof(info) - 4] = (uint8_t)(et >> 24);
	info[sizeof(info) - 3] = (uint8_t)(et >> 16);
	info[sizeof(info) - 2] = (uint8_t)(et >> 8);
	info[sizeof(info) - 1] = (uint8_t)et;
	rc = gnutls_hkdf_extract(GNUTLS_MAC_SHA256, &ikm, &salt, prk);
	if (rc == 0)
		rc = gnutls_hkdf_expand(GNUTLS_MAC_SHA256, &kprk, &dinfo, out,
					KDH_PSK_LEN);
	gnutls_memset(prk, 0, sizeof(prk));
	return rc < 0 ? -EIO : 0;
}

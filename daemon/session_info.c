/* session_info -- PRNG (RFC 5705 / RFC 8446 exporter) and INFO requests
 * on an established session, run on the session's worker. */
#include "session_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <gnutls/x509.h>

#include "codec.h"
#include "ctlconn.h"
#include "tplog.h"

/* IANA TLS Exporter Labels that applications may ask for, plus any
 * label starting with EXPERIMENTAL (RFC 5705, 4).  PRF-internal labels
 * such as "key expansion" or "master secret" are never exported. */
static const char *const exporter_labels[] = {
	"client EAP encryption",
	"ttls keying material",
	"ttls challenge",
	"EXTRACTOR-dtls_srtp",
	"EXPORTER_DTLS_OVER_SCTP",
	"EXPORTER-ETSI-TC-M2M-Bootstrap",
	"EXPORTER-ETSI-TC-M2M-Connection",
	"TLS_MK_Extr",
	"EXPORTER_GBA_Digest",
	"EXPORTER: teap session key seed",
	"EXPORTER: Inner Methods Compound Keys",
	"EXPORTER: Session Key Generating Function",
	"EXPORTER: Extended Session Key Generating Function",
	"EXPORTER-BFCP",
	"EXPORTER-Token-Binding",
	"EXPORTER-Channel-Binding",
	"EXPORTER_EAP_TLS_Key_Material",
	"EXPORTER_EAP_TLS_IV",
	"EXPORTER_EAP_TLS_Method-Id",
	"EXPORTER-network-time-security",
	"EXPORTER-ACE-Sign-Challenge",
};

static int label_allowed(const char *label, size_t len)
{
	static const char exp[] = "EXPERIMENTAL";

	if (len >= sizeof(exp) - 1 && memcmp(label, exp, sizeof(exp) - 1) == 0)
		return 1;
	for (size_t i = 0;
	     i < sizeof(exporter_labels) / sizeof(exporter_labels[0]); i++)
		if (strlen(exporter_labels[i]) == len &&
		    memcmp(exporter_labels[i], label, len) == 0)
			return 1;
	return 0;
}

static void do_prng(struct session *s, struct ctlconn *ctl,
		    const struct tlspool_command *cmd)
{
	const struct pioc_prng *p = &cmd->pio_data.pioc_prng;
	const char *label = (const char *)p->buffer + TLSPOOL_CTLKEYLEN;
	const char *context = label + p->in1_len;
	struct tlspool_command r = *cmd;
	int rc;

	if (s->state != S_RELAY) {
		ctlconn_send_error(ctl, cmd->pio_reqid, ENOTCONN,
				   "PRNG: the session is not established");
		return;
	}
	if (!label_allowed(label, (size_t)p->in1_len)) {
		ctlconn_send_error(ctl, cmd->pio_reqid, EACCES,
				   "PRNG: label \"%.*s\" is not a registered "
				   "exporter label nor EXPERIMENTAL",
				   p->in1_len > 64 ? 64 : p->in1_len, label);
		return;
	}
	memset(r.pio_data.pioc_prng.buffer, 0, TLSPOOL_PRNGBUFLEN);
	rc = gnutls_prf_rfc5705(s->tls, (size_t)p->in1_len, label,
				p->in2_len < 0 ? 0 : (size_t)p->in2_len,
				p->in2_len < 0 ? NULL : context,
				(size_t)p->prng_len,
				(char *)r.pio_data.pioc_prng.buffer);
	if (rc < 0) {
		ctlconn_send_error(ctl, cmd->pio_reqid, EIO, "PRNG: %s",
				   gnutls_strerror(rc));
		return;
	}
	ctlconn_send(ctl, &r);
}

void session_request_prng(struct session *s, struct ctlconn *ctl,
			  const struct tlspool_command *cmd)
{
	session_run_op(s, ctl, cmd, do_prng);
}

/* The certificate an INFO kind is about: the peer's or our own leaf. */
static int info_cert(struct session *s, uint32_t kind, gnutls_x509_crt_t *crt)
{
	const gnutls_datum_t *der;
	unsigned n = 0;
	int rc;

	if ((kind & 0xffffff00) == 0x52800100)
		der = gnutls_certificate_get_ours(s->tls), n = der ? 1 : 0;
	else
		der = gnutls_certificate_get_peers(s->tls, &n);
	if (der == NULL || n == 0)
		return -ENOENT;
	rc = gnutls_x509_crt_init(crt);
	if (rc < 0)
		return -ENOMEM;
	rc = gnutls_x509_crt_import(*crt, &der[0], GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		gnutls_x509_crt_deinit(*crt);
		return -EBADMSG;
	}
	return 0;
}

/* Comma-separated dNSName and rfc822Name entries. */
static int san_list(gnutls_x509_crt_t crt, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned i = 0;; i++) {
		char name[256];
		size_t len = sizeof(name) - 1;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name,
								&len, NULL);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type < 0)
			continue;
		if (type != GNUTLS_SAN_DNSNAME && type != GNUTLS_SAN_RFC822NAME)
			continue;
		name[len] = '\0';
		if (used + len + 2 > outlen)
			return -ENOSPC;
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
					 used ? "," : "", name);
	}
	return 0;
}

static int cert_text(struct session *s, uint32_t kind, char *out,
		     size_t outlen)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { NULL, 0 };
	int rc = info_cert(s, kind, &crt);

	if (rc < 0)
		return rc;
	switch (kind & 0xff) {
	case 0:
		rc = gnutls_x509_crt_get_dn3(crt, &dn, 0);
		break;
	case 1:
		rc = gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0);
		break;
	default:
		rc = san_list(crt, out, outlen);
		goto out;
	}
	if (rc < 0) {
		rc = -EBADMSG;
		goto out;
	}
	if (dn.size >= outlen) {
		rc = -ENOSPC;
		goto out;
	}
	memcpy(out, dn.data, dn.size);
	out[dn.size] = '\0';
out:
	gnutls_free(dn.data);
	gnutls_x509_crt_deinit(crt);
	return rc;
}

static int chanbind(struct session *s, uint32_t kind, uint8_t *out,
		    size_t *len)
{
	gnutls_datum_t cb;
	int rc = gnutls_session_channel_binding(s->tls,
		kind == PIOK_INFO_CHANBIND_TLS_UNIQUE ? GNUTLS_CB_TLS_UNIQUE :
		GNUTLS_CB_TLS_SERVER_END_POINT, &cb);

	if (rc < 0)
		return -ENOTSUP;
	if (cb.size > *len) {
		gnutls_free(cb.data);
		return -ENOSPC;
	}
	memcpy(out, cb.data, cb.size);
	*len = cb.size;
	gnutls_free(cb.data);
	return 0;
}

/* SUBJECTALTNAME check: is the given name one the certificate is valid
 * for (DNS name, or user@domain as an e-mail address)? */
static int san_check(struct session *s, uint32_t kind, const uint8_t *buf,
		     uint16_t len)
{
	gnutls_x509_crt_t crt;
	char name[TLSPOOL_INFOBUFLEN + 1];
	int rc, ok;

	if (len == 0 || memchr(buf, '\0', len) != NULL)
		return -EINVAL;
	memcpy(name, buf, len);
	name[len] = '\0';
	rc = info_cert(s, kind, &crt);
	if (rc < 0)
		return rc;
	ok = strchr(name, '@') ? gnutls_x509_crt_check_email(crt, name, 0)
			       : gnutls_x509_crt_check_hostname(crt, name);
	gnutls_x509_crt_deinit(crt);
	return ok ? 0 : -EACCES;
}

static void do_info(struct session *s, struct ctlconn *ctl,
		    const struct tlspool_command *cmd)
{
	const struct pioc_info *in = &cmd->pio_data.pioc_info;
	struct tlspool_command r = *cmd;
	struct pioc_info *out = &r.pio_data.pioc_info;
	size_t len = sizeof(out->buffer);
	int rc;

	if (s->state != S_RELAY) {
		ctlconn_send_error(ctl, cmd->pio_reqid, ENOTCONN,
				   "INFO: the session is not established");
		return;
	}
	memset(out->buffer, 0, sizeof(out->buffer));
	if ((in->info_kind & 0xfffffeff) == PIOK_INFO_PEERCERT_SUBJECTALTNAME &&
	    in->len != PIOK_INFO_LEN_QUERY) {
		rc = san_check(s, in->info_kind, in->buffer, in->len);
		if (rc < 0)
			ctlconn_send_error(ctl, cmd->pio_reqid, -rc,
					   "INFO: subjectAltName check: %s",
					   strerror(-rc));
		else
			ctlconn_send(ctl, cmd);
		return;
	}
	switch (in->info_kind) {
	case PIOK_INFO_CHANBIND_TLS_UNIQUE:
	case PIOK_INFO_CHANBIND_TLS_SERVER_END_POINT:
		rc = chanbind(s, in->info_kind, out->buffer, &len);
		break;
	case PIOK_INFO_PEERCERT_SUBJECT:
	case PIOK_INFO_PEERCERT_ISSUER:
	case PIOK_INFO_PEERCERT_SUBJECTALTNAME:
	case PIOK_INFO_MYCERT_SUBJECT:
	case PIOK_INFO_MYCERT_ISSUER:
	case PIOK_INFO_MYCERT_SUBJECTALTNAME:
		rc = cert_text(s, in->info_kind, (char *)out->buffer, len);
		len = strlen((char *)out->buffer);
		break;
	default:
		ctlconn_send_error(ctl, cmd->pio_reqid, ENOTSUP,
				   "INFO: unknown kind 0x%08x", in->info_kind);
		return;
	}
	if (rc < 0) {
		ctlconn_send_error(ctl, cmd->pio_reqid, -rc, "INFO 0x%08x: %s",
				   in->info_kind, strerror(-rc));
		return;
	}
	if (in->len != PIOK_INFO_LEN_QUERY &&
	    (in->len != len || memcmp(in->buffer, out->buffer, len) != 0)) {
		ctlconn_send_error(ctl, cmd->pio_reqid, EACCES,
				   "INFO 0x%08x: the value does not match",
				   in->info_kind);
		return;
	}
	out->len = (uint16_t)len;
	ctlconn_send(ctl, &r);
}

void session_request_info(struct session *s, struct ctlconn *ctl,
			  const struct tlspool_command *cmd)
{
	session_run_op(s, ctl, cmd, do_info);
}

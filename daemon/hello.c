/* hello -- the server name from a ClientHello. */
#include "hello.h"

#include <errno.h>
#include <string.h>
#include <gnutls/gnutls.h>

#define REC_HDR 5
#define HS_HDR 4
#define TLS_HANDSHAKE 22
#define CLIENT_HELLO 1
#define EXT_SERVER_NAME 0
#define NAME_HOST 0

struct sni_out {
	char *name;
	size_t len;
	int found;
};

/* server_name extension: list length, then entries of type, length,
 * name (RFC 6066, 3).  The first host_name entry counts. */
static int on_ext(void *ctx, unsigned id, const unsigned char *d, unsigned n)
{
	struct sni_out *o = ctx;
	unsigned list, pos = 2;

	if (id != EXT_SERVER_NAME || o->found || n < 2)
		return 0;
	list = (unsigned)d[0] << 8 | d[1];
	if (list + 2 > n)
		return 0;
	while (pos + 3 <= 2 + list) {
		unsigned type = d[pos], len = (unsigned)d[pos + 1] << 8 | d[pos + 2];

		pos += 3;
		if (pos + len > 2 + list)
			return 0;
		if (type == NAME_HOST && len > 0 && len < o->len &&
		    memchr(d + pos, '\0', len) == NULL) {
			memcpy(o->name, d + pos, len);
			o->name[len] = '\0';
			o->found = 1;
			return 0;
		}
		pos += len;
	}
	return 0;
}

int hello_sni(const uint8_t *buf, size_t len, char *sni, size_t snilen)
{
	struct sni_out o = { sni, snilen, 0 };
	gnutls_datum_t body;
	size_t rec, hs;

	if (snilen > 0)
		sni[0] = '\0';
	if (len >= 1 && buf[0] != TLS_HANDSHAKE)
		return -EPROTO;
	if (len >= REC_HDR + 1 && buf[REC_HDR] != CLIENT_HELLO)
		return -EPROTO;
	if (len < REC_HDR)
		return -EAGAIN;
	rec = (size_t)buf[3] << 8 | buf[4];
	if (rec < HS_HDR || rec > 16384 + 256)
		return -EPROTO;
	if (len < REC_HDR + rec)
		return -EAGAIN;
	hs = (size_t)buf[6] << 16 | (size_t)buf[7] << 8 | buf[8];
	if (hs > rec - HS_HDR)
		return 0;	/* continues in a later record */
	body.data = (unsigned char *)buf + REC_HDR + HS_HDR;
	body.size = (unsigned)hs;
	if (gnutls_ext_raw_parse(&o, on_ext, &body,
				 GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO) < 0)
		return -EPROTO;
	return o.found;
}

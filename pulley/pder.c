/* pder -- DER OCTET STRING coding of pulleyback values. */
#include "pder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pulleyback.h"

int pder_wrap(const uint8_t *val, size_t len, uint8_t **out,
	      size_t *outlen)
{
	uint8_t hdr[2 + sizeof(size_t)];
	size_t h = 0, nb = 0, tmp, i;
	uint8_t *buf;

	hdr[h++] = 0x04;
	if (len < 0x80) {
		hdr[h++] = (uint8_t)len;
	} else {
		for (tmp = len; tmp != 0; tmp >>= 8)
			nb++;
		hdr[h++] = (uint8_t)(0x80 | nb);
		for (i = nb; i > 0; i--)
			hdr[h++] = (uint8_t)(len >> (8 * (i - 1)));
	}
	buf = malloc(h + len + 1);
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, hdr, h);
	if (len > 0)
		memcpy(buf + h, val, len);
	buf[h + len] = 0;
	*out = buf;
	*outlen = h + len;
	return 0;
}

int pder_unwrap(const uint8_t *der, size_t cap, const uint8_t **val,
		size_t *len, size_t *used)
{
	if (pulleyback_der_unwrap(der, cap, val, len) != 0)
		return -EBADMSG;
	*used = (size_t)(*val - der) + *len;
	return 0;
}

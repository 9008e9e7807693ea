/* pder -- DER OCTET STRING coding of pulleyback values. */
#ifndef TP_PDER_H
#define TP_PDER_H

#include <stddef.h>
#include <stdint.h>

/* Wrap len bytes into a malloc'ed DER OCTET STRING (shortest length
 * form); *outlen gets its size.  0 or -ENOMEM. */
int pder_wrap(const uint8_t *val, size_t len, uint8_t **out,
	      size_t *outlen);
/* Check and read one: 0, or -EBADMSG when der[0..cap) does not start
 * with a well-formed OCTET STRING; *used gets the encoded size. */
int pder_unwrap(const uint8_t *der, size_t cap, const uint8_t **val,
		size_t *len, size_t *used);

#endif

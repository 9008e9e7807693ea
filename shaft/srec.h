/* srec -- the record of a verified entry checked as pulley's pool
 * backend will check it on every host (pulley/back_pool.c): it decodes
 * strictly and agrees with the entry's key attributes.  Shaft leaves a
 * failing entry out (its last good version stays) rather than
 * publishing what every pulley would refuse. */
#ifndef TP_SREC_H
#define TP_SREC_H

#include <stddef.h>
#include <stdint.h>

#include "smerge.h"

/* 0, -EBADMSG with why, or -ENOMEM. */
int srec_check(const uint8_t *canon, size_t len, const struct smerge_key *k,
	       char *why, size_t whylen);

#endif

/* puuidset -- a set of 16-byte entryUUIDs (open addressing), for the
 * entries presented or added during a SyncRepl refresh. */
#ifndef TP_PUUIDSET_H
#define TP_PUUIDSET_H

#include <stddef.h>
#include <stdint.h>

struct puuidset {
	uint8_t *slots;			/* cap slots of 16 bytes; all-zero:
					 * empty (the nil UUID names no entry) */
	size_t cap, n;
};

/* 0 or -ENOMEM; adding the nil UUID or one already there changes
 * nothing. */
int puuidset_add(struct puuidset *s, const uint8_t u[16]);
int puuidset_has(const struct puuidset *s, const uint8_t u[16]);
void puuidset_clear(struct puuidset *s);

#endif

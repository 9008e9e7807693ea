/* puuidset -- a set of 16-byte entryUUIDs. */
#include "puuidset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t nil[16];

static size_t hash(const uint8_t *u)
{
	size_t h = (size_t)14695981039346656037ull;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ u[i]) * (size_t)1099511628211ull;
	return h;
}

/* 1 with the slot holding u, or 0 with the empty slot for it. */
static int find(const struct puuidset *s, const uint8_t *u, size_t *slot)
{
	size_t i = hash(u) & (s->cap - 1);

	for (;; i = (i + 1) & (s->cap - 1)) {
		const uint8_t *p = s->slots + 16 * i;

		if (memcmp(p, u, 16) == 0) {
			*slot = i;
			return 1;
		}
		if (memcmp(p, nil, 16) == 0) {
			*slot = i;
			return 0;
		}
	}
}

static int grow(struct puuidset *s)
{
	size_t nc = s->cap ? 2 * s->cap : 1024, oc = s->cap, i, slot;
	uint8_t *old = s->slots, *n = calloc(nc, 16);

	if (n == NULL)
		return -ENOMEM;
	s->slots = n;
	s->cap = nc;
	for (i = 0; i < oc; i++)
		if (memcmp(old + 16 * i, nil, 16) != 0 &&
		    !find(s, old + 16 * i, &slot))
			memcpy(s->slots + 16 * slot, old + 16 * i, 16);
	free(old);
	return 0;
}

int puuidset_add(struct puuidset *s, const uint8_t u[16])
{
	size_t slot;

	if (memcmp(u, nil, 16) == 0)
		return 0;
	if (s->n + 1 > s->cap / 2 && grow(s) < 0)
		return -ENOMEM;
	if (!find(s, u, &slot)) {
		memcpy(s->slots + 16 * slot, u, 16);
		s->n++;
	}
	return 0;
}

int puuidset_has(const struct puuidset *s, const uint8_t u[16])
{
	size_t slot;

	/* an empty slot looks like the nil UUID, which is never a member */
	return s->cap != 0 && memcmp(u, nil, 16) != 0 && find(s, u, &slot);
}

void puuidset_clear(struct puuidset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
}

/* localcmd -- this daemon's own commands on the pool socket, in the
 * PIOC_LOCAL range that PROTOCOL.md reserves for extensions.  Not part of
 * the public API: tlspool-ctl speaks them.
 */
#ifndef TP_LOCALCMD_H
#define TP_LOCALCMD_H

#include <stdint.h>
#include <tlspool/commands.h>

/* Read the metrics text (Prometheus exposition) in slices: the request
 * names an offset, the reply carries the total length and up to
 * LOCALCMD_TEXTLEN bytes from there.  Only root and the daemon's own uid
 * may ask. */
#define PIOC_LOCAL_METRICS_V1 (PIOC_LOCAL | 0x544d0001u)

#define LOCALCMD_TEXTLEN 368

struct pioc_local_text {
	uint32_t offset;
	uint32_t total;
	uint16_t len;
	char text[LOCALCMD_TEXTLEN];
};

_Static_assert(sizeof(struct pioc_local_text) <= sizeof(union pio_data),
	       "local text fits the union");

#endif

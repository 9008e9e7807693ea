/* hello -- the server name a client asks for, read from its ClientHello
 * before the TLS library sees it, so that the application can be asked
 * (LOCALID_CHECK) which identity to show before any credential is chosen.
 */
#ifndef TP_HELLO_H
#define TP_HELLO_H

#include <stddef.h>
#include <stdint.h>

/* buf holds the first len bytes the client sent.  Returns 1 with the DNS
 * name in sni, 0 when the ClientHello is complete in its first record but
 * names no (usable) server, -EAGAIN when more bytes are needed, -EPROTO
 * when this is no TLS ClientHello.  A ClientHello longer than its first
 * record counts as naming no server. */
int hello_sni(const uint8_t *buf, size_t len, char *sni, size_t snilen);

#endif

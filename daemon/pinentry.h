/* pinentry -- the registered PIN service (PINENTRY, PROTOCOL.md).
 *
 * One application at a time may register (root or the daemon's own uid
 * only: its answers are tried on tokens).  While its connection lives it
 * is the key process's PIN source (keyproc_set_pin_source): a PKCS#11 key
 * loaded without pkcs11_pin makes the key process ask, the loading
 * thread (main or a helper, never a worker) sends a PINENTRY callback
 * with the prompt, the token's manufacturer, model, serial and label,
 * the attempt counter and timeout_us, and waits for the answer, at most
 * the service's timeout (PINENTRY_DEFAULT_MS when it gave 0, never more
 * than PINENTRY_MAX_MS).  A PIN in the answer is used; an empty PIN, an
 * ERROR answer, no answer in time or the service leaving mean "no PIN":
 * the identity is skipped with that reason.  A registration is never
 * answered, except by ERROR.  PINs are never logged; every buffer that
 * held one is zeroed.
 */
#ifndef TP_PINENTRY_H
#define TP_PINENTRY_H

#include <stddef.h>
#include <stdint.h>
#include <tlspool/commands.h>

#define PINENTRY_DEFAULT_MS 30000
#define PINENTRY_MAX_MS 120000

struct ctlconn;
struct keyproc_pin_request;

/* Register c as the PIN service; 0, or -EBUSY while another is. */
int pinentry_register(struct ctlconn *c, uint16_t reqid,
		      const struct pioc_pinentry *req);

/* c ends: drop its registration (if it holds one). */
void pinentry_connection_gone(struct ctlconn *c);

/* The PIN source: ask the registered service.  0 with the PIN in pin,
 * or -ENOENT (none registered), -ETIMEDOUT, -ECANCELED (ERROR, empty
 * PIN, service gone), -ENOMEM; the reason is logged.  Blocks the calling
 * thread up to the service's timeout: never call it on a worker. */
int pinentry_ask(const struct keyproc_pin_request *q, char *pin,
		 size_t size);

/* The effective wait for a service's timeout_us (0: default). */
unsigned pinentry_timeout_ms(uint32_t timeout_us);

#endif

/* lidentry -- the registered local identity chooser (LIDENTRY_REGISTER,
 * PROTOCOL.md).  One application at a time may register; while its
 * connection lives, client-role sessions that did not name a local
 * identity ask it (LIDENTRY_CALLBACK), unless its SKIP_ flags let the
 * disclose database answer alone.
 */
#ifndef TP_LIDENTRY_H
#define TP_LIDENTRY_H

#include <stdint.h>
#include <tlspool/commands.h>

struct ctlconn;

/* Register c as the chooser; 0, or -EBUSY while another is registered.
 * A registration is never answered, except by ERROR. */
int lidentry_register(struct ctlconn *c, uint16_t reqid,
		      const struct pioc_lidentry *req);

/* c ends: drop its registration (if it holds one). */
void lidentry_connection_gone(struct ctlconn *c);

/* The chooser, referenced (ctlconn_unref it), its registration flags
 * and the reqid its callbacks carry; NULL when none is registered. */
struct ctlconn *lidentry_chooser(uint32_t *regflags, uint16_t *reqid);

/* May the disclose entry found under selector sel (for remote identity
 * remoteid) be used without asking, by the SKIP_ flags?  Each SKIP_
 * value counts only with all its bits: SKIP_DBENTRY any entry;
 * SKIP_USER one that keeps the user part (or the remote has none);
 * SKIP_DOMAIN_SAME the remote's own domain; SKIP_DOMAIN_ONEUP one level
 * up; SKIP_NOTROOT anything but the root selectors.  All given must hold. */
int lidentry_may_skip(uint32_t regflags, const char *sel,
		      const char *remoteid);

#endif

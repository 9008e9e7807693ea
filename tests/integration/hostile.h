/* hostile -- shared by hostile.c (the cases) and hostile_wire.c (raw
 * wire protocol helpers). */
#ifndef TP_HOSTILE_H
#define TP_HOSTILE_H

#include <stdint.h>
#include <stddef.h>

#include <tlspool/commands.h>

#define MSGLEN sizeof(struct tlspool_command)
#define REPLY_MS 5000

extern const char *sockpath;	/* the pool socket */
extern int quiet_errors;	/* do not print every ERROR reason */
extern char failwhy[512];	/* why the current case failed */
extern int stall_fd;		/* the silent listener, -1 until used */

/* Record why the current case failed. */
void why(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int pool_connect(void);
/* Send len bytes with an optional fd as SCM_RIGHTS; 0 or -1. */
int send_raw(int sock, const void *buf, size_t len, int fd);
int send_cmd(int sock, const struct tlspool_command *cmd, int fd);
/* One whole reply within REPLY_MS; 0, or -1 with why() set. */
int recv_cmd(int sock, struct tlspool_command *cmd);

void init_cmd(struct tlspool_command *cmd, uint16_t reqid, uint32_t pio_cmd);
void init_ping(struct tlspool_command *cmd, uint16_t reqid);
void init_starttls(struct tlspool_command *cmd, uint16_t reqid,
		   uint32_t flags, const char *remoteid, uint32_t tmo);

/* PING on sock / on a fresh connection; 0 when answered properly. */
int ping_on(int sock, uint16_t reqid);
int ping_fresh(void);
/* Expect an ERROR for reqid mentioning one of the '|'-separated
 * alternatives in want (NULL: any reason). */
int expect_error(int sock, uint16_t reqid, const char *want);

/* A TCP connection to a listener that never says a word. */
int stall_connect(void);
/* Accept the daemon's side there once it sent its ClientHello. */
int stall_accept_hello(void);
/* Wait until the daemon closes its side of fd. */
int wait_closed(int fd, int ms);

#endif

/* control_client -- what control_client.c shares with control_async.c
 * (the asynchronous API command). */
#ifndef TP_CONTROL_CLIENT_H
#define TP_CONTROL_CLIENT_H

#include <stdint.h>

#include <tlspool/starttls.h>

#define IO_MS 10000

/* The command line options (see control_client.c). */
struct cc_options {
	const char *localid, *newid, *remoteid, *send, *expect, *waitfile;
	int refuse;
	unsigned timeout;
};
extern struct cc_options opt;

/* A name for errno e ("EPERM", ...; "errno N" for the others). */
const char *errname(int e);

/* printf one line to stdout and flush it. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A STARTTLS request as client to a server, with the options' local and
 * remote identity, service "generic", timeout and a random ctlkey. */
void fill_client(starttls_t *tls, uint32_t extra);

/* Send "text\n" on fd and expect exactly that back; 0 or -1 (said). */
int echo_check(int fd, const char *what, const char *text);

/* Wait up to ms for EOF (or a reset) on fd; data before it is an error
 * (-1 with errno EEXIST). */
int expect_eof(int fd, int ms);

/* The "async HOST PORT" command; the exit code. */
int cmd_async(const char *host, int port);

#endif

/* codec -- checks and builds struct tlspool_command messages.
 *
 * Every message read from a socket goes through codec_check before any
 * field is used: string fields must hold a NUL inside their size, lengths
 * must fit their buffers, the command must be known for its direction.
 */
#ifndef TP_CODEC_H
#define TP_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <tlspool/commands.h>

#define CODEC_MSGLEN ((size_t)sizeof(struct tlspool_command))

enum codec_dir {
	CODEC_TO_DAEMON = 0,	/* app -> daemon: requests, callback answers */
	CODEC_TO_CLIENT = 1,	/* daemon -> app: replies, callbacks */
};

/* Check a complete message of len bytes.  Returns 0, or -EBADMSG with a
 * reason in why (always NUL-terminated when whylen > 0). */
int codec_check(const struct tlspool_command *cmd, size_t len,
		enum codec_dir dir, char *why, size_t whylen);

/* True when buf[0..size) holds a NUL. */
int codec_str_ok(const char *buf, size_t size);

/* Name of a command code, "UNKNOWN" when not known. */
const char *codec_cmd_name(uint32_t pio_cmd);

/* Turn cmd into an ERROR reply (reqid and cbid kept). */
void codec_set_error(struct tlspool_command *cmd, int tlserrno,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

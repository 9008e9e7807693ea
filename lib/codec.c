/* codec -- checks and builds struct tlspool_command messages. */
#include "codec.h"
#include "localcmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The common part; each platform's poolconn checks its whole message. */
_Static_assert(offsetof(struct tlspool_command, pio_data) +
	       sizeof(union pio_data) == TLSPOOL_CMD_BASELEN, "wire size");
_Static_assert(offsetof(struct tlspool_command, pio_reqid) == 0, "reqid");
_Static_assert(offsetof(struct tlspool_command, pio_cbid) == 2, "cbid");
_Static_assert(offsetof(struct tlspool_command, pio_cmd) == 4, "cmd");
_Static_assert(offsetof(struct tlspool_command, pio_data) == 8, "data");
_Static_assert(sizeof(union pio_data) == 380, "union");
_Static_assert(sizeof(struct pioc_error) == 132, "error");
_Static_assert(sizeof(struct pioc_ping) == 140, "ping");
_Static_assert(offsetof(struct pioc_ping, facilities) == 136, "ping fac");
_Static_assert(sizeof(struct pioc_starttls) == 304, "starttls");
_Static_assert(offsetof(struct pioc_starttls, local) == 4, "st local");
_Static_assert(offsetof(struct pioc_starttls, ipproto) == 8, "st ipproto");
_Static_assert(offsetof(struct pioc_starttls, streamid) == 10, "st sid");
_Static_assert(offsetof(struct pioc_starttls, localid) == 12, "st lid");
_Static_assert(offsetof(struct pioc_starttls, remoteid) == 140, "st rid");
_Static_assert(offsetof(struct pioc_starttls, ctlkey) == 268, "st ctlkey");
_Static_assert(offsetof(struct pioc_starttls, service) == 284, "st svc");
_Static_assert(offsetof(struct pioc_starttls, timeout) == 300, "st tmo");
_Static_assert(sizeof(struct pioc_pinentry) == 380, "pinentry");
_Static_assert(offsetof(struct pioc_pinentry, pin) == 12, "pin");
_Static_assert(offsetof(struct pioc_pinentry, prompt) == 140, "prompt");
_Static_assert(offsetof(struct pioc_pinentry, token_manuf) == 268, "manuf");
_Static_assert(offsetof(struct pioc_pinentry, token_model) == 304, "model");
_Static_assert(offsetof(struct pioc_pinentry, token_serial) == 324, "serial");
_Static_assert(offsetof(struct pioc_pinentry, token_label) == 344, "label");
_Static_assert(sizeof(struct pioc_lidentry) == 266, "lidentry");
_Static_assert(offsetof(struct pioc_lidentry, maxlevels) == 4, "lid max");
_Static_assert(offsetof(struct pioc_lidentry, timeout) == 6, "lid tmo");
_Static_assert(offsetof(struct pioc_lidentry, localid) == 10, "lid lid");
_Static_assert(offsetof(struct pioc_lidentry, remoteid) == 138, "lid rid");
_Static_assert(sizeof(struct pioc_control) == 148, "control");
_Static_assert(offsetof(struct pioc_control, ctlkey) == 4, "ctl key");
_Static_assert(offsetof(struct pioc_control, name) == 20, "ctl name");
_Static_assert(sizeof(struct pioc_prng) == 356, "prng");
_Static_assert(offsetof(struct pioc_prng, buffer) == 6, "prng buf");
_Static_assert(sizeof(struct pioc_info) == 356, "info");
_Static_assert(offsetof(struct pioc_info, info_kind) == 16, "info kind");
_Static_assert(offsetof(struct pioc_info, len) == 20, "info len");
_Static_assert(offsetof(struct pioc_info, buffer) == 22, "info buf");

static const struct {
	uint32_t code;
	const char *name;
	unsigned char to_daemon, to_client;
} commands[] = {
	{ PIOC_SUCCESS_V2, "SUCCESS", 1, 1 },
	{ PIOC_ERROR_V2, "ERROR", 1, 1 },
	{ PIOC_PING_V2, "PING", 1, 1 },
	{ PIOC_STARTTLS_V2, "STARTTLS", 1, 1 },
	{ PIOC_STARTTLS_LOCALID_V2, "STARTTLS_LOCALID", 1, 1 },
	{ PIOC_PINENTRY_V2, "PINENTRY", 1, 1 },
	{ PIOC_PLAINTEXT_CONNECT_V2, "PLAINTEXT_CONNECT", 1, 1 },
	{ PIOC_PRNG_V2, "PRNG", 1, 1 },
	{ PIOC_INFO_V2, "INFO", 1, 1 },
	{ PIOC_CONTROL_DETACH_V2, "CONTROL_DETACH", 1, 0 },
	{ PIOC_CONTROL_REATTACH_V2, "CONTROL_REATTACH", 1, 0 },
	{ PIOC_LIDENTRY_REGISTER_V2, "LIDENTRY_REGISTER", 1, 0 },
	{ PIOC_LIDENTRY_CALLBACK_V2, "LIDENTRY_CALLBACK", 1, 1 },
	{ PIOC_LOCAL_METRICS_V1, "LOCAL_METRICS", 1, 1 },
};

int codec_str_ok(const char *buf, size_t size)
{
	return memchr(buf, '\0', size) != NULL;
}

const char *codec_cmd_name(uint32_t pio_cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].code == pio_cmd)
			return commands[i].name;
	return "UNKNOWN";
}

/* Field names without the "d->" of the expression. */
#define STR_FIELD(f) { &(#f)[3], (f), sizeof(f) }

struct strfield {
	const char *name;
	const char *buf;
	size_t size;
};

static int check_strings(const struct strfield *f, size_t n, char *why,
			 size_t whylen)
{
	for (size_t i = 0; i < n; i++) {
		if (!codec_str_ok(f[i].buf, f[i].size)) {
			snprintf(why, whylen, "field %s has no NUL in its %zu bytes",
				 f[i].name, f[i].size);
			return -EBADMSG;
		}
	}
	return 0;
}

static int check_prng(const struct pioc_prng *p, char *why, size_t whylen)
{
	int in2 = p->in2_len < 0 ? 0 : p->in2_len;

	if (p->in1_len < 0 || p->in2_len < -1) {
		snprintf(why, whylen, "PRNG lengths in1=%d in2=%d are invalid",
			 p->in1_len, p->in2_len);
		return -EBADMSG;
	}
	if (TLSPOOL_CTLKEYLEN + p->in1_len + in2 > TLSPOOL_PRNGBUFLEN) {
		snprintf(why, whylen, "PRNG inputs of %d+%d bytes overflow the buffer",
			 p->in1_len, in2);
		return -EBADMSG;
	}
	if (p->prng_len < 0 || p->prng_len > TLSPOOL_PRNGBUFLEN) {
		snprintf(why, whylen, "PRNG output length %d is out of range",
			 p->prng_len);
		return -EBADMSG;
	}
	return 0;
}

static int check_fields(const struct tlspool_command *cmd, char *why,
			size_t whylen)
{
	const union pio_data *d = &cmd->pio_data;

	switch (cmd->pio_cmd) {
	case PIOC_ERROR_V2: {
		const struct strfield f[] = { STR_FIELD(d->pioc_error.message) };
		return check_strings(f, 1, why, whylen);
	}
	case PIOC_PING_V2: {
		const struct strfield f[] = {
			STR_FIELD(d->pioc_ping.YYYYMMDD_producer) };
		return check_strings(f, 1, why, whylen);
	}
	case PIOC_STARTTLS_V2:
	case PIOC_STARTTLS_LOCALID_V2:
	case PIOC_PLAINTEXT_CONNECT_V2: {
		const struct strfield f[] = {
			STR_FIELD(d->pioc_starttls.localid),
			STR_FIELD(d->pioc_starttls.remoteid),
			{ "pioc_starttls.service",
			  (const char *)d->pioc_starttls.service,
			  sizeof(d->pioc_starttls.service) },
		};
		return check_strings(f, 3, why, whylen);
	}
	case PIOC_PINENTRY_V2: {
		const struct strfield f[] = {
			STR_FIELD(d->pioc_pinentry.pin),
			STR_FIELD(d->pioc_pinentry.prompt),
			STR_FIELD(d->pioc_pinentry.token_manuf),
			STR_FIELD(d->pioc_pinentry.token_model),
			STR_FIELD(d->pioc_pinentry.token_serial),
			STR_FIELD(d->pioc_pinentry.token_label),
		};
		return check_strings(f, 6, why, whylen);
	}
	case PIOC_LIDENTRY_REGISTER_V2:
	case PIOC_LIDENTRY_CALLBACK_V2: {
		const struct strfield f[] = {
			STR_FIELD(d->pioc_lidentry.localid),
			STR_FIELD(d->pioc_lidentry.remoteid),
		};
		return check_strings(f, 2, why, whylen);
	}
	case PIOC_CONTROL_DETACH_V2:
	case PIOC_CONTROL_REATTACH_V2: {
		const struct strfield f[] = { STR_FIELD(d->pioc_control.name) };
		return check_strings(f, 1, why, whylen);
	}
	case PIOC_PRNG_V2:
		return check_prng(&d->pioc_prng, why, whylen);
	case PIOC_LOCAL_METRICS_V1: {
		struct pioc_local_text t;

		memcpy(&t, d->pioc_raw, sizeof(t));
		if (t.len > LOCALCMD_TEXTLEN) {
			snprintf(why, whylen, "LOCAL_METRICS length %u exceeds %d",
				 t.len, LOCALCMD_TEXTLEN);
			return -EBADMSG;
		}
		return 0;
	}
	case PIOC_INFO_V2:
		if (d->pioc_info.len != PIOK_INFO_LEN_QUERY &&
		    d->pioc_info.len > TLSPOOL_INFOBUFLEN) {
			snprintf(why, whylen, "INFO length %u exceeds %d bytes",
				 d->pioc_info.len, TLSPOOL_INFOBUFLEN);
			return -EBADMSG;
		}
		return 0;
	default:
		return 0;
	}
}

int codec_check(const struct tlspool_command *cmd, size_t len,
		enum codec_dir dir, char *why, size_t whylen)
{
	size_t i;

	if (whylen > 0)
		why[0] = '\0';
	if (len != CODEC_MSGLEN) {
		snprintf(why, whylen, "message of %zu bytes, expected %zu", len,
			 CODEC_MSGLEN);
		return -EBADMSG;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].code == cmd->pio_cmd)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		snprintf(why, whylen, "unknown command 0x%08x", cmd->pio_cmd);
		return -EBADMSG;
	}
	if (!(dir == CODEC_TO_DAEMON ? commands[i].to_daemon
				     : commands[i].to_client)) {
		snprintf(why, whylen, "command %s (0x%08x) is not valid towards "
			 "the %s", commands[i].name, cmd->pio_cmd,
			 dir == CODEC_TO_DAEMON ? "daemon" : "client");
		return -EBADMSG;
	}
	return check_fields(cmd, why, whylen);
}

void codec_set_error(struct tlspool_command *cmd, int tlserrno,
		     const char *fmt, ...)
{
	va_list ap;

	cmd->pio_cmd = PIOC_ERROR_V2;
	memset(&cmd->pio_data, 0, sizeof(cmd->pio_data));
	cmd->pio_data.pioc_error.tlserrno = tlserrno;
	va_start(ap, fmt);
	vsnprintf(cmd->pio_data.pioc_error.message,
		  sizeof(cmd->pio_data.pioc_error.message), fmt, ap);
	va_end(ap);
}

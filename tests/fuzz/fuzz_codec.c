/* libFuzzer target for the command decoder (lib/codec).
 *
 * Each input is used three ways:
 *  1. as one message of its real length, in an exactly sized heap copy
 *     (AddressSanitizer catches any read past what was received), and
 *     in a zero-padded struct-sized buffer;
 *  2. as a byte stream cut into 388-byte messages, the last one possibly
 *     short, the way the daemon and the client library read a socket;
 *  3. each accepted message is turned into an error reply, which must
 *     itself be accepted.
 * For every message codec_check runs in both directions, and whatever it
 * accepts is checked against the protocol's rules independently.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fuzz_require.h"

#define WHYLEN 160

/* abort() so that libFuzzer records the input as a crash. */
static size_t field_strlen(const char *s, size_t size)
{
	/* NUL inside the field is what codec_check promised */
	const char *nul = memchr(s, '\0', size);

	REQUIRE(nul != NULL);
	REQUIRE(strlen(s) < size);
	return (size_t)(nul - s);
}

#define STRF(member) \
	field_strlen((const char *)(member), sizeof(member))

static int to_daemon_only(uint32_t cmd)
{
	return cmd == PIOC_CONTROL_DETACH_V2 ||
	       cmd == PIOC_CONTROL_REATTACH_V2 ||
	       cmd == PIOC_LIDENTRY_REGISTER_V2;
}

/* Everything the daemon or client relies on after an accepted check. */
static void accepted_invariants(const struct tlspool_command *c,
				enum codec_dir dir)
{
	const union pio_data *d = &c->pio_data;

	REQUIRE(strcmp(codec_cmd_name(c->pio_cmd), "UNKNOWN") != 0);
	if (dir == CODEC_TO_CLIENT)
		REQUIRE(!to_daemon_only(c->pio_cmd));

	switch (c->pio_cmd) {
	case PIOC_ERROR_V2:
		REQUIRE(STRF(d->pioc_error.message) < 128);
		break;
	case PIOC_PING_V2:
		REQUIRE(STRF(d->pioc_ping.YYYYMMDD_producer) < 136);
		break;
	case PIOC_STARTTLS_V2:
	case PIOC_STARTTLS_LOCALID_V2:
	case PIOC_PLAINTEXT_CONNECT_V2:
		REQUIRE(STRF(d->pioc_starttls.localid) < 128);
		REQUIRE(STRF(d->pioc_starttls.remoteid) < 128);
		REQUIRE(STRF(d->pioc_starttls.service) < TLSPOOL_SERVICELEN);
		break;
	case PIOC_PINENTRY_V2:
		REQUIRE(STRF(d->pioc_pinentry.pin) < 128);
		REQUIRE(STRF(d->pioc_pinentry.prompt) < 128);
		REQUIRE(STRF(d->pioc_pinentry.token_manuf) < 36);
		REQUIRE(STRF(d->pioc_pinentry.token_model) < 20);
		REQUIRE(STRF(d->pioc_pinentry.token_serial) < 20);
		REQUIRE(STRF(d->pioc_pinentry.token_label) < 36);
		break;
	case PIOC_LIDENTRY_REGISTER_V2:
	case PIOC_LIDENTRY_CALLBACK_V2:
		REQUIRE(STRF(d->pioc_lidentry.localid) < 128);
		REQUIRE(STRF(d->pioc_lidentry.remoteid) < 128);
		break;
	case PIOC_CONTROL_DETACH_V2:
	case PIOC_CONTROL_REATTACH_V2:
		REQUIRE(STRF(d->pioc_control.name) < 128);
		break;
	case PIOC_PRNG_V2: {
		int in1 = d->pioc_prng.in1_len;
		int in2 = d->pioc_prng.in2_len;
		int out = d->pioc_prng.prng_len;
		int used;

		REQUIRE(in1 >= 0);
		REQUIRE(in2 >= -1);
		used = TLSPOOL_CTLKEYLEN + in1 + (in2 < 0 ? 0 : in2);
		REQUIRE(used <= TLSPOOL_PRNGBUFLEN);
		REQUIRE(out >= 0 && out <= TLSPOOL_PRNGBUFLEN);
		/* what a server would touch: label, context, output */
		{
			volatile uint8_t sink = 0;

			for (int i = 0; i < used; i++)
				sink ^= d->pioc_prng.buffer[i];
			for (int i = 0; i < out; i++)
				sink ^= d->pioc_prng.buffer[i];
			(void)sink;
		}
		break;
	}
	case PIOC_INFO_V2: {
		unsigned len = d->pioc_info.len;

		REQUIRE(len == PIOK_INFO_LEN_QUERY ||
			len <= TLSPOOL_INFOBUFLEN);
		if (len != PIOK_INFO_LEN_QUERY) {
			volatile uint8_t sink = 0;

			for (unsigned i = 0; i < len; i++)
				sink ^= d->pioc_info.buffer[i];
			(void)sink;
		}
		break;
	}
	default:
		break;
	}
}

/* Run the check one way with a few why buffers; returns its result. */
static int check_one(const struct tlspool_command *c, size_t len,
		     enum codec_dir dir)
{
	char why[WHYLEN];
	char tiny[5];
	int rc, rc2, rc3;

	memset(why, 0x55, sizeof(why));
	rc = codec_check(c, len, dir, why, sizeof(why));
	REQUIRE(rc == 0 || rc == -EBADMSG);
	REQUIRE(memchr(why, '\0', sizeof(why)) != NULL);
	if (rc == 0)
		REQUIRE(why[0] == '\0');
	else
		REQUIRE(why[0] != '\0');

	/* the answer does not depend on the reason buffer */
	memset(tiny, 0x55, sizeof(tiny));
	rc2 = codec_check(c, len, dir, tiny, sizeof(tiny));
	REQUIRE(rc2 == rc);
	REQUIRE(memchr(tiny, '\0', sizeof(tiny)) != NULL);
	if (rc != 0)
		REQUIRE(strncmp(tiny, why, sizeof(tiny) - 1) == 0);
	rc3 = codec_check(c, len, dir, NULL, 0);
	REQUIRE(rc3 == rc);

	if (len != CODEC_MSGLEN)
		REQUIRE(rc == -EBADMSG);
	if (rc == 0)
		accepted_invariants(c, dir);
	return rc;
}

/* Turning an accepted message into an error reply keeps the ids and
 * gives a message both directions accept. */
static void error_reply(const struct tlspool_command *c, const char *why)
{
	struct tlspool_command e;
	char out[WHYLEN];

	memcpy(&e, c, sizeof(e));
	codec_set_error(&e, -EBADMSG, "refused %s: %s",
			codec_cmd_name(c->pio_cmd), why);
	REQUIRE(e.pio_reqid == c->pio_reqid);
	REQUIRE(e.pio_cbid == c->pio_cbid);
	REQUIRE(e.pio_cmd == PIOC_ERROR_V2);
	REQUIRE(e.pio_data.pioc_error.tlserrno == -EBADMSG);
	REQUIRE(codec_check(&e, sizeof(e), CODEC_TO_CLIENT, out,
			    sizeof(out)) == 0);
	REQUIRE(codec_check(&e, sizeof(e), CODEC_TO_DAEMON, out,
			    sizeof(out)) == 0);
}

/* One message of len bytes at data. */
static void one_message(const uint8_t *data, size_t len)
{
	struct tlspool_command padded;
	uint8_t *exact;
	int rd, rc;

	/* exactly sized copy: any over-read is a heap overflow */
	exact = malloc(len > 0 ? len : 1);
	REQUIRE(exact != NULL);
	if (len > 0)
		memcpy(exact, data, len);
	rd = check_one((const struct tlspool_command *)exact, len,
		       CODEC_TO_DAEMON);
	rc = check_one((const struct tlspool_command *)exact, len,
		       CODEC_TO_CLIENT);
	free(exact);

	/* struct-sized, zero padded, with the real length */
	memset(&padded, 0, sizeof(padded));
	memcpy(&padded, data, len < sizeof(padded) ? len : sizeof(padded));
	REQUIRE(check_one(&padded, len, CODEC_TO_DAEMON) == rd);
	REQUIRE(check_one(&padded, len, CODEC_TO_CLIENT) == rc);

	/* a to-client message is a to-daemon one too, except for the
	 * to-daemon-only commands, which are never to-client */
	if (rc == 0)
		REQUIRE(rd == 0);
	if (len == CODEC_MSGLEN && to_daemon_only(padded.pio_cmd))
		REQUIRE(rc == -EBADMSG);

	if (len == CODEC_MSGLEN && (rd == 0 || rc == 0)) {
		error_reply(&padded, "fuzz");
	} else if (len == CODEC_MSGLEN) {
		char why[WHYLEN];

		codec_check(&padded, len, CODEC_TO_DAEMON, why, sizeof(why));
		error_reply(&padded, why);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off;

	/* the input as one message of its real length */
	one_message(data, size);

	/* the input as a stream of fixed-size messages */
	if (size > CODEC_MSGLEN) {
		for (off = 0; off + CODEC_MSGLEN <= size; off += CODEC_MSGLEN)
			one_message(data + off, CODEC_MSGLEN);
		if (off < size)
			one_message(data + off, size - off);
	}
	return 0;
}

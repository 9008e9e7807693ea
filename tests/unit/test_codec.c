/* Unit tests for lib/codec: message checks per command and direction,
 * string fields without NUL, length limits, error replies, names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

#define WHYLEN 256

struct cmdinfo {
	uint32_t code;
	const char *name;
	int to_daemon;
	int to_client;
};

static const struct cmdinfo all_cmds[] = {
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
};
#define N_CMDS (sizeof(all_cmds) / sizeof(all_cmds[0]))

/* A realistic, valid message for each command. */
static void make_valid(struct tlspool_command *c, uint32_t code)
{
	union pio_data *d = &c->pio_data;

	memset(c, 0, sizeof(*c));
	c->pio_reqid = 0x1234;
	c->pio_cbid = 0x5678;
	c->pio_cmd = code;
	switch (code) {
	case PIOC_ERROR_V2:
		d->pioc_error.tlserrno = EPERM;
		strcpy(d->pioc_error.message, "policy says no");
		break;
	case PIOC_PING_V2:
		strcpy(d->pioc_ping.YYYYMMDD_producer, TLSPOOL_IDENTITY_V2);
		d->pioc_ping.facilities = PIOF_FACILITY_STARTTLS;
		break;
	case PIOC_STARTTLS_V2:
	case PIOC_STARTTLS_LOCALID_V2:
	case PIOC_PLAINTEXT_CONNECT_V2:
		d->pioc_starttls.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
					 PIOF_STARTTLS_REMOTEROLE_SERVER;
		d->pioc_starttls.ipproto = 6;
		strcpy(d->pioc_starttls.localid, "user@example.com");
		strcpy(d->pioc_starttls.remoteid, "www.example.com");
		memset(d->pioc_starttls.ctlkey, 0xa5, TLSPOOL_CTLKEYLEN);
		memcpy(d->pioc_starttls.service, "http", 5);
		d->pioc_starttls.timeout = TLSPOOL_TIMEOUT_INFINITE;
		break;
	case PIOC_PINENTRY_V2:
		d->pioc_pinentry.attempt = 1;
		strcpy(d->pioc_pinentry.prompt, "PIN:");
		strcpy(d->pioc_pinentry.token_manuf, "SoftHSM project");
		strcpy(d->pioc_pinentry.token_model, "SoftHSM v2");
		strcpy(d->pioc_pinentry.token_serial, "0123456789abcdef");
		strcpy(d->pioc_pinentry.token_label, "pool");
		break;
	case PIOC_PRNG_V2:
		d->pioc_prng.in1_len = 10;
		d->pioc_prng.in2_len = -1;
		d->pioc_prng.prng_len = 32;
		memset(d->pioc_prng.buffer, 0x11, TLSPOOL_CTLKEYLEN);
		memcpy(d->pioc_prng.buffer + TLSPOOL_CTLKEYLEN, "EXPORTER-x", 10);
		break;
	case PIOC_INFO_V2:
		d->pioc_info.info_kind = PIOK_INFO_PEERCERT_SUBJECT;
		d->pioc_info.len = PIOK_INFO_LEN_QUERY;
		break;
	case PIOC_CONTROL_DETACH_V2:
	case PIOC_CONTROL_REATTACH_V2:
		memset(d->pioc_control.ctlkey, 0x5a, TLSPOOL_CTLKEYLEN);
		break;
	case PIOC_LIDENTRY_REGISTER_V2:
	case PIOC_LIDENTRY_CALLBACK_V2:
		d->pioc_lidentry.flags = PIOF_LIDENTRY_SKIP_USER;
		d->pioc_lidentry.maxlevels = 10;
		d->pioc_lidentry.timeout = 1000;
		strcpy(d->pioc_lidentry.localid, "user@example.com");
		strcpy(d->pioc_lidentry.remoteid, "peer@example.org");
		break;
	default:
		break;
	}
}

static int check(const struct tlspool_command *c, enum codec_dir dir,
		 char *why)
{
	return codec_check(c, sizeof(*c), dir, why, WHYLEN);
}

static void assert_refused(const struct tlspool_command *c, enum codec_dir dir,
			   const char *needle)
{
	char why[WHYLEN];

	memset(why, 'x', sizeof(why));
	assert_int_equal(check(c, dir, why), -EBADMSG);
	assert_non_null(memchr(why, '\0', sizeof(why)));
	assert_true(why[0] != '\0');
	if (needle != NULL && strstr(why, needle) == NULL)
		fail_msg("why \"%s\" does not mention \"%s\"", why, needle);
}

static void assert_accepted(const struct tlspool_command *c,
			    enum codec_dir dir)
{
	char why[WHYLEN];
	int rc;

	memset(why, 'x', sizeof(why));
	rc = check(c, dir, why);
	if (rc != 0)
		fail_msg("cmd 0x%08x dir %d refused: %s", c->pio_cmd, dir, why);
	assert_string_equal(why, "");
}

static void test_wire_size(void **state)
{
	(void)state;
	assert_int_equal(CODEC_MSGLEN, 388);
	assert_int_equal(sizeof(struct tlspool_command), 388);
}

static void test_directions(void **state)
{
	struct tlspool_command c;

	(void)state;
	for (size_t i = 0; i < N_CMDS; i++) {
		make_valid(&c, all_cmds[i].code);
		if (all_cmds[i].to_daemon)
			assert_accepted(&c, CODEC_TO_DAEMON);
		else
			assert_refused(&c, CODEC_TO_DAEMON, "command");
		if (all_cmds[i].to_client)
			assert_accepted(&c, CODEC_TO_CLIENT);
		else
			assert_refused(&c, CODEC_TO_CLIENT, "command");
	}
}

static void test_to_daemon_only(void **state)
{
	static const uint32_t only[] = { PIOC_CONTROL_DETACH_V2,
					 PIOC_CONTROL_REATTACH_V2,
					 PIOC_LIDENTRY_REGISTER_V2 };
	struct tlspool_command c;
	char hex[16];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		make_valid(&c, only[i]);
		assert_accepted(&c, CODEC_TO_DAEMON);
		snprintf(hex, sizeof(hex), "0x%08x", only[i]);
		assert_refused(&c, CODEC_TO_CLIENT, hex);
	}
}

static void test_unknown_commands(void **state)
{
	static const uint32_t bad[] = { 0x2, 0x11, 0x20, 0x23, 0x25, 0x2d,
					0xff, 0x102, 0x1ff, 0x202, 0x10000,
					PIOC_LOCAL, PIOC_LOCAL | PIOC_PING_V2,
					0xffffffff };
	struct tlspool_command c;
	char needle[40];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.pio_cmd = bad[i];
		snprintf(needle, sizeof(needle), "unknown command 0x%08x",
			 bad[i]);
		assert_refused(&c, CODEC_TO_DAEMON, needle);
		assert_refused(&c, CODEC_TO_CLIENT, needle);
	}
}

static void test_wrong_sizes(void **state)
{
	/* Large enough for the 389-byte case; only len bytes count. */
	union {
		struct tlspool_command c;
		unsigned char raw[sizeof(struct tlspool_command) + 16];
	} u;
	static const size_t sizes[] = { 0, 1, 8, 387, 389, 776 };
	char why[WHYLEN];
	char needle[32];

	(void)state;
	memset(&u, 0, sizeof(u));
	make_valid(&u.c, PIOC_PING_V2);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int dir = 0; dir < 2; dir++) {
			memset(why, 'x', sizeof(why));
			assert_int_equal(codec_check(&u.c, sizes[i], dir, why,
						     sizeof(why)),
					 -EBADMSG);
			snprintf(needle, sizeof(needle), "%zu bytes",
				 sizes[i]);
			if (strstr(why, needle) == NULL)
				fail_msg("why \"%s\" lacks \"%s\"", why,
					 needle);
		}
	}
	/* and the right size with the same contents is fine */
	assert_int_equal(codec_check(&u.c, 388, CODEC_TO_DAEMON, why,
				     sizeof(why)), 0);
}

/* Fill a string field completely (no NUL) and check the refusal names
 * the field; then put a NUL in its last byte and check acceptance. */
static void check_field(uint32_t code, size_t off, size_t size,
			const char *fieldname)
{
	struct tlspool_command c;
	unsigned char *field;

	for (int dir = 0; dir < 2; dir++) {
		make_valid(&c, code);
		if (dir == CODEC_TO_CLIENT &&
		    (code == PIOC_CONTROL_DETACH_V2 ||
		     code == PIOC_CONTROL_REATTACH_V2 ||
		     code == PIOC_LIDENTRY_REGISTER_V2))
			continue;
		field = (unsigned char *)&c.pio_data + off;
		memset(field, 'A', size);
		assert_refused(&c, dir, fieldname);
		field[size - 1] = '\0';
		assert_accepted(&c, dir);
		/* A NUL just after the field does not count as its NUL. */
		field[size - 1] = 'A';
		if (off + size < sizeof(c.pio_data))
			field[size] = '\0';
		assert_refused(&c, dir, fieldname);
	}
}

#define FIELD(cmd, member, f, name) \
	check_field(cmd, offsetof(union pio_data, member.f), \
		    sizeof(((union pio_data *)0)->member.f), name)

static void test_string_fields(void **state)
{
	(void)state;
	FIELD(PIOC_ERROR_V2, pioc_error, message, "message");
	FIELD(PIOC_PING_V2, pioc_ping, YYYYMMDD_producer, "YYYYMMDD_producer");
	static const uint32_t st[] = { PIOC_STARTTLS_V2,
				       PIOC_STARTTLS_LOCALID_V2,
				       PIOC_PLAINTEXT_CONNECT_V2 };
	for (size_t i = 0; i < 3; i++) {
		FIELD(st[i], pioc_starttls, localid, "localid");
		FIELD(st[i], pioc_starttls, remoteid, "remoteid");
		FIELD(st[i], pioc_starttls, service, "service");
	}
	FIELD(PIOC_PINENTRY_V2, pioc_pinentry, pin, "pin");
	FIELD(PIOC_PINENTRY_V2, pioc_pinentry, prompt, "prompt");
	FIELD(PIOC_PINENTRY_V2, pioc_pinentry, token_manuf, "token_manuf");
	FIELD(PIOC_PINENTRY_V2, pioc_pinentry, token_model, "token_model");
	FIELD(PIOC_PINENTRY_V2, pioc_pinentry, token_serial, "token_serial");
	FIELD(PIOC_PINENTRY_V2, pioc_pinentry, token_label, "token_label");
	static const uint32_t lid[] = { PIOC_LIDENTRY_REGISTER_V2,
					PIOC_LIDENTRY_CALLBACK_V2 };
	for (size_t i = 0; i < 2; i++) {
		FIELD(lid[i], pioc_lidentry, localid, "localid");
		FIELD(lid[i], pioc_lidentry, remoteid, "remoteid");
	}
	FIELD(PIOC_CONTROL_DETACH_V2, pioc_control, name, "name");
	FIELD(PIOC_CONTROL_REATTACH_V2, pioc_control, name, "name");
}

/* Binary fields are not strings: all-0xff ctlkeys, flags and the raw
 * buffers of PRNG and INFO do not need a NUL. */
static void test_binary_fields_free(void **state)
{
	struct tlspool_command c;

	(void)state;
	make_valid(&c, PIOC_STARTTLS_V2);
	memset(c.pio_data.pioc_starttls.ctlkey, 0xff, TLSPOOL_CTLKEYLEN);
	c.pio_data.pioc_starttls.flags = 0xffffffff;
	c.pio_data.pioc_starttls.streamid = 0xffff;
	assert_accepted(&c, CODEC_TO_DAEMON);
	make_valid(&c, PIOC_PRNG_V2);
	memset(c.pio_data.pioc_prng.buffer, 0xff, TLSPOOL_PRNGBUFLEN);
	assert_accepted(&c, CODEC_TO_CLIENT);
	make_valid(&c, PIOC_INFO_V2);
	c.pio_data.pioc_info.len = 10;
	memset(c.pio_data.pioc_info.buffer, 0xff, TLSPOOL_INFOBUFLEN);
	assert_accepted(&c, CODEC_TO_CLIENT);
	make_valid(&c, PIOC_CONTROL_DETACH_V2);
	memset(c.pio_data.pioc_control.ctlkey, 0xff, TLSPOOL_CTLKEYLEN);
	assert_accepted(&c, CODEC_TO_DAEMON);
	/* SUCCESS carries no fields at all */
	memset(&c, 0xff, sizeof(c));
	c.pio_cmd = PIOC_SUCCESS_V2;
	assert_accepted(&c, CODEC_TO_DAEMON);
	assert_accepted(&c, CODEC_TO_CLIENT);
}

static void set_prng(struct tlspool_command *c, int in1, int in2, int out)
{
	make_valid(c, PIOC_PRNG_V2);
	c->pio_data.pioc_prng.in1_len = (int16_t)in1;
	c->pio_data.pioc_prng.in2_len = (int16_t)in2;
	c->pio_data.pioc_prng.prng_len = (int16_t)out;
}

static void test_prng_limits(void **state)
{
	struct tlspool_command c;
	const int room = TLSPOOL_PRNGBUFLEN - TLSPOOL_CTLKEYLEN; /* 334 */

	(void)state;
	for (int dir = 0; dir < 2; dir++) {
		/* accepted edges */
		set_prng(&c, 0, -1, 0);
		assert_accepted(&c, dir);
		set_prng(&c, room, -1, 350);
		assert_accepted(&c, dir);
		set_prng(&c, room, 0, 1);
		assert_accepted(&c, dir);
		set_prng(&c, 100, room - 100, 32);
		assert_accepted(&c, dir);
		set_prng(&c, 0, room, 32);
		assert_accepted(&c, dir);

		/* negative in1 */
		set_prng(&c, -1, -1, 32);
		assert_refused(&c, dir, "in1=-1");
		set_prng(&c, -32768, 0, 32);
		assert_refused(&c, dir, "PRNG");
		/* in2 below -1 */
		set_prng(&c, 10, -2, 32);
		assert_refused(&c, dir, "in2=-2");
		set_prng(&c, 10, -32768, 32);
		assert_refused(&c, dir, "PRNG");
		/* 16 + in1 + in2 > 350 */
		set_prng(&c, room + 1, -1, 32);
		assert_refused(&c, dir, "overflow");
		set_prng(&c, room, 1, 32);
		assert_refused(&c, dir, "overflow");
		set_prng(&c, 100, room - 99, 32);
		assert_refused(&c, dir, "overflow");
		set_prng(&c, 32767, 32767, 32);
		assert_refused(&c, dir, "overflow");
		/* output length */
		set_prng(&c, 10, -1, 351);
		assert_refused(&c, dir, "351");
		set_prng(&c, 10, -1, 32767);
		assert_refused(&c, dir, "output");
		set_prng(&c, 10, -1, -1);
		assert_refused(&c, dir, "output");
	}
}

static void test_info_len(void **state)
{
	struct tlspool_command c;
	static const unsigned ok[] = { 0, 1, 333, 334, 0xffff };
	static const unsigned bad[] = { 335, 336, 1000, 0x8000, 0xfffe };

	(void)state;
	for (int dir = 0; dir < 2; dir++) {
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			make_valid(&c, PIOC_INFO_V2);
			c.pio_data.pioc_info.len = (uint16_t)ok[i];
			assert_accepted(&c, dir);
		}
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char needle[16];

			make_valid(&c, PIOC_INFO_V2);
			c.pio_data.pioc_info.len = (uint16_t)bad[i];
			snprintf(needle, sizeof(needle), "%u", bad[i]);
			assert_refused(&c, dir, needle);
		}
	}
}

static void test_why_buffer(void **state)
{
	struct tlspool_command c;
	char why[8];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.pio_cmd = 0x77;
	/* no buffer at all */
	assert_int_equal(codec_check(&c, sizeof(c), CODEC_TO_DAEMON, NULL, 0),
			 -EBADMSG);
	assert_int_equal(codec_check(&c, 3, CODEC_TO_DAEMON, NULL, 0),
			 -EBADMSG);
	/* a short buffer is truncated and terminated */
	memset(why, 'x', sizeof(why));
	assert_int_equal(codec_check(&c, sizeof(c), CODEC_TO_DAEMON, why,
				     sizeof(why)), -EBADMSG);
	assert_int_equal(why[sizeof(why) - 1], '\0');
	assert_int_equal(strlen(why), sizeof(why) - 1);
	/* one byte: just the NUL */
	why[0] = 'x';
	assert_int_equal(codec_check(&c, sizeof(c), CODEC_TO_DAEMON, why, 1),
			 -EBADMSG);
	assert_int_equal(why[0], '\0');
	/* success clears a stale reason */
	make_valid(&c, PIOC_PING_V2);
	memcpy(why, "stale", 6);
	assert_int_equal(codec_check(&c, sizeof(c), CODEC_TO_DAEMON, why,
				     sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(codec_check(&c, sizeof(c), CODEC_TO_DAEMON, NULL, 0),
			 0);
}

static void test_str_ok(void **state)
{
	char buf[4] = { 'a', 'b', 'c', 'd' };

	(void)state;
	assert_false(codec_str_ok(buf, sizeof(buf)));
	assert_false(codec_str_ok(buf, 0));
	buf[3] = '\0';
	assert_true(codec_str_ok(buf, sizeof(buf)));
	assert_false(codec_str_ok(buf, 3));
	buf[0] = '\0';
	assert_true(codec_str_ok(buf, 1));
}

static void test_set_error(void **state)
{
	struct tlspool_command c;
	char longmsg[400];
	char why[WHYLEN];

	(void)state;
	make_valid(&c, PIOC_STARTTLS_V2);
	c.pio_reqid = 0xbeef;
	c.pio_cbid = 0xcafe;
	codec_set_error(&c, EACCES, "rule %s failed at %d", "r1", 7);
	assert_int_equal(c.pio_reqid, 0xbeef);
	assert_int_equal(c.pio_cbid, 0xcafe);
	assert_int_equal(c.pio_cmd, PIOC_ERROR_V2);
	assert_int_equal(c.pio_data.pioc_error.tlserrno, EACCES);
	assert_string_equal(c.pio_data.pioc_error.message,
			    "rule r1 failed at 7");
	/* the rest of the union is cleared: no identities leak out */
	for (size_t i = sizeof(struct pioc_error); i < sizeof(c.pio_data);
	     i++)
		assert_int_equal(c.pio_data.pioc_raw[i], 0);
	assert_int_equal(check(&c, CODEC_TO_CLIENT, why), 0);
	assert_int_equal(check(&c, CODEC_TO_DAEMON, why), 0);

	/* long messages are truncated and stay terminated */
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	make_valid(&c, PIOC_PING_V2);
	c.pio_reqid = 7;
	c.pio_cbid = 0;
	codec_set_error(&c, -1, "%s", longmsg);
	assert_int_equal(c.pio_reqid, 7);
	assert_int_equal(c.pio_cbid, 0);
	assert_int_equal(c.pio_data.pioc_error.tlserrno, -1);
	assert_int_equal(c.pio_data.pioc_error.message[127], '\0');
	assert_int_equal(strlen(c.pio_data.pioc_error.message), 127);
	assert_memory_equal(c.pio_data.pioc_error.message, longmsg, 127);
	assert_int_equal(check(&c, CODEC_TO_CLIENT, why), 0);

	/* exactly 127 characters fit */
	longmsg[127] = '\0';
	codec_set_error(&c, 1, "%s", longmsg);
	assert_string_equal(c.pio_data.pioc_error.message, longmsg);
	/* empty message */
	codec_set_error(&c, 2, "%s", "");
	assert_string_equal(c.pio_data.pioc_error.message, "");
	assert_int_equal(check(&c, CODEC_TO_CLIENT, why), 0);
}

static void test_cmd_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_CMDS; i++)
		assert_string_equal(codec_cmd_name(all_cmds[i].code),
				    all_cmds[i].name);
	assert_string_equal(codec_cmd_name(0x2), "UNKNOWN");
	assert_string_equal(codec_cmd_name(0x2d), "UNKNOWN");
	assert_string_equal(codec_cmd_name(PIOC_LOCAL), "UNKNOWN");
	assert_string_equal(codec_cmd_name(PIOC_LOCAL | PIOC_STARTTLS_V2),
			    "UNKNOWN");
	assert_string_equal(codec_cmd_name(0xffffffff), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_size),
		cmocka_unit_test(test_directions),
		cmocka_unit_test(test_to_daemon_only),
		cmocka_unit_test(test_unknown_commands),
		cmocka_unit_test(test_wrong_sizes),
		cmocka_unit_test(test_string_fields),
		cmocka_unit_test(test_binary_fields_free),
		cmocka_unit_test(test_prng_limits),
		cmocka_unit_test(test_info_len),
		cmocka_unit_test(test_why_buffer),
		cmocka_unit_test(test_str_ok),
		cmocka_unit_test(test_set_error),
		cmocka_unit_test(test_cmd_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

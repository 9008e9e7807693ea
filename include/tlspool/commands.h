/* tlspool/commands.h -- wire format of the pool socket protocol.
 *
 * Compatible with the ARPA2 TLS Pool v2 protocol: every message is one
 * fixed-size struct tlspool_command in native byte order, packed to 2.
 * File descriptors travel as SCM_RIGHTS ancillary data.
 *
 * On Windows (named pipe \\.\pipe\tlspool in message mode) there is no
 * SCM_RIGHTS: the message itself grows by pio_ancil_type and
 * pio_ancil_data after pio_data, and a socket travels as the
 * WSAPROTOCOL_INFOW that WSADuplicateSocketW made for the receiving
 * process (ARPA2 TLS Pool layout).  TLSPOOL_MSGLEN is the size of one
 * message on the wire of the platform (388 bytes, 1018 on Windows).
 */
#ifndef TLSPOOL_COMMANDS_H
#define TLSPOOL_COMMANDS_H

#include <stdint.h>
#ifdef _WIN32
#include <winsock2.h>
#include <windows.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define TLSPOOL_IDENTITY_V2 "20151111api@tlspool.arpa2.net"

#define TLSPOOL_CTLKEYLEN 16
#define TLSPOOL_SERVICELEN 16
#define TLSPOOL_PRNGBUFLEN 350
#define TLSPOOL_INFOBUFLEN 334
#define TLSPOOL_TIMEOUT_DEFAULT 0
#define TLSPOOL_TIMEOUT_INFINITE (~(uint32_t)0)

#pragma pack(push, 2)

struct pioc_error {
	int32_t tlserrno;
	char message[128];
};

struct pioc_ping {
	char YYYYMMDD_producer[8 + 128];
	uint32_t facilities;
};

struct pioc_starttls {
	uint32_t flags;
	uint32_t local;
	uint8_t ipproto;
	uint16_t streamid;
	char localid[128];
	char remoteid[128];
	uint8_t ctlkey[TLSPOOL_CTLKEYLEN];
	uint8_t service[TLSPOOL_SERVICELEN];
	uint32_t timeout;
};

struct pioc_pinentry {
	uint32_t flags;
	uint32_t attempt;
	uint32_t timeout_us;
	char pin[128];
	char prompt[128];
	char token_manuf[32 + 1 + 3];
	char token_model[16 + 1 + 3];
	char token_serial[16 + 1 + 3];
	char token_label[32 + 1 + 3];
};

struct pioc_lidentry {
	uint32_t flags;
	uint16_t maxlevels;
	uint32_t timeout;
	char localid[128];
	char remoteid[128];
};

struct pioc_control {
	uint32_t flags;
	uint8_t ctlkey[TLSPOOL_CTLKEYLEN];
	char name[128];
};

struct pioc_prng {
	int16_t in1_len, in2_len, prng_len;
	uint8_t buffer[TLSPOOL_PRNGBUFLEN];
};

struct pioc_info {
	uint8_t ctlkey[TLSPOOL_CTLKEYLEN];
	uint32_t info_kind;
	uint16_t len;
	uint8_t buffer[TLSPOOL_INFOBUFLEN];
};

struct tlspool_command {
	uint16_t pio_reqid;
	uint16_t pio_cbid;
	uint32_t pio_cmd;
	union pio_data {
		struct pioc_error pioc_error;
		struct pioc_ping pioc_ping;
		struct pioc_starttls pioc_starttls;
		struct pioc_pinentry pioc_pinentry;
		struct pioc_lidentry pioc_lidentry;
		struct pioc_control pioc_control;
		struct pioc_prng pioc_prng;
		struct pioc_info pioc_info;
		uint8_t pioc_raw[380];
	} pio_data;
#ifdef _WIN32
	/* Windows only: what travels with the message (ANCIL_TYPE_*). */
	uint8_t pio_ancil_type;
	union pio_ancil_data {
		WSAPROTOCOL_INFOW pioa_socket;	/* ANCIL_TYPE_SOCKET */
		HANDLE pioa_filehandle;		/* ANCIL_TYPE_FILEHANDLE */
	} pio_ancil_data;
#endif
};

#pragma pack(pop)

/* The common part of every message: header and pio_data. */
#define TLSPOOL_CMD_BASELEN 388
/* One message on the wire: TLSPOOL_CMD_BASELEN on POSIX; on Windows
 * followed by pio_ancil_type (offset 388) and pio_ancil_data (offset 390,
 * a WSAPROTOCOL_INFOW of 628 bytes), 1018 bytes in all. */
#define TLSPOOL_MSGLEN ((size_t)sizeof(struct tlspool_command))

#ifdef _WIN32
#define ANCIL_TYPE_NONE		0
#define ANCIL_TYPE_SOCKET	1
#define ANCIL_TYPE_FILEHANDLE	2
#endif

typedef struct pioc_ping pingpool_t;
typedef struct pioc_starttls starttls_t;
typedef struct pioc_pinentry pinentry_t;
typedef struct pioc_lidentry lidentry_t;

/* Commands (pio_cmd) */
#define PIOC_SUCCESS_V2			0x00000000
#define PIOC_ERROR_V2			0x00000001
#define PIOC_PING_V2			0x00000010
#define PIOC_STARTTLS_V2		0x00000024
#define PIOC_STARTTLS_LOCALID_V2	0x00000028
#define PIOC_PINENTRY_V2		0x00000029
#define PIOC_PLAINTEXT_CONNECT_V2	0x0000002a
#define PIOC_PRNG_V2			0x0000002b
#define PIOC_INFO_V2			0x0000002c
#define PIOC_CONTROL_DETACH_V2		0x00000100
#define PIOC_CONTROL_REATTACH_V2	0x00000101
#define PIOC_LIDENTRY_REGISTER_V2	0x00000200
#define PIOC_LIDENTRY_CALLBACK_V2	0x00000201
#define PIOC_LOCAL			0x80000000

/* Facilities (pioc_ping.facilities) */
#define PIOF_FACILITY_STARTTLS		0x00000001
#define PIOF_FACILITY_STARTGSS		0x00000002
#define PIOF_FACILITY_STARTSSH		0x00000004
#define PIOF_FACILITY_ALL_CURRENT	0x00000001

/* STARTTLS flags (pioc_starttls.flags) */
#define PIOF_STARTTLS_LOCALROLE_CLIENT		0x00000001
#define PIOF_STARTTLS_LOCALROLE_SERVER		0x00000002
#define PIOF_STARTTLS_LOCALROLE_PEER		0x00000003
#define PIOF_STARTTLS_REMOTEROLE_CLIENT		0x00000004
#define PIOF_STARTTLS_REMOTEROLE_SERVER		0x00000008
#define PIOF_STARTTLS_REMOTEROLE_PEER		0x0000000c
#define PIOF_STARTTLS_DTLS			0x00000100
#define PIOF_STARTTLS_WITHOUT_SNI		0x00000200
#define PIOF_STARTTLS_IGNORE_CACHES		0x00000400
#define PIOF_STARTTLS_REQUEST_REMOTEID		0x00000800
#define PIOF_STARTTLS_IGNORE_REMOTEID		0x00001000
#define PIOF_STARTTLS_DETACH			0x00002000
#define PIOF_STARTTLS_FORK			0x00004000
#define PIOF_STARTTLS_DOMAIN_REPRESENTS_USER	0x00008000
#define PIOF_STARTTLS_LOCALID_CHECK		0x00010000
#define PIOF_STARTTLS_RENEGOTIATE		0x00020000
#define PIOF_STARTTLS_LOCALID_ONTHEFLY		0x00040000

/* LIDENTRY flags (pioc_lidentry.flags); test SKIP_ values on all bits */
#define PIOF_LIDENTRY_SKIP_DBENTRY		0x00000080
#define PIOF_LIDENTRY_SKIP_USER			0x00000081
#define PIOF_LIDENTRY_SKIP_DOMAIN_SAME		0x00000082
#define PIOF_LIDENTRY_SKIP_DOMAIN_ONEUP		0x00000084
#define PIOF_LIDENTRY_SKIP_DOMAIN_SUB		0x00000086
#define PIOF_LIDENTRY_SKIP_NOTROOT		0x00000088
#define PIOF_LIDENTRY_WANT_DBENTRY		0x00000100
#define PIOF_LIDENTRY_REGFLAGS			0x00000fff
#define PIOF_LIDENTRY_DBENTRY			0x00001000
#define PIOF_LIDENTRY_DBINSERT			0x00002000
#define PIOF_LIDENTRY_DBAPPEND			0x00004000
#define PIOF_LIDENTRY_DBREORDER			0x00008000
#define PIOF_LIDENTRY_NEW			0x00100000
#define PIOF_LIDENTRY_ONTHEFLY			0x00200000

/* INFO kinds (pioc_info.info_kind) */
#define PIOK_INFO_PEERCERT_SUBJECT		0x52800000
#define PIOK_INFO_PEERCERT_ISSUER		0x52800001
#define PIOK_INFO_PEERCERT_SUBJECTALTNAME	0x52800002
#define PIOK_INFO_MYCERT_SUBJECT		0x52800100
#define PIOK_INFO_MYCERT_ISSUER			0x52800101
#define PIOK_INFO_MYCERT_SUBJECTALTNAME		0x52800102
#define PIOK_INFO_CHANBIND_TLS_UNIQUE		0x59290000
#define PIOK_INFO_CHANBIND_TLS_SERVER_END_POINT	0x59290001
#define PIOK_INFO_LEN_QUERY			0xffff

#ifdef __cplusplus
}
#endif

#endif

/* ctlmsg_win32 -- one message on the Windows named pipe (PROTOCOL.md,
 * Windows transport): the 388-byte struct tlspool_command, then
 * pio_ancil_type and the ancillary data, packed to 2.  This is the
 * layout include/tlspool/commands.h gives the client library under
 * _WIN32; the daemon spells it out here with the command as bytes, so it
 * does not depend on how that header nests the fields. */
#ifndef TP_CTLMSG_WIN32_H
#define TP_CTLMSG_WIN32_H

#include <winsock2.h>
#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#define CTLMSG_CMD_SIZE 388

enum ctlmsg_ancil {
	CTLMSG_ANCIL_NONE = 0,
	CTLMSG_ANCIL_SOCKET = 1,	/* WSAPROTOCOL_INFOW from WSADuplicateSocketW */
	CTLMSG_ANCIL_FILEHANDLE = 2,	/* the client's own handle of a socket */
};

#pragma pack(push, 2)
struct ctlmsg_win32 {
	uint8_t cmd[CTLMSG_CMD_SIZE];
	uint8_t pio_ancil_type;
	union {
		WSAPROTOCOL_INFOW pioa_socket;
		HANDLE pioa_filehandle;
	} pio_ancil_data;
};
#pragma pack(pop)

_Static_assert(offsetof(struct ctlmsg_win32, pio_ancil_type) == 388,
	       "pio_ancil_type follows the command");
_Static_assert(offsetof(struct ctlmsg_win32, pio_ancil_data) == 390,
	       "pack(2): the ancillary data starts at 390");

#endif

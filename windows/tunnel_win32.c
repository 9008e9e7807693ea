/* tunnel_win32 -- tlstunnel's platform part on Windows: Winsock, with
 * SOCKETs carried as int the way libtlspool takes them.
 */
#include "tunnel_plat.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <windows.h>

#include "win32err.h"

#define TUNNEL_SOCK(fd) ((SOCKET)(intptr_t)(fd))
#define TUNNEL_INT(s) ((int)(intptr_t)(s))

/* -1 with errno from WSAGetLastError. */
static int tunnel_plat_fail(void)
{
	errno = win32err_errno((DWORD)WSAGetLastError());
	return -1;
}

int tunnel_plat_init(void)
{
	WSADATA wsa;
	int rc = WSAStartup(MAKEWORD(2, 2), &wsa);

	if (rc != 0) {
		fprintf(stderr, "tlstunnel: WSAStartup failed (%d)\n", rc);
		return -1;
	}
	return 0;
}

static SOCKET tunnel_plat_wsasocket(int family, int type, int protocol,
				    WSAPROTOCOL_INFOW *info)
{
	SOCKET s = WSASocketW(family, type, protocol, info, 0,
			      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);

	if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL)
		s = WSASocketW(family, type, protocol, info, 0,
			       WSA_FLAG_OVERLAPPED);
	return s;
}

int tunnel_plat_socket(int family, int type, int protocol)
{
	SOCKET s = tunnel_plat_wsasocket(family, type, protocol, NULL);

	return s == INVALID_SOCKET ? tunnel_plat_fail() : TUNNEL_INT(s);
}

int tunnel_plat_listen(int fd, const struct sockaddr *addr, socklen_t len)
{
	SOCKET s = TUNNEL_SOCK(fd);
	int one = 1;

	/* SO_REUSEADDR would let others take the port over on Windows. */
	setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one,
		   sizeof(one));
	if (bind(s, addr, len) != 0 || listen(s, 128) != 0)
		return tunnel_plat_fail();
	return 0;
}

int tunnel_plat_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return connect(TUNNEL_SOCK(fd), addr, len) != 0 ? tunnel_plat_fail()
							: 0;
}

int tunnel_plat_accept(int lfd)
{
	SOCKET s = accept(TUNNEL_SOCK(lfd), NULL, NULL);

	return s == INVALID_SOCKET ? tunnel_plat_fail() : TUNNEL_INT(s);
}

int tunnel_plat_dup(int fd)
{
	WSAPROTOCOL_INFOW info;
	SOCKET s;

	if (WSADuplicateSocketW(TUNNEL_SOCK(fd), GetCurrentProcessId(),
				&info) != 0)
		return tunnel_plat_fail();
	s = tunnel_plat_wsasocket(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
				  FROM_PROTOCOL_INFO, &info);
	return s == INVALID_SOCKET ? tunnel_plat_fail() : TUNNEL_INT(s);
}

void tunnel_plat_close(int fd)
{
	if (fd >= 0)
		closesocket(TUNNEL_SOCK(fd));
}

/* ---- --stdio: one thread per direction ---- */

static DWORD WINAPI tunnel_plat_up(LPVOID arg)
{
	SOCKET s = (SOCKET)(uintptr_t)arg;
	HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
	char buf[16384];
	DWORD n;

	while (ReadFile(in, buf, sizeof(buf), &n, NULL) && n > 0) {
		for (DWORD off = 0; off < n;) {
			int k = send(s, buf + off, (int)(n - off), 0);

			if (k <= 0)
				goto out;
			off += (DWORD)k;
		}
	}
out:
	shutdown(s, SD_SEND);
	return 0;
}

static DWORD WINAPI tunnel_plat_down(LPVOID arg)
{
	SOCKET s = (SOCKET)(uintptr_t)arg;
	HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
	char buf[16384];
	int k;

	while ((k = recv(s, buf, sizeof(buf), 0)) > 0) {
		for (DWORD off = 0; off < (DWORD)k;) {
			DWORD n;

			if (!WriteFile(out, buf + off, (DWORD)k - off, &n, NULL))
				return 0;	/* the reader is gone */
			off += n;
		}
	}
	return 0;
}

void tunnel_plat_copy(int sock)
{
	LPVOID arg = (LPVOID)(uintptr_t)TUNNEL_SOCK(sock);
	HANDLE t[2];

	t[0] = CreateThread(NULL, 0, tunnel_plat_up, arg, 0, NULL);
	t[1] = CreateThread(NULL, 0, tunnel_plat_down, arg, 0, NULL);
	if (t[0] == NULL || t[1] == NULL) {
		fprintf(stderr, "tlstunnel: cannot start the copy threads\n");
		shutdown(TUNNEL_SOCK(sock), SD_BOTH);
	}
	/* The session ends when the peer's data ended; stdin's end alone
	 * only half-closes (the reading thread may block in ReadFile). */
	if (t[1] != NULL)
		WaitForSingleObject(t[1], INFINITE);
	for (int i = 0; i < 2; i++)
		if (t[i] != NULL)
			CloseHandle(t[i]);
}

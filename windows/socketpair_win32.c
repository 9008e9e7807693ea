/* socketpair_win32 -- socketpair() for Windows over 127.0.0.1. */
#include "socketpair_win32.h"

#include <errno.h>
#include <string.h>

#include "win32err.h"

/* Foreign connections we skip before giving up. */
#define SOCKETPAIR_WIN32_TRIES 16

static int socketpair_win32_err(void)
{
	return -win32err_errno((DWORD)WSAGetLastError());
}

static SOCKET socketpair_win32_socket(void)
{
	SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
			      WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);

	if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL)
		/* Windows before 7 SP1 does not know the flag. */
		s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
			       WSA_FLAG_OVERLAPPED);
	return s;
}

/* A listener on 127.0.0.1, port 0; its address in *addr. */
static int socketpair_win32_listen(SOCKET *lst, struct sockaddr_in *addr)
{
	int len = sizeof(*addr), one = 1;

	*lst = socketpair_win32_socket();
	if (*lst == INVALID_SOCKET)
		return socketpair_win32_err();
	/* Nobody may bind the same port and steal the connection. */
	setsockopt(*lst, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&one,
		   sizeof(one));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr->sin_port = 0;
	if (bind(*lst, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
	    listen(*lst, SOMAXCONN) != 0 ||
	    getsockname(*lst, (struct sockaddr *)addr, &len) != 0)
		return socketpair_win32_err();
	return 0;
}

/* Accept until the connection from mine arrives.  0 or -errno. */
static int socketpair_win32_accept(SOCKET lst, const struct sockaddr_in *mine,
				   SOCKET *out)
{
	for (int i = 0; i < SOCKETPAIR_WIN32_TRIES; i++) {
		struct sockaddr_in peer;
		int len = sizeof(peer);
		SOCKET a = accept(lst, (struct sockaddr *)&peer, &len);

		if (a == INVALID_SOCKET)
			return socketpair_win32_err();
		if (len == (int)sizeof(peer) && peer.sin_family == AF_INET &&
		    peer.sin_addr.s_addr == mine->sin_addr.s_addr &&
		    peer.sin_port == mine->sin_port) {
			*out = a;
			return 0;
		}
		closesocket(a);		/* somebody else: not our pair */
	}
	return -ECONNABORTED;
}

int socketpair_win32_hooked(SOCKET sv[2],
			    void (*hook)(const struct sockaddr_in *, void *),
			    void *arg)
{
	SOCKET lst = INVALID_SOCKET, a = INVALID_SOCKET, b = INVALID_SOCKET;
	struct sockaddr_in addr, mine;
	int len = sizeof(mine), rc;

	rc = socketpair_win32_listen(&lst, &addr);
	if (rc < 0)
		goto fail;
	if (hook != NULL)
		hook(&addr, arg);
	b = socketpair_win32_socket();
	if (b == INVALID_SOCKET ||
	    connect(b, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(b, (struct sockaddr *)&mine, &len) != 0) {
		rc = socketpair_win32_err();
		goto fail;
	}
	rc = socketpair_win32_accept(lst, &mine, &a);
	if (rc < 0)
		goto fail;
	closesocket(lst);
	sv[0] = a;
	sv[1] = b;
	return 0;
fail:
	if (b != INVALID_SOCKET)
		closesocket(b);
	if (lst != INVALID_SOCKET)
		closesocket(lst);
	return rc;
}

int socketpair_win32(SOCKET sv[2])
{
	return socketpair_win32_hooked(sv, NULL, NULL);
}

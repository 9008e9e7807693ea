/* pool_client -- the client side of the Windows pool protocol, written
 * out for tests/windows/t_daemon.sh (it does not use libtlspool): connect
 * to the daemon's pipe, hand it a socket connected to a TLS server as a
 * WSAPROTOCOL_INFOW (or as our own handle value, pio_ancil_type 2),
 * answer PLAINTEXT_CONNECT with one end of a loopback socket pair, then
 * talk in clear through the other end.
 *
 * usage: pool_client PIPE MODE [PORT REMOTEID [COUNT]]
 *   echo      STARTTLS as client to 127.0.0.1:PORT for REMOTEID; a line
 *             sent in clear must come back (gnutls-serv --echo)
 *   echo_handle  the same, both sockets passed as pio_ancil_type 2 (our
 *             handle values), each kept open until the daemon answered
 *   refuse    the same, expecting an ERROR reply (printed)
 *   server    listen on 127.0.0.1:PORT, take one connection and hand it
 *             over in the server role as REMOTEID (the local identity);
 *             the first line read in clear is sent back.  An extra COUNT
 *             argument serves that many connections one after another
 *             on the same listener (t_kdh.sh's replayed AP-REQ)
 *   ping      PING; prints the daemon's identity
 *   noread    200 PINGs whose answers are never read (the pipe's buffer
 *             fills), then 20 s of silence
 *   short     a 10-byte message
 *   badancil  pio_ancil_type 7
 *   badinfo   a WSAPROTOCOL_INFOW that describes no socket
 *   handle_file    pio_ancil_type 2 with a file handle (not a socket)
 *   handle_pipe    pio_ancil_type 2 with our end of the daemon's pipe
 *   handle_bogus   pio_ancil_type 2 with a value no handle of ours has
 *   handle_pseudo  pio_ancil_type 2 with (HANDLE)-1, "this process"
 * Prints "OK ..." or "ERROR ..." lines; exit 0 when the outcome is the
 * one the mode expects.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tlspool/commands.h>

#include "ctlmsg_win32.h"

static HANDLE pipe_h;
static DWORD daemon_pid;
static int by_handle;		/* sockets as pio_ancil_type 2 */

static void die(const char *what)
{
	printf("FAIL %s (error %lu, WSA %d)\n", what,
	       (unsigned long)GetLastError(), WSAGetLastError());
	exit(1);
}

static void open_pipe(const char *name)
{
	DWORD mode = PIPE_READMODE_MESSAGE;

	for (int i = 0; i < 50; i++) {
		pipe_h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0,
				     NULL, OPEN_EXISTING, 0, NULL);
		if (pipe_h != INVALID_HANDLE_VALUE)
			break;
		if (GetLastError() == ERROR_PIPE_BUSY)
			WaitNamedPipeA(name, 2000);
		else
			Sleep(100);
	}
	if (pipe_h == INVALID_HANDLE_VALUE)
		die("open the pipe");
	if (!SetNamedPipeHandleState(pipe_h, &mode, NULL, NULL))
		die("message mode");
	if (!GetNamedPipeServerProcessId(pipe_h, &daemon_pid))
		die("the daemon's process id");
}

static void put(const void *p, DWORD len)
{
	DWORD n;

	if (!WriteFile(pipe_h, p, len, &n, NULL) || n != len)
		die("write to the pipe");
}

static void send_cmd(const struct tlspool_command *c, SOCKET s)
{
	struct ctlmsg_win32 m;

	memset(&m, 0, sizeof(m));
	memcpy(m.cmd, c, sizeof(m.cmd));
	if (s != INVALID_SOCKET && by_handle) {
		m.pio_ancil_type = CTLMSG_ANCIL_FILEHANDLE;
		m.pio_ancil_data.pioa_filehandle = (HANDLE)s;
	} else if (s != INVALID_SOCKET) {
		m.pio_ancil_type = CTLMSG_ANCIL_SOCKET;
		if (WSADuplicateSocketW(s, daemon_pid,
					&m.pio_ancil_data.pioa_socket) != 0)
			die("WSADuplicateSocketW");
	}
	put(&m, sizeof(m));
}

static void recv_cmd(struct tlspool_command *c)
{
	struct ctlmsg_win32 m;
	DWORD n;

	if (!ReadFile(pipe_h, &m, sizeof(m), &n, NULL))
		die("read from the pipe");
	if (n != sizeof(m)) {
		printf("FAIL reply of %lu bytes\n", (unsigned long)n);
		exit(1);
	}
	memcpy(c, m.cmd, sizeof(*c));
}

static SOCKET tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

	sa.sin_port = htons((u_short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s == INVALID_SOCKET ||
	    connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect to the TLS server");
	return s;
}

/* A connected pair of loopback sockets (what socketpair gives). */
static void pair(SOCKET sv[2])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int len = sizeof(sa);
	SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l == INVALID_SOCKET ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) != 0)
		die("socket pair: listen");
	sv[0] = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (sv[0] == INVALID_SOCKET ||
	    connect(sv[0], (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("socket pair: connect");
	sv[1] = accept(l, NULL, NULL);
	if (sv[1] == INVALID_SOCKET)
		die("socket pair: accept");
	closesocket(l);
}

static int print_reply(const struct tlspool_command *r)
{
	if (r->pio_cmd == PIOC_ERROR_V2) {
		printf("ERROR %d %.128s\n",
		       (int)r->pio_data.pioc_error.tlserrno,
		       r->pio_data.pioc_error.message);
		return 0;
	}
	printf("OK reply 0x%08x\n", (unsigned)r->pio_cmd);
	return 1;
}

/* Listen on 127.0.0.1:port and take one connection; the listener stays
 * open while more connections are to be served. */
static int serve_more;
static SOCKET tcp_accept(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	static SOCKET l = INVALID_SOCKET;
	SOCKET s;

	sa.sin_port = htons((u_short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l == INVALID_SOCKET) {
		l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		if (l == INVALID_SOCKET ||
		    bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    listen(l, 1) != 0)
			die("listen for the TLS client");
		printf("OK listening\n");
	}
	s = accept(l, NULL, NULL);
	if (s == INVALID_SOCKET)
		die("accept the TLS client");
	if (--serve_more <= 0)
		closesocket(l);
	return s;
}

static int starttls(int port, const char *id, int want_ok, int server)
{
	struct tlspool_command c, r;
	struct pioc_starttls *st = &c.pio_data.pioc_starttls;
	SOCKET tls = server ? tcp_accept(port) : tcp_connect(port), sv[2];
	char buf[256];
	int n;

	memset(&c, 0, sizeof(c));
	c.pio_reqid = 1;
	c.pio_cmd = PIOC_STARTTLS_V2;
	st->flags = server ? PIOF_STARTTLS_LOCALROLE_SERVER |
			     PIOF_STARTTLS_REMOTEROLE_CLIENT
			   : PIOF_STARTTLS_LOCALROLE_CLIENT |
			     PIOF_STARTTLS_REMOTEROLE_SERVER;
	st->ipproto = IPPROTO_TCP;
	if (server)
		snprintf(st->localid, sizeof(st->localid), "%s", id);
	else
		snprintf(st->remoteid, sizeof(st->remoteid), "%s", id);
	strcpy((char *)st->service, "generic");
	st->timeout = 10000;
	send_cmd(&c, tls);
	recv_cmd(&r);
	closesocket(tls);	/* the daemon has its own (type 2: once it answered) */
	if (r.pio_cmd == PIOC_PLAINTEXT_CONNECT_V2) {
		pair(sv);
		send_cmd(&r, sv[1]);
		recv_cmd(&r);
		closesocket(sv[1]);
	} else {
		sv[0] = INVALID_SOCKET;
	}
	if (!print_reply(&r))
		return want_ok ? 1 : 0;
	if (!want_ok || sv[0] == INVALID_SOCKET)
		return 1;
	if (server) {
		int got = 0;

		while (got < (int)sizeof(buf) - 1 &&
		       (got == 0 || buf[got - 1] != '\n')) {
			n = recv(sv[0], buf + got, sizeof(buf) - 1 - got, 0);
			if (n <= 0)
				die("receive in clear");
			got += n;
		}
		buf[got] = '\0';
		printf("OK received %s", buf);
		if (send(sv[0], buf, got, 0) != got)
			die("send in clear");
		shutdown(sv[0], SD_SEND);
		while (recv(sv[0], buf, sizeof(buf), 0) > 0)
			;
		closesocket(sv[0]);
		return 0;
	}
	if (send(sv[0], "hello pool\n", 11, 0) != 11)
		die("send in clear");
	n = recv(sv[0], buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		die("receive in clear");
	buf[n] = '\0';
	printf("OK echoed %s", buf);
	closesocket(sv[0]);
	return strcmp(buf, "hello pool\n") == 0 ? 0 : 1;
}

static int malformed(const char *mode)
{
	struct ctlmsg_win32 m;
	struct tlspool_command c, r;

	memset(&c, 0, sizeof(c));
	c.pio_reqid = 7;
	c.pio_cmd = PIOC_PING_V2;
	memset(&m, 0, sizeof(m));
	memcpy(m.cmd, &c, sizeof(m.cmd));
	if (strcmp(mode, "short") == 0) {
		put(&m, 10);
	} else {
		m.pio_ancil_type = CTLMSG_ANCIL_FILEHANDLE;
		if (strcmp(mode, "badancil") == 0) {
			m.pio_ancil_type = 7;
		} else if (strcmp(mode, "handle_file") == 0) {
			char self[MAX_PATH];

			if (GetModuleFileNameA(NULL, self, sizeof(self)) == 0)
				die("own file name");
			m.pio_ancil_data.pioa_filehandle = CreateFileA(self,
				GENERIC_READ, FILE_SHARE_READ, NULL,
				OPEN_EXISTING, 0, NULL);
			if (m.pio_ancil_data.pioa_filehandle ==
			    INVALID_HANDLE_VALUE)
				die("open own file");
		} else if (strcmp(mode, "handle_bogus") == 0) {
			m.pio_ancil_data.pioa_filehandle =
				(HANDLE)(uintptr_t)0x7ffffff0;
		} else if (strcmp(mode, "handle_pipe") == 0) {
			m.pio_ancil_data.pioa_filehandle = pipe_h;
		} else if (strcmp(mode, "handle_pseudo") == 0) {
			m.pio_ancil_data.pioa_filehandle = GetCurrentProcess();
		} else {
			m.pio_ancil_type = CTLMSG_ANCIL_SOCKET;
			memset(&m.pio_ancil_data, 0x5a,
			       sizeof(m.pio_ancil_data));
		}
		put(&m, sizeof(m));
	}
	recv_cmd(&r);
	if (print_reply(&r))
		return 1;
	/* refused, and the connection goes on */
	c.pio_reqid = 8;
	send_cmd(&c, INVALID_SOCKET);
	recv_cmd(&r);
	if (r.pio_reqid != 8 || r.pio_cmd != PIOC_PING_V2)
		return print_reply(&r), 1;
	printf("OK then a ping on the same connection\n");
	return 0;
}

int main(int argc, char **argv)
{
	WSADATA wsa;
	struct tlspool_command c, r;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 3 || WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		fprintf(stderr, "usage: pool_client PIPE MODE [PORT REMOTEID]\n");
		return 2;
	}
	open_pipe(argv[1]);
	if (strcmp(argv[2], "noread") == 0) {
		memset(&c, 0, sizeof(c));
		c.pio_cmd = PIOC_PING_V2;
		for (int i = 0; i < 200; i++) {
			c.pio_reqid = (uint16_t)(i + 1);
			send_cmd(&c, INVALID_SOCKET);
		}
		printf("OK sent\n");
		Sleep(20000);
		return 0;
	}
	if (strcmp(argv[2], "ping") == 0) {
		memset(&c, 0, sizeof(c));
		c.pio_reqid = 3;
		c.pio_cmd = PIOC_PING_V2;
		c.pio_data.pioc_ping.facilities = 0xffffffff;
		send_cmd(&c, INVALID_SOCKET);
		recv_cmd(&r);
		if (r.pio_cmd != PIOC_PING_V2)
			return print_reply(&r), 1;
		printf("OK ping %.30s\n", r.pio_data.pioc_ping.YYYYMMDD_producer);
		return 0;
	}
	if (strcmp(argv[2], "server") == 0 && argc == 6) {
		int n = atoi(argv[5]), rc = 0;

		for (serve_more = n; n > 0; n--)
			rc |= starttls(atoi(argv[3]), argv[4], 1, 1);
		return rc;
	}
	if (strcmp(argv[2], "echo_handle") == 0 && argc == 5) {
		by_handle = 1;
		return starttls(atoi(argv[3]), argv[4], 1, 0);
	}
	if ((strcmp(argv[2], "echo") == 0 || strcmp(argv[2], "refuse") == 0 ||
	     strcmp(argv[2], "server") == 0) && argc == 5)
		return starttls(atoi(argv[3]), argv[4],
				strcmp(argv[2], "refuse") != 0,
				strcmp(argv[2], "server") == 0);
	return malformed(argv[2]);
}

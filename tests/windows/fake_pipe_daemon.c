/* fake_pipe_daemon -- a stand-in for the Windows daemon in the tests of
 * libtlspool-0.dll: serves \\.\pipe\NAME in message mode, one thread per
 * connection, and answers PING and STARTTLS (with a PLAINTEXT_CONNECT
 * callback) the way the protocol says, taking the sockets the library
 * hands over from pio_ancil_data: a WSAPROTOCOL_INFOW (ANCIL_TYPE_SOCKET)
 * or the client's handle value (ANCIL_TYPE_FILEHANDLE), duplicated out of
 * the process at the other end of the pipe.
 */
#include "fake_pipe_daemon.h"

#include <stdio.h>
#include <string.h>

static int fake_read(HANDLE p, struct tlspool_command *cmd)
{
	DWORD n = 0;

	if (!ReadFile(p, cmd, sizeof(*cmd), &n, NULL))
		return -1;
	return n == sizeof(*cmd) ? 0 : -1;
}

static int fake_write(HANDLE p, struct tlspool_command *cmd)
{
	DWORD n = 0;

	if (!WriteFile(p, cmd, sizeof(*cmd), &n, NULL))
		return -1;
	return n == sizeof(*cmd) ? 0 : -1;
}

/* The socket the client's handle value names, or INVALID_SOCKET. */
static SOCKET fake_take_handle(struct fake_daemon *f, HANDLE p,
			       struct tlspool_command *cmd)
{
	HANDLE proc, dup = NULL;
	WSAPROTOCOL_INFOW info;
	ULONG pid = 0;
	SOCKET s;

	if (!GetNamedPipeClientProcessId(p, &pid))
		return INVALID_SOCKET;
	proc = OpenProcess(PROCESS_DUP_HANDLE, FALSE, pid);
	if (proc == NULL)
		return INVALID_SOCKET;
	if (!DuplicateHandle(proc, cmd->pio_ancil_data.pioa_filehandle,
			     GetCurrentProcess(), &dup, 0, FALSE,
			     DUPLICATE_SAME_ACCESS))
		dup = NULL;
	CloseHandle(proc);
	if (dup == NULL)
		return INVALID_SOCKET;
	/* made known to winsock, as the daemon does */
	s = INVALID_SOCKET;
	if (WSADuplicateSocketW((SOCKET)dup, GetCurrentProcessId(), &info) == 0)
		s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
			       FROM_PROTOCOL_INFO, &info, 0,
			       WSA_FLAG_OVERLAPPED);
	if (closesocket((SOCKET)dup) != 0)
		CloseHandle(dup);
	if (s == INVALID_SOCKET)
		return INVALID_SOCKET;
	InterlockedIncrement(&f->sockets_received);
	InterlockedIncrement(&f->handles_received);
	return s;
}

/* The socket that came with cmd, or INVALID_SOCKET. */
static SOCKET fake_take(struct fake_daemon *f, HANDLE p,
			struct tlspool_command *cmd)
{
	if (cmd->pio_ancil_type == ANCIL_TYPE_FILEHANDLE)
		return fake_take_handle(f, p, cmd);
	if (cmd->pio_ancil_type != ANCIL_TYPE_SOCKET)
		return INVALID_SOCKET;
	InterlockedIncrement(&f->sockets_received);
	return WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
			  FROM_PROTOCOL_INFO, &cmd->pio_ancil_data.pioa_socket,
			  0, WSA_FLAG_OVERLAPPED);
}

static void fake_say(SOCKET s, const char *text)
{
	if (s == INVALID_SOCKET)
		return;
	send(s, text, (int)strlen(text), 0);
	closesocket(s);		/* the client's copy keeps it open */
}

/* STARTTLS: write "crypt" on cryptfd, ask for the plaintext side, write
 * "plain" on it, reply with the final STARTTLS. */
static int fake_starttls(struct fake_daemon *f, HANDLE p,
			 struct tlspool_command *cmd)
{
	struct tlspool_command cb = *cmd;

	fake_say(fake_take(f, p, cmd), "crypt");
	cb.pio_cbid = 7;
	cb.pio_cmd = PIOC_PLAINTEXT_CONNECT_V2;
	cb.pio_ancil_type = ANCIL_TYPE_NONE;
	if (fake_write(p, &cb) < 0 || fake_read(p, &cb) < 0)
		return -1;
	if (cb.pio_cmd != PIOC_PLAINTEXT_CONNECT_V2 || cb.pio_cbid != 7)
		return -1;
	fake_say(fake_take(f, p, &cb), "plain");
	cb.pio_cbid = 0;
	cb.pio_cmd = PIOC_STARTTLS_V2;
	cb.pio_ancil_type = ANCIL_TYPE_NONE;
	strcpy(cb.pio_data.pioc_starttls.localid, "fake@local");
	return fake_write(p, &cb);
}

static DWORD WINAPI fake_conn(LPVOID arg)
{
	struct fake_conn_arg *a = arg;
	struct fake_daemon *f = a->f;
	HANDLE p = a->pipe;
	struct tlspool_command cmd;

	free(a);
	while (fake_read(p, &cmd) == 0) {
		if (cmd.pio_ancil_type > ANCIL_TYPE_FILEHANDLE)
			break;
		if (cmd.pio_cmd == PIOC_PING_V2) {
			if (strcmp(cmd.pio_data.pioc_ping.YYYYMMDD_producer,
				   FAKE_HANG_UP) == 0)
				break;
			strcpy(cmd.pio_data.pioc_ping.YYYYMMDD_producer,
			       FAKE_IDENTITY);
			cmd.pio_data.pioc_ping.facilities =
				PIOF_FACILITY_STARTTLS;
			if (fake_write(p, &cmd) < 0)
				break;
		} else if (cmd.pio_cmd == PIOC_STARTTLS_V2) {
			if (fake_starttls(f, p, &cmd) < 0)
				break;
		} else {
			break;
		}
	}
	DisconnectNamedPipe(p);
	CloseHandle(p);
	return 0;
}

static HANDLE fake_instance(const WCHAR *name)
{
	return CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX,
				PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE |
				PIPE_WAIT, PIPE_UNLIMITED_INSTANCES, 4096, 4096,
				0, NULL);
}

static DWORD WINAPI fake_listen(LPVOID arg)
{
	struct fake_daemon *f = arg;
	HANDLE p = f->first;

	while (p != INVALID_HANDLE_VALUE) {
		struct fake_conn_arg *a;
		HANDLE t;

		if (!ConnectNamedPipe(p, NULL) &&
		    GetLastError() != ERROR_PIPE_CONNECTED) {
			CloseHandle(p);
			break;
		}
		a = malloc(sizeof(*a));
		if (a == NULL)
			break;
		a->f = f;
		a->pipe = p;
		t = CreateThread(NULL, 0, fake_conn, a, 0, NULL);
		if (t != NULL)
			CloseHandle(t);
		p = fake_instance(f->name);
	}
	return 0;
}

int fake_daemon_start(struct fake_daemon *f, const char *name)
{
	HANDLE t;

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "\\\\.\\pipe\\%s", name);
	MultiByteToWideChar(CP_UTF8, 0, f->path, -1, f->name,
			    sizeof(f->name) / sizeof(f->name[0]));
	f->first = fake_instance(f->name);
	if (f->first == INVALID_HANDLE_VALUE)
		return -1;
	t = CreateThread(NULL, 0, fake_listen, f, 0, NULL);
	if (t == NULL)
		return -1;
	CloseHandle(t);
	return 0;
}

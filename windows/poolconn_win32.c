/* poolconn_win32 -- the pool connection on Windows: the named pipe
 * (\\.\pipe\tlspool) in message mode, one message per ReadFile or
 * WriteFile; a socket travels as the WSAPROTOCOL_INFOW that
 * WSADuplicateSocketW made for the pipe server's process, in
 * pio_ancil_data (ANCIL_TYPE_SOCKET).
 *
 * WSADuplicateSocketW needs PROCESS_DUP_HANDLE on the daemon's process,
 * which an ordinary user does not get on a service running as
 * LocalSystem.  Then (or when TLSPOOL_SOCKET_HANDOVER=handle) the socket
 * travels as our own handle value (ANCIL_TYPE_FILEHANDLE) and the daemon
 * duplicates it out of our process.  The value sent is that of a private
 * duplicate, held until a message for the same request comes back (the
 * daemon takes it when it reads the message, before it answers), so the
 * caller may close its socket right after poolconn_send as on POSIX.
 *
 * The pipe is opened for overlapped I/O so that one thread can wait in
 * ReadFile while others write.  Every wait also watches the connection's
 * "shut" event: poolconn_shutdown sets it (and cancels pending I/O), so
 * a reader wakes up even when it had not yet started its ReadFile.
 */
#include "poolconn.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "socketpair_win32.h"
#include "win32err.h"

_Static_assert(offsetof(struct tlspool_command, pio_ancil_type) ==
	       TLSPOOL_CMD_BASELEN, "ancil type offset");
_Static_assert(offsetof(struct tlspool_command, pio_ancil_data) == 390,
	       "ancil data offset");
_Static_assert(TLSPOOL_MSGLEN == 390 + sizeof(WSAPROTOCOL_INFOW),
	       "Windows wire size");

/* ERROR_PIPE_BUSY: wait this long for a free instance, this often. */
#define POOLCONN_BUSY_WAIT_MS 1000
#define POOLCONN_BUSY_TRIES 5

/* A socket handle sent by value, held until its request is answered. */
struct poolconn_held {
	struct poolconn_held *next;
	uint16_t reqid;
	HANDLE h;
};

struct poolconn {
	HANDLE pipe;
	HANDLE shut;		/* manual-reset event: shut down */
	ULONG server_pid;	/* receives our sockets */
	bool by_handle;		/* sockets as handle values (sender only) */
	SRWLOCK held_lock;	/* held: sender and reader */
	struct poolconn_held *held;
};

/* TLSPOOL_SOCKET_HANDOVER=handle: always pass sockets by handle value
 * (tests; a client the daemon cannot be opened by).  Anything else or
 * unset: WSADuplicateSocketW, by handle value when that is refused. */
static bool poolconn_force_handle(void)
{
	char v[16];
	DWORD n = GetEnvironmentVariableA("TLSPOOL_SOCKET_HANDOVER", v,
					  sizeof(v));

	return n > 0 && n < sizeof(v) && _stricmp(v, "handle") == 0;
}

static INIT_ONCE poolconn_wsa_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK poolconn_wsa_init(PINIT_ONCE once, PVOID param,
				       PVOID *ctx)
{
	WSADATA wsa;

	(void)once;
	(void)param;
	(void)ctx;
	return WSAStartup(MAKEWORD(2, 2), &wsa) == 0;
}

/* Winsock for the sockets we duplicate and make (never cleaned up: the
 * library may be used until the process exits).  0 or -EIO. */
static int poolconn_wsa(void)
{
	return InitOnceExecuteOnce(&poolconn_wsa_once, poolconn_wsa_init, NULL,
				   NULL) ? 0 : -EIO;
}

static int poolconn_open(const WCHAR *name, HANDLE *h)
{
	for (int tries = 0;; tries++) {
		DWORD err;

		/* SECURITY_IDENTIFICATION: the daemon may learn who we are
		 * but not act as us. */
		*h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL,
				 OPEN_EXISTING,
				 FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT |
				 SECURITY_IDENTIFICATION, NULL);
		if (*h != INVALID_HANDLE_VALUE)
			return 0;
		err = GetLastError();
		if (err != ERROR_PIPE_BUSY || tries == POOLCONN_BUSY_TRIES)
			return -win32err_errno(err);
		/* Every instance is taken: wait for one, then race for it. */
		WaitNamedPipeW(name, POOLCONN_BUSY_WAIT_MS);
	}
}

int poolconn_connect(const char *path, struct poolconn **pcp)
{
	WCHAR name[POOLCONN_PATHLEN];
	DWORD mode = PIPE_READMODE_MESSAGE;
	struct poolconn *pc;
	HANDLE h;
	int rc;

	if (path[0] == '\0' || strncmp(path, "\\\\", 2) != 0)
		return -EINVAL;		/* not a pipe name */
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, name,
				POOLCONN_PATHLEN) == 0)
		return GetLastError() == ERROR_INSUFFICIENT_BUFFER ?
		       -ENAMETOOLONG : -EINVAL;
	rc = poolconn_wsa();
	if (rc < 0)
		return rc;
	rc = poolconn_open(name, &h);
	if (rc < 0)
		return rc;
	pc = calloc(1, sizeof(*pc));
	if (pc == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	pc->pipe = h;
	if (!SetNamedPipeHandleState(h, &mode, NULL, NULL) ||
	    !GetNamedPipeServerProcessId(h, &pc->server_pid)) {
		rc = -win32err_errno(GetLastError());
		goto fail;
	}
	pc->shut = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (pc->shut == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	InitializeSRWLock(&pc->held_lock);
	pc->by_handle = poolconn_force_handle();
	*pcp = pc;
	return 0;
fail:
	free(pc);
	CloseHandle(h);
	return rc;
}

pool_handle_t poolconn_handle(const struct poolconn *pc)
{
	return pc->pipe;
}

/* One overlapped ReadFile or WriteFile of a whole message, waited for;
 * ends early when the connection is shut down.  0 (*done bytes) or
 * -errno: -EPIPE when the daemon closed the pipe, -EMSGSIZE when the
 * message is longer than len, -ECONNRESET after poolconn_shutdown. */
static int poolconn_io(struct poolconn *pc, bool wr, void *buf, DWORD len,
		       DWORD *done)
{
	OVERLAPPED ov;
	HANDLE ev[2];
	DWORD err = 0;
	BOOL ok;

	*done = 0;
	if (WaitForSingleObject(pc->shut, 0) == WAIT_OBJECT_0)
		return -ECONNRESET;
	memset(&ov, 0, sizeof(ov));
	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (ov.hEvent == NULL)
		return -ENOMEM;
	ok = wr ? WriteFile(pc->pipe, buf, len, NULL, &ov)
		: ReadFile(pc->pipe, buf, len, NULL, &ov);
	if (!ok && (err = GetLastError()) != ERROR_IO_PENDING &&
	    err != ERROR_MORE_DATA)
		goto out;
	err = 0;
	ev[0] = ov.hEvent;
	ev[1] = pc->shut;
	if (WaitForMultipleObjects(2, ev, FALSE, INFINITE) != WAIT_OBJECT_0)
		CancelIoEx(pc->pipe, &ov);
	if (!GetOverlappedResult(pc->pipe, &ov, done, TRUE))
		err = GetLastError();
out:
	CloseHandle(ov.hEvent);
	return err == 0 ? 0 : -win32err_errno(err);
}

/* Did WSADuplicateSocketW fail (with err) because we may not open the
 * daemon's process?  The documented errors have no access error (the
 * provider may say WSAEINVAL), so ask the process itself. */
static bool poolconn_dup_denied(struct poolconn *pc, int err)
{
	HANDLE p;

	if (err == WSAEACCES)
		return true;
	if (err == WSAENOTSOCK || err == WSANOTINITIALISED)
		return false;
	p = OpenProcess(PROCESS_DUP_HANDLE, FALSE, pc->server_pid);
	if (p != NULL) {
		CloseHandle(p);
		return false;
	}
	return GetLastError() == ERROR_ACCESS_DENIED;
}

/* Close the held handles of reqid (all when all), after the daemon's
 * answer or with the connection. */
static void poolconn_release(struct poolconn *pc, uint16_t reqid, bool all)
{
	struct poolconn_held **pp, *h, *done = NULL;

	AcquireSRWLockExclusive(&pc->held_lock);
	for (pp = &pc->held; (h = *pp) != NULL;) {
		if (all || h->reqid == reqid) {
			*pp = h->next;
			h->next = done;
			done = h;
		} else {
			pp = &h->next;
		}
	}
	ReleaseSRWLockExclusive(&pc->held_lock);
	while ((h = done) != NULL) {
		done = h->next;
		CloseHandle(h->h);	/* a plain handle: winsock never saw it */
		free(h);
	}
}

/* Put a private duplicate of sock in msg as ANCIL_TYPE_FILEHANDLE and hold
 * it (before the message goes out, so no answer can overtake it).
 * The held entry or NULL with *rc set. */
static struct poolconn_held *poolconn_hold(struct poolconn *pc,
					   struct tlspool_command *msg,
					   poolconn_sock_t sock, int *rc)
{
	struct poolconn_held *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	if (poolconn_sock_check(sock) < 0 ||
	    !DuplicateHandle(GetCurrentProcess(), (HANDLE)sock,
			     GetCurrentProcess(), &h->h, 0, FALSE,
			     DUPLICATE_SAME_ACCESS)) {
		free(h);
		*rc = -EBADF;	/* nothing sent */
		return NULL;
	}
	h->reqid = msg->pio_reqid;
	msg->pio_ancil_type = ANCIL_TYPE_FILEHANDLE;
	msg->pio_ancil_data.pioa_filehandle = h->h;
	AcquireSRWLockExclusive(&pc->held_lock);
	h->next = pc->held;
	pc->held = h;
	ReleaseSRWLockExclusive(&pc->held_lock);
	return h;
}

int poolconn_send(struct poolconn *pc, const struct tlspool_command *cmd,
		  poolconn_sock_t sock)
{
	struct tlspool_command msg = *cmd;
	DWORD n;
	int rc = 0;

	msg.pio_ancil_type = ANCIL_TYPE_NONE;
	memset(&msg.pio_ancil_data, 0, sizeof(msg.pio_ancil_data));
	if (sock != POOLCONN_NOSOCK && !pc->by_handle) {
		if (WSADuplicateSocketW(sock, pc->server_pid,
					&msg.pio_ancil_data.pioa_socket) == 0) {
			msg.pio_ancil_type = ANCIL_TYPE_SOCKET;
		} else {
			int err = WSAGetLastError();

			if (!poolconn_dup_denied(pc, err))
				return -win32err_errno((DWORD)err);
			pc->by_handle = true;	/* for this connection */
			memset(&msg.pio_ancil_data, 0,
			       sizeof(msg.pio_ancil_data));
		}
	}
	if (sock != POOLCONN_NOSOCK && pc->by_handle) {
		if (poolconn_hold(pc, &msg, sock, &rc) == NULL)
			return rc;
	}
	rc = poolconn_io(pc, true, &msg, (DWORD)TLSPOOL_MSGLEN, &n);
	if (rc == 0 && n != TLSPOOL_MSGLEN)
		rc = -EIO;
	/* A failed write may still have gone out (cancelled late): a held
	 * handle then stays held until the connection closes. */
	return rc;
}

/* The socket that came with a message.  Only ANCIL_TYPE_SOCKET gives
 * one; a file handle is not ours to take. */
static poolconn_sock_t poolconn_ancil(struct tlspool_command *cmd)
{
	SOCKET s;

	if (cmd->pio_ancil_type != ANCIL_TYPE_SOCKET)
		return POOLCONN_NOSOCK;
	s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
		       FROM_PROTOCOL_INFO, &cmd->pio_ancil_data.pioa_socket, 0,
		       WSA_FLAG_OVERLAPPED);
	return s;
}

int poolconn_recv(struct poolconn *pc, struct tlspool_command *cmd,
		  poolconn_sock_t *sock)
{
	DWORD n;
	int rc;

	*sock = POOLCONN_NOSOCK;
	rc = poolconn_io(pc, false, cmd, (DWORD)TLSPOOL_MSGLEN, &n);
	if (rc == -EPIPE)
		return 0;		/* the daemon closed the pipe */
	if (rc == -EMSGSIZE)
		return -EPROTO;		/* not one of our messages */
	if (rc < 0)
		return rc;
	if (n != TLSPOOL_MSGLEN)
		return -EPIPE;		/* truncated */
	/* The daemon has read our messages of this request: it holds its
	 * own copy of any socket we passed by handle value. */
	poolconn_release(pc, cmd->pio_reqid, false);
	*sock = poolconn_ancil(cmd);
	return 1;
}

int poolconn_set_nonblock(struct poolconn *pc)
{
	(void)pc;	/* poolconn_recv_nb peeks first */
	return 0;
}

int poolconn_recv_nb(struct poolconn *pc, struct tlspool_command *cmd,
		     poolconn_sock_t *sock)
{
	DWORD avail = 0;

	*sock = POOLCONN_NOSOCK;
	if (!PeekNamedPipe(pc->pipe, NULL, 0, NULL, &avail, NULL)) {
		int err = win32err_errno(GetLastError());

		return err == EPIPE ? 0 : -err;
	}
	if (avail == 0)
		return -EAGAIN;
	return poolconn_recv(pc, cmd, sock);	/* a whole message waits */
}

void poolconn_shutdown(struct poolconn *pc)
{
	SetEvent(pc->shut);
	CancelIoEx(pc->pipe, NULL);
}

bool poolconn_stale(struct poolconn *pc)
{
	DWORD avail;

	return !PeekNamedPipe(pc->pipe, NULL, 0, NULL, &avail, NULL);
}

void poolconn_close(struct poolconn *pc)
{
	if (pc == NULL)
		return;
	CloseHandle(pc->pipe);
	poolconn_release(pc, 0, true);
	CloseHandle(pc->shut);
	free(pc);
}

int poolconn_sock_check(poolconn_sock_t s)
{
	int type, len = sizeof(type);

	if (s == POOLCONN_NOSOCK || poolconn_wsa() < 0 ||
	    getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0)
		return -EBADF;
	return 0;
}

void poolconn_sock_close(poolconn_sock_t s)
{
	if (s != POOLCONN_NOSOCK)
		closesocket(s);
}

int poolconn_socketpair(int type, poolconn_sock_t sv[2])
{
	int rc = poolconn_wsa();

	if (rc < 0)
		return rc;
	if (type != SOCK_STREAM)
		return -EPROTONOSUPPORT;
	return socketpair_win32(sv);
}

int poolconn_atfork(void (*prepare)(void), void (*parent)(void),
		    void (*child)(void))
{
	(void)prepare;	/* no fork() on Windows */
	(void)parent;
	(void)child;
	return 0;
}

int poolconn_pid_alive(long pid)
{
	HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
			       (DWORD)pid);
	DWORD code = 0;
	int rc = 0;

	if (p == NULL) {
		if (GetLastError() != ERROR_ACCESS_DENIED)
			rc = -ESRCH;	/* alive but not ours to ask: fine */
	} else {
		if (GetExitCodeProcess(p, &code) && code != STILL_ACTIVE)
			rc = -ESRCH;
		CloseHandle(p);
	}
	if (rc < 0)
		errno = -rc;
	return rc;
}

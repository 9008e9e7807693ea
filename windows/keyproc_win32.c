/* keyproc_win32 -- the key process on Windows (keyproc_int.h, platform):
 * the same executable started with CreateProcessW as
 * "tlspool-daemon.exe --key-process N LEVEL STDERR", its N connections
 * loopback TCP socket pairs whose child ends travel as WSAPROTOCOL_INFOW
 * (WSADuplicateSocketW for the suspended child) through an anonymous pipe
 * on its stdin.  Only that pipe and its stdout/stderr are inherited
 * (PROC_THREAD_ATTRIBUTE_HANDLE_LIST).  The key process ends when a
 * connection reaches end of file, as on Linux; there is no parent death
 * signal, and no user switch (daemon_user has no meaning here). */
#include "keyproc.h"
#include "keyproc_int.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sockio_win32.h"
#include "tplog.h"

#define MAX_CONNS 64

static SOCKET sk(int fd)
{
	return (SOCKET)(intptr_t)fd;
}

static int wsa_errno(void)
{
	return sockio_win32_errno(WSAGetLastError());
}

/* ---- I/O --------------------------------------------------------------- */

long kp_recv_some(int fd, void *p, size_t n)
{
	int want = n < INT_MAX ? (int)n : INT_MAX;

	for (;;) {
		int r = recv(sk(fd), p, want, 0);
		int e;

		if (r != SOCKET_ERROR)
			return r;
		e = WSAGetLastError();
		if (e == WSAEINTR)
			continue;
		if (e == WSAETIMEDOUT || e == WSAEWOULDBLOCK)
			return -EAGAIN;
		return -sockio_win32_errno(e);
	}
}

long kp_send_some(int fd, const void *p, size_t n)
{
	int want = n < INT_MAX ? (int)n : INT_MAX;

	for (;;) {
		int w = send(sk(fd), p, want, 0);

		if (w != SOCKET_ERROR)
			return w;
		if (WSAGetLastError() != WSAEINTR)
			return -wsa_errno();
	}
}

long kp_send_hdr(int fd, const struct kp_hdr *h, const void *p)
{
	WSABUF b[2] = { { sizeof(*h), (char *)h },
			{ h->len, (char *)p } };
	DWORD w = 0;

	if (WSASend(sk(fd), b, h->len ? 2 : 1, &w, 0, NULL, NULL) != 0)
		return -wsa_errno();
	return (long)w;
}

int kp_wait_readable(int fd, int ms)
{
	WSAPOLLFD pf = { .fd = sk(fd), .events = POLLRDNORM };
	int rc = WSAPoll(&pf, 1, ms);

	return rc == SOCKET_ERROR ? -wsa_errno() : rc;
}

void kp_close(int fd)
{
	closesocket(sk(fd));
}

void kp_shutdown(int fd)
{
	shutdown(sk(fd), SD_BOTH);
}

/* ---- the channels ------------------------------------------------------ */

static SOCKET tcp_socket(void)
{
	return WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
			  WSA_FLAG_NO_HANDLE_INHERIT);
}

/* A connected loopback pair; the accepted end is checked to be ours. */
static int tcp_pair(SOCKET *a, SOCKET *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, me, peer;
	int len = sizeof(sa), mlen = sizeof(me), plen = sizeof(peer);
	SOCKET l = tcp_socket();
	BOOL one = TRUE;
	int rc = -EIO;

	*a = *b = INVALID_SOCKET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l == INVALID_SOCKET)
		return -wsa_errno();
	setsockopt(l, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (char *)&one,
		   sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(l, 1) != 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) != 0)
		goto fail;
	*a = tcp_socket();
	if (*a == INVALID_SOCKET ||
	    connect(*a, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(*a, (struct sockaddr *)&me, &mlen) != 0)
		goto fail;
	*b = accept(l, (struct sockaddr *)&peer, &plen);
	if (*b == INVALID_SOCKET)
		goto fail;
	SetHandleInformation((HANDLE)*b, HANDLE_FLAG_INHERIT, 0);
	if (peer.sin_port != me.sin_port ||
	    peer.sin_addr.s_addr != me.sin_addr.s_addr) {
		rc = -ECONNREFUSED;	/* someone else came first */
		goto fail;
	}
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, (char *)&one, sizeof(one));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, (char *)&one, sizeof(one));
	closesocket(l);
	return 0;
fail:
	if (rc == -EIO)
		rc = -wsa_errno();
	if (*a != INVALID_SOCKET)
		closesocket(*a);
	if (*b != INVALID_SOCKET)
		closesocket(*b);
	*a = *b = INVALID_SOCKET;
	closesocket(l);
	return rc;
}

static void set_timeouts(SOCKET s, unsigned ms)
{
	DWORD t = ms;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (char *)&t, sizeof(t));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (char *)&t, sizeof(t));
}

/* ---- the child --------------------------------------------------------- */

static pthread_mutex_t child_lock = PTHREAD_MUTEX_INITIALIZER;
static HANDLE child_h;
static DWORD child_id;

/* An inheritable handle for the child's stdout and stderr. */
static HANDLE child_output(int null_stdio)
{
	HANDLE h = null_stdio ? NULL : GetStdHandle(STD_ERROR_HANDLE);
	HANDLE dup = NULL;
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };

	if (h != NULL && h != INVALID_HANDLE_VALUE &&
	    DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &dup,
			    0, TRUE, DUPLICATE_SAME_ACCESS))
		return dup;
	return CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE,
			   FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
			   OPEN_EXISTING, 0, NULL);
}

/* CreateProcessW, suspended, inheriting only the handles in inh. */
static int spawn(const char *exe, const struct keyproc_opts *o, unsigned n,
		 HANDLE in, HANDLE out, PROCESS_INFORMATION *pi)
{
	WCHAR wexe[MAX_PATH], cmd[MAX_PATH + 64];
	STARTUPINFOEXW si;
	HANDLE inh[2] = { in, out };
	SIZE_T size = 0;
	DWORD flags = CREATE_SUSPENDED | CREATE_NO_WINDOW;
	BOOL ok;

	if (!MultiByteToWideChar(CP_UTF8, 0, exe, -1, wexe, MAX_PATH))
		return -ENAMETOOLONG;
	_snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]),
		   L"\"%ls\" --key-process %u %d %d", wexe, n, o->log_level,
		   o->log_stderr ? 1 : 0);
	cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
	memset(&si, 0, sizeof(si));
	si.StartupInfo.cb = sizeof(si.StartupInfo);
	si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
	si.StartupInfo.hStdInput = in;
	si.StartupInfo.hStdOutput = out;
	si.StartupInfo.hStdError = out;
	InitializeProcThreadAttributeList(NULL, 1, 0, &size);
	si.lpAttributeList = size ? malloc(size) : NULL;
	if (si.lpAttributeList != NULL &&
	    InitializeProcThreadAttributeList(si.lpAttributeList, 1, 0,
					      &size) &&
	    UpdateProcThreadAttribute(si.lpAttributeList, 0,
				      PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inh,
				      sizeof(inh), NULL, NULL)) {
		si.StartupInfo.cb = sizeof(si);
		flags |= EXTENDED_STARTUPINFO_PRESENT;
	}
	ok = CreateProcessW(wexe, cmd, NULL, NULL, TRUE, flags, NULL, NULL,
			    &si.StartupInfo, pi);
	if (flags & EXTENDED_STARTUPINFO_PRESENT)
		DeleteProcThreadAttributeList(si.lpAttributeList);
	free(si.lpAttributeList);
	return ok ? 0 : -ENOEXEC;
}

int kp_child_start(const struct keyproc_opts *o, const char *exe,
		   unsigned n, int *par, pid_t *pidp)
{
	SOCKET a[MAX_CONNS], b[MAX_CONNS];
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
	PROCESS_INFORMATION pi = { 0 };
	HANDLE rd = NULL, wr = NULL, out;
	unsigned made = 0;
	int rc;

	if (exe == NULL || n > MAX_CONNS)
		return -ENOTSUP;	/* no fork: always the executable */
	for (; made < n; made++) {
		rc = tcp_pair(&a[made], &b[made]);
		if (rc < 0)
			goto fail;
		set_timeouts(a[made], o->timeout_ms);
	}
	out = child_output(o->null_stdio);
	if (!CreatePipe(&rd, &wr, &sa, 0)) {
		rc = -EMFILE;
		goto fail_out;
	}
	SetHandleInformation(wr, HANDLE_FLAG_INHERIT, 0);
	rc = spawn(exe, o, n, rd, out, &pi);
	if (rc < 0) {
		tplog(LOG_ERR, "key process: CreateProcessW %s: error %lu",
		      exe, (unsigned long)GetLastError());
		goto fail_pipe;
	}
	for (unsigned i = 0; i < n; i++) {
		WSAPROTOCOL_INFOW info;
		DWORD put;

		if (WSADuplicateSocketW(b[i], pi.dwProcessId, &info) != 0 ||
		    !WriteFile(wr, &info, sizeof(info), &put, NULL) ||
		    put != sizeof(info)) {
			rc = -EPIPE;
			TerminateProcess(pi.hProcess, 127);
			CloseHandle(pi.hProcess);
			CloseHandle(pi.hThread);
			goto fail_pipe;
		}
	}
	ResumeThread(pi.hThread);
	CloseHandle(pi.hThread);
	pthread_mutex_lock(&child_lock);
	child_h = pi.hProcess;
	child_id = pi.dwProcessId;
	pthread_mutex_unlock(&child_lock);
	for (unsigned i = 0; i < n; i++) {
		closesocket(b[i]);
		par[i] = (int)(intptr_t)a[i];
	}
	CloseHandle(rd);
	CloseHandle(wr);
	CloseHandle(out);
	*pidp = (pid_t)pi.dwProcessId;
	return 0;

fail_pipe:
	CloseHandle(rd);
	CloseHandle(wr);
fail_out:
	CloseHandle(out);
fail:
	for (unsigned i = 0; i < made; i++) {
		closesocket(a[i]);
		closesocket(b[i]);
	}
	return rc;
}

void kp_child_kill(pid_t pid)
{
	pthread_mutex_lock(&child_lock);
	if (child_h != NULL && child_id == (DWORD)pid)
		TerminateProcess(child_h, 137);
	pthread_mutex_unlock(&child_lock);
}

static HANDLE take_child(pid_t pid)
{
	HANDLE h = NULL;

	pthread_mutex_lock(&child_lock);
	if (child_id == (DWORD)pid) {
		h = child_h;
		child_h = NULL;
		child_id = 0;
	}
	pthread_mutex_unlock(&child_lock);
	return h;
}

void kp_child_wait(pid_t pid)
{
	HANDLE h = take_child(pid);

	if (h == NULL)
		return;
	if (WaitForSingleObject(h, 2000) != WAIT_OBJECT_0) {
		TerminateProcess(h, 137);
		WaitForSingleObject(h, INFINITE);
	}
	CloseHandle(h);
}

int kp_child_ended(pid_t pid, char *how, size_t len)
{
	DWORD code = 0;
	HANDLE h;

	pthread_mutex_lock(&child_lock);
	h = child_id == (DWORD)pid ? child_h : NULL;
	pthread_mutex_unlock(&child_lock);
	if (h == NULL || WaitForSingleObject(h, 0) != WAIT_OBJECT_0)
		return 0;
	h = take_child(pid);
	if (h == NULL)
		return 0;
	GetExitCodeProcess(h, &code);
	CloseHandle(h);
	snprintf(how, len, "exited with status %lu", (unsigned long)code);
	return 1;
}

/* ---- in the key process ------------------------------------------------ */

void kp_note_parent(void)
{
}

int kp_drop_privileges(uint32_t uid, uint32_t gid)
{
	if (uid == KP_KEEP && gid == KP_KEEP)
		return 0;
	errno = ENOTSUP;
	return -1;
}

/* The connections' WSAPROTOCOL_INFOW from stdin, as sockets. */
static int take_sockets(int *fds, unsigned n)
{
	HANDLE in = GetStdHandle(STD_INPUT_HANDLE);

	for (unsigned i = 0; i < n; i++) {
		WSAPROTOCOL_INFOW info;
		DWORD got = 0, r;
		SOCKET s;

		while (got < sizeof(info)) {
			if (!ReadFile(in, (char *)&info + got,
				      sizeof(info) - got, &r, NULL) || r == 0)
				return -EPIPE;
			got += r;
		}
		s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
			       FROM_PROTOCOL_INFO, &info, 0,
			       WSA_FLAG_NO_HANDLE_INHERIT);
		if (s == INVALID_SOCKET)
			return -wsa_errno();
		fds[i] = (int)(intptr_t)s;
	}
	CloseHandle(in);
	return 0;
}

int kp_conns_take(int *fds, unsigned n)
{
	WSADATA wsa;
	int rc;

	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
		return -1;
	rc = take_sockets(fds, n);
	if (rc < 0) {
		fprintf(stderr, "tlspool key process: cannot take its "
			"connections: %s\n", strerror(-rc));
		WSACleanup();
		return -1;
	}
	return 0;
}

void kp_conns_release(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		closesocket(sk(fds[i]));
	WSACleanup();
}

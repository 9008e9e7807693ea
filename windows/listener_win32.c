/* listener_win32 -- the pool's named pipe: message mode, unlimited
 * instances, local clients only (PIPE_REJECT_REMOTE_CLIENTS, and a
 * security descriptor that denies network logons and lets authenticated
 * local users read and write).  One thread waits in ConnectNamedPipe on
 * the instance that is free, makes the next one and hands the connected
 * one to a worker (ctlconn_win32_accept). */
#include "listener_win32.h"

#include <winsock2.h>
#include <windows.h>
#include <sddl.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctlconn_win32.h"
#include "tplog.h"
#include "worker.h"

#define PIPE_BUF_SIZE 65536

/* Deny NETWORK; SYSTEM, Administrators, the owner: all; authenticated
 * users: read and write (connect and talk). */
#define PIPE_SDDL L"D:(D;;GA;;;NU)(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;OW)" \
	L"(A;;GRGW;;;AU)"

static WCHAR *pipe_name;
static SECURITY_ATTRIBUTES sa;
static HANDLE waiting = INVALID_HANDLE_VALUE;
static HANDLE stop_event, thread;

static HANDLE make_instance(int first)
{
	DWORD open = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
		     (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);

	return CreateNamedPipeW(pipe_name, open,
				PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE |
				PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
				PIPE_UNLIMITED_INSTANCES, PIPE_BUF_SIZE,
				PIPE_BUF_SIZE, 0, &sa);
}

/* 1 connected, 0 stop, -1 error. */
static int wait_client(HANDLE h)
{
	OVERLAPPED ov = { 0 };
	HANDLE ev[2];
	DWORD n;
	int rc = -1;

	ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (ov.hEvent == NULL)
		return -1;
	if (ConnectNamedPipe(h, &ov) ||
	    GetLastError() == ERROR_PIPE_CONNECTED) {
		rc = 1;
	} else if (GetLastError() == ERROR_IO_PENDING) {
		ev[0] = ov.hEvent;
		ev[1] = stop_event;
		if (WaitForMultipleObjects(2, ev, FALSE, INFINITE) ==
		    WAIT_OBJECT_0) {
			rc = GetOverlappedResult(h, &ov, &n, FALSE) ? 1 : -1;
		} else {
			CancelIoEx(h, &ov);
			GetOverlappedResult(h, &ov, &n, TRUE);
			rc = 0;
		}
	}
	CloseHandle(ov.hEvent);
	return rc;
}

static DWORD WINAPI acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		HANDLE h = waiting;
		int rc = wait_client(h);

		if (rc == 0)
			break;
		waiting = make_instance(0);
		if (rc < 0) {
			tplog(LOG_WARNING, "pipe: ConnectNamedPipe: error %lu",
			      (unsigned long)GetLastError());
			CloseHandle(h);
		} else {
			struct worker *w = worker_next();

			if (w != NULL)
				ctlconn_win32_accept(w, h);
			else
				CloseHandle(h);
		}
		if (waiting == INVALID_HANDLE_VALUE) {
			tplog(LOG_CRIT, "pipe: cannot make the next instance: "
			      "error %lu", (unsigned long)GetLastError());
			break;
		}
	}
	return 0;
}

int listener_win32_start(const char *name, char *err, size_t errlen)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, name, -1, NULL, 0);

	pipe_name = n > 0 ? calloc((size_t)n, sizeof(WCHAR)) : NULL;
	if (pipe_name == NULL ||
	    !MultiByteToWideChar(CP_UTF8, 0, name, -1, pipe_name, n)) {
		snprintf(err, errlen, "pipe name %s: unusable", name);
		goto fail;
	}
	sa.nLength = sizeof(sa);
	sa.bInheritHandle = FALSE;
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
		    PIPE_SDDL, SDDL_REVISION_1, &sa.lpSecurityDescriptor,
		    NULL)) {
		snprintf(err, errlen, "pipe security descriptor: error %lu",
			 (unsigned long)GetLastError());
		goto fail;
	}
	waiting = make_instance(1);
	if (waiting == INVALID_HANDLE_VALUE) {
		DWORD e = GetLastError();

		snprintf(err, errlen, "pipe %s: %s (error %lu)", name,
			 e == ERROR_ACCESS_DENIED ? "in use by another process"
						  : "cannot create it",
			 (unsigned long)e);
		goto fail_sd;
	}
	stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (stop_event == NULL)
		goto fail_pipe;
	thread = CreateThread(NULL, 0, acceptor, NULL, 0, NULL);
	if (thread == NULL)
		goto fail_event;
	return 0;

fail_event:
	CloseHandle(stop_event);
	stop_event = NULL;
fail_pipe:
	snprintf(err, errlen, "pipe %s: cannot start the acceptor", name);
	CloseHandle(waiting);
	waiting = INVALID_HANDLE_VALUE;
fail_sd:
	LocalFree(sa.lpSecurityDescriptor);
	sa.lpSecurityDescriptor = NULL;
fail:
	free(pipe_name);
	pipe_name = NULL;
	return -EADDRINUSE;
}

void listener_win32_stop(void)
{
	if (thread == NULL)
		return;
	SetEvent(stop_event);
	WaitForSingleObject(thread, INFINITE);
	CloseHandle(thread);
	thread = NULL;
	CloseHandle(stop_event);
	stop_event = NULL;
	if (waiting != INVALID_HANDLE_VALUE)
		CloseHandle(waiting);
	waiting = INVALID_HANDLE_VALUE;
	LocalFree(sa.lpSecurityDescriptor);
	sa.lpSecurityDescriptor = NULL;
	free(pipe_name);
	pipe_name = NULL;
}

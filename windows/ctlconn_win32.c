/* ctlconn_win32 -- the transport of control connections on Windows
 * (ctlconn_int.h): one named pipe instance per application, in message
 * mode, one message = struct ctlmsg_win32.
 *
 * A pipe cannot be WSAPoll-ed, so a reader thread per connection reads
 * whole messages, turns a passed WSAPROTOCOL_INFOW (pio_ancil_type 1) or
 * socket handle of the client (pio_ancil_type 2, see take_handle) into a
 * SOCKET and posts message and socket to the connection's worker;
 * malformed messages and refused handovers get an ERROR reply there and
 * the connection goes on.  Replies
 * go from the worker to a writer thread per connection (the only writer,
 * so they never interleave), which waits for each WriteFile: a client
 * that does not read holds its own writer, never the worker.  Closing
 * disconnects the instance and wakes the writer, which fails the
 * reader's read; each thread then ends and drops its reference, the
 * reader after posting its end to the worker.  The handle is closed with
 * the last reference.
 */
#include "ctlconn_int.h"
#include "ctlconn_win32.h"

#include <sddl.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctlmsg_win32.h"
#include "sockio.h"
#include "tplog.h"
#include "worker.h"

/* The command part; include/tlspool/commands.h may append the Windows
 * ancillary fields to struct tlspool_command itself, which this file
 * leaves zero and reads from struct ctlmsg_win32 instead. */
_Static_assert(offsetof(struct tlspool_command, pio_data) +
	       sizeof(union pio_data) == CTLMSG_CMD_SIZE,
	       "the command is 388 bytes");

struct wmsg {
	struct wmsg *next;
	struct ctlmsg_win32 m;
};

struct ctlconn_tp {
	struct ctlconn *c;
	HANDLE pipe;
	HANDLE thread, writer;
	HANDLE rd_event, wr_event;
	HANDLE wr_wake;			/* auto-reset: queue grew or closing */
	pthread_mutex_t wr_lock;	/* wq_head, wq_tail, closing */
	struct wmsg *wq_head, *wq_tail;
	int closing;
	DWORD pid;
	HANDLE proc;			/* the client, PROCESS_DUP_HANDLE only */
	DWORD proc_err;			/* why proc is NULL */
};

struct inmsg {
	struct ctlconn *c;
	struct tlspool_command cmd;
	int fd;
	int bad;			/* errno of a malformed message */
	const char *kind;		/* what was bad: NULL = the message */
	char why[112];
};

static void handle_close(HANDLE *h)
{
	if (*h != NULL && *h != INVALID_HANDLE_VALUE)
		CloseHandle(*h);
	*h = NULL;
}

void ctlconn_tp_free(struct ctlconn_tp *t)
{
	if (t == NULL)
		return;
	while (t->wq_head != NULL) {
		struct wmsg *w = t->wq_head;

		t->wq_head = w->next;
		free(w);
	}
	pthread_mutex_destroy(&t->wr_lock);
	handle_close(&t->pipe);
	handle_close(&t->thread);
	handle_close(&t->writer);
	handle_close(&t->rd_event);
	handle_close(&t->wr_event);
	handle_close(&t->wr_wake);
	handle_close(&t->proc);
	free(t);
}

/* ---- writing: queued by the worker, written by the writer thread ---- */

static int write_msg(struct ctlconn_tp *t, const struct ctlmsg_win32 *m)
{
	OVERLAPPED ov;
	DWORD put = 0;
	BOOL ok;

	memset(&ov, 0, sizeof(ov));
	ov.hEvent = t->wr_event;
	ok = WriteFile(t->pipe, m, sizeof(*m), NULL, &ov);
	if (ok || GetLastError() == ERROR_IO_PENDING)
		ok = GetOverlappedResult(t->pipe, &ov, &put, TRUE);
	return ok && put == sizeof(*m) ? 0 : -EPIPE;
}

static void write_failed(void *arg)
{
	struct ctlconn *c = arg;

	if (!c->closed)
		ctlconn_write_failed(c, EPIPE);
	ctlconn_unref(c);		/* the writer's */
}

static DWORD WINAPI writer(void *arg)
{
	struct ctlconn *c = arg;
	struct ctlconn_tp *t = c->tp;

	for (;;) {
		struct wmsg *list, *w;
		int closing;

		WaitForSingleObject(t->wr_wake, INFINITE);
		pthread_mutex_lock(&t->wr_lock);
		list = t->wq_head;
		t->wq_head = t->wq_tail = NULL;
		closing = t->closing;
		pthread_mutex_unlock(&t->wr_lock);
		while ((w = list) != NULL) {
			list = w->next;
			if (!closing && write_msg(t, &w->m) < 0) {
				tplog(LOG_INFO, "%s: writing to the pipe: "
				      "error %lu", c->peer,
				      (unsigned long)GetLastError());
				closing = 1;
				if (worker_post(c->w, write_failed, c) == 0)
					c = NULL;	/* ref handed over */
			}
			free(w);
		}
		if (closing)
			break;
	}
	if (c != NULL)
		ctlconn_unref(c);
	return 0;
}

void ctlconn_tp_flush(struct ctlconn *c)
{
	struct ctlconn_tp *t = c->tp;
	int any = 0;

	while (c->out_head != NULL && !c->closed && !c->write_error) {
		struct wmsg *w = calloc(1, sizeof(*w));

		if (w == NULL) {
			tplog(LOG_ERR, "%s: out of memory for a reply",
			      c->peer);
			ctlconn_write_failed(c, ENOMEM);
			break;
		}
		memcpy(w->m.cmd, &c->out_head->cmd, sizeof(w->m.cmd));
		w->m.pio_ancil_type = CTLMSG_ANCIL_NONE;
		ctlconn_out_pop(c);
		pthread_mutex_lock(&t->wr_lock);
		if (t->wq_tail != NULL)
			t->wq_tail->next = w;
		else
			t->wq_head = w;
		t->wq_tail = w;
		pthread_mutex_unlock(&t->wr_lock);
		any = 1;
	}
	if (any)
		SetEvent(t->wr_wake);
}

void ctlconn_tp_close(struct ctlconn *c)
{
	struct ctlconn_tp *t = c->tp;

	/* The writer drops what is still queued (as closing the socket
	 * does on POSIX) and ends; the reader's pending and any later read
	 * fail, and it posts reader_ended. */
	pthread_mutex_lock(&t->wr_lock);
	t->closing = 1;
	pthread_mutex_unlock(&t->wr_lock);
	SetEvent(t->wr_wake);
	DisconnectNamedPipe(t->pipe);
	CancelIoEx(t->pipe, NULL);
}

/* ---- reading, on the reader thread ---- */

static void msg_posted(void *arg)
{
	struct inmsg *im = arg;
	struct ctlconn *c = im->c;

	if (c->closed) {
		if (im->fd >= 0)
			sockio_close(im->fd);
	} else if (im->bad && im->kind != NULL) {
		tplog(LOG_NOTICE, "%s: %s refused: %s", c->peer, im->kind,
		      im->why);
		ctlconn_send_error(c, im->cmd.pio_reqid, im->bad, "%s: %s",
				   im->kind, im->why);
	} else if (im->bad) {
		tplog(LOG_NOTICE, "%s: malformed message: %s", c->peer,
		      im->why);
		ctlconn_send_error(c, im->cmd.pio_reqid, im->bad,
				   "malformed: %s", im->why);
	} else {
		ctlconn_message(c, &im->cmd, &im->fd);
	}
	sodium_memzero(im, sizeof(*im));
	free(im);
	ctlconn_unref(c);
}

struct ended {
	struct ctlconn *c;
	char why[100];
};

static void reader_ended(void *arg)
{
	struct ended *e = arg;
	struct ctlconn *c = e->c;

	ctlconn_close(c, e->why);
	free(e);
	ctlconn_unref(c);		/* the reader's */
}

/* The socket a WSAPROTOCOL_INFOW describes, or -errno (why filled). */
static int take_socket(const struct ctlmsg_win32 *m, char *why, size_t len)
{
	WSAPROTOCOL_INFOW info;
	SOCKET s;

	memcpy(&info, &m->pio_ancil_data.pioa_socket, sizeof(info));
	s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
		       FROM_PROTOCOL_INFO, &info, 0,
		       WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	if (s == INVALID_SOCKET) {
		snprintf(why, len, "the WSAPROTOCOL_INFOW describes no socket "
			 "(WSA error %d)", WSAGetLastError());
		return -EBADF;
	}
	return (int)(intptr_t)s;
}

/* The handle dup taken from the client (v, its value there) as a socket
 * of ours, or -errno (why filled); dup is closed either way.  Winsock
 * learns of it through WSADuplicateSocketW for our own process, which
 * also fails for anything that is not a socket (wine's ws2_32 serves no
 * socket it did not make or receive that way). */
static int adopt_socket(HANDLE dup, unsigned long long v, char *why,
			size_t len)
{
	WSAPROTOCOL_INFOW info;
	SOCKET s;
	DWORD ftype;
	int type, tlen = sizeof(type), werr;

	/* Sockets are FILE_TYPE_PIPE (as pipes are): anything else is
	 * refused before winsock sends it a request. */
	ftype = GetFileType(dup);
	if (ftype != FILE_TYPE_PIPE) {
		CloseHandle(dup);	/* not a socket: not ours to keep */
		snprintf(why, len, "handle 0x%llx is not a socket (file type "
			 "%lu)", v, (unsigned long)ftype);
		return -ENOTSOCK;
	}
	if (WSADuplicateSocketW((SOCKET)(uintptr_t)dup, GetCurrentProcessId(),
				&info) != 0) {
		werr = WSAGetLastError();
		CloseHandle(dup);
		snprintf(why, len, "handle 0x%llx is not a socket (WSA error "
			 "%d)", v, werr);
		return -ENOTSOCK;
	}
	s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
		       FROM_PROTOCOL_INFO, &info, 0,
		       WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
	werr = WSAGetLastError();
	/* Winsock may know dup now (Windows adopts foreign socket
	 * handles); where it does not, it is a plain handle. */
	if (closesocket((SOCKET)(uintptr_t)dup) != 0)
		CloseHandle(dup);
	if (s == INVALID_SOCKET) {
		snprintf(why, len, "handle 0x%llx gives no socket (WSA error "
			 "%d)", v, werr);
		return -ENOTSOCK;
	}
	if (getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &tlen) != 0) {
		werr = WSAGetLastError();
		closesocket(s);
		snprintf(why, len, "handle 0x%llx is not a socket (WSA error "
			 "%d)", v, werr);
		return -ENOTSOCK;
	}
	return (int)(intptr_t)s;
}

/* The socket the client names by its own handle value (pio_ancil_type
 * 2), for a client that may not open our process (a service's, under
 * LocalSystem) and so cannot use WSADuplicateSocketW.  We take handles
 * only from the process at the other end of this pipe instance, as the
 * kernel reported it at connect time (t->proc, opened then: the pid
 * cannot be reused while we hold it), never from a pid in a message; the
 * client can only make us take what it holds itself.  What we take must
 * be a socket; anything else is closed again.  A socket or -errno (why
 * filled). */
static int take_handle(struct ctlconn *c, const struct ctlmsg_win32 *m,
		       char *why, size_t len)
{
	struct ctlconn_tp *t = c->tp;
	HANDLE src, dup = NULL;
	unsigned long long v;
	DWORD err;
	int fd;

	memcpy(&src, &m->pio_ancil_data.pioa_filehandle, sizeof(src));
	v = (unsigned long long)(uintptr_t)src;
	if ((intptr_t)src <= 0 || (v & 3) != 0) {
		/* NULL, a pseudo handle (current process, thread, token)
		 * or not a kernel handle value */
		snprintf(why, len, "0x%llx is not a handle value", v);
		return -EBADF;
	}
	if (t->proc == NULL) {
		snprintf(why, len, "cannot open the client process (pid %lu): "
			 "error %lu", (unsigned long)t->pid,
			 (unsigned long)t->proc_err);
		return t->proc_err == ERROR_ACCESS_DENIED ? -EACCES : -ESRCH;
	}
	if (!DuplicateHandle(t->proc, src, GetCurrentProcess(), &dup, 0,
			     FALSE, DUPLICATE_SAME_ACCESS)) {
		err = GetLastError();
		if (err == ERROR_INVALID_HANDLE)
			snprintf(why, len, "handle 0x%llx is not open in the "
				 "client process (pid %lu)", v,
				 (unsigned long)t->pid);
		else
			snprintf(why, len, "cannot take handle 0x%llx from the "
				 "client process (pid %lu): error %lu", v,
				 (unsigned long)t->pid, (unsigned long)err);
		return -EBADF;
	}
	fd = adopt_socket(dup, v, why, len);
	if (fd >= 0)
		tplog(LOG_INFO, "%s: took socket handle 0x%llx from the client",
		      c->peer, v);
	return fd;
}

/* Check one message read whole (got bytes) into im. */
static void parse(const struct ctlmsg_win32 *m, DWORD got, struct inmsg *im)
{
	int fd;

	im->fd = -1;
	memcpy(&im->cmd, m->cmd, got < sizeof(m->cmd) ? got : sizeof(m->cmd));
	if (got != sizeof(*m)) {
		im->bad = EPROTO;
		snprintf(im->why, sizeof(im->why), "a message of %lu bytes; "
			 "the Windows wire format has %u",
			 (unsigned long)got, (unsigned)sizeof(*m));
		return;
	}
	switch (m->pio_ancil_type) {
	case CTLMSG_ANCIL_NONE:
		return;
	case CTLMSG_ANCIL_SOCKET:
		fd = take_socket(m, im->why, sizeof(im->why));
		if (fd < 0)
			im->bad = -fd;
		else
			im->fd = fd;
		return;
	case CTLMSG_ANCIL_FILEHANDLE:
		fd = take_handle(im->c, m, im->why, sizeof(im->why));
		if (fd < 0) {
			im->bad = -fd;
			im->kind = "socket handover";
		} else {
			im->fd = fd;
		}
		return;
	default:
		im->bad = EPROTO;
		snprintf(im->why, sizeof(im->why), "unknown pio_ancil_type %u",
			 m->pio_ancil_type);
		return;
	}
}

/* After the first read: the client's user, from impersonation. */
static void learn_peer(struct ctlconn *c)
{
	struct ctlconn_tp *t = c->tp;
	char user[256], *sidstr = NULL;
	HANDLE tok = NULL, self = NULL;
	char mine[256];
	DWORD len;
	int same = 0;

	if (!ImpersonateNamedPipeClient(t->pipe))
		goto label;
	if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &tok) &&
	    GetTokenInformation(tok, TokenUser, user, sizeof(user), &len) &&
	    ConvertSidToStringSidA(((TOKEN_USER *)user)->User.Sid, &sidstr)) {
		if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &self) &&
		    GetTokenInformation(self, TokenUser, mine, sizeof(mine),
					&len))
			same = EqualSid(((TOKEN_USER *)user)->User.Sid,
					((TOKEN_USER *)mine)->User.Sid);
	}
	RevertToSelf();
label:
	c->privileged = same;
	snprintf(c->peer, sizeof(c->peer), "pid=%lu sid=%s",
		 (unsigned long)t->pid, sidstr ? sidstr : "?");
	if (sidstr)
		LocalFree(sidstr);
	handle_close(&tok);
	handle_close(&self);
}

/* One message; 1 read, 0 the pipe ended (why filled). */
static int read_one(struct ctlconn_tp *t, struct ctlmsg_win32 *m,
		    DWORD *got, char *why, size_t len)
{
	OVERLAPPED ov;
	BOOL ok;
	DWORD err;

	for (;;) {
		memset(&ov, 0, sizeof(ov));
		ov.hEvent = t->rd_event;
		ok = ReadFile(t->pipe, m, sizeof(*m), NULL, &ov);
		if (ok || GetLastError() == ERROR_IO_PENDING ||
		    GetLastError() == ERROR_MORE_DATA)
			ok = GetOverlappedResult(t->pipe, &ov, got, TRUE);
		if (ok)
			return 1;
		err = GetLastError();
		if (err != ERROR_MORE_DATA)
			break;
		/* Longer than any message: skip the rest of it. */
		do {
			char skip[512];
			DWORD n;

			memset(&ov, 0, sizeof(ov));
			ov.hEvent = t->rd_event;
			ok = ReadFile(t->pipe, skip, sizeof(skip), NULL, &ov);
			if (ok || GetLastError() == ERROR_IO_PENDING ||
			    GetLastError() == ERROR_MORE_DATA)
				ok = GetOverlappedResult(t->pipe, &ov, &n, TRUE);
		} while (!ok && GetLastError() == ERROR_MORE_DATA);
		if (!ok)
			break;
		*got = sizeof(*m) + 1;	/* reported as too long */
		return 1;
	}
	if (err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED)
		snprintf(why, len, "end of file");
	else if (err == ERROR_OPERATION_ABORTED)
		snprintf(why, len, "closed by the daemon");
	else
		snprintf(why, len, "reading the pipe: error %lu",
			 (unsigned long)err);
	return 0;
}

static DWORD WINAPI reader(void *arg)
{
	struct ctlconn *c = arg;
	struct ctlmsg_win32 m;
	struct ended *e = calloc(1, sizeof(*e));
	int first = 1;
	DWORD got;

	if (e == NULL) {
		tplog(LOG_ERR, "%s: out of memory", c->peer);
		return 0;	/* leaks the connection rather than races */
	}
	e->c = c;
	while (read_one(c->tp, &m, &got, e->why, sizeof(e->why))) {
		struct inmsg *im = calloc(1, sizeof(*im));

		if (first) {
			learn_peer(c);
			first = 0;
		}
		if (im == NULL) {
			snprintf(e->why, sizeof(e->why), "out of memory");
			break;
		}
		im->c = c;
		parse(&m, got, im);
		sodium_memzero(&m, sizeof(m));
		ctlconn_ref(c);
		if (worker_post(c->w, msg_posted, im) < 0) {
			if (im->fd >= 0)
				sockio_close(im->fd);
			free(im);
			ctlconn_unref(c);
			snprintf(e->why, sizeof(e->why), "out of memory");
			break;
		}
	}
	if (worker_post(c->w, reader_ended, e) < 0)
		tplog(LOG_ERR, "%s: cannot end the connection", c->peer);
	return 0;
}

void ctlconn_win32_accept(struct worker *w, HANDLE pipe)
{
	struct ctlconn_tp *t = calloc(1, sizeof(*t));
	struct ctlconn *c = t != NULL ? ctlconn_new(w) : NULL;

	if (c == NULL) {
		if (t == NULL)
			tplog(LOG_ERR, "out of memory for a control connection");
		free(t);
		CloseHandle(pipe);
		return;
	}
	c->tp = t;
	t->c = c;
	t->pipe = pipe;
	if (!GetNamedPipeClientProcessId(pipe, &t->pid))
		t->pid = 0;
	/* For socket handles passed by value (take_handle): opened now,
	 * so that the pid means this client for as long as we serve it. */
	t->proc = t->pid != 0 ? OpenProcess(PROCESS_DUP_HANDLE, FALSE, t->pid)
			      : NULL;
	if (t->proc == NULL)
		t->proc_err = t->pid != 0 ? GetLastError()
					  : ERROR_INVALID_PARAMETER;
	snprintf(c->peer, sizeof(c->peer), "pid=%lu", (unsigned long)t->pid);
	pthread_mutex_init(&t->wr_lock, NULL);
	t->rd_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	t->wr_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	t->wr_wake = CreateEventW(NULL, FALSE, FALSE, NULL);
	if (t->rd_event == NULL || t->wr_event == NULL || t->wr_wake == NULL)
		goto fail;
	ctlconn_ref(c);			/* the writer's */
	t->writer = CreateThread(NULL, 0, writer, c, 0, NULL);
	if (t->writer == NULL) {
		ctlconn_unref(c);
		goto fail;
	}
	ctlconn_ref(c);			/* the reader's */
	t->thread = CreateThread(NULL, 0, reader, c, 0, NULL);
	if (t->thread == NULL) {
		ctlconn_unref(c);
		pthread_mutex_lock(&t->wr_lock);
		t->closing = 1;		/* the writer ends, dropping its ref */
		pthread_mutex_unlock(&t->wr_lock);
		SetEvent(t->wr_wake);
		goto fail;
	}
	tplog(LOG_INFO, "%s: control connection opened", c->peer);
	return;

fail:
	tplog(LOG_ERR, "%s: cannot serve the pipe: error %lu", c->peer,
	      (unsigned long)GetLastError());
	ctlconn_unref(c);		/* frees t, closing the pipe */
}

/* ctlconn_win32 -- the transport of control connections on Windows
 * (ctlconn_int.h): one named pipe instance per application, in message
 * mode, one message = struct ctlmsg_win32.
 *
 * A pipe cannot be WSAPoll-ed, so a reader thread per connection reads
 * whole messages, turns a passed WSAPROTOCOL_INFOW into a SOCKET and
 * posts message and socket to the connection's worker; malformed
 * messages get an ERROR reply there and the connection goes on.  Replies
 * are written by the worker (the only writer, so they never interleave)
 * with overlapped WriteFile, waiting for each to be taken by the pipe.
 * Closing disconnects the instance, which fails the reader's read; the
 * reader then posts its end, which closes the handle on the worker and
 * drops the reader's reference.
 */
#include "ctlconn_int.h"
#include "ctlconn_win32.h"

#include <sddl.h>

#include <errno.h>
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

struct ctlconn_tp {
	struct ctlconn *c;
	HANDLE pipe;
	HANDLE thread;
	HANDLE rd_event, wr_event;
	DWORD pid;
};

struct inmsg {
	struct ctlconn *c;
	struct tlspool_command cmd;
	int fd;
	int bad;			/* errno of a malformed message */
	char why[100];
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
	handle_close(&t->pipe);
	handle_close(&t->thread);
	handle_close(&t->rd_event);
	handle_close(&t->wr_event);
	free(t);
}

/* ---- writing, on the worker ---- */

static int write_msg(struct ctlconn_tp *t, const struct tlspool_command *cmd)
{
	struct ctlmsg_win32 m;
	OVERLAPPED ov;
	DWORD put = 0;
	BOOL ok;

	memset(&m, 0, sizeof(m));
	memcpy(m.cmd, cmd, sizeof(m.cmd));
	m.pio_ancil_type = CTLMSG_ANCIL_NONE;
	memset(&ov, 0, sizeof(ov));
	ov.hEvent = t->wr_event;
	ok = WriteFile(t->pipe, &m, sizeof(m), NULL, &ov);
	if (ok || GetLastError() == ERROR_IO_PENDING)
		ok = GetOverlappedResult(t->pipe, &ov, &put, TRUE);
	return ok && put == sizeof(m) ? 0 : -EPIPE;
}

void ctlconn_tp_flush(struct ctlconn *c)
{
	while (c->out_head != NULL && !c->closed && !c->write_error) {
		if (write_msg(c->tp, &c->out_head->cmd) < 0) {
			tplog(LOG_INFO, "%s: writing to the pipe: error %lu",
			      c->peer, (unsigned long)GetLastError());
			ctlconn_write_failed(c, EPIPE);
			return;
		}
		ctlconn_out_pop(c);
	}
}

void ctlconn_tp_close(struct ctlconn *c)
{
	/* The reader's pending and any later read fail; it then posts
	 * reader_ended, which closes the handle. */
	DisconnectNamedPipe(c->tp->pipe);
	CancelIoEx(c->tp->pipe, NULL);
}

/* ---- reading, on the reader thread ---- */

static void msg_posted(void *arg)
{
	struct inmsg *im = arg;
	struct ctlconn *c = im->c;

	if (c->closed) {
		if (im->fd >= 0)
			sockio_close(im->fd);
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
	handle_close(&c->tp->pipe);
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
		im->bad = EINVAL;
		snprintf(im->why, sizeof(im->why), "the pool takes sockets, "
			 "not file handles (pio_ancil_type 2)");
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
	snprintf(c->peer, sizeof(c->peer), "pid=%lu", (unsigned long)t->pid);
	t->rd_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	t->wr_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	if (t->rd_event == NULL || t->wr_event == NULL)
		goto fail;
	ctlconn_ref(c);			/* the reader's */
	t->thread = CreateThread(NULL, 0, reader, c, 0, NULL);
	if (t->thread == NULL) {
		ctlconn_unref(c);
		goto fail;
	}
	tplog(LOG_INFO, "%s: control connection opened", c->peer);
	return;

fail:
	tplog(LOG_ERR, "%s: cannot serve the pipe: error %lu", c->peer,
	      (unsigned long)GetLastError());
	ctlconn_unref(c);		/* frees t, closing the pipe */
}

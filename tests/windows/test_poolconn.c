/* test_poolconn -- windows/poolconn_win32.c itself (linked into
 * test_winlib): shutdown wakes a blocked reader, also one that had not
 * started reading yet, and a connection to a daemon that stopped is stale
 * and reads end of file.
 */
#include "test_poolconn.h"

#include <errno.h>
#include <string.h>

#include "poolconn.h"

struct reader {
	struct poolconn *pc;
	struct tlspool_command cmd;
	poolconn_sock_t sock;
	int rc;
};

static DWORD WINAPI reader_run(LPVOID arg)
{
	struct reader *r = arg;

	r->rc = poolconn_recv(r->pc, &r->cmd, &r->sock);
	return 0;
}

static void test_poolconn_wake(const char *path,
			       void (*check)(const char *, int))
{
	struct reader r;
	struct tlspool_command cmd;
	HANDLE t;

	memset(&r, 0, sizeof(r));
	check("poolconn: connect", poolconn_connect(path, &r.pc) == 0);
	if (r.pc == NULL)
		return;
	check("poolconn: an idle connection is not stale",
	      !poolconn_stale(r.pc));
	t = CreateThread(NULL, 0, reader_run, &r, 0, NULL);
	check("poolconn: the reader blocks",
	      t != NULL && WaitForSingleObject(t, 300) == WAIT_TIMEOUT);
	poolconn_shutdown(r.pc);
	check("poolconn: shutdown wakes it with ECONNRESET",
	      t != NULL && WaitForSingleObject(t, 5000) == WAIT_OBJECT_0 &&
	      r.rc == -ECONNRESET);
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_cmd = PIOC_PING_V2;
	check("poolconn: no sending after shutdown",
	      poolconn_send(r.pc, &cmd, POOLCONN_NOSOCK) == -ECONNRESET);
	check("poolconn: nor reading",
	      poolconn_recv(r.pc, &cmd, &r.sock) == -ECONNRESET);
	if (t != NULL)
		CloseHandle(t);
	poolconn_close(r.pc);
}

struct poolconn *test_poolconn_hangup_begin(const char *path,
					    void (*check)(const char *, int))
{
	struct tlspool_command cmd;
	struct poolconn *pc = NULL;
	poolconn_sock_t s;

	if (poolconn_connect(path, &pc) != 0) {
		check("poolconn: connect again", 0);
		return NULL;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_cmd = PIOC_PING_V2;
	strcpy(cmd.pio_data.pioc_ping.YYYYMMDD_producer, TLSPOOL_IDENTITY_V2);
	check("poolconn: send", poolconn_send(pc, &cmd, POOLCONN_NOSOCK) == 0);
	check("poolconn: the daemon answers",
	      poolconn_recv(pc, &cmd, &s) > 0 && cmd.pio_cmd == PIOC_PING_V2);
	return pc;
}

void test_poolconn_hangup_end(struct poolconn *pc,
			      void (*check)(const char *, int))
{
	struct tlspool_command cmd;
	poolconn_sock_t s;
	int stale = 0;

	for (int i = 0; i < 100 && !stale; i++) {
		stale = poolconn_stale(pc);
		if (!stale)
			Sleep(20);
	}
	check("poolconn: stale once the daemon stopped", stale);
	check("poolconn: end of file", poolconn_recv(pc, &cmd, &s) == 0);
	check("poolconn: non-blocking end of file",
	      poolconn_recv_nb(pc, &cmd, &s) == 0);
	poolconn_close(pc);
}

void test_poolconn(const char *path, void (*check)(const char *, int))
{
	test_poolconn_wake(path, check);
}

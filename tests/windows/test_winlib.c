/* test_winlib -- the Windows client side under wine, without the real
 * daemon: the message layout, the socketpair emulation, the library
 * against a pipe nobody serves, and the library (libtlspool-0.dll)
 * against a fake daemon on a named pipe: PING, STARTTLS with both
 * sockets handed over (as WSAPROTOCOL_INFOW, and as handle values with
 * TLSPOOL_SOCKET_HANDOVER=handle), a daemon that hangs up, the async API, and
 * windows/poolconn_win32.c itself (test_poolconn.c).
 *
 * Prints "ok   NAME" / "FAIL NAME" per check, then "N passed, N failed";
 * exits 1 when a check failed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tlspool/async.h>
#include <tlspool/starttls.h>

#include "fake_pipe_daemon.h"
#include "socketpair_win32.h"
#include "test_poolconn.h"

static int passed, failed;

static void check(const char *what, int ok)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static void test_layout(void)
{
	check("layout: message size 1018",
	      sizeof(struct tlspool_command) == 1018 && TLSPOOL_MSGLEN == 1018);
	check("layout: pio_data at 8, 380 bytes",
	      offsetof(struct tlspool_command, pio_data) == 8 &&
	      sizeof(union pio_data) == 380);
	check("layout: pio_ancil_type at 388",
	      offsetof(struct tlspool_command, pio_ancil_type) == 388);
	check("layout: pio_ancil_data at 390, a WSAPROTOCOL_INFOW",
	      offsetof(struct tlspool_command, pio_ancil_data) == 390 &&
	      sizeof(union pio_ancil_data) == sizeof(WSAPROTOCOL_INFOW));
}

/* Send text on a, read it on b (with a timeout).  1 when it arrived. */
static int roundtrip(SOCKET a, SOCKET b, const char *text)
{
	char buf[64];
	DWORD tmo = 5000;
	int n, len = (int)strlen(text);

	setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo,
		   sizeof(tmo));
	if (send(a, text, len, 0) != len)
		return 0;
	n = recv(b, buf, sizeof(buf), 0);
	return n == len && memcmp(buf, text, (size_t)len) == 0;
}

/* Read exactly text from s. */
static int arrives(SOCKET s, const char *text)
{
	char buf[64];
	DWORD tmo = 5000;
	int n, len = (int)strlen(text);

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo,
		   sizeof(tmo));
	n = recv(s, buf, sizeof(buf), 0);
	return n == len && memcmp(buf, text, (size_t)len) == 0;
}

static SOCKET foreign = INVALID_SOCKET;

/* Connect somebody else to the listener before the pair's own socket. */
static void intrude(const struct sockaddr_in *addr, void *arg)
{
	(void)arg;
	foreign = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	if (foreign != INVALID_SOCKET &&
	    connect(foreign, (const struct sockaddr *)addr, sizeof(*addr)) != 0) {
		closesocket(foreign);
		foreign = INVALID_SOCKET;
	}
}

/* sv[0]'s peer is exactly sv[1]. */
static int paired(SOCKET sv[2])
{
	struct sockaddr_in peer, mine;
	int lp = sizeof(peer), lm = sizeof(mine);

	return getpeername(sv[0], (struct sockaddr *)&peer, &lp) == 0 &&
	       getsockname(sv[1], (struct sockaddr *)&mine, &lm) == 0 &&
	       peer.sin_port == mine.sin_port &&
	       peer.sin_addr.s_addr == mine.sin_addr.s_addr;
}

static void test_socketpair(void)
{
	SOCKET sv[2];
	char c;
	DWORD tmo = 5000;
	int rc;

	rc = socketpair_win32(sv);
	check("socketpair: made", rc == 0);
	if (rc != 0)
		return;
	check("socketpair: the ends are each other's peer", paired(sv));
	check("socketpair: data 0 -> 1", roundtrip(sv[0], sv[1], "ping"));
	check("socketpair: data 1 -> 0", roundtrip(sv[1], sv[0], "pong"));
	closesocket(sv[1]);
	check("socketpair: end of file when the other end closes",
	      recv(sv[0], &c, 1, 0) == 0);
	closesocket(sv[0]);

	rc = socketpair_win32_hooked(sv, intrude, NULL);
	check("socketpair: a foreign connection got in first",
	      foreign != INVALID_SOCKET);
	check("socketpair: made despite it", rc == 0);
	if (rc != 0)
		return;
	check("socketpair: the foreign connection is not one end",
	      paired(sv));
	check("socketpair: data still flows", roundtrip(sv[1], sv[0], "x"));
	if (foreign != INVALID_SOCKET) {
		setsockopt(foreign, SOL_SOCKET, SO_RCVTIMEO,
			   (const char *)&tmo, sizeof(tmo));
		check("socketpair: the foreign connection was closed",
		      recv(foreign, &c, 1, 0) <= 0);
		closesocket(foreign);
	}
	closesocket(sv[0]);
	closesocket(sv[1]);
}

static void test_unserved(void)
{
	char name[128];
	pingpool_t ping;
	ULONGLONG t0;
	int rc, err;

	snprintf(name, sizeof(name), "\\\\.\\pipe\\tlspool-nobody-%lu",
		 (unsigned long)GetCurrentProcessId());
	check("default pool path is \\\\.\\pipe\\tlspool",
	      strcmp(tlspool_socket_path(), "\\\\.\\pipe\\tlspool") == 0 ||
	      getenv("TLSPOOL_SOCKET") != NULL);
	t0 = GetTickCount64();
	errno = 0;
	check("unserved pipe: no pool handle",
	      tlspool_open_poolhandle(name) == INVALID_POOL_HANDLE);
	err = errno;
	check("unserved pipe: errno ENOENT", err == ENOENT);
	memset(&ping, 0, sizeof(ping));
	strcpy(ping.YYYYMMDD_producer, TLSPOOL_IDENTITY_V2);
	errno = 0;
	rc = tlspool_ping(&ping);
	err = errno;
	check("unserved pipe: tlspool_ping fails with ENOENT",
	      rc == -1 && err == ENOENT);
	check("unserved pipe: within 3 s", GetTickCount64() - t0 < 3000);
	check("unserved pipe: the path is remembered",
	      strcmp(tlspool_socket_path(), name) == 0);
	errno = 0;
	check("a socket path is no pipe name: EINVAL",
	      tlspool_open_poolhandle("/var/run/tlspool.sock") ==
	      INVALID_POOL_HANDLE && errno == EINVAL);
}

static int ping_as(const char *producer, pingpool_t *ping)
{
	memset(ping, 0, sizeof(*ping));
	strcpy(ping->YYYYMMDD_producer, producer);
	ping->facilities = PIOF_FACILITY_STARTTLS;
	return tlspool_ping(ping);
}

static void test_ping(struct fake_daemon *f)
{
	pingpool_t ping;
	int rc, err;

	check("fake daemon: pool handle",
	      tlspool_open_poolhandle(f->path) != INVALID_POOL_HANDLE);
	rc = ping_as(TLSPOOL_IDENTITY_V2, &ping);
	check("fake daemon: ping", rc == 0 &&
	      strcmp(ping.YYYYMMDD_producer, FAKE_IDENTITY) == 0 &&
	      ping.facilities == PIOF_FACILITY_STARTTLS);
	errno = 0;
	rc = ping_as(FAKE_HANG_UP, &ping);
	err = errno;
	check("daemon hangs up: the call fails with ECONNRESET",
	      rc == -1 && err == ECONNRESET);
	rc = ping_as(TLSPOOL_IDENTITY_V2, &ping);
	check("daemon hung up: the next call reconnects", rc == 0);
}

static void test_starttls(struct fake_daemon *f)
{
	starttls_t st;
	SOCKET net[2];
	int appfd;

	if (socketpair_win32(net) != 0) {
		check("starttls: a connection to hand over", 0);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		   PIOF_STARTTLS_REMOTEROLE_SERVER;
	st.ipproto = IPPROTO_TCP;
	strcpy(st.remoteid, "peer.example");
	appfd = tlspool_starttls((int)(intptr_t)net[1], &st, NULL, NULL);
	check("starttls: returns the plaintext socket", appfd >= 0);
	check("starttls: two sockets reached the daemon",
	      f->sockets_received == 2);
	check("starttls: the final reply's identities",
	      strcmp(st.localid, "fake@local") == 0 &&
	      strcmp(st.remoteid, "peer.example") == 0);
	check("starttls: the daemon wrote on cryptfd",
	      arrives(net[0], "crypt"));
	if (appfd >= 0) {
		check("starttls: the daemon wrote on the plaintext side",
		      arrives((SOCKET)(intptr_t)appfd, "plain"));
		closesocket((SOCKET)(intptr_t)appfd);
	}
	closesocket(net[0]);
	closesocket(net[1]);
	errno = 0;
	check("starttls: a closed cryptfd is EBADF",
	      tlspool_starttls((int)(intptr_t)net[1], &st, NULL, NULL) == -1 &&
	      errno == EBADF);
}

/* The library made to pass sockets by handle value (what it does when it
 * may not open the daemon's process): the connection is made anew, both
 * sockets arrive although the library closed its plaintext end right
 * after sending it (it holds a private duplicate until the answer). */
static void test_starttls_by_handle(struct fake_daemon *f)
{
	pingpool_t ping;
	starttls_t st;
	SOCKET net[2];
	LONG before = f->handles_received;
	int appfd;

	SetEnvironmentVariableA("TLSPOOL_SOCKET_HANDOVER", "handle");
	ping_as(FAKE_HANG_UP, &ping);	/* the next call reconnects */
	if (socketpair_win32(net) != 0) {
		check("starttls by handle: a connection to hand over", 0);
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		   PIOF_STARTTLS_REMOTEROLE_SERVER;
	st.ipproto = IPPROTO_TCP;
	strcpy(st.remoteid, "peer.example");
	appfd = tlspool_starttls((int)(intptr_t)net[1], &st, NULL, NULL);
	check("starttls by handle: returns the plaintext socket", appfd >= 0);
	check("starttls by handle: both sockets arrived as handle values",
	      f->handles_received == before + 2);
	check("starttls by handle: the daemon wrote on cryptfd",
	      arrives(net[0], "crypt"));
	if (appfd >= 0) {
		check("starttls by handle: the daemon wrote on the plaintext side",
		      arrives((SOCKET)(intptr_t)appfd, "plain"));
		closesocket((SOCKET)(intptr_t)appfd);
	}
	closesocket(net[0]);
	closesocket(net[1]);
out:
	SetEnvironmentVariableA("TLSPOOL_SOCKET_HANDOVER", NULL);
	ping_as(FAKE_HANG_UP, &ping);	/* back to WSAPROTOCOL_INFOW */
}

static int async_done;

static void async_cb(struct tlspool_async_request *req, int opt_fd)
{
	(void)opt_fd;
	async_done = req->cmd.pio_cmd == PIOC_PING_V2 ? 1 : -1;
}

static void test_async(struct fake_daemon *f)
{
	struct tlspool_async_pool pool;
	struct tlspool_async_request req;
	bool ok;

	ok = tlspool_async_open(&pool, sizeof(struct tlspool_command),
				TLSPOOL_IDENTITY_V2, PIOF_FACILITY_STARTTLS,
				f->path);
	check("async: open with ping", ok &&
	      strcmp(pool.pingdata.YYYYMMDD_producer, FAKE_IDENTITY) == 0);
	if (!ok)
		return;
	check("async: nothing to process yet", tlspool_async_process(&pool));
	memset(&req, 0, sizeof(req));
	req.cbfunc = async_cb;
	req.cmd.pio_cmd = PIOC_PING_V2;
	strcpy(req.cmd.pio_data.pioc_ping.YYYYMMDD_producer,
	       TLSPOOL_IDENTITY_V2);
	check("async: request", tlspool_async_request(&pool, &req, -1));
	for (int i = 0; i < 200 && async_done == 0; i++) {
		Sleep(10);
		tlspool_async_process(&pool);
	}
	check("async: the callback got the reply", async_done == 1);
	check("async: close", tlspool_async_close(&pool, true) &&
	      pool.handle == INVALID_POOL_HANDLE);
}

/* tlspool_configvar and tlspool_pid with files in the temp directory. */
static void test_files(void)
{
	char dir[MAX_PATH], cfg[MAX_PATH + 32], pidf[MAX_PATH + 32];
	char *val;
	FILE *f;

	GetTempPathA(sizeof(dir), dir);
	snprintf(cfg, sizeof(cfg), "%stlspool-test-%lu.conf", dir,
		 (unsigned long)GetCurrentProcessId());
	snprintf(pidf, sizeof(pidf), "%stlspool-test-%lu.pid", dir,
		 (unsigned long)GetCurrentProcessId());
	f = fopen(cfg, "w");
	if (f != NULL) {
		fputs("# test\nsocket_name \\\\.\\pipe\\other\n", f);
		fclose(f);
	}
	val = tlspool_configvar(cfg, "socket_name");
	check("configvar: reads a key", val != NULL &&
	      strcmp(val, "\\\\.\\pipe\\other") == 0);
	free(val);
	errno = 0;
	check("configvar: a missing key is ENOENT",
	      tlspool_configvar(cfg, "nothing") == NULL && errno == ENOENT);
	f = fopen(pidf, "w");
	if (f != NULL) {
		fprintf(f, "%lu\n", (unsigned long)GetCurrentProcessId());
		fclose(f);
	}
	check("pid: a live process",
	      tlspool_pid(pidf) == (int)GetCurrentProcessId());
	f = fopen(pidf, "w");
	if (f != NULL) {
		fputs("2147483640\n", f);
		fclose(f);
	}
	errno = 0;
	check("pid: a process that is gone is ESRCH",
	      tlspool_pid(pidf) == -1 && errno == ESRCH);
	remove(cfg);
	remove(pidf);
}

int main(void)
{
	struct fake_daemon f;
	WSADATA wsa;
	char name[64];

	setvbuf(stdout, NULL, _IONBF, 0);
	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		printf("FAIL WSAStartup\n0 passed, 1 failed\n");
		return 1;
	}
	test_layout();
	test_socketpair();
	test_unserved();
	test_files();
	snprintf(name, sizeof(name), "tlspool-fake-%lu",
		 (unsigned long)GetCurrentProcessId());
	if (fake_daemon_start(&f, name) != 0) {
		check("fake daemon: started", 0);
	} else {
		test_ping(&f);
		test_starttls(&f);
		test_starttls_by_handle(&f);
		test_async(&f);
		test_poolconn(f.path, FAKE_HANG_UP, check);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

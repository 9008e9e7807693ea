/* test_winlib -- the Windows client side under wine: the message layout,
 * the socketpair emulation, the library against a pipe nobody serves, and
 * the library (libtlspool-0.dll) against the real tlspool-daemon.exe that
 * tests/windows/run.sh starts: PING, STARTTLS in the client role to a
 * gnutls-serv --echo (sockets as WSAPROTOCOL_INFOW, and as handle values
 * with TLSPOOL_SOCKET_HANDOVER=handle), a server from another CA refused,
 * the daemon stopped while connected and started again, the async API,
 * and windows/poolconn_win32.c itself (test_poolconn.c).
 *
 * usage: test_winlib [PIPE GOOD_PORT EVIL_PORT SYNC_DIR]
 * Without arguments only the checks that need no daemon.  With them it
 * prints "SYNC stop" when run.sh should stop the daemon and "SYNC start"
 * when it should start it again, and waits for SYNC_DIR\done-stop and
 * SYNC_DIR\done-start.
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

#include <winsock2.h>
#include <windows.h>

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

/* The real daemon (tests/windows/run.sh starts tlspool-daemon.exe): its
 * pipe, gnutls-serv --echo ports with a leaf of the trusted CA (good) and
 * of another CA (evil), and a directory for the phases' handshakes. */
static const char *pipe_path, *sync_dir;
static int good_port, evil_port;

#define DAEMON_IDENTITY "20151111tlspool-daemon"

static void test_ping(void)
{
	pingpool_t ping;
	int rc;

	check("daemon: pool handle",
	      tlspool_open_poolhandle((char *)pipe_path) != INVALID_POOL_HANDLE);
	rc = ping_as(TLSPOOL_IDENTITY_V2, &ping);
	check("daemon: ping answers with the daemon's identity", rc == 0 &&
	      strncmp(ping.YYYYMMDD_producer, DAEMON_IDENTITY,
		      strlen(DAEMON_IDENTITY)) == 0 &&
	      (ping.facilities & PIOF_FACILITY_STARTTLS) != 0);
}

/* A TCP connection to 127.0.0.1:port, or INVALID_SOCKET. */
static SOCKET connect_port(int port)
{
	struct sockaddr_in a;
	SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);

	if (s == INVALID_SOCKET)
		return s;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((u_short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		closesocket(s);
		return INVALID_SOCKET;
	}
	return s;
}

/* A line sent in clear on s comes back (gnutls-serv --echo). */
static int echoes(SOCKET s, const char *line)
{
	char buf[64];
	DWORD tmo = 10000;
	int n, got = 0, len = (int)strlen(line);

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo,
		   sizeof(tmo));
	if (send(s, line, len, 0) != len)
		return 0;
	while (got < len && (n = recv(s, buf + got, sizeof(buf) - got, 0)) > 0)
		got += n;
	return got == len && memcmp(buf, line, (size_t)len) == 0;
}

/* STARTTLS as a client to 127.0.0.1:port for "localhost", namedconnect
 * NULL: the plaintext socket, or -1 with errno (*err). */
static int starttls_to(int port, SOCKET *net, int *err)
{
	starttls_t st;
	int appfd;

	*net = connect_port(port);
	if (*net == INVALID_SOCKET) {
		*err = -1;
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		   PIOF_STARTTLS_REMOTEROLE_SERVER;
	st.ipproto = IPPROTO_TCP;
	strcpy(st.remoteid, "localhost");
	errno = 0;
	appfd = tlspool_starttls((int)(intptr_t)*net, &st, NULL, NULL);
	*err = errno;
	return appfd;
}

static void starttls_echo(const char *what)
{
	char name[96];
	SOCKET net;
	int appfd, err;

	appfd = starttls_to(good_port, &net, &err);
	snprintf(name, sizeof(name), "%s: returns the plaintext socket", what);
	check(name, appfd >= 0);
	if (appfd >= 0) {
		snprintf(name, sizeof(name), "%s: data echoes through TLS",
			 what);
		check(name, echoes((SOCKET)(intptr_t)appfd, "hello pool\n"));
		closesocket((SOCKET)(intptr_t)appfd);
	}
	if (net != INVALID_SOCKET)
		closesocket(net);
}

static void test_starttls(void)
{
	starttls_t st;
	SOCKET net;
	int appfd, err;

	starttls_echo("starttls");
	appfd = starttls_to(evil_port, &net, &err);
	check("starttls: a server from another CA is refused, errno set",
	      appfd == -1 && err > 0);
	if (appfd >= 0)
		closesocket((SOCKET)(intptr_t)appfd);
	if (net != INVALID_SOCKET)
		closesocket(net);
	net = connect_port(good_port);
	if (net != INVALID_SOCKET)
		closesocket(net);
	memset(&st, 0, sizeof(st));
	st.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		   PIOF_STARTTLS_REMOTEROLE_SERVER;
	st.ipproto = IPPROTO_TCP;
	strcpy(st.remoteid, "localhost");
	errno = 0;
	check("starttls: a closed cryptfd is EBADF",
	      net != INVALID_SOCKET &&
	      tlspool_starttls((int)(intptr_t)net, &st, NULL, NULL) == -1 &&
	      errno == EBADF);
}

static int async_done;

static void async_cb(struct tlspool_async_request *req, int opt_fd)
{
	(void)opt_fd;
	async_done = req->cmd.pio_cmd == PIOC_PING_V2 ? 1 : -1;
}

static void test_async(void)
{
	struct tlspool_async_pool pool;
	struct tlspool_async_request req;
	bool ok;

	ok = tlspool_async_open(&pool, sizeof(struct tlspool_command),
				TLSPOOL_IDENTITY_V2, PIOF_FACILITY_STARTTLS,
				(char *)pipe_path);
	check("async: open with ping", ok &&
	      strncmp(pool.pingdata.YYYYMMDD_producer, DAEMON_IDENTITY,
		      strlen(DAEMON_IDENTITY)) == 0);
	if (!ok)
		return;
	check("async: nothing to process yet", tlspool_async_process(&pool));
	memset(&req, 0, sizeof(req));
	req.cbfunc = async_cb;
	req.cmd.pio_cmd = PIOC_PING_V2;
	strcpy(req.cmd.pio_data.pioc_ping.YYYYMMDD_producer,
	       TLSPOOL_IDENTITY_V2);
	check("async: request", tlspool_async_request(&pool, &req, -1));
	for (int i = 0; i < 500 && async_done == 0; i++) {
		Sleep(10);
		tlspool_async_process(&pool);
	}
	check("async: the callback got the daemon's reply", async_done == 1);
	check("async: close", tlspool_async_close(&pool, true) &&
	      pool.handle == INVALID_POOL_HANDLE);
}

/* Tell run.sh what to do ("SYNC stop" / "SYNC start" on stdout) and wait
 * (60 s at most) until it made SYNC_DIR\done-WHAT. */
static int sync_with_runner(const char *what)
{
	char f[MAX_PATH];

	snprintf(f, sizeof(f), "%s\\done-%s", sync_dir, what);
	printf("SYNC %s\n", what);
	fflush(stdout);
	for (int i = 0; i < 600; i++) {
		if (GetFileAttributesA(f) != INVALID_FILE_ATTRIBUTES)
			return 0;
		Sleep(100);
	}
	return -1;
}

/* The daemon stopped while we are connected: a clean error; started
 * again: the library reconnects (and then passes sockets by handle value,
 * as it does when it may not open the daemon's process). */
static int daemon_stops(struct poolconn *pc)
{
	pingpool_t ping;
	ULONGLONG t0;
	int rc, err;

	rc = ping_as(TLSPOOL_IDENTITY_V2, &ping);
	check("daemon stop: connected before", rc == 0);
	if (sync_with_runner("stop") != 0) {
		check("daemon stop: run.sh stopped the daemon", 0);
		return -1;
	}
	t0 = GetTickCount64();
	errno = 0;
	rc = ping_as(TLSPOOL_IDENTITY_V2, &ping);
	err = errno;
	printf("     (errno %d: %s)\n", err, strerror(err));
	check("daemon stopped: ping fails with ECONNRESET or ENOENT",
	      rc == -1 && (err == ECONNRESET || err == ENOENT));
	/* the library tries to reconnect for 5 s (CLIENT_POOL_BACKOFF_*) */
	check("daemon stopped: within 10 s (the reconnect back-off)",
	      GetTickCount64() - t0 < 10000);
	if (pc != NULL)
		test_poolconn_hangup_end(pc, check);
	SetEnvironmentVariableA("TLSPOOL_SOCKET_HANDOVER", "handle");
	if (sync_with_runner("start") != 0) {
		check("daemon restart: run.sh started the daemon", 0);
		return -1;
	}
	rc = ping_as(TLSPOOL_IDENTITY_V2, &ping);
	check("daemon restarted: the library reconnects", rc == 0 &&
	      strncmp(ping.YYYYMMDD_producer, DAEMON_IDENTITY,
		      strlen(DAEMON_IDENTITY)) == 0);
	starttls_echo("starttls by handle");
	SetEnvironmentVariableA("TLSPOOL_SOCKET_HANDOVER", NULL);
	return 0;
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

int main(int argc, char **argv)
{
	struct poolconn *pc = NULL;
	WSADATA wsa;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		printf("FAIL WSAStartup\n0 passed, 1 failed\n");
		return 1;
	}
	test_layout();
	test_socketpair();
	test_unserved();
	test_files();
	if (argc == 5) {
		pipe_path = argv[1];
		good_port = atoi(argv[2]);
		evil_port = atoi(argv[3]);
		sync_dir = argv[4];
		test_ping();
		test_starttls();
		test_async();
		test_poolconn(pipe_path, check);
		pc = test_poolconn_hangup_begin(pipe_path, check);
		daemon_stops(pc);
	} else if (argc != 1) {
		check("usage: test_winlib [PIPE GOOD_PORT EVIL_PORT SYNC_DIR]",
		      0);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

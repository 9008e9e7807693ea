/* fake_daemon -- the fake pipe daemon as a program, for tests of the
 * Windows tools (tests/windows/run.sh):
 *
 *   fake_daemon.exe NAME [SECONDS]
 *
 * Serves \\.\pipe\NAME for SECONDS (default 60), prints "ready" once the
 * pipe exists.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fake_pipe_daemon.h"

int main(int argc, char **argv)
{
	static struct fake_daemon f;
	WSADATA wsa;
	int secs = argc > 2 ? atoi(argv[2]) : 60;

	if (argc < 2 || WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
		return 2;
	if (fake_daemon_start(&f, argv[1]) != 0) {
		fprintf(stderr, "fake_daemon: cannot serve %s\n", argv[1]);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	Sleep((DWORD)(secs > 0 ? secs : 60) * 1000);
	return 0;
}

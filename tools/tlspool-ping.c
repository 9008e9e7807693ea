/* tlspool-ping -- ask the TLS Pool daemon who it is and what it offers.
 *
 * Usage: tlspool-ping [-p SOCKET]
 * Prints "daemon: IDENTITY" and "facilities: NAMES"; exits 1 when the
 * daemon cannot be reached, 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tlspool/starttls.h>

static void ping_usage(FILE *f)
{
	fprintf(f, "usage: tlspool-ping [-p SOCKET]\n"
		   "  -p SOCKET  the daemon's socket (default: $TLSPOOL_SOCKET,\n"
		   "             the per-user socket, then %s)\n",
		   TLSPOOL_DEFAULT_SOCKET_PATH);
}

static void ping_print_facilities(uint32_t fac)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ PIOF_FACILITY_STARTTLS, "STARTTLS" },
		{ PIOF_FACILITY_STARTGSS, "STARTGSS" },
		{ PIOF_FACILITY_STARTSSH, "STARTSSH" },
	};
	uint32_t rest = fac;

	printf("facilities:");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (fac & names[i].bit) {
			printf(" %s", names[i].name);
			rest &= ~names[i].bit;
		}
	}
	if (rest != 0)
		printf(" 0x%08x", rest);
	if (fac == 0)
		printf(" none");
	printf("\n");
}

int main(int argc, char **argv)
{
	pingpool_t ping;
	char *sockpath = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "p:h")) != -1) {
		switch (opt) {
		case 'p':
			sockpath = optarg;
			break;
		case 'h':
			ping_usage(stdout);
			return 0;
		default:
			ping_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		ping_usage(stderr);
		return 2;
	}
	if (tlspool_open_poolhandle(sockpath) == INVALID_POOL_HANDLE) {
		int err = errno;

		fprintf(stderr, "tlspool-ping: cannot reach the TLS Pool at %s: %s\n",
			tlspool_socket_path(), strerror(err));
		return 1;
	}
	memset(&ping, 0, sizeof(ping));
	strcpy(ping.YYYYMMDD_producer, TLSPOOL_IDENTITY_V2);
	ping.facilities = PIOF_FACILITY_STARTTLS | PIOF_FACILITY_STARTGSS |
			  PIOF_FACILITY_STARTSSH;
	if (tlspool_ping(&ping) < 0) {
		int err = errno;

		fprintf(stderr, "tlspool-ping: no answer from the TLS Pool at %s: %s\n",
			tlspool_socket_path(), strerror(err));
		return 1;
	}
	printf("daemon: %s\n", ping.YYYYMMDD_producer);
	ping_print_facilities(ping.facilities);
	return 0;
}

/* anchor_example -- a TLS Pool client written the way applications of
 * the ARPA2 TLS Pool are written, compiled by t_install.sh against the
 * installed headers and library only (pkg-config tlspool).
 *
 * usage: anchor_example REMOTEID HOST PORT
 * Pings the pool, connects to HOST:PORT, lets the pool run TLS as the
 * client (the plaintext side comes from namedconnect), sends one line
 * and expects it echoed back.  Prints "echo: ok" and exits 0 on success.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <tlspool/commands.h>
#include <tlspool/starttls.h>

#define LINE "hello through the installed libtlspool\n"

/* Called by tlspool_starttls when the pool wants the plaintext side:
 * keep one end of a socket pair, hand the other to the pool. */
static int namedconnect_cb(starttls_t *tlsdata, void *privdata)
{
	int *plainfd = privdata;
	int soxx[2];

	printf("namedconnect: local=\"%s\" remote=\"%s\"\n",
	       tlsdata->localid, tlsdata->remoteid);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, soxx) < 0)
		return -1;
	*plainfd = soxx[0];
	return soxx[1];
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int sox = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		sox = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (sox < 0)
			continue;
		if (connect(sox, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(sox);
		sox = -1;
	}
	freeaddrinfo(res);
	return sox;
}

static int echo_line(int fd)
{
	char buf[sizeof(LINE)];
	size_t got = 0, want = strlen(LINE);

	if (write(fd, LINE, want) != (ssize_t)want)
		return -1;
	while (got < want) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 10000) != 1)
			return -1;
		n = read(fd, buf + got, want - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return memcmp(buf, LINE, want) == 0 ? 0 : -1;
}

int main(int argc, char *argv[])
{
	pingpool_t pingdata;
	starttls_t tlsdata_cli;
	int sox, plainfd = -1;

	if (argc != 4) {
		fprintf(stderr, "usage: %s REMOTEID HOST PORT\n", argv[0]);
		return 2;
	}

	memset(&pingdata, 0, sizeof(pingdata));
	strcpy(pingdata.YYYYMMDD_producer, TLSPOOL_IDENTITY_V2);
	pingdata.facilities = PIOF_FACILITY_STARTTLS;
	if (tlspool_ping(&pingdata) < 0) {
		perror("tlspool_ping");
		return 1;
	}
	printf("ping: %s facilities 0x%x\n", pingdata.YYYYMMDD_producer,
	       (unsigned)pingdata.facilities);
	if (!(pingdata.facilities & PIOF_FACILITY_STARTTLS)) {
		fprintf(stderr, "the pool does not offer STARTTLS\n");
		return 1;
	}

	sox = connect_to(argv[2], argv[3]);
	if (sox < 0) {
		perror("connect");
		return 1;
	}
	memset(&tlsdata_cli, 0, sizeof(tlsdata_cli));
	tlsdata_cli.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
			    PIOF_STARTTLS_REMOTEROLE_SERVER;
	tlsdata_cli.local = 0;
	tlsdata_cli.ipproto = IPPROTO_TCP;
	strncpy(tlsdata_cli.remoteid, argv[1], sizeof(tlsdata_cli.remoteid) - 1);
	strcpy((char *)tlsdata_cli.service, "generic");
	tlsdata_cli.timeout = TLSPOOL_TIMEOUT_DEFAULT;
	/* ctlkey all zero: the library picks a random one */
	if (tlspool_starttls(sox, &tlsdata_cli, &plainfd, namedconnect_cb) < 0) {
		perror("tlspool_starttls");
		close(sox);
		return 1;
	}
	close(sox);
	printf("starttls: local=\"%s\" remote=\"%s\"\n", tlsdata_cli.localid,
	       tlsdata_cli.remoteid);
	if (plainfd < 0) {
		fprintf(stderr, "no plaintext descriptor\n");
		return 1;
	}
	if (echo_line(plainfd) < 0) {
		fprintf(stderr, "echo: failed\n");
		close(plainfd);
		return 1;
	}
	printf("echo: ok\n");
	close(plainfd);
	return 0;
}

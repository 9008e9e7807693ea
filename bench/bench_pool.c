/* bench_pool -- a client application of the pool: connect, hand the
 * socket to the daemon with tlspool_starttls, keep the plaintext end. */
#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <tlspool/starttls.h>

int bench_pool_client(const char *hostport, const char *remoteid, int quiet)
{
	starttls_t st;
	int cryptfd, plainfd, err;

	cryptfd = bench_connect(hostport);
	if (cryptfd < 0) {
		if (!quiet)
			fprintf(stderr, "tlsbench: connect %s: %s\n", hostport,
				strerror(errno));
		return -1;
	}
	memset(&st, 0, sizeof(st));
	st.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		   PIOF_STARTTLS_REMOTEROLE_SERVER;
	st.ipproto = IPPROTO_TCP;
	snprintf(st.remoteid, sizeof(st.remoteid), "%s",
		 remoteid ? remoteid : BENCH_SERVER_NAME);
	plainfd = tlspool_starttls(cryptfd, &st, NULL, NULL);
	err = errno;
	close(cryptfd);		/* the daemon holds its own copy */
	if (plainfd < 0 && !quiet)
		fprintf(stderr, "tlsbench: tlspool_starttls: %s\n",
			strerror(err));
	errno = err;
	return plainfd;
}

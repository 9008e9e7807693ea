/* tlstunnel -- put TLS on TCP connections through the TLS Pool.
 *
 *   tlstunnel -c|-s [options] LISTEN_HOST:PORT CONNECT_HOST:PORT
 *   tlstunnel -c --stdio -r REMOTEID [options] CONNECT_HOST:PORT
 *
 * Client mode accepts plaintext connections and connects each to a TLS
 * server; server mode accepts TLS clients and connects each to a
 * plaintext backend.  The daemon relays the data itself: tlstunnel only
 * sets connections up.  With --stdio, stdin/stdout are the plaintext side.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tlspool/starttls.h>

#include "tunnel_plat.h"

struct tunnel_opts {
	char mode;			/* 'c' or 's' */
	bool stdio, once, quiet;
	uint32_t flags;
	uint32_t timeout;
	char localid[128];
	char remoteid[128];
	char service[TLSPOOL_SERVICELEN];
	char *poolsock;
	char lhost[256], lport[32];	/* listen address */
	char chost[256], cport[32];	/* connect address */
};

struct tunnel_conn {
	const struct tunnel_opts *o;
	int fd;				/* the accepted connection */
};

static void tunnel_usage(FILE *f)
{
	fprintf(f,
		"usage: tlstunnel -c|-s [options] LISTEN_HOST:PORT CONNECT_HOST:PORT\n"
		"       tlstunnel -c --stdio -r REMOTEID [options] CONNECT_HOST:PORT\n"
		"  -c            client: accept plaintext, connect to a TLS server\n"
		"  -s            server: accept TLS clients, connect to a plaintext backend\n"
		"  -l LOCALID    local identity to present\n"
		"  -r REMOTEID   remote identity to expect (client: the server's name)\n"
		"  -S SERVICE    IANA service name (at most 15 characters)\n"
		"  -p SOCKET     the TLS Pool socket\n"
		"  -t MS         handshake timeout in milliseconds\n"
		"  -R            request, not require, the remote identity\n"
		"  -I            ignore the remote identity\n"
		"  -N            no Server Name Indication\n"
		"  -O            LOCALID_ONTHEFLY: without a credential for the local\n"
		"                identity, the daemon makes one with its on-the-fly CA\n"
		"  -1            serve one connection, leave it to the pool\n"
		"                (detached: it outlives tlstunnel), then exit\n"
		"  -q            quiet: do not report successful connections\n"
		"  --stdio       client only: use stdin/stdout as the plaintext side\n"
		"HOST:PORT may be [IPv6]:PORT; port 0 listens on a free port.\n");
}

/* Split HOST:PORT or [V6]:PORT.  0 or -1. */
static int tunnel_split(const char *spec, char *host, size_t hsize,
			char *port, size_t psize)
{
	const char *colon, *h = spec;
	size_t hlen;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		h = spec + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || memchr(spec, ':', (size_t)(colon - spec)))
			return -1;	/* none, or a bare IPv6 address */
		hlen = (size_t)(colon - spec);
	}
	if (hlen >= hsize || strlen(colon + 1) >= psize || colon[1] == '\0')
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static void tunnel_print_addr(const char *what, const struct sockaddr *sa,
			      socklen_t len)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	if (sa->sa_family == AF_INET6)
		fprintf(stderr, "tlstunnel: %s [%s]:%s\n", what, host, port);
	else
		fprintf(stderr, "tlstunnel: %s %s:%s\n", what, host, port);
}

static int tunnel_listen(const struct tunnel_opts *o)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int fd = -1, rc;

	rc = getaddrinfo(o->lhost[0] ? o->lhost : NULL, o->lport, &hints,
			 &res);
	if (rc != 0) {
		fprintf(stderr, "tlstunnel: %s:%s: %s\n", o->lhost, o->lport,
			gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = tunnel_plat_socket(ai->ai_family, ai->ai_socktype,
					ai->ai_protocol);
		if (fd < 0)
			continue;
		if (tunnel_plat_listen(fd, ai->ai_addr,
				       (socklen_t)ai->ai_addrlen) == 0)
			break;
		tunnel_plat_close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "tlstunnel: cannot listen on %s:%s: %s\n",
			o->lhost, o->lport, strerror(errno));
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0 &&
	    (!o->quiet || strcmp(o->lport, "0") == 0))
		tunnel_print_addr("listening on", (struct sockaddr *)&ss, sslen);
	return fd;
}

/* Connect to the CONNECT address.  fd or -1 with errno set. */
static int tunnel_connect(const struct tunnel_opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int fd = -1, err = EHOSTUNREACH, rc;

	rc = getaddrinfo(o->chost, o->cport, &hints, &res);
	if (rc != 0) {
		errno = rc == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = tunnel_plat_socket(ai->ai_family, ai->ai_socktype,
					ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (tunnel_plat_connect(fd, ai->ai_addr,
					(socklen_t)ai->ai_addrlen) == 0)
			break;
		err = errno;
		tunnel_plat_close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		errno = err;
	return fd;
}

static void tunnel_fill(const struct tunnel_opts *o, starttls_t *st)
{
	memset(st, 0, sizeof(*st));
	st->flags = o->flags;
	if (o->mode == 'c')
		st->flags |= PIOF_STARTTLS_LOCALROLE_CLIENT |
			     PIOF_STARTTLS_REMOTEROLE_SERVER;
	else
		st->flags |= PIOF_STARTTLS_LOCALROLE_SERVER |
			     PIOF_STARTTLS_REMOTEROLE_CLIENT;
	st->ipproto = IPPROTO_TCP;
	st->timeout = o->timeout;
	strcpy(st->localid, o->localid);
	strcpy(st->remoteid, o->remoteid);
	memcpy(st->service, o->service, sizeof(st->service));
}

static void tunnel_report(const struct tunnel_opts *o, const starttls_t *st,
			  int ok, int err)
{
	if (!ok)
		fprintf(stderr, "tlstunnel: refused: %s (errno %d)\n",
			strerror(err), err);
	else if (!o->quiet)
		fprintf(stderr,
			"tlstunnel: connected local=%s remote=%s service=%s\n",
			st->localid, st->remoteid, (const char *)st->service);
}

/* Client mode: the daemon gets (a copy of) the accepted plaintext fd. */
static int tunnel_named_client(starttls_t *st, void *privdata)
{
	struct tunnel_conn *c = privdata;

	(void)st;
	return tunnel_plat_dup(c->fd);
}

/* Server mode: the daemon gets a fresh connection to the backend. */
static int tunnel_named_server(starttls_t *st, void *privdata)
{
	struct tunnel_conn *c = privdata;

	(void)st;
	return tunnel_connect(c->o);
}

/* Set up one tunnelled connection; the daemon relays it afterwards.
 * Consumes c->fd.  0 or -1. */
static int tunnel_handle(struct tunnel_conn *c)
{
	const struct tunnel_opts *o = c->o;
	starttls_t st;
	int cryptfd, rc, err;

	tunnel_fill(o, &st);
	if (o->mode == 'c') {
		cryptfd = tunnel_connect(o);
		if (cryptfd < 0) {
			err = errno;
			fprintf(stderr, "tlstunnel: cannot connect to %s:%s: %s\n",
				o->chost, o->cport, strerror(err));
			tunnel_plat_close(c->fd);
			return -1;
		}
		rc = tlspool_starttls(cryptfd, &st, c, tunnel_named_client);
	} else {
		cryptfd = c->fd;
		rc = tlspool_starttls(cryptfd, &st, c, tunnel_named_server);
	}
	err = errno;
	tunnel_report(o, &st, rc >= 0, err);
	tunnel_plat_close(cryptfd);	/* the daemon has its own copies */
	if (o->mode == 'c')
		tunnel_plat_close(c->fd);
	return rc < 0 ? -1 : 0;
}

static void *tunnel_thread(void *arg)
{
	struct tunnel_conn *c = arg;

	tunnel_handle(c);
	free(c);
	return NULL;
}

static int tunnel_serve(const struct tunnel_opts *o)
{
	int lfd = tunnel_listen(o);

	if (lfd < 0)
		return 1;
	for (;;) {
		struct tunnel_conn *c;
		pthread_attr_t attr;
		pthread_t thr;
		int fd = tunnel_plat_accept(lfd);

		if (fd < 0) {
			struct timespec ts = { 0, 100000000L };

			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "tlstunnel: accept: %s\n",
				strerror(errno));
			nanosleep(&ts, NULL);	/* EMFILE and friends */
			continue;
		}
		if (o->once) {
			struct tunnel_conn one = { o, fd };

			tunnel_plat_close(lfd);
			return tunnel_handle(&one) == 0 ? 0 : 1;
		}
		c = malloc(sizeof(*c));
		if (c == NULL) {
			tunnel_plat_close(fd);
			continue;
		}
		c->o = o;
		c->fd = fd;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&thr, &attr, tunnel_thread, c) != 0)
			tunnel_thread(c);	/* no thread: do it here */
		pthread_attr_destroy(&attr);
	}
}

static int tunnel_stdio(const struct tunnel_opts *o)
{
	starttls_t st;
	int cryptfd, appfd, err;

	cryptfd = tunnel_connect(o);
	if (cryptfd < 0) {
		fprintf(stderr, "tlstunnel: cannot connect to %s:%s: %s\n",
			o->chost, o->cport, strerror(errno));
		return 1;
	}
	tunnel_fill(o, &st);
	appfd = tlspool_starttls(cryptfd, &st, NULL, NULL);
	err = errno;
	tunnel_plat_close(cryptfd);
	tunnel_report(o, &st, appfd >= 0, err);
	if (appfd < 0)
		return 1;
	tunnel_plat_copy(appfd);
	tunnel_plat_close(appfd);
	return 0;
}

/* ---- options ---- */

static int tunnel_setstr(char *dst, size_t size, const char *src,
			 const char *what)
{
	if (strlen(src) >= size) {
		fprintf(stderr, "tlstunnel: %s is longer than %zu characters\n",
			what, size - 1);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

#define OPT_STDIO 0x100	/* --stdio: no short option */

static int tunnel_option(struct tunnel_opts *o, int opt, const char *arg)
{
	char *end;
	unsigned long v;

	switch (opt) {
	case 'c': case 's':
		if (o->mode != 0 && o->mode != opt)
			return -1;
		o->mode = (char)opt;
		return 0;
	case 'l': return tunnel_setstr(o->localid, sizeof(o->localid), arg,
				       "LOCALID");
	case 'r': return tunnel_setstr(o->remoteid, sizeof(o->remoteid), arg,
				       "REMOTEID");
	case 'S': return tunnel_setstr(o->service, sizeof(o->service), arg,
				       "SERVICE");
	case 'p': o->poolsock = (char *)arg; return 0;
	case 't':
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno != 0 || *end != '\0' || end == arg ||
		    v > UINT32_MAX) {
			fprintf(stderr, "tlstunnel: bad timeout %s\n", arg);
			return -1;
		}
		o->timeout = (uint32_t)v;
		return 0;
	case 'R': o->flags |= PIOF_STARTTLS_REQUEST_REMOTEID; return 0;
	case 'I': o->flags |= PIOF_STARTTLS_IGNORE_REMOTEID; return 0;
	case 'N': o->flags |= PIOF_STARTTLS_WITHOUT_SNI; return 0;
	case '1':
		/* tlstunnel exits after the handover: the connection must not
		 * end with tlstunnel's control connection to the pool. */
		o->once = true;
		o->flags |= PIOF_STARTTLS_DETACH;
		return 0;
	case 'q': o->quiet = true; return 0;
	case 'O': o->flags |= PIOF_STARTTLS_LOCALID_ONTHEFLY; return 0;
	case OPT_STDIO: o->stdio = true; return 0;
	default: return -1;
	}
}

static int tunnel_args(struct tunnel_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stdio", no_argument, NULL, OPT_STDIO },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, npos;

	while ((opt = getopt_long(argc, argv, "csl:r:S:p:t:RINO1qh", longopts,
				  NULL)) != -1) {
		if (opt == 'h') {
			tunnel_usage(stdout);
			exit(0);
		}
		if (tunnel_option(o, opt, optarg) < 0)
			return -1;
	}
	npos = argc - optind;
	if (o->mode == 0 || npos != (o->stdio ? 1 : 2))
		return -1;
	if (o->stdio && (o->mode != 'c' || o->remoteid[0] == '\0')) {
		fprintf(stderr, "tlstunnel: --stdio needs -c and -r REMOTEID\n");
		return -1;
	}
	if (!o->stdio && tunnel_split(argv[optind], o->lhost,
				      sizeof(o->lhost), o->lport,
				      sizeof(o->lport)) < 0)
		goto bad_addr;
	if (!o->stdio)
		optind++;
	if (tunnel_split(argv[optind], o->chost, sizeof(o->chost), o->cport,
			 sizeof(o->cport)) < 0)
		goto bad_addr;
	return 0;
bad_addr:
	fprintf(stderr, "tlstunnel: bad address %s (use HOST:PORT or "
		"[IPv6]:PORT)\n", argv[optind]);
	return -1;
}

int main(int argc, char **argv)
{
	static struct tunnel_opts o;

	if (tunnel_plat_init() < 0)
		return 1;
	if (tunnel_args(&o, argc, argv) < 0) {
		tunnel_usage(stderr);
		return 2;
	}
	if (tlspool_open_poolhandle(o.poolsock) == INVALID_POOL_HANDLE) {
		int err = errno;

		fprintf(stderr, "tlstunnel: cannot reach the TLS Pool at %s: %s\n",
			tlspool_socket_path(), strerror(err));
		return 1;
	}
	return o.stdio ? tunnel_stdio(&o) : tunnel_serve(&o);
}

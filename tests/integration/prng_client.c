/* prng_client -- STARTTLS as a client through the pool, then ask the pool
 * for keying material (PRNG) and connection information (INFO).
 *
 * usage: prng_client [-r REMOTEID] [-l LOCALID] [-t MS] OP... HOST PORT
 * OPs run in order after the handshake, one output line each:
 *   -x LABEL       export 32 bytes without context:
 *                  "export LABEL: HEX" or "export LABEL: refused (why)"
 *   -X LABEL:CTX   the same with context CTX: "export LABEL ctx CTX: ..."
 *   -s / -u        peer certificate subject / issuer DN: "subject: DN"
 *   -n             peer subjectAltName list: "sanlist: NAMES"
 *   -a NAME        subjectAltName check: "san NAME: ok" / "refused (why)"
 * Exit 0 when the STARTTLS succeeded (whatever the OPs answered), 1 when
 * it failed ("starttls: refused (why)"), 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4, pipe2 */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tlspool/starttls.h>

#include "testutil.h"

#define EXPORT_LEN 32
#define MAX_OPS 32

struct op {
	char kind;
	const char *arg;
};

static void do_export(const char *arg, int with_ctx, uint8_t *ctlkey)
{
	uint8_t out[EXPORT_LEN];
	char hex[2 * EXPORT_LEN + 1], label[256];
	const char *ctx = NULL;

	snprintf(label, sizeof(label), "%s", arg);
	if (with_ctx) {
		char *colon = strchr(label, ':');

		if (colon != NULL) {
			*colon = '\0';
			ctx = colon + 1;
		} else {
			ctx = "";
		}
	}
	if (tlspool_prng(label, ctx ? (uint16_t)strlen(ctx) : 0,
			 (uint8_t *)ctx, EXPORT_LEN, out, ctlkey) < 0) {
		printf("export %s%s%s: refused (%s)\n", label,
		       ctx ? " ctx " : "", ctx ? ctx : "", strerror(errno));
		return;
	}
	tu_hex(out, EXPORT_LEN, hex);
	printf("export %s%s%s: %s\n", label, ctx ? " ctx " : "",
	       ctx ? ctx : "", hex);
}

static void do_text(const char *what, uint32_t kind, uint8_t *ctlkey)
{
	uint8_t buf[TLSPOOL_INFOBUFLEN + 1];
	uint16_t len = PIOK_INFO_LEN_QUERY;

	memset(buf, 0, sizeof(buf));
	if (tlspool_info(kind, buf, &len, ctlkey) < 0) {
		printf("%s: refused (%s)\n", what, strerror(errno));
		return;
	}
	if (len > TLSPOOL_INFOBUFLEN)
		len = TLSPOOL_INFOBUFLEN;
	buf[len] = '\0';
	printf("%s: %s\n", what, (char *)buf);
}

static void do_san(const char *name, uint8_t *ctlkey)
{
	uint8_t buf[TLSPOOL_INFOBUFLEN];
	uint16_t len = (uint16_t)strlen(name);

	if (len >= sizeof(buf)) {
		printf("san %s: name too long\n", name);
		return;
	}
	memset(buf, 0, sizeof(buf));
	memcpy(buf, name, len);
	if (tlspool_info(PIOK_INFO_PEERCERT_SUBJECTALTNAME, buf, &len,
			 ctlkey) < 0)
		printf("san %s: refused (%s)\n", name, strerror(errno));
	else
		printf("san %s: ok\n", name);
}

static void usage(void)
{
	fprintf(stderr, "usage: prng_client [-r REMOTEID] [-l LOCALID] "
		"[-t MS] [-x LABEL] [-X LABEL:CTX] [-s] [-u] [-n] [-a NAME] "
		"HOST PORT\n");
}

int main(int argc, char **argv)
{
	struct op ops[MAX_OPS];
	starttls_t tls;
	uint8_t ctlkey[TLSPOOL_CTLKEYLEN];
	const char *remoteid = "localhost", *localid = "";
	int nops = 0, opt, fd, plain;
	unsigned timeout = 10000;

	while ((opt = getopt(argc, argv, "r:l:t:x:X:suna:")) != -1) {
		switch (opt) {
		case 'r': remoteid = optarg; break;
		case 'l': localid = optarg; break;
		case 't': timeout = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': case 'X': case 's': case 'u': case 'n': case 'a':
			if (nops == MAX_OPS) {
				usage();
				return 2;
			}
			ops[nops].kind = (char)opt;
			ops[nops].arg = optarg;
			nops++;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (argc - optind != 2 || strlen(remoteid) >= sizeof(tls.remoteid) ||
	    strlen(localid) >= sizeof(tls.localid)) {
		usage();
		return 2;
	}
	fd = tu_connect_tcp(argv[optind], atoi(argv[optind + 1]), 5000);
	if (fd < 0) {
		printf("connect: %s\n", strerror(errno));
		return 1;
	}
	memset(&tls, 0, sizeof(tls));
	tls.flags = PIOF_STARTTLS_LOCALROLE_CLIENT |
		    PIOF_STARTTLS_REMOTEROLE_SERVER;
	tls.ipproto = 6;
	strcpy(tls.localid, localid);
	strcpy(tls.remoteid, remoteid);
	strcpy((char *)tls.service, "generic");
	tls.timeout = timeout;
	do {
		tu_random(tls.ctlkey, sizeof(tls.ctlkey));
	} while (tls.ctlkey[0] == 0);	/* all zero would ask for a fresh one */
	memcpy(ctlkey, tls.ctlkey, sizeof(ctlkey));
	plain = tlspool_starttls(fd, &tls, NULL, NULL);
	if (plain < 0) {
		printf("starttls: refused (%s)\n", strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);	/* the pool holds its own copy */
	if (memcmp(ctlkey, tls.ctlkey, sizeof(ctlkey)) != 0)
		printf("warning: the library changed the control key\n");
	printf("starttls: ok local=%s remote=%s\n", tls.localid, tls.remoteid);
	for (int i = 0; i < nops; i++) {
		switch (ops[i].kind) {
		case 'x': do_export(ops[i].arg, 0, ctlkey); break;
		case 'X': do_export(ops[i].arg, 1, ctlkey); break;
		case 's': do_text("subject", PIOK_INFO_PEERCERT_SUBJECT, ctlkey);
			break;
		case 'u': do_text("issuer", PIOK_INFO_PEERCERT_ISSUER, ctlkey);
			break;
		case 'n': do_text("sanlist",
				  PIOK_INFO_PEERCERT_SUBJECTALTNAME, ctlkey);
			break;
		case 'a': do_san(ops[i].arg, ctlkey); break;
		}
		fflush(stdout);
	}
	close(plain);
	return 0;
}

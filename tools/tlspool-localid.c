/* tlspool-localid -- a local identity chooser for the pool (LIDENTRY).
 *
 * Registers with the daemon and answers its questions: which local
 * identity to show a remote peer.  With -a every question gets the same
 * answer; otherwise the question is printed and the answer read from
 * standard input (an empty line shows no identity).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tlspool/commands.h>
#include <tlspool/starttls.h>

struct chooser {
	const char *answer;	/* -a, or NULL: ask on stdin */
	const char *store;	/* -s: selector to store the choice under */
	int append;		/* -A: DBAPPEND instead of DBINSERT */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tlspool-localid [-p SOCKET] [-w] [-k SKIPFLAGS] "
		"[-a ID] [-s SELECTOR [-A]]\n"
		"  -w          also show the disclose entries found (WANT_DBENTRY)\n"
		"  -k FLAGS    SKIP_ flags (hex): when may the database answer alone\n"
		"  -a ID       answer every question with ID (\"\" = no identity)\n"
		"  -s SELECTOR store the choice in disclose.db under SELECTOR\n"
		"  -A          append to that entry instead of inserting first\n");
}

static char *choose(struct pioc_lidentry *l, void *data)
{
	struct chooser *c = data;
	char line[256];

	if (l->flags & PIOF_LIDENTRY_DBENTRY) {
		printf("dbentry: selector=%s localid=%s level=%u\n", l->remoteid,
		       l->localid, l->maxlevels);
		fflush(stdout);
		return NULL;
	}
	printf("question: remote=%s suggested=%s maxlevels=%u\n", l->remoteid,
	       l->localid, l->maxlevels);
	fflush(stdout);
	if (c->answer != NULL) {
		snprintf(line, sizeof(line), "%s", c->answer);
	} else {
		printf("identity> ");
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL) {
			errno = ECANCELED;
			return "no answer on standard input";
		}
		line[strcspn(line, "\r\n")] = '\0';
	}
	if (strlen(line) >= sizeof(l->localid)) {
		errno = EINVAL;
		return "identity too long";
	}
	strcpy(l->localid, line);
	l->flags &= PIOF_LIDENTRY_REGFLAGS;
	if (c->store != NULL) {
		snprintf(l->remoteid, sizeof(l->remoteid), "%s", c->store);
		l->flags |= c->append ? PIOF_LIDENTRY_DBAPPEND
				      : PIOF_LIDENTRY_DBINSERT;
	}
	printf("answer: %s%s%s\n", line[0] ? line : "(none)",
	       c->store ? " stored under " : "", c->store ? c->store : "");
	fflush(stdout);
	return NULL;
}

int main(int argc, char **argv)
{
	struct chooser c = { 0 };
	char *path = NULL;
	uint32_t flags = 0;
	int opt;

	while ((opt = getopt(argc, argv, "p:wk:a:s:Ah")) != -1) {
		switch (opt) {
		case 'p': path = optarg; break;
		case 'w': flags |= PIOF_LIDENTRY_WANT_DBENTRY; break;
		case 'k': flags |= (uint32_t)strtoul(optarg, NULL, 16) & 0xff; break;
		case 'a': c.answer = optarg; break;
		case 's': c.store = optarg; break;
		case 'A': c.append = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	tlspool_localid_service(path, flags, 0, choose, &c);
	fprintf(stderr, "tlspool-localid: %s\n", strerror(errno));
	return 1;
}

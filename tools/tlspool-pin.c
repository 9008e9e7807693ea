/* tlspool-pin -- a PIN service for the pool's PKCS#11 tokens (PINENTRY).
 *
 * Registers with the daemon as its PIN service and answers its
 * questions: with -P the given PIN (for the first attempt of each key;
 * a retry gets no PIN, as the same PIN would fail again); otherwise the
 * PIN is read from the terminal without echo, or, when there is no
 * terminal, one line of standard input per question (end of file: no
 * PIN).  Runs until the daemon ends the registration.  The PIN is never
 * printed, and every copy is zeroed after use.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE	/* explicit_bzero */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <tlspool/commands.h>
#include <tlspool/starttls.h>

struct pin_opts {
	char fixed[128];	/* -P, or "" */
	int have_fixed;
	int quiet;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tlspool-pin [-p SOCKET] [-t SECONDS] [-q] [-P PIN]\n"
		"  -p SOCKET   the daemon's socket (default: as configured)\n"
		"  -t SECONDS  how long the daemon waits for an answer "
		"(default: its own)\n"
		"  -q          do not print the questions\n"
		"  -P PIN      answer with PIN (visible to ps: prefer the "
		"terminal or stdin)\n"
		"Without -P the PIN is read from the terminal without echo, "
		"or one line\nfrom standard input per question.\n");
}

/* One line from fd into buf (without the newline); -1 at EOF/error. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n > 0 ? 0 : -1;
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

/* From the terminal, echo off while typing; 1 when there is none. */
static int read_tty(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return 1;
	if (tcgetattr(fd, &old) < 0) {
		close(fd);
		return 1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 ||
	    tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		close(fd);
		return -1;
	}
	rc = read_line(fd, buf, size);
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		rc = -1;
	close(fd);
	return rc;
}

static void answer(pinentry_t *pe, void *data)
{
	struct pin_opts *o = data;
	char line[sizeof(pe->pin)] = "";
	int rc;

	if (!o->quiet) {
		fprintf(stderr, "tlspool-pin: %s [token \"%s\", %s %s, serial "
			"%s, attempt %u, %u s]\n", pe->prompt, pe->token_label,
			pe->token_manuf, pe->token_model, pe->token_serial,
			pe->attempt, pe->timeout_us / 1000000u);
		fflush(stderr);
	}
	pe->pin[0] = '\0';
	if (o->have_fixed) {
		if (pe->attempt <= 1)
			memcpy(pe->pin, o->fixed, sizeof(pe->pin));
		else if (!o->quiet)
			fprintf(stderr, "tlspool-pin: the PIN was rejected, "
				"not sending it again\n");
		return;
	}
	rc = isatty(STDIN_FILENO) ? read_tty("PIN: ", line, sizeof(line)) : 1;
	if (rc == 1)
		rc = read_line(STDIN_FILENO, line, sizeof(line));
	if (rc == 0)
		memcpy(pe->pin, line, sizeof(pe->pin));
	explicit_bzero(line, sizeof(line));
}

int main(int argc, char **argv)
{
	static struct pin_opts o;
	char *path = NULL, *end;
	unsigned long secs = 0;
	int opt;

	while ((opt = getopt(argc, argv, "p:t:qP:h")) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 't':
			errno = 0;
			secs = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg ||
			    secs == 0 || secs > 2000) {
				fprintf(stderr, "tlspool-pin: bad timeout %s "
					"(1..2000 seconds)\n", optarg);
				return 2;
			}
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'P':
			if (strlen(optarg) >= sizeof(o.fixed)) {
				fprintf(stderr, "tlspool-pin: the PIN is too "
					"long\n");
				return 2;
			}
			strcpy(o.fixed, optarg);
			explicit_bzero(optarg, strlen(optarg));
			o.have_fixed = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	tlspool_pin_service(path, 0, (int)(secs * 1000000u), answer, &o);
	fprintf(stderr, "tlspool-pin: %s\n", strerror(errno));
	explicit_bzero(&o, sizeof(o));
	return 1;
}

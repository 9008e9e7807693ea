/* Shared fixture for the unit tests that need a scratch directory, shell
 * tools (certtool, p11tool, softhsm2-util), a key process, a handshake
 * thread or a copy of what tplog writes to stderr: test_cred*.c,
 * test_keyproc*.c.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

/* A fresh /tmp/<name>.XXXXXX into dir; 0, or -1 when it fails. */
int fx_mkdtemp(char *dir, size_t size, const char *name);
/* Remove dir and everything below it. */
void fx_rmtree(const char *dir);

/* Run a shell command with its output in dir/cmd.log (appended to, or
 * replaced when append is 0); system()'s status. */
int fx_vsh(const char *dir, int append, const char *fmt, va_list ap);
/* fx_vsh appending to dir/cmd.log. */
int fx_sh(const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Start a key process with conns connections that logs errors to the
 * stderr it inherits; keyproc_start's result. */
int fx_keyproc_start(unsigned conns);

/* The public key of the certificate in the PEM file path; 0 or a GnuTLS
 * error. */
int fx_load_pub(const char *path, gnutls_pubkey_t *pub);

/* The server side of a handshake; rc is gnutls_handshake's last result. */
struct fx_server {
	gnutls_session_t s;
	int rc;
};
/* Handshake sv on a thread while cli, whose end of the connection is
 * cli_fd, does here; each until it completes or fails fatally (a failed
 * client shuts cli_fd down so the server stops too).  The client's
 * gnutls_handshake result. */
int fx_handshake(struct fx_server *sv, gnutls_session_t cli, int cli_fd);

/* Capture what tplog writes to stderr.  The file is only appended to (a
 * key process started during a capture keeps writing to it);
 * fx_capture_end returns what was added since fx_capture_start. */
struct fx_capture {
	int saved_stderr;
	off_t from;
};
void fx_capture_start(struct fx_capture *c, const char *file);
char *fx_capture_end(struct fx_capture *c, const char *file);
/* How often needle occurs in hay. */
int fx_count(const char *hay, const char *needle);

#endif /* FIXTURE_H */

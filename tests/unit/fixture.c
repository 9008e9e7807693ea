/* Shared fixture for the unit tests; see fixture.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* nftw */
#endif
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "keyproc.h"
#include "tplog.h"

int fx_mkdtemp(char *dir, size_t size, const char *name)
{
	snprintf(dir, size, "/tmp/%s.XXXXXX", name);
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fx_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int fx_vsh(const char *dir, int append, const char *fmt, va_list ap)
{
	char cmd[4096], full[4600];

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	snprintf(full, sizeof(full), "( %s ) %s%s/cmd.log 2>&1", cmd,
		 append ? ">>" : ">", dir);
	return system(full);
}

int fx_sh(const char *dir, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = fx_vsh(dir, 1, fmt, ap);
	va_end(ap);
	return rc;
}

int fx_keyproc_start(unsigned conns)
{
	struct keyproc_opts o = { .conns = conns, .log_level = LOG_ERR,
				  .log_stderr = 1 };

	return keyproc_start(&o);
}

int fx_load_pub(const char *path, gnutls_pubkey_t *pub)
{
	gnutls_datum_t d;
	int rc;

	rc = gnutls_load_file(path, &d);
	if (rc < 0)
		return rc;
	rc = gnutls_pubkey_init(pub);
	if (rc == 0)
		rc = gnutls_pubkey_import_x509_raw(*pub, &d, GNUTLS_X509_FMT_PEM,
						   0);
	gnutls_free(d.data);
	return rc;
}

static void *server_run(void *arg)
{
	struct fx_server *sv = arg;

	do {
		sv->rc = gnutls_handshake(sv->s);
	} while (sv->rc < 0 && !gnutls_error_is_fatal(sv->rc));
	return NULL;
}

int fx_handshake(struct fx_server *sv, gnutls_session_t cli, int cli_fd)
{
	pthread_t th;
	int rc;

	assert_int_equal(pthread_create(&th, NULL, server_run, sv), 0);
	do {
		rc = gnutls_handshake(cli);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc < 0)
		shutdown(cli_fd, SHUT_RDWR);
	pthread_join(th, NULL);
	return rc;
}

void fx_capture_start(struct fx_capture *c, const char *file)
{
	int fd;

	fflush(stderr);
	c->saved_stderr = dup(2);
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_true(fd >= 0 && c->saved_stderr >= 0);
	c->from = lseek(fd, 0, SEEK_END);
	dup2(fd, 2);
	close(fd);
}

char *fx_capture_end(struct fx_capture *c, const char *file)
{
	gnutls_datum_t d;
	char *s;

	fflush(stderr);
	dup2(c->saved_stderr, 2);
	close(c->saved_stderr);
	c->saved_stderr = -1;
	assert_int_equal(gnutls_load_file(file, &d), 0);
	assert_true(c->from >= 0 && (size_t)c->from <= d.size);
	s = strndup((const char *)d.data + c->from, d.size - (size_t)c->from);
	gnutls_free(d.data);
	assert_non_null(s);
	return s;
}

int fx_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL;
	     p = strstr(p + 1, needle))
		n++;
	return n;
}

/* pback -- pulleyback instances: loading and the two-phase commit. */
#include "pback.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pder.h"

#define SYM(field, sym, required) do {					\
	*(void **)(&b->f.field) = dlsym(b->dl, sym);			\
	if (b->f.field == NULL && (required)) {				\
		snprintf(err, errlen, "%s: no symbol %s", path, sym);	\
		rc = -ENOENT;						\
		goto fail;						\
	}								\
} while (0)

int pback_load(struct pback *b, const char *dir, const char *name,
	       char **params, int nparams, int varc,
	       const struct pulleyback_host *host, char *err, size_t errlen)
{
	char path[4096];
	char **argv = NULL;
	const char *p;
	int rc, i;

	memset(b, 0, sizeof(*b));
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_')) {
			snprintf(err, errlen, "backend name '%s': only a-z, "
				 "0-9 and _", name);
			return -EINVAL;
		}
	if (name[0] == 0 || (size_t)snprintf(path, sizeof(path),
				     "%s/pulleyback_%s.so", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "backend name '%s' is not usable", name);
		return -EINVAL;
	}
	b->name = strdup(name);
	argv = calloc((size_t)nparams + 2, sizeof(*argv));
	if (b->name == NULL || argv == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	b->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (b->dl == NULL) {
		snprintf(err, errlen, "%s", dlerror());
		rc = -ENOENT;
		goto fail;
	}
	SYM(open, "pulleyback_open", 1);
	SYM(close, "pulleyback_close", 1);
	SYM(add, "pulleyback_add", 1);
	SYM(del, "pulleyback_del", 1);
	SYM(reset, "pulleyback_reset", 1);
	SYM(prepare, "pulleyback_prepare", 1);
	SYM(commit, "pulleyback_commit", 1);
	SYM(rollback, "pulleyback_rollback", 1);
	SYM(collaborate, "pulleyback_collaborate", 1);
	SYM(host, "pulleyback_host", 0);
	argv[0] = b->name;
	for (i = 0; i < nparams; i++)
		argv[i + 1] = params[i];
	b->h = b->f.open(nparams + 1, argv, varc);
	if (b->h == NULL) {
		snprintf(err, errlen, "backend %s refused its parameters "
			 "or variables (see its message)", name);
		rc = -EINVAL;
		goto fail;
	}
	b->varc = varc;
	if (b->f.host != NULL && host != NULL && !b->f.host(b->h, host)) {
		snprintf(err, errlen, "backend %s refused the host services",
			 name);
		rc = -EINVAL;
		goto fail;
	}
	free(argv);
	return 0;
fail:
	if (b->h != NULL)
		b->f.close(b->h);
	if (b->dl != NULL)
		dlclose(b->dl);
	free(argv);
	free(b->name);
	memset(b, 0, sizeof(*b));
	return rc;
}

void pback_unload(struct pback *b)
{
	if (b->h != NULL)
		b->f.close(b->h);
	if (b->dl != NULL)
		dlclose(b->dl);
	free(b->name);
	memset(b, 0, sizeof(*b));
}

int pback_change(struct pback *b, int add, const uint8_t *const *vals,
		 const size_t *lens)
{
	uint8_t **fd;
	size_t dl;
	int i, rc = 0, ok;

	fd = calloc((size_t)b->varc + 1, sizeof(*fd));
	if (fd == NULL)
		return -ENOMEM;
	for (i = 0; i < b->varc; i++) {
		rc = pder_wrap(vals[i], lens[i], &fd[i], &dl);
		if (rc < 0)
			goto out;
	}
	ok = add ? b->f.add(b->h, fd) : b->f.del(b->h, fd);
	rc = ok ? 0 : -EIO;
out:
	for (i = 0; i < b->varc; i++)
		free(fd[i]);
	free(fd);
	return rc;
}

void pback_rollback_all(struct pback *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i].f.rollback(b[i].h);
}

int pback_2pc(struct pback *b, size_t n, int (*commit_own)(void *),
	      void (*abort_own)(void *), void *ctx, size_t *failed)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (!b[i].f.prepare(b[i].h)) {
			*failed = i;
			abort_own(ctx);
			pback_rollback_all(b, n);
			return -EAGAIN;
		}
	rc = commit_own(ctx);
	if (rc < 0) {
		pback_rollback_all(b, n);
		return rc;
	}
	for (i = 0; i < n; i++)
		b[i].f.commit(b[i].h);
	return 0;
}

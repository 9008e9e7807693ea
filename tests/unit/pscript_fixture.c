/* pscript_fixture -- see pscript_fixture.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* nftw */
#endif
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pscript_fixture.h"

/* ---- environment ---- */

static int psf_rm_one(const char *p, const struct stat *st, int type,
		  struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

void psf_env_open(struct psf_env *e)
{
	const u_int32_t fl = DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK |
			     DB_INIT_LOG | DB_INIT_MPOOL | DB_THREAD | DB_RECOVER;

	assert_int_equal(db_env_create(&e->env, 0), 0);
	assert_int_equal(e->env->open(e->env, e->dir, fl, 0600), 0);
}

void psf_env_close(struct psf_env *e)
{
	if (e->env != NULL)
		e->env->close(e->env, 0);
	e->env = NULL;
}

DB_TXN *psf_begin(struct psf_env *e)
{
	DB_TXN *t = NULL;

	assert_int_equal(e->env->txn_begin(e->env, NULL, &t, 0), 0);
	return t;
}

void psf_commit(DB_TXN *t)
{
	assert_int_equal(t->commit(t, 0), 0);
}

/* Compile text and open the run; returns reset_needed. */
int psf_run_open(struct psf_env *e, const char *text)
{
	DB_TXN *t;
	int reset = -1;

	if (e->s == NULL)
		assert_int_equal(pscript_compile(text, strlen(text), &e->s,
						 NULL, NULL), 0);
	t = psf_begin(e);
	assert_int_equal(pscript_run_open(&e->rt, e->s, e->env, t, "pscript",
					  &reset), 0);
	psf_commit(t);
	return reset;
}

void psf_run_close(struct psf_env *e)
{
	pscript_run_close(e->rt);
	e->rt = NULL;
	pscript_free(e->s);
	e->s = NULL;
}

struct psf_env *psf_setup(const char *script)
{
	struct psf_env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_pscript.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	psf_env_open(e);
	assert_int_equal(psf_run_open(e, script), 1);	/* a fresh state */
	return e;
}

void psf_teardown(struct psf_env *e)
{
	psf_run_close(e);
	psf_env_close(e);
	nftw(e->dir, psf_rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(e);
}

/* ---- entries and outputs ---- */

static void psf_esc(char *o, size_t cap, const uint8_t *d, size_t n)
{
	size_t k = strlen(o);

	for (size_t i = 0; i < n && k + 5 < cap; i++) {
		if (d[i] >= 0x20 && d[i] < 0x7f && d[i] != '|' && d[i] != '\\')
			o[k++] = (char)d[i];
		else
			k += (size_t)snprintf(o + k, cap - k, "\\x%02x", d[i]);
	}
	o[k] = '\0';
}

int psf_on_out(void *ctx, size_t d, int add, const struct pscript_value *v,
		  size_t nv)
{
	struct psf_env *e = ctx;
	char line[512];

	if (e->fail_with != 0)
		return e->fail_with;
	assert_int_equal(nv, pscript_driver_nvars(e->s, d));
	if (add)
		e->saw_add = 1;
	else
		assert_false(e->saw_add);	/* every del before any add */
	snprintf(line, sizeof(line), "%s%c ", pscript_driver_name(e->s, d),
		 add ? '+' : '-');
	for (size_t i = 0; i < nv; i++) {
		if (i > 0)
			strcat(line, "|");
		psf_esc(line, sizeof(line), v[i].data, v[i].len);
	}
	strcat(line, "\n");
	assert_true(strlen(e->log) + strlen(line) < sizeof(e->log));
	strcat(e->log, line);
	return 0;
}

static int psf_line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of s in place (as a set of events). */
static void psf_sort_lines(char *s)
{
	char *lines[128], *copy = strdup(s), *save = NULL;
	size_t n = 0;

	assert_non_null(copy);
	for (char *l = strtok_r(copy, "\n", &save); l != NULL && n < 128;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(lines[0]), psf_line_cmp);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		strcat(s, lines[i]);
		strcat(s, "\n");
	}
	free(copy);
}

void psf_expect(struct psf_env *e, const char *want)
{
	char w[8192];

	snprintf(w, sizeof(w), "%s", want);
	psf_sort_lines(w);
	psf_sort_lines(e->log);
	assert_string_equal(e->log, w);
	e->log[0] = '\0';
	e->saw_add = 0;
}

/* Run an entry whose values are C strings (test_binary builds its own
 * entries); in a transaction of its own when t is NULL. */
int psf_put(struct psf_env *e, DB_TXN *t, int uuid, const char *dn,
	       const struct psf_attr *a, size_t na)
{
	struct pscript_attr attrs[8];
	struct pscript_value vals[8][PSF_MAXV];
	struct pscript_entry en = { .dn = dn, .nattrs = na, .attrs = attrs };
	int rc, own = t == NULL;

	memset(en.uuid, 0, 16);
	en.uuid[15] = (uint8_t)uuid;
	en.uuid[0] = 0xee;
	for (size_t i = 0; i < na; i++) {
		size_t n = 0;

		while (n < PSF_MAXV && a[i].v[n] != NULL) {
			vals[i][n] = (struct pscript_value){
				(const uint8_t *)a[i].v[n], strlen(a[i].v[n]) };
			n++;
		}
		attrs[i] = (struct pscript_attr){ a[i].type, n, vals[i] };
	}
	if (own)
		t = psf_begin(e);
	e->saw_add = 0;
	rc = pscript_run_entry(e->rt, t, &en, psf_on_out, e);
	if (own)
		psf_commit(t);
	return rc;
}

int psf_del(struct psf_env *e, DB_TXN *t, int uuid)
{
	uint8_t u[16] = { 0 };
	int rc, own = t == NULL;

	u[15] = (uint8_t)uuid;
	u[0] = 0xee;
	if (own)
		t = psf_begin(e);
	e->saw_add = 0;
	rc = pscript_run_delete(e->rt, t, u, psf_on_out, e);
	if (own)
		psf_commit(t);
	return rc;
}

static int psf_count_uuid(void *ctx, const uint8_t uuid[16])
{
	int *list = ctx;

	assert_int_equal(uuid[0], 0xee);
	list[uuid[15]]++;
	list[0]++;
	return 0;
}

/* The uuids held, as a bit mask of their last byte (< 31). */
unsigned psf_uuids(struct psf_env *e)
{
	int list[256] = { 0 };
	unsigned mask = 0;
	DB_TXN *t = psf_begin(e);

	assert_int_equal(pscript_run_uuids(e->rt, t, psf_count_uuid, list), 0);
	psf_commit(t);
	for (int i = 1; i < 31; i++) {
		assert_true(list[i] <= 1);
		if (list[i])
			mask |= 1u << i;
	}
	return mask;
}


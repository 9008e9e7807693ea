/* ssrc -- one crank's subtree, followed by SyncRepl (see ssrc.h). */
#include "ssrc.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "pldap.h"
#include "psign.h"
#include "tplog.h"

#define STATE_MAGIC "shaft-state-v1\n"
#define STATE_MAX (1u << 30)

/* ---- the entries kept, by entryUUID ---- */

static size_t slot(const struct ssrc *r, const uint8_t *u)
{
	uint64_t a, b, h;

	/* both halves: slapd's time-based UUIDs vary in the first (the
	 * time), random ones anywhere */
	memcpy(&a, u, 8);
	memcpy(&b, u + 8, 8);
	h = a ^ (b * 0x9e3779b97f4a7c15ull);
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (size_t)h & (r->cap - 1);
}

static struct sent **find(struct ssrc *r, const uint8_t *u)
{
	struct sent **p;

	if (r->cap == 0)
		return NULL;
	for (p = &r->tab[slot(r, u)]; *p != NULL; p = &(*p)->next)
		if (memcmp((*p)->uuid, u, 16) == 0)
			return p;
	return NULL;
}

int ssrc_find_uuid(struct ssrc *r, const uint8_t *u)
{
	return find(r, u) != NULL;
}

void ssrc_sent_free(struct sent *e)
{
	free(e->dn);
	free(e->canon);
	smerge_key_free(&e->k);
	free(e);
}

static int grow(struct ssrc *r)
{
	size_t nc = r->cap ? 2 * r->cap : 1024, i;
	struct sent **nt = calloc(nc, sizeof(*nt)), *e, *next;
	struct ssrc old = *r;

	if (nt == NULL)
		return -ENOMEM;
	r->tab = nt;
	r->cap = nc;
	for (i = 0; i < old.cap; i++)
		for (e = old.tab[i]; e != NULL; e = next) {
			size_t s = slot(r, e->uuid);

			next = e->next;
			e->next = nt[s];
			nt[s] = e;
		}
	free(old.tab);
	return 0;
}

/* Keep e (owned from here), replacing the entry of the same UUID. */
int ssrc_put(struct ssrc *r, struct sent *e)
{
	struct sent **p = find(r, e->uuid);
	size_t s;

	if (p != NULL) {
		struct sent *o = *p;

		e->next = o->next;
		*p = e;
		ssrc_sent_free(o);
		return 0;
	}
	if (r->n + 1 > r->cap / 2 * 3 / 2 && grow(r) < 0) {
		ssrc_sent_free(e);
		return -ENOMEM;
	}
	s = slot(r, e->uuid);
	e->next = r->tab[s];
	r->tab[s] = e;
	r->n++;
	return 0;
}

void ssrc_drop(struct ssrc *r, const uint8_t *u)
{
	struct sent **p = find(r, u), *e;

	if (p == NULL)
		return;
	e = *p;
	*p = e->next;
	ssrc_sent_free(e);
	r->n--;
	r->dirty = r->changed = 1;
}

void ssrc_drop_all(struct ssrc *r)
{
	size_t i;
	struct sent *e, *next;

	for (i = 0; i < r->cap; i++) {
		for (e = r->tab[i]; e != NULL; e = next) {
			next = e->next;
			ssrc_sent_free(e);
		}
		r->tab[i] = NULL;
	}
	r->n = 0;
	r->dirty = r->changed = 1;
}

int ssrc_each(const struct ssrc *r, int (*fn)(void *, const struct sent *),
	      void *ctx)
{
	size_t i;
	struct sent *e;
	int rc;

	for (i = 0; i < r->cap; i++)
		for (e = r->tab[i]; e != NULL; e = e->next)
			if ((rc = fn(ctx, e)) != 0)
				return rc;
	return 0;
}

/* A new entry from a canonical form (copied). */
int ssrc_sent_new(const uint8_t *u, const char *dn, const uint8_t *c,
		  size_t cl, struct sent **out, char *why, size_t whylen)
{
	struct sent *e = calloc(1, sizeof(*e));
	int rc;

	if (e == NULL)
		return -ENOMEM;
	memcpy(e->uuid, u, 16);
	e->dn = strdup(dn);
	e->canon = malloc(cl ? cl : 1);
	if (e->dn == NULL || e->canon == NULL) {
		ssrc_sent_free(e);
		return -ENOMEM;
	}
	memcpy(e->canon, c, cl);
	e->canonlen = cl;
	rc = smerge_key(c, cl, &e->k, why, whylen);
	if (rc < 0) {
		ssrc_sent_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

/* ---- the state file ---- */

static void state_path(const struct ssrc *r, char *buf, size_t cap,
		       const char *suffix)
{
	snprintf(buf, cap, "%s/%s.state%s", r->cf->state_dir, r->s->name,
		 suffix);
}

struct wr {
	FILE *f;
	crypto_generichash_state h;
	int err;
};

static void wr(struct wr *w, const void *p, size_t n)
{
	if (w->err)
		return;
	crypto_generichash_update(&w->h, p, n);
	if (fwrite(p, 1, n, w->f) != n)
		w->err = 1;
}

static void wr32(struct wr *w, size_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 8), (uint8_t)v };

	wr(w, b, 4);
}

static int wr_entry(void *ctx, const struct sent *e)
{
	struct wr *w = ctx;

	wr(w, e->uuid, 16);
	wr32(w, strlen(e->dn));
	wr(w, e->dn, strlen(e->dn));
	wr32(w, e->canonlen);
	wr(w, e->canon, e->canonlen);
	return w->err;
}

int ssrc_save(struct ssrc *r)
{
	char tmp[4200], path[4200];
	uint8_t sum[32];
	struct wr w = { 0 };
	int fd, rc = 0;

	if (!r->dirty)
		return 0;
	state_path(r, tmp, sizeof(tmp), ".tmp");
	state_path(r, path, sizeof(path), "");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (w.f = fdopen(fd, "wb")) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	crypto_generichash_init(&w.h, NULL, 0, sizeof(sum));
	wr(&w, STATE_MAGIC, strlen(STATE_MAGIC));
	wr32(&w, strlen(r->s->base));
	wr(&w, r->s->base, strlen(r->s->base));
	wr(&w, r->s->pk, 32);
	wr32(&w, r->cookie ? r->cookielen : 0);
	if (r->cookie)
		wr(&w, r->cookie, r->cookielen);
	wr32(&w, r->n);
	ssrc_each(r, wr_entry, &w);
	crypto_generichash_final(&w.h, sum, sizeof(sum));
	if (!w.err && fwrite(sum, 1, sizeof(sum), w.f) != sizeof(sum))
		w.err = 1;
	if (w.err || fflush(w.f) != 0 || fsync(fileno(w.f)) != 0) {
		rc = -EIO;
		fclose(w.f);
		goto fail;
	}
	if (fclose(w.f) != 0 || rename(tmp, path) != 0) {
		rc = -errno;
		goto fail;
	}
	fd = open(r->cf->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	r->dirty = 0;
	return 0;
fail:
	tplog(LOG_ERR, "shaft: source %s: writing %s: %s", r->s->name, path,
	      strerror(rc < 0 ? -rc : EIO));
	unlink(tmp);
	return rc ? rc : -EIO;
}

struct rd {
	const uint8_t *p;
	size_t left;
};

static int rd(struct rd *d, const uint8_t **p, size_t n)
{
	if (d->left < n)
		return -EBADMSG;
	*p = d->p;
	d->p += n;
	d->left -= n;
	return 0;
}

static int rd32(struct rd *d, size_t *v)
{
	const uint8_t *b;

	if (rd(d, &b, 4) < 0)
		return -EBADMSG;
	*v = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 |
	     b[3];
	return 0;
}

static int state_parse(struct ssrc *r, const uint8_t *buf, size_t len,
		       const char **why)
{
	struct rd d = { buf, len - 32 };
	const uint8_t *p, *dn, *c;
	size_t n, i, dl, cl;
	uint8_t sum[32];
	char ewhy[256], dnbuf[4096];
	int rc;

	crypto_generichash(sum, 32, buf, len - 32, NULL, 0);
	if (sodium_memcmp(sum, buf + len - 32, 32) != 0)
		return *why = "checksum mismatch", -EBADMSG;
	if (rd(&d, &p, strlen(STATE_MAGIC)) < 0 ||
	    memcmp(p, STATE_MAGIC, strlen(STATE_MAGIC)) != 0)
		return *why = "not a shaft state file", -EBADMSG;
	if (rd32(&d, &n) < 0 || rd(&d, &p, n) < 0)
		return *why = "truncated", -EBADMSG;
	if (n != strlen(r->s->base) || memcmp(p, r->s->base, n) != 0)
		return *why = "written for another base", -ESTALE;
	if (rd(&d, &p, 32) < 0 || memcmp(p, r->s->pk, 32) != 0)
		return *why = "written for another key", -ESTALE;
	if (rd32(&d, &n) < 0 || rd(&d, &p, n) < 0)
		return *why = "truncated", -EBADMSG;
	if (n > 0) {
		r->cookie = malloc(n);
		if (r->cookie == NULL)
			return -ENOMEM;
		memcpy(r->cookie, p, n);
		r->cookielen = n;
	}
	if (rd32(&d, &n) < 0)
		return *why = "truncated", -EBADMSG;
	for (i = 0; i < n; i++) {
		struct sent *e;
		const uint8_t *u;

		if (rd(&d, &u, 16) < 0 || rd32(&d, &dl) < 0 ||
		    rd(&d, &dn, dl) < 0 || rd32(&d, &cl) < 0 ||
		    rd(&d, &c, cl) < 0 || dl >= sizeof(dnbuf))
			return *why = "truncated", -EBADMSG;
		memcpy(dnbuf, dn, dl);
		dnbuf[dl] = 0;
		rc = ssrc_sent_new(u, dnbuf, c, cl, &e, ewhy, sizeof(ewhy));
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return *why = "an entry without a key", -EBADMSG;
		if ((rc = ssrc_put(r, e)) < 0)
			return rc;
	}
	if (d.left != 0)
		return *why = "trailing bytes", -EBADMSG;
	return 0;
}

static int state_load(struct ssrc *r)
{
	char path[4200];
	const char *why = "unreadable";
	uint8_t *buf = NULL;
	struct stat st;
	int fd, rc;

	state_path(r, path, sizeof(path), "");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tplog(LOG_NOTICE, "shaft: source %s: no saved state (%s): "
		      "full resync", r->s->name, strerror(errno));
		return 0;
	}
	rc = -EBADMSG;
	if (fstat(fd, &st) < 0 || st.st_size < 32 || st.st_size > STATE_MAX)
		goto bad;
	buf = malloc((size_t)st.st_size);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size)
		goto bad;
	rc = state_parse(r, buf, (size_t)st.st_size, &why);
	if (rc == -ENOMEM)
		goto out;
	if (rc < 0)
		goto bad;
	tplog(LOG_INFO, "shaft: source %s: %zu entries and the cookie from "
	      "%s", r->s->name, r->n, path);
	r->changed = 1;
	r->loaded = 1;
	goto out;
bad:
	tplog(LOG_WARNING, "shaft: source %s: state %s not used (%s): full "
	      "resync", r->s->name, path, why);
	ssrc_drop_all(r);
	free(r->cookie);
	r->cookie = NULL;
	r->cookielen = 0;
	rc = 0;
out:
	close(fd);
	free(buf);
	return rc;
}

int ssrc_init(struct ssrc *r, const struct sconf *cf, unsigned idx)
{
	memset(r, 0, sizeof(*r));
	r->cf = cf;
	r->idx = idx;
	r->s = &cf->src[idx];
	return state_load(r);
}

void ssrc_fini(struct ssrc *r)
{
	ssrc_stop(r);
	ssrc_drop_all(r);
	free(r->tab);
	free(r->cookie);
	puuidset_clear(&r->seen);
	memset(r, 0, sizeof(*r));
}


/* sout -- shaft's merged subtree (see sout.h). */
#include "sout.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "pldap.h"
#include "psign.h"
#include "psyncrepl.h"
#include "ssrc.h"
#include "tplog.h"

struct sout_cur {
	uint8_t *key;			/* NULL: not a valid entry: delete */
	size_t keylen;
	char *dn;
	uint8_t *canon;
	size_t canonlen;
	int signed_ok;			/* carries our valid signature */
	int has_sig;
	uint8_t sig[64];
	uint8_t digest[32];		/* of canon and sig, when has_sig */
};

#define KNOWN_MAGIC "shaft-output-v1\n"
#define KNOWN_MAX (1u << 26)

static void known_path(const struct sout *o, char *buf, size_t cap,
		       const char *suffix)
{
	snprintf(buf, cap, "%s/output.digests%s", o->cf->state_dir, suffix);
}

static void digest(const uint8_t *c, size_t cl, const uint8_t sig[64],
		   uint8_t out[32])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, c, cl);
	crypto_generichash_update(&h, sig, 64);
	crypto_generichash_final(&h, out, 32);
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The digests file: magic, the output base, count, digests, checksum.
 * Anything wrong with it only means verifying every signature. */
static void known_load(struct sout *o)
{
	char path[4200];
	uint8_t *buf = NULL, sum[32];
	size_t ml = strlen(KNOWN_MAGIC), bl = strlen(o->cf->output_base), n;
	struct stat st;
	int fd;

	known_path(o, path, sizeof(path), "");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)(ml + bl + 40) ||
	    st.st_size > KNOWN_MAX)
		goto out;
	buf = malloc((size_t)st.st_size);
	if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size)
		goto out;
	crypto_generichash(sum, 32, buf, (size_t)st.st_size - 32, NULL, 0);
	if (sodium_memcmp(sum, buf + st.st_size - 32, 32) != 0 ||
	    memcmp(buf, KNOWN_MAGIC, ml) != 0 ||
	    memcmp(buf + ml, o->cf->output_base, bl) != 0 ||
	    buf[ml + bl] != 0)
		goto out;
	n = ((size_t)buf[ml + bl + 1] << 24) | ((size_t)buf[ml + bl + 2] << 16) |
	    ((size_t)buf[ml + bl + 3] << 8) | buf[ml + bl + 4];
	if ((size_t)st.st_size != ml + bl + 5 + 32 * n + 32)
		goto out;
	o->known = malloc(32 * (n ? n : 1));
	if (o->known == NULL)
		goto out;
	memcpy(o->known, buf + ml + bl + 5, 32 * n);
	o->nknown = n;
	qsort(o->known, n, 32, cmp32);
out:
	if (o->known == NULL)
		tplog(LOG_INFO, "shaft: %s not used: every signature of the "
		      "output is verified", path);
	free(buf);
	close(fd);
}

/* Write the digests of what the subtree holds now (atomically). */
static void known_save(struct sout *o)
{
	char tmp[4200], path[4200];
	crypto_generichash_state h;
	uint8_t d[32], b[5];
	size_t i, n = 0;
	FILE *f;
	int fd, err = 0;

	for (i = 0; i < o->ncur; i++)
		n += o->cur[i].signed_ok && o->cur[i].has_sig;
	known_path(o, tmp, sizeof(tmp), ".tmp");
	known_path(o, path, sizeof(path), "");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "wb")) == NULL) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	crypto_generichash_init(&h, NULL, 0, 32);
#define PUT(p, l) do { crypto_generichash_update(&h, (const uint8_t *)(p), (l)); \
		       err |= fwrite((p), 1, (l), f) != (l); } while (0)
	PUT(KNOWN_MAGIC, strlen(KNOWN_MAGIC));
	PUT(o->cf->output_base, strlen(o->cf->output_base) + 1);
	b[0] = (uint8_t)(n >> 24);
	b[1] = (uint8_t)(n >> 16);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	PUT(b, 4);
	for (i = 0; i < o->ncur; i++)
		if (o->cur[i].signed_ok && o->cur[i].has_sig)
			PUT(o->cur[i].digest, 32);
#undef PUT
	crypto_generichash_final(&h, d, 32);
	err |= fwrite(d, 1, 32, f) != 32;
	/* no fsync: after a crash a damaged file only means verifying */
	err |= fclose(f) != 0;
	if (err || rename(tmp, path) != 0)
		goto fail;
	return;
fail:
	tplog(LOG_WARNING, "shaft: writing %s: %s (the next start verifies "
	      "every output signature)", path, strerror(errno ? errno : EIO));
	unlink(tmp);
}

static int is_known(const struct sout *o, const uint8_t d[32])
{
	return o->nknown > 0 &&
	       bsearch(d, o->known, o->nknown, 32, cmp32) != NULL;
}

static void cur_free(struct sout_cur *c)
{
	free(c->key);
	free(c->dn);
	free(c->canon);
	memset(c, 0, sizeof(*c));
}

static void cur_clear(struct sout *o)
{
	size_t i;

	for (i = 0; i < o->ncur; i++)
		cur_free(&o->cur[i]);
	free(o->cur);
	o->cur = NULL;
	o->ncur = 0;
}

int sout_init(struct sout *o, const struct sconf *cf, char *err,
	      size_t errlen)
{
	uint8_t seed[32];
	char text[66];
	size_t bin = 0;
	struct stat st;
	int fd, rc = 0;
	ssize_t n;

	memset(o, 0, sizeof(*o));
	o->cf = cf;
	fd = open(cf->sign_key, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "sign_key %s: %s", cf->sign_key,
			 strerror(errno));
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "sign_key %s: readable by group or "
			 "others (mode %03o): refused", cf->sign_key,
			 (unsigned)(st.st_mode & 0777));
		rc = -EPERM;
		goto out;
	}
	/* the 32-byte seed, or the 64 hex digits crank keygen writes */
	n = read(fd, text, sizeof(text));
	if (n == (ssize_t)sizeof(seed)) {
		memcpy(seed, text, sizeof(seed));
	} else if ((n != 64 && !(n == 65 && text[64] == '\n')) ||
		   sodium_hex2bin(seed, sizeof(seed), text, 64, NULL, &bin,
				  NULL) != 0 || bin != sizeof(seed)) {
		snprintf(err, errlen, "sign_key %s: not an Ed25519 seed (32 "
			 "bytes, or 64 hex digits as crank keygen writes)",
			 cf->sign_key);
		rc = -EINVAL;
		goto out;
	}
	crypto_sign_seed_keypair(o->pk, o->sk, seed);
	known_load(o);
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	if (fd >= 0)
		close(fd);
	return rc;
}

static void disconnect(struct sout *o)
{
	if (o->ld != NULL)
		ldap_unbind_ext_s(o->ld, NULL, NULL);
	o->ld = NULL;
}

void sout_fini(struct sout *o)
{
	disconnect(o);
	cur_clear(o);
	free(o->known);
	o->known = NULL;
	o->nknown = 0;
	sodium_memzero(o->sk, sizeof(o->sk));
}

static int cmp_cur(const void *pa, const void *pb)
{
	const struct sout_cur *a = pa, *b = pb;
	size_t n = a->keylen < b->keylen ? a->keylen : b->keylen;
	int r;

	if ((a->key == NULL) != (b->key == NULL))
		return a->key == NULL ? -1 : 1;
	if (a->key == NULL)
		return strcmp(a->dn, b->dn);
	r = memcmp(a->key, b->key, n);
	if (r != 0)
		return r;
	if (a->keylen != b->keylen)
		return a->keylen < b->keylen ? -1 : 1;
	return strcmp(a->dn, b->dn);
}

/* One entry of the subtree as it is. */
static int read_one(struct sout *o, LDAPMessage *m, struct sout_cur *c)
{
	struct psyncrepl_entry *b = calloc(1, sizeof(*b));
	struct smerge_key k;
	char why[256];
	size_t i;
	int rc, optsig = 0;

	memset(c, 0, sizeof(*c));
	c->dn = ldap_get_dn(o->ld, m);
	if (b == NULL || c->dn == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = psyncrepl_entry_read(o->ld, m, b);
	for (i = 0; rc == 0 && i < b->n; i++)
		if (strcasecmp(b->attrs[i].type, "tlsPoolSignature") == 0 &&
		    b->attrs[i].nvals == 1 && b->attrs[i].vals[0].len == 64) {
			memcpy(c->sig, b->attrs[i].vals[0].data, 64);
			c->has_sig = 1;
		} else if (strncasecmp(b->attrs[i].type, "tlsPoolSignature;",
				       17) == 0) {
			optsig = 1;
		}
	if (rc == 0)
		rc = psign_canon(b->attrs, b->n, &c->canon, &c->canonlen, why,
				 sizeof(why));
	/* pulley counts every spelling (a second signature: refused), and
	 * a modify of tlsPoolSignature leaves the other: rewrite it whole */
	if (rc == 0 && optsig) {
		snprintf(why, sizeof(why), "a tlsPoolSignature with an option");
		rc = -EBADMSG;
	}
	/* what shaft wrote or verified before need not be verified again */
	if (rc == 0 && c->has_sig) {
		digest(c->canon, c->canonlen, c->sig, c->digest);
		if (is_known(o, c->digest)) {
			c->signed_ok = 1;
			o->nread_known++;
		} else {
			c->signed_ok = psign_verify(b->attrs, b->n, o->pk, why,
						    sizeof(why)) == 0;
		}
	}
	if (rc == 0)
		rc = smerge_key(c->canon, c->canonlen, &k, why, sizeof(why));
	if (rc == 0) {
		c->key = k.key;
		c->keylen = k.keylen;
	} else if (rc != -ENOMEM) {
		tplog(LOG_WARNING, "shaft: output entry %s is not a policy "
		      "entry (%s): it will be deleted", c->dn, why);
		rc = 0;
	}
out:
	if (b != NULL)
		psyncrepl_entry_free(b);
	free(b);
	return rc;
}

int sout_connect(struct sout *o)
{
	static char *attrs[] = { "*", NULL };
	struct pconf pc = o->cf->conn;
	LDAPMessage *res = NULL, *m;
	char err[512];
	size_t n = 0, i;
	int rc, lrc;

	disconnect(o);
	cur_clear(o);
	o->nread_known = 0;
	rc = pldap_connect(&pc, &o->ld, err, sizeof(err));
	if (rc < 0) {
		tplog(LOG_WARNING, "shaft: output: %s", err);
		return rc;
	}
	lrc = ldap_search_ext_s(o->ld, o->cf->output_base,
				LDAP_SCOPE_ONELEVEL, "(objectClass=*)", attrs,
				0, NULL, NULL, NULL, LDAP_NO_LIMIT, &res);
	if (lrc != LDAP_SUCCESS) {
		tplog(LOG_ERR, "shaft: output: reading %s: %s",
		      o->cf->output_base, ldap_err2string(lrc));
		rc = lrc == LDAP_NO_SUCH_OBJECT ? -ENOENT : -ECONNRESET;
		goto fail;
	}
	o->cur = calloc((size_t)ldap_count_entries(o->ld, res) + 1,
			sizeof(*o->cur));
	if (o->cur == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (m = ldap_first_entry(o->ld, res); m != NULL;
	     m = ldap_next_entry(o->ld, m)) {
		rc = read_one(o, m, &o->cur[n]);
		o->ncur = ++n;
		if (rc < 0)
			goto fail;
	}
	qsort(o->cur, n, sizeof(*o->cur), cmp_cur);
	/* a second entry of one key (say, spelled in another case) goes */
	for (i = 1; i < n; i++)
		if (o->cur[i].key != NULL && o->cur[i - 1].key != NULL &&
		    o->cur[i].keylen == o->cur[i - 1].keylen &&
		    memcmp(o->cur[i].key, o->cur[i - 1].key,
			   o->cur[i].keylen) == 0) {
			free(o->cur[i].key);
			o->cur[i].key = NULL;
		}
	qsort(o->cur, n, sizeof(*o->cur), cmp_cur);
	ldap_msgfree(res);
	o->known_synced = o->nread_known == n && n == o->nknown;
	/* from here on the file is rewritten whenever the subtree changes */
	free(o->known);
	o->known = NULL;
	o->nknown = 0;
	tplog(LOG_INFO, "shaft: output %s holds %zu entries",
	      o->cf->output_base, n);
	return 0;
fail:
	ldap_msgfree(res);
	cur_clear(o);
	disconnect(o);
	return rc;
}

/* ---- writing ---- */

static int lost(int lrc)
{
	return lrc == LDAP_SERVER_DOWN || lrc == LDAP_CONNECT_ERROR ||
	       lrc == LDAP_TIMEOUT || lrc == LDAP_UNAVAILABLE ||
	       lrc == LDAP_BUSY;
}

static void mods_free(LDAPMod **mods)
{
	size_t i, j;

	for (i = 0; mods != NULL && mods[i] != NULL; i++) {
		free(mods[i]->mod_type);
		for (j = 0; mods[i]->mod_bvalues != NULL &&
			    mods[i]->mod_bvalues[j] != NULL; j++)
			free(mods[i]->mod_bvalues[j]);
		free(mods[i]->mod_bvalues);
		free(mods[i]);
	}
	free(mods);
}

/* The type of a as a string (into buf). */
static void type_of(const struct smerge_attr *a, char *buf, size_t cap)
{
	size_t n = a->typelen < cap - 1 ? a->typelen : cap - 1;

	memcpy(buf, a->type, n);
	buf[n] = 0;
}

/* Values of the attribute type in canon c, or NULL when absent. */
static int find(const uint8_t *c, size_t cl, const char *type,
		struct smerge_attr *out)
{
	size_t pos = 0, tl = strlen(type);
	struct smerge_attr a;

	while (smerge_next_attr(c, cl, &pos, &a) == 1)
		if (a.typelen == tl && memcmp(a.type, type, tl) == 0) {
			*out = a;
			return 1;
		}
	return 0;
}

static int same_vals(const struct smerge_attr *a, const struct smerge_attr *b)
{
	return (size_t)(a->end - a->p) == (size_t)(b->end - b->p) &&
	       a->nvals == b->nvals && memcmp(a->p, b->p, a->end - a->p) == 0;
}

static LDAPMod *mod_new(int op, const char *type,
			const struct smerge_attr *a, const uint8_t *one,
			size_t onelen)
{
	LDAPMod *m = calloc(1, sizeof(*m));
	size_t n = a ? a->nvals : (one ? 1 : 0), i;

	if (m == NULL)
		return NULL;
	m->mod_op = op | LDAP_MOD_BVALUES;
	m->mod_type = strdup(type);
	m->mod_bvalues = calloc(n + 1, sizeof(*m->mod_bvalues));
	if (m->mod_type == NULL || m->mod_bvalues == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		const uint8_t *v = one;
		size_t vl = onelen;
		struct berval *bv;

		if (a != NULL)
			smerge_attr_val(a, i, &v, &vl);
		bv = malloc(sizeof(*bv) + (vl ? vl : 1));
		if (bv == NULL)
			goto fail;
		bv->bv_len = vl;
		bv->bv_val = (char *)(bv + 1);
		memcpy(bv->bv_val, v, vl);
		m->mod_bvalues[i] = bv;
	}
	return m;
fail:
	{
		LDAPMod *ms[2] = { m, NULL }, **mp = malloc(sizeof(ms));

		if (mp != NULL) {
			memcpy(mp, ms, sizeof(ms));
			mods_free(mp);
		}
	}
	return NULL;
}

/* Mods for an add (old == NULL) or a modify from old to new. */
static int build_mods(const uint8_t *nc, size_t ncl, const uint8_t *oc,
		      size_t ocl, const uint8_t sig[64], LDAPMod ***out)
{
	size_t cap = 2, k = 0, pos;
	struct smerge_attr a, b;
	LDAPMod **mods;
	char type[128];
	int rc;

	for (pos = 0; smerge_next_attr(nc, ncl, &pos, &a) == 1;)
		cap++;
	for (pos = 0; oc && smerge_next_attr(oc, ocl, &pos, &a) == 1;)
		cap++;
	mods = calloc(cap, sizeof(*mods));
	if (mods == NULL)
		return -ENOMEM;
	for (pos = 0; (rc = smerge_next_attr(nc, ncl, &pos, &a)) == 1;) {
		type_of(&a, type, sizeof(type));
		if (oc != NULL && find(oc, ocl, type, &b) && same_vals(&a, &b))
			continue;
		mods[k] = mod_new(oc ? LDAP_MOD_REPLACE : LDAP_MOD_ADD, type,
				  &a, NULL, 0);
		if (mods[k++] == NULL)
			goto nomem;
	}
	for (pos = 0; oc && smerge_next_attr(oc, ocl, &pos, &a) == 1;) {
		type_of(&a, type, sizeof(type));
		if (find(nc, ncl, type, &b))
			continue;
		mods[k] = mod_new(LDAP_MOD_REPLACE, type, NULL, NULL, 0);
		if (mods[k++] == NULL)
			goto nomem;
	}
	mods[k] = mod_new(oc ? LDAP_MOD_REPLACE : LDAP_MOD_ADD,
			  "tlsPoolSignature", NULL, sig, 64);
	if (mods[k++] == NULL)
		goto nomem;
	*out = mods;
	return 0;
nomem:
	mods_free(mods);
	return -ENOMEM;
}

static void report(const char *what, const char *dn, int lrc, LDAP *ld)
{
	char *diag = NULL;

	ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	tplog(LOG_ERR, "shaft: output: %s %s: %s%s%s", what, dn,
	      ldap_err2string(lrc), diag && *diag ? ": " : "",
	      diag ? diag : "");
	ldap_memfree(diag);
}

static int do_delete(struct sout *o, const char *dn, struct sout_stats *st)
{
	int lrc = ldap_delete_ext_s(o->ld, dn, NULL, NULL);

	if (lrc == LDAP_SUCCESS || lrc == LDAP_NO_SUCH_OBJECT) {
		st->deleted++;
		return 1;
	}
	report("deleting", dn, lrc, o->ld);
	st->errors++;
	return lost(lrc) ? -ECONNRESET : 0;
}

/* Write winner w over c (NULL: a new entry).  1 when the subtree now
 * holds w, 0 when the server refused (logged), -errno. */
static int do_write(struct sout *o, const struct smerge_in *w,
		    struct sout_cur *c, char **dnout, uint8_t sig[64],
		    int *gone, struct sout_stats *st)
{
	char rdn[SMERGE_RDN_MAX], *dn = NULL;
	struct smerge_attr a, b;
	LDAPMod **mods = NULL;
	int rc, lrc, replace = 0;

	crypto_sign_detached(sig, NULL, w->canon, w->canonlen, o->sk);
	if (c != NULL && !(find(c->canon, c->canonlen, "objectclass", &a) &&
			   find(w->canon, w->canonlen, "objectclass", &b) &&
			   same_vals(&a, &b))) {
		/* another class: a modify cannot change it */
		rc = do_delete(o, c->dn, st);
		if (rc <= 0)
			return rc;
		st->deleted--;
		c = NULL;
		replace = 1;
		*gone = 1;	/* even if the add below fails */
	}
	if (c != NULL) {
		dn = strdup(c->dn);
	} else {
		if (smerge_rdn(w->canon, w->canonlen, rdn) < 0)
			return -EINVAL;
		dn = malloc(strlen(rdn) + strlen(o->cf->output_base) + 2);
		if (dn != NULL)
			sprintf(dn, "%s,%s", rdn, o->cf->output_base);
	}
	if (dn == NULL)
		return -ENOMEM;
	rc = build_mods(w->canon, w->canonlen, c ? c->canon : NULL,
			c ? c->canonlen : 0, sig, &mods);
	if (rc < 0)
		goto out;
	if (c != NULL)
		lrc = ldap_modify_ext_s(o->ld, dn, mods, NULL, NULL);
	else
		lrc = ldap_add_ext_s(o->ld, dn, mods, NULL, NULL);
	if (lrc != LDAP_SUCCESS) {
		report(c ? "modifying" : "adding", dn, lrc, o->ld);
		st->errors++;
		rc = lost(lrc) ? -ECONNRESET : 0;
		goto out;
	}
	if (c != NULL || replace)
		st->modified++;
	else
		st->added++;
	*dnout = dn;
	dn = NULL;
	rc = 1;
out:
	mods_free(mods);
	free(dn);
	return rc;
}

static int keycmp_cw(const struct sout_cur *c, const struct smerge_in *w)
{
	size_t n = c->keylen < w->k.keylen ? c->keylen : w->k.keylen;
	int r = memcmp(c->key, w->k.key, n);

	if (r != 0)
		return r;
	return c->keylen < w->k.keylen ? -1 : c->keylen > w->k.keylen;
}

/* The new state of one key: a copy of winner w at dn. */
static int cur_set(struct sout_cur *d, const struct smerge_in *w, char *dn,
		   const uint8_t sig[64])
{
	memset(d, 0, sizeof(*d));
	d->key = malloc(w->k.keylen);
	d->canon = malloc(w->canonlen);
	if (d->key == NULL || d->canon == NULL) {
		cur_free(d);
		return -ENOMEM;
	}
	d->dn = dn;
	memcpy(d->key, w->k.key, w->k.keylen);
	d->keylen = w->k.keylen;
	memcpy(d->canon, w->canon, w->canonlen);
	d->canonlen = w->canonlen;
	d->signed_ok = 1;
	d->has_sig = 1;
	memcpy(d->sig, sig, 64);
	digest(d->canon, d->canonlen, sig, d->digest);
	return 0;
}

int sout_apply(struct sout *o, const struct smerge_in *const *w, size_t n,
	       struct sout_stats *st)
{
	struct sout_cur *nc;
	size_t i = 0, j = 0, k = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (o->ld == NULL)
		return -ENOTCONN;
	nc = calloc(o->ncur + n + 1, sizeof(*nc));
	if (nc == NULL)
		return -ENOMEM;
	while (rc >= 0 && (i < o->ncur || j < n)) {
		struct sout_cur *c = i < o->ncur ? &o->cur[i] : NULL;
		const struct smerge_in *x = j < n ? w[j] : NULL;
		int cmp = c == NULL ? 1 : x == NULL || c->key == NULL ? -1
				    : keycmp_cw(c, x);
		char *dn = NULL;
		uint8_t sig[64];
		int gone = 0;

		if (rc == 0 && cmp < 0) {		/* gone */
			rc = do_delete(o, c->dn, st);
			if (rc == 0)		/* still there: keep it */
				nc[k++] = *c, memset(c, 0, sizeof(*c));
			else
				cur_free(c);
			rc = rc < 0 ? rc : 0;
			i++;
			continue;
		}
		if (cmp == 0 && c->signed_ok && c->canonlen == x->canonlen &&
		    memcmp(c->canon, x->canon, x->canonlen) == 0) {
			st->unchanged++;
			nc[k++] = *c;
			memset(c, 0, sizeof(*c));
			i++, j++;
			continue;
		}
		rc = do_write(o, x, cmp == 0 ? c : NULL, &dn, sig, &gone, st);
		if (rc == 1) {
			rc = cur_set(&nc[k], x, dn, sig);
			if (rc == 0)
				k++;
			else
				free(dn);
			if (cmp == 0)
				cur_free(c);
		} else if (rc == 0 && cmp == 0 && !gone) {
			nc[k++] = *c;	/* refused: the old one stays */
			memset(c, 0, sizeof(*c));
		} else if (cmp == 0) {
			cur_free(c);	/* deleted; the new one refused */
		}
		if (cmp == 0)
			i++;
		j++;
	}
	/* after an error, what was not reached stays as it was */
	for (; i < o->ncur; i++) {
		nc[k++] = o->cur[i];
		memset(&o->cur[i], 0, sizeof(o->cur[i]));
	}
	cur_clear(o);
	o->cur = nc;
	o->ncur = k;
	qsort(o->cur, k, sizeof(*o->cur), cmp_cur);
	if (st->added || st->modified || st->deleted || !o->known_synced) {
		known_save(o);
		o->known_synced = 1;
	}
	if (rc < 0 && rc != -ENOMEM) {
		tplog(LOG_WARNING, "shaft: output: connection lost; the "
		      "merge is written again after reconnecting");
		disconnect(o);
	}
	return rc < 0 ? rc : 0;
}

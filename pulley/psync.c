/* psync -- pulley's SyncRepl consumer (see psync.h). */
#include "psync.h"

#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pldap.h"
#include "policydb_int.h"
#include "psign.h"
#include "psyncrepl.h"
#include "puuidset.h"
#include "tplog.h"

/* ---- UUIDs seen during a refresh ---- */

static int seen_add(struct psync *p, const uint8_t *u)
{
	return puuidset_add(&p->seen, u);
}

static int seen_has(const struct psync *p, const uint8_t *u)
{
	return puuidset_has(&p->seen, u);
}

static void seen_clear(struct psync *p)
{
	puuidset_clear(&p->seen);
	p->present_done = 0;
}

/* ---- the batch ---- */

static void *host_txn(void *ctx)
{
	return ((struct psync *)ctx)->txn;
}

/* A backend's message; errors name the entry being applied, if any. */
static void host_log(void *ctx, int level, const char *msg)
{
	const struct psync *p = ctx;

	if (level <= LOG_ERR && p->cur_dn != NULL)
		tplog(level, "%s (entry %s)", msg, p->cur_dn);
	else
		tplog(level, "%s", msg);
}

static int batch_begin(struct psync *p)
{
	size_t i;
	int rc;

	if (p->txn != NULL)
		return 0;
	rc = policydb_begin(p->db, &p->txn, 1);
	if (rc < 0) {
		tplog(LOG_ERR, "pulley: beginning a transaction: %s",
		      strerror(-rc));
		return rc;
	}
	if (!p->need_reset)
		return 0;
	rc = pscript_run_reset(p->rt, p->txn->t);
	for (i = 0; rc == 0 && i < p->nbacks; i++)
		if (!p->backs[i].f.reset(p->backs[i].h))
			rc = -EIO;
	if (rc < 0)
		tplog(LOG_ERR, "pulley: reset before a full resync failed: "
		      "%s", strerror(-rc));
	return rc;
}

static void batch_abort(struct psync *p)
{
	if (p->txn != NULL) {
		policydb_abort(p->txn);
		p->txn = NULL;
		p->st.rollbacks++;
	}
	pback_rollback_all(p->backs, p->nbacks);
	p->failed = 0;
}

static int own_commit(void *ctx)
{
	struct psync *p = ctx;
	int rc = policydb_commit(p->txn);

	p->txn = NULL;
	if (rc < 0)
		tplog(LOG_ERR, "pulley: committing the batch: %s",
		      strerror(-rc));
	return rc;
}

static void own_abort(void *ctx)
{
	struct psync *p = ctx;

	if (p->txn != NULL)
		policydb_abort(p->txn);
	p->txn = NULL;
}

/* Commit the batch with the cookie the library holds now, if anything
 * changed.  0 or -errno (the batch is rolled back). */
static int batch_commit(struct psync *p, const struct berval *ck)
{
	size_t failed = 0;
	uint8_t *nc = NULL;
	int rc, changed_cookie;

	if (p->failed) {
		batch_abort(p);
		return -EIO;
	}
	changed_cookie = ck != NULL && ck->bv_val != NULL &&
			 (p->cookie == NULL || ck->bv_len != p->cookielen ||
			  memcmp(ck->bv_val, p->cookie, ck->bv_len) != 0);
	if (p->txn == NULL && !changed_cookie)
		return 0;
	rc = batch_begin(p);
	if (rc == 0 && changed_cookie)
		rc = policydb_raw_put(p->txn, POLICYDB_META, p->cookie_key,
				      strlen(p->cookie_key), ck->bv_val,
				      ck->bv_len);
	if (rc == 0 && changed_cookie) {
		nc = malloc(ck->bv_len ? ck->bv_len : 1);
		if (nc == NULL)
			rc = -ENOMEM;
		else
			memcpy(nc, ck->bv_val, ck->bv_len);
	}
	if (rc < 0) {
		free(nc);
		batch_abort(p);
		return rc;
	}
	rc = pback_2pc(p->backs, p->nbacks, own_commit, own_abort, p, &failed);
	if (rc == -EAGAIN)
		tplog(LOG_ERR, "pulley: backend %zu (%s) could not prepare: "
		      "batch rolled back in every backend, policy unchanged",
		      failed + 1, p->backs[failed].name);
	if (rc < 0) {
		free(nc);
		p->st.rollbacks++;
		return rc;
	}
	if (changed_cookie) {
		free(p->cookie);
		p->cookie = nc;
		p->cookielen = ck->bv_len;
	}
	p->need_reset = 0;
	p->st.batches++;
	tplog(LOG_INFO, "pulley: batch committed (%lu entries, %lu deletes, "
	      "%lu refused so far)", p->st.entries, p->st.deletes,
	      p->st.refused);
	return 0;
}

/* ---- PulleyScript output into the backends ---- */

static int output(void *ctx, size_t d, int add,
		  const struct pscript_value *vals, size_t nvals)
{
	struct psync *p = ctx;
	const uint8_t *v[64];
	size_t l[64], i;
	int rc;

	/* Not -EINVAL: the runtime would take that for a refused entry. */
	if (d >= p->nbacks || nvals != (size_t)p->backs[d].varc ||
	    nvals > 64) {
		tplog(LOG_ERR, "pulley: driver %zu: %zu values do not fit",
		      d + 1, nvals);
		return -EIO;
	}
	for (i = 0; i < nvals; i++) {
		v[i] = vals[i].data;
		l[i] = vals[i].len;
	}
	rc = pback_change(&p->backs[d], add, v, l);
	if (rc < 0)
		tplog(LOG_ERR, "pulley: backend %s refused a %s",
		      p->backs[d].name, add ? "add" : "del");
	return rc;
}

/* ---- entries ---- */

static int on_entry(ldap_sync_t *ls, LDAPMessage *msg,
		    struct berval *uuid, ldap_sync_refresh_t phase)
{
	struct psync *p = ls->ls_private;
	struct psyncrepl_entry *b = NULL;
	struct pscript_entry e;
	char why[256], *dn = NULL;
	int rc = 0;

	if (p->failed)
		return 0;
	if (uuid == NULL || uuid->bv_len != 16) {
		tplog(LOG_ERR, "pulley: an entry without a 16-byte entryUUID");
		p->failed = 1;
		return 0;
	}
	memcpy(e.uuid, uuid->bv_val, 16);
	if (phase == LDAP_SYNC_CAPI_PRESENT)
		return seen_add(p, e.uuid) < 0 ? (p->failed = 1, 0) : 0;
	rc = batch_begin(p);
	if (rc < 0)
		goto fail;
	if (phase == LDAP_SYNC_CAPI_DELETE) {
		rc = pscript_run_delete(p->rt, p->txn->t, e.uuid, output, p);
		p->st.deletes++;
		goto out;
	}
	if (phase != LDAP_SYNC_CAPI_ADD && phase != LDAP_SYNC_CAPI_MODIFY)
		goto out;
	rc = seen_add(p, e.uuid);
	b = calloc(1, sizeof(*b));
	if (rc < 0 || b == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	dn = ldap_get_dn(ls->ls_ld, msg);
	rc = psyncrepl_entry_read(ls->ls_ld, msg, b);
	if (rc == -ENOMEM)
		goto fail;
	if (rc < 0 || dn == NULL) {
		tplog(LOG_ERR, "pulley: entry %s: cannot read it: %s",
		      dn ? dn : "?", strerror(rc < 0 ? -rc : EINVAL));
		p->st.refused++;
		rc = 0;
		goto out;
	}
	if (p->cf->have_verify_key)
		rc = psign_verify(b->attrs, b->n, p->cf->verify_key, why,
				  sizeof(why));
	if (rc == -ENOMEM)
		goto fail;
	if (rc < 0) {
		/* The last good version (if any) stays in force. */
		tplog(LOG_ERR, "pulley: entry %s refused, not applied: %s",
		      dn, why);
		p->st.refused++;
		rc = 0;
		goto out;
	}
	e.dn = dn;
	e.nattrs = b->n;
	e.attrs = b->attrs;
	p->cur_dn = dn;
	rc = pscript_run_entry(p->rt, p->txn->t, &e, output, p);
	p->cur_dn = NULL;
	if (rc == -EINVAL) {
		/* Refused by the runtime (logged there with the DN); the
		 * transaction stays usable and the batch goes on. */
		p->st.refused++;
		rc = 0;
	}
	p->st.entries++;
out:
	if (rc < 0)
		goto fail;
	if (b != NULL)
		psyncrepl_entry_free(b);
	free(b);
	ldap_memfree(dn);
	return 0;
fail:
	tplog(LOG_ERR, "pulley: applying %s failed: %s; the batch is rolled "
	      "back", dn ? dn : "a change", strerror(-rc));
	p->failed = 1;
	if (b != NULL)
		psyncrepl_entry_free(b);
	free(b);
	ldap_memfree(dn);
	return 0;
}

struct uuidlist {
	uint8_t *u;
	size_t n, cap;
	const struct psync *p;
};

static int collect_unseen(void *ctx, const uint8_t uuid[16])
{
	struct uuidlist *l = ctx;

	if (seen_has(l->p, uuid))
		return 0;
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		uint8_t *n = realloc(l->u, 16 * nc);

		if (n == NULL)
			return -ENOMEM;
		l->u = n;
		l->cap = nc;
	}
	memcpy(l->u + 16 * l->n++, uuid, 16);
	return 0;
}

/* End of a present phase: every entry neither presented nor added is
 * gone upstream. */
static int drop_unseen(struct psync *p)
{
	struct uuidlist l = { .p = p };
	size_t i;
	int rc;

	if (p->present_done)
		return 0;
	p->present_done = 1;
	rc = batch_begin(p);
	if (rc == 0)
		rc = pscript_run_uuids(p->rt, p->txn->t, collect_unseen, &l);
	for (i = 0; rc == 0 && i < l.n; i++) {
		rc = pscript_run_delete(p->rt, p->txn->t, l.u + 16 * i,
					output, p);
		p->st.deletes++;
	}
	if (l.n > 0)
		tplog(LOG_INFO, "pulley: present phase: %zu entries gone "
		      "upstream", l.n);
	free(l.u);
	return rc;
}

static int on_intermediate(ldap_sync_t *ls, LDAPMessage *msg,
			   BerVarray uuids, ldap_sync_refresh_t phase)
{
	struct psync *p = ls->ls_private;
	size_t i;
	int rc = 0;

	if (p->failed)
		return 0;
	switch (phase) {
	case LDAP_SYNC_CAPI_PRESENTS_IDSET:
		for (i = 0; rc == 0 && uuids && uuids[i].bv_val; i++)
			if (uuids[i].bv_len == 16)
				rc = seen_add(p, (uint8_t *)uuids[i].bv_val);
		break;
	case LDAP_SYNC_CAPI_DELETES_IDSET:
		rc = batch_begin(p);
		for (i = 0; rc == 0 && uuids && uuids[i].bv_val; i++) {
			if (uuids[i].bv_len != 16)
				continue;
			rc = pscript_run_delete(p->rt, p->txn->t,
						(uint8_t *)uuids[i].bv_val,
						output, p);
			p->st.deletes++;
		}
		break;
	case LDAP_SYNC_CAPI_PRESENTS:
		rc = drop_unseen(p);
		break;
	case LDAP_SYNC_CAPI_DONE:
		if (psyncrepl_is_refresh_present(ls->ls_ld, msg))
			rc = drop_unseen(p);
		break;
	default:
		break;
	}
	if (rc < 0) {
		tplog(LOG_ERR, "pulley: applying a sync id set failed: %s",
		      strerror(-rc));
		p->failed = 1;
	}
	return 0;
}

/* ---- sessions ---- */

static int fill_attrs(struct psync *p, char ***out)
{
	size_t n = pscript_nattrs(p->ps), i, k = 0;
	char **a = calloc(n + 4, sizeof(*a));

	if (a == NULL)
		return -ENOMEM;
	if (p->cf->have_verify_key) {
		/* The signature covers every tlsPool attribute. */
		a[k++] = strdup("*");
	} else {
		for (i = 0; i < n; i++)
			a[k++] = strdup(pscript_attr(p->ps, i));
	}
	for (i = 0; i < k; i++)
		if (a[i] == NULL)
			goto fail;
	*out = a;
	return 0;
fail:
	for (i = 0; i < k; i++)
		free(a[i]);
	free(a);
	return -ENOMEM;
}

static ldap_sync_t *session_new(struct psync *p, LDAP *ld)
{
	ldap_sync_t *ls = ldap_sync_initialize(NULL);

	if (ls == NULL)
		return NULL;
	ls->ls_ld = ld;
	ls->ls_base = strdup(p->cf->ldap_base);
	ls->ls_filter = strdup(p->cf->ldap_filter);
	ls->ls_scope = LDAP_SCOPE_SUBTREE;
	ls->ls_timeout = -1;
	ls->ls_search_entry = on_entry;
	ls->ls_search_reference = psyncrepl_on_reference;
	ls->ls_intermediate = on_intermediate;
	ls->ls_search_result = psyncrepl_on_result;
	ls->ls_private = p;
	if (p->cookie != NULL && !p->need_reset)
		(void)psyncrepl_set_cookie(ls, p->cookie, p->cookielen);
	if (ls->ls_base == NULL || ls->ls_filter == NULL ||
	    fill_attrs(p, &ls->ls_attrs) < 0 ||
	    (p->cookie != NULL && !p->need_reset &&
	     ls->ls_cookie.bv_val == NULL)) {
		ls->ls_ld = NULL;
		ldap_sync_destroy(ls, 1);
		return NULL;
	}
	return ls;
}

int psync_session(struct psync *p, int once)
{
	char err[512];
	ldap_sync_t *ls;
	LDAP *ld = NULL;
	int rc, lrc, had_cookie;

	rc = pldap_connect(p->cf, &ld, err, sizeof(err));
	if (rc < 0) {
		tplog(LOG_WARNING, "pulley: %s", err);
		return rc == -EACCES ? -EACCES : -ECONNREFUSED;
	}
	ls = session_new(p, ld);
	if (ls == NULL) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return -ENOMEM;
	}
	seen_clear(p);
	p->failed = 0;
	tplog(LOG_INFO, "pulley: sync with %s %s", p->cf->ldap_uri,
	      ls->ls_cookie.bv_val ? "from the saved cookie"
				   : "from scratch");
	had_cookie = ls->ls_cookie.bv_val != NULL;
	lrc = ldap_sync_init(ls, LDAP_SYNC_REFRESH_AND_PERSIST);
	/* slapd refuses a cookie newer than its own state (a directory
	 * restored from a backup) as "unwilling to perform". */
	if (lrc == LDAP_SYNC_REFRESH_REQUIRED ||
	    (lrc == LDAP_UNWILLING_TO_PERFORM && had_cookie)) {
		char *diag = NULL;

		ldap_get_option(ls->ls_ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
		tplog(LOG_NOTICE, "pulley: the server cannot resume from the "
		      "cookie (%s%s%s): full resync by reset",
		      ldap_err2string(lrc), diag ? ": " : "",
		      diag ? diag : "");
		ldap_memfree(diag);
		batch_abort(p);
		p->need_reset = 1;
		free(p->cookie);
		p->cookie = NULL;
		p->cookielen = 0;
		rc = -EAGAIN;
		goto out;
	}
	if (lrc != LDAP_SUCCESS) {
		tplog(LOG_WARNING, "pulley: refresh from %s: %s",
		      p->cf->ldap_uri, ldap_err2string(lrc));
		batch_abort(p);
		rc = -ECONNRESET;
		goto out;
	}
	rc = batch_commit(p, &ls->ls_cookie);
	seen_clear(p);
	if (rc < 0) {
		rc = -ECONNRESET;
		goto out;
	}
	tplog(LOG_NOTICE, "pulley: refresh done (%lu entries, %lu deletes, "
	      "%lu refused)", p->st.entries, p->st.deletes, p->st.refused);
	if (once)
		goto out;
	ls->ls_timeout = 1;
	while (!*p->stop) {
		lrc = ldap_sync_poll(ls);
		if (lrc == LDAP_SYNC_REFRESH_REQUIRED) {
			batch_abort(p);
			p->need_reset = 1;
			free(p->cookie);
			p->cookie = NULL;
			p->cookielen = 0;
			rc = -EAGAIN;
			goto out;
		}
		if (lrc < 0 || (lrc != LDAP_SUCCESS && lrc != 0)) {
			if (*p->stop)
				break;
			tplog(LOG_WARNING, "pulley: connection to %s lost "
			      "(%s); the last good policy stays in force",
			      p->cf->ldap_uri, ldap_err2string(lrc));
			batch_abort(p);
			rc = -ECONNRESET;
			goto out;
		}
		/* A change outside the base only moves the cookie. */
		rc = batch_commit(p, &ls->ls_cookie);
		if (rc < 0) {
			rc = -ECONNRESET;
			goto out;
		}
	}
	rc = 0;
	if (p->txn != NULL)
		batch_abort(p);
out:
	ldap_sync_destroy(ls, 1);
	return rc;
}

/* ---- opening ---- */

int psync_open(struct psync *p, const struct pconf *cf, struct pscript *ps,
	       volatile sig_atomic_t *stop)
{
	struct pulleyback_host host = { PULLEYBACK_API_VERSION, p, host_txn,
					host_log };
	struct policydb_txn *t = NULL;
	char err[512], prefix[96];
	void *ck = NULL;
	size_t d, cl = 0, np, i;
	int rc, reset = 0;

	memset(p, 0, sizeof(*p));
	host.ctx = p;
	p->cf = cf;
	p->ps = ps;
	p->stop = stop;
	snprintf(p->cookie_key, sizeof(p->cookie_key), "pulley:%s:cookie",
		 cf->name);
	snprintf(prefix, sizeof(prefix), "pulley_%s", cf->name);
	rc = policydb_open(&p->db, cf->dbenv_dir, POLICYDB_CREATE, err,
			   sizeof(err));
	if (rc < 0) {
		tplog(LOG_ERR, "pulley: %s", err);
		return rc;
	}
	p->nbacks = pscript_ndrivers(ps);
	p->backs = calloc(p->nbacks ? p->nbacks : 1, sizeof(*p->backs));
	if (p->backs == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (d = 0; d < p->nbacks; d++) {
		char *params[64];

		np = pscript_driver_nparams(ps, d);
		if (np > 64) {
			rc = -E2BIG;
			tplog(LOG_ERR, "pulley: driver %s: too many parameters",
			      pscript_driver_name(ps, d));
			goto fail;
		}
		for (i = 0; i < np; i++)
			params[i] = (char *)pscript_driver_param(ps, d, i);
		rc = pback_load(&p->backs[d], cf->backend_dir,
				pscript_driver_name(ps, d), params, (int)np,
				(int)pscript_driver_nvars(ps, d), &host, err,
				sizeof(err));
		if (rc < 0) {
			tplog(LOG_ERR, "pulley: driver %zu: %s", d + 1, err);
			goto fail;
		}
	}
	for (d = 1; d < p->nbacks; d++)
		for (i = 0; i < d; i++)
			if (strcmp(p->backs[i].name, p->backs[d].name) == 0 &&
			    p->backs[d].f.collaborate(p->backs[i].h,
						      p->backs[d].h)) {
				tplog(LOG_INFO, "pulley: drivers %zu and %zu "
				      "(%s) share one transaction", i + 1,
				      d + 1, p->backs[d].name);
				break;
			}
	rc = policydb_begin(p->db, &t, 1);
	if (rc == 0)
		rc = pscript_run_open(&p->rt, ps, p->db->env, t->t, prefix,
				      &reset);
	if (rc == 0) {
		rc = policydb_raw_get(t, POLICYDB_META, p->cookie_key,
				      strlen(p->cookie_key), &ck, &cl);
		if (rc == -ENOENT)
			rc = 0;
	}
	if (rc < 0) {
		tplog(LOG_ERR, "pulley: opening the sync state in %s: %s",
		      cf->dbenv_dir, strerror(-rc));
		if (t != NULL)
			policydb_abort(t);
		free(ck);
		goto fail;
	}
	rc = policydb_commit(t);
	if (rc < 0) {
		free(ck);
		goto fail;
	}
	if (reset || ck == NULL) {
		tplog(LOG_NOTICE, "pulley: %s: full resync by reset",
		      ck == NULL ? "no saved cookie" : "the script changed");
		p->need_reset = 1;
		free(ck);
	} else {
		p->cookie = ck;
		p->cookielen = cl;
	}
	return 0;
fail:
	psync_close(p);
	return rc;
}

void psync_close(struct psync *p)
{
	size_t d;

	if (p->txn != NULL)
		batch_abort(p);
	if (p->rt != NULL)
		pscript_run_close(p->rt);
	for (d = 0; p->backs != NULL && d < p->nbacks; d++)
		if (p->backs[d].h != NULL)
			pback_unload(&p->backs[d]);
	free(p->backs);
	if (p->db != NULL)
		policydb_close(p->db);
	free(p->cookie);
	seen_clear(p);
	memset(p, 0, sizeof(*p));
}

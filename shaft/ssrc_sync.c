/* ssrc_sync -- the SyncRepl side of a source (see ssrc.h): the same
 * RFC 4533 handling as pulley/psync.c, into shaft's entry store. */
#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "pldap.h"
#include "psign.h"
#include "psyncrepl.h"
#include "srec.h"
#include "ssrc.h"
#include "tplog.h"

#define FILTER "(|(objectClass=tlsPoolLocalUserCredential)" \
	"(objectClass=tlsPoolIdentityDisclosure)" \
	"(objectClass=tlsPoolTrustedIssuer)" \
	"(objectClass=tlsPoolValidationRequirements))"

/* Verify an entry and keep it; a refused one is reported and the last
 * good version of the same entry (if any) stays.  0 or -ENOMEM. */
static int take(struct ssrc *r, LDAP *ld, LDAPMessage *msg, const uint8_t *u)
{
	struct psyncrepl_entry *b = calloc(1, sizeof(*b));
	char why[256] = "", *dn = ldap_get_dn(ld, msg);
	uint8_t *c = NULL;
	size_t cl = 0;
	struct sent *e = NULL;
	int rc;

	if (b == NULL || dn == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = psyncrepl_entry_read(ld, msg, b);
	if (rc == -E2BIG)
		snprintf(why, sizeof(why), "more than %d attributes",
			 PSYNCREPL_ATTRS_MAX);
	if (rc == 0)
		rc = psign_verify(b->attrs, b->n, r->s->pk, why, sizeof(why));
	if (rc == 0)
		rc = psign_canon(b->attrs, b->n, &c, &cl, why, sizeof(why));
	if (rc == 0)
		rc = ssrc_sent_new(u, dn, c, cl, &e, why, sizeof(why));
	if (rc == 0) {
		rc = srec_check(c, cl, &e->k, why, sizeof(why));
		if (rc < 0) {
			ssrc_sent_free(e);
			e = NULL;
		}
	}
	if (rc == 0) {
		rc = ssrc_put(r, e);
		r->dirty = r->changed = 1;
		r->st.entries++;
	} else if (rc != -ENOMEM) {
		tplog(LOG_ERR, "shaft: source %s: entry %s refused, left out: "
		      "%s%s", r->s->name, dn, why,
		      ssrc_find_uuid(r, u) ? " (its last good version stays)"
					   : "");
		r->st.refused++;
		rc = 0;
	}
out:
	if (b != NULL)
		psyncrepl_entry_free(b);
	free(b);
	free(c);
	ldap_memfree(dn);
	return rc;
}

static int on_entry(ldap_sync_t *ls, LDAPMessage *msg,
		    struct berval *uuid, ldap_sync_refresh_t phase)
{
	struct ssrc *r = ls->ls_private;
	const uint8_t *u;
	int rc = 0;

	if (r->failed)
		return 0;
	if (uuid == NULL || uuid->bv_len != 16) {
		tplog(LOG_ERR, "shaft: source %s: an entry without a 16-byte "
		      "entryUUID", r->s->name);
		r->failed = 1;
		return 0;
	}
	u = (const uint8_t *)uuid->bv_val;
	switch (phase) {
	case LDAP_SYNC_CAPI_PRESENT:
		rc = puuidset_add(&r->seen, u);
		break;
	case LDAP_SYNC_CAPI_DELETE:
		ssrc_drop(r, u);
		r->st.deletes++;
		break;
	case LDAP_SYNC_CAPI_ADD:
	case LDAP_SYNC_CAPI_MODIFY:
		rc = puuidset_add(&r->seen, u);
		if (rc == 0)
			rc = take(r, ls->ls_ld, msg, u);
		break;
	default:
		break;
	}
	if (rc < 0) {
		tplog(LOG_ERR, "shaft: source %s: %s", r->s->name,
		      strerror(-rc));
		r->failed = 1;
	}
	return 0;
}

/* End of a present phase: what was neither presented nor added is gone
 * upstream. */
static void drop_unseen(struct ssrc *r)
{
	uint8_t *gone = NULL;
	size_t i, n = 0;
	struct sent *e;

	if (r->present_done)
		return;
	r->present_done = 1;
	gone = malloc(16 * (r->n ? r->n : 1));
	if (gone == NULL) {
		r->failed = 1;
		return;
	}
	for (i = 0; i < r->cap; i++)
		for (e = r->tab[i]; e != NULL; e = e->next)
			if (!puuidset_has(&r->seen, e->uuid))
				memcpy(gone + 16 * n++, e->uuid, 16);
	for (i = 0; i < n; i++)
		ssrc_drop(r, gone + 16 * i);
	r->st.deletes += n;
	if (n > 0)
		tplog(LOG_INFO, "shaft: source %s: present phase: %zu entries "
		      "gone upstream", r->s->name, n);
	free(gone);
}

static int on_intermediate(ldap_sync_t *ls, LDAPMessage *msg,
			   BerVarray uuids, ldap_sync_refresh_t phase)
{
	struct ssrc *r = ls->ls_private;
	size_t i;

	if (r->failed)
		return 0;
	switch (phase) {
	case LDAP_SYNC_CAPI_PRESENTS_IDSET:
		for (i = 0; uuids && uuids[i].bv_val; i++)
			if (uuids[i].bv_len == 16 &&
			    puuidset_add(&r->seen,
					 (uint8_t *)uuids[i].bv_val) < 0)
				r->failed = 1;
		break;
	case LDAP_SYNC_CAPI_DELETES_IDSET:
		for (i = 0; uuids && uuids[i].bv_val; i++)
			if (uuids[i].bv_len == 16) {
				ssrc_drop(r, (uint8_t *)uuids[i].bv_val);
				r->st.deletes++;
			}
		break;
	case LDAP_SYNC_CAPI_PRESENTS:
		drop_unseen(r);
		break;
	case LDAP_SYNC_CAPI_DONE:
		if (psyncrepl_is_refresh_present(ls->ls_ld, msg))
			drop_unseen(r);
		break;
	default:
		break;
	}
	return 0;
}

/* Take the library's cookie when it moved. */
static int cookie_take(struct ssrc *r)
{
	const struct berval *ck = &r->ls->ls_cookie;
	uint8_t *nc;

	if (ck->bv_val == NULL ||
	    (r->cookie != NULL && ck->bv_len == r->cookielen &&
	     memcmp(ck->bv_val, r->cookie, ck->bv_len) == 0))
		return 0;
	nc = malloc(ck->bv_len ? ck->bv_len : 1);
	if (nc == NULL)
		return -ENOMEM;
	memcpy(nc, ck->bv_val, ck->bv_len);
	free(r->cookie);
	r->cookie = nc;
	r->cookielen = ck->bv_len;
	r->dirty = 1;
	return 0;
}

/* The server cannot resume: forget the cookie and the entries, so the
 * next session is a full refresh. */
static void need_reset(struct ssrc *r, const char *what)
{
	tplog(LOG_NOTICE, "shaft: source %s: the server cannot resume from "
	      "the cookie (%s): full resync", r->s->name, what);
	free(r->cookie);
	r->cookie = NULL;
	r->cookielen = 0;
	ssrc_drop_all(r);
	/* not known again until a refresh completes: merging now would
	 * drop this source's whole policy */
	r->loaded = 0;
	r->ever = 0;
}

void ssrc_stop(struct ssrc *r)
{
	if (r->ls != NULL)
		ldap_sync_destroy(r->ls, 1);
	r->ls = NULL;
}

int ssrc_fd(const struct ssrc *r)
{
	int fd = -1;

	if (r->ls == NULL || r->ls->ls_ld == NULL ||
	    ldap_get_option(r->ls->ls_ld, LDAP_OPT_DESC, &fd) !=
		    LDAP_OPT_SUCCESS)
		return -1;
	return fd;
}

int ssrc_start(struct ssrc *r)
{
	static char *attrs[] = { "*", NULL };
	struct pconf c = r->cf->conn;
	char err[512];
	ldap_sync_t *ls;
	LDAP *ld = NULL;
	int rc, lrc, had_cookie;

	ssrc_stop(r);
	rc = pldap_connect(&c, &ld, err, sizeof(err));
	if (rc < 0) {
		tplog(LOG_WARNING, "shaft: source %s: %s", r->s->name, err);
		return rc == -EACCES ? -EACCES : -ECONNREFUSED;
	}
	ls = ldap_sync_initialize(NULL);
	if (ls == NULL) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return -ENOMEM;
	}
	ls->ls_ld = ld;
	ls->ls_base = strdup(r->s->base);
	ls->ls_filter = strdup(FILTER);
	ls->ls_attrs = calloc(2, sizeof(char *));
	if (ls->ls_attrs != NULL)
		ls->ls_attrs[0] = strdup(attrs[0]);
	ls->ls_scope = LDAP_SCOPE_SUBTREE;
	ls->ls_timeout = -1;
	ls->ls_search_entry = on_entry;
	ls->ls_search_reference = psyncrepl_on_reference;
	ls->ls_intermediate = on_intermediate;
	ls->ls_search_result = psyncrepl_on_result;
	ls->ls_private = r;
	if (r->cookie != NULL)
		(void)psyncrepl_set_cookie(ls, r->cookie, r->cookielen);
	r->ls = ls;
	if (ls->ls_base == NULL || ls->ls_filter == NULL ||
	    ls->ls_attrs == NULL || ls->ls_attrs[0] == NULL ||
	    (r->cookie != NULL && ls->ls_cookie.bv_val == NULL)) {
		ssrc_stop(r);
		return -ENOMEM;
	}
	puuidset_clear(&r->seen);
	r->present_done = 0;
	r->failed = 0;
	had_cookie = r->cookie != NULL;
	tplog(LOG_INFO, "shaft: source %s: sync of %s %s", r->s->name,
	      r->s->base, had_cookie ? "from the saved cookie"
				     : "from scratch");
	lrc = ldap_sync_init(ls, LDAP_SYNC_REFRESH_AND_PERSIST);
	if (lrc == LDAP_SYNC_REFRESH_REQUIRED ||
	    (lrc == LDAP_UNWILLING_TO_PERFORM && had_cookie)) {
		need_reset(r, ldap_err2string(lrc));
		ssrc_stop(r);
		return -EAGAIN;
	}
	if (lrc != LDAP_SUCCESS || r->failed) {
		tplog(LOG_WARNING, "shaft: source %s: refresh of %s: %s",
		      r->s->name, r->s->base,
		      r->failed ? "failed" : ldap_err2string(lrc));
		ssrc_stop(r);
		return -ECONNRESET;
	}
	puuidset_clear(&r->seen);
	if (cookie_take(r) < 0) {
		ssrc_stop(r);
		return -ENOMEM;
	}
	tplog(LOG_NOTICE, "shaft: source %s: refresh done (%zu entries kept; "
	      "%lu refused so far)", r->s->name, r->n, r->st.refused);
	ls->ls_timeout = 0;
	return 0;
}

int ssrc_poll(struct ssrc *r)
{
	int lrc;

	if (r->ls == NULL)
		return -ENOTCONN;
	lrc = ldap_sync_poll(r->ls);
	if (lrc == LDAP_SYNC_REFRESH_REQUIRED) {
		need_reset(r, "refresh required");
		ssrc_stop(r);
		return -EAGAIN;
	}
	if (lrc < 0 || (lrc != LDAP_SUCCESS && lrc != 0) || r->failed) {
		tplog(LOG_WARNING, "shaft: source %s: connection lost (%s); "
		      "its last good entries stay", r->s->name,
		      r->failed ? "a change could not be applied"
				: ldap_err2string(lrc));
		ssrc_stop(r);
		return -ECONNRESET;
	}
	return cookie_take(r);
}

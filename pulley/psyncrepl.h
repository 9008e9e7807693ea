/* psyncrepl -- the RFC 4533 pieces pulley's consumer (psync.c) and
 * shaft's sources (shaft/ssrc_sync.c) handle the same way: reading an
 * entry binary safe, spotting the end of a refreshPresent phase, handing
 * a saved cookie to libldap, and the callbacks both ignore. */
#ifndef TP_PSYNCREPL_H
#define TP_PSYNCREPL_H

#include <ldap.h>
#include <stddef.h>
#include <stdint.h>

#include "pscript.h"

/* An entry as read from LDAP, binary safe (for psign and the runtime). */
#define PSYNCREPL_ATTRS_MAX 256
struct psyncrepl_entry {
	struct pscript_attr attrs[PSYNCREPL_ATTRS_MAX];
	struct pscript_value *vals[PSYNCREPL_ATTRS_MAX];
	struct berval **bv[PSYNCREPL_ATTRS_MAX];
	char *types[PSYNCREPL_ATTRS_MAX];
	size_t n;
};

/* Every attribute and value of msg.  0, -E2BIG (too many attributes)
 * or -ENOMEM; free even on error. */
int psyncrepl_entry_read(LDAP *ld, LDAPMessage *msg,
			 struct psyncrepl_entry *b);
void psyncrepl_entry_free(struct psyncrepl_entry *b);

/* 1 when the intermediate message is a refreshPresent (tag 0xa2). */
int psyncrepl_is_refresh_present(LDAP *ld, LDAPMessage *msg);

/* A copy of the saved cookie (len bytes) into ls->ls_cookie, NUL
 * terminated as libldap wants it; on -ENOMEM ls_cookie stays empty. */
int psyncrepl_set_cookie(ldap_sync_t *ls, const uint8_t *cookie, size_t len);

/* The ls_search_reference and ls_search_result callbacks: nothing to do
 * (the end of the refresh is ldap_sync_init's return). */
int psyncrepl_on_reference(ldap_sync_t *ls, LDAPMessage *msg);
int psyncrepl_on_result(ldap_sync_t *ls, LDAPMessage *msg,
			int refreshDeletes);

#endif

/* psyncrepl -- RFC 4533 pieces shared by pulley and shaft (see the
 * header). */
#include "psyncrepl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void psyncrepl_entry_free(struct psyncrepl_entry *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->vals[i]);
		ber_bvecfree(b->bv[i]);
		ldap_memfree(b->types[i]);
	}
	b->n = 0;
}

int psyncrepl_entry_read(LDAP *ld, LDAPMessage *msg,
			 struct psyncrepl_entry *b)
{
	BerElement *ber = NULL;
	char *a;
	size_t j, nv;

	b->n = 0;
	for (a = ldap_first_attribute(ld, msg, &ber); a != NULL;
	     a = ldap_next_attribute(ld, msg, ber)) {
		struct berval **bv;

		if (b->n == PSYNCREPL_ATTRS_MAX) {
			ldap_memfree(a);
			ber_free(ber, 0);
			return -E2BIG;
		}
		bv = ldap_get_values_len(ld, msg, a);
		for (nv = 0; bv != NULL && bv[nv] != NULL; nv++)
			;
		b->types[b->n] = a;
		b->bv[b->n] = bv;
		b->vals[b->n] = calloc(nv ? nv : 1, sizeof(**b->vals));
		if (b->vals[b->n] == NULL) {
			b->n++;
			ber_free(ber, 0);
			return -ENOMEM;
		}
		for (j = 0; j < nv; j++) {
			b->vals[b->n][j].data = (const uint8_t *)bv[j]->bv_val;
			b->vals[b->n][j].len = bv[j]->bv_len;
		}
		b->attrs[b->n].type = a;
		b->attrs[b->n].nvals = nv;
		b->attrs[b->n].vals = b->vals[b->n];
		b->n++;
	}
	ber_free(ber, 0);
	return 0;
}

int psyncrepl_is_refresh_present(LDAP *ld, LDAPMessage *msg)
{
	struct berval *data = NULL;
	char *oid = NULL;
	int r = 0;

	if (msg != NULL &&
	    ldap_parse_intermediate(ld, msg, &oid, &data, NULL, 0) ==
		    LDAP_SUCCESS &&
	    data != NULL && data->bv_len > 0)
		r = (unsigned char)data->bv_val[0] == 0xa2;
	ldap_memfree(oid);
	ber_bvfree(data);
	return r;
}

int psyncrepl_set_cookie(ldap_sync_t *ls, const uint8_t *cookie, size_t len)
{
	ls->ls_cookie.bv_val = malloc(len + 1);
	if (ls->ls_cookie.bv_val == NULL)
		return -ENOMEM;
	memcpy(ls->ls_cookie.bv_val, cookie, len);
	ls->ls_cookie.bv_val[len] = 0;
	ls->ls_cookie.bv_len = len;
	return 0;
}

int psyncrepl_on_reference(ldap_sync_t *ls, LDAPMessage *msg)
{
	(void)ls;
	(void)msg;
	return 0;
}

int psyncrepl_on_result(ldap_sync_t *ls, LDAPMessage *msg,
			int refreshDeletes)
{
	(void)ls;
	(void)msg;
	(void)refreshDeletes;
	return 0;
}

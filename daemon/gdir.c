/* gdir -- the LDAP global directory (see gdir.h). */
#include "gdir.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <ldap.h>

#include "dnssec.h"
#include "tplog.h"
#include "worker.h"

/* The trust anchors the directory's certificate is checked against. */
static struct {
	pthread_mutex_t lock;
	char path[512];
} anchors = { .lock = PTHREAD_MUTEX_INITIALIZER };

void gdir_set_anchors(const char *path)
{
	pthread_mutex_lock(&anchors.lock);
	snprintf(anchors.path, sizeof(anchors.path), "%s", path ? path : "");
	pthread_mutex_unlock(&anchors.lock);
}

/* ---- pure parts ---- */

int gdir_srv_name(const char *id, char *name, size_t len)
{
	const char *at = strchr(id, '@');
	int n;

	if (at == NULL || at == id || at[1] == '\0' || strchr(at + 1, '@'))
		return -EINVAL;
	n = snprintf(name, len, "_ldap._tcp.%s", at + 1);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* RFC 4515 escaping of an assertion value. */
static int escape(const char *v, char *out, size_t len)
{
	size_t o = 0;

	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20) {
			if (o + 3 >= len)
				return -ENAMETOOLONG;
			snprintf(out + o, 4, "\\%02x", c);
			o += 3;
		} else {
			if (o + 1 >= len)
				return -ENAMETOOLONG;
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return 0;
}

int gdir_base_filter(const char *id, char *base, size_t blen, char *filter,
		     size_t flen)
{
	const char *at = strchr(id, '@'), *d;
	char esc[512];
	size_t o = 0;

	if (at == NULL || at == id || at[1] == '\0')
		return -EINVAL;
	for (d = at + 1; *d != '\0';) {
		size_t l = strcspn(d, ".");
		int n;

		if (l == 0)
			return -EINVAL;	/* empty label */
		for (size_t i = 0; i < l; i++)
			if (strchr(",+\"\\<>;=#", d[i]) != NULL)
				return -EINVAL;
		n = snprintf(base + o, blen - o, "%sdc=%.*s", o ? "," : "",
			     (int)l, d);
		if (n < 0 || (size_t)n >= blen - o)
			return -ENAMETOOLONG;
		o += (size_t)n;
		d += l;
		if (*d == '.')
			d++;
	}
	if (escape(id, esc, sizeof(esc)) < 0 ||
	    (size_t)snprintf(filter, flen, "(mail=%s)", esc) >= flen)
		return -ENAMETOOLONG;
	return 0;
}

void gdir_query_clear(struct gdir_query *q)
{
	gnutls_free(q->cert.data);
	memset(q, 0, sizeof(*q));
}

static int verdict(struct gdir_result *r, enum gdir_verdict v,
		   const char *fmt, const char *a, const char *b)
{
	r->verdict = v;
	snprintf(r->why, sizeof(r->why), fmt, a, b);
	return 0;
}

int gdir_prepare(const char *id, const struct dnssec_answer *srv,
		 const gnutls_datum_t *peer_cert, const char *cafile,
		 struct gdir_query *q, struct gdir_result *r)
{
	char name[300];
	int rc;

	memset(q, 0, sizeof(*q));
	if (gdir_srv_name(id, name, sizeof(name)) < 0)
		return verdict(r, GDIR_UNAVAILABLE, "\"%.60s\" is no user@domain%.60s",
			       id, "");
	switch (srv->sec) {
	case DNSSEC_SECURE:
		break;
	case DNSSEC_BOGUS:
		return verdict(r, GDIR_UNAVAILABLE, "SRV %.60s: DNSSEC bogus: %.60s",
			       name, srv->why);
	case DNSSEC_INSECURE:
		return verdict(r, GDIR_UNAVAILABLE, "SRV %.60s is insecure%.60s",
			       name, " (no DNSSEC)");
	default:
		return verdict(r, GDIR_UNAVAILABLE, "SRV %.60s: no answer: %.60s",
			       name, srv->why);
	}
	if (!srv->havedata)
		return verdict(r, GDIR_NOT_FOUND, "no global directory for %.60s "
			       "(no SRV %.60s)", strchr(id, '@') + 1, name);
	rc = gdir_parse_srv(srv->wire, srv->wirelen, q->host,
			    sizeof(q->host), &q->port);
	if (rc == -ENOENT)
		return verdict(r, GDIR_NOT_FOUND, "SRV %.60s says no directory%.60s",
			       name, "");
	if (rc < 0)
		return verdict(r, GDIR_UNAVAILABLE, "SRV %.60s is malformed%.60s",
			       name, "");
	if (gdir_base_filter(id, q->base, sizeof(q->base), q->filter,
			     sizeof(q->filter)) < 0)
		return verdict(r, GDIR_UNAVAILABLE, "no directory search for "
			       "%.60s%s", id, "");
	if (cafile != NULL) {
		snprintf(q->cafile, sizeof(q->cafile), "%s", cafile);
	} else {
		pthread_mutex_lock(&anchors.lock);
		snprintf(q->cafile, sizeof(q->cafile), "%s", anchors.path);
		pthread_mutex_unlock(&anchors.lock);
	}
	q->cert.data = gnutls_malloc(peer_cert->size);
	if (q->cert.data == NULL) {
		gdir_query_clear(q);
		return verdict(r, GDIR_UNAVAILABLE, "out of memory%.60s%s", "", "");
	}
	memcpy(q->cert.data, peer_cert->data, peer_cert->size);
	q->cert.size = peer_cert->size;
	return 1;
}

/* ---- asking ---- */

static void ldap_fail(struct gdir_result *r, const struct gdir_query *q,
		      const char *what, int rc)
{
	r->verdict = GDIR_UNAVAILABLE;
	snprintf(r->why, sizeof(r->why), "directory ldap://%.60s:%u: %s: %s",
		 q->host, q->port, what, ldap_err2string(rc));
}

static int tls_setup(LDAP *ld, const struct gdir_query *q)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc = 0;
	struct stat st;

	rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	if (rc == LDAP_OPT_SUCCESS && q->cafile[0] != '\0')
		rc = ldap_set_option(ld, stat(q->cafile, &st) == 0 &&
				     S_ISDIR(st.st_mode) ?
				     LDAP_OPT_X_TLS_CACERTDIR :
				     LDAP_OPT_X_TLS_CACERTFILE, q->cafile);
	if (rc == LDAP_OPT_SUCCESS)
		rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	return rc;
}

/* userCertificate with or without the ";binary" transfer option: some
 * directories return it bare, and counting that as "no certificate"
 * would let g accept a peer the directory contradicts. */
static int is_user_cert(const char *a)
{
	size_t n = strlen("userCertificate");

	return strncasecmp(a, "userCertificate", n) == 0 &&
	       (a[n] == '\0' || strcasecmp(a + n, ";binary") == 0);
}

/* Does entry e hold the peer's certificate?  1 yes, 0 no; *seen counts
 * the certificates looked at. */
static int entry_holds(LDAP *ld, LDAPMessage *e, const struct gdir_query *q,
		       unsigned *seen)
{
	BerElement *ber = NULL;
	int found = 0;

	for (char *a = ldap_first_attribute(ld, e, &ber); a != NULL && !found;
	     a = ldap_next_attribute(ld, e, ber)) {
		struct berval **v = is_user_cert(a) ?
				    ldap_get_values_len(ld, e, a) : NULL;

		for (size_t i = 0; v != NULL && v[i] != NULL && !found; i++) {
			(*seen)++;
			found = v[i]->bv_len == q->cert.size &&
				memcmp(v[i]->bv_val, q->cert.data,
				       q->cert.size) == 0;
		}
		ldap_value_free_len(v);
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	return found;
}

static void compare(LDAP *ld, LDAPMessage *res, const struct gdir_query *q,
		    struct gdir_result *r)
{
	unsigned seen = 0;

	for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL;
	     e = ldap_next_entry(ld, e)) {
		if (entry_holds(ld, e, q, &seen)) {
			r->verdict = GDIR_MATCH;
			snprintf(r->why, sizeof(r->why), "directory %.60s "
				 "holds the certificate for %.40s", q->host,
				 q->filter);
			return;
		}
	}
	r->verdict = seen ? GDIR_MISMATCH : GDIR_NOT_FOUND;
	if (seen)
		snprintf(r->why, sizeof(r->why), "directory %.60s: none of the "
			 "%u certificates for %.40s is the peer's", q->host,
			 seen, q->filter);
	else
		snprintf(r->why, sizeof(r->why), "directory %.60s: no "
			 "certificate for %.40s", q->host, q->filter);
}

void gdir_run(const struct gdir_query *q, struct gdir_result *r)
{
	char uri[300];
	char *attrs[] = { "userCertificate;binary", "userCertificate", NULL };
	struct timeval tv = { GDIR_TIMEOUT_MS / 1000,
			      (GDIR_TIMEOUT_MS % 1000) * 1000 };
	int v3 = LDAP_VERSION3, rc;
	LDAP *ld = NULL;
	LDAPMessage *res = NULL;

	snprintf(uri, sizeof(uri), "ldap://%s:%u", q->host, q->port);
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		ldap_fail(r, q, "initialize", rc);
		return;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	rc = tls_setup(ld, q);
	if (rc != LDAP_OPT_SUCCESS) {
		ldap_fail(r, q, "TLS settings", rc);
		goto out;
	}
	rc = ldap_start_tls_s(ld, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		ldap_fail(r, q, "StartTLS", rc);
		goto out;
	}
	rc = ldap_search_ext_s(ld, q->base, LDAP_SCOPE_SUBTREE, q->filter,
			       attrs, 0, NULL, NULL, &tv, 16, &res);
	if (rc == LDAP_NO_SUCH_OBJECT) {
		r->verdict = GDIR_NOT_FOUND;
		snprintf(r->why, sizeof(r->why), "directory %.60s: no %.40s",
			 q->host, q->base);
	} else if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldap_fail(r, q, "search", rc);
	} else {
		compare(ld, res, q, r);
	}
out:
	if (res != NULL)
		ldap_msgfree(res);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

struct job {
	struct worker *w;
	struct gdir_query q;
	struct gdir_result r;
	void (*done)(void *arg, const struct gdir_result *r);
	void *arg;
};

static atomic_uint running;

static void job_done(void *arg)
{
	struct job *j = arg;

	j->done(j->arg, &j->r);
	gdir_query_clear(&j->q);
	free(j);
}

static void *job_run(void *arg)
{
	struct job *j = arg;

	gdir_run(&j->q, &j->r);
	atomic_fetch_sub(&running, 1);
	if (worker_post(j->w, job_done, j) < 0) {
		tplog(LOG_ERR, "global directory: cannot post the answer");
		gdir_query_clear(&j->q);
		free(j);
	}
	worker_helper_end();
	return NULL;
}

int gdir_start(struct worker *w, struct gdir_query *q,
	       void (*done)(void *arg, const struct gdir_result *r),
	       void *arg)
{
	struct job *j;
	pthread_t t;
	pthread_attr_t at;
	int rc;

	if (atomic_fetch_add(&running, 1) >= GDIR_THREADS) {
		atomic_fetch_sub(&running, 1);
		gdir_query_clear(q);
		return -EAGAIN;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		atomic_fetch_sub(&running, 1);
		gdir_query_clear(q);
		return -ENOMEM;
	}
	j->w = w;
	j->q = *q;
	memset(q, 0, sizeof(*q));
	j->done = done;
	j->arg = arg;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	worker_helper_begin();
	rc = pthread_create(&t, &at, job_run, j);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		worker_helper_end();
		atomic_fetch_sub(&running, 1);
		gdir_query_clear(&j->q);
		free(j);
		return -rc;
	}
	return 0;
}

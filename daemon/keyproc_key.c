/* keyproc_key -- loaded keys as gnutls_privkey_t objects (import_ext4)
 * whose sign and decrypt callbacks are round trips to the key process,
 * and the registry that lets a restarted key process load them again.
 *
 * Loads and replays run one at a time (load_lock, taken before reg_lock);
 * a load may wait for a PIN (a human) without holding reg_lock, so
 * releasing a key on a worker never waits for it.
 */
#include "keyproc.h"
#include "keyproc_int.h"
#include "tplog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* One loaded key, as the daemon asked for it. */
struct reg {
	uint32_t handle;
	uint16_t op;		/* KP_LOAD_FILE, KP_LOAD_URL (_ASK) */
	char *name, *where, *pin;
};

/* load_lock, then reg_lock, then any connection's lock. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg *regs;	/* sorted by handle */
static size_t nreg, capreg;
static uint32_t next_handle;

/* ---- the registry ---------------------------------------------------------- */

static void reg_free_pin(struct reg *e)
{
	if (e->pin != NULL) {
		sodium_memzero(e->pin, strlen(e->pin));
		free(e->pin);
	}
	e->pin = NULL;
}

static void reg_free(struct reg *e)
{
	free(e->name);
	free(e->where);
	reg_free_pin(e);
	memset(e, 0, sizeof(*e));
}

static uint32_t new_handle(void)
{
	uint32_t h;

	pthread_mutex_lock(&reg_lock);
	if (++next_handle == 0)
		++next_handle;
	h = next_handle;
	pthread_mutex_unlock(&reg_lock);
	return h;
}

static void load_req(struct kp_out *o, const struct reg *e)
{
	o->len = 0;
	o->err = 0;
	kp_put_u32(o, e->handle);
	kp_put_str(o, e->name);
	kp_put_str(o, e->where);
	if (e->op != KP_LOAD_FILE)
		kp_put_str(o, e->pin);
}

/* reg_lock held. */
static ssize_t reg_index(uint32_t handle)
{
	size_t lo = 0, hi = nreg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (regs[mid].handle == handle)
			return (ssize_t)mid;
		if (regs[mid].handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Takes over e's strings.  reg_lock held.  0 or -ENOMEM. */
static int reg_add(struct reg *e)
{
	if (nreg == capreg) {
		size_t cap = capreg ? capreg * 2 : 64;
		struct reg *grown = realloc(regs, cap * sizeof(*grown));

		if (grown == NULL)
			return -ENOMEM;
		regs = grown;
		capreg = cap;
	}
	regs[nreg++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

static void release(uint32_t handle)
{
	struct kp_out *req = malloc(sizeof(*req));
	struct kp_reply *r = malloc(sizeof(*r));
	ssize_t i;

	pthread_mutex_lock(&reg_lock);
	i = reg_index(handle);
	if (i >= 0) {
		reg_free(&regs[i]);
		memmove(regs + i, regs + i + 1,
			(nreg - (size_t)i - 1) * sizeof(*regs));
		nreg--;
	}
	if (req != NULL && r != NULL && kp_up()) {
		req->len = 0;
		req->err = 0;
		kp_put_u32(req, handle);
		kp_call(KP_RELEASE, req, r);
	}
	pthread_mutex_unlock(&reg_lock);
	free(req);
	free(r);
}

/* Load every registered key into a new key process. */
int kp_replay(size_t *count)
{
	struct kp_out *req = malloc(sizeof(*req));
	struct kp_reply *r = malloc(sizeof(*r));
	int rc = req && r ? 0 : -ENOMEM;

	*count = 0;
	pthread_mutex_lock(&load_lock);
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < nreg && rc == 0; i++) {
		load_req(req, &regs[i]);
		rc = kp_call(regs[i].op, req, r);
		if (rc == 0 && r->h.status < 0)
			tplog(LOG_ERR, "identity %s: key reload failed: %s",
			      regs[i].name, gnutls_strerror(r->h.status));
		else if (rc == 0)
			(*count)++;
	}
	pthread_mutex_unlock(&reg_lock);
	pthread_mutex_unlock(&load_lock);
	if (req != NULL)
		sodium_memzero(req, sizeof(*req));
	free(req);
	free(r);
	return rc;
}

/* ---- private keys ---------------------------------------------------------- */

struct ext_key {
	uint32_t handle;
	int pk;
	unsigned bits;
	int borrowed;		/* not ours to release (the on-the-fly leaf) */
	char name[128];
};

static int ext_op(uint16_t op, const struct ext_key *k, uint32_t algo,
		  uint32_t flags, const gnutls_datum_t *in,
		  gnutls_datum_t *out, int fail)
{
	struct kp_out *req = malloc(sizeof(*req));
	struct kp_reply *r = malloc(sizeof(*r));
	int rc = GNUTLS_E_MEMORY_ERROR;

	if (r != NULL)
		r->h.len = 0;
	if (req == NULL || r == NULL)
		goto out;
	req->len = 0;
	req->err = 0;
	kp_put_u32(req, k->handle);
	if (op != KP_DECRYPT) {
		kp_put_u32(req, algo);
		kp_put_u32(req, flags);
	}
	kp_put(req, in->data, in->size);
	rc = GNUTLS_E_INVALID_REQUEST;
	if (req->err)
		goto out;
	if (kp_call(op, req, r) < 0) {
		tplog(LOG_ERR, "identity %s: key process unavailable, cannot "
		      "use the key", k->name);
		rc = fail;
		goto out;
	}
	rc = r->h.status < 0 ? r->h.status : fail;
	if (r->h.status < 0 || r->h.len == 0)
		goto out;
	out->data = gnutls_malloc(r->h.len);
	rc = GNUTLS_E_MEMORY_ERROR;
	if (out->data == NULL)
		goto out;
	memcpy(out->data, r->buf, r->h.len);
	out->size = r->h.len;
	rc = 0;
out:
	if (r != NULL)
		explicit_bzero(r->buf, r->h.len <= sizeof(r->buf) ? r->h.len : 0);
	free(req);
	free(r);
	return rc;
}

static int ext_sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
			 void *userdata, unsigned int flags,
			 const gnutls_datum_t *data, gnutls_datum_t *sig)
{
	(void)key;
	return ext_op(KP_SIGN_DATA, userdata, algo, flags, data, sig,
		      GNUTLS_E_PK_SIGN_FAILED);
}

static int ext_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
			 void *userdata, unsigned int flags,
			 const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
	(void)key;
	return ext_op(KP_SIGN_HASH, userdata, algo, flags, hash, sig,
		      GNUTLS_E_PK_SIGN_FAILED);
}

static int ext_decrypt(gnutls_privkey_t key, void *userdata,
		       const gnutls_datum_t *ct, gnutls_datum_t *pt)
{
	(void)key;
	return ext_op(KP_DECRYPT, userdata, 0, 0, ct, pt,
		      GNUTLS_E_DECRYPTION_FAILED);
}

static int ext_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	const struct ext_key *k = userdata;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return gnutls_sign_supports_pk_algorithm(
			       GNUTLS_FLAGS_TO_SIGN_ALGO(flags),
			       (gnutls_pk_algorithm_t)k->pk) ? 1 : 0;
	if (flags == GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)k->bits;
	if (flags == GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return k->pk;
	return -1;
}

static void ext_deinit(gnutls_privkey_t key, void *userdata)
{
	struct ext_key *k = userdata;

	(void)key;
	if (!k->borrowed)
		release(k->handle);
	free(k);
}

static int make_privkey(uint32_t handle, const char *name, int pk,
			unsigned bits, int borrowed, gnutls_privkey_t *out)
{
	struct ext_key *k = calloc(1, sizeof(*k));
	gnutls_privkey_t p = NULL;
	int rc = GNUTLS_E_MEMORY_ERROR;

	if (k == NULL)
		goto fail;
	k->handle = handle;
	k->pk = pk;
	k->bits = bits;
	k->borrowed = borrowed;
	snprintf(k->name, sizeof(k->name), "%s", name);
	rc = gnutls_privkey_init(&p);
	if (rc < 0)
		goto fail;
	rc = gnutls_privkey_import_ext4(p, k, ext_sign_data, ext_sign_hash,
					pk == GNUTLS_PK_RSA ? ext_decrypt : NULL,
					ext_deinit, ext_info, 0);
	if (rc < 0)
		goto fail;
	*out = p;
	return 0;
fail:
	gnutls_privkey_deinit(p);	/* not imported: k is ours */
	free(k);
	if (!borrowed)
		release(handle);
	return rc;
}

/* A key loaded after PIN questions is replayed with the PIN that was
 * given last (never asking again), or none. */
static int keep_pin(struct reg *e, const char *got)
{
	e->op = KP_LOAD_URL;
	if (got[0] == '\0')
		return 0;
	reg_free_pin(e);
	e->pin = strdup(got);
	return e->pin != NULL ? 0 : GNUTLS_E_MEMORY_ERROR;
}

/* Ask the key process to load e; on success e moves into the registry
 * and its handle is in *handle. */
static int load_key(struct reg *e, uint32_t *handle, int *pk, unsigned *bits)
{
	struct kp_out *req = malloc(sizeof(*req));
	struct kp_reply *r = malloc(sizeof(*r));
	char got[KP_PIN_MAX] = "";
	int rc = GNUTLS_E_MEMORY_ERROR, crc;

	if (req == NULL || r == NULL)
		goto out;
	pthread_mutex_lock(&load_lock);
	e->handle = *handle = new_handle();
	load_req(req, e);
	crc = e->op == KP_LOAD_URL_ASK ? kp_call_ask(e->op, req, r, e->name, got)
				       : kp_call(e->op, req, r);
	if (crc < 0)
		rc = KEYPROC_E_UNAVAILABLE;
	else if (r->h.status < 0)
		rc = r->h.status;
	else if (r->h.len != 8)
		rc = GNUTLS_E_INTERNAL_ERROR;
	else {
		memcpy(pk, r->buf, 4);
		memcpy(bits, r->buf + 4, 4);
		rc = e->op == KP_LOAD_URL_ASK ? keep_pin(e, got) : 0;
		pthread_mutex_lock(&reg_lock);
		if (rc == 0 && reg_add(e) < 0)
			rc = GNUTLS_E_MEMORY_ERROR;
		pthread_mutex_unlock(&reg_lock);
	}
	pthread_mutex_unlock(&load_lock);
	if (rc == GNUTLS_E_INTERNAL_ERROR || rc == GNUTLS_E_MEMORY_ERROR)
		release(*handle);	/* loaded there, unknown here */
out:
	sodium_memzero(got, sizeof(got));
	if (req != NULL)
		sodium_memzero(req, sizeof(*req));
	free(req);
	free(r);
	return rc;
}

static int privkey_new(uint16_t op, const char *name, const char *where,
		       const char *pin, gnutls_privkey_t *out)
{
	struct reg e = { 0, op, strdup(name), strdup(where),
			 pin ? strdup(pin) : NULL };
	uint32_t handle = 0;
	unsigned bits = 0;
	int rc = GNUTLS_E_MEMORY_ERROR, pk = 0;

	*out = NULL;
	if (e.name == NULL || e.where == NULL || (pin && e.pin == NULL))
		goto out;
	/* no PIN configured: the key process may ask the PIN source */
	if (op == KP_LOAD_URL && pin == NULL && keyproc_has_pin_source())
		e.op = KP_LOAD_URL_ASK;
	rc = load_key(&e, &handle, &pk, &bits);
	if (rc == 0)
		rc = make_privkey(handle, name, pk, bits, 0, out);
out:
	reg_free(&e);
	return rc;
}

int keyproc_privkey_file(const char *name, const char *path,
			 gnutls_privkey_t *out)
{
	return privkey_new(KP_LOAD_FILE, name, path, NULL, out);
}

int keyproc_privkey_url(const char *name, const char *uri, const char *pin,
			gnutls_privkey_t *out)
{
	return privkey_new(KP_LOAD_URL, name, uri, pin, out);
}

const char *keyproc_strerror(int rc)
{
	return rc == KEYPROC_E_UNAVAILABLE ? "key process unavailable"
					   : gnutls_strerror(rc);
}

/* ---- other requests ----------------------------------------------------------- */

int keyproc_idgen(const char *state_dir, const char *localid_dir,
		  const char *host, char *err, size_t errlen)
{
	struct kp_out *req = calloc(1, sizeof(*req));
	struct kp_reply *r = malloc(sizeof(*r));
	uint32_t e = 0;
	int rc = -ENOMEM;

	if (req == NULL || r == NULL)
		goto out;
	kp_put_str(req, state_dir);
	kp_put_str(req, localid_dir);
	kp_put_str(req, host);
	rc = kp_call(KP_IDGEN, req, r);
	if (rc < 0 || r->h.status < 0 || r->h.len < 4) {
		snprintf(err, errlen, "identity generation: %s",
			 rc < 0 ? "key process unavailable"
				: "refused by the key process");
		rc = rc < 0 ? -EPIPE : -EINVAL;
		goto out;
	}
	memcpy(&e, r->buf, 4);
	rc = e > 4095 ? -EPROTO : -(int)e;
	if (rc < 0)
		snprintf(err, errlen, "%.*s", (int)(r->h.len - 4), r->buf + 4);
out:
	free(req);
	free(r);
	return rc;
}

int keyproc_drop_privileges(uid_t uid, gid_t gid)
{
	struct kp_out req = { 0, 0, { 0 } };
	struct kp_reply *r = malloc(sizeof(*r));
	int rc = -ENOMEM;

	if (r == NULL)
		return rc;
	kp_put_u32(&req, uid == (uid_t)-1 ? KP_KEEP : (uint32_t)uid);
	kp_put_u32(&req, gid == (gid_t)-1 ? KP_KEEP : (uint32_t)gid);
	rc = kp_call(KP_DROP_PRIV, &req, r);
	if (rc == 0 && r->h.status < 0)
		rc = -EPERM;
	free(r);
	return rc;
}

/* ---- the on-the-fly CA -------------------------------------------------------- */

int keyproc_ca_setup(const char *cert, const char *key,
		     struct keyproc_ca *out)
{
	struct kp_out *req = calloc(1, sizeof(*req));
	struct kp_reply *r = malloc(sizeof(*r));
	int rc = GNUTLS_E_MEMORY_ERROR;

	memset(out, 0, sizeof(*out));
	if (req == NULL || r == NULL)
		goto out;
	kp_put_u32(req, new_handle());
	kp_put_str(req, cert);
	kp_put_str(req, key);
	if (kp_call(KP_CA_SETUP, req, r) < 0) {
		rc = KEYPROC_E_UNAVAILABLE;
		goto out;
	}
	rc = r->h.status < 0 ? r->h.status : GNUTLS_E_INTERNAL_ERROR;
	if (r->h.status < 0 || r->h.len <= 12)
		goto out;
	memcpy(&out->handle, r->buf, 4);
	memcpy(&out->pk, r->buf + 4, 4);
	memcpy(&out->bits, r->buf + 8, 4);
	out->ca_der.size = r->h.len - 12;
	out->ca_der.data = gnutls_malloc(out->ca_der.size);
	rc = GNUTLS_E_MEMORY_ERROR;
	if (out->ca_der.data == NULL)
		goto out;
	memcpy(out->ca_der.data, r->buf + 12, out->ca_der.size);
	rc = 0;
out:
	if (rc < 0)
		memset(out, 0, sizeof(*out));
	free(req);
	free(r);
	return rc;
}

int keyproc_ca_issue(const char *name, unsigned lifetime_s,
		     gnutls_datum_t *der)
{
	struct kp_out *req = calloc(1, sizeof(*req));
	struct kp_reply *r = malloc(sizeof(*r));
	int rc = GNUTLS_E_MEMORY_ERROR;

	der->data = NULL;
	der->size = 0;
	if (req == NULL || r == NULL)
		goto out;
	kp_put_str(req, name);
	kp_put_u32(req, lifetime_s);
	if (kp_call(KP_CA_ISSUE, req, r) < 0) {
		rc = KEYPROC_E_UNAVAILABLE;
		goto out;
	}
	rc = r->h.status < 0 ? r->h.status : GNUTLS_E_INTERNAL_ERROR;
	if (r->h.status < 0 || r->h.len == 0)
		goto out;
	der->data = gnutls_malloc(r->h.len);
	rc = GNUTLS_E_MEMORY_ERROR;
	if (der->data == NULL)
		goto out;
	memcpy(der->data, r->buf, r->h.len);
	der->size = r->h.len;
	rc = 0;
out:
	free(req);
	free(r);
	return rc;
}

int keyproc_ca_leaf_key(const struct keyproc_ca *ca, gnutls_privkey_t *out)
{
	*out = NULL;
	return make_privkey(ca->handle, "(on-the-fly)", ca->pk, ca->bits, 1,
			    out);
}

void kp_registry_clear(void)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < nreg; i++)
		reg_free(&regs[i]);
	free(regs);
	regs = NULL;
	nreg = capreg = 0;
	pthread_mutex_unlock(&reg_lock);
}

/* keyproc_server -- the key process: it holds the private keys and answers
 * the daemon's requests, one thread per pool connection.
 *
 * The daemon is trusted only so far: every request is bounds-checked, an
 * oversized or malformed one is answered with an error and the stream
 * stays in step; nothing the daemon sends can crash this process.  Keys
 * are reference counted, so a RELEASE while another connection signs
 * with the same key frees it only when that signature is done.  Its
 * entry point (keyproc_main) and what touches the operating system are
 * in keyproc_posix.c (Windows: windows/keyproc_win32.c).
 */
#include "keyproc.h"
#include "keyproc_int.h"
#include "idgen.h"
#include "tplog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/pkcs11.h>
#include <sodium.h>

#define MAX_KEYS 1000000
#define MAX_CONNS 64
#define SIGN_FLAGS (GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA | \
		    GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS | \
		    GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE)

struct key {
	uint32_t handle;
	gnutls_privkey_t pk;
	struct kp_pin pin;	/* PKCS#11 user PIN for re-login */
	unsigned refs;		/* the table's, plus one per signer */
};

static struct {
	pthread_mutex_t lock;
	struct key **v;		/* sorted by handle */
	size_t n, cap;
	int dropped;
} tab = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0 };

/* The pool connections, for stop_all. */
static struct {
	const int *fds;
	unsigned n;
} pool;

/* ---- the key table ------------------------------------------------------ */

static void key_free(struct key *k)
{
	if (k == NULL)
		return;
	gnutls_privkey_deinit(k->pk);
	kp_pin_clear(&k->pin);
	free(k);
}

static void key_unref(struct key *k)
{
	unsigned left;

	pthread_mutex_lock(&tab.lock);
	left = --k->refs;
	pthread_mutex_unlock(&tab.lock);
	if (left == 0)
		key_free(k);
}

/* Index of handle, or where it would go (*found 0).  Lock held. */
static size_t tab_find(uint32_t handle, int *found)
{
	size_t lo = 0, hi = tab.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tab.v[mid]->handle < handle)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < tab.n && tab.v[lo]->handle == handle;
	return lo;
}

static int tab_insert(struct key *k)
{
	int found, rc = 0;
	size_t i;

	pthread_mutex_lock(&tab.lock);
	i = tab_find(k->handle, &found);
	if (found || k->handle == 0 || tab.n >= MAX_KEYS) {
		rc = GNUTLS_E_INVALID_REQUEST;
		goto out;
	}
	if (tab.n == tab.cap) {
		size_t cap = tab.cap ? tab.cap * 2 : 64;
		struct key **grown = realloc(tab.v, cap * sizeof(*grown));

		if (grown == NULL) {
			rc = GNUTLS_E_MEMORY_ERROR;
			goto out;
		}
		tab.v = grown;
		tab.cap = cap;
	}
	memmove(tab.v + i + 1, tab.v + i, (tab.n - i) * sizeof(*tab.v));
	tab.v[i] = k;
	tab.n++;
	k->refs = 1;
out:
	pthread_mutex_unlock(&tab.lock);
	return rc;
}

/* The key for handle with a reference taken, or NULL. */
static struct key *tab_get(uint32_t handle)
{
	struct key *k = NULL;
	int found;
	size_t i;

	pthread_mutex_lock(&tab.lock);
	i = tab_find(handle, &found);
	if (found) {
		k = tab.v[i];
		k->refs++;
	}
	pthread_mutex_unlock(&tab.lock);
	return k;
}

static int tab_remove(uint32_t handle)
{
	struct key *k = NULL;
	int found;
	size_t i;

	pthread_mutex_lock(&tab.lock);
	i = tab_find(handle, &found);
	if (found) {
		k = tab.v[i];
		memmove(tab.v + i, tab.v + i + 1,
			(tab.n - i - 1) * sizeof(*tab.v));
		tab.n--;
	}
	pthread_mutex_unlock(&tab.lock);
	if (k == NULL)
		return GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
	key_unref(k);
	return 0;
}

static void tab_clear(void)
{
	for (size_t i = 0; i < tab.n; i++)
		key_unref(tab.v[i]);
	free(tab.v);
	tab.v = NULL;
	tab.n = tab.cap = 0;
}

/* ---- PKCS#11 ------------------------------------------------------------ */

static pthread_once_t p11_once = PTHREAD_ONCE_INIT;

/* With TLSPOOL_PKCS11_MODULE set, load only that module; otherwise GnuTLS
 * loads the modules p11-kit is configured with on first use. */
static void p11_setup(void)
{
	const char *mod = getenv("TLSPOOL_PKCS11_MODULE");
	int rc;

	if (mod == NULL || mod[0] == '\0')
		return;
	rc = gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL);
	if (rc >= 0)
		rc = gnutls_pkcs11_add_provider(mod, NULL);
	if (rc < 0)
		tplog(LOG_ERR, "PKCS#11 module %s: %s", mod,
		      gnutls_strerror(rc));
}

/* ---- requests ------------------------------------------------------------- */

static int load_file(struct key *k, const char *path)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc;

	rc = gnutls_load_file(path, &d);
	if (rc < 0)
		return rc;
	rc = gnutls_privkey_import_x509_raw(k->pk, &d, GNUTLS_X509_FMT_PEM,
					    NULL, 0);
	gnutls_memset(d.data, 0, d.size);
	gnutls_free(d.data);
	return rc;
}

/* With LOAD_URL_ASK the PIN may be asked from the daemon on fd while
 * this runs (keyproc_pin.c); never afterwards. */
static int load_url(struct key *k, const char *uri, const char *pin,
		    int ask_fd, uint32_t seq)
{
	int rc;

	if (strncmp(uri, "pkcs11:", 7) != 0)
		return GNUTLS_E_INVALID_REQUEST;
	if (pin[0] != '\0') {
		k->pin.pin = strdup(pin);
		if (k->pin.pin == NULL)
			return GNUTLS_E_MEMORY_ERROR;
	}
	pthread_once(&p11_once, p11_setup);
	gnutls_privkey_set_pin_function(k->pk, kp_pin_cb, &k->pin);
	k->pin.ask_fd = ask_fd;
	k->pin.ask_seq = seq;
	rc = gnutls_privkey_import_url(k->pk, uri, 0);
	k->pin.ask_fd = -1;
	return rc;
}

/* A connection whose PIN question went wrong is out of step. */
static _Thread_local int conn_broken;

static int op_load(const struct kp_hdr *h, int fd, struct kp_in *in,
		   struct kp_out *out)
{
	uint16_t op = h->op;
	char name[256], where[KP_MAX_STR + 1], pin[KP_MAX_STR + 1] = "";
	struct key *k;
	unsigned bits = 0;
	int rc, pk;

	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	k->pin.ask_fd = -1;
	k->handle = kp_get_u32(in);
	kp_get_str(in, name, sizeof(name));
	kp_get_str(in, where, sizeof(where));
	if (op != KP_LOAD_FILE)
		kp_get_str(in, pin, sizeof(pin));
	rc = (in->err || in->off != in->len) ? GNUTLS_E_INVALID_REQUEST : 0;
	if (rc == 0)
		rc = gnutls_privkey_init(&k->pk);
	if (rc == 0)
		rc = op == KP_LOAD_FILE
			     ? load_file(k, where)
			     : load_url(k, where, pin,
					op == KP_LOAD_URL_ASK ? fd : -1, h->seq);
	if (k->pin.broken)
		conn_broken = 1;
	sodium_memzero(pin, sizeof(pin));
	if (rc < 0)
		goto fail;
	pk = gnutls_privkey_get_pk_algorithm(k->pk, &bits);
	rc = pk < 0 ? pk : tab_insert(k);
	if (rc < 0)
		goto fail;
	kp_put_u32(out, (uint32_t)pk);
	kp_put_u32(out, bits);
	tplog(LOG_DEBUG, "key %u loaded for identity %s", k->handle, name);
	return 0;
fail:
	key_free(k);
	return rc;
}

static int op_release(struct kp_in *in)
{
	uint32_t handle = kp_get_u32(in);

	if (in->err || in->off != in->len)
		return GNUTLS_E_INVALID_REQUEST;
	return tab_remove(handle);
}

static int do_sign(uint16_t op, struct key *k, uint32_t algo,
		   uint32_t flags, const gnutls_datum_t *data,
		   gnutls_datum_t *sig)
{
	if (op == KP_SIGN_DATA)
		return gnutls_privkey_sign_data2(k->pk, algo, flags, data, sig);
	if (algo == GNUTLS_SIGN_RSA_RAW)
		return gnutls_privkey_sign_hash2(
			k->pk, 0, flags | GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA,
			data, sig);
	return gnutls_privkey_sign_hash2(k->pk, algo, flags, data, sig);
}

static int op_sign(uint16_t op, struct kp_in *in, struct kp_out *out)
{
	uint32_t handle = kp_get_u32(in), algo = kp_get_u32(in);
	uint32_t flags = kp_get_u32(in);
	gnutls_datum_t data, sig = { NULL, 0 };
	struct key *k;
	int rc;

	if (in->err || (flags & ~(uint32_t)SIGN_FLAGS) != 0 ||
	    (algo != GNUTLS_SIGN_RSA_RAW && gnutls_sign_get_name(algo) == NULL))
		return GNUTLS_E_INVALID_REQUEST;
	data.data = (unsigned char *)in->p + in->off;
	data.size = (unsigned)(in->len - in->off);
	k = tab_get(handle);
	if (k == NULL)
		return GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
	rc = do_sign(op, k, algo, flags, &data, &sig);
	key_unref(k);
	if (rc < 0)
		return rc;
	kp_put(out, sig.data, sig.size);
	gnutls_free(sig.data);
	return out->err ? GNUTLS_E_SHORT_MEMORY_BUFFER : 0;
}

static int op_decrypt(struct kp_in *in, struct kp_out *out)
{
	uint32_t handle = kp_get_u32(in);
	gnutls_datum_t ct, pt = { NULL, 0 };
	struct key *k;
	int rc;

	if (in->err)
		return GNUTLS_E_INVALID_REQUEST;
	ct.data = (unsigned char *)in->p + in->off;
	ct.size = (unsigned)(in->len - in->off);
	k = tab_get(handle);
	if (k == NULL)
		return GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE;
	rc = gnutls_privkey_decrypt_data(k->pk, 0, &ct, &pt);
	key_unref(k);
	if (rc < 0)
		return rc;
	kp_put(out, pt.data, pt.size);
	gnutls_memset(pt.data, 0, pt.size);
	gnutls_free(pt.data);
	return out->err ? GNUTLS_E_SHORT_MEMORY_BUFFER : 0;
}

static int op_idgen(struct kp_in *in, struct kp_out *out)
{
	char state[KP_MAX_STR + 1], lid[KP_MAX_STR + 1], host[256];
	char err[512] = "";
	int rc;

	kp_get_str(in, state, sizeof(state));
	kp_get_str(in, lid, sizeof(lid));
	kp_get_str(in, host, sizeof(host));
	if (in->err || in->off != in->len)
		return GNUTLS_E_INVALID_REQUEST;
	rc = idgen_ensure(state[0] ? state : NULL, lid[0] ? lid : NULL, host,
			  err, sizeof(err));
	kp_put_u32(out, (uint32_t)-rc);
	kp_put(out, err, strnlen(err, sizeof(err)));
	return 0;
}

static int op_drop(struct kp_in *in)
{
	uint32_t uid = kp_get_u32(in), gid = kp_get_u32(in);
	int again;

	if (in->err || in->off != in->len)
		return GNUTLS_E_INVALID_REQUEST;
	pthread_mutex_lock(&tab.lock);
	again = tab.dropped;
	tab.dropped = 1;
	pthread_mutex_unlock(&tab.lock);
	if (again)
		return GNUTLS_E_INVALID_REQUEST;
	if (kp_drop_privileges(uid, gid) < 0) {
		tplog(LOG_ERR, "key process: cannot switch to uid %d gid %d: "
		      "%s", (int)uid, (int)gid, strerror(errno));
		return GNUTLS_E_INTERNAL_ERROR;
	}
	return 0;
}

/* The key table takes pk (the on-the-fly CA's leaf key). */
int kp_key_add(uint32_t handle, gnutls_privkey_t pk)
{
	struct key *k = calloc(1, sizeof(*k));
	int rc;

	if (k == NULL) {
		gnutls_privkey_deinit(pk);
		return GNUTLS_E_MEMORY_ERROR;
	}
	k->handle = handle;
	k->pk = pk;
	k->pin.ask_fd = -1;
	rc = tab_insert(k);
	if (rc < 0)
		key_free(k);
	return rc;
}

static int dispatch(const struct kp_hdr *h, int fd, struct kp_in *in,
		    struct kp_out *out)
{
	if (h->flags != 0 || h->status != 0)
		return GNUTLS_E_INVALID_REQUEST;
	switch (h->op) {
	case KP_PING:
		kp_put_u32(out, (uint32_t)getpid());
		return in->len == 0 ? 0 : GNUTLS_E_INVALID_REQUEST;
	case KP_LOAD_FILE:
	case KP_LOAD_URL:
	case KP_LOAD_URL_ASK:
		return op_load(h, fd, in, out);
	case KP_RELEASE:
		return op_release(in);
	case KP_SIGN_HASH:
	case KP_SIGN_DATA:
		return op_sign(h->op, in, out);
	case KP_DECRYPT:
		return op_decrypt(in, out);
	case KP_IDGEN:
		return op_idgen(in, out);
	case KP_DROP_PRIV:
		return op_drop(in);
	case KP_CA_SETUP:
		return kp_ca_setup(in, out);
	case KP_CA_ISSUE:
		return kp_ca_issue(in, out);
	default:
		return GNUTLS_E_UNIMPLEMENTED_FEATURE;
	}
}

/* ---- connections ------------------------------------------------------------ */

static int reply(int fd, const struct kp_hdr *req, int status,
		 const struct kp_out *out)
{
	struct kp_hdr h = { 0, req->op, 0, req->seq, status };
	int rc;

	if (status == 0)
		h.len = (uint32_t)out->len;
	rc = kp_write_all(fd, &h, sizeof(h));
	if (rc == 0 && h.len > 0)
		rc = kp_write_all(fd, out->buf, h.len);
	return rc;
}

/* Skip a payload too big to take, keeping the stream in step. */
static int discard(int fd, uint32_t len)
{
	uint8_t junk[4096];

	while (len > 0) {
		size_t n = len < sizeof(junk) ? len : sizeof(junk);
		long r = kp_read_all(fd, junk, n);

		if (r <= 0)
			return -EPIPE;
		len -= (uint32_t)n;
	}
	return 0;
}

struct conn_buf {
	uint8_t req[KP_MAX_PAYLOAD];
	struct kp_out out;
};

/* One request and its answer; < 0 when the connection is done. */
static int serve_one(int fd, struct conn_buf *b)
{
	struct kp_hdr h;
	struct kp_in in;
	long r;
	int status;

	r = kp_read_all(fd, &h, sizeof(h));
	if (r <= 0)
		return -EPIPE;
	if (h.len > KP_MAX_PAYLOAD) {
		if (discard(fd, h.len) < 0)
			return -EPIPE;
		return reply(fd, &h, GNUTLS_E_INVALID_REQUEST, NULL);
	}
	if (h.len > 0 && kp_read_all(fd, b->req, h.len) != (long)h.len)
		return -EPIPE;
	in = (struct kp_in){ b->req, h.len, 0, 0 };
	b->out.len = 0;
	b->out.err = 0;
	status = dispatch(&h, fd, &in, &b->out);
	if (status == 0 && b->out.err)
		status = GNUTLS_E_SHORT_MEMORY_BUFFER;
	if (status > 0)
		status = GNUTLS_E_INTERNAL_ERROR;
	sodium_memzero(b->req, h.len);	/* may have held a PIN */
	if (conn_broken)
		return -EPROTO;
	return reply(fd, &h, status, &b->out);
}


/* The daemon closed a connection: end them all. */
static void stop_all(void)
{
	for (unsigned i = 0; i < pool.n; i++)
		kp_shutdown(pool.fds[i]);
}

static void *conn_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct conn_buf *b = malloc(sizeof(*b));

	while (b != NULL && serve_one(fd, b) == 0)
		;
	free(b);
	stop_all();
	return NULL;
}

int keyproc_serve(const int *fds, unsigned n)
{
	pthread_t th[MAX_CONNS];
	unsigned started = 0;
	int rc = 0;

	if (n == 0 || n > MAX_CONNS)
		return -EINVAL;
	pool.fds = fds;
	pool.n = n;
	kp_note_parent();
	for (unsigned i = 1; i < n; i++) {
		if (pthread_create(&th[i], NULL, conn_thread,
				   (void *)(intptr_t)fds[i]) != 0) {
			rc = -EAGAIN;
			stop_all();
			break;
		}
		started = i;
	}
	if (rc == 0)
		conn_thread((void *)(intptr_t)fds[0]);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	kp_ca_clear();
	tab_clear();
	return rc;
}

/* ---- the key process's main ---------------------------------------------- */

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* "--key-process N LEVEL STDERR": serve the N connections the daemon
 * passed (kp_conns_take says how, per platform). */
int keyproc_main(int argc, char **argv)
{
	unsigned n, level, to_stderr;
	int fds[MAX_CONNS], rc;

	if (argc != 5 || parse_uint(argv[2], MAX_CONNS, &n) < 0 || n == 0 ||
	    parse_uint(argv[3], LOG_DEBUG, &level) < 0 ||
	    parse_uint(argv[4], 1, &to_stderr) < 0) {
		fprintf(stderr, "tlspool key process: bad arguments\n");
		return 2;
	}
	if (kp_conns_take(fds, n) < 0)
		return 2;
	tplog_init("tlspool-keyproc", (int)to_stderr, (int)level);
	gnutls_global_init();
	rc = keyproc_serve(fds, n);
	gnutls_global_deinit();
	kp_conns_release(fds, n);
	return rc < 0 ? 1 : 0;
}

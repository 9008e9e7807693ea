/* keyproc_int -- the key process's wire format, shared by both sides.
 *
 * Every message is a struct kp_hdr followed by len payload bytes, in host
 * byte order (both ends are this program on this machine).  A request
 * carries op and seq with status 0; the answer repeats op and seq, with
 * status 0 or a negative GnuTLS error code.  Payload fields are u32
 * values and strings (u16 length, then that many bytes: no NUL, at most
 * KP_MAX_STR); a trailing byte field takes the rest of the payload.
 *
 *   PING                                         -> u32 pid
 *   LOAD_FILE  u32 handle, str name, str path    -> u32 pk, u32 bits
 *   LOAD_URL   u32 handle, str name, str uri, str pin -> u32 pk, u32 bits
 *   RELEASE    u32 handle                        -> (nothing)
 *   SIGN_HASH  u32 handle, u32 algo, u32 flags, bytes -> signature
 *   SIGN_DATA  u32 handle, u32 algo, u32 flags, bytes -> signature
 *   DECRYPT    u32 handle, bytes                 -> plaintext
 *   IDGEN      str state_dir, str localid_dir, str host -> u32 -errno, text
 *   DROP_PRIV  u32 uid, u32 gid (KP_KEEP: unchanged)
 *   LOAD_URL_ASK  as LOAD_URL; without a pin the key process may ask
 *              the daemon for one while it loads (PIN_NEED)
 *   PIN_NEED   only inside a LOAD_URL_ASK round trip, with its seq:
 *              key process -> daemon  u32 attempt (1, 2, ...), u32 flags
 *                (KP_PIN_WRONG), str label, str manuf, str model,
 *                str serial;
 *              daemon -> key process  str pin ("": none, give up)
 *              after which the LOAD_URL_ASK answer (or another PIN_NEED)
 *              follows.  At most KP_PIN_MAX_ASKS per load.
 *   CA_SETUP   u32 handle, str cert, str key -> u32 handle, u32 pk,
 *              u32 bits, CA certificate (DER).  Loads the on-the-fly CA;
 *              the first setup also makes this key process's leaf key
 *              under handle (later ones answer the handle in use).
 *   CA_ISSUE   str name, u32 lifetime_s -> leaf certificate (DER) for
 *              name on the leaf key, signed by the CA
 */
#ifndef TP_KEYPROC_INT_H
#define TP_KEYPROC_INT_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <string.h>
#include <gnutls/abstract.h>

#define KP_MAX_PAYLOAD 16384
#define KP_MAX_STR 4096
#define KP_KEEP UINT32_MAX

enum kp_op {
	KP_PING = 1,
	KP_LOAD_FILE,
	KP_LOAD_URL,
	KP_RELEASE,
	KP_SIGN_HASH,
	KP_SIGN_DATA,
	KP_DECRYPT,
	KP_IDGEN,
	KP_DROP_PRIV,
	KP_LOAD_URL_ASK,
	KP_PIN_NEED,
	KP_CA_SETUP,
	KP_CA_ISSUE,
};

#define KP_PIN_MAX_ASKS 3
#define KP_PIN_WRONG 0x1u	/* the previous PIN was rejected */
#define KP_PIN_MAX 32		/* GNUTLS_PKCS11_MAX_PIN_LEN, NUL included */

struct kp_hdr {
	uint32_t len;		/* payload bytes that follow */
	uint16_t op;
	uint16_t flags;		/* 0 */
	uint32_t seq;
	int32_t status;		/* answers: 0 or a GnuTLS error code */
};

/* A payload being built; err is set once anything did not fit. */
struct kp_out {
	size_t len;
	int err;
	uint8_t buf[KP_MAX_PAYLOAD];
};

/* A payload being parsed; err is set once anything was missing. */
struct kp_in {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static inline void kp_put(struct kp_out *o, const void *p, size_t n)
{
	if (o->err || n > sizeof(o->buf) - o->len) {
		o->err = 1;
		return;
	}
	if (n > 0)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static inline void kp_put_u32(struct kp_out *o, uint32_t v)
{
	kp_put(o, &v, sizeof(v));
}

static inline void kp_put_str(struct kp_out *o, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	uint16_t l = (uint16_t)n;

	if (n > KP_MAX_STR) {
		o->err = 1;
		return;
	}
	kp_put(o, &l, sizeof(l));
	kp_put(o, s, n);
}

static inline uint32_t kp_get_u32(struct kp_in *in)
{
	uint32_t v = 0;

	if (in->err || in->len - in->off < sizeof(v)) {
		in->err = 1;
		return 0;
	}
	memcpy(&v, in->p + in->off, sizeof(v));
	in->off += sizeof(v);
	return v;
}

/* Copy a string into out (NUL-terminated); refused when longer than
 * KP_MAX_STR or size - 1, or when it holds a NUL byte. */
static inline void kp_get_str(struct kp_in *in, char *out, size_t size)
{
	uint16_t l = 0;

	if (in->err || in->len - in->off < sizeof(l))
		goto bad;
	memcpy(&l, in->p + in->off, sizeof(l));
	in->off += sizeof(l);
	if (l > KP_MAX_STR || l >= size || in->len - in->off < l ||
	    memchr(in->p + in->off, '\0', l) != NULL)
		goto bad;
	memcpy(out, in->p + in->off, l);
	out[l] = '\0';
	in->off += l;
	return;
bad:
	in->err = 1;
	if (size > 0)
		out[0] = '\0';
}

/* Exact reads and writes on a stream socket (keyproc.c, on the calls
 * below): kp_read_all returns n, 0 at EOF before the first byte, -EPIPE
 * at EOF inside, or -errno (-EAGAIN after SO_RCVTIMEO); kp_write_all 0
 * or -errno. */
long kp_read_all(int fd, void *p, size_t n);
int kp_write_all(int fd, const void *p, size_t n);
/* Header and payload, in one send where the socket takes it. */
int kp_send_msg(int fd, const struct kp_hdr *h, const void *p);

/* ---- the platform (keyproc_posix.c; windows/keyproc_win32.c) ---- */

/* One recv / send (EINTR retried, no SIGPIPE): bytes moved (recv: 0 at
 * EOF), or -errno (-EAGAIN after SO_RCVTIMEO).  kp_send_hdr: header and
 * payload (h->len bytes) in one vectored send, bytes sent or -errno. */
long kp_recv_some(int fd, void *p, size_t n);
long kp_send_some(int fd, const void *p, size_t n);
long kp_send_hdr(int fd, const struct kp_hdr *h, const void *p);
/* Wait up to ms for fd to be readable: 1, 0 at the timeout, -errno. */
int kp_wait_readable(int fd, int ms);
void kp_close(int fd);
/* End both directions (the key process, when the daemon left). */
void kp_shutdown(int fd);

/* Start a key process with n connections (each with o->timeout_ms for
 * reads and writes on the daemon's end): exe run with --key-process, or,
 * exe NULL, the server in a forked child (POSIX only).  The daemon's
 * ends in par[0..n-1], the child's id in *pid.  0 or -errno. */
struct keyproc_opts;
int kp_child_start(const struct keyproc_opts *o, const char *exe,
		   unsigned n, int *par, pid_t *pid);
void kp_child_kill(pid_t pid);
/* Wait up to 2 s for it to end, then kill it, and reap it. */
void kp_child_wait(pid_t pid);
/* 1 when it has ended and is reaped (how: "exited with status N",
 * "killed by signal N"), 0 while it runs. */
int kp_child_ended(pid_t pid, char *how, size_t len);

/* In the key process: remember the daemon (keyproc_serve, at start);
 * switch to uid/gid (KP_KEEP: keep), 0 or -1 with errno. */
void kp_note_parent(void);
int kp_drop_privileges(uint32_t uid, uint32_t gid);

/* In the key process (keyproc_main): the n connections the daemon
 * passed, into fds, and the process set up for serving them; 0, or -1
 * said on stderr.  kp_conns_release closes them and undoes the set-up. */
int kp_conns_take(int *fds, unsigned n);
void kp_conns_release(const int *fds, unsigned n);

/* ---- the daemon's side (keyproc.c, keyproc_key.c) ---- */

struct kp_reply {
	struct kp_hdr h;
	uint8_t buf[KP_MAX_PAYLOAD];
};

/* One round trip on a pool connection; 0 with the answer in r, or -errno
 * when the key process is (now) unavailable. */
int kp_call(uint16_t op, const struct kp_out *req, struct kp_reply *r);
int kp_up(void);
/* Load every registered key again (after a restart); how many loaded. */
int kp_replay(size_t *count);
void kp_registry_clear(void);

/* A round trip that may carry PIN_NEED questions (LOAD_URL_ASK): each
 * is answered with what pin_fn (keyproc_set_pin_source) gives, and the
 * last PIN given is left in got (NUL-terminated, "" for none; the
 * caller zeroes it).  The connection is not used by others meanwhile. */
int kp_call_ask(uint16_t op, const struct kp_out *req, struct kp_reply *r,
		const char *name, char got[KP_PIN_MAX]);

/* ---- the key process (keyproc_server.c, keyproc_pin.c, keyproc_ca.c) ---- */

/* The key process's server loop over its pool connections (one thread
 * each); returns when the daemon closes any of them.  0 or -errno. */
int keyproc_serve(const int *fds, unsigned n);

/* The PIN of a PKCS#11 key: the one it was loaded with, or one asked
 * from the daemon while a LOAD_URL_ASK runs on ask_fd (-1: never ask). */
struct kp_pin {
	char *pin;		/* for (re-)login; NULL: none yet */
	int ask_fd;		/* the connection of the load, or -1 */
	uint32_t ask_seq;	/* the load's seq */
	unsigned asks;		/* questions sent so far */
	int broken;		/* the daemon's answer was out of step */
};

/* keyproc_pin.c: gnutls_pin_callback_t with a struct kp_pin. */
int kp_pin_cb(void *userdata, int attempt, const char *token_url,
	      const char *token_label, unsigned int flags, char *pin,
	      size_t pin_max);
void kp_pin_clear(struct kp_pin *p);

/* keyproc_server.c: put pk (taken over) in the key table under handle.
 * 0 or a GnuTLS error (pk is freed then). */
int kp_key_add(uint32_t handle, gnutls_privkey_t pk);

/* keyproc_ca.c: the on-the-fly CA requests; a GnuTLS status. */
int kp_ca_setup(struct kp_in *in, struct kp_out *out);
int kp_ca_issue(struct kp_in *in, struct kp_out *out);
void kp_ca_clear(void);

#endif

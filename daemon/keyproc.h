/* keyproc -- private keys live in a separate key process.
 *
 * keyproc_start forks the key process, connected by a small pool of
 * socketpairs.  The daemon asks it to load keys (PEM files or PKCS#11
 * URIs, by path: the daemon never reads key bytes) and gets back a
 * gnutls_privkey_t made with gnutls_privkey_import_ext4 whose sign and
 * decrypt callbacks are round trips to the key process.  Each loaded key
 * is a handle; deinitialising the privkey releases the handle.
 *
 * The key process dies with the daemon (PR_SET_PDEATHSIG, and it exits
 * when any pool connection reaches EOF), ignores SIGINT/SIGTERM/SIGHUP,
 * and holds no other descriptor than its connections and stdio.  When it
 * dies or stops answering, signing fails at once with "key process
 * unavailable" until keyproc_reap/keyproc_restart (main thread, on
 * SIGCHLD/SIGALRM) start a new one, which reloads every live handle.
 *
 * A PKCS#11 key loaded without a PIN may make the key process ask for
 * one (keyproc_set_pin_source: the PIN service, pinentry.h) in the middle
 * of the load's round trip; that connection is then set aside so that
 * signers never wait behind a human.  The key process also holds the
 * on-the-fly CA (LOCALID_ONTHEFLY, onthefly.h) and its leaf key.
 */
#ifndef TP_KEYPROC_H
#define TP_KEYPROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

/* Returned (instead of a GnuTLS code) when the key process is down. */
#define KEYPROC_E_UNAVAILABLE (-100000)

struct keyproc_opts {
	const char *exe;	/* exec this with --key-process (the daemon:
				 * "/proc/self/exe"); NULL: the child runs the
				 * server after fork (single-threaded callers) */
	unsigned conns;		/* pool size, 1..64 (0: 4) */
	int log_level;		/* for the key process's tplog */
	int log_stderr;		/* 1 stderr, 0 syslog */
	int null_stdio;		/* child's stdio on /dev/null */
	unsigned timeout_ms;	/* per answer (0: 10000) */
};

/* Start the key process; call before any thread runs.  0 or -errno. */
int keyproc_start(const struct keyproc_opts *o);
/* Close the pool, wait for the key process (SIGKILL after 2 s). */
void keyproc_stop(void);
int keyproc_available(void);
pid_t keyproc_pid(void);

/* Main thread, on SIGCHLD: reap the key process if it ended, log how,
 * and restart it.  Returns 0, or seconds after which keyproc_restart
 * should be tried again (restart failed or it dies too often). */
int keyproc_reap(void);
int keyproc_restart(void);

/* Load a key in the key process and bind *out to it.  0, a GnuTLS error
 * from loading, or KEYPROC_E_UNAVAILABLE.  pin may be NULL: then, while
 * a PIN source is set (keyproc_set_pin_source), the key process may ask
 * it for the token's PIN, and the call waits as long as the source does
 * (bounded by the source): call it on the main or a helper thread, never
 * on a worker.  Loads (and the replay after a restart) are serialised. */
int keyproc_privkey_file(const char *name, const char *path,
			 gnutls_privkey_t *out);
int keyproc_privkey_url(const char *name, const char *uri, const char *pin,
			gnutls_privkey_t *out);

/* A PKCS#11 token wants its user PIN while identity is loaded. */
struct keyproc_pin_request {
	const char *identity;
	unsigned attempt;	/* 1, 2, ... within this load */
	int wrong;		/* the previous PIN was rejected */
	const char *label, *manufacturer, *model, *serial;	/* the token */
};
/* Fill pin (size bytes, NUL-terminated) and return 0, or return < 0 for
 * "no PIN" (the load fails with a PIN error).  Runs on the loading
 * thread.  The PIN is the callee's to zero in its own buffers; the
 * caller zeroes pin. */
typedef int (*keyproc_pin_source)(const struct keyproc_pin_request *q,
				  char *pin, size_t size);
/* Set or clear (NULL) the PIN source; any thread. */
void keyproc_set_pin_source(keyproc_pin_source fn);
int keyproc_has_pin_source(void);

/* Counts the key processes started: a restarted one has lost what only
 * it held and nobody replays (the on-the-fly CA). */
unsigned keyproc_generation(void);

/* ---- the on-the-fly CA (LOCALID_ONTHEFLY) ---- */

struct keyproc_ca {
	uint32_t handle;	/* the leaf key in the key process */
	int pk;			/* its gnutls_pk_algorithm_t and size */
	unsigned bits;
	gnutls_datum_t ca_der;	/* the CA certificate, gnutls_free it */
};
/* Load the CA (PEM certificate and key, by path) in the key process; the
 * first setup there also makes the leaf key (one per key process).  0,
 * a GnuTLS error, or KEYPROC_E_UNAVAILABLE. */
int keyproc_ca_setup(const char *cert, const char *key,
		     struct keyproc_ca *out);
/* A certificate for name on the leaf key, valid lifetime_s from now
 * (backdated 5 minutes), DER in *der (gnutls_free it).  0, a GnuTLS
 * error (GNUTLS_E_INSUFFICIENT_CREDENTIALS: no CA set up in this key
 * process), or KEYPROC_E_UNAVAILABLE.  One round trip; any thread. */
int keyproc_ca_issue(const char *name, unsigned lifetime_s,
		     gnutls_datum_t *der);
/* A privkey for the leaf key (one per credential: a credential owns
 * its key), signing through the key process; deinitialising it leaves
 * the leaf key in place.  0 or a GnuTLS error. */
int keyproc_ca_leaf_key(const struct keyproc_ca *ca, gnutls_privkey_t *out);
/* gnutls_strerror, or "key process unavailable". */
const char *keyproc_strerror(int rc);

/* idgen_ensure, run in the key process (the daemon never holds the
 * generated keys).  0 or -errno with a message in err. */
int keyproc_idgen(const char *state_dir, const char *localid_dir,
		  const char *host, char *err, size_t errlen);
/* Switch the key process to uid/gid ((uid_t)-1 / (gid_t)-1: keep);
 * once only.  0 or -errno. */
int keyproc_drop_privileges(uid_t uid, gid_t gid);

/* Entry point of the exec'd key process ("--key-process N LEVEL STDERR",
 * connections on fds 3..3+N-1).  Returns the exit status. */
int keyproc_main(int argc, char **argv);

/* Tests: send len raw bytes on one pool connection and read one answer
 * header (payload up to cap bytes into buf).  0 or -errno. */
struct kp_hdr;
int keyproc_raw_exchange(const void *msg, size_t len, struct kp_hdr *h,
			 void *buf, size_t cap);

#endif

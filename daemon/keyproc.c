/* keyproc -- the daemon's side of the key process: start and stop, the
 * pool of connections and its round trips, death and restart.  The
 * privkeys are in keyproc_key.c, the key process in keyproc_server.c, the
 * channel and the child process in keyproc_posix.c (Windows:
 * windows/keyproc_win32.c).
 *
 * Locks, always taken in this order: reg_lock (the registry of loaded
 * keys, replayed into a restarted key process), one connection's lock
 * (held for one round trip), pid_lock (the child's pid, for kill).
 * Round trips from workers take only a connection lock.  Loads are
 * serialised by keyproc_key.c's load_lock (before reg_lock); a load that
 * asks for a PIN marks its connection slow while it waits, and
 * conn_acquire never blocks behind a slow one while another exists.
 */
#include "keyproc.h"
#include "keyproc_int.h"
#include "tplog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define MAX_CONNS 64
#define DEFAULT_CONNS 4
#define DEFAULT_TIMEOUT_MS 10000
#define QUICK_DEATH_S 2
#define MAX_BACKOFF_S 60

struct conn {
	pthread_mutex_t lock;
	int fd;
	atomic_int slow;	/* held while a PIN is asked: not waited for */
};

static struct {
	struct conn *conns;
	unsigned n;
	struct keyproc_opts opts;
	char *exe;
	atomic_int up;
	atomic_uint seq, next_slot, generation;
	pthread_mutex_t pid_lock;
	pid_t pid;
	time_t started;
	unsigned backoff;
	int stopping;
} kp = { .pid_lock = PTHREAD_MUTEX_INITIALIZER };

static _Atomic(keyproc_pin_source) pin_source;

/* ---- I/O --------------------------------------------------------------- */

/* The answer to h (or, with ask, a PIN_NEED question inside it). */
static int read_reply(int fd, const struct kp_hdr *h, struct kp_reply *r,
		      int ask)
{
	long got;

	got = kp_read_all(fd, &r->h, sizeof(r->h));
	if (got != (long)sizeof(r->h))
		return got < 0 ? (int)got : -EPIPE;
	if (r->h.seq != h->seq || r->h.flags != 0 ||
	    r->h.len > sizeof(r->buf) || r->h.status > 0 ||
	    (r->h.op != h->op &&
	     !(ask && r->h.op == KP_PIN_NEED && r->h.status == 0)))
		return -EPROTO;
	if (r->h.len == 0)
		return 0;
	got = kp_read_all(fd, r->buf, r->h.len);
	return got == (long)r->h.len ? 0 : got < 0 ? (int)got : -EPIPE;
}

static int exchange(int fd, uint16_t op, const struct kp_out *req,
		    struct kp_reply *r)
{
	struct kp_hdr h = { (uint32_t)req->len, op, 0,
			    atomic_fetch_add(&kp.seq, 1), 0 };
	int rc;

	rc = kp_send_msg(fd, &h, req->buf);
	return rc < 0 ? rc : read_reply(fd, &h, r, 0);
}

/* ---- PIN questions (LOAD_URL_ASK) ------------------------------------------ */

void keyproc_set_pin_source(keyproc_pin_source fn)
{
	atomic_store(&pin_source, fn);
}

int keyproc_has_pin_source(void)
{
	return atomic_load(&pin_source) != NULL;
}

/* Answer the key process's PIN_NEED in r with what the PIN source says;
 * the PIN given (or "") is left in got. */
static int answer_pin(int fd, const struct kp_hdr *h, struct kp_reply *r,
		      const char *name, char got[KP_PIN_MAX])
{
	char label[33], manuf[33], model[17], serial[17];
	struct kp_in in = { r->buf, r->h.len, 0, 0 };
	struct keyproc_pin_request q = { name, 0, 0, label, manuf, model,
					 serial };
	keyproc_pin_source fn = atomic_load(&pin_source);
	struct kp_out *o;
	struct kp_hdr a = { 0, KP_PIN_NEED, 0, h->seq, 0 };
	int rc;

	q.attempt = kp_get_u32(&in);
	q.wrong = (kp_get_u32(&in) & KP_PIN_WRONG) != 0;
	kp_get_str(&in, label, sizeof(label));
	kp_get_str(&in, manuf, sizeof(manuf));
	kp_get_str(&in, model, sizeof(model));
	kp_get_str(&in, serial, sizeof(serial));
	if (in.err || in.off != in.len)
		return -EPROTO;
	got[0] = '\0';
	if (fn != NULL && fn(&q, got, KP_PIN_MAX) < 0)
		got[0] = '\0';
	got[KP_PIN_MAX - 1] = '\0';
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		return -ENOMEM;
	kp_put_str(o, got);
	a.len = (uint32_t)o->len;
	rc = kp_send_msg(fd, &a, o->buf);
	sodium_memzero(o, sizeof(*o));
	free(o);
	return rc;
}

static int exchange_ask(int fd, uint16_t op, const struct kp_out *req,
			struct kp_reply *r, const char *name,
			char got[KP_PIN_MAX])
{
	struct kp_hdr h = { (uint32_t)req->len, op, 0,
			    atomic_fetch_add(&kp.seq, 1), 0 };
	int rc;

	got[0] = '\0';
	rc = kp_send_msg(fd, &h, req->buf);
	for (unsigned asked = 0; rc == 0; asked++) {
		rc = read_reply(fd, &h, r, asked < KP_PIN_MAX_ASKS);
		if (rc < 0 || r->h.op == op)
			break;
		rc = answer_pin(fd, &h, r, name, got);
		sodium_memzero(r->buf, r->h.len);
	}
	return rc;
}

/* ---- the pool -------------------------------------------------------- */

static struct conn *conn_acquire(void)
{
	static _Thread_local unsigned slot;
	static _Thread_local int have_slot;
	unsigned base;

	if (!have_slot) {
		slot = atomic_fetch_add(&kp.next_slot, 1);
		have_slot = 1;
	}
	base = slot % kp.n;
	for (unsigned i = 0; i < kp.n; i++) {
		struct conn *c = &kp.conns[(base + i) % kp.n];

		if (pthread_mutex_trylock(&c->lock) == 0)
			return c;
	}
	/* All busy: wait for one, but never for long behind one that
	 * waits for a PIN (a human). */
	if (kp.n == 1)		/* the only one: nothing else to take */
		goto wait;
	for (;;) {
		unsigned tried = 0;

		for (unsigned i = 0; i < kp.n; i++) {
			struct conn *c = &kp.conns[(base + i) % kp.n];
			struct timespec until;

			if (atomic_load(&c->slow))
				continue;
			tried++;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 20 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			if (pthread_mutex_timedlock(&c->lock, &until) == 0)
				return c;
		}
		if (tried == 0)
			usleep(20000);
	}
wait:
	pthread_mutex_lock(&kp.conns[base].lock);
	return &kp.conns[base];
}

static void kill_child(void)
{
	pthread_mutex_lock(&kp.pid_lock);
	if (kp.pid > 0)
		kp_child_kill(kp.pid);
	pthread_mutex_unlock(&kp.pid_lock);
}

/* A failed round trip: the key process is unusable until restarted. */
static void broken(int rc)
{
	if (!atomic_exchange(&kp.up, 0))
		return;
	if (rc == -EAGAIN)
		tplog(LOG_ERR, "key process unavailable: no answer within "
		      "%u ms, killing it", kp.opts.timeout_ms);
	else
		tplog(LOG_ERR, "key process unavailable: %s",
		      rc == -EPIPE ? "connection closed"
				   : rc == -EPROTO ? "protocol error"
						   : strerror(-rc));
	kill_child();
}

/* One round trip; 0 with the answer in r, or -errno when the key process
 * is (now) unavailable. */
int kp_call(uint16_t op, const struct kp_out *req, struct kp_reply *r)
{
	struct conn *c;
	int rc;

	if (req->err)
		return -EMSGSIZE;
	if (!atomic_load(&kp.up) || kp.conns == NULL)
		return -ENOTCONN;
	c = conn_acquire();
	rc = c->fd < 0 ? -ENOTCONN : exchange(c->fd, op, req, r);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		broken(rc);
	return rc;
}

int kp_call_ask(uint16_t op, const struct kp_out *req, struct kp_reply *r,
		const char *name, char got[KP_PIN_MAX])
{
	struct conn *c;
	int rc;

	got[0] = '\0';
	if (req->err)
		return -EMSGSIZE;
	if (!atomic_load(&kp.up) || kp.conns == NULL)
		return -ENOTCONN;
	c = conn_acquire();
	atomic_store(&c->slow, 1);
	rc = c->fd < 0 ? -ENOTCONN : exchange_ask(c->fd, op, req, r, name, got);
	atomic_store(&c->slow, 0);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		broken(rc);
	return rc;
}

unsigned keyproc_generation(void)
{
	return atomic_load(&kp.generation);
}

/* Swap new connections in; the old ones (if any) are closed. */
static void install(const int *ends, pid_t pid)
{
	for (unsigned i = 0; i < kp.n; i++) {
		int old;

		pthread_mutex_lock(&kp.conns[i].lock);
		old = kp.conns[i].fd;
		kp.conns[i].fd = ends[i];
		pthread_mutex_unlock(&kp.conns[i].lock);
		if (old >= 0)
			kp_close(old);
	}
	pthread_mutex_lock(&kp.pid_lock);
	kp.pid = pid;
	pthread_mutex_unlock(&kp.pid_lock);
	kp.started = time(NULL);
}

static int fork_child(void)
{
	int par[MAX_CONNS];
	pid_t pid;
	int rc = kp_child_start(&kp.opts, kp.exe, kp.n, par, &pid);

	if (rc == 0)
		install(par, pid);
	return rc;
}

/* Fork, and check with a PING that the key process answers. */
static int spawn(void)
{
	struct kp_out req = { 0, 0, { 0 } };
	struct kp_reply *r = malloc(sizeof(*r));
	int rc;

	if (r == NULL)
		return -ENOMEM;
	rc = fork_child();
	if (rc == 0) {
		atomic_fetch_add(&kp.generation, 1);
		atomic_store(&kp.up, 1);
		rc = kp_call(KP_PING, &req, r);
		if (rc == 0 && (r->h.status < 0 || r->h.len != 4))
			rc = -EPROTO;
	}
	free(r);
	return rc;
}

/* ---- start, stop, restart ------------------------------------------------- */

int keyproc_start(const struct keyproc_opts *o)
{
	unsigned n = o->conns ? o->conns : DEFAULT_CONNS;
	int rc;

	if (kp.conns != NULL)
		return -EALREADY;
	if (n > MAX_CONNS)
		n = MAX_CONNS;
	kp.conns = calloc(n, sizeof(*kp.conns));
	kp.exe = o->exe ? strdup(o->exe) : NULL;
	if (kp.conns == NULL || (o->exe && kp.exe == NULL)) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_mutex_init(&kp.conns[i].lock, NULL);
		kp.conns[i].fd = -1;
	}
	kp.n = n;
	kp.opts = *o;
	if (kp.opts.timeout_ms == 0)
		kp.opts.timeout_ms = DEFAULT_TIMEOUT_MS;
	kp.stopping = 0;
	kp.backoff = 0;
	rc = spawn();
	if (rc < 0)
		goto fail;
	tplog(LOG_INFO, "key process started (pid %d, %u connections)",
	      (int)kp.pid, n);
	return 0;
fail:
	tplog(LOG_ERR, "cannot start the key process: %s", strerror(-rc));
	keyproc_stop();
	return rc;
}

void keyproc_stop(void)
{
	pid_t pid;

	kp.stopping = 1;
	atomic_store(&kp.up, 0);
	for (unsigned i = 0; kp.conns != NULL && i < kp.n; i++) {
		pthread_mutex_lock(&kp.conns[i].lock);
		if (kp.conns[i].fd >= 0)
			kp_close(kp.conns[i].fd);
		kp.conns[i].fd = -1;
		pthread_mutex_unlock(&kp.conns[i].lock);
	}
	pthread_mutex_lock(&kp.pid_lock);
	pid = kp.pid;
	kp.pid = 0;
	pthread_mutex_unlock(&kp.pid_lock);
	if (pid > 0)
		kp_child_wait(pid);
	for (unsigned i = 0; kp.conns != NULL && i < kp.n; i++)
		pthread_mutex_destroy(&kp.conns[i].lock);
	free(kp.conns);
	kp.conns = NULL;
	kp.n = 0;
	free(kp.exe);
	kp.exe = NULL;
	kp_registry_clear();
}

int keyproc_available(void)
{
	return atomic_load(&kp.up);
}

int kp_up(void)
{
	return atomic_load(&kp.up);
}

pid_t keyproc_pid(void)
{
	pid_t pid;

	pthread_mutex_lock(&kp.pid_lock);
	pid = kp.pid;
	pthread_mutex_unlock(&kp.pid_lock);
	return pid;
}

static unsigned next_backoff(void)
{
	kp.backoff = kp.backoff ? kp.backoff * 2 : 1;
	if (kp.backoff > MAX_BACKOFF_S)
		kp.backoff = MAX_BACKOFF_S;
	return kp.backoff;
}

int keyproc_restart(void)
{
	size_t count = 0;
	int rc;

	if (kp.stopping || kp.conns == NULL || keyproc_pid() > 0)
		return 0;	/* stopping, or the old one is not reaped yet */
	rc = spawn();
	if (rc == 0)
		rc = kp_replay(&count);
	if (rc < 0) {
		unsigned d = next_backoff();

		tplog(LOG_ERR, "key process restart failed: %s; trying again "
		      "in %u s", strerror(-rc), d);
		return (int)d;
	}
	tplog(LOG_NOTICE, "key process restarted (pid %d), %zu keys loaded",
	      (int)keyproc_pid(), count);
	return 0;
}

int keyproc_reap(void)
{
	pid_t pid = keyproc_pid();
	char how[64];

	if (pid <= 0 || !kp_child_ended(pid, how, sizeof(how)))
		return 0;
	pthread_mutex_lock(&kp.pid_lock);
	kp.pid = 0;
	pthread_mutex_unlock(&kp.pid_lock);
	atomic_store(&kp.up, 0);
	if (kp.stopping)
		return 0;
	tplog(LOG_ERR, "key process (pid %d) %s; handshakes needing a key "
	      "are refused until it is back", (int)pid, how);
	if (time(NULL) - kp.started < QUICK_DEATH_S) {
		unsigned d = next_backoff();

		tplog(LOG_ERR, "key process died within %d s of its start; "
		      "restarting in %u s", QUICK_DEATH_S, d);
		return (int)d;
	}
	kp.backoff = 0;
	return keyproc_restart();
}

int keyproc_raw_exchange(const void *msg, size_t len, struct kp_hdr *h,
			 void *buf, size_t cap)
{
	struct conn *c;
	long got;
	int rc;

	if (kp.conns == NULL)
		return -ENOTCONN;
	c = conn_acquire();
	rc = kp_write_all(c->fd, msg, len);
	got = rc < 0 ? rc : kp_read_all(c->fd, h, sizeof(*h));
	if (rc == 0 && got != (long)sizeof(*h))
		rc = got < 0 ? (int)got : -EPIPE;
	for (uint32_t done = 0; rc == 0 && done < h->len;) {
		uint8_t junk[256];
		size_t n = h->len - done < sizeof(junk) ? h->len - done
							 : sizeof(junk);

		got = kp_read_all(c->fd, junk, n);
		if (got != (long)n)
			rc = got < 0 ? (int)got : -EPIPE;
		else if (done < cap)
			memcpy((uint8_t *)buf + done, junk,
			       cap - done < n ? cap - done : n);
		done += (uint32_t)n;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- exact reads and writes on the platform's calls ---- */

long kp_read_all(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		long r = kp_recv_some(fd, (char *)p + got, n - got);

		if (r < 0)
			return r;
		if (r == 0)
			return got == 0 ? 0 : -EPIPE;
		got += (size_t)r;
	}
	return (long)n;
}

int kp_write_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		long w = kp_send_some(fd, p, n);

		if (w < 0)
			return (int)w;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

int kp_send_msg(int fd, const struct kp_hdr *h, const void *p)
{
	long w = kp_send_hdr(fd, h, p);

	if (w < 0)
		return (int)w;
	if ((size_t)w < sizeof(*h)) {
		int rc = kp_write_all(fd, (const char *)h + w,
				      sizeof(*h) - (size_t)w);

		return rc < 0 ? rc : kp_write_all(fd, p, h->len);
	}
	w -= (long)sizeof(*h);
	return kp_write_all(fd, (const char *)p + w, h->len - (size_t)w);
}

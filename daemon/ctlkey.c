/* ctlkey -- registry of sessions by control key and their attachment. */
#include "ctlkey.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "ctlconn.h"
#include "session.h"

#define NBUCKETS 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctlkey_link *buckets[NBUCKETS];

static unsigned bucket_of(const uint8_t *key)
{
	/* Keys are random (libsodium on the client side); any bytes do. */
	return ((unsigned)key[0] << 8 | key[1]) % NBUCKETS;
}

static int key_is_zero(const uint8_t *key)
{
	static const uint8_t zero[TLSPOOL_CTLKEYLEN];

	return memcmp(key, zero, TLSPOOL_CTLKEYLEN) == 0;
}

static struct ctlkey_link *lookup(const uint8_t *key)
{
	struct ctlkey_link *l = buckets[bucket_of(key)];

	while (l != NULL && memcmp(l->key, key, TLSPOOL_CTLKEYLEN) != 0)
		l = l->hnext;
	return l;
}

static void attach(struct ctlkey_link *l, struct ctlconn *ctl,
		   struct ctlkey_owner *o)
{
	l->ctl = ctl;
	l->owner = o;
	l->cprev = NULL;
	l->cnext = o->first;
	if (o->first != NULL)
		o->first->cprev = l;
	o->first = l;
}

static void detach(struct ctlkey_link *l)
{
	if (l->ctl == NULL)
		return;
	if (l->cprev != NULL)
		l->cprev->cnext = l->cnext;
	else
		l->owner->first = l->cnext;
	if (l->cnext != NULL)
		l->cnext->cprev = l->cprev;
	l->ctl = NULL;
	l->owner = NULL;
	l->cprev = l->cnext = NULL;
}

int ctlkey_register(struct ctlkey_link *l, struct ctlconn *ctl,
		    struct ctlkey_owner *o)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (!key_is_zero(l->key)) {
		unsigned b = bucket_of(l->key);

		if (lookup(l->key) != NULL) {
			rc = -EEXIST;
			goto out;
		}
		l->hnext = buckets[b];
		buckets[b] = l;
		l->registered = 1;
	}
	ctlconn_ref(ctl);
	attach(l, ctl, o);
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

void ctlkey_unregister(struct ctlkey_link *l)
{
	struct ctlconn *ctl;

	pthread_mutex_lock(&lock);
	if (l->registered) {
		struct ctlkey_link **pp = &buckets[bucket_of(l->key)];

		while (*pp != NULL && *pp != l)
			pp = &(*pp)->hnext;
		if (*pp == l)
			*pp = l->hnext;
		l->registered = 0;
	}
	ctl = l->ctl;
	detach(l);
	pthread_mutex_unlock(&lock);
	if (ctl != NULL)
		ctlconn_unref(ctl);
}

struct session *ctlkey_find(const uint8_t key[TLSPOOL_CTLKEYLEN])
{
	struct ctlkey_link *l;
	struct session *s = NULL;

	if (key_is_zero(key))
		return NULL;
	pthread_mutex_lock(&lock);
	l = lookup(key);
	if (l != NULL) {
		s = l->self;
		session_ref(s);
	}
	pthread_mutex_unlock(&lock);
	return s;
}

int ctlkey_detach(const uint8_t key[TLSPOOL_CTLKEYLEN], struct ctlconn *ctl)
{
	struct ctlkey_link *l;
	int rc = -ENOENT;

	if (key_is_zero(key))
		return -ENOENT;
	pthread_mutex_lock(&lock);
	l = lookup(key);
	if (l != NULL && l->ctl == ctl) {
		detach(l);
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	if (rc == 0)
		ctlconn_unref(ctl);
	return rc;
}

int ctlkey_reattach(const uint8_t key[TLSPOOL_CTLKEYLEN], struct ctlconn *ctl,
		    struct ctlkey_owner *o)
{
	struct ctlkey_link *l;
	int rc = -ENOENT;

	if (key_is_zero(key))
		return -ENOENT;
	pthread_mutex_lock(&lock);
	l = lookup(key);
	if (l != NULL && l->ctl != NULL) {
		rc = -EBUSY;
	} else if (l != NULL && !session_established(l->self)) {
		rc = -EAGAIN;
	} else if (l != NULL) {
		ctlconn_ref(ctl);
		attach(l, ctl, o);
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

struct ctlconn *ctlkey_controller(struct ctlkey_link *l)
{
	struct ctlconn *c;

	pthread_mutex_lock(&lock);
	c = l->ctl;
	if (c != NULL)
		ctlconn_ref(c);
	pthread_mutex_unlock(&lock);
	return c;
}

void ctlkey_owner_gone(struct ctlkey_owner *o, void (*fn)(struct session *s))
{
	for (;;) {
		struct ctlkey_link *l;
		struct session *s;
		struct ctlconn *ctl;

		pthread_mutex_lock(&lock);
		l = o->first;
		if (l == NULL) {
			pthread_mutex_unlock(&lock);
			return;
		}
		s = l->self;
		ctl = l->ctl;
		session_ref(s);
		detach(l);
		pthread_mutex_unlock(&lock);
		ctlconn_unref(ctl);
		fn(s);
	}
}

/* keyproc_pin -- the PIN of PKCS#11 keys, in the key process.
 *
 * A key has the PIN it was loaded with (pkcs11_pin from the daemon's
 * configuration) or none.  Without one, while a LOAD_URL_ASK runs, the
 * key process asks the daemon (PIN_NEED on the load's own connection,
 * keyproc_int.h); the daemon asks the registered PIN service.  At most
 * KP_PIN_MAX_ASKS questions per load; an empty answer gives up.  The
 * PIN that worked stays with the key for a re-login while signing,
 * which never asks anyone.
 *
 * Tokens that rejected a PIN are remembered for the life of the key
 * process by token URL and PIN digest: a wrong PIN is sent to a token
 * once, never once per identity or per reload, so it cannot exhaust the
 * token's retry counter.  A corrected PIN is tried again.  PINs are never
 * logged and are zeroed after use.
 */
#include "keyproc.h"
#include "keyproc_int.h"
#include "tplog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/pkcs11.h>
#include <sodium.h>

#define BAD_PINS_MAX 64
/* The daemon bounds its wait for the PIN service well below this. */
#define ANSWER_WAIT_MS (10 * 60 * 1000)

static pthread_mutex_t bad_pins_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char bad_pins[BAD_PINS_MAX][32];
static unsigned bad_pins_n, bad_pins_next;

static int pin_digest(const char *token_url, const char *pin,
		      unsigned char out[32])
{
	gnutls_hash_hd_t h;
	int rc = gnutls_hash_init(&h, GNUTLS_DIG_SHA256);

	if (rc < 0)
		return rc;
	gnutls_hash(h, token_url, strlen(token_url) + 1);
	gnutls_hash(h, pin, strlen(pin));
	gnutls_hash_deinit(h, out);
	return 0;
}

static int pin_known_bad(const unsigned char d[32])
{
	int bad = 0;

	pthread_mutex_lock(&bad_pins_lock);
	for (unsigned i = 0; i < bad_pins_n && !bad; i++)
		bad = memcmp(bad_pins[i], d, 32) == 0;
	pthread_mutex_unlock(&bad_pins_lock);
	return bad;
}

static void pin_mark_bad(const char *url, const char *pin)
{
	unsigned char d[32];

	if (pin_digest(url, pin, d) < 0 || pin_known_bad(d))
		return;
	pthread_mutex_lock(&bad_pins_lock);
	memcpy(bad_pins[bad_pins_next], d, 32);
	bad_pins_next = (bad_pins_next + 1) % BAD_PINS_MAX;
	if (bad_pins_n < BAD_PINS_MAX)
		bad_pins_n++;
	pthread_mutex_unlock(&bad_pins_lock);
}

static int pin_is_bad(const char *url, const char *pin)
{
	unsigned char d[32];

	return pin_digest(url, pin, d) < 0 || pin_known_bad(d);
}

void kp_pin_clear(struct kp_pin *p)
{
	if (p->pin != NULL) {
		sodium_memzero(p->pin, strlen(p->pin));
		free(p->pin);
	}
	p->pin = NULL;
}

/* One field of the token's description, from its URL ("" if none). */
static void token_info(const char *url, gnutls_pkcs11_token_info_t t,
		       char *out, size_t size)
{
	size_t len = size;

	if (url == NULL ||
	    gnutls_pkcs11_token_get_info(url, t, out, &len) < 0)
		out[0] = '\0';
	out[size - 1] = '\0';
}

static int send_question(const struct kp_pin *p, unsigned wrong,
			 const char *url, const char *label)
{
	struct kp_out *o = calloc(1, sizeof(*o));
	struct kp_hdr h = { 0, KP_PIN_NEED, 0, p->ask_seq, 0 };
	char manuf[33], model[17], serial[17];
	int rc = -ENOMEM;

	if (o == NULL)
		return rc;
	token_info(url, GNUTLS_PKCS11_TOKEN_MANUFACTURER, manuf, sizeof(manuf));
	token_info(url, GNUTLS_PKCS11_TOKEN_MODEL, model, sizeof(model));
	token_info(url, GNUTLS_PKCS11_TOKEN_SERIAL, serial, sizeof(serial));
	kp_put_u32(o, p->asks);
	kp_put_u32(o, wrong ? KP_PIN_WRONG : 0);
	kp_put_str(o, label);
	kp_put_str(o, manuf);
	kp_put_str(o, model);
	kp_put_str(o, serial);
	h.len = (uint32_t)o->len;
	rc = o->err ? -EMSGSIZE : kp_write_all(p->ask_fd, &h, sizeof(h));
	if (rc == 0)
		rc = kp_write_all(p->ask_fd, o->buf, o->len);
	free(o);
	return rc;
}

/* The daemon's answer: str pin.  0 with the PIN in pin ("" none), or
 * -errno when the connection is out of step (then it is dropped). */
static int read_answer(const struct kp_pin *p, char *pin, size_t size)
{
	uint8_t buf[2 + KP_PIN_MAX];
	struct kp_hdr h;
	struct kp_in in;
	int rc;

	rc = kp_wait_readable(p->ask_fd, ANSWER_WAIT_MS);
	if (rc <= 0)
		return rc == 0 ? -ETIMEDOUT : rc;
	if (kp_read_all(p->ask_fd, &h, sizeof(h)) != (long)sizeof(h))
		return -EPIPE;
	if (h.op != KP_PIN_NEED || h.seq != p->ask_seq || h.flags != 0 ||
	    h.status != 0 || h.len > sizeof(buf))
		return -EPROTO;
	if (kp_read_all(p->ask_fd, buf, h.len) != (long)h.len)
		return -EPIPE;
	in = (struct kp_in){ buf, h.len, 0, 0 };
	kp_get_str(&in, pin, size);
	rc = (in.err || in.off != in.len) ? -EPROTO : 0;
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* Ask the daemon once; 0 with p->pin set, or a GnuTLS error. */
static int ask(struct kp_pin *p, unsigned wrong, const char *url,
	       const char *label)
{
	char pin[KP_PIN_MAX];
	int rc;

	p->asks++;
	rc = send_question(p, wrong, url, label);
	if (rc == 0)
		rc = read_answer(p, pin, sizeof(pin));
	if (rc < 0) {
		p->broken = 1;
		tplog(LOG_ERR, "PKCS#11 token %s: asking the daemon for a PIN "
		      "failed: %s", label, strerror(-rc));
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (pin[0] == '\0') {
		tplog(LOG_ERR, "PKCS#11 token %s: no PIN from the PIN service",
		      label);
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	p->pin = strdup(pin);
	sodium_memzero(pin, sizeof(pin));
	return p->pin != NULL ? 0 : GNUTLS_E_MEMORY_ERROR;
}

/* The configured PIN (ask_fd < 0): tried once per token and PIN. */
static int configured(struct kp_pin *p, int wrong, const char *url,
		      const char *label)
{
	if (p->pin == NULL) {
		tplog(LOG_ERR, "PKCS#11 token %s: no pkcs11_pin configured "
		      "and no PIN service registered", label);
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (wrong) {
		pin_mark_bad(url, p->pin);
		tplog(LOG_ERR, "PKCS#11 token %s: configured PIN rejected, "
		      "not trying it again", label);
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	if (pin_is_bad(url, p->pin)) {
		tplog(LOG_ERR, "PKCS#11 token %s: configured PIN was rejected "
		      "before, not trying it again", label);
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	return 0;
}

/* A PIN from the PIN service: asked again (up to KP_PIN_MAX_ASKS) after
 * a rejection, and a PIN the token rejected before is not sent again. */
static int asked(struct kp_pin *p, int wrong, const char *url,
		 const char *label)
{
	if (wrong && p->pin != NULL) {
		pin_mark_bad(url, p->pin);
		tplog(LOG_ERR, "PKCS#11 token %s: the PIN service's PIN was "
		      "rejected", label);
		kp_pin_clear(p);
	}
	while (p->pin == NULL || pin_is_bad(url, p->pin)) {
		int rc;

		if (p->pin != NULL) {
			tplog(LOG_ERR, "PKCS#11 token %s: the PIN service's PIN "
			      "was rejected before, not trying it again",
			      label);
			kp_pin_clear(p);
			wrong = 1;
		}
		if (p->asks >= KP_PIN_MAX_ASKS) {
			tplog(LOG_ERR, "PKCS#11 token %s: no usable PIN after "
			      "%u questions, giving up", label, p->asks);
			return GNUTLS_E_PKCS11_PIN_ERROR;
		}
		rc = ask(p, (unsigned)wrong, url, label);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int kp_pin_cb(void *userdata, int attempt, const char *token_url,
	      const char *token_label, unsigned int flags, char *pin,
	      size_t pin_max)
{
	struct kp_pin *p = userdata;
	const char *label = token_label ? token_label : "(unnamed)";
	const char *url = token_url ? token_url : label;
	int wrong = attempt > 0 || (flags & GNUTLS_PIN_WRONG);
	size_t len;
	int rc;

	rc = p->ask_fd >= 0 && !p->broken ? asked(p, wrong, url, label)
					  : configured(p, wrong, url, label);
	if (rc < 0)
		return rc;
	len = strlen(p->pin);
	if (len >= pin_max) {
		tplog(LOG_ERR, "PKCS#11 token %s: the PIN is longer than %zu "
		      "characters", label, pin_max - 1);
		return GNUTLS_E_PKCS11_PIN_ERROR;
	}
	memcpy(pin, p->pin, len + 1);
	return 0;
}

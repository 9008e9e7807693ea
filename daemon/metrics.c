/* metrics -- counters per rule and the audit trail. */
#include "metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tplog.h"

struct rule_stats {
	struct rule_stats *next;
	int server;
	uint64_t handshakes;
	uint64_t refused[METRICS_NREFUSAL];
	uint64_t bytes_in, bytes_out;
	uint64_t active;
	char rule[];
};

static const char *const refusal_names[METRICS_NREFUSAL] = {
	"policy", "handshake", "timeout", "application", "other",
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule_stats *rules;

/* Under lock: the entry for a rule, created on first use. */
static struct rule_stats *stats_for(const char *rule, int server)
{
	const char *name = rule[0] ? rule : "(default)";
	struct rule_stats *r;

	for (r = rules; r != NULL; r = r->next)
		if (r->server == server && strcmp(r->rule, name) == 0)
			return r;
	r = calloc(1, sizeof(*r) + strlen(name) + 1);
	if (r == NULL)
		return NULL;
	strcpy(r->rule, name);
	r->server = server;
	r->next = rules;
	rules = r;
	return r;
}

/* JSON string contents: quotes, backslashes and control bytes escaped. */
static void json_str(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

static void audit(const struct metrics_event *ev, const char *outcome)
{
	char local[260], remote[260], rule[260], reason[520], peer[140];
	char when[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_str(local, sizeof(local), ev->localid);
	json_str(remote, sizeof(remote), ev->remoteid);
	json_str(rule, sizeof(rule), ev->rule[0] ? ev->rule : "(default)");
	json_str(reason, sizeof(reason), ev->reason ? ev->reason : "");
	json_str(peer, sizeof(peer), ev->peer);
	tplog(LOG_NOTICE, "audit {\"time\":\"%s\",\"peer\":\"%s\","
	      "\"local_role\":\"%s\",\"remote_role\":\"%s\",\"local\":\"%s\","
	      "\"remote\":\"%s\",\"rule\":\"%s\",\"outcome\":\"%s\","
	      "\"reason\":\"%s\"}", when, peer,
	      ev->server ? "server" : "client", ev->server ? "client" : "server",
	      local, remote, rule, outcome, reason);
}

void metrics_accepted(const struct metrics_event *ev)
{
	struct rule_stats *r;

	pthread_mutex_lock(&lock);
	r = stats_for(ev->rule, ev->server);
	if (r != NULL) {
		r->handshakes++;
		r->active++;
	}
	pthread_mutex_unlock(&lock);
	audit(ev, "accepted");
}

void metrics_refused(const struct metrics_event *ev)
{
	struct rule_stats *r;

	pthread_mutex_lock(&lock);
	r = stats_for(ev->rule, ev->server);
	if (r != NULL)
		r->refused[ev->refusal]++;
	pthread_mutex_unlock(&lock);
	audit(ev, "refused");
}

void metrics_closed(const char *rule, int server, uint64_t in, uint64_t out)
{
	struct rule_stats *r;

	pthread_mutex_lock(&lock);
	r = stats_for(rule, server);
	if (r != NULL) {
		r->bytes_in += in;
		r->bytes_out += out;
		if (r->active > 0)
			r->active--;
	}
	pthread_mutex_unlock(&lock);
}

enum metrics_refusal metrics_classify(int err)
{
	switch (err) {
	case EACCES: return METRICS_REFUSED_POLICY;
	case ECONNABORTED: return METRICS_REFUSED_HANDSHAKE;
	case ETIMEDOUT: return METRICS_REFUSED_TIMEOUT;
	case EPERM: return METRICS_REFUSED_APPLICATION;
	default: return METRICS_REFUSED_OTHER;
	}
}

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (b->oom)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *q = realloc(b->p, 2 * b->cap + (size_t)n);

		if (q == NULL) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = 2 * b->cap + (size_t)n;
	}
}

/* One metric family over all rules. */
static void family(struct buf *b, const char *name, const char *help,
		   const char *type, size_t off)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (struct rule_stats *r = rules; r != NULL; r = r->next)
		put(b, "%s{rule=\"%s\",role=\"%s\"} %llu\n", name, r->rule,
		    r->server ? "server" : "client",
		    *(unsigned long long *)((char *)r + off));
}

char *metrics_format(void)
{
	struct buf b = { malloc(4096), 0, 4096, 0 };

	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	pthread_mutex_lock(&lock);
	family(&b, "tlspool_handshakes_total", "Connections established",
	       "counter", offsetof(struct rule_stats, handshakes));
	put(&b, "# HELP tlspool_refusals_total Connections refused, by reason\n"
		"# TYPE tlspool_refusals_total counter\n");
	for (struct rule_stats *r = rules; r != NULL; r = r->next)
		for (int k = 0; k < METRICS_NREFUSAL; k++)
			put(&b, "tlspool_refusals_total{rule=\"%s\",role=\"%s\","
			    "reason=\"%s\"} %llu\n", r->rule,
			    r->server ? "server" : "client", refusal_names[k],
			    (unsigned long long)r->refused[k]);
	family(&b, "tlspool_bytes_in_total", "Plaintext bytes delivered to "
	       "applications", "counter", offsetof(struct rule_stats, bytes_in));
	family(&b, "tlspool_bytes_out_total", "Plaintext bytes sent to peers",
	       "counter", offsetof(struct rule_stats, bytes_out));
	family(&b, "tlspool_sessions_active", "Relayed sessions open now",
	       "gauge", offsetof(struct rule_stats, active));
	pthread_mutex_unlock(&lock);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

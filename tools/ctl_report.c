/* ctl_report -- tlspool-ctl explain, status and metrics.
 *
 * explain runs the daemon's own rule selection (lib/polsel.c) for a
 * hypothetical connection and prints what the daemon would do; status
 * and metrics read the daemon's counters over the pool connection
 * (lib/poolconn.h: the socket on POSIX, the named pipe on Windows).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec.h"
#include "ctl.h"
#include "ctl_plat.h"
#include "dconfig.h"
#include "localcmd.h"
#include "poolconn.h"
#include "polsel.h"
#include "valexp.h"

static void print_rule(const struct polsel_decision *d, unsigned role)
{
	const struct polrec_policy *p = &d->pol;
	char kinds[64];

	if (!d->have_record) {
		printf("rule: none matched: the secure default applies\n");
		return;
	}
	printf("rule: %s (%s)\n", d->rule, polrec_role_name(role));
	printf("  versions: %s..%s\n", polrec_version_name(p->min_version),
	       polrec_version_name(p->max_version));
	printf("  priority: %s\n", p->priority ? p->priority
						: "(the daemon's tls_priority)");
	if (role == POLREC_ROLE_SERVER)
		printf("  client authentication: %s\n",
		       polrec_cauth_name(p->client_auth));
	printf("  credential kinds: %s\n",
	       polrec_kinds_format(p->kinds, kinds, sizeof(kinds)));
	printf("  uids: ");
	for (size_t i = 0; i < p->nuids; i++)
		printf("%s%u", i ? "," : "", p->uids[i]);
	printf("%s\n", p->nuids ? "" : "any");
}

/* Where the daemon would find the credential of a local identity. */
static void print_credential(struct policydb *db, const struct dconfig *cfg,
			     const char *id)
{
	struct policydb_txn *txn;
	struct polrec_localid r = { 0 };
	char path[4096];
	struct stat st;
	int in_db = 0, in_dir;

	if (id[0] == '\0') {
		printf("credential shown: none (no local identity)\n");
		return;
	}
	if (db != NULL && policydb_begin(db, &txn, 0) == 0) {
		in_db = policydb_localid_get(txn, id, POLREC_CRED_X509, &r) == 0;
		polrec_localid_free(&r);
		policydb_abort(txn);
	}
	snprintf(path, sizeof(path), "%s/%s.pem", cfg->localid_dir, id);
	in_dir = stat(path, &st) == 0;
	printf("credential shown: %s: %s\n", id,
	       in_db ? "x509 from localid.db"
	       : in_dir ? path : "NOT AVAILABLE (the handshake would be refused)");
}

static void print_proof(const struct polsel_decision *d, unsigned role,
			const char *remote, int dnssec)
{
	struct valexp *e = NULL;
	char text[512], why[128];
	size_t pos;

	if (!d->have_record || d->pol.valexp == NULL) {
		printf("peer must prove: %s\n", role == POLREC_ROLE_CLIENT ?
		       "a chain to a trust anchor and a certificate valid for "
		       "the remote identity (secure default, IT&)" :
		       "a client certificate chaining to a trust anchor, unless "
		       "the application only requests or ignores it (secure "
		       "default, T)");
		if (role == POLREC_ROLE_CLIENT && remote[0] == '\0')
			printf("  (a client request without a remote identity "
			       "is refused)\n");
		else if (role == POLREC_ROLE_CLIENT && dnssec)
			printf("  (DNSSEC is configured: DANE decides where "
			       "secure TLSA records exist, %s)\n",
			       POLSEL_DEFAULT_CLIENT_DANE);
		return;
	}
	if (valexp_compile(d->valexp, POLSEL_PREDICATES, &e, why, sizeof(why),
			   &pos) < 0 ||
	    valexp_describe(e, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(not usable: %s)", why);
	valexp_free(e);
	printf("peer must prove: %s = %s\n", d->valexp, text);
}

int ctl_explain(struct policydb *db, const struct dconfig *cfg, int argc,
		char **argv)
{
	static const struct option opts[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "local", required_argument, NULL, 'l' },
		{ "remote", required_argument, NULL, 'R' },
		{ "service", required_argument, NULL, 's' },
		{ "uid", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct polsel_query q = { .localid = "", .remoteid = "",
				  .uid = ctl_plat_uid() };
	struct polsel_decision d;
	const char *service = "";
	char why[512];
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			q.role = strcmp(optarg, "client") == 0 ? POLREC_ROLE_CLIENT
			       : strcmp(optarg, "server") == 0 ? POLREC_ROLE_SERVER
			       : 0;
			break;
		case 'l': q.localid = optarg; break;
		case 'R': q.remoteid = optarg; break;
		case 's': service = optarg; break;
		case 'u': q.uid = (uid_t)strtoul(optarg, NULL, 10); break;
		default: return CTL_EXIT_USAGE;
		}
	}
	if (q.role == 0 || optind != argc) {
		fprintf(stderr, "tlspool-ctl: explain --role client|server "
			"[--local ID] [--remote ID] [--service NAME] [--uid N]\n");
		return CTL_EXIT_USAGE;
	}
	printf("connection: %s role, local \"%s\", remote \"%s\", service "
	       "\"%s\", uid %u\n", polrec_role_name(q.role), q.localid,
	       q.remoteid, service, (unsigned)q.uid);
	rc = polsel_decide(db, &q, &d, why, sizeof(why));
	if (rc < 0) {
		printf("outcome: refused before the handshake: %s\n", why);
		return CTL_EXIT_OK;
	}
	printf("policy serial: %llu\nselectors tried:",
	       (unsigned long long)d.serial);
	for (unsigned i = 0; i < d.ntried; i++)
		printf("%s %s", i ? "," : "", d.tried[i]);
	printf("%s\n", d.ntried ? "" : " (no policy database)");
	print_rule(&d, q.role);
	if (q.role == POLREC_ROLE_CLIENT && q.localid[0] == '\0')
		printf("disclosure: %s%s\n", d.disclose_rule[0] ?
		       "rule " : "no rule: show no identity",
		       d.disclose_rule);
	if (q.role == POLREC_ROLE_SERVER && q.localid[0] == '\0')
		printf("credential shown: chosen from the client's SNI or "
		       "default_localid at handshake time\n");
	else
		print_credential(db, cfg, d.localid);
	print_proof(&d, q.role, q.remoteid,
		    cfg->dnssec_rootkey != NULL || cfg->dnssec_config != NULL);
	polsel_decision_free(&d);
	return CTL_EXIT_OK;
}

/* ---- status and metrics: the daemon's counters over the pool socket ---- */

/* One slice from offset; 0 with *t filled, or -errno (message printed). */
static int metrics_slice(struct poolconn *pc, uint32_t offset,
			 struct pioc_local_text *t)
{
	struct tlspool_command cmd;
	poolconn_sock_t sock;
	char why[128];
	int rc;

	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_reqid = 1;
	cmd.pio_cmd = PIOC_LOCAL_METRICS_V1;
	memcpy(cmd.pio_data.pioc_raw, &offset, sizeof(offset));
	rc = poolconn_send(pc, &cmd, POOLCONN_NOSOCK);
	if (rc == 0)
		rc = poolconn_recv(pc, &cmd, &sock);
	if (rc == 1 && sock != POOLCONN_NOSOCK) {
		poolconn_sock_close(sock);
		rc = -EPROTO;
	}
	if (rc <= 0) {
		fprintf(stderr, "tlspool-ctl: the daemon did not answer: %s\n",
			rc == 0 ? "connection closed" : strerror(-rc));
		return rc == 0 ? -EPIPE : rc;
	}
	if (codec_check(&cmd, CODEC_MSGLEN, CODEC_TO_CLIENT, why,
			sizeof(why)) < 0) {
		fprintf(stderr, "tlspool-ctl: malformed answer: %s\n", why);
		return -EPROTO;
	}
	if (cmd.pio_cmd == PIOC_ERROR_V2) {
		fprintf(stderr, "tlspool-ctl: %s\n",
			cmd.pio_data.pioc_error.message);
		return -EPERM;
	}
	memcpy(t, cmd.pio_data.pioc_raw, sizeof(*t));
	return 0;
}

static char *fetch_metrics(const char *socket_path)
{
	struct pioc_local_text t;
	char *text = NULL;
	uint32_t got = 0;
	struct poolconn *pc = NULL;
	int rc = poolconn_connect(socket_path, &pc);

	if (rc < 0) {
		fprintf(stderr, "tlspool-ctl: %s: %s%s\n", socket_path,
			strerror(-rc), rc == -ENOENT || rc == -ECONNREFUSED ?
			" (is the daemon running?)" : "");
		return NULL;
	}
	for (;;) {
		char *n;

		if (metrics_slice(pc, got, &t) < 0)
			goto fail;
		if (t.total > (64u << 20) || got + t.len > t.total) {
			fprintf(stderr, "tlspool-ctl: inconsistent metrics\n");
			goto fail;
		}
		n = realloc(text, (size_t)t.total + 1);
		if (n == NULL)
			goto fail;
		text = n;
		memcpy(text + got, t.text, t.len);
		got += t.len;
		text[got] = '\0';
		if (got == t.total)
			break;
		if (t.len == 0) {
			fprintf(stderr, "tlspool-ctl: metrics cut short\n");
			goto fail;
		}
	}
	poolconn_close(pc);
	return text;
fail:
	poolconn_close(pc);
	free(text);
	return NULL;
}

/* status: the metric samples summed per rule and role. */
struct status_row {
	char rule[256], role[16];
	unsigned long long handshakes, refused, active, in, out;
};

static struct status_row *row_for(struct status_row *rows, size_t *n,
				  size_t cap, const char *rule,
				  const char *role)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(rows[i].rule, rule) == 0 &&
		    strcmp(rows[i].role, role) == 0)
			return &rows[i];
	if (*n == cap)
		return NULL;
	memset(&rows[*n], 0, sizeof(rows[0]));
	snprintf(rows[*n].rule, sizeof(rows[0].rule), "%s", rule);
	snprintf(rows[*n].role, sizeof(rows[0].role), "%s", role);
	return &rows[(*n)++];
}

static void print_status(const char *text)
{
	static struct status_row rows[512];
	size_t n = 0;

	for (const char *l = text; *l != '\0';) {
		const char *nl = strchr(l, '\n');
		char metric[64], rule[256], role[16];
		unsigned long long v;
		struct status_row *r;

		const char *close = strchr(l, '}');

		if (l[0] != '#' && close != NULL &&
		    (nl == NULL || close < nl) &&
		    sscanf(l, "%63[^{]{rule=\"%255[^\"]\",role=\"%15[^\"]\"",
			   metric, rule, role) == 3 &&
		    sscanf(close + 1, " %llu", &v) == 1 &&
		    (r = row_for(rows, &n, 512, rule, role)) != NULL) {
			if (strcmp(metric, "tlspool_handshakes_total") == 0)
				r->handshakes += v;
			else if (strcmp(metric, "tlspool_refusals_total") == 0)
				r->refused += v;
			else if (strcmp(metric, "tlspool_sessions_active") == 0)
				r->active += v;
			else if (strcmp(metric, "tlspool_bytes_in_total") == 0)
				r->in += v;
			else if (strcmp(metric, "tlspool_bytes_out_total") == 0)
				r->out += v;
		}
		l = nl ? nl + 1 : l + strlen(l);
	}
	printf("%-32s %-6s %10s %8s %6s %14s %14s\n", "rule", "role",
	       "handshakes", "refused", "active", "bytes in", "bytes out");
	for (size_t i = 0; i < n; i++)
		printf("%-32s %-6s %10llu %8llu %6llu %14llu %14llu\n",
		       rows[i].rule, rows[i].role, rows[i].handshakes,
		       rows[i].refused, rows[i].active, rows[i].in, rows[i].out);
}

int ctl_metrics(const struct dconfig *cfg, int summary)
{
	char *text = fetch_metrics(cfg->socket_name);

	if (text == NULL)
		return CTL_EXIT_FAIL;
	if (summary)
		print_status(text);
	else
		fputs(text, stdout);
	free(text);
	return CTL_EXIT_OK;
}

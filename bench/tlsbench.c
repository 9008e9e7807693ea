/* tlsbench -- the measuring program behind bench/run.sh.
 *
 *   tlsbench serve        [--threads K | --epoll] --cert C --key K --prio P
 *   tlsbench bulk-inproc  --cert C --key K --ca CA --prio P --bytes N --dir up|down
 *   tlsbench bulk-plain   --connect H:P [--via-pool] --bytes N --dir up|down
 *   tlsbench hs-inproc    --cert C --key K --ca CA --prio P --count N --parallel K
 *   tlsbench hs-pool      --connect H:P [--threads-mode] --count N --parallel K
 *   tlsbench idle-pool    --connect H:P --pid DAEMONPID --conns N --parallel K
 *
 * Each measuring subcommand prints one line of key=value pairs.
 */
#include "bench.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tlsbench COMMAND [options]\n"
		"commands: serve bulk-inproc bulk-plain hs-inproc hs-pool idle-pool\n"
		"  --cert F --key F --ca F   server certificate, key, client CA\n"
		"  --prio STRING             GnuTLS priority string\n"
		"  --connect HOST:PORT       where the client connects\n"
		"  --remoteid NAME           server name to check (pool clients)\n"
		"  --bytes N[K|M|G]          bulk size        --dir up|down\n"
		"  --count N --parallel K    handshakes, K at a time\n"
		"  --conns N --warmup N      idle connections --pid PID (daemon)\n"
		"  --threads K | --epoll     server mode\n"
		"  --via-pool                bulk-plain: tlspool_starttls itself\n"
		"  --threads-mode            hs-pool: K threads, one process\n");
}

static int parse_uint(const char *s, unsigned *out)
{
	uint64_t v;

	if (bench_parse_size(s, &v) < 0 || v > 0xffffffffu)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_opt(struct bench_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'c': o->cert = arg; return 0;
	case 'k': o->key = arg; return 0;
	case 'a': o->ca = arg; return 0;
	case 'P': o->prio = arg; return 0;
	case 'C': o->connect = arg; return 0;
	case 'r': o->remoteid = arg; return 0;
	case 'b': return bench_parse_size(arg, &o->bytes);
	case 'd':
		if (strcmp(arg, "up") == 0)
			o->dir = BENCH_OP_UP;
		else if (strcmp(arg, "down") == 0)
			o->dir = BENCH_OP_DOWN;
		else
			return -1;
		return 0;
	case 'n': return parse_uint(arg, &o->count);
	case 'K': return parse_uint(arg, &o->parallel);
	case 'N': return parse_uint(arg, &o->conns);
	case 'w': return parse_uint(arg, &o->warmup);
	case 't': return parse_uint(arg, &o->threads);
	case 'p': return parse_uint(arg, (unsigned *)&o->pid);
	case 'e': o->epoll = 1; return 0;
	case 'v': o->via_pool = 1; return 0;
	case 'T': o->threads_mode = 1; return 0;
	default: return -1;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "prio", required_argument, NULL, 'P' },
		{ "connect", required_argument, NULL, 'C' },
		{ "remoteid", required_argument, NULL, 'r' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'K' },
		{ "conns", required_argument, NULL, 'N' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 't' },
		{ "pid", required_argument, NULL, 'p' },
		{ "epoll", no_argument, NULL, 'e' },
		{ "via-pool", no_argument, NULL, 'v' },
		{ "threads-mode", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = {
		.bytes = 64u << 20, .dir = BENCH_OP_UP, .count = 1000,
		.parallel = 1, .conns = 1000, .warmup = 20,
	};
	const char *cmd;
	int opt;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (parse_opt(&o, opt, optarg) < 0) {
			usage(stderr);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(&o);
	if (strcmp(cmd, "bulk-inproc") == 0)
		return cmd_bulk_inproc(&o);
	if (strcmp(cmd, "bulk-plain") == 0)
		return cmd_bulk_plain(&o);
	if (strcmp(cmd, "hs-inproc") == 0)
		return cmd_hs_inproc(&o);
	if (strcmp(cmd, "hs-pool") == 0)
		return cmd_hs_pool(&o);
	if (strcmp(cmd, "idle-pool") == 0)
		return cmd_idle_pool(&o);
	usage(stderr);
	return 2;
}

/* crank_report_print: the CLI's output of check, plan and apply in the
 * formats of crank(1); `crank serve` has its own (crank_api.c). */
#include <stdio.h>
#include <strings.h>

#include "crank_main.h"

static void p_diag(void *ctx, const char *file, unsigned line, unsigned col,
		   const char *sev, const char *msg)
{
	(void)ctx;
	if (line == 0)
		fprintf(stderr, "%s: %s: %s\n", file, sev, msg);
	else
		fprintf(stderr, "%s:%u:%u: %s: %s\n", file, line, col, sev, msg);
}

static void p_error(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "crank: %s\n", msg);
}

static void p_plan_head(void *ctx, const char *base, const char *pk)
{
	(void)ctx;
	printf("plan for %s (signing key %s):\n", base, pk);
}

static void p_leave(void *ctx, const char *dn)
{
	(void)ctx;
	printf("  leave    %s: not a policy entry\n", dn);
}

static void p_change(void *ctx, const char *op, const char *label,
		     const char *dn, const struct crank_report_attr *a, int n,
		     const char *was, const char *now)
{
	(void)ctx;
	printf("  %-8s %s\n           dn: %s\n", op, label, dn);
	for (int i = 0; i < n; i++) {
		printf("           %s: %s -> %s\n", a[i].type, a[i].before,
		       a[i].after);
		if (was != NULL && strcasecmp(a[i].type, "tlsPoolPolicyRecord") == 0)
			printf("             was: %s\n             now: %s\n", was,
			       now);
	}
}

static void p_result(void *ctx, const char *op, const char *label,
		     const char *dn, const char *err)
{
	(void)ctx;
	if (err == NULL)
		printf("%s %s: ok (%s)\n", op, label, dn);
	else
		printf("%s %s: FAILED: %s (%s)\n", op, label, err, dn);
	fflush(stdout);
}

static void p_summary(void *ctx, int apply, const unsigned c[5],
		      unsigned failed)
{
	(void)ctx;
	if (apply)
		printf("apply: %u added, %u modified, %u replaced, %u deleted, "
		       "%u unchanged, %u failed\n", c[1], c[2], c[3], c[4], c[0],
		       failed);
	else
		printf("plan: %u to add, %u to modify, %u to replace, "
		       "%u to delete, %u unchanged\n", c[1], c[2], c[3], c[4],
		       c[0]);
}

const struct crank_report crank_report_print = {
	.diag = p_diag,
	.error = p_error,
	.plan_head = p_plan_head,
	.leave = p_leave,
	.change = p_change,
	.result = p_result,
	.summary = p_summary,
};

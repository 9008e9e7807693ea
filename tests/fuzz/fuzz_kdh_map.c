/* libFuzzer target for daemon/kdh_map (the kerberos_realm_map parser and
 * the principal mapping).
 *
 * The input is split at its first newline into a realm map text and a
 * principal "comp[/comp...]@REALM".  Checked:
 *  - a refused map leaves an empty map and says "entry N: ...";
 *  - an accepted map has at most KDH_MAP_MAX entries, distinct realms
 *    and domains, every domain in lower case, and each realm's domain
 *    chooses that realm (or one with a longer matching domain);
 *  - a mapped principal is a DoNAI (donai_parse accepts it unchanged)
 *    whose domain is the realm's domain or lies inside it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kdh_map.h"
#include "fuzz_require.h"

#define MAXIN 2048

static void check_map(const struct kdh_map *m)
{
	REQUIRE(m->n <= KDH_MAP_MAX);
	for (unsigned i = 0; i < m->n; i++) {
		const char *r;

		for (const char *p = m->e[i].domain; *p; p++)
			REQUIRE(!(*p >= 'A' && *p <= 'Z'));
		for (unsigned j = 0; j < i; j++) {
			REQUIRE(strcmp(m->e[i].realm, m->e[j].realm) != 0);
			REQUIRE(strcmp(m->e[i].domain, m->e[j].domain) != 0);
		}
		REQUIRE(strcmp(kdh_map_domain(m, m->e[i].realm),
			       m->e[i].domain) == 0);
		r = kdh_map_realm_for_host(m, m->e[i].domain);
		REQUIRE(r != NULL);
		REQUIRE(strlen(kdh_map_domain(m, r)) >= strlen(m->e[i].domain));
	}
}

static void check_principal(const struct kdh_map *m, char *p)
{
	char *at = strrchr(p, '@'), *comp[4], out[DONAI_BUFSIZE], why[128];
	const char *cp[4];
	unsigned n = 0;
	struct donai d;

	if (at == NULL)
		return;
	*at = '\0';
	for (char *s = p; n < 4; n++) {
		char *slash = strchr(s, '/');

		comp[n] = s;
		if (slash == NULL) {
			n++;
			break;
		}
		*slash = '\0';
		s = slash + 1;
	}
	for (unsigned i = 0; i < n; i++)
		cp[i] = comp[i];
	if (kdh_map_principal(m, cp, n, at + 1, out, sizeof(out), why,
			      sizeof(why)) < 0) {
		REQUIRE(why[0] != '\0');
		return;
	}
	REQUIRE(donai_parse(out, &d, why, sizeof(why)) == 0);
	{
		char again[DONAI_BUFSIZE];
		const char *dom = kdh_map_domain(m, at + 1);
		size_t dl, ol;

		REQUIRE(donai_format(&d, again, sizeof(again)) >= 0);
		REQUIRE(strcmp(again, out) == 0);
		REQUIRE(dom != NULL);
		dl = strlen(dom);
		ol = strlen(d.domain);
		REQUIRE(ol >= dl && strcmp(d.domain + ol - dl, dom) == 0);
		REQUIRE(ol == dl || d.domain[ol - dl - 1] == '.');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[MAXIN + 1], why[128], *nl;
	struct kdh_map m;

	if (size > MAXIN || memchr(data, '\0', size) != NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	why[0] = '\0';
	if (kdh_map_parse(buf, &m, why, sizeof(why)) < 0) {
		REQUIRE(m.n == 0);
		REQUIRE(strncmp(why, "entry ", 6) == 0);
		return 0;
	}
	check_map(&m);
	if (nl != NULL)
		check_principal(&m, nl + 1);
	return 0;
}

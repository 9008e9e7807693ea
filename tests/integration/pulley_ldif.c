/* pulley_ldif -- test helper: write a signed tlsPool policy entry as
 * LDIF, the way crank will (doc/ldap-policy.md): the record bytes from
 * lib/polrec, the Ed25519 signature over pulley/psign's canonical form.
 *
 *   pulley_ldif -g SEEDFILE            new key: seed to SEEDFILE, prints
 *                                      the public key (hex)
 *   pulley_ldif [-s SEEDFILE] [-m] [-T] DN KIND ARGS...
 *     KIND policy SELECTOR ROLE VALEXP  connection policy
 *          disclose SELECTOR ID...      identity disclosure
 *          pin HASH [ID]                pinned key
 *          revoked HASH                 revoked key
 *   -s  sign with the key in SEEDFILE   -m  LDIF modify (replace)
 *   -T  tamper: flip a bit of the record after signing
 *   -J  junk: a record that does not decode, signed (a malformed entry)
 *   -n N  write N entries: "%d" in DN and ARGS becomes 1..N (benchmarks)
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "polrec.h"
#include "psign.h"

#define V(s) { (const uint8_t *)(s), strlen(s) }

static void b64(const char *attr, const uint8_t *v, size_t n)
{
	char *out = malloc(sodium_base64_ENCODED_LEN(n,
			sodium_base64_VARIANT_ORIGINAL));

	sodium_bin2base64(out, sodium_base64_ENCODED_LEN(n,
			  sodium_base64_VARIANT_ORIGINAL), v, n,
			  sodium_base64_VARIANT_ORIGINAL);
	printf("%s:: %s\n", attr, out);
	free(out);
}

static int read_seed(const char *path, uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];
	FILE *f = fopen(path, "rb");

	if (f == NULL || fread(seed, 1, 32, f) != 32) {
		fprintf(stderr, "pulley_ldif: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	crypto_sign_seed_keypair(pk, sk, seed);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: pulley_ldif -g SEEDFILE | [-s SEEDFILE] [-m] "
		"[-T] DN policy|disclose|pin|revoked ARGS...\n");
	exit(2);
}

static int junk;

static int one(int argc, char **argv, const char *seedf, int modify,
	       int tamper);

/* Replace the first "%d" in s by i (into buf). */
static const char *subst(const char *s, int i, char *buf, size_t cap)
{
	const char *p = strstr(s, "%d");

	if (p == NULL)
		return s;
	snprintf(buf, cap, "%.*s%d%s", (int)(p - s), s, i, p + 2);
	return buf;
}

int main(int argc, char **argv)
{
	const char *seedf = NULL, *gen = NULL;
	int opt, modify = 0, tamper = 0, n = 0, i, j;

	if (sodium_init() < 0)
		return 1;
	while ((opt = getopt(argc, argv, "g:s:mTJn:")) != -1) {
		switch (opt) {
		case 'J': junk = 1; break;
		case 'g': gen = optarg; break;
		case 's': seedf = optarg; break;
		case 'm': modify = 1; break;
		case 'T': tamper = 1; break;
		case 'n': n = atoi(optarg); break;
		default: usage();
		}
	}
	if (gen != NULL) {
		uint8_t seed[32], pk[32], sk[64];
		char hex[65];
		FILE *f = fopen(gen, "wb");

		randombytes_buf(seed, sizeof(seed));
		if (f == NULL || fwrite(seed, 1, 32, f) != 32 || fclose(f))
			return 1;
		crypto_sign_seed_keypair(pk, sk, seed);
		sodium_bin2hex(hex, sizeof(hex), pk, 32);
		printf("%s\n", hex);
		return 0;
	}
	argc -= optind;
	argv += optind;
	if (n <= 0)
		return one(argc, argv, seedf, modify, tamper);
	for (i = 1; i <= n; i++) {
		char bufs[16][512], *av[16];

		if (argc > 16)
			usage();
		for (j = 0; j < argc; j++)
			av[j] = (char *)subst(argv[j], i, bufs[j],
					      sizeof(bufs[j]));
		if (one(argc, av, seedf, modify, tamper) != 0)
			return 1;
	}
	return 0;
}

static int one(int argc, char **argv, const char *seedf, int modify,
	       int tamper)
{
	const char *dn, *kind;
	uint8_t pk[32], sk[64], sig[64], *rec = NULL;
	size_t reclen = 0, i;
	int rc;
	char why[256] = "";
	struct pscript_value ocv[2], k1[1], k2[1], rv[1];
	struct pscript_attr a[4];
	size_t na = 0;
	const char *oc, *a1 = NULL, *a2 = NULL, *v1 = NULL, *v2 = NULL;

	if (argc < 3)
		usage();
	dn = argv[0];
	kind = argv[1];
	argv += 2;
	argc -= 2;
	if (strcmp(kind, "policy") == 0 && argc == 3) {
		struct polrec_policy p = { 0 };
		int role = polrec_role_parse(argv[1]);

		p.valexp = argv[2];
		if (role < 0)
			usage();
		rc = polrec_policy_encode(&p, &rec, &reclen, why, sizeof(why));
		oc = "tlsPoolValidationRequirements";
		a1 = "tlsPoolSelector"; v1 = argv[0];
		a2 = "tlsPoolSupportedRole"; v2 = argv[1];
	} else if (strcmp(kind, "disclose") == 0 && argc >= 2) {
		struct polrec_disclose d = { argv + 1, (size_t)argc - 1 };

		rc = polrec_disclose_encode(&d, &rec, &reclen, why,
					    sizeof(why));
		oc = "tlsPoolIdentityDisclosure";
		a1 = "tlsPoolSelector"; v1 = argv[0];
	} else if (strcmp(kind, "pin") == 0 && (argc == 1 || argc == 2)) {
		struct polrec_trust t = { .kind = POLREC_TRUST_PIN,
					  .flags = POLREC_TRUSTF_SERVERS };

		t.bound_id = argc == 2 ? argv[1] : NULL;
		rc = polrec_trust_encode(&t, &rec, &reclen, why, sizeof(why));
		oc = "tlsPoolTrustedIssuer";
		a1 = "tlsPoolTrustKind"; v1 = "pin";
		a2 = "tlsPoolKeyHash"; v2 = argv[0];
	} else if (strcmp(kind, "revoked") == 0 && argc == 1) {
		struct polrec_trust t = { .kind = POLREC_TRUST_REVOKED };

		rc = polrec_trust_encode(&t, &rec, &reclen, why, sizeof(why));
		oc = "tlsPoolTrustedIssuer";
		a1 = "tlsPoolTrustKind"; v1 = "revoked";
		a2 = "tlsPoolKeyHash"; v2 = argv[0];
	} else {
		usage();
	}
	if (rc < 0) {
		fprintf(stderr, "pulley_ldif: %s\n", why);
		return 1;
	}
	if (junk && reclen > 3)
		reclen = 3;	/* version, type and half a field */
	ocv[0] = (struct pscript_value)V("top");
	ocv[1] = (struct pscript_value)V(oc);
	a[na++] = (struct pscript_attr){ "objectClass", 2, ocv };
	k1[0] = (struct pscript_value)V(v1);
	a[na++] = (struct pscript_attr){ a1, 1, k1 };
	if (a2 != NULL) {
		k2[0] = (struct pscript_value)V(v2);
		a[na++] = (struct pscript_attr){ a2, 1, k2 };
	}
	rv[0] = (struct pscript_value){ rec, reclen };
	a[na++] = (struct pscript_attr){ "tlsPoolPolicyRecord", 1, rv };
	if (seedf != NULL) {
		if (read_seed(seedf, pk, sk) < 0)
			return 1;
		if (psign_sign(a, na, sk, sig) < 0)
			return 1;
	}
	if (tamper)
		rec[reclen - 1] ^= 1;
	printf("dn: %s\n", dn);
	if (modify) {
		printf("changetype: modify\nreplace: tlsPoolPolicyRecord\n");
		b64("tlsPoolPolicyRecord", rec, reclen);
		if (seedf != NULL) {
			printf("-\nreplace: tlsPoolSignature\n");
			b64("tlsPoolSignature", sig, 64);
		}
		printf("-\n\n");
	} else {
		for (i = 0; i < na - 1; i++)
			for (size_t j = 0; j < a[i].nvals; j++)
				printf("%s: %.*s\n", a[i].type,
				       (int)a[i].vals[j].len,
				       (const char *)a[i].vals[j].data);
		b64("tlsPoolPolicyRecord", rec, reclen);
		if (seedf != NULL)
			b64("tlsPoolSignature", sig, 64);
		printf("\n");
	}
	free(rec);
	return 0;
}

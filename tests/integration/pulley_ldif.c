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
 *   -s  sign with the key in SEEDFILE   -m  LDIF modify (replace)
 *   -T  tamper: flip a bit of the record after signing
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
		"[-T] DN policy|disclose|pin ARGS...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *seedf = NULL, *gen = NULL, *dn, *kind;
	uint8_t pk[32], sk[64], sig[64], *rec = NULL;
	size_t reclen = 0, i;
	int opt, modify = 0, tamper = 0, rc;
	char why[256] = "";
	struct pscript_value ocv[2], k1[1], k2[1], rv[1];
	struct pscript_attr a[4];
	size_t na = 0;
	const char *oc, *a1 = NULL, *a2 = NULL, *v1 = NULL, *v2 = NULL;

	if (sodium_init() < 0)
		return 1;
	while ((opt = getopt(argc, argv, "g:s:mT")) != -1) {
		switch (opt) {
		case 'g': gen = optarg; break;
		case 's': seedf = optarg; break;
		case 'm': modify = 1; break;
		case 'T': tamper = 1; break;
		default: usage();
		}
	}
	if (gen != NULL) {
		uint8_t seed[32];
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
	if (argc - optind < 3)
		usage();
	dn = argv[optind];
	kind = argv[optind + 1];
	argv += optind + 2;
	argc -= optind + 2;
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
	} else {
		usage();
	}
	if (rc < 0) {
		fprintf(stderr, "pulley_ldif: %s\n", why);
		return 1;
	}
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

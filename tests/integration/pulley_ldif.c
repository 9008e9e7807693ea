/* pulley_ldif -- test helper: write a signed tlsPool policy entry as
 * LDIF, the way crank will (doc/ldap-policy.md): the record bytes from
 * lib/polrec, the Ed25519 signature over pulley/psign's canonical form.
 *
 *   pulley_ldif -g SEEDFILE            new key: seed to SEEDFILE, prints
 *                                      the public key (hex)
 *   pulley_ldif [-s SEEDFILE] [-m] [-T] DN KIND ARGS...
 *     KIND policy SELECTOR ROLE VALEXP [KINDS [CLIENTAUTH]]
 *                                      connection policy; KINDS as
 *                                      "x509,rawpk" or "any"; CLIENTAUTH
 *                                      none|optional|required
 *          disclose SELECTOR ID...      identity disclosure
 *          localid ID KIND ROLE [PEMFILE] [KEYREF]
 *                                      local identity: x509 PEMFILE holds
 *                                      the chain (leaf first), rawpk a
 *                                      PUBLIC KEY (the SPKI), both need
 *                                      KEYREF (absolute key file or
 *                                      pkcs11: URI); krb5 takes no
 *                                      PEMFILE and an optional keytab
 *          pin HASH [ID|- [PEERS]]      pinned key, bound to ID ("-":
 *                                      any); PEERS clients|servers|both
 *                                      (default servers)
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

/* Read every "-----BEGIN label-----" block of a PEM file into blobs
 * (DER, in file order).  0, or -1 with a message. */
static int read_pem(const char *path, const char *label,
		    struct polrec_blob **out, size_t *nout)
{
	char begin[64], end[64], *text = NULL, *p, *q;
	struct polrec_blob *v = NULL, *grown;
	size_t n = 0, len = 0, cap = 0, got;
	FILE *f = fopen(path, "r");
	int rc = -1;

	if (f == NULL) {
		fprintf(stderr, "pulley_ldif: cannot read %s\n", path);
		return -1;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *t = realloc(text, cap = 2 * cap + 8192);

			if (t == NULL)
				goto out;
			text = t;
		}
		got = fread(text + len, 1, cap - len - 1, f);
		if (got == 0)
			break;
		len += got;
	}
	text[len] = '\0';
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	for (p = strstr(text, begin); p != NULL; p = strstr(q, begin)) {
		p += strlen(begin);
		q = strstr(p, end);
		if (q == NULL)
			break;
		grown = realloc(v, (n + 1) * sizeof(*v));
		if (grown == NULL)
			goto out;
		v = grown;
		v[n].data = malloc((size_t)(q - p));
		if (v[n].data == NULL ||
		    sodium_base642bin(v[n].data, (size_t)(q - p), p,
				      (size_t)(q - p), " \t\r\n", &v[n].len,
				      NULL, sodium_base64_VARIANT_ORIGINAL)) {
			free(v[n].data);
			fprintf(stderr, "pulley_ldif: %s: bad base64\n", path);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "pulley_ldif: %s: no %s\n", path, label);
		goto out;
	}
	*out = v;
	*nout = n;
	v = NULL;
	n = 0;
	rc = 0;
out:
	while (n > 0)
		free(v[--n].data);
	free(v);
	free(text);
	fclose(f);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: pulley_ldif -g SEEDFILE | [-s SEEDFILE] [-m] "
		"[-T] DN policy|disclose|localid|pin|revoked ARGS...\n");
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

/* localid ID KIND ROLE [PEMFILE] [KEYREF] */
static int localid_rec(int argc, char **argv, uint8_t **rec, size_t *reclen,
		       char *why, size_t whylen)
{
	struct polrec_localid r = { 0 };
	int kind, role, rc, a = 3;
	size_t i;

	kind = argc >= 3 ? polrec_cred_parse(argv[1]) : -EINVAL;
	role = argc >= 3 ? polrec_role_parse(argv[2]) : -EINVAL;
	if (kind < 0 || role < 0)
		usage();
	r.kind = (enum polrec_cred)kind;
	r.roles = (unsigned)role;
	if (kind != POLREC_CRED_KRB5) {
		if (argc != 5)
			usage();
		if (read_pem(argv[a++], kind == POLREC_CRED_X509 ?
			     "CERTIFICATE" : "PUBLIC KEY", &r.certs,
			     &r.ncerts) < 0)
			return -1;
	} else if (argc > 4) {
		usage();
	}
	if (a < argc) {
		r.keyref = argv[a];
		r.keyref_type = strncmp(argv[a], "pkcs11:", 7) == 0 ?
				POLREC_KEYREF_PKCS11 : POLREC_KEYREF_FILE;
	}
	rc = polrec_localid_encode(&r, rec, reclen, why, whylen);
	for (i = 0; i < r.ncerts; i++)
		free(r.certs[i].data);
	free(r.certs);
	return rc;
}

static int one(int argc, char **argv, const char *seedf, int modify,
	       int tamper)
{
	const char *dn, *kind;
	uint8_t pk[32], sk[64], sig[64], *rec = NULL;
	size_t reclen = 0, i;
	int rc;
	char why[256] = "";
	struct pscript_value ocv[2], kvv[3], rv[1];
	struct pscript_attr a[5];
	size_t na = 0, nk = 0;
	const char *oc, *kt[3], *kv[3];

	if (argc < 3)
		usage();
	dn = argv[0];
	kind = argv[1];
	argv += 2;
	argc -= 2;
	if (strcmp(kind, "policy") == 0 && argc >= 3 && argc <= 5) {
		struct polrec_policy p = { 0 };
		int role = polrec_role_parse(argv[1]), ca = 0;

		p.valexp = argv[2];
		if (argc >= 4 && polrec_kinds_parse(argv[3], &p.kinds) < 0)
			usage();
		if (argc == 5 && (ca = polrec_cauth_parse(argv[4])) < 0)
			usage();
		p.client_auth = (enum polrec_client_auth)ca;
		if (role < 0)
			usage();
		rc = polrec_policy_encode(&p, &rec, &reclen, why, sizeof(why));
		oc = "tlsPoolValidationRequirements";
		kt[nk] = "tlsPoolSelector"; kv[nk++] = argv[0];
		kt[nk] = "tlsPoolSupportedRole"; kv[nk++] = argv[1];
	} else if (strcmp(kind, "disclose") == 0 && argc >= 2) {
		struct polrec_disclose d = { argv + 1, (size_t)argc - 1 };

		rc = polrec_disclose_encode(&d, &rec, &reclen, why,
					    sizeof(why));
		oc = "tlsPoolIdentityDisclosure";
		kt[nk] = "tlsPoolSelector"; kv[nk++] = argv[0];
	} else if (strcmp(kind, "localid") == 0 && argc >= 3) {
		rc = localid_rec(argc, argv, &rec, &reclen, why, sizeof(why));
		if (rc == -1)
			return 1;	/* read_pem said why */
		oc = "tlsPoolLocalUserCredential";
		kt[nk] = "tlsPoolIdentity"; kv[nk++] = argv[0];
		kt[nk] = "tlsPoolCredentialType"; kv[nk++] = argv[1];
		kt[nk] = "tlsPoolSupportedRole"; kv[nk++] = argv[2];
	} else if (strcmp(kind, "pin") == 0 && argc >= 1 && argc <= 3) {
		struct polrec_trust t = { .kind = POLREC_TRUST_PIN,
					  .flags = POLREC_TRUSTF_SERVERS };

		if (argc >= 2 && strcmp(argv[1], "-") != 0)
			t.bound_id = argv[1];
		if (argc == 3) {
			/* peers: clients, servers, both */
			int r = strcmp(argv[2], "clients") == 0 ?
				(int)POLREC_TRUSTF_CLIENTS
			  : strcmp(argv[2], "servers") == 0 ?
				(int)POLREC_TRUSTF_SERVERS
			  : strcmp(argv[2], "both") == 0 ?
				(int)POLREC_TRUSTF_MASK : -1;
			if (r < 0)
				usage();
			t.flags = (uint32_t)r;
		}
		rc = polrec_trust_encode(&t, &rec, &reclen, why, sizeof(why));
		oc = "tlsPoolTrustedIssuer";
		kt[nk] = "tlsPoolTrustKind"; kv[nk++] = "pin";
		kt[nk] = "tlsPoolKeyHash"; kv[nk++] = argv[0];
		if (t.bound_id != NULL) {
			kt[nk] = "tlsPoolIdentity"; kv[nk++] = t.bound_id;
		}
	} else if (strcmp(kind, "revoked") == 0 && argc == 1) {
		struct polrec_trust t = { .kind = POLREC_TRUST_REVOKED };

		rc = polrec_trust_encode(&t, &rec, &reclen, why, sizeof(why));
		oc = "tlsPoolTrustedIssuer";
		kt[nk] = "tlsPoolTrustKind"; kv[nk++] = "revoked";
		kt[nk] = "tlsPoolKeyHash"; kv[nk++] = argv[0];
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
	for (i = 0; i < nk; i++) {
		kvv[i] = (struct pscript_value)V(kv[i]);
		a[na++] = (struct pscript_attr){ kt[i], 1, &kvv[i] };
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

/* fuzz_require.h -- the invariant check every fuzz target uses: a
 * failed REQUIRE prints file, line and condition and aborts, which
 * libFuzzer reports as a crash with the input that caused it. */
#ifndef TP_FUZZ_REQUIRE_H
#define TP_FUZZ_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond)                                                     \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",  \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

#endif

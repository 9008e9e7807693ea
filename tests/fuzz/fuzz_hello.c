/* libFuzzer target for the ClientHello server-name reader (daemon/hello):
 * any bytes, any length; the answer is one of the documented values and
 * a found name is a NUL-terminated string inside the buffer given. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	char sni[128];
	int rc;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);	/* exact size: overreads are caught */
	memset(sni, 'x', sizeof(sni));
	rc = hello_sni(copy, size, sni, sizeof(sni));
	if (rc != 1 && rc != 0 && rc != -EAGAIN && rc != -EPROTO)
		abort();
	if (memchr(sni, '\0', sizeof(sni)) == NULL)
		abort();
	if (rc == 1 && sni[0] == '\0')
		abort();
	free(copy);
	return 0;
}

/* client_calls -- the simple request/reply calls of libtlspool: ping,
 * control detach/reattach, PRNG (keying material exporter) and INFO.
 */
#include <errno.h>
#include <string.h>

#include <tlspool/starttls.h>

#include "client_pool.h"
#include "codec.h"

int tlspool_ping(pingpool_t *pingdata)
{
	struct tlspool_command cmd;

	if (pingdata == NULL ||
	    !codec_str_ok(pingdata->YYYYMMDD_producer,
			  sizeof(pingdata->YYYYMMDD_producer))) {
		errno = EINVAL;
		return -1;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_cmd = PIOC_PING_V2;
	cmd.pio_data.pioc_ping = *pingdata;
	if (client_pool_call(&cmd) < 0)
		return -1;
	if (cmd.pio_cmd != PIOC_PING_V2) {
		errno = EPROTO;
		return -1;
	}
	*pingdata = cmd.pio_data.pioc_ping;
	return 0;
}

static int client_calls_control(uint32_t code, const uint8_t *ctlkey)
{
	struct tlspool_command cmd;

	if (ctlkey == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_cmd = code;
	memcpy(cmd.pio_data.pioc_control.ctlkey, ctlkey, TLSPOOL_CTLKEYLEN);
	if (client_pool_call(&cmd) < 0)
		return -1;
	if (cmd.pio_cmd != PIOC_SUCCESS_V2) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int tlspool_control_detach(uint8_t *ctlkey)
{
	return client_calls_control(PIOC_CONTROL_DETACH_V2, ctlkey);
}

int tlspool_control_reattach(uint8_t *ctlkey)
{
	return client_calls_control(PIOC_CONTROL_REATTACH_V2, ctlkey);
}

/* Lay out ctlkey | label | context in the PRNG request. */
static int client_calls_prng_fill(struct pioc_prng *p, const char *label,
				  uint16_t ctxvalue_len,
				  const uint8_t *opt_ctxvalue, uint16_t prng_len,
				  const uint8_t *ctlkey)
{
	size_t in1, in2;

	if (label == NULL || ctlkey == NULL || prng_len > TLSPOOL_PRNGBUFLEN)
		return -EINVAL;
	in1 = strlen(label);
	in2 = opt_ctxvalue != NULL ? ctxvalue_len : 0;
	if (in1 > TLSPOOL_PRNGBUFLEN - TLSPOOL_CTLKEYLEN ||
	    in2 > TLSPOOL_PRNGBUFLEN - TLSPOOL_CTLKEYLEN - in1)
		return -EINVAL;
	p->in1_len = (int16_t)in1;
	p->in2_len = opt_ctxvalue != NULL ? (int16_t)in2 : -1;
	p->prng_len = (int16_t)prng_len;
	memcpy(p->buffer, ctlkey, TLSPOOL_CTLKEYLEN);
	memcpy(p->buffer + TLSPOOL_CTLKEYLEN, label, in1);
	if (in2 > 0)
		memcpy(p->buffer + TLSPOOL_CTLKEYLEN + in1, opt_ctxvalue, in2);
	return 0;
}

int tlspool_prng(char *label, uint16_t ctxvalue_len, uint8_t *opt_ctxvalue,
		 uint16_t prng_len, uint8_t *prng_buf, uint8_t *ctlkey)
{
	struct tlspool_command cmd;
	int rc;

	if (prng_buf == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_cmd = PIOC_PRNG_V2;
	rc = client_calls_prng_fill(&cmd.pio_data.pioc_prng, label,
				    ctxvalue_len, opt_ctxvalue, prng_len,
				    ctlkey);
	if (rc < 0) {
		errno = -rc;
		goto fail;
	}
	if (client_pool_call(&cmd) < 0)
		goto fail;
	if (cmd.pio_cmd != PIOC_PRNG_V2 ||
	    cmd.pio_data.pioc_prng.prng_len != (int16_t)prng_len) {
		errno = EPROTO;
		goto fail;
	}
	memcpy(prng_buf, cmd.pio_data.pioc_prng.buffer, prng_len);
	memset(&cmd, 0, sizeof(cmd));
	return 0;
fail:
	/* Zeroes stand out as anything but random material. */
	rc = errno;
	if (prng_len <= TLSPOOL_PRNGBUFLEN)
		memset(prng_buf, 0, prng_len);
	memset(&cmd, 0, sizeof(cmd));
	errno = rc;
	return -1;
}

int tlspool_info(uint32_t info_kind, uint8_t infobuf[TLSPOOL_INFOBUFLEN],
		 uint16_t *infolenptr, uint8_t *ctlkey)
{
	struct tlspool_command cmd;
	struct pioc_info *inf = &cmd.pio_data.pioc_info;
	uint16_t len;

	if (infobuf == NULL || infolenptr == NULL || ctlkey == NULL ||
	    (*infolenptr > TLSPOOL_INFOBUFLEN &&
	     *infolenptr != PIOK_INFO_LEN_QUERY)) {
		errno = EINVAL;
		return -1;
	}
	len = *infolenptr;
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_cmd = PIOC_INFO_V2;
	memcpy(inf->ctlkey, ctlkey, TLSPOOL_CTLKEYLEN);
	inf->info_kind = info_kind;
	inf->len = len;
	if (len != PIOK_INFO_LEN_QUERY)
		memcpy(inf->buffer, infobuf, len);
	if (client_pool_call(&cmd) < 0)
		return -1;
	if (cmd.pio_cmd == PIOC_SUCCESS_V2 && len != PIOK_INFO_LEN_QUERY)
		return 0;	/* a check that matched */
	if (cmd.pio_cmd != PIOC_INFO_V2 || inf->len == PIOK_INFO_LEN_QUERY) {
		errno = EPROTO;
		return -1;
	}
	/* codec_check has bounded inf->len by TLSPOOL_INFOBUFLEN */
	*infolenptr = inf->len;
	memcpy(infobuf, inf->buffer, inf->len);
	return 0;
}

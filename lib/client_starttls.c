/* client_starttls -- tlspool_starttls(): hand a connection to the daemon.
 *
 * The request carries cryptfd as SCM_RIGHTS.  The daemon may call back
 * with STARTTLS_LOCALID (namedconnect may change the identity; the fd
 * it returns accepts it) and PLAINTEXT_CONNECT (answered with the
 * plaintext descriptor), and finally replies STARTTLS
 * with the authenticated identities, or ERROR.
 */
#include <errno.h>
#include <string.h>

#include <tlspool/starttls.h>

#include "client_pool.h"
#include "codec.h"
#include "poolconn.h"

typedef int (*client_starttls_cb)(starttls_t *tlsdata, void *privdata);

struct client_starttls_ctx {
	struct client_pool_req req;
	starttls_t *tlsdata;
	void *privdata;
	client_starttls_cb namedconnect;
	poolconn_sock_t appfd;	/* our socketpair end without namedconnect */
};

static int client_starttls_socktype(const starttls_t *st)
{
	if ((st->flags & PIOF_STARTTLS_DTLS) || st->ipproto == IPPROTO_UDP)
		return SOCK_DGRAM;
	if (st->ipproto == IPPROTO_SCTP)
		return SOCK_SEQPACKET;
	return SOCK_STREAM;
}

/* Refuse a callback with an ERROR answer that keeps reqid and cbid. */
static int client_starttls_refuse(struct client_starttls_ctx *c,
				  struct tlspool_command *cmd, int err,
				  const char *what)
{
	codec_set_error(cmd, err, "%s (errno %d)", what, err);
	return client_pool_send(&c->req, cmd, POOLCONN_NOSOCK);
}

/* Answer PLAINTEXT_CONNECT with the plaintext descriptor. */
static int client_starttls_plaintext(struct client_starttls_ctx *c,
				     struct tlspool_command *cmd)
{
	poolconn_sock_t passfd, sv[2];
	int rc, err;

	if (c->namedconnect != NULL) {
		*c->tlsdata = cmd->pio_data.pioc_starttls;
		errno = 0;
		rc = c->namedconnect(c->tlsdata, c->privdata);
		passfd = POOLCONN_SOCK(rc);
		if (rc < 0)
			return client_starttls_refuse(c, cmd,
						      errno ? errno : EIO,
						      "namedconnect failed");
		/* The application may have adjusted the fields. */
		cmd->pio_data.pioc_starttls = *c->tlsdata;
	} else {
		if (c->appfd != POOLCONN_NOSOCK)
			return client_starttls_refuse(c, cmd, EALREADY,
				"plaintext connection already supplied");
		rc = poolconn_socketpair(
			client_starttls_socktype(&cmd->pio_data.pioc_starttls),
			sv);
		if (rc < 0)
			return client_starttls_refuse(c, cmd, -rc,
						      "socketpair failed");
		c->appfd = sv[0];
		passfd = sv[1];
	}
	rc = client_pool_send(&c->req, cmd, passfd);
	err = errno;
	poolconn_sock_close(passfd);	/* the daemon holds its own copy */
	errno = err;
	return rc;
}

/* Wait for the final reply, answering callbacks.  0 or -1/errno; the
 * final STARTTLS reply is left in cmd. */
static int client_starttls_loop(struct client_starttls_ctx *c,
				struct tlspool_command *cmd)
{
	poolconn_sock_t fd;
	int rc;

	for (;;) {
		if (client_pool_recv(&c->req, cmd, &fd) < 0)
			return -1;
		poolconn_sock_close(fd);	/* the daemon never sends one */
		switch (cmd->pio_cmd) {
		case PIOC_STARTTLS_LOCALID_V2:
			/* As in the ARPA2 library: namedconnect sees the
			 * proposed identity, may change it, and the fd it
			 * returns also accepts it.  Without namedconnect the
			 * proposal is approved as is. */
			if (c->namedconnect != NULL)
				rc = client_starttls_plaintext(c, cmd);
			else
				rc = client_pool_send(&c->req, cmd,
						      POOLCONN_NOSOCK);
			if (rc < 0)
				return -1;
			break;
		case PIOC_PLAINTEXT_CONNECT_V2:
			if (client_starttls_plaintext(c, cmd) < 0)
				return -1;
			break;
		case PIOC_STARTTLS_V2:
			return 0;
		case PIOC_ERROR_V2:
			return client_pool_errno(cmd);
		default:
			if (cmd->pio_cbid != 0) {
				if (client_starttls_refuse(c, cmd, ENOTSUP,
					"unsupported callback") < 0)
					return -1;
				break;
			}
			errno = EPROTO;
			return -1;
		}
	}
}

static int client_starttls_check(int cryptfd, const starttls_t *st)
{
	if (cryptfd < 0 || st == NULL ||
	    !codec_str_ok(st->localid, sizeof(st->localid)) ||
	    !codec_str_ok(st->remoteid, sizeof(st->remoteid)) ||
	    !codec_str_ok((const char *)st->service, sizeof(st->service))) {
		errno = EINVAL;
		return -1;
	}
	if (!(st->flags & PIOF_STARTTLS_RENEGOTIATE) &&
	    poolconn_sock_check(POOLCONN_SOCK(cryptfd)) < 0) {
		errno = EBADF;
		return -1;
	}
	return 0;
}

int tlspool_starttls(int cryptfd, starttls_t *tlsdata, void *privdata,
		     int namedconnect(starttls_t *tlsdata, void *privdata))
{
	struct client_starttls_ctx c = {
		.tlsdata = tlsdata, .privdata = privdata,
		.namedconnect = namedconnect, .appfd = POOLCONN_NOSOCK,
	};
	struct tlspool_command cmd;
	uint8_t ctlkey[TLSPOOL_CTLKEYLEN];
	poolconn_sock_t passfd;
	int rc = -1, err;

	if (client_starttls_check(cryptfd, tlsdata) < 0)
		return -1;
	if (client_pool_ctlkey_fill(tlsdata->ctlkey) < 0)
		return -1;
	memcpy(ctlkey, tlsdata->ctlkey, sizeof(ctlkey));
	memset(&cmd, 0, sizeof(cmd));
	cmd.pio_cmd = PIOC_STARTTLS_V2;
	cmd.pio_data.pioc_starttls = *tlsdata;
	if (client_pool_begin(&c.req) < 0)
		return -1;
	passfd = (tlsdata->flags & PIOF_STARTTLS_RENEGOTIATE) ?
		 POOLCONN_NOSOCK : POOLCONN_SOCK(cryptfd);
	if (client_pool_send(&c.req, &cmd, passfd) < 0)
		goto out;
	if (client_starttls_loop(&c, &cmd) < 0)
		goto out;
	*tlsdata = cmd.pio_data.pioc_starttls;
	memcpy(tlsdata->ctlkey, ctlkey, sizeof(ctlkey));	/* ours */
	if (namedconnect != NULL ||
	    (c.appfd == POOLCONN_NOSOCK &&
	     (tlsdata->flags & PIOF_STARTTLS_RENEGOTIATE))) {
		rc = 0;
	} else if (c.appfd == POOLCONN_NOSOCK) {
		errno = EPROTO;	/* success without a plaintext connection */
	} else {
		rc = POOLCONN_INT(c.appfd);
		c.appfd = POOLCONN_NOSOCK;
		if (privdata != NULL)
			*(int *)privdata = rc;	/* ARPA2 TLS Pool style */
	}
out:
	err = errno;
	poolconn_sock_close(c.appfd);
	client_pool_end(&c.req);
	errno = err;
	return rc;
}

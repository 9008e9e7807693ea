/* client_services -- long-running callback services on a private
 * connection: the local identity chooser (LIDENTRY) and PIN entry.
 *
 * Each registers on its own new connection to the daemon and then
 * answers callbacks until the daemon ends the registration.  Both are
 * safe to run in a thread that is cancelled: the private connection is
 * closed by a cleanup handler.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <sodium.h>
#include <tlspool/starttls.h>

#include "client_pool.h"
#include "codec.h"
#include "poolconn.h"

typedef char *(*client_services_lid_cb)(struct pioc_lidentry *, void *);
typedef void (*client_services_pin_cb)(pinentry_t *, void *);

struct client_services_ctx {
	uint32_t callback_cmd;		/* the command we answer */
	client_services_lid_cb lid_cb;
	client_services_pin_cb pin_cb;
	void *data;
};

static void client_services_close(void *arg)
{
	struct poolconn **pc = arg;

	poolconn_close(*pc);
	*pc = NULL;
}

/* Turn one callback into its answer in cmd. */
static void client_services_answer(struct client_services_ctx *c,
				   struct tlspool_command *cmd)
{
	if (c->lid_cb != NULL) {
		struct pioc_lidentry *lid = &cmd->pio_data.pioc_lidentry;
		char *why;

		errno = 0;
		why = c->lid_cb(lid, c->data);
		if (why != NULL) {
			int err = errno ? errno : EPERM;

			codec_set_error(cmd, err, "%s", why);
			return;
		}
		lid->localid[sizeof(lid->localid) - 1] = '\0';
		lid->remoteid[sizeof(lid->remoteid) - 1] = '\0';
	} else {
		pinentry_t *pe = &cmd->pio_data.pioc_pinentry;

		c->pin_cb(pe, c->data);
		pe->pin[sizeof(pe->pin) - 1] = '\0';
	}
}

/* Send the registration, then serve callbacks.  Always returns -1 with
 * errno: the loop only ends when the daemon ends it. */
static int client_services_run(struct poolconn *pc,
			       struct tlspool_command *cmd,
			       struct client_services_ctx *c)
{
	char why[128];
	poolconn_sock_t rfd;
	int rc, n;

	for (;;) {
		rc = poolconn_send(pc, cmd, POOLCONN_NOSOCK);
		sodium_memzero(&cmd->pio_data, sizeof(cmd->pio_data));
		if (rc < 0) {
			errno = (rc == -EPIPE) ? ECONNRESET : -rc;
			return -1;
		}
		n = poolconn_recv(pc, cmd, &rfd);
		poolconn_sock_close(rfd);
		if (n <= 0) {
			errno = (n == 0 || n == -EPIPE) ? ECONNRESET : (int)-n;
			return -1;
		}
		if (codec_check(cmd, CODEC_MSGLEN, CODEC_TO_CLIENT, why,
				sizeof(why)) != 0) {
			errno = EPROTO;
			return -1;
		}
		if (cmd->pio_cmd == PIOC_ERROR_V2)
			return client_pool_errno(cmd);
		if (cmd->pio_cmd != c->callback_cmd) {
			errno = EPROTO;
			return -1;
		}
		client_services_answer(c, cmd);
	}
}

static int client_services_serve(char *path, struct tlspool_command *cmd,
				 struct client_services_ctx *c)
{
	char sockpath[4096];
	struct poolconn *pc;
	int rc, err;

	if (sodium_init() < 0) {
		errno = EIO;
		return -1;
	}
	rc = client_pool_resolve(path, sockpath, sizeof(sockpath));
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	pc = client_pool_connect_path(sockpath);
	if (pc == NULL)
		return -1;
	pthread_cleanup_push(client_services_close, &pc);
	rc = client_services_run(pc, cmd, c);
	err = errno;
	pthread_cleanup_pop(1);
	sodium_memzero(cmd, sizeof(*cmd));
	errno = err;
	return rc;
}

/* The registration request of a service (pio_cmd), or -1 with EINVAL
 * when it has no callback (have_cb 0). */
static int service_request(int have_cb, uint32_t pio_cmd,
			   struct tlspool_command *cmd)
{
	if (!have_cb) {
		errno = EINVAL;
		return -1;
	}
	memset(cmd, 0, sizeof(*cmd));
	cmd->pio_reqid = 1;
	cmd->pio_cmd = pio_cmd;
	return 0;
}

int tlspool_localid_service(char *path, uint32_t regflags,
			    int responsetimeout,
			    char *(*cb)(struct pioc_lidentry *, void *),
			    void *data)
{
	struct client_services_ctx c = {
		.callback_cmd = PIOC_LIDENTRY_CALLBACK_V2,
		.lid_cb = cb, .data = data,
	};
	struct tlspool_command cmd;

	if (service_request(cb != NULL, PIOC_LIDENTRY_REGISTER_V2, &cmd) < 0)
		return -1;
	cmd.pio_data.pioc_lidentry.flags = regflags;
	cmd.pio_data.pioc_lidentry.timeout = (uint32_t)responsetimeout;
	return client_services_serve(path, &cmd, &c);
}

int tlspool_pin_service(char *path, uint32_t regflags,
			int responsetimeout_usec,
			void (*cb)(pinentry_t *, void *), void *data)
{
	struct client_services_ctx c = {
		.callback_cmd = PIOC_PINENTRY_V2,
		.pin_cb = cb, .data = data,
	};
	struct tlspool_command cmd;

	if (service_request(cb != NULL, PIOC_PINENTRY_V2, &cmd) < 0)
		return -1;
	cmd.pio_data.pioc_pinentry.flags = regflags;
	cmd.pio_data.pioc_pinentry.timeout_us = (uint32_t)responsetimeout_usec;
	return client_services_serve(path, &cmd, &c);
}

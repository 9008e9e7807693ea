/* tlspool/starttls.h -- the synchronous client API of libtlspool.
 *
 * Source-compatible with the ARPA2 TLS Pool client library.  Every call
 * returns 0 (or a file descriptor) on success and -1 with errno set on
 * failure; the library never exits or aborts the calling program.
 */
#ifndef TLSPOOL_STARTTLS_H
#define TLSPOOL_STARTTLS_H

#include <stdint.h>
#include <tlspool/commands.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifdef _WIN32
/* Windows: the pool is the named pipe \\.\pipe\tlspool; the config
 * file is %ProgramData%\tlspool\tlspool.conf (these macros give the
 * usual expansion; the library itself reads %ProgramData%).
 *
 * Wherever this API takes or returns an int descriptor of a network
 * connection (cryptfd and the result of tlspool_starttls, the value a
 * namedconnect callback returns, opt_fd of the async API), Windows
 * carries a SOCKET cast to int, as the ARPA2 TLS Pool does: cast it
 * back with (SOCKET)(intptr_t)fd.  -1 is INVALID_SOCKET. */
#ifndef TLSPOOL_DEFAULT_SOCKET_PATH
#define TLSPOOL_DEFAULT_SOCKET_PATH "\\\\.\\pipe\\tlspool"
#endif
#ifndef TLSPOOL_DEFAULT_CONFIG_PATH
#define TLSPOOL_DEFAULT_CONFIG_PATH "C:\\ProgramData\\tlspool\\tlspool.conf"
#endif
#ifndef TLSPOOL_DEFAULT_PIDFILE_PATH
#define TLSPOOL_DEFAULT_PIDFILE_PATH "C:\\ProgramData\\tlspool\\tlspool.pid"
#endif

typedef HANDLE pool_handle_t;
#define INVALID_POOL_HANDLE INVALID_HANDLE_VALUE
#else
#ifndef TLSPOOL_DEFAULT_SOCKET_PATH
#define TLSPOOL_DEFAULT_SOCKET_PATH "/var/run/tlspool.sock"
#endif
#ifndef TLSPOOL_DEFAULT_CONFIG_PATH
#define TLSPOOL_DEFAULT_CONFIG_PATH "/etc/tlspool.conf"
#endif
#ifndef TLSPOOL_DEFAULT_PIDFILE_PATH
#define TLSPOOL_DEFAULT_PIDFILE_PATH "/var/run/tlspool.pid"
#endif

typedef int pool_handle_t;
#define INVALID_POOL_HANDLE (-1)
#endif

/* Open (or return the already open) connection to the pool.  path NULL
 * means the default: $TLSPOOL_SOCKET, then the per-user socket of a
 * daemon running on embedded defaults, then TLSPOOL_DEFAULT_SOCKET_PATH.
 * A path given here is remembered for later calls. */
pool_handle_t tlspool_open_poolhandle(char *path);

/* Return the socket path the library would use (static storage). */
const char *tlspool_socket_path(void);

int tlspool_ping(pingpool_t *pingdata);

int tlspool_starttls(int cryptfd, starttls_t *tlsdata, void *privdata,
		     int namedconnect(starttls_t *tlsdata, void *privdata));

int tlspool_control_detach(uint8_t *ctlkey);
int tlspool_control_reattach(uint8_t *ctlkey);

int tlspool_prng(char *label, uint16_t ctxvalue_len, uint8_t *opt_ctxvalue,
		 uint16_t prng_len, uint8_t *prng_buf, uint8_t *ctlkey);

int tlspool_info(uint32_t info_kind, uint8_t infobuf[TLSPOOL_INFOBUFLEN],
		 uint16_t *infolenptr, uint8_t *ctlkey);

int tlspool_localid_service(char *path, uint32_t regflags,
			    int responsetimeout,
			    char *(*cb)(struct pioc_lidentry *, void *),
			    void *data);

int tlspool_pin_service(char *path, uint32_t regflags,
			int responsetimeout_usec,
			void (*cb)(pinentry_t *, void *), void *data);

/* Read variable varname from configuration file cfgfile (NULL: the
 * default).  Returns a malloc()ed string or NULL with errno set. */
char *tlspool_configvar(char *cfgfile, char *varname);

/* Return the daemon's pid from the pid file (NULL: default), or -1. */
int tlspool_pid(char *opt_pidfile);

#ifdef __cplusplus
}
#endif

#endif

#ifndef PUSHCORE_REDIS_CONN_H
#define PUSHCORE_REDIS_CONN_H

/* One connection to Redis, plain or TLS (private to libpushcore). hiredis
   connects, formats commands and parses replies either way; for TLS,
   OpenSSL runs on the socket hiredis connected, because Debian 12's
   hiredis (0.14) has no TLS of its own. Every wait is bounded by the
   timeout given. */

#include <stdbool.h>
#include <stddef.h>
#include <hiredis/hiredis.h>

#define PUSHCORE_PRIVATE __attribute__((visibility("hidden")))

struct redis_conn;

struct redis_conn_target {
	const char *host, *socket_path;	/* one of them */
	int port;
	bool tls;
	const char *tls_ca_file;	/* NULL: the system's CAs */
};

/* NULL with *error_r (no credentials in it) if the connection or the TLS
   handshake failed. A TLS server's certificate chain and host name (or IP
   address) are verified. */
PUSHCORE_PRIVATE struct redis_conn *
redis_conn_open(const struct redis_conn_target *target,
		unsigned int timeout_msecs, const char **error_r);
PUSHCORE_PRIVATE void redis_conn_set_timeout(struct redis_conn *conn,
					     unsigned int timeout_msecs);
/* Queues a command; redis_conn_reply() sends what is queued. */
PUSHCORE_PRIVATE void redis_conn_append(struct redis_conn *conn, int argc,
					const char **argv, const size_t *lens);
/* The next reply (freeReplyObject() it), or NULL with *error_r when the
   connection broke: close it then. */
PUSHCORE_PRIVATE redisReply *redis_conn_reply(struct redis_conn *conn,
					      const char **error_r);
/* Whether the connection can still be used. */
PUSHCORE_PRIVATE bool redis_conn_usable(const struct redis_conn *conn);
PUSHCORE_PRIVATE void redis_conn_close(struct redis_conn **conn);

#endif

#ifndef PUSHCORE_REDIS_H
#define PUSHCORE_REDIS_H

/* Adding events to Redis streams (XADD) with hiredis: one connection per
   server (up to 8 servers), kept and reused; every XADD of a transaction
   pipelined in one round trip;
   every wait bounded by a timeout. docs/redis.md. */

#include <stdbool.h>
#include <stddef.h>

struct pushcore_pool;

struct pushcore_redis_add {
	const char *stream;
	unsigned int maxlen;		/* 0: no trimming */
	const char *user, *event, *id;
	const char *json;
	size_t json_len;
};

/* Checks redis://[user:password@]host[:port][/db], rediss://... (TLS) or
   unix:/path[?db=N]; *tls_r tells whether it is rediss://. */
bool pushcore_redis_url_valid(const char *url, bool *tls_r, const char **error_r);

/* Sends the XADDs in one pipeline. A rediss:// server's certificate and
   host name are verified, against tls_ca_file if it is not NULL, else the
   system's CAs. Returns 0 if all were added, else -1 with *error_r (no
   credentials in it) and *added_r the number that were (the first ones). */
int pushcore_redis_xadd(const char *url, const char *tls_ca_file,
			unsigned int timeout_msecs,
			const struct pushcore_redis_add *adds, unsigned int count,
			unsigned int *added_r, const char **error_r);

void pushcore_redis_deinit(void);

#endif
